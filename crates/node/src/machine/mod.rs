//! The node's decisions, as a state machine: events in, commands out, time passed in.
//!
//! Everything a node *decides* lives here: what to do with a block or record a peer gossips
//! (validate, store, forward, punish), with a sync request (answer it from the best chain) or
//! response (place its blocks, ask for more, or punish a peer that lied), with a peer coming or
//! going, with a mined block, and when a timer fires. Nothing here waits, sends, spawns, or reads
//! a clock: [`Machine::handle`] takes an [`Event`] and the time, changes the chain through its
//! [`ChainStore`], and returns [`Command`]s for whoever drives it.
//!
//! Two drivers run this same code. The libp2p node ([`crate::driver`]) turns network events into
//! [`Event`]s and commands into network calls, and mines on real threads. The simulator
//! ([`crate::sim`]) delivers messages between thousands of machines over simulated links, on a
//! simulated clock, so a run replays exactly from its seed. Fork choice ([`crate::forks`]),
//! validation (the core) and scoring ([`crate::score`]) are called from here, never copied.
//!
//! Peers are an opaque key `P` (libp2p's `PeerId`, or a simulated node's number); the machine
//! iterates peers in key order, so its commands never depend on a hash map's order.

mod mining;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};
use std::fmt::{Debug, Display};
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use ironchain_core::block::DecodeError;
use ironchain_core::{Block, BlockHash, Header, Target};
use ironchain_store::{ChainStore, TipInfo};
use tracing::{debug, info, warn};

use crate::clock::Time;
use crate::forks::{Accepted, ChainState, ForkLimits, Rejected};
use crate::score::{Offence, Scores};
use crate::startup::{self, RepairInfo};
use crate::sync::client::{ResponseError, SyncProgress, SyncSession, SyncStep};
use crate::sync::{BadFrame, Request, Response, TipClaim, WireError, server};

pub use mining::MiningPolicy;

/// What can serve as a peer's key: libp2p's `PeerId`, a simulated node's number.
pub trait PeerKey: Copy + Eq + Ord + Hash + Debug + Display + Send + 'static {}

impl<T: Copy + Eq + Ord + Hash + Debug + Display + Send + 'static> PeerKey for T {}

/// A gossip message's handle, given by the driver, under which the machine reports its verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GossipId(pub u64);

/// One of our requests to a peer, numbered by the machine; its response comes back under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// One of a peer's requests to us, numbered by the driver; our answer goes back under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InboundId(pub u64);

/// A mining job, numbered by the machine; a found block comes back under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// The machine's verdict on a gossip message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validation {
    /// Valid: forward it to our peers.
    Accept,
    /// Invalid (bad proof of work, a broken rule): drop it; its sender is penalised.
    Reject,
    /// Not invalid but not wanted (already known, an unknown parent): drop it, no penalty.
    Ignore,
}

/// What is gossiped: new blocks, and records waiting to be mined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gossip {
    /// A block.
    Block(Arc<Block>),
    /// A record.
    Record(Vec<u8>),
}

/// Why a peer's request could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRequest {
    /// The frame broke the sync protocol's framing (over the limit, or cut short).
    Frame(BadFrame),
    /// The frame held no message of the protocol.
    Message(WireError),
}

