//! The node: one loop that turns what peers send into chain changes, and chain changes into what
//! peers are told.
//!
//! Data flows one way. A block from gossip or sync is decoded, validated and placed by
//! [`ChainState`] (tip, side branch or reorganization) before it is forwarded: gossipsub holds
//! each message until the loop reports Accept (forward), Reject (drop, and the sender's gossip
//! score drops) or Ignore. Peers' tip claims only choose whom to download from. Whatever a peer
//! sends that breaks the protocol costs it points ([`crate::score`]) and eventually a ban.
//!
//! Sync runs in its own task, one peer at a time: ask with a locator, validate and store the
//! batch, ask again after the last block received, until the peer has nothing more. Mining runs
//! in its own task too ([`crate::mining`]); a new tip cancels its job at once.
//!
//! Every store call that writes (and so waits for an fsync) or reads many blocks runs on
//! tokio's blocking pool through `off_runtime`: the loop awaits it, but the worker thread is
//! free meanwhile, so the network task (and the HTTP API) never stall behind the disk. The
//! loop still handles one event at a time, which keeps blocks in the order they arrived.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ironchain_core::chain::unix_now;
use ironchain_core::{Block, BlockHash};
use ironchain_store::{OpenError, OpenOptions, Store, TipInfo, VerifyMode};
use libp2p::PeerId;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::forks::{Accepted, ChainState, Rejected};
use crate::net::{
    BadFrame, MessageId, NetworkEvent, NetworkHandle, PublishError, RequestError, Validation,
};
use crate::score::{Offence, Scores};
use crate::wire::{self, BlocksWriter, Request, Response, TipClaim};

