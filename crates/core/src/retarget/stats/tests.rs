//! Retarget statistics on real Bitcoin mainnet headers (tests/data, sources in SOURCES.md).

use std::path::PathBuf;

use super::*;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data")
        .join(name)
}

/// Reads a hex header file; a first line of digits, if present, is the first header's height.
fn hex_file(name: &str, default_start: u64) -> BTreeMap<u64, Header> {
    let text = std::fs::read_to_string(data(name)).expect("test data is in the repository");
    let mut lines = text.lines().peekable();
    let start = match lines.peek() {
        Some(line) if line.len() < 20 => {
            let start = line.parse().expect("a height line");
            lines.next();
            start
        }
        _ => default_start,
    };
    let headers: Vec<Header> = lines
        .map(|line| {
            let mut bytes = [0u8; 80];
            hex::decode_to_slice(line, &mut bytes).expect("160 hex digits");
            Header::from_bytes(&bytes)
        })
        .collect();
    consecutive(start, &headers)
}

fn bits(value: u32) -> CompactTarget {
    CompactTarget::from_consensus(value)
}

#[test]
fn the_first_real_difficulty_change_is_at_32256() {
    let params = ChainParams::bitcoin();
    let stats = period_stats(
        &params,
        &hex_file("btc_blockheaders_mainnet_30000_40000.txt", 0),
    )
    .expect("real headers link");
    // Heights 30000..39999 hold the complete periods 15..=18 (30240..=38303).
    assert_eq!(
        stats.iter().map(|s| s.period).collect::<Vec<_>>(),
        [15, 16, 17, 18]
    );
    let first = &stats[0];
    assert_eq!((first.first_height, first.last_height), (30_240, 32_255));
    // SOURCES.md: 32256: 1d00ffff -> 1d00d86a, times 1261130161 .. 1262152739; this is Bitcoin
    // Core's `get_next_work` vector.
    assert_eq!(
        (first.first_time, first.last_time),
        (1_261_130_161, 1_262_152_739)
    );
    assert_eq!(first.span_seconds, 1_022_578);
    assert!(
        (first.span_days - 11.835).abs() < 0.001,
        "{}",
        first.span_days
    );
    assert_eq!(first.bits, bits(0x1d00_ffff));
    assert_eq!(first.expected_next_bits, bits(0x1d00_d86a));
    assert_eq!(first.actual_next_bits, Some(bits(0x1d00_d86a)));
    assert_eq!(first.matches, Some(true));
    assert_eq!(first.clamp, None);
    assert!(!first.capped_at_limit);
    assert_eq!(first.difficulty_before, 1.0);
    // Bitcoin's difficulty at 32256 is 1.18 (0xffff / 0xd86a = 1.1828).
    assert!(
        (first.difficulty_after - 1.182_899).abs() < 1e-5,
        "{}",
        first.difficulty_after
    );
    assert!((first.change_factor - 1.182_899).abs() < 1e-5);
    #[rustfmt::skip]
    let rest = [
        // (period, next bits, first time, last time), from SOURCES.md.
        (16, 0x1d00_c428, 1_262_153_464, 1_263_249_842), // 34272
        (17, 0x1d00_be71, 1_263_250_117, 1_264_424_481), // 36288
        (18, 0x1d00_8cc3, 1_264_424_879, 1_265_318_937), // 38304
    ];
    for (stat, (period, next, first_time, last_time)) in stats[1..].iter().zip(rest) {
        assert_eq!(stat.period, period);
        assert_eq!(stat.actual_next_bits, Some(bits(next)), "period {period}");
        assert_eq!(stat.matches, Some(true), "period {period}");
        assert_eq!((stat.first_time, stat.last_time), (first_time, last_time));
        assert!(
            stat.change_factor > 1.0,
            "difficulty rose in period {period}"
        );
    }
}

#[test]
fn the_first_four_periods_are_capped_at_the_limit() {
    let params = ChainParams::bitcoin();
    let stats = period_stats(
        &params,
        &hex_file("btc_blockheaders_mainnet_0_10000.txt", 0),
    )
    .expect("real headers link");
    assert_eq!(
        stats.len(),
        4,
        "periods 0..=3 end at 8063; 8064.. is incomplete"
    );
    // Period 0 (0..2015, 1231006505 .. 1233061996) is Bitcoin Core's `get_next_work_pow_limit`.
    assert_eq!(
        (stats[0].first_time, stats[0].last_time),
        (1_231_006_505, 1_233_061_996)
    );
    for stat in &stats {
        assert_eq!(
            stat.expected_next_bits,
            bits(0x1d00_ffff),
            "period {}",
            stat.period
        );
        assert_eq!(stat.matches, Some(true));
        assert!(
            stat.capped_at_limit,
            "period {} took over two weeks",
            stat.period
        );
        assert_eq!(stat.change_factor, 1.0);
    }
}