/// What happened, told to the machine.
#[derive(Debug)]
pub enum Event<P> {
    /// The first connection to a peer opened.
    PeerConnected {
        /// The peer.
        peer: P,
    },
    /// The last connection to a peer closed.
    PeerDisconnected {
        /// The peer.
        peer: P,
    },
    /// A peer gossiped a block (decoded by the driver; a decoding error is the peer's fault).
    GossipBlock {
        /// The peer that forwarded it.
        from: P,
        /// Its handle, for the verdict.
        id: GossipId,
        /// The block, or why its bytes are not one.
        block: Result<Arc<Block>, DecodeError>,
    },
    /// A peer gossiped a record.
    GossipRecord {
        /// The peer that forwarded it.
        from: P,
        /// Its handle, for the verdict.
        id: GossipId,
        /// The record.
        record: Vec<u8>,
    },
    /// A peer sent a sync request; answer with [`Command::Respond`] under `id`.
    Request {
        /// The peer.
        from: P,
        /// Its handle, for the answer.
        id: InboundId,
        /// The request, or why it could not be read.
        request: Result<Request, BadRequest>,
    },
    /// A response (or its failure) to one of our [`Command::Send`]s.
    Response {
        /// The peer asked.
        from: P,
        /// The request it answers.
        id: RequestId,
        /// The response, or why there is none.
        response: Result<Response, ResponseError>,
    },
    /// The miner found a header for a [`Command::Mine`] job.
    Mined {
        /// The job.
        job: JobId,
        /// The header, its nonce (and maybe time) set so that it meets the job's target.
        header: Header,
    },
    /// The miner gave a job up: every nonce at every allowed time failed.
    MineFailed {
        /// The job.
        job: JobId,
    },
    /// Records were added to the pool locally (the API, the CLI): gossip them, mine them.
    RecordsAdded {
        /// The records, as added.
        records: Vec<Vec<u8>>,
    },
    /// The store may have been changed behind the machine's back (a teaching tamper): verify it
    /// and repair from peers if a block is bad.
    Recheck,
    /// The time [`Machine::next_wakeup`] asked for has come.
    Tick,
}

/// What the machine wants done.
#[derive(Debug, Clone, PartialEq)]
pub enum Command<P> {
    /// Report a verdict on a gossip message: forward it (Accept) or drop it.
    Verdict {
        /// The message.
        id: GossipId,
        /// The verdict.
        verdict: Validation,
    },
    /// Gossip something of our own.
    Publish(Gossip),
    /// Send a sync request to a peer; its response comes back as [`Event::Response`] with `id`.
    Send {
        /// The peer.
        peer: P,
        /// The request's number.
        id: RequestId,
        /// The request.
        request: Request,
    },
    /// Answer a peer's request (`None`: close its stream unanswered).
    Respond {
        /// The request answered.
        id: InboundId,
        /// The answer.
        response: Option<Response>,
    },
    /// Disconnect a peer and refuse it for a while.
    Ban {
        /// The peer.
        peer: P,
        /// For how long.
        duration: Duration,
    },
    /// Search for a nonce meeting `target` (replaces any job in progress).
    Mine(MiningJob),
    /// Stop the job in progress, if any.
    StopMining,
    /// The best chain's tip moved.
    TipChanged(TipInfo),
    /// Something worth telling an observer (logs, metrics, the explorer, the simulator).
    Notice(Notice<P>),
}

/// A block to mine: search `header`'s nonce (and, when every nonce fails, its time, up to
/// `max_time`) until its hash meets `target`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiningJob {
    /// The job's number.
    pub id: JobId,
    /// The height the block will have.
    pub height: u64,
    /// The header to mine, nonce 0.
    pub header: Header,
    /// The target its hash must meet.
    pub target: Target,
    /// The latest time the header may take.
    pub max_time: u32,
}

/// Facts an observer may want: nothing depends on whether anyone listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice<P> {
    /// A block was accepted onto the best chain or a side branch.
    BlockAccepted {
        /// Its hash.
        hash: BlockHash,
        /// Its height.
        height: u64,
        /// The peer it came from (`None`: mined here).
        from: Option<P>,
    },
    /// The best chain switched branches.
    Reorganized {
        /// Blocks disconnected from the old best chain.
        depth: u64,
        /// The new tip.
        tip: TipInfo,
    },
    /// A block was refused, and why (a rule's code, or `orphan`, `too-deep`, `undecodable`).
    BlockRejected {
        /// The peer it came from.
        from: P,
        /// Why.
        reason: &'static str,
    },
    /// A peer reached the ban threshold.
    Banned {
        /// The peer.
        peer: P,
        /// Its last offence.
        offence: Offence,
    },
    /// A sync session ended.
    SyncFinished {
        /// The peer.
        peer: P,
        /// Blocks accepted from it.
        received: usize,
    },
    /// The store failed verification and was cut back to its good prefix.
    Repaired(RepairInfo),
    /// The blocks a repair dropped have been replaced from peers.
    RepairComplete {
        /// The first bad height the repair found.
        bad_height: u64,
    },
}

