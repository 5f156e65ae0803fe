//! Links between simulated nodes: how long a message takes, from a latency distribution and the
//! sender's bandwidth.
//!
//! A message of `s` bytes from A to B leaves A's uplink after the messages queued before it, takes
//! `s / bandwidth` to send, and arrives one link latency later. So a large block reaches a node's
//! eighth peer later than its first, as on a real uplink; this is the model SimBlock uses. Each
//! link's latency is drawn once, when the topology is built, from one of three distributions.

use std::fmt;
use std::str::FromStr;

use ironchain_core::attack::rng::Xoshiro256;

/// Microseconds of simulated time.
pub type Micros = u64;

/// One millisecond in microseconds.
pub const MS: Micros = 1_000;
/// One second in microseconds.
pub const SECOND: Micros = 1_000_000;

/// Where link latencies come from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Latency {
    /// Every link has this latency, in milliseconds.
    Constant(f64),
    /// Uniform between two values, in milliseconds.
    Uniform(f64, f64),
    /// Log-normal with this median and 90th percentile, in milliseconds (real internet paths
    /// have a long tail).
    LogNormal {
        /// The median.
        median: f64,
        /// The 90th percentile.
        p90: f64,
    },
}

/// The z-score of the 90th percentile of a standard normal distribution.
const Z90: f64 = 1.281_551_565_545;

impl Latency {
    /// Draws one link's latency.
    pub fn sample(&self, rng: &mut Xoshiro256) -> Micros {
        let ms = match *self {
            Latency::Constant(ms) => ms,
            Latency::Uniform(low, high) => low + (high - low) * rng.next_f64(),
            Latency::LogNormal { median, p90 } => {
                let sigma = (p90 / median).ln() / Z90;
                median * (sigma * standard_normal(rng)).exp()
            }
        };
        // At least a microsecond: a message never arrives before it was sent.
        ((ms * MS as f64).round() as Micros).max(1)
    }
}

/// A standard normal draw (Box-Muller).
fn standard_normal(rng: &mut Xoshiro256) -> f64 {
    let u1 = 1.0 - rng.next_f64(); // (0, 1]: the logarithm is finite
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Why a latency description could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot read latency {0:?}: expected constant:MS, uniform:LOW:HIGH or lognormal:MEDIAN:P90 \
     (milliseconds, e.g. lognormal:80:300), with 0 <= LOW <= HIGH and 0 < MEDIAN <= P90"
)]
pub struct LatencyError(String);

impl FromStr for Latency {
    type Err = LatencyError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || LatencyError(text.to_owned());
        let mut parts = text.split(':');
        let kind = parts.next().ok_or_else(fail)?;
        let numbers: Vec<f64> = parts
            .map(|p| p.trim().parse::<f64>().map_err(|_| fail()))
            .collect::<Result<_, _>>()?;
        if numbers.iter().any(|n| !n.is_finite() || *n < 0.0) {
            return Err(fail());
        }
        match (kind, numbers.as_slice()) {
            ("constant", [ms]) => Ok(Latency::Constant(*ms)),
            ("uniform", [low, high]) if low <= high => Ok(Latency::Uniform(*low, *high)),
            ("lognormal", [median, p90]) if *median > 0.0 && median <= p90 => {
                Ok(Latency::LogNormal {
                    median: *median,
                    p90: *p90,
                })
            }
            _ => Err(fail()),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Constant(ms) => write!(f, "constant:{ms}"),
            Latency::Uniform(low, high) => write!(f, "uniform:{low}:{high}"),
            Latency::LogNormal { median, p90 } => write!(f, "lognormal:{median}:{p90}"),
        }
    }
}

/// Returns how long `bytes` take on an uplink of `bits_per_second`.
pub fn transfer_time(bytes: usize, bits_per_second: u64) -> Micros {
    if bits_per_second == 0 {
        return 0;
    }
    let bits = bytes as u128 * 8 * u128::from(SECOND);
    u64::try_from(bits / u128::from(bits_per_second)).unwrap_or(Micros::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_read_and_written_back() {
        for text in ["constant:50", "uniform:10:200", "lognormal:80:300"] {
            let latency: Latency = text.parse().expect(text);
            assert_eq!(latency.to_string(), text);
        }
        for bad in [
            "",
            "constant",
            "constant:x",
            "uniform:5:1",
            "lognormal:0:5",
            "gauss:1",
        ] {
            assert!(bad.parse::<Latency>().is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn lognormal_latencies_have_the_median_and_p90_asked_for() {
        let latency: Latency = "lognormal:80:300".parse().expect("valid");
        let mut rng = Xoshiro256::seed_from(7);
        let mut draws: Vec<Micros> = (0..100_000).map(|_| latency.sample(&mut rng)).collect();
        draws.sort_unstable();
        let (median, p90) = (draws[50_000] as f64 / 1e3, draws[90_000] as f64 / 1e3);
        // Within 3% of the parameters: the sample quantiles' errors are well under 1%.
        assert!((median / 80.0 - 1.0).abs() < 0.03, "median {median} ms");
        assert!((p90 / 300.0 - 1.0).abs() < 0.03, "p90 {p90} ms");
    }

    #[test]
    fn a_megabyte_takes_eighty_milliseconds_at_a_hundred_megabits() {
        assert_eq!(transfer_time(1_000_000, 100_000_000), 80 * MS);
        assert_eq!(transfer_time(1_000_000, 0), 0, "no bandwidth limit");
    }
}