/// What a repair at start found and did, shown by the API and logged again once the chain has
/// been re-downloaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepairInfo {
    /// The first bad block's height.
    pub bad_height: u64,
    /// Why it was bad.
    pub reason: String,
    /// Heights and hashes of the blocks dropped (as they were recorded).
    pub dropped: Vec<(u64, BlockHash)>,
    /// Dropped blocks whose records could not be trusted and were not returned to the pool.
    pub damaged_blocks: Vec<u64>,
    /// Whether the dropped heights have been replaced from peers yet.
    pub resynced: bool,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The chain could not be created or opened.
    #[error("cannot open the chain: {0}")]
    Store(String),
    /// The chain failed verification and could not be cut back to its good part.
    #[error("cannot repair the chain: {0}")]
    Repair(String),
    /// The node key or API cookie could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The network could not start.
    #[error(transparent)]
    Network(#[from] crate::net::SpawnError),
    /// The HTTP API could not bind its address.
    #[error("cannot start the HTTP API on {addr}: {source}")]
    Api {
        /// The address.
        addr: std::net::SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
}

/// Opens the chain in `dir` (creating it from `params` if there is none), verifying every block.
/// A chain that fails verification is cut back to its last good block, and what was dropped is
/// returned so it can be logged when peers have replaced it.
///
/// # Errors
/// [`StartError::Store`] or [`StartError::Repair`].
pub fn open_or_repair(
    dir: &Path,
    params: &ironchain_core::ChainParams,
) -> Result<(Store, Option<RepairInfo>), StartError> {
    let options = OpenOptions {
        expect_genesis: Some(params.genesis_hash()),
        ..OpenOptions::new(VerifyMode::Full)
    };
    let opened = match Store::open_with(dir, &options) {
        Ok(opened) => opened,
        Err(OpenError::NoChain { .. }) => {
            let store =
                Store::create(dir, params.clone()).map_err(|e| StartError::Store(e.to_string()))?;
            return Ok((store, None));
        }
        Err(error) => return Err(StartError::Store(error.to_string())),
    };
    let store = opened.store;
    let bad = match opened.verification {
        Ok(summary) => {
            info!(height = summary.height, tip = %summary.tip, "chain verified");
            return Ok((store, None));
        }
        Err(bad) => bad,
    };
    warn!(%bad, "the chain on disk failed verification: keeping the blocks before it and \
                 downloading the rest again from peers");
    let repair = |e: &dyn std::fmt::Display| StartError::Repair(e.to_string());
    let tip = store.tip().map_err(|e| repair(&e))?;
    let mut dropped = Vec::new();
    for height in bad.height.max(1)..=tip.height {
        if let Some(hash) = store.hash_at(height).map_err(|e| repair(&e))? {
            dropped.push((height, hash));
        }
    }
    let keep = bad.height.saturating_sub(1);
    let report = store.truncate_to(keep).map_err(|e| repair(&e))?;
    store
        .verify(VerifyMode::Full, unix_now())
        .map_err(|e| repair(&e))?;
    warn!(
        kept_up_to = keep,
        dropped = report.dropped,
        records_returned = report.returned_to_pool,
        damaged = ?report.damaged_blocks,
        "chain cut back to its good prefix"
    );
    Ok((
        store,
        Some(RepairInfo {
            bad_height: bad.height,
            reason: bad.to_string(),
            dropped,
            damaged_blocks: report.damaged_blocks,
            resynced: false,
        }),
    ))
}

/// Runs `work` on tokio's blocking pool and returns its result: for store calls that fsync or
/// read many blocks, which would otherwise hold a runtime worker thread (and every task queued
/// on it, the network's included) until the disk answers. A panic in `work` resumes here, as if
/// it had run inline.
///
/// # Panics
/// If `work` panics.
pub(crate) async fn off_runtime<T, F>(work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    match tokio::task::spawn_blocking(work).await {
        Ok(value) => value,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Nothing aborts these tasks; the runtime cancels them only while shutting down, and
        // then it drops the future awaiting them first.
        Err(error) => unreachable!("a blocking store call was cancelled: {error}"),
    }
}

/// State shared between the node loop, the miner and the HTTP API.
#[derive(Debug)]
pub struct Shared {
    /// The chain and its side branches.
    pub chain: Mutex<ChainState>,
    /// The store (also inside `chain`; reads need no lock).
    pub store: Arc<Store>,
    /// The network.
    pub net: NetworkHandle,
    /// The current tip; the miner watches it.
    pub tip: watch::Sender<TipInfo>,
    /// Woken when records are added to the pool.
    pub records_added: tokio::sync::Notify,
    /// Mining statistics.
    pub mining: crate::mining::MiningStats,
    /// The repair done at start, if any.
    pub repair: Mutex<Option<RepairInfo>>,
}

impl Shared {
    /// Locks the chain state. A panic while it was held (a bug) leaves the store consistent
    /// (every change is one transaction), so the lock is taken over rather than propagated.
    pub fn chain(&self) -> MutexGuard<'_, ChainState> {
        self.chain
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reads the store's tip and tells the miner if it moved.
    pub fn refresh_tip(&self) {
        if let Ok(tip) = self.store.tip() {
            self.tip.send_if_modified(|current| {
                let changed = *current != tip;
                *current = tip;
                changed
            });
        }
    }

    /// Adds records to the pool (durably, on the blocking pool) and gossips them.
    ///
    /// # Errors
    /// The pool's error; nothing was added.
    pub async fn add_records(
        &self,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<ironchain_store::RecordId>, ironchain_store::PoolError> {
        let store = self.store.clone();
        let (ids, records) = off_runtime(move || {
            let ids = store.add_records(&records);
            (ids, records)
        })
        .await;
        let ids = ids?;
        self.records_added.notify_waiters();
        for record in records {
            match self.net.publish_record(record).await {
                Ok(()) | Err(PublishError::NoPeers | PublishError::Duplicate) => {}
                Err(error) => debug!(%error, "record not gossiped"),
            }
        }
        Ok(ids)
    }
}

/// Messages from the node's helper tasks back to its loop.
#[derive(Debug)]
pub(crate) enum Internal {
    /// A peer answered (or failed to answer) a tip request.
    Tip(PeerId, Option<TipClaim>),
    /// A sync with a peer ended.
    SyncDone {
        peer: PeerId,
        offence: Option<Offence>,
    },
    /// The miner committed a block: announce it.
    Mined(Block),
}

/// The node loop's state.
pub(crate) struct NodeLoop {
    pub(crate) shared: Arc<Shared>,
    pub(crate) events: mpsc::Receiver<NetworkEvent>,
    pub(crate) internal_tx: mpsc::Sender<Internal>,
    pub(crate) internal_rx: mpsc::Receiver<Internal>,
    pub(crate) scores: Scores,
    pub(crate) claims: HashMap<PeerId, TipClaim>,
    pub(crate) syncing: Option<PeerId>,
    pub(crate) sync_batch: u32,
    pub(crate) ban_duration: Duration,
    pub(crate) tip_poll_interval: Duration,
    pub(crate) max_response: usize,
}

impl NodeLoop {
    /// Runs until `shutdown` resolves or the network stops.
    pub(crate) async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut poll = tokio::time::interval(self.tip_poll_interval);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                event = self.events.recv() => match event {
                    Some(event) => self.on_network(event).await,
                    None => break,
                },
                Some(message) = self.internal_rx.recv() => self.on_internal(message).await,
                _ = poll.tick() => self.poll_tips().await,
            }
        }
        info!("node loop stops");
    }

    async fn on_network(&mut self, event: NetworkEvent) {
        match event {
            NetworkEvent::GossipBlock {
                from,
                message_id,
                data,
            } => self.on_gossip_block(from, message_id, &data).await,
            NetworkEvent::GossipRecord {
                from,
                message_id,
                data,
            } => self.on_gossip_record(from, message_id, data).await,
            NetworkEvent::InboundRequest {
                peer,
                data,
                responder,
            } => match Request::decode(&data) {
                Ok(request) => {
                    // One answer at a time, each up to a response's worth of blocks read off
                    // the runtime: concurrent answers would multiply the memory a peer can
                    // make us hold by the streams it opens.
                    let store = self.shared.store.clone();
                    let max_response = self.max_response;
                    let answer = off_runtime(move || answer(&store, request, max_response)).await;
                    if let Some(answer) = answer
                        && let Err(error) = responder.respond(answer)
                    {
                        debug!(%peer, %error, "sync answer not sent");
                    }
                }
                Err(error) => {
                    debug!(%peer, %error, "malformed sync request");
                    self.punish(peer, Offence::Garbage).await;
                }
            },
            NetworkEvent::BadInboundRequest { peer, error } => {
                debug!(%peer, %error, "badly framed sync request");
                let offence = match error {
                    BadFrame::TooLarge { .. } => Offence::Oversized,
                    _ => Offence::Garbage,
                };
                self.punish(peer, offence).await;
            }
            NetworkEvent::PeerConnected(peer) => {
                info!(%peer, "peer connected");
                self.ask_tip(peer);
            }
            NetworkEvent::PeerDisconnected(peer) => {
                info!(%peer, "peer disconnected");
                self.claims.remove(&peer);
            }
            NetworkEvent::NewListenAddr(addr) => {
                info!(%addr, peer_id = %self.shared.net.local_peer_id(), "listening for peers");
            }
        }
    }

    async fn on_gossip_block(&mut self, from: PeerId, id: MessageId, data: &[u8]) {
        let store = &self.shared.store;
        let block = match Block::decode(data, store.params().max_block_size) {
            Ok(block) => block,
            Err(error) => {
                debug!(%from, %error, "undecodable gossip block");
                self.report(id, from, Validation::Reject).await;
                let offence = match error {
                    ironchain_core::block::DecodeError::TooLarge { .. } => Offence::Oversized,
                    _ => Offence::Garbage,
                };
                self.punish(from, offence).await;
                return;
            }
        };
        let hash = block.block_hash();
        let shared = self.shared.clone();
        let result = off_runtime(move || shared.chain().accept(block, unix_now())).await;
        match result {
            Ok(Accepted::Extended(tip)) => {
                info!(height = tip.height, %hash, %from, "new tip from gossip");
                self.report(id, from, Validation::Accept).await;
                self.shared.refresh_tip();
            }
            Ok(Accepted::Reorganized(report)) => {
                info!(height = report.tip.height, %hash, %from, "reorganized by a gossip block");
                self.report(id, from, Validation::Accept).await;
                self.shared.refresh_tip();
            }
            Ok(Accepted::SideBranch { height }) => {
                debug!(height, %hash, "gossip block on a side branch");
                self.report(id, from, Validation::Accept).await;
            }
            Ok(Accepted::Known) => self.report(id, from, Validation::Ignore).await,
            Err(Rejected::Invalid(invalid)) => {
                warn!(%from, %invalid, "invalid block from gossip");
                self.report(id, from, Validation::Reject).await;
                self.punish(from, Offence::InvalidBlock(invalid.rule)).await;
            }
            Err(Rejected::Orphan { parent }) => {
                debug!(%from, %parent, "gossip block with an unknown parent: asking for the tip");
                self.report(id, from, Validation::Ignore).await;
                self.ask_tip(from);
            }
            Err(error) => {
                debug!(%from, %error, "gossip block ignored");
                self.report(id, from, Validation::Ignore).await;
            }
        }
    }

    async fn on_gossip_record(&mut self, from: PeerId, id: MessageId, data: Vec<u8>) {
        let store = self.shared.store.clone();
        if data.len() > store.max_record_size() {
            self.report(id, from, Validation::Reject).await;
            self.punish(from, Offence::BadRecord).await;
            return;
        }
        match off_runtime(move || store.add_records(&[data])).await {
            Ok(_) => {
                self.shared.records_added.notify_waiters();
                self.report(id, from, Validation::Accept).await;
            }
            Err(error) => {
                debug!(%error, "gossip record not added");
                self.report(id, from, Validation::Ignore).await;
            }
        }
    }

    async fn on_internal(&mut self, message: Internal) {
        match message {
            Internal::Tip(peer, claim) => {
                let Some(claim) = claim else { return };
                self.claims.insert(peer, claim);
                self.maybe_sync();
            }
            Internal::SyncDone { peer, offence } => {
                self.syncing = None;
                self.shared.refresh_tip();
                self.log_repair();
                if let Some(offence) = offence {
                    self.claims.remove(&peer);
                    self.punish(peer, offence).await;
                } else if let Ok(tip) = self.shared.store.tip() {
                    // Its claim is now either met or stale: ask again rather than trust it.
                    if self.claims.get(&peer).is_some_and(|c| c.work > tip.work) {
                        self.claims.remove(&peer);
                        self.ask_tip(peer);
                    }
                }
                self.maybe_sync();
            }
            Internal::Mined(block) => {
                self.shared.refresh_tip();
                match self.shared.net.publish_block(block.encode()).await {
                    Ok(()) | Err(PublishError::NoPeers | PublishError::Duplicate) => {}
                    Err(error) => warn!(%error, "mined block not announced"),
                }
            }
        }
    }

    /// Starts a sync with the peer claiming the most work, if it claims more than we have and
    /// no sync is running.
    fn maybe_sync(&mut self) {
        if self.syncing.is_some() {
            return;
        }
        let Ok(tip) = self.shared.store.tip() else {
            return;
        };
        let best = self
            .claims
            .iter()
            .filter(|(_, claim)| claim.work > tip.work)
            .max_by_key(|(_, claim)| claim.work)
            .map(|(peer, claim)| (*peer, *claim));
        let Some((peer, claim)) = best else {
            return;
        };
        info!(%peer, height = claim.height, "peer claims more work: syncing from it");
        self.syncing = Some(peer);
        let task = SyncTask {
            shared: self.shared.clone(),
            peer,
            claim,
            batch: self.sync_batch,
        };
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let offence = task.run().await;
            let _ = done.send(Internal::SyncDone { peer, offence }).await;
        });
    }

    async fn poll_tips(&mut self) {
        if let Ok(peers) = self.shared.net.peers().await {
            for peer in peers {
                self.ask_tip(peer.peer_id);
            }
        }
    }

    fn ask_tip(&self, peer: PeerId) {
        let net = self.shared.net.clone();
        let done = self.internal_tx.clone();
        tokio::spawn(async move {
            let claim = match net.request(peer, Request::GetTip.encode()).await {
                Ok(bytes) => match Response::decode(&bytes, 0) {
                    Ok(Response::Tip(claim)) => Some(claim),
                    _ => None,
                },
                Err(error) => {
                    debug!(%peer, %error, "tip request failed");
                    None
                }
            };
            let _ = done.send(Internal::Tip(peer, claim)).await;
        });
    }

    async fn report(&self, id: MessageId, from: PeerId, verdict: Validation) {
        let _ = self.shared.net.report_gossip(id, from, verdict).await;
    }

    async fn punish(&mut self, peer: PeerId, offence: Offence) {
        let ban = self.scores.add(peer, &offence);
        warn!(%peer, ?offence, score = self.scores.get(&peer), ban, "peer misbehaved");
        if ban {
            self.claims.remove(&peer);
            let _ = self.shared.net.ban_for(peer, self.ban_duration).await;
        }
    }

    /// Once the heights a repair dropped are filled again, logs what replaced them.
    fn log_repair(&self) {
        let mut repair = self
            .shared
            .repair
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let Some(info) = repair.as_mut().filter(|info| !info.resynced) else {
            return;
        };
        let Ok(tip) = self.shared.store.tip() else {
            return;
        };
        let last = info.dropped.last().map_or(0, |(height, _)| *height);
        if tip.height < last {
            return;
        }
        for (height, old) in &info.dropped {
            let new = self.shared.store.hash_at(*height).ok().flatten();
            match new {
                Some(new) if new == *old => {
                    info!(height, hash = %new, "repair: block restored unchanged from peers")
                }
                Some(new) => info!(height, %old, %new, "repair: block replaced by the peers' one"),
                None => {}
            }
        }
        info!(
            bad_height = info.bad_height,
            "repair complete: the chain verifies and matches peers"
        );
        info.resynced = true;
    }
}

