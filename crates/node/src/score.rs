//! Misbehaviour scores: what each kind of bad message costs a peer, when it is banned, and how
//! it is forgiven.
//!
//! As Bitcoin Core's (pre-0.20) `Misbehaving`: each offence adds points, and at
//! [`BAN_THRESHOLD`] the peer is disconnected and banned for a while. An invalid block costs the
//! whole threshold at once: producing one takes proof of work or a bug, and a peer that relays
//! one did not validate it. Cheaper offences (a malformed message, a future-dated block, which
//! may be clock skew) need several. Scores are forgotten when the ban lifts.
//!
//! Unlike Bitcoin Core, points decay: a score halves every [`SCORE_HALF_LIFE`] (one hour), as
//! gossipsub's counters do. A peer that sent one garbage message yesterday (a bug since fixed,
//! a message cut by a flaky link) should not be banned by its next harmless slip; a peer that
//! keeps misbehaving is banned all the same. Because of the decay, repeated offences must come
//! close together to add up, so the costs leave room: two 60-point offences ban if the second
//! comes within `SCORE_HALF_LIFE * log2(1.5)` (about 35 minutes) of the first.
//!
//! Time is a parameter ([`Scores::add_at`], [`Scores::get_at`]), so tests move the clock
//! instead of waiting, and a simulation replays exactly. Peers are whatever key the driver uses
//! (libp2p's `PeerId`, a simulated node's number).

use std::collections::HashMap;
use std::hash::Hash;
use std::time::Duration;

use ironchain_core::Rule;

use crate::clock::Time;

/// Points at which a peer is banned (Bitcoin Core's `DISCOURAGEMENT_THRESHOLD`).
pub const BAN_THRESHOLD: u32 = 100;

/// The time in which a peer's points halve. One hour: the default ban lasts as long, and
/// gossipsub forgets invalid messages over about the same time (see `net::behaviour`).
pub const SCORE_HALF_LIFE: Duration = Duration::from_secs(60 * 60);

/// Scores below this many points are forgotten (about seven half-lives after a 100-point
/// offence, four after a 20-point one), so the table does not grow with every peer ever seen.
const FORGET_BELOW: f64 = 1.0;

/// Past this many scored peers, adding a score first drops the forgettable ones.
const PRUNE_AT: usize = 1024;

/// Something a peer did wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Offence {
    /// It sent a block that breaks a rule.
    InvalidBlock(Rule),
    /// It sent bytes that are not a message of the protocol.
    Garbage,
    /// It sent a message over a size limit.
    Oversized,
    /// It claimed a chain with more work than ours but did not deliver it.
    FalseClaim,
    /// It sent a record that can never fit in a block.
    BadRecord,
}

impl Offence {
    /// Returns what the offence costs.
    pub fn cost(&self) -> u32 {
        match self {
            // Clocks drift: a block a little too far ahead may become valid; two are a pattern.
            Offence::InvalidBlock(Rule::TimeTooNew { .. }) => 60,
            Offence::InvalidBlock(_) => BAN_THRESHOLD,
            // Two within about 35 minutes ban (see the module documentation).
            Offence::Garbage | Offence::Oversized | Offence::FalseClaim => 60,
            // Four in quick succession ban.
            Offence::BadRecord => 25,
        }
    }
}

/// One peer's points as of one moment; they decay from there.
#[derive(Debug, Clone, Copy)]
struct Points {
    value: f64,
    at: Time,
}

impl Points {
    /// Returns the points left at `now`: `value * 2^(-elapsed / SCORE_HALF_LIFE)`. A `now`
    /// before `at` (clocks passed out of order) decays nothing.
    fn at(self, now: Time) -> f64 {
        let elapsed = now.since(self.at);
        let half_lives = elapsed.as_secs_f64() / SCORE_HALF_LIFE.as_secs_f64();
        self.value * (-half_lives).exp2()
    }
}

/// Scores of the peers that misbehaved.
#[derive(Debug)]
pub struct Scores<P> {
    points: HashMap<P, Points>,
}

impl<P> Default for Scores<P> {
    fn default() -> Self {
        Self {
            points: HashMap::new(),
        }
    }
}

impl<P: Copy + Eq + Hash> Scores<P> {
    /// Adds an offence committed at `now` to `peer`'s decayed score; returns true if the peer
    /// has now reached the ban threshold (its score is then reset: the ban is its punishment).
    pub fn add_at(&mut self, peer: P, offence: &Offence, now: Time) -> bool {
        if self.points.len() >= PRUNE_AT {
            self.points
                .retain(|_, points| points.at(now) >= FORGET_BELOW);
        }
        let before = self.points.get(&peer).map_or(0.0, |points| points.at(now));
        let value = before + f64::from(offence.cost());
        if value >= f64::from(BAN_THRESHOLD) {
            self.points.remove(&peer);
            true
        } else {
            self.points.insert(peer, Points { value, at: now });
            false
        }
    }

