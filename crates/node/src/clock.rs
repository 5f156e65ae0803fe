//! Time as the node's decisions see it: a value passed in with every event, never read from a
//! clock.
//!
//! The libp2p node passes the system clock; the simulator passes its simulated clock, which is
//! why a simulation replays exactly from its seed. One kind of time serves both consensus (block
//! times are Unix seconds) and bookkeeping (score decay, timers, in milliseconds).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A moment: milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(u64);

impl Time {
    /// The Unix epoch.
    pub const ZERO: Time = Time(0);

    /// Returns the moment `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Time(millis)
    }

    /// Returns the moment `secs` seconds after the Unix epoch.
    pub const fn from_unix_secs(secs: u32) -> Self {
        Time(secs as u64 * 1000)
    }

    /// Returns the system clock's reading (the Unix epoch if the clock is set before it).
    pub fn now() -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Time(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    /// Returns the milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Returns the whole seconds since the Unix epoch, as block headers count time (saturating
    /// in 2106, where a `u32` ends).
    pub fn unix_secs(self) -> u32 {
        u32::try_from(self.0 / 1000).unwrap_or(u32::MAX)
    }

    /// Returns how long after `earlier` this is (zero if it is not after it).
    pub fn since(self, earlier: Time) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Returns the moment `duration` later (saturating).
    pub fn after(self, duration: Duration) -> Time {
        let millis = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
        Time(self.0.saturating_add(millis))
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_time_is_whole_seconds() {
        let t = Time::from_millis(1_764_000_000_999);
        assert_eq!(t.unix_secs(), 1_764_000_000);
        assert_eq!(Time::from_unix_secs(5).as_millis(), 5000);
    }

    #[test]
    fn durations_between_moments_never_go_negative() {
        let (a, b) = (Time::from_millis(1000), Time::from_millis(3500));
        assert_eq!(b.since(a), Duration::from_millis(2500));
        assert_eq!(a.since(b), Duration::ZERO);
        assert_eq!(a.after(Duration::from_secs(2)), Time::from_millis(3000));
    }
}
