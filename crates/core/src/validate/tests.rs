use super::*;
use crate::chain::Blockchain;
use crate::miner::MineControl;

const START: u32 = 1_764_000_100;

fn demo_chain(blocks: u32) -> Blockchain {
    let mut chain = Blockchain::new(ChainParams::demo()).with_threads(1);
    for i in 1..=blocks {
        chain
            .add_records_at(vec![vec![i as u8]], START + i, &MineControl::new())
            .expect("mines");
    }
    chain
}

#[test]
fn median_time_past_takes_the_upper_middle_as_bitcoin_core_does() {
    assert_eq!(median_time_past(&[]), None);
    assert_eq!(median_time_past(&[5]), Some(5));
    assert_eq!(median_time_past(&[1, 9]), Some(9));
    assert_eq!(median_time_past(&[3, 1, 2]), Some(2));
    assert_eq!(
        median_time_past(&[10, 1, 7, 3, 8, 2, 9, 4, 6, 5, 11]),
        Some(6)
    );
}

#[test]
fn header_verification_and_block_verification_agree_on_an_honest_chain() {
    let chain = demo_chain(12);
    let params = chain.params();
    let headers: Vec<Header> = chain.blocks().iter().map(|b| b.header).collect();
    let mut by_headers = Verifier::new(params, START + 100).with_threads(2);
    by_headers.push_headers(&headers).expect("valid");
    let mut by_blocks = Verifier::new(params, START + 100).with_threads(2);
    by_blocks
        .push_blocks(chain.blocks(), None, true)
        .expect("valid");
    assert_eq!(by_headers.summary(), by_blocks.summary());
    assert_eq!(by_headers.summary().map(|s| s.height), Some(12));
}

#[test]
fn a_time_not_after_the_median_is_too_old() {
    let chain = demo_chain(12);
    let params = chain.params();
    let ctx = chain.next_context(START + 100);
    let mtp = ctx.median_time_past.expect("enough history");
    let mut header = chain.next_header(&[], START + 20);
    header.time = mtp;
    assert_eq!(
        check_time(params, header.time, &ctx),
        Err(Rule::TimeTooOld {
            time: mtp,
            median_time_past: mtp
        })
    );
    assert_eq!(check_time(params, mtp + 1, &ctx), Ok(()));
}

#[test]
fn a_target_easier_than_the_limit_is_refused() {
    let chain = demo_chain(1);
    let params = chain.params();
    let mut header = chain.next_header(&[], START + 5);
    header.bits = CompactTarget::from_consensus(0x2000_ffff);
    let ctx = Context {
        expected_bits: None,
        ..chain.next_context(START + 5)
    };
    let rule = check_header(params, &header, header.block_hash(), &ctx).expect_err("too easy");
    assert!(matches!(rule, Rule::TargetAboveLimit { .. }));
}

#[test]
fn an_oversized_block_is_named_with_its_size_and_the_limit() {
    let params = ChainParams {
        max_block_size: 100,
        ..ChainParams::demo()
    };
    let block = Block::new(params.genesis.header, vec![vec![0; 200]]);
    assert_eq!(
        check_body(&params, &block),
        Err(Rule::TooLarge {
            size: 288,
            max: 100
        })
    );
}

#[test]
fn the_verifier_stays_at_the_last_good_block_after_a_failure() {
    let mut chain = demo_chain(6);
    chain.tamper_with(4, |block| block.records[0] = b"changed".to_vec());
    let mut verifier = Verifier::new(chain.params(), START + 100);
    let invalid = verifier
        .push_blocks(chain.blocks(), None, true)
        .expect_err("detected");
    assert_eq!(invalid.height, 4);
    let summary = verifier.summary().expect("blocks 0..=3 accepted");
    assert_eq!(summary.height, 3);
    assert_eq!(summary.tip, chain.hashes()[3]);
}

#[test]
fn parallel_header_hashing_equals_one_by_one() {
    let headers: Vec<[u8; 80]> = (0..10_000u32)
        .map(|i| {
            let mut raw = [0u8; 80];
            raw[76..].copy_from_slice(&i.to_le_bytes());
            raw
        })
        .collect();
    let parallel = hash_headers_parallel(&headers, 3);
    for (raw, hash) in headers.iter().zip(parallel) {
        assert_eq!(hash.to_byte_array(), crate::hash::sha256d(raw));
    }
}
