//! Retarget statistics: what each period of a real chain did, to watch the retarget rule work.
//!
//! For every complete period in a set of headers it reports how long the period took, what
//! [`calculate_next_bits`] says the next block's `bits` must be, what the next block actually
//! carries (when it is in the set), and the difficulty before and after. On Bitcoin's first
//! 32,255 blocks the target sat at the proof-of-work limit; the period ending at 32,255 took 11.8
//! days instead of 14, and block 32,256 was the first whose difficulty rose (`1d00ffff` to
//! `1d00d86a`).
//!
//! The headers need not be consecutive: a period needs only its first and last block, and the
//! first block of the next period. The set is checked where it can be: each header whose parent's
//! height is also present must link to it, so that heights cannot silently be off by one.

use std::collections::BTreeMap;

use crate::hash::BlockHash;
use crate::header::Header;
use crate::params::ChainParams;
use crate::pow::{CompactTarget, Target};

use super::calculate_next_bits;

/// One retarget period: its blocks' times and the retarget at its end.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PeriodStats {
    /// The period's index: its first height divided by the retarget interval.
    pub period: u64,
    /// The height of its first block.
    pub first_height: u64,
    /// The height of its last block.
    pub last_height: u64,
    /// The first block's time.
    pub first_time: u32,
    /// The last block's time.
    pub last_time: u32,
    /// `last_time - first_time` in seconds (negative if the times run backwards): what the
    /// retarget measures, over `interval - 1` block gaps.
    pub span_seconds: i64,
    /// The span in days.
    pub span_days: f64,
    /// The span as a fraction of the target timespan (1.0: exactly on schedule).
    pub span_ratio: f64,
    /// The period's `bits` (its last block's, which the retarget scales).
    pub bits: CompactTarget,
    /// The next block's `bits` as the retarget rule computes them.
    pub expected_next_bits: CompactTarget,
    /// The next block's `bits` as it carries them, if it is in the set.
    pub actual_next_bits: Option<CompactTarget>,
    /// Whether the two agree, if the next block is in the set.
    pub matches: Option<bool>,
    /// Which clamp limited the span, if any.
    pub clamp: Option<Clamp>,
    /// True if the new target was capped at the chain's proof-of-work limit.
    pub capped_at_limit: bool,
    /// The period's difficulty: the proof-of-work limit, as its compact form decodes, divided by
    /// the target (Bitcoin Core's `GetDifficulty`: 1.0 for Bitcoin's `1d00ffff`).
    pub difficulty_before: f64,
    /// The next period's difficulty: from its actual `bits` if known, else the expected ones.
    pub difficulty_after: f64,
    /// `difficulty_after / difficulty_before`: above 1 when blocks came too fast.
    pub change_factor: f64,
}

/// Which bound of the retarget's clamp applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Clamp {
    /// The period took under a quarter of the target timespan: difficulty rose the most allowed,
    /// four times.
    Quarter,
    /// The period took over four times the target timespan: difficulty fell the most allowed.
    FourTimes,
}

/// Why a set of headers cannot be summarised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatsError {
    /// A header does not name the header one height below it as its parent: the heights are
    /// wrong, or the headers are not one chain.
    #[error(
        "the header at height {height} names {found} as its parent, but the header at height {} \
         is {expected}: the heights are wrong or the headers are not one chain",
        height - 1
    )]
    BrokenLink {
        /// The child's height.
        height: u64,
        /// The hash of the header one height below.
        expected: BlockHash,
        /// The parent hash the child names.
        found: BlockHash,
    },
    /// A period's `bits` are not a usable target.
    #[error("the header at height {height} has bits {bits}, which are not a valid target")]
    BadBits {
        /// The header's height.
        height: u64,
        /// Its bits.
        bits: CompactTarget,
    },
}