/// Answers a sync request from the best chain in `store`, in at most `max_response` bytes, or
/// returns `None` to close the stream unanswered (the store failed).
fn answer(store: &Store, request: Request, max_response: usize) -> Option<Vec<u8>> {
    match request {
        Request::GetTip => {
            let tip = store.tip().ok()?;
            Some(
                Response::Tip(TipClaim {
                    height: tip.height,
                    hash: tip.hash,
                    work: tip.work,
                })
                .encode(),
            )
        }
        Request::GetBlocks {
            locator,
            stop,
            limit,
        } => {
            // The first locator hash on our best chain is where the asker's chain and ours
            // part; with none, they share only genesis.
            let mut fork = 0;
            for hash in &locator {
                if let Ok(Some(height)) = store.height_of(hash) {
                    fork = height;
                    break;
                }
            }
            let tip = store.tip().ok()?;
            let mut out = BlocksWriter::new();
            let mut height = fork + 1;
            while height <= tip.height && out.count() < limit {
                let raw = store.raw_block_at(height).ok()??;
                if out.size_with(raw.len()) > max_response {
                    break;
                }
                out.push_encoded(&raw);
                if stop.is_some() && store.hash_at(height).ok()? == stop {
                    break;
                }
                height += 1;
            }
            Some(out.finish())
        }
    }
}