/// How a machine behaves; the defaults are the libp2p node's.
#[derive(Debug, Clone)]
pub struct MachineConfig {
    /// Blocks asked for per sync request.
    pub sync_batch: u32,
    /// How often every peer is asked for its tip, to notice a better chain without gossip.
    pub tip_poll_interval: Duration,
    /// How long a misbehaving peer stays banned.
    pub ban_duration: Duration,
    /// How deep and how many side blocks are kept.
    pub fork_limits: ForkLimits,
    /// The largest sync response sent, in bytes.
    pub max_response: usize,
    /// Mining, if this node mines.
    pub mining: Option<MiningPolicy>,
}

impl Default for MachineConfig {
    fn default() -> Self {
        Self {
            sync_batch: 2_000,
            tip_poll_interval: Duration::from_secs(10),
            // Bitcoin Core's default -bantime is 24 hours; an hour suits a small network.
            ban_duration: Duration::from_secs(3600),
            fork_limits: ForkLimits::default(),
            max_response: crate::sync::SyncLimits::default().max_response,
            mining: None,
        }
    }
}

/// What the machine knows of a connected peer.
#[derive(Debug, Clone, Default)]
struct PeerState {
    /// Its latest tip claim, until it is met or found stale.
    claim: Option<TipClaim>,
    /// A tip request to it is in flight.
    asking_tip: bool,
}

/// Why we sent a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Purpose {
    Tip,
    Sync,
}

/// What the machine shows about itself (the API's `/status`, the simulator's report).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Status {
    /// Side blocks kept in memory.
    pub side_blocks: usize,
    /// Connected peers.
    pub peers: usize,
    /// The peer a sync session runs with, as text.
    pub syncing_from: Option<String>,
    /// The last repair, if the store was ever cut back.
    pub repair: Option<RepairInfo>,
}

/// The node's decisions. See the module documentation.
#[derive(Debug)]
pub struct Machine<S, P> {
    config: MachineConfig,
    chain: ChainState<S>,
    scores: Scores<P>,
    peers: BTreeMap<P, PeerState>,
    requests: HashMap<RequestId, (P, Purpose)>,
    sync: Option<(SyncSession<P>, RequestId)>,
    next_id: u64,
    next_poll: Time,
    mining: mining::MiningState,
    repair: Option<RepairInfo>,
    /// The tip as last announced with [`Command::TipChanged`].
    tip: TipInfo,
    out: Vec<Command<P>>,
}

impl<S: ChainStore, P: PeerKey> Machine<S, P> {
    /// Wraps a store that has been opened (and, if it was damaged, cut back: `repair` says what
    /// was dropped, to be reported once peers have replaced it).
    ///
    /// # Errors
    /// The store's error if its tip cannot be read.
    pub fn new(
        store: S,
        config: MachineConfig,
        repair: Option<RepairInfo>,
        now: Time,
    ) -> Result<Self, ironchain_store::DbError> {
        let tip = store.tip()?;
        Ok(Self {
            chain: ChainState::new(store, config.fork_limits),
            mining: mining::MiningState::new(config.mining),
            config,
            scores: Scores::default(),
            peers: BTreeMap::new(),
            requests: HashMap::new(),
            sync: None,
            next_id: 0,
            next_poll: now,
            repair,
            tip,
            out: Vec::new(),
        })
    }

    /// Returns the store.
    pub fn store(&self) -> &S {
        self.chain.store()
    }

    /// Returns the tip as last announced.
    pub fn tip(&self) -> TipInfo {
        self.tip
    }

    /// Returns what the machine shows about itself.
    pub fn status(&self) -> Status {
        Status {
            side_blocks: self.chain.side_blocks(),
            peers: self.peers.len(),
            syncing_from: self.sync.as_ref().map(|(s, _)| s.peer.to_string()),
            repair: self.repair.clone(),
        }
    }

    /// Returns `peer`'s misbehaviour score at `now`.
    pub fn score(&self, peer: &P, now: Time) -> u32 {
        self.scores.get_at(peer, now)
    }

    /// Returns when the machine next needs an [`Event::Tick`].
    pub fn next_wakeup(&self) -> Time {
        match self.mining.wake {
            Some(wake) => wake.min(self.next_poll),
            None => self.next_poll,
        }
    }