#[test]
fn the_2010_file_shows_nine_increases() {
    let params = ChainParams::bitcoin();
    // bh80_100k.txt has no height line; SOURCES.md: its first header is 80001.
    let stats =
        period_stats(&params, &hex_file("bh80_100k.txt", 80_001)).expect("real headers link");
    #[rustfmt::skip]
    let expected = [
        // (first height of the next period, its bits), from SOURCES.md.
        (82_656, 0x1b31_b2a3),
        (84_672, 0x1b2f_8e9d),
        (86_688, 0x1b1e_7eca),
        (88_704, 0x1b15_3263),
        (90_720, 0x1b0e_7256),
        (92_736, 0x1b09_8b2a),
        (94_752, 0x1b08_1cd2),
        (96_768, 0x1b05_5953),
        (98_784, 0x1b04_864c),
    ];
    assert_eq!(stats.len(), expected.len());
    assert_eq!(stats[0].bits, bits(0x1b47_66ed));
    for (stat, (next_height, next_bits)) in stats.iter().zip(expected) {
        assert_eq!(stat.last_height + 1, next_height);
        assert_eq!(stat.actual_next_bits, Some(bits(next_bits)));
        assert_eq!(stat.matches, Some(true), "retarget at {next_height}");
        assert!(stat.change_factor > 1.0, "difficulty rose at {next_height}");
    }
}

#[test]
fn boundary_pairs_give_every_retarget_and_the_one_clamped_period() {
    let params = ChainParams::bitcoin();
    let dir = data("ckb-bitcoin-spv-testdata/main-chain/headers/diff-change");
    let mut headers = BTreeMap::new();
    for entry in std::fs::read_dir(dir).expect("test data is in the repository") {
        let path = entry.expect("a directory entry").path();
        let height: u64 = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| stem.parse().ok())
            .expect("files are named by height");
        let bytes: [u8; 80] = std::fs::read(&path)
            .expect("readable")
            .try_into()
            .expect("80 bytes");
        headers.insert(height, Header::from_bytes(&bytes));
    }
    let stats = period_stats(&params, &headers).expect("boundary pairs link");
    // SOURCES.md: pairs for k = 1..=413 give every retarget from 2016 to 832608.
    assert_eq!(stats.len(), 413);
    assert!(stats.iter().all(|stat| stat.matches == Some(true)));
    // The only historical retarget that hit the clamp: 68544, Bitcoin Core's
    // `get_next_work_lower_limit_actual` (span 289434 s < 302400, 1c05a3f4 -> 1c0168fd).
    let clamped: Vec<_> = stats.iter().filter(|stat| stat.clamp.is_some()).collect();
    assert_eq!(clamped.len(), 1);
    assert_eq!(clamped[0].last_height + 1, 68_544);
    assert_eq!(clamped[0].span_seconds, 289_434);
    assert_eq!(clamped[0].clamp, Some(Clamp::Quarter));
    assert_eq!(clamped[0].actual_next_bits, Some(bits(0x1c01_68fd)));
    assert!((clamped[0].change_factor - 4.0).abs() < 0.01);
}

#[test]
fn headers_with_wrong_heights_are_refused_by_their_broken_link() {
    let params = ChainParams::bitcoin();
    let mut headers = hex_file("btc_blockheaders_mainnet_0_10000.txt", 0);
    // Drop block 5000 and number the rest one lower, as a file missing a line would be read.
    let shifted: BTreeMap<u64, Header> = headers
        .split_off(&5_001)
        .into_iter()
        .map(|(height, header)| (height - 1, header))
        .collect();
    headers.remove(&5_000);
    headers.extend(shifted);
    let error = period_stats(&params, &headers).expect_err("the gap is caught");
    assert!(
        matches!(error, StatsError::BrokenLink { height: 5_000, .. }),
        "{error}"
    );
}

#[test]
fn a_partial_period_has_no_row() {
    let params = ChainParams::bitcoin();
    let mut headers = hex_file("btc_blockheaders_mainnet_0_10000.txt", 0);
    headers.retain(|&height, _| height < 2_015);
    assert!(period_stats(&params, &headers).expect("links").is_empty());
}
