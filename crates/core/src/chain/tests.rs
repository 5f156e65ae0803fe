use std::sync::OnceLock;

use proptest::prelude::*;

use super::*;
use crate::miner::MineControl;
use crate::pow::CompactTarget;

const START: u32 = 1_764_000_100;

/// A demo chain of 8 blocks with a few records each, mined once and shared by the tests.
fn mined() -> &'static Blockchain {
    static CHAIN: OnceLock<Blockchain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let mut chain = Blockchain::new(ChainParams::demo());
        for height in 1..=8u32 {
            let records =
                (0..height % 4).map(|i| format!("block {height} record {i}").into_bytes());
            chain
                .add_records_at(records.collect(), START + height, &MineControl::new())
                .expect("mining the demo chain succeeds");
        }
        chain
    })
}

fn verify(chain: &Blockchain) -> Result<ChainSummary, InvalidBlock> {
    chain.verify_at(START + 100)
}

#[test]
fn a_mined_chain_verifies_with_its_height_and_work() {
    let chain = mined();
    let summary = verify(chain).expect("an honest chain verifies");
    assert_eq!(summary.height, 8);
    assert_eq!(summary.blocks, 9);
    assert_eq!(summary.tip, chain.tip().block_hash());
    assert_eq!(summary.work, chain.total_work());
}

#[test]
fn changed_record_is_named_at_its_height() {
    let mut chain = mined().clone();
    chain.tamper_with(5, |block| block.records[0] = b"tampered".to_vec());
    let invalid = verify(&chain).expect_err("tampering is detected");
    assert_eq!(invalid.height, 5);
    assert!(
        matches!(invalid.rule, Rule::RecordsMismatch { .. }),
        "{invalid}"
    );
}

#[test]
fn remining_a_changed_block_moves_the_failure_to_the_next_block() {
    let mut chain = mined().clone();
    chain.tamper_with(5, |block| block.records[0] = b"tampered".to_vec());
    chain
        .remine(5, &MineControl::new())
        .expect("re-mining succeeds");
    let invalid = verify(&chain).expect_err("the next block no longer links");
    assert_eq!(invalid.height, 6);
    assert!(matches!(invalid.rule, Rule::BrokenLink { .. }), "{invalid}");
    // Re-mining every later block too makes the copy verify again.
    for height in 6..=8 {
        let parent = chain.hashes()[height as usize - 1];
        chain.tamper_with(height, |block| block.header.prev_blockhash = parent);
        chain
            .remine(height, &MineControl::new())
            .expect("re-mining succeeds");
    }
    assert!(verify(&chain).is_ok());
}

#[test]
fn a_block_that_breaks_a_rule_is_not_appended() {
    let mut chain = mined().clone();
    let mut header = chain.next_header(&[], START + 20);
    header.bits = CompactTarget::from_consensus(0x1f00_fffe);
    let block = Block::new(header, Vec::new());
    let error = chain
        .push(block, START + 20)
        .expect_err("wrong bits are refused");
    assert!(matches!(
        error,
        AddError::Invalid(InvalidBlock { height: 9, .. })
    ));
    assert_eq!(chain.height(), 8);
}

#[test]
fn difficulty_retargets_every_ten_blocks_on_the_demo_chain() {
    let mut chain = Blockchain::new(ChainParams::demo());
    let genesis_time = chain.tip().header.time;
    for i in 1..=21u32 {
        // Blocks every 100 ms of simulated time, far faster than the 1 s spacing (the
        // median-time-past rule still moves each block's time on by about half a second).
        chain
            .add_records_at(vec![], genesis_time + i / 10, &MineControl::new())
            .expect("mines");
    }
    let bits: Vec<u32> = chain
        .blocks()
        .iter()
        .map(|b| b.header.bits.to_consensus())
        .collect();
    assert!(bits[..10].iter().all(|&b| b == bits[0]));
    assert!(bits[10..20].iter().all(|&b| b == bits[10]));
    let (first, second, third) = (
        CompactTarget::from_consensus(bits[0])
            .to_target()
            .expect("valid"),
        CompactTarget::from_consensus(bits[10])
            .to_target()
            .expect("valid"),
        CompactTarget::from_consensus(bits[20])
            .to_target()
            .expect("valid"),
    );
    assert!(
        second < first && third < second,
        "fast blocks make the target harder"
    );
    assert!(chain.verify_at(START + 100).is_ok());
}

#[test]
fn a_block_too_far_in_the_future_is_named() {
    let chain = mined();
    let tip_time = chain.tip().header.time;
    let invalid = chain
        .verify_at(tip_time - 2 * 60 * 60 - 1)
        .expect_err("clock is behind");
    assert!(matches!(invalid.rule, Rule::TimeTooNew { .. }), "{invalid}");
}

/// Which field of a header a property test changes.
#[derive(Debug, Clone, Copy)]
enum Field {
    Version,
    Prev,
    Merkle,
    Time,
    Bits,
    Nonce,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_changed_record_is_detected_at_exactly_its_block(
        height in 1u64..=8, pick in any::<prop::sample::Index>(), byte in any::<u8>(),
    ) {
        let mut chain = mined().clone();
        let records = chain.blocks()[height as usize].records.len();
        prop_assume!(records > 0);
        let index = pick.index(records);
        chain.tamper_with(height, |block| block.records[index].push(byte));
        let invalid = verify(&chain).expect_err("detected");
        prop_assert_eq!(invalid.height, height);
    }

    #[test]
    fn any_changed_header_field_is_detected_at_exactly_its_block(
        height in 0u64..=8, field in prop::sample::select(vec![
            Field::Version, Field::Prev, Field::Merkle, Field::Time, Field::Bits, Field::Nonce,
        ]), delta in 1u32..,
    ) {
        let mut chain = mined().clone();
        chain.tamper_with(height, |block| {
            let header = &mut block.header;
            match field {
                Field::Version => header.version = header.version.wrapping_add(delta as i32),
                Field::Prev => {
                    let mut bytes = header.prev_blockhash.to_byte_array();
                    bytes[delta as usize % 32] ^= 1 << (delta % 8);
                    header.prev_blockhash = BlockHash::from_byte_array(bytes);
                }
                Field::Merkle => {
                    let mut bytes = header.merkle_root.to_byte_array();
                    bytes[delta as usize % 32] ^= 1 << (delta % 8);
                    header.merkle_root = crate::hash::MerkleRoot::from_byte_array(bytes);
                }
                Field::Time => header.time = header.time.wrapping_add(delta),
                Field::Bits => {
                    header.bits = CompactTarget::from_consensus(header.bits.to_consensus() ^ delta);
                }
                Field::Nonce => header.nonce = header.nonce.wrapping_add(delta),
            }
        });
        let invalid = verify(&chain).expect_err("detected");
        prop_assert_eq!(invalid.height, height);
    }

    #[test]
    fn any_flipped_bit_of_a_block_encoding_is_detected_at_exactly_its_block(
        height in 0u64..=8, bit in any::<prop::sample::Index>(),
    ) {
        let chain = mined();
        let mut bytes = chain.blocks()[height as usize].encode();
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        // Either the decoder refuses the bytes, or the block it yields is named by verification.
        if let Ok(block) = Block::decode(&bytes, chain.params().max_block_size) {
            let mut tampered = chain.clone();
            tampered.tamper_with(height, |stored| *stored = block);
            let invalid = verify(&tampered).expect_err("detected");
            prop_assert_eq!(invalid.height, height);
        }
    }
}