    /// Returns the commands for the start: mining, if this node mines.
    pub fn start(&mut self, now: Time) -> Vec<Command<P>> {
        self.refresh_mining(now);
        std::mem::take(&mut self.out)
    }

    /// Handles one event at `now` and returns what to do, in order.
    pub fn handle(&mut self, event: Event<P>, now: Time) -> Vec<Command<P>> {
        match event {
            Event::PeerConnected { peer } => {
                self.peers.insert(peer, PeerState::default());
                self.ask_tip(peer);
            }
            Event::PeerDisconnected { peer } => self.on_disconnected(peer, now),
            Event::GossipBlock { from, id, block } => self.on_gossip_block(from, id, block, now),
            Event::GossipRecord { from, id, record } => {
                self.on_gossip_record(from, id, record, now)
            }
            Event::Request { from, id, request } => self.on_request(from, id, request, now),
            Event::Response { from, id, response } => self.on_response(from, id, response, now),
            Event::Mined { job, header } => self.on_mined(job, header, now),
            Event::MineFailed { job } => self.on_mine_failed(job, now),
            Event::RecordsAdded { records } => {
                for record in records {
                    self.out.push(Command::Publish(Gossip::Record(record)));
                }
                self.refresh_mining(now);
            }
            Event::Recheck => self.recheck(now),
            Event::Tick => self.on_tick(now),
        }
        std::mem::take(&mut self.out)
    }

    fn on_tick(&mut self, now: Time) {
        if now >= self.next_poll {
            self.next_poll = now.after(self.config.tip_poll_interval);
            let peers: Vec<P> = self.peers.keys().copied().collect();
            for peer in peers {
                self.ask_tip(peer);
            }
        }
        if self.mining.wake.is_some_and(|wake| now >= wake) {
            self.mining.wake = None;
            self.refresh_mining(now);
        }
    }

    fn on_disconnected(&mut self, peer: P, now: Time) {
        self.peers.remove(&peer);
        self.requests.retain(|_, (to, _)| *to != peer);
        if self.sync.as_ref().is_some_and(|(s, _)| s.peer == peer) {
            self.sync = None;
            self.maybe_sync(now);
        }
    }

    fn on_gossip_block(
        &mut self,
        from: P,
        id: GossipId,
        block: Result<Arc<Block>, DecodeError>,
        now: Time,
    ) {
        let block = match block {
            Ok(block) => block,
            Err(error) => {
                debug!(%from, %error, "undecodable gossip block");
                self.verdict(id, Validation::Reject);
                self.notice(Notice::BlockRejected {
                    from,
                    reason: "undecodable",
                });
                let offence = match error {
                    DecodeError::TooLarge { .. } => Offence::Oversized,
                    _ => Offence::Garbage,
                };
                self.punish(from, offence, now);
                return;
            }
        };
        let hash = block.block_hash();
        match self.chain.accept(block, now.unix_secs()) {
            Ok(Accepted::Extended(tip)) => {
                info!(height = tip.height, %hash, %from, "new tip from gossip");
                self.verdict(id, Validation::Accept);
                self.accepted(hash, tip.height, Some(from));
                self.tip_moved(now);
            }
            Ok(Accepted::Reorganized(report)) => {
                info!(height = report.tip.height, %hash, %from, "reorganized by a gossip block");
                self.verdict(id, Validation::Accept);
                self.accepted(hash, report.tip.height, Some(from));
                self.notice(Notice::Reorganized {
                    depth: report.disconnected,
                    tip: report.tip,
                });
                self.tip_moved(now);
            }
            Ok(Accepted::SideBranch { height }) => {
                debug!(height, %hash, "gossip block on a side branch");
                self.verdict(id, Validation::Accept);
                self.accepted(hash, height, Some(from));
            }
            Ok(Accepted::Known) => self.verdict(id, Validation::Ignore),
            Err(Rejected::Invalid(invalid)) => {
                warn!(%from, %invalid, "invalid block from gossip");
                self.verdict(id, Validation::Reject);
                self.notice(Notice::BlockRejected {
                    from,
                    reason: invalid.rule.code(),
                });
                self.punish(from, Offence::InvalidBlock(invalid.rule), now);
            }
            Err(Rejected::Orphan { parent }) => {
                debug!(%from, %parent, "gossip block with an unknown parent: asking for the tip");
                self.verdict(id, Validation::Ignore);
                self.notice(Notice::BlockRejected {
                    from,
                    reason: "orphan",
                });
                self.ask_tip(from);
            }
            Err(error) => {
                debug!(%from, %error, "gossip block ignored");
                self.verdict(id, Validation::Ignore);
                self.notice(Notice::BlockRejected {
                    from,
                    reason: "not-kept",
                });
            }
        }
    }