/// Returns the statistics of every complete period in `headers` (height to header), in order
/// of height. A period is complete when its first and last block are present.
///
/// # Errors
/// [`StatsError::BrokenLink`] if a header does not link to the header one height below it;
/// [`StatsError::BadBits`] if a period's bits are not a valid target.
pub fn period_stats(
    params: &ChainParams,
    headers: &BTreeMap<u64, Header>,
) -> Result<Vec<PeriodStats>, StatsError> {
    check_links(headers)?;
    let interval = u64::from(params.retarget_interval);
    let timespan = params.target_timespan() as f64;
    let max = difficulty_one(params);
    let mut periods: Vec<u64> = headers.keys().map(|height| height / interval).collect();
    periods.dedup();
    let mut stats = Vec::new();
    for period in periods {
        let first_height = period * interval;
        let last_height = first_height + interval - 1;
        let (Some(first), Some(last)) = (headers.get(&first_height), headers.get(&last_height))
        else {
            continue;
        };
        let before = last.bits.to_target().map_err(|_| StatsError::BadBits {
            height: last_height,
            bits: last.bits,
        })?;
        let expected = calculate_next_bits(params, last, first.time);
        let actual = headers.get(&(last_height + 1)).map(|next| next.bits);
        let after_bits = actual.unwrap_or(expected);
        let after = after_bits.to_target().map_err(|_| StatsError::BadBits {
            height: last_height + 1,
            bits: after_bits,
        })?;
        let span_seconds = i64::from(last.time) - i64::from(first.time);
        let difficulty_before = before.difficulty(max);
        let difficulty_after = after.difficulty(max);
        stats.push(PeriodStats {
            period,
            first_height,
            last_height,
            first_time: first.time,
            last_time: last.time,
            span_seconds,
            span_days: span_seconds as f64 / 86_400.0,
            span_ratio: span_seconds as f64 / timespan,
            bits: last.bits,
            expected_next_bits: expected,
            actual_next_bits: actual,
            matches: actual.map(|bits| bits == expected),
            clamp: clamp(params, span_seconds),
            capped_at_limit: is_capped(params, before, span_seconds),
            difficulty_before,
            difficulty_after,
            change_factor: difficulty_after / difficulty_before,
        });
    }
    Ok(stats)
}

/// Returns `headers` numbered from `start_height`: the shape of a file of consecutive headers.
pub fn consecutive(start_height: u64, headers: &[Header]) -> BTreeMap<u64, Header> {
    (start_height..).zip(headers.iter().copied()).collect()
}

/// The target of difficulty 1: the limit as the genesis `bits` carry it. Bitcoin's limit is
/// 2^224 - 1 but its compact form `1d00ffff` decodes to 0xffff * 2^208; difficulty is measured
/// from the latter, so that the genesis block has difficulty exactly 1.
/// Returns the target of difficulty 1: the chain's proof-of-work limit as its compact form
/// decodes (Bitcoin Core's `GetDifficulty` divides by `0x1d00ffff`'s target, slightly below
/// the limit itself).
pub fn difficulty_one(params: &ChainParams) -> Target {
    params
        .pow_limit
        .to_compact_lossy()
        .to_target()
        .unwrap_or(params.pow_limit)
}

fn check_links(headers: &BTreeMap<u64, Header>) -> Result<(), StatsError> {
    let mut previous: Option<(u64, BlockHash)> = None;
    for (&height, header) in headers {
        if let Some((parent_height, parent_hash)) = previous
            && parent_height + 1 == height
            && header.prev_blockhash != parent_hash
        {
            return Err(StatsError::BrokenLink {
                height,
                expected: parent_hash,
                found: header.prev_blockhash,
            });
        }
        previous = Some((height, header.block_hash()));
    }
    Ok(())
}

fn clamp(params: &ChainParams, span_seconds: i64) -> Option<Clamp> {
    let timespan = params.target_timespan() as i64;
    if span_seconds < timespan / 4 {
        Some(Clamp::Quarter)
    } else if span_seconds > timespan * 4 {
        Some(Clamp::FourTimes)
    } else {
        None
    }
}

fn is_capped(params: &ChainParams, before: Target, span_seconds: i64) -> bool {
    let timespan = params.target_timespan();
    let clamped = span_seconds.clamp(timespan as i64 / 4, timespan as i64 * 4);
    let clamped = u64::try_from(clamped).expect("clamped to a positive range");
    before.scale(clamped, timespan, Target::MAX) > params.pow_limit
}

#[cfg(test)]
mod tests;
