//! A file of headers, checked as `ironchain headers verify` and `headers stats` check it, with
//! the same answers: every field of their `--json` output except the file's path (a page has
//! none) and the time taken (the page measures that itself; the glue adds `seconds`).
//!
//! The file is raw 80-byte headers back to back, or hex text with one header a line and an
//! optional first line giving the first header's height ([`HeaderFile`]). A file that does not
//! start at genesis starts at a checkpoint: its first header is trusted, the rest are checked
//! from it, exactly as the command line does.

use ironchain_core::header::HeaderFile;
use ironchain_core::retarget::stats::{self, PeriodStats};
use ironchain_core::{BlockHash, ChainParams, Header, Verifier, Work};

use crate::InputError;

/// What `ironchain headers verify --json` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// True if every header is valid.
    pub ok: bool,
    /// The chain whose rules were applied.
    pub chain: String,
    /// How many headers the file holds.
    pub headers_in_file: usize,
    /// The height of the file's first header.
    pub start_height: u64,
    /// How many headers were accepted (a checkpoint counts as one).
    pub verified: u64,
    /// The height of the last accepted header.
    pub height: Option<u64>,
    /// The hash of the last accepted header.
    pub tip: Option<BlockHash>,
    /// The work of the accepted headers, added up.
    pub total_work: Option<Work>,
    /// The first invalid header, if any.
    pub invalid: Option<Invalid>,
}

/// The first invalid header: where, which, and the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Invalid {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: BlockHash,
    /// The rule's stable code ([`ironchain_core::Rule::code`]), such as `not-enough-work`.
    pub rule: &'static str,
    /// The rule, in words, with the values that broke it.
    pub message: String,
}

/// Verifies the headers in `file` under `params`, on one thread, with `now` as the clock the
/// future-time rule checks against. `start_height` overrides the file's own height line; a start
/// above 0 makes the first header a checkpoint.
///
/// # Errors
/// [`InputError::HeaderFile`] or [`InputError::NoHeaders`] if the bytes are not a header file.
pub fn verify(
    params: &ChainParams,
    file: &[u8],
    start_height: Option<u64>,
    now: u32,
) -> Result<VerifyReport, InputError> {
    let file = HeaderFile::parse(file)?;
    let start = start_height.or(file.start_height).unwrap_or(0);
    let Some(first) = file.headers.first() else {
        return Err(InputError::NoHeaders);
    };
    let (verifier, rest) = if start == 0 {
        (Verifier::new(params, now), &file.headers[..])
    } else {
        let checkpoint = Header::from_bytes(first);
        let verifier = Verifier::from_checkpoint(params, start, checkpoint, now);
        (verifier, &file.headers[1..])
    };
    // One thread: WebAssembly has none to spare, and the native build must take the same path.
    let mut verifier = verifier.with_threads(1);
    let result = verifier.push_raw_headers(rest);
    let summary = verifier.summary();
    let invalid = result.err().map(|invalid| Invalid {
        height: invalid.height,
        hash: invalid.hash,
        rule: invalid.rule.code(),
        message: invalid.rule.to_string(),
    });
    Ok(VerifyReport {
        ok: invalid.is_none(),
        chain: params.name.clone(),
        headers_in_file: file.headers.len(),
        start_height: start,
        verified: summary.map_or(0, |s| s.blocks),
        height: summary.map(|s| s.height),
        tip: summary.map(|s| s.tip),
        total_work: summary.map(|s| s.work),
        invalid,
    })
}

/// What `ironchain headers stats --json` reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StatsReport {
    /// The chain whose retarget rule was applied.
    pub chain: String,
    /// How many headers the file holds.
    pub headers: usize,
    /// The height of the first.
    pub first_height: u64,
    /// The height of the last.
    pub last_height: u64,
    /// Blocks between retargets.
    pub retarget_interval: u32,
    /// Seconds a period should take.
    pub target_timespan: u64,
    /// True if no period's next bits differ from what the retarget rule demands.
    pub all_match: bool,
    /// One row per complete period.
    pub periods: Vec<PeriodStats>,
}