    fn on_gossip_record(&mut self, from: P, id: GossipId, record: Vec<u8>, now: Time) {
        let store = self.chain.store();
        if record.len() > store.max_record_size() {
            self.verdict(id, Validation::Reject);
            self.punish(from, Offence::BadRecord, now);
            return;
        }
        match store.add_records(&[record]) {
            Ok(_) => {
                self.verdict(id, Validation::Accept);
                self.refresh_mining(now);
            }
            Err(error) => {
                debug!(%error, "gossip record not added");
                self.verdict(id, Validation::Ignore);
            }
        }
    }

    fn on_request(
        &mut self,
        from: P,
        id: InboundId,
        request: Result<Request, BadRequest>,
        now: Time,
    ) {
        let request = match request {
            Ok(request) => request,
            Err(bad) => {
                debug!(%from, ?bad, "bad sync request");
                self.out.push(Command::Respond { id, response: None });
                let offence = match bad {
                    BadRequest::Frame(BadFrame::TooLarge { .. }) => Offence::Oversized,
                    _ => Offence::Garbage,
                };
                self.punish(from, offence, now);
                return;
            }
        };
        let response = match server::answer(self.chain.store(), &request, self.config.max_response)
        {
            Ok(response) => Some(response),
            Err(error) => {
                warn!(%error, "cannot answer a sync request");
                None
            }
        };
        self.out.push(Command::Respond { id, response });
    }

    fn on_response(
        &mut self,
        from: P,
        id: RequestId,
        response: Result<Response, ResponseError>,
        now: Time,
    ) {
        let Some((peer, purpose)) = self.requests.remove(&id) else {
            // Its peer disconnected, or the session it belonged to ended.
            return;
        };
        debug_assert_eq!(peer, from, "a response comes from the peer asked");
        match purpose {
            Purpose::Tip => {
                if let Some(state) = self.peers.get_mut(&peer) {
                    state.asking_tip = false;
                }
                match response {
                    Ok(Response::Tip(claim)) => {
                        if let Some(state) = self.peers.get_mut(&peer) {
                            state.claim = Some(claim);
                        }
                        self.maybe_sync(now);
                    }
                    Ok(Response::Blocks(_)) | Err(ResponseError::Malformed(_)) => {
                        self.punish(peer, Offence::Garbage, now);
                    }
                    Err(error) => debug!(%peer, %error, "tip request failed"),
                }
            }
            Purpose::Sync => self.on_sync_response(peer, id, response, now),
        }
    }

    fn on_sync_response(
        &mut self,
        peer: P,
        id: RequestId,
        response: Result<Response, ResponseError>,
        now: Time,
    ) {
        let Some((mut session, expected)) = self.sync.take() else {
            return;
        };
        if expected != id {
            self.sync = Some((session, expected));
            return;
        }
        let SyncProgress { outcome, step } =
            session.on_response(&mut self.chain, response, now.unix_secs());
        for &(hash, height) in &outcome.placed {
            self.accepted(hash, height, Some(peer));
        }
        for report in &outcome.reorgs {
            self.notice(Notice::Reorganized {
                depth: report.disconnected,
                tip: report.tip,
            });
        }
        if outcome.tip_changed {
            self.tip_moved(now);
        }
        match step {
            SyncStep::Ask(request) => {
                let id = self.send(peer, Purpose::Sync, request);
                self.sync = Some((session, id));
            }
            SyncStep::Done { offence } => {
                self.notice(Notice::SyncFinished {
                    peer,
                    received: session.received(),
                });
                self.sync_done(session, offence, now);
            }
        }
    }

