//! Double-spend attacks: how likely an attacker with a share of the hash power is to rewrite the
//! last `z` blocks, computed three ways.
//!
//! Rewriting history means re-mining the changed block *and every block after it* faster than the
//! honest network extends its chain. Section 11 of the Bitcoin whitepaper ("Calculations") models
//! this as a race: each new block is the attacker's with probability `q` (its share of the hash
//! power) and the honest network's with probability `p = 1 - q`. A merchant waits for `z` blocks
//! after the payment's block; meanwhile the attacker has secretly mined some blocks of its own. From
//! `d` blocks behind, the attacker ever catches up with probability `(q/p)^d` (gambler's ruin), or
//! surely if `q >= p`.
//!
//! - [`catch_up_probability`]: the whitepaper's closed form, where the attacker's progress while
//!   the honest chain mined its `z` blocks is Poisson with mean `z q / p` (the whitepaper assumes
//!   the honest blocks took exactly their expected time).
//! - [`catch_up_probability_exact`]: the same race without that assumption: the attacker's
//!   progress is negative binomial (blocks it finds before the honest network finds `z`), as in
//!   Meni Rosenfeld's "Analysis of hashrate-based double-spending" (2012). It is a little higher
//!   than the whitepaper's figure for small `z`.
//! - [`montecarlo`]: a seeded simulation of either model, to check the formulas by counting.
//! - [`live`]: a real attacker miner racing real honest miners on the demo chain.
//!
//! ```
//! use ironchain_core::attack::{AttackerShare, catch_up_probability, blocks_needed};
//!
//! // The whitepaper's first table: an attacker with 10% of the hash power, 6 blocks behind.
//! let q = AttackerShare::new(0.1)?;
//! assert!((catch_up_probability(q, 6) - 0.000_242_8).abs() < 5e-8);
//! // And its second: with 30% of the power, a merchant needs 24 blocks for under 0.1%.
//! assert_eq!(blocks_needed(AttackerShare::new(0.3)?, 0.001, 10_000), Some(24));
//! # Ok::<(), ironchain_core::attack::ShareError>(())
//! ```

pub mod live;
pub mod montecarlo;
pub mod rng;

use std::fmt;

/// The attacker's share `q` of the total hash power: a number in `[0, 1]`.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AttackerShare(f64);

/// Why a number is not a hash-power share.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The share is not between 0 and 1 (or is not a number).
    #[error("a hash-power share is between 0 and 1, found {0}")]
    OutOfRange(f64),
}

impl AttackerShare {
    /// Wraps `q`, the fraction of all hash power the attacker controls.
    ///
    /// # Errors
    /// [`ShareError::OutOfRange`] unless `0 <= q <= 1`.
    pub fn new(q: f64) -> Result<Self, ShareError> {
        if (0.0..=1.0).contains(&q) {
            Ok(Self(q))
        } else {
            Err(ShareError::OutOfRange(q))
        }
    }

    /// Returns `q`.
    pub fn get(self) -> f64 {
        self.0
    }

    /// Returns `p = 1 - q`, the honest network's share.
    pub fn honest(self) -> f64 {
        1.0 - self.0
    }

    /// Returns true if the attacker has at least half the hash power: then it catches up from
    /// any deficit with probability 1.
    pub fn is_majority(self) -> bool {
        self.0 >= self.honest()
    }
}

impl fmt::Display for AttackerShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Returns the probability that an attacker `deficit` blocks behind ever catches up: `(q/p)^d`,
/// or 1 when `q >= p` (the gambler's ruin against an infinitely rich opponent).
pub fn gamblers_ruin(q: AttackerShare, deficit: u64) -> f64 {
    if q.is_majority() {
        1.0
    } else {
        // powf, not powi: the deficit may exceed i32.
        (q.get() / q.honest()).powf(deficit as f64)
    }
}

/// Returns the whitepaper's probability that an attacker with share `q` catches up after the
/// merchant has waited for `z` blocks:
///
/// `P = 1 - sum_{k=0..z} Poisson(k; λ) (1 - (q/p)^(z-k))`, with `λ = z q / p`, and 1 if `q >= p`.
///
/// It is computed in the equivalent all-positive form
/// `sum_{k<=z} Poisson(k; λ) (q/p)^(z-k) + sum_{k>z} Poisson(k; λ)`, with Poisson terms in log
/// space, so that it neither cancels to zero for small results nor underflows for large `z`.
pub fn catch_up_probability(q: AttackerShare, z: u32) -> f64 {
    if z == 0 || q.is_majority() {
        return 1.0;
    }
    if q.get() == 0.0 {
        return 0.0;
    }
    let lambda = f64::from(z) * q.get() / q.honest();
    // ln Poisson(k+1) = ln Poisson(k) + ln λ - ln(k+1).
    sum_positive_form(q, z, 0, -lambda, |k| lambda.ln() - ((k + 1) as f64).ln())
}