/// Downloads blocks from one peer until it has no more to give.
struct SyncTask {
    shared: Arc<Shared>,
    peer: PeerId,
    claim: TipClaim,
    batch: u32,
}

/// Most sync rounds with one peer before asking others (a peer feeding endless side blocks).
const MAX_SYNC_ROUNDS: usize = 10_000;

impl SyncTask {
    /// Returns the offence the peer committed, if any.
    async fn run(self) -> Option<Offence> {
        let store = self.shared.store.clone();
        let max_block_size = store.params().max_block_size;
        let mut last: Option<BlockHash> = None;
        let mut received = 0usize;
        for _ in 0..MAX_SYNC_ROUNDS {
            let mut locator: Vec<BlockHash> = last.into_iter().collect();
            locator.extend(store.locator().ok()?);
            locator.truncate(wire::MAX_LOCATOR);
            let request = Request::GetBlocks {
                locator,
                stop: None,
                limit: self.batch,
            };
            let bytes = match self.shared.net.request(self.peer, request.encode()).await {
                Ok(bytes) => bytes,
                Err(RequestError::Io(error)) if error.kind() == std::io::ErrorKind::InvalidData => {
                    return Some(Offence::Oversized);
                }
                Err(error) => {
                    debug!(peer = %self.peer, %error, "sync request failed");
                    return None;
                }
            };
            let blocks = match Response::decode(&bytes, max_block_size) {
                Ok(Response::Blocks(blocks)) => blocks,
                Ok(Response::Tip(_)) | Err(_) => return Some(Offence::Garbage),
            };
            if blocks.is_empty() {
                break;
            }
            let count = blocks.len();
            let last_hash = blocks.last().map(Block::block_hash);
            let shared = self.shared.clone();
            let outcome =
                off_runtime(move || shared.chain().accept_batch(&blocks, unix_now())).await;
            received += outcome.accepted;
            if outcome.tip_changed {
                self.shared.refresh_tip();
            }
            match outcome.error {
                None => {}
                Some(Rejected::Invalid(invalid)) => {
                    warn!(peer = %self.peer, %invalid, "peer served an invalid block");
                    return Some(Offence::InvalidBlock(invalid.rule));
                }
                // Blocks that connect to nothing we sent in the locator: not an answer.
                Some(Rejected::Orphan { .. }) => return Some(Offence::Garbage),
                Some(error) => {
                    debug!(peer = %self.peer, %error, "sync stopped");
                    return None;
                }
            }
            last = last_hash;
            if count < self.batch as usize {
                break;
            }
        }
        let tip = store.tip().ok()?;
        info!(peer = %self.peer, received, height = tip.height, "sync finished");
        if tip.work < self.claim.work {
            // It said it had more work than we now have, and gave us everything it would.
            warn!(peer = %self.peer, claimed = self.claim.height, "peer did not deliver the chain it claimed");
            return Some(Offence::FalseClaim);
        }
        None
    }
}