    fn sync_done(&mut self, session: SyncSession<P>, offence: Option<Offence>, now: Time) {
        let peer = session.peer;
        if let Some(offence) = offence {
            if let Some(state) = self.peers.get_mut(&peer) {
                state.claim = None;
            }
            self.punish(peer, offence, now);
        } else if session.claim.work > self.tip.work {
            // Its claim is unmet (it had less to give, or the download was cut short): ask
            // again rather than trust it.
            if let Some(state) = self.peers.get_mut(&peer) {
                state.claim = None;
            }
            self.ask_tip(peer);
        }
        self.maybe_sync(now);
    }

    /// Starts a sync with the peer claiming the most work, if it claims more than we have and no
    /// sync is running.
    fn maybe_sync(&mut self, _now: Time) {
        if self.sync.is_some() {
            return;
        }
        let tip_work = self.tip.work;
        let best = self
            .peers
            .iter()
            .filter_map(|(peer, state)| state.claim.map(|claim| (*peer, claim)))
            .filter(|(_, claim)| claim.work > tip_work)
            .max_by_key(|(_, claim)| claim.work);
        let Some((peer, claim)) = best else {
            return;
        };
        info!(%peer, height = claim.height, "peer claims more work: syncing from it");
        let session = SyncSession::new(peer, claim, self.config.sync_batch);
        match session.request(self.chain.store()) {
            Ok(request) => {
                let id = self.send(peer, Purpose::Sync, request);
                self.sync = Some((session, id));
            }
            Err(error) => warn!(%error, "cannot build a sync request"),
        }
    }

    fn ask_tip(&mut self, peer: P) {
        match self.peers.get_mut(&peer) {
            Some(state) if !state.asking_tip => state.asking_tip = true,
            _ => return,
        }
        self.send(peer, Purpose::Tip, Request::GetTip);
    }

    fn send(&mut self, peer: P, purpose: Purpose, request: Request) -> RequestId {
        let id = RequestId(self.next_id);
        self.next_id += 1;
        self.requests.insert(id, (peer, purpose));
        self.out.push(Command::Send { peer, id, request });
        id
    }

    fn verdict(&mut self, id: GossipId, verdict: Validation) {
        self.out.push(Command::Verdict { id, verdict });
    }

    fn notice(&mut self, notice: Notice<P>) {
        self.out.push(Command::Notice(notice));
    }

    fn accepted(&mut self, hash: BlockHash, height: u64, from: Option<P>) {
        self.notice(Notice::BlockAccepted { hash, height, from });
    }

    fn punish(&mut self, peer: P, offence: Offence, now: Time) {
        let ban = self.scores.add_at(peer, &offence, now);
        warn!(%peer, ?offence, score = self.scores.get_at(&peer, now), ban, "peer misbehaved");
        if ban {
            if let Some(state) = self.peers.get_mut(&peer) {
                state.claim = None;
            }
            self.out.push(Command::Ban {
                peer,
                duration: self.config.ban_duration,
            });
            self.notice(Notice::Banned { peer, offence });
        }
    }

    /// Reads the store's tip; if it moved, says so, restarts mining, and checks whether a
    /// repair has been made good.
    fn tip_moved(&mut self, now: Time) {
        let Ok(tip) = self.chain.store().tip() else {
            return;
        };
        if tip == self.tip {
            return;
        }
        self.tip = tip;
        self.out.push(Command::TipChanged(tip));
        if let Some(repair) = self.repair.as_mut()
            && repair.check_resynced(self.chain.store())
        {
            let bad_height = repair.bad_height;
            self.notice(Notice::RepairComplete { bad_height });
        }
        self.refresh_mining(now);
    }

    /// Verifies the store; a bad block is cut away and the rest fetched again from peers.
    fn recheck(&mut self, now: Time) {
        match startup::check_and_repair(self.chain.store(), now.unix_secs()) {
            Ok(None) => debug!("the chain verifies"),
            Ok(Some(repair)) => {
                // The side branches were checked against blocks that may be gone.
                self.chain.clear_side_branches();
                self.repair = Some(repair.clone());
                self.notice(Notice::Repaired(repair));
                self.tip_moved(now);
                let peers: Vec<P> = self.peers.keys().copied().collect();
                for peer in peers {
                    self.ask_tip(peer);
                }
            }
            Err(error) => warn!(%error, "cannot verify or repair the chain"),
        }
    }
}
