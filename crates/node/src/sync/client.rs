//! The client side of sync: one download from one peer, as a state machine.
//!
//! A session starts when a peer claims more work than we have. It asks for the blocks after our
//! [locator](ironchain_store::ChainStore::locator), led by the last block it received, so that a
//! long download continues where the previous batch ended even while those blocks sit on a side
//! branch. Each response goes through fork choice ([`ChainState::accept_batch`]); a full batch
//! asks for the next, a short one ends the session. The session then checks the claim: a peer
//! that said it had more work than we now have, and gave us everything it would, lied.
//!
//! Nothing here waits or sends: [`SyncSession::on_response`] takes a response and returns what
//! to do next, so the libp2p node and the simulator drive the same code.

use std::sync::Arc;

use ironchain_core::{Block, BlockHash};
use ironchain_store::{ChainStore, DbError};
use tracing::{debug, info, warn};

use crate::forks::{BatchOutcome, ChainState, Rejected};
use crate::score::Offence;
use crate::sync::messages::{MAX_LOCATOR, Request, Response, TipClaim, WireError};

/// Most rounds of one session before asking others (a peer feeding endless side blocks).
pub const MAX_SYNC_ROUNDS: usize = 10_000;

/// Why a request got no usable response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// The response was larger than we accept: the peer's fault.
    #[error("the response exceeded our size limit")]
    TooLarge,
    /// The response was not a message of the protocol: the peer's fault.
    #[error("the response is malformed: {0}")]
    Malformed(WireError),
    /// No response: a timeout, a closed connection, an unreachable peer. Nobody's fault that we
    /// can tell.
    #[error("no response: {0}")]
    Failed(String),
}

/// One download from one peer.
#[derive(Debug, Clone)]
pub struct SyncSession<P> {
    /// The peer downloaded from.
    pub peer: P,
    /// What it claimed when the session started.
    pub claim: TipClaim,
    batch: u32,
    last: Option<BlockHash>,
    rounds: usize,
    received: usize,
}

/// What to do after a response.
#[derive(Debug)]
pub enum SyncStep {
    /// Send this request to the same peer.
    Ask(Request),
    /// The session is over: the peer had nothing more. `offence` is set if it misbehaved (served
    /// an invalid block, garbage, or less work than it claimed).
    Done {
        /// What the peer did wrong, if anything.
        offence: Option<Offence>,
    },
}

/// What one response did: the blocks it placed and what to do next.
#[derive(Debug)]
pub struct SyncProgress {
    /// What fork choice did with the response's blocks.
    pub outcome: BatchOutcome,
    /// What to do next.
    pub step: SyncStep,
}

impl<P: Copy + std::fmt::Display> SyncSession<P> {
    /// Starts a session with `peer`, which claimed `claim`, asking `batch` blocks at a time.
    pub fn new(peer: P, claim: TipClaim, batch: u32) -> Self {
        Self {
            peer,
            claim,
            batch: batch.max(1),
            last: None,
            rounds: 0,
            received: 0,
        }
    }

    /// Returns the next request: the blocks after the last one received, or after our locator.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    pub fn request<S: ChainStore>(&self, store: &S) -> Result<Request, DbError> {
        let mut locator: Vec<BlockHash> = self.last.into_iter().collect();
        locator.extend(store.locator()?);
        locator.truncate(MAX_LOCATOR);
        Ok(Request::GetBlocks {
            locator,
            stop: None,
            limit: self.batch,
        })
    }

    /// Returns how many blocks the session has accepted so far.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Takes the peer's response to the last request, places its blocks, and says what next.
    pub fn on_response<S: ChainStore>(
        &mut self,
        chain: &mut ChainState<S>,
        response: Result<Response, ResponseError>,
        now: u32,
    ) -> SyncProgress {
        let done = |offence| SyncProgress {
            outcome: BatchOutcome::default(),
            step: SyncStep::Done { offence },
        };
        let blocks: Vec<Arc<Block>> = match response {
            Ok(Response::Blocks(blocks)) => blocks,
            Ok(Response::Tip(_)) | Err(ResponseError::Malformed(_)) => {
                return done(Some(Offence::Garbage));
            }
            Err(ResponseError::TooLarge) => return done(Some(Offence::Oversized)),
            Err(ResponseError::Failed(reason)) => {
                debug!(peer = %self.peer, reason, "sync request failed");
                return done(None);
            }
        };
        if blocks.is_empty() {
            return done(self.check_claim(chain.store()));
        }
        let count = blocks.len();
        let last = blocks.last().map(|block| block.block_hash());
        let outcome = chain.accept_batch(&blocks, now);
        self.received += outcome.accepted;
        let offence = match &outcome.error {
            None => None,
            Some(Rejected::Invalid(invalid)) => {
                warn!(peer = %self.peer, %invalid, "peer served an invalid block");
                Some(Some(Offence::InvalidBlock(invalid.rule.clone())))
            }
            // Blocks that connect to nothing we sent in the locator: not an answer.
            Some(Rejected::Orphan { .. }) => Some(Some(Offence::Garbage)),
            Some(error) => {
                debug!(peer = %self.peer, %error, "sync stopped");
                Some(None)
            }
        };
        if let Some(offence) = offence {
            return SyncProgress {
                outcome,
                step: SyncStep::Done { offence },
            };
        }
        self.last = last;
        self.rounds += 1;
        let step = if count < self.batch as usize || self.rounds >= MAX_SYNC_ROUNDS {
            SyncStep::Done {
                offence: self.check_claim(chain.store()),
            }
        } else {
            match self.request(chain.store()) {
                Ok(request) => SyncStep::Ask(request),
                Err(error) => {
                    warn!(%error, "cannot build the next sync request");
                    SyncStep::Done { offence: None }
                }
            }
        };
        SyncProgress { outcome, step }
    }

    /// At the end of a session: the peer gave everything it would; did it have the work it
    /// claimed?
    fn check_claim<S: ChainStore>(&self, store: &S) -> Option<Offence> {
        let tip = store.tip().ok()?;
        info!(peer = %self.peer, received = self.received, height = tip.height, "sync finished");
        if tip.work < self.claim.work {
            warn!(peer = %self.peer, claimed = self.claim.height,
                  "peer did not deliver the chain it claimed");
            return Some(Offence::FalseClaim);
        }
        None
    }
}
