//! Misbehaviour scores: what each kind of bad message costs a peer, and when it is banned.
//!
//! As Bitcoin Core's (pre-0.20) `Misbehaving`: each offence adds points, and at
//! [`BAN_THRESHOLD`] the peer is disconnected and banned for a while. An invalid block costs the
//! whole threshold at once: producing one takes proof of work or a bug, and a peer that relays
//! one did not validate it. Cheaper offences (a malformed message, a future-dated block, which
//! may be clock skew) need several. Scores are forgotten when the ban lifts. A real deployment
//! would also decay scores over time.

use std::collections::HashMap;

use ironchain_core::Rule;
use libp2p::PeerId;

/// Points at which a peer is banned (Bitcoin Core's `DISCOURAGEMENT_THRESHOLD`).
pub const BAN_THRESHOLD: u32 = 100;

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
            Offence::InvalidBlock(Rule::TimeTooNew { .. }) => 50,
            Offence::InvalidBlock(_) => BAN_THRESHOLD,
            Offence::Garbage | Offence::Oversized | Offence::FalseClaim => 50,
            Offence::BadRecord => 20,
        }
    }
}

/// Scores of the peers that misbehaved.
#[derive(Debug, Default)]
pub struct Scores {
    points: HashMap<PeerId, u32>,
}

impl Scores {
    /// Adds an offence to `peer`'s score; returns true if the peer has now reached the ban
    /// threshold (its score is then reset: the ban is its punishment).
    pub fn add(&mut self, peer: PeerId, offence: &Offence) -> bool {
        let points = self.points.entry(peer).or_default();
        *points = points.saturating_add(offence.cost());
        if *points >= BAN_THRESHOLD {
            self.points.remove(&peer);
            true
        } else {
            false
        }
    }

    /// Returns `peer`'s current score.
    pub fn get(&self, peer: &PeerId) -> u32 {
        self.points.get(peer).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironchain_core::Target;

    #[test]
    fn one_invalid_block_bans_at_once() {
        let mut scores = Scores::default();
        let peer = PeerId::random();
        let rule = Rule::HashAboveTarget {
            target: Target::from_be_bytes([0; 32]),
        };
        assert!(scores.add(peer, &Offence::InvalidBlock(rule)));
        assert_eq!(scores.get(&peer), 0, "the score resets with the ban");
    }

    #[test]
    fn garbage_bans_on_the_second_message() {
        let mut scores = Scores::default();
        let peer = PeerId::random();
        assert!(!scores.add(peer, &Offence::Garbage));
        assert_eq!(scores.get(&peer), 50);
        assert!(scores.add(peer, &Offence::Garbage));
    }
}
