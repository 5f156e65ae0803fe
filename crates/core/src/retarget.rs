//! Difficulty retargeting: how the target follows the speed of mining.
//!
//! Every `retarget_interval` blocks the chain compares how long the last period took with how long
//! it should have taken (`retarget_interval * target_spacing`) and scales the target by the ratio,
//! so blocks keep arriving at the target spacing whatever hash power joins or leaves. Between
//! retargets every block must carry its parent's `bits` unchanged.
//!
//! This is Bitcoin Core's `GetNextWorkRequired` and `CalculateNextWorkRequired`
//! (src/pow.cpp), reproduced exactly, including two quirks that are consensus:
//! - the period is measured over `interval - 1` block gaps (first block of the period to the last),
//!   not `interval`;
//! - the timespan is clamped to a quarter and four times the target before scaling, and the result is
//!   capped at the proof-of-work limit, then re-encoded in lossy compact form.

use crate::header::Header;
use crate::params::ChainParams;
use crate::pow::CompactTarget;

/// Returns true if the block at `height` is the first of a new period, whose `bits` are
/// recomputed.
pub fn is_retarget_height(params: &ChainParams, height: u64) -> bool {
    height != 0 && height.is_multiple_of(u64::from(params.retarget_interval))
}

/// Returns the height of the first block of the period that ends just before `height`: the block
/// whose time a retarget at `height` measures from.
pub fn period_start_height(params: &ChainParams, height: u64) -> u64 {
    height.saturating_sub(u64::from(params.retarget_interval))
}

/// Returns the `bits` the block at `height` must have, given its parent `last` and, when `height`
/// is a retarget height, the time of the block at [`period_start_height`].
///
/// Returns `None` when `height` is a retarget height and `period_start_time` is unknown.
pub fn next_bits(
    params: &ChainParams,
    height: u64,
    last: &Header,
    period_start_time: Option<u32>,
) -> Option<CompactTarget> {
    if !is_retarget_height(params, height) {
        return Some(last.bits);
    }
    period_start_time.map(|first_time| calculate_next_bits(params, last, first_time))
}

/// Computes a retarget: the new `bits` after a period that began at `first_time` and whose last
/// block is `last` (Bitcoin Core's `CalculateNextWorkRequired`).
///
/// ```
/// use ironchain_core::{BlockHash, ChainParams, Header, MerkleRoot};
/// use ironchain_core::pow::CompactTarget;
/// use ironchain_core::retarget::calculate_next_bits;
///
/// // Bitcoin Core's pow_tests.cpp `get_next_work`: the period from block 30,240 to 32,255
/// // took 11.8 days instead of 14, so block 32,256 got a harder target, the first in
/// // Bitcoin's history.
/// let last = Header {
///     version: 1,
///     prev_blockhash: BlockHash::ZERO, // not used by the retarget
///     merkle_root: MerkleRoot::ZERO,   // nor this
///     time: 1_262_152_739,             // block 32,255
///     bits: CompactTarget::from_consensus(0x1d00_ffff),
///     nonce: 0,
/// };
/// let first_time = 1_261_130_161; // block 30,240
/// let next = calculate_next_bits(&ChainParams::bitcoin(), &last, first_time);
/// assert_eq!(next, CompactTarget::from_consensus(0x1d00_d86a));
/// ```
///
/// # Panics
/// Panics if `params.target_timespan()` is above `i64::MAX / 4` seconds (an overflow when
/// the clamp bounds are computed; a release build may instead return a meaningless value). No
/// chain whose retarget heights can be reached comes near that.
pub fn calculate_next_bits(params: &ChainParams, last: &Header, first_time: u32) -> CompactTarget {
    let target_timespan = params.target_timespan();
    // Signed: a period's last block may carry an earlier time than its first.
    let actual = i64::from(last.time) - i64::from(first_time);
    let clamped = actual.clamp(target_timespan as i64 / 4, target_timespan as i64 * 4);
    // Core scales whatever `bits` decode to, ignoring the sign and overflow flags; a parent whose
    // bits had either would have failed validation already.
    let old = crate::pow::Target::from_u256(last.bits.decode().value);
    let clamped = u64::try_from(clamped).expect("clamped to a positive range");
    old.scale(clamped, target_timespan, params.pow_limit)
        .to_compact_lossy()
}

pub mod stats;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{BlockHash, MerkleRoot};

    fn last(time: u32, bits: u32) -> Header {
        Header {
            version: 1,
            prev_blockhash: BlockHash::ZERO,
            merkle_root: MerkleRoot::ZERO,
            time,
            bits: CompactTarget::from_consensus(bits),
            nonce: 0,
        }
    }

    /// Bitcoin Core's `pow_tests.cpp` GetNextWorkRequired vectors, on mainnet parameters.
    #[test]
    fn retarget_matches_bitcoin_core_pow_tests() {
        let params = ChainParams::bitcoin();
        #[rustfmt::skip]
        let vectors: &[(&str, u32, u32, u32, u32)] = &[
            // (test name, first block time, last block time, last bits, expected bits)
            // Block 32255 retargeting after the period from block 30240.
            ("get_next_work",                1_261_130_161, 1_262_152_739, 0x1d00_ffff, 0x1d00_d86a),
            // Block 2015: the period took longer than two weeks; capped at the limit.
            ("get_next_work_pow_limit",      1_231_006_505, 1_233_061_996, 0x1d00_ffff, 0x1d00_ffff),
            // Block 68543: the period took under a quarter of two weeks; clamped to 4x harder.
            ("get_next_work_lower_limit_actual", 1_279_008_237, 1_279_297_671, 0x1c05_a3f4, 0x1c01_68fd),
            // Block 46367: over four times; clamped to 4x easier.
            ("get_next_work_upper_limit_actual", 1_263_163_443, 1_269_211_443, 0x1c38_7f6f, 0x1d00_e1fd),
        ];
        for &(name, first_time, last_time, bits, expected) in vectors {
            let got = calculate_next_bits(&params, &last(last_time, bits), first_time);
            assert_eq!(got.to_consensus(), expected, "{name}");
        }
    }

    #[test]
    fn bits_carry_over_between_retargets() {
        let params = ChainParams::bitcoin();
        let parent = last(1_300_000_000, 0x1b04_864c);
        assert_eq!(next_bits(&params, 2017, &parent, None), Some(parent.bits));
        assert_eq!(
            next_bits(&params, 4032, &parent, None),
            None,
            "retarget needs the start time"
        );
        assert!(is_retarget_height(&params, 2016));
        assert!(!is_retarget_height(&params, 0));
        assert_eq!(period_start_height(&params, 4032), 2016);
    }

    #[test]
    fn a_period_whose_times_run_backwards_is_clamped_to_four_times_harder() {
        let params = ChainParams::bitcoin();
        let backwards = calculate_next_bits(&params, &last(1_000, 0x1c05_a3f4), 5_000);
        let quarter = calculate_next_bits(&params, &last(1_000 + 302_400, 0x1c05_a3f4), 1_000);
        assert_eq!(backwards, quarter);
    }
}
