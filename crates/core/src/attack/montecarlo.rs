//! The attacker's race, simulated: count how often a simulated attacker catches up, to check the
//! closed forms of [`super`] against plain counting.
//!
//! One trial plays the whitepaper's story. While the honest network mines the payment's `z`
//! confirmations, the attacker secretly mines `k` blocks, drawn from the [`Model`]. From
//! `d = z - k` blocks behind (already caught up if `d <= 0`) the race then goes block by block:
//! each block is the attacker's with probability `q`, and the attacker wins on drawing level.
//!
//! A losing attacker's race never ends, so a simulation must stop it. The [`RaceCap`] makes the
//! attacker give up once it is so far behind that its chance of ever coming back, `(q/p)^d`, is
//! below `max_bias`, and stops any race after `max_blocks` blocks. Both caps can only turn a win
//! into a loss, so the estimate is biased *down*, by at most `max_bias` plus the fraction of trials
//! stopped by `max_blocks` (reported in [`Estimate::stopped`]). For `q >= p` no deficit is hopeless,
//! so only `max_blocks` applies, and the estimate of a certain win falls a little short of 1.

use std::sync::atomic::{AtomicU64, Ordering};

use super::rng::{Bernoulli, Xoshiro256};
use super::{AttackerShare, catch_up_probability, catch_up_probability_exact};

/// How many blocks the attacker has found when the merchant sees `z` confirmations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "kebab-case"))]
pub enum Model {
    /// The whitepaper's: the honest blocks took exactly their expected time, so the attacker's
    /// blocks are Poisson with mean `z q / p`. Simulated as a Poisson process: exponential gaps
    /// between the attacker's blocks, counted until that time runs out.
    Whitepaper,
    /// Without that assumption: every block is the attacker's with probability `q`, and the
    /// attacker's count when the honest network finds its `z`-th is negative binomial.
    NegativeBinomial,
}

impl Model {
    /// Returns this model's closed-form probability of catching up.
    pub fn probability(self, q: AttackerShare, z: u32) -> f64 {
        match self {
            Model::Whitepaper => catch_up_probability(q, z),
            Model::NegativeBinomial => catch_up_probability_exact(q, z),
        }
    }
}

/// When a simulated race stops before the attacker draws level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RaceCap {
    /// The attacker gives up once its chance of ever coming back is below this.
    pub max_bias: f64,
    /// Any race stops after this many blocks (counted as a loss).
    pub max_blocks: u64,
}

impl Default for RaceCap {
    /// Gives up below a one-in-a-billion chance, and after 2^20 blocks.
    fn default() -> Self {
        Self {
            max_bias: 1e-9,
            max_blocks: 1 << 20,
        }
    }
}

impl RaceCap {
    /// Returns the deficit at which the attacker gives up: the smallest `d > z` with
    /// `(q/p)^d < max_bias`, or `u64::MAX` (never) if `q >= p`.
    pub fn give_up_behind(&self, q: AttackerShare, z: u32) -> u64 {
        if q.is_majority() || q.get() == 0.0 {
            // With q = 0 every race is lost at once, before any cap matters.
            return if q.get() == 0.0 {
                u64::from(z) + 1
            } else {
                u64::MAX
            };
        }
        let ratio = (q.get() / q.honest()).ln();
        let needed = (self.max_bias.max(f64::MIN_POSITIVE).ln() / ratio).ceil();
        // `as` saturates a huge float to u64::MAX, which is what "never" means here.
        (needed as u64).max(u64::from(z) + 1)
    }
}

/// A simulation to run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Simulation {
    /// How the attacker's head start is drawn.
    pub model: Model,
    /// How many races to run.
    pub trials: u64,
    /// Seeds every random draw: the same seed gives the same estimate on any number of threads.
    pub seed: u64,
    /// When a race stops.
    pub cap: RaceCap,
    /// Threads to run on (at least one).
    pub threads: usize,
}

/// What a simulation counted.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Estimate {
    /// Races run.
    pub trials: u64,
    /// Races the attacker won (drew level with the honest chain).
    pub wins: u64,
    /// Races where the attacker gave up, too far behind to hope.
    pub gave_up: u64,
    /// Races stopped by the block cap, undecided and counted as losses.
    pub stopped: u64,
    /// The deficit at which the attacker gave up (`u64::MAX`: never).
    pub give_up_behind: u64,
}

impl Estimate {
    /// Returns the estimated probability: wins / trials.
    pub fn probability(&self) -> f64 {
        self.wins as f64 / self.trials.max(1) as f64
    }

    /// Returns the estimate's standard error, `sqrt(P (1 - P) / trials)` at the estimate.
    pub fn std_error(&self) -> f64 {
        let p = self.probability();
        (p * (1.0 - p) / self.trials.max(1) as f64).sqrt()
    }