    /// Returns `peer`'s score at `now`, in whole points (rounded down).
    pub fn get_at(&self, peer: &P, now: Time) -> u32 {
        // Scores stay below the threshold, so the cast neither saturates nor wraps.
        self.points
            .get(peer)
            .map_or(0, |points| points.at(now).floor() as u32)
    }

    /// Returns how many peers have a score.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Returns true if no peer has a score.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironchain_core::Target;

    /// A peer key for the tests: any copyable, hashable value serves.
    type PeerId = u32;

    fn t0() -> Time {
        Time::from_millis(1_764_000_000_000)
    }

    fn invalid_block() -> Offence {
        Offence::InvalidBlock(Rule::HashAboveTarget {
            target: Target::from_be_bytes([0; 32]),
        })
    }

    #[test]
    fn one_invalid_block_bans_at_once() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        assert!(scores.add_at(peer, &invalid_block(), t0()));
        assert_eq!(
            scores.get_at(&peer, t0()),
            0,
            "the score resets with the ban"
        );
    }

    #[test]
    fn garbage_bans_on_the_second_message() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        let t0 = t0();
        assert!(!scores.add_at(peer, &Offence::Garbage, t0));
        assert_eq!(scores.get_at(&peer, t0), 60);
        assert!(scores.add_at(peer, &Offence::Garbage, t0.after(Duration::from_secs(1))));
    }

    #[test]
    fn a_score_halves_every_half_life() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        let t0 = t0();
        scores.add_at(peer, &Offence::Garbage, t0);
        // Each row: time since the offence, points left (60 * 2^-(t / 1 h), rounded down).
        for (after, expected) in [
            (Duration::ZERO, 60),
            (SCORE_HALF_LIFE / 2, 42), // 60 / sqrt(2) = 42.4
            (SCORE_HALF_LIFE, 30),
            (SCORE_HALF_LIFE * 2, 15),
            (SCORE_HALF_LIFE * 6, 0), // 0.94
        ] {
            assert_eq!(
                scores.get_at(&peer, t0.after(after)),
                expected,
                "after {after:?}"
            );
        }
    }

    #[test]
    fn a_peer_that_misbehaved_long_ago_is_not_banned_by_its_next_slip() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        let t0 = t0();
        assert!(!scores.add_at(peer, &Offence::Garbage, t0));
        // 60 * 2^-1 + 60 = 90: below the threshold an hour later.
        let later = t0.after(SCORE_HALF_LIFE);
        assert!(!scores.add_at(peer, &Offence::Garbage, later));
        assert_eq!(scores.get_at(&peer, later), 90);
        // The same two offences 30 minutes apart (60 * 0.707 + 60 = 102) do ban.
        let other: PeerId = 2;
        assert!(!scores.add_at(other, &Offence::Oversized, t0));
        assert!(scores.add_at(other, &Offence::Oversized, t0.after(SCORE_HALF_LIFE / 2)));
    }

    #[test]
    fn decay_never_makes_an_invalid_block_forgivable() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        let t0 = t0();
        scores.add_at(peer, &Offence::BadRecord, t0);
        assert!(scores.add_at(peer, &invalid_block(), t0.after(SCORE_HALF_LIFE * 100)));
    }

    #[test]
    fn an_earlier_clock_reading_decays_nothing() {
        let mut scores = Scores::default();
        let peer: PeerId = 1;
        let t1 = t0().after(SCORE_HALF_LIFE);
        scores.add_at(peer, &Offence::Garbage, t1);
        assert_eq!(scores.get_at(&peer, t0()), 60);
    }

    #[test]
    fn scores_that_decayed_away_are_forgotten_when_the_table_is_full() {
        let mut scores = Scores::default();
        let t0 = t0();
        for peer in 0..PRUNE_AT as PeerId {
            scores.add_at(peer + 100, &Offence::BadRecord, t0);
        }
        assert_eq!(scores.len(), PRUNE_AT);
        // Five half-lives later each of those is at 25 / 32 < 1 point.
        let peer: PeerId = 1;
        scores.add_at(peer, &Offence::BadRecord, t0.after(SCORE_HALF_LIFE * 5));
        assert_eq!(scores.len(), 1);
        assert_eq!(scores.get_at(&peer, t0.after(SCORE_HALF_LIFE * 5)), 25);
    }
}
