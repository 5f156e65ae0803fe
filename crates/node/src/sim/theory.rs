//! What theory predicts for a run, to check the simulator against (and the network against the
//! theory): the stale rate from the run's own propagation delays, and a selfish miner's revenue.

use super::engine::BlockInfo;
use super::links::SECOND;

/// Estimates the stale rate from measured miner-to-miner delays.
///
/// When miner `i` finds a block, miner `j` keeps mining on the old tip until the block reaches
/// it, `d_ij` later; if `j` finds a block of its own in that window, the two compete and one
/// becomes stale. With `j` finding blocks at rate `s_j / T` (its share over the block interval),
/// block `b` escapes every such race with probability `exp(-sum_j s_j d_ij(b) / T)`. The stale
/// rate is the average over blocks of `1 - exp(-sum_j s_j d_ij(b) / T)`: one stale block per
/// contested block (races of three or more, and stale blocks that are themselves extended, are
/// second-order at the rates simulated here).
///
/// `shares[j]` is miner `j`'s share; a block whose miner never reached a miner counts that
/// miner's delay as the whole run (it never switched).
pub fn stale_rate_estimate(blocks: &[BlockInfo], shares: &[f64], interval_secs: f64) -> f64 {
    let mut total = 0.0;
    let mut counted = 0usize;
    for block in blocks.iter().filter(|b| b.miner != u32::MAX) {
        let mut hazard = 0.0;
        for (j, accept) in block.miner_accepts.iter().enumerate() {
            let Some(delay) = accept else {
                continue;
            };
            let share = shares.get(j).copied().unwrap_or(0.0);
            hazard += share * (*delay as f64 / SECOND as f64) / interval_secs;
        }
        total += 1.0 - (-hazard).exp();
        counted += 1;
    }
    if counted == 0 {
        0.0
    } else {
        total / counted as f64
    }
}

/// Eyal and Sirer's relative revenue of a selfish miner with share `alpha` and connectivity
/// `gamma` (the share of honest power that mines on the selfish block in a tie), "Majority is not
/// Enough: Bitcoin Mining is Vulnerable" (2014), equation 8:
///
/// `R = (α(1-α)²(4α + γ(1-2α)) - α³) / (1 - α(1 + (2-α)α))`
pub fn selfish_revenue(alpha: f64, gamma: f64) -> f64 {
    let a = alpha;
    let numerator = a * (1.0 - a).powi(2) * (4.0 * a + gamma * (1.0 - 2.0 * a)) - a.powi(3);
    let denominator = 1.0 - a * (1.0 + (2.0 - a) * a);
    numerator / denominator
}

/// Eyal and Sirer's threshold: above this share, selfish mining pays (equation 9):
/// `(1 - γ) / (3 - 2γ)`.
pub fn selfish_threshold(gamma: f64) -> f64 {
    (1.0 - gamma) / (3.0 - 2.0 * gamma)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selfish_revenue_matches_the_papers_figures() {
        // At the threshold, revenue equals the share: 1/3 for gamma 0, 1/4 for gamma 1/2.
        for gamma in [0.0, 0.5] {
            let alpha = selfish_threshold(gamma);
            assert!(
                (selfish_revenue(alpha, gamma) - alpha).abs() < 1e-12,
                "gamma {gamma}"
            );
        }
        assert!((selfish_threshold(0.0) - 1.0 / 3.0).abs() < 1e-12);
        assert!((selfish_threshold(0.5) - 0.25).abs() < 1e-12);
        // Below it a selfish miner earns less than its share, above it more.
        assert!(selfish_revenue(0.25, 0.0) < 0.25);
        assert!(selfish_revenue(0.4, 0.0) > 0.4);
        // With all the network's power behind it in a tie (gamma 1), any share profits.
        assert!(selfish_revenue(0.1, 1.0) > 0.1);
    }
}