/// Computes the per-retarget-period statistics of the headers in `file` under `params`'s
/// retarget rule. `start_height` overrides the file's height line (default 0).
///
/// # Errors
/// [`InputError::HeaderFile`] or [`InputError::NoHeaders`] if the bytes are not a header file;
/// [`InputError::Stats`] if the headers are not one chain or carry unusable bits.
pub fn stats(
    params: &ChainParams,
    file: &[u8],
    start_height: Option<u64>,
) -> Result<StatsReport, InputError> {
    let file = HeaderFile::parse(file)?;
    let start = start_height.or(file.start_height).unwrap_or(0);
    let headers: Vec<Header> = file.headers.iter().map(Header::from_bytes).collect();
    let by_height = stats::consecutive(start, &headers);
    let (Some(&first_height), Some(&last_height)) =
        (by_height.keys().next(), by_height.keys().next_back())
    else {
        return Err(InputError::NoHeaders);
    };
    let periods = stats::period_stats(params, &by_height)?;
    Ok(StatsReport {
        chain: params.name.clone(),
        headers: by_height.len(),
        first_height,
        last_height,
        retarget_interval: params.retarget_interval,
        target_timespan: params.target_timespan(),
        all_match: periods.iter().all(|p| p.matches != Some(false)),
        periods,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAINNET_0_10000: &str =
        include_str!("../../../tests/data/btc_blockheaders_mainnet_0_10000.txt");
    const MAINNET_30000_40000: &[u8] =
        include_bytes!("../../../tests/data/btc_blockheaders_mainnet_30000_40000.txt");
    const NOW: u32 = 1_800_000_000;

    #[test]
    fn mainnet_from_genesis_verifies_to_block_9999() {
        let report = verify(
            &ChainParams::bitcoin(),
            MAINNET_0_10000.as_bytes(),
            None,
            NOW,
        )
        .expect("a header file");
        assert!(report.ok);
        assert_eq!((report.verified, report.height), (10_000, Some(9_999)));
        assert_eq!(
            report.tip.map(|tip| tip.to_string()).as_deref(),
            Some("00000000fbc97cc6c599ce9c24dd4a2243e2bfd518eda56e1d5e47d29e29c3a7")
        );
    }

    #[test]
    fn a_file_with_a_height_line_starts_at_that_checkpoint() {
        let report =
            verify(&ChainParams::bitcoin(), MAINNET_30000_40000, None, NOW).expect("a header file");
        assert!(report.ok, "{:?}", report.invalid);
        assert_eq!(report.start_height, 30_000);
        assert_eq!(report.height, Some(39_999));
    }

    #[test]
    fn a_changed_byte_is_named_at_its_height_with_its_rule() {
        let mut raw = HeaderFile::parse(MAINNET_0_10000.as_bytes())
            .expect("a header file")
            .headers;
        raw[5000][76] ^= 1; // the nonce: the hash no longer meets the target
        let report =
            verify(&ChainParams::bitcoin(), raw.as_flattened(), None, NOW).expect("a header file");
        let invalid = report.invalid.expect("block 5000 is invalid");
        assert_eq!((invalid.height, invalid.rule), (5000, "not-enough-work"));
        assert_eq!((report.verified, report.height), (5000, Some(4999)));
    }

    #[test]
    fn bad_input_is_an_error_naming_the_problem() {
        let bitcoin = ChainParams::bitcoin();
        assert_eq!(verify(&bitcoin, b"", None, NOW), Err(InputError::NoHeaders));
        assert!(matches!(
            verify(&bitcoin, &[0u8; 81], None, NOW),
            Err(InputError::HeaderFile(_))
        ));
        assert!(matches!(
            stats(&bitcoin, b"12\n", None),
            Err(InputError::NoHeaders)
        ));
    }

    #[test]
    fn stats_find_bitcoins_first_difficulty_change_at_32256() {
        let report =
            stats(&ChainParams::bitcoin(), MAINNET_30000_40000, None).expect("a header file");
        assert!(report.all_match);
        let first = &report.periods[0];
        assert_eq!((first.first_height, first.last_height), (30_240, 32_255));
        assert_eq!(first.expected_next_bits.to_string(), "1d00d86a");
    }
}
