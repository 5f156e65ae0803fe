//! Real Bitcoin mainnet headers check out under ironchain's rules, and any changed byte is named.
//!
//! The data (tests/data at the workspace root, sources in tests/data/SOURCES.md) is public chain
//! data: heights 0..9999, 30000..39999 and 80001..100000 as hex lines, and the headers and
//! chainwork at every retarget boundary up to height 832608.

use std::path::PathBuf;

use ironchain_core::validate::Rule;
use ironchain_core::{ChainParams, CompactTarget, Header, Verifier, Work, retarget};
use proptest::prelude::*;

/// Far enough after 2024 that no real header is "in the future".
const NOW: u32 = 2_000_000_000;

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

/// Reads a file of hex headers, one a line; a leading line of digits only is the start height.
fn read_hex_headers(name: &str) -> (u64, Vec<[u8; 80]>) {
    let text = std::fs::read_to_string(data_path(name)).expect("test data is in the repository");
    let mut lines = text.lines().peekable();
    let start = match lines.peek() {
        Some(line) if line.len() < 20 => line.parse().expect("a height line"),
        _ => 0,
    };
    if start != 0 {
        lines.next();
    }
    let headers = lines
        .map(|line| {
            let mut header = [0u8; 80];
            hex::decode_to_slice(line.trim(), &mut header).expect("160 hex digits");
            header
        })
        .collect();
    (start, headers)
}

fn verify_file(
    name: &str,
    start: u64,
    headers: &[[u8; 80]],
) -> Result<u64, ironchain_core::InvalidBlock> {
    let params = ChainParams::bitcoin();
    let mut verifier = if start == 0 {
        Verifier::new(&params, NOW)
    } else {
        Verifier::from_checkpoint(&params, start, Header::from_bytes(&headers[0]), NOW)
    };
    let rest = if start == 0 { headers } else { &headers[1..] };
    verifier.push_raw_headers(rest)?;
    let summary = verifier.summary().expect("headers were accepted");
    assert_eq!(summary.height, start + headers.len() as u64 - 1, "{name}");
    Ok(summary.height)
}

#[test]
fn mainnet_headers_from_genesis_verify_with_their_known_chainwork() {
    let (start, headers) = read_hex_headers("btc_blockheaders_mainnet_0_10000.txt");
    assert_eq!(start, 0);
    let params = ChainParams::bitcoin();
    let mut verifier = Verifier::new(&params, NOW);
    verifier
        .push_raw_headers(&headers)
        .expect("real headers are valid");
    let summary = verifier.summary().expect("accepted");
    assert_eq!(summary.height, 9999);
    assert_eq!(
        summary.tip.to_string(),
        "00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7"
    );
    // Every block to 9999 is at difficulty 1, which is 0x100010001 of work each.
    assert_eq!(
        summary.work,
        Work::from_u256(ruint::aliases::U256::from(10_000u64 * 0x1_0001_0001))
    );
}

#[test]
fn mainnet_headers_across_the_first_difficulty_changes_verify_from_a_checkpoint() {
    for name in ["btc_blockheaders_mainnet_30000_40000.txt", "bh80_100k.txt"] {
        let (mut start, headers) = read_hex_headers(name);
        if name == "bh80_100k.txt" {
            start = 80_001; // see SOURCES.md: the file has no height line
        }
        let tip = verify_file(name, start, &headers).expect("real headers are valid");
        assert!(tip == 39_999 || tip == 100_000, "{name}");
    }
}

/// Reads the 80-byte header or 32-byte chainwork stored for `height` in the retarget data.
fn boundary_file(kind: &str, height: u64) -> Vec<u8> {
    let dir = match kind {
        "headers" => "ckb-bitcoin-spv-testdata/main-chain/headers/diff-change",
        _ => "ckb-bitcoin-spv-testdata/main-chain/chainwork",
    };
    std::fs::read(data_path(&format!("{dir}/{height:07}.bin"))).expect("boundary data exists")
}

#[test]
fn every_mainnet_retarget_to_832608_matches_the_rule_and_adds_the_known_work() {
    let params = ChainParams::bitcoin();
    let header = |height| {
        let bytes: [u8; 80] = boundary_file("headers", height)
            .try_into()
            .expect("80 bytes");
        Header::from_bytes(&bytes)
    };
    let chainwork = |height| {
        let bytes: [u8; 32] = boundary_file("chainwork", height)
            .try_into()
            .expect("32 bytes");
        Work::from_be_bytes(bytes)
    };
    let mut clamped = 0;
    for k in 1..=413u64 {
        let height = 2016 * k;
        let (first, last, next) = (header(height - 2016), header(height - 1), header(height));
        assert_eq!(next.prev_blockhash, last.block_hash(), "link at {height}");
        let expected = retarget::calculate_next_bits(&params, &last, first.time);
        assert_eq!(expected, next.bits, "retarget at {height}");
        // The chainwork files say how much work block `height` added.
        let work = next.bits.to_target().expect("valid").work();
        assert_eq!(
            chainwork(height - 1) + work,
            chainwork(height),
            "work at {height}"
        );
        if i64::from(last.time) - i64::from(first.time) < 302_400 {
            clamped += 1;
        }
    }
    // Height 68544 is the only retarget in Bitcoin's history that hit the 4x clamp.
    assert_eq!(clamped, 1);
    assert_eq!(
        header(68_544).bits,
        CompactTarget::from_consensus(0x1c01_68fd)
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any changed byte of any header is named at that header's height.
    #[test]
    fn any_changed_byte_of_a_real_header_is_named_at_its_height(
        height in 0usize..10_000, offset in 0usize..80, flip in 1u8..=255,
    ) {
        let (_, mut headers) = read_hex_headers("btc_blockheaders_mainnet_0_10000.txt");
        headers[height][offset] ^= flip;
        let params = ChainParams::bitcoin();
        let mut verifier = Verifier::new(&params, NOW);
        let end = (height + 2).min(headers.len());
        let invalid = verifier.push_raw_headers(&headers[..end]).expect_err("a change is caught");
        prop_assert_eq!(invalid.height, height as u64);
        if height == 0 {
            prop_assert!(matches!(invalid.rule, Rule::BadGenesis { .. }), "{}", invalid);
        }
    }
}