    /// Returns how many standard errors the estimate lies from `expected`, the standard error
    /// taken at `expected` (the spread the estimate would have if `expected` were right, which
    /// stays meaningful when a rare event was never seen). Returns 0 for an exact match and
    /// infinity when `expected` is 0 or 1 and the estimate differs.
    pub fn sigmas_from(&self, expected: f64) -> f64 {
        let spread = (expected * (1.0 - expected) / self.trials.max(1) as f64).sqrt();
        let difference = (self.probability() - expected).abs();
        if difference == 0.0 {
            0.0
        } else {
            difference / spread
        }
    }

    /// Returns true if the estimate agrees with `expected` within `sigmas` standard errors,
    /// allowing for the caps' downward bias (`max_bias` and the stopped races).
    pub fn agrees_with(&self, expected: f64, sigmas: f64, cap: &RaceCap) -> bool {
        let bias = cap.max_bias + self.stopped as f64 / self.trials.max(1) as f64;
        let spread = (expected * (1.0 - expected) / self.trials.max(1) as f64).sqrt();
        let shortfall = expected - self.probability();
        // Below the expectation, the caps may explain up to `bias` of the gap.
        let gap = if shortfall > 0.0 {
            (shortfall - bias).max(0.0)
        } else {
            -shortfall
        };
        gap <= sigmas * spread
    }
}

/// Trials per chunk: each chunk draws from its own random stream.
const CHUNK: u64 = 1 << 12;

/// Runs `sim.trials` races of an attacker with share `q` against `z` confirmations.
pub fn simulate(q: AttackerShare, z: u32, sim: &Simulation) -> Estimate {
    let give_up_behind = sim.cap.give_up_behind(q, z);
    let chunks = sim.trials.div_ceil(CHUNK);
    let next = AtomicU64::new(0);
    let run = || {
        let mut tally = Tally::default();
        loop {
            let chunk = next.fetch_add(1, Ordering::Relaxed);
            if chunk >= chunks {
                return tally;
            }
            let mut rng = Xoshiro256::stream(sim.seed, chunk);
            let trials = CHUNK.min(sim.trials - chunk * CHUNK);
            for _ in 0..trials {
                tally.add(race(q, z, sim, give_up_behind, &mut rng));
            }
        }
    };
    let threads = sim
        .threads
        .clamp(1, usize::try_from(chunks).unwrap_or(usize::MAX).max(1));
    let tally = if threads == 1 {
        run()
    } else {
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads).map(|_| scope.spawn(run)).collect();
            handles
                .into_iter()
                .map(|handle| handle.join().expect("a race simulation does not panic"))
                .fold(Tally::default(), Tally::merge)
        })
    };
    Estimate {
        trials: sim.trials,
        wins: tally.wins,
        gave_up: tally.gave_up,
        stopped: tally.stopped,
        give_up_behind,
    }
}

/// How one race ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Won,
    GaveUp,
    Stopped,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    wins: u64,
    gave_up: u64,
    stopped: u64,
}

impl Tally {
    fn add(&mut self, ending: Ending) {
        match ending {
            Ending::Won => self.wins += 1,
            Ending::GaveUp => self.gave_up += 1,
            Ending::Stopped => self.stopped += 1,
        }
    }

    fn merge(self, other: Tally) -> Tally {
        Tally {
            wins: self.wins + other.wins,
            gave_up: self.gave_up + other.gave_up,
            stopped: self.stopped + other.stopped,
        }
    }
}

/// Plays one race: the attacker's head start, then block by block from its deficit.
fn race(
    q: AttackerShare,
    z: u32,
    sim: &Simulation,
    give_up_behind: u64,
    rng: &mut Xoshiro256,
) -> Ending {
    let attacker_block = Bernoulli::new(q.get());
    let mut blocks = 0u64;
    let head_start = match sim.model {
        Model::Whitepaper => {
            if q.get() >= 1.0 {
                return Ending::Won;
            }
            // A Poisson process of rate q/p per honest block, run for z honest blocks' time.
            let lambda = f64::from(z) * q.get() / q.honest();
            let mut clock = rng.next_exp();
            let mut found = 0u64;
            while clock < lambda {
                found += 1;
                clock += rng.next_exp();
            }
            found
        }
        Model::NegativeBinomial => {
            let (mut found, mut honest) = (0u64, 0u32);
            while honest < z {
                if blocks >= sim.cap.max_blocks {
                    return Ending::Stopped;
                }
                blocks += 1;
                if attacker_block.sample(rng) {
                    found += 1;
                } else {
                    honest += 1;
                }
            }
            found
        }
    };
    let Some(mut deficit) = u64::from(z).checked_sub(head_start) else {
        return Ending::Won;
    };
    let mut blocks = 0u64;
    while deficit > 0 {
        if deficit >= give_up_behind {
            return Ending::GaveUp;
        }
        if blocks >= sim.cap.max_blocks {
            return Ending::Stopped;
        }
        blocks += 1;
        if attacker_block.sample(rng) {
            deficit -= 1;
        } else {
            deficit += 1;
        }
    }
    Ending::Won
}