/// Returns the probability that an attacker with share `q` catches up after `z` blocks, without
/// the whitepaper's assumption that the honest blocks took their expected time: the attacker's
/// blocks before the honest network's `z`-th are negative binomial,
/// `NB(k) = C(k+z-1, k) p^z q^k`, and
///
/// `P = 1 - sum_{k=0..z} NB(k) (1 - (q/p)^(z-k))`, and 1 if `q >= p`.
///
/// Catching up means drawing level, as in the whitepaper.
pub fn catch_up_probability_exact(q: AttackerShare, z: u32) -> f64 {
    if z == 0 || q.is_majority() {
        return 1.0;
    }
    if q.get() == 0.0 {
        return 0.0;
    }
    negative_binomial_race(q, z, 0)
}

/// Returns the probability that an attacker with share `q` gets *ahead* of the honest chain, by
/// at least one block, after the merchant has waited for `z` blocks: the negative binomial race
/// of [`catch_up_probability_exact`], but won only by a lead, not by drawing level.
///
/// This is what replacing the honest chain takes on a network that keeps the first chain it saw
/// when two have equal work (Bitcoin Core, and ironchain's fork choice):
///
/// `P = sum_{k<=z} NB(k) (q/p)^(z-k+1) + sum_{k>z} NB(k)`, and 1 if `q >= p`.
pub fn overtake_probability_exact(q: AttackerShare, z: u32) -> f64 {
    if q.is_majority() {
        return 1.0;
    }
    if q.get() == 0.0 {
        return 0.0;
    }
    if z == 0 {
        // No confirmations: the attacker needs a one-block lead from the start.
        return gamblers_ruin(q, 1);
    }
    negative_binomial_race(q, z, 1)
}

/// The negative binomial race, won from `z - k + lead` blocks behind.
fn negative_binomial_race(q: AttackerShare, z: u32, lead: u64) -> f64 {
    let (ln_p, ln_q, z_f) = (q.honest().ln(), q.get().ln(), f64::from(z));
    // ln NB(k+1) = ln NB(k) + ln q + ln((k+z)/(k+1)).
    sum_positive_form(q, z, lead, z_f * ln_p, |k| {
        ln_q + (k as f64 + z_f).ln() - (k as f64 + 1.0).ln()
    })
}

/// Sums `sum_{k<=z} t(k) (q/p)^(z-k+lead) + sum_{k>z} t(k)` for terms given by `ln t(0)` and the
/// step `ln t(k+1) - ln t(k)`. The tail's terms shrink geometrically once `k` passes the mode,
/// so it stops when a term no longer changes the sum.
fn sum_positive_form(
    q: AttackerShare,
    z: u32,
    lead: u64,
    ln_t0: f64,
    ln_step: impl Fn(u64) -> f64,
) -> f64 {
    let ln_ratio = (q.get() / q.honest()).ln();
    let mut ln_t = ln_t0;
    let mut head = 0.0;
    for k in 0..=u64::from(z) {
        head += (ln_t + ln_ratio * (u64::from(z) - k + lead) as f64).exp();
        ln_t += ln_step(k);
    }
    let mut tail = 0.0;
    let mut k = u64::from(z) + 1;
    // The bound only guards against a runaway loop: both tails converge long before it.
    while k < 64 * u64::from(z) + 10_000 {
        let term = ln_t.exp();
        tail += term;
        if term <= (head + tail) * 1e-18 {
            break;
        }
        ln_t += ln_step(k);
        k += 1;
    }
    (head + tail).min(1.0)
}

/// Returns the smallest `z` up to `max_z` for which [`catch_up_probability`] is below
/// `threshold` (the whitepaper's "Solving for P less than 0.1%" table), or `None` if there is
/// none: `q >= p`, or `max_z` is too small.
pub fn blocks_needed(q: AttackerShare, threshold: f64, max_z: u32) -> Option<u32> {
    if q.is_majority() {
        return None;
    }
    // P falls with z, so a binary search finds the first z below the threshold.
    let (mut low, mut high) = (0u32, max_z);
    if catch_up_probability(q, high) >= threshold {
        return None;
    }
    while low < high {
        let mid = low + (high - low) / 2;
        if catch_up_probability(q, mid) < threshold {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    Some(low)
}

#[cfg(test)]
mod tests;
