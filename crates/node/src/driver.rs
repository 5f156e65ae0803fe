//! The libp2p node: the [`Machine`] driven by the network, a mining worker and the system clock.
//!
//! This is a thin translator. Network events become [`Event`]s (decoding blocks and sync
//! messages on the way: a decoding error is an event too, for the machine to punish), and the
//! machine's [`Command`]s become network calls, mining jobs and updates to the state the API
//! reads. Every decision is the machine's.
//!
//! The machine is synchronous and its store calls wait for fsyncs, so each event is handled on
//! tokio's blocking pool (`off_runtime`): the loop awaits it while the runtime's workers keep
//! the network and the HTTP API going. Events are handled one at a time, in the order they
//! arrived. Requests to peers run as tasks of their own, each reporting its response as an event.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use ironchain_core::Block;
use ironchain_store::{PoolError, RecordId, Store, TipInfo};
use libp2p::PeerId;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::clock::Time;
use crate::machine::{
    BadRequest, Command, Event, Gossip, GossipId, InboundId, Machine, Notice, Status,
};
use crate::mining::{Miner, MiningStats};
use crate::net::{MessageId, NetworkEvent, NetworkHandle, PublishError, RequestError, Responder};
use crate::sync::client::ResponseError;
use crate::sync::{Request, Response};

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

/// What the API and tests ask the node loop to do.
#[derive(Debug)]
pub(crate) enum Local {
    /// Records were added to the pool: gossip and mine them.
    RecordsAdded(Vec<Vec<u8>>),
}

/// State shared between the node loop and the HTTP API.
#[derive(Debug)]
pub struct Shared {
    /// The store (reads need no coordination with the loop).
    pub store: Arc<Store>,
    /// The network.
    pub net: NetworkHandle,
    /// The current tip.
    pub tip: watch::Sender<TipInfo>,
    /// Mining statistics.
    pub mining: Arc<MiningStats>,
    status: Mutex<Status>,
    local: mpsc::Sender<Local>,
}

impl Shared {
    /// Returns what the machine last showed about itself.
    pub fn status(&self) -> Status {
        self.lock_status().clone()
    }

    fn lock_status(&self) -> MutexGuard<'_, Status> {
        self.status
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds records to the pool (durably, on the blocking pool), then has the node gossip and
    /// mine them.
    ///
    /// # Errors
    /// The pool's error; nothing was added.
    pub async fn add_records(&self, records: Vec<Vec<u8>>) -> Result<Vec<RecordId>, PoolError> {
        let store = self.store.clone();
        let (ids, records) = off_runtime(move || {
            let ids = store.add_records(&records);
            (ids, records)
        })
        .await;
        let ids = ids?;
        // The node may be stopping; the records are durable all the same.
        let _ = self.local.send(Local::RecordsAdded(records)).await;
        Ok(ids)
    }
}

/// The node loop's state.
pub(crate) struct NodeLoop {
    machine: Option<Machine<Arc<Store>, PeerId>>,
    shared: Arc<Shared>,
    events: mpsc::Receiver<NetworkEvent>,
    local: mpsc::Receiver<Local>,
    /// Responses and mined blocks, from the tasks that waited for them.
    internal_tx: mpsc::Sender<Event<PeerId>>,
    internal_rx: mpsc::Receiver<Event<PeerId>>,
    miner: Option<Miner>,
    gossip: HashMap<GossipId, (MessageId, PeerId)>,
    responders: HashMap<InboundId, Responder>,
    next_handle: u64,
}

/// What [`NodeLoop::new`] needs.
pub(crate) struct Parts {
    pub(crate) machine: Machine<Arc<Store>, PeerId>,
    pub(crate) net: NetworkHandle,
    pub(crate) events: mpsc::Receiver<NetworkEvent>,
    pub(crate) mining_threads: Option<usize>,
}

impl NodeLoop {
    /// Builds the loop and the state it shares with the API.
    pub(crate) fn new(parts: Parts) -> (Self, Arc<Shared>) {
        let (local_tx, local_rx) = mpsc::channel(256);
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let mining = Arc::new(MiningStats::default());
        let shared = Arc::new(Shared {
            store: parts.machine.store().clone(),
            net: parts.net,
            tip: watch::Sender::new(parts.machine.tip()),
            mining: mining.clone(),
            status: Mutex::new(parts.machine.status()),
            local: local_tx,
        });
        let miner = parts
            .mining_threads
            .map(|threads| Miner::new(threads, internal_tx.clone(), mining));
        let node_loop = Self {
            machine: Some(parts.machine),
            shared: shared.clone(),
            events: parts.events,
            local: local_rx,
            internal_tx,
            internal_rx,
            miner,
            gossip: HashMap::new(),
            responders: HashMap::new(),
            next_handle: 0,
        };
        (node_loop, shared)
    }

    /// Runs until `shutdown` resolves or the network stops.
    pub(crate) async fn run(mut self, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let start = match self.machine.as_mut() {
            Some(machine) => machine.start(Time::now()),
            None => Vec::new(),
        };
        self.execute(start).await;
        loop {
            let wakeup = self.wakeup();
            tokio::select! {
                () = &mut shutdown => break,
                event = self.events.recv() => match event {
                    Some(event) => {
                        if let Some(event) = self.translate(event) {
                            self.handle(event).await;
                        }
                    }
                    None => break,
                },
                Some(local) = self.local.recv() => match local {
                    Local::RecordsAdded(records) => {
                        self.handle(Event::RecordsAdded { records }).await;
                    }
                },
                Some(event) = self.internal_rx.recv() => self.handle(event).await,
                () = tokio::time::sleep(wakeup) => self.handle(Event::Tick).await,
            }
        }
        if let Some(miner) = self.miner.as_mut() {
            miner.stop();
        }
        info!("node loop stops");
    }

    /// How long until the machine wants a tick.
    fn wakeup(&self) -> std::time::Duration {
        self.machine
            .as_ref()
            .map_or(std::time::Duration::from_secs(1), |machine| {
                machine.next_wakeup().since(Time::now())
            })
    }

    fn handle_id(&mut self) -> u64 {
        self.next_handle += 1;
        self.next_handle
    }

    /// Turns a network event into the machine's, keeping the handles to answer it under.
    fn translate(&mut self, event: NetworkEvent) -> Option<Event<PeerId>> {
        let max_block_size = self.shared.store.params().max_block_size;
        Some(match event {
            NetworkEvent::GossipBlock {
                from,
                message_id,
                data,
            } => {
                let id = GossipId(self.handle_id());
                self.gossip.insert(id, (message_id, from));
                let block = Block::decode(&data, max_block_size).map(Arc::new);
                Event::GossipBlock { from, id, block }
            }
            NetworkEvent::GossipRecord {
                from,
                message_id,
                data,
            } => {
                let id = GossipId(self.handle_id());
                self.gossip.insert(id, (message_id, from));
                Event::GossipRecord {
                    from,
                    id,
                    record: data,
                }
            }
            NetworkEvent::InboundRequest {
                peer,
                data,
                responder,
            } => {
                let id = InboundId(self.handle_id());
                self.responders.insert(id, responder);
                Event::Request {
                    from: peer,
                    id,
                    request: Request::decode(&data).map_err(BadRequest::Message),
                }
            }
            NetworkEvent::BadInboundRequest { peer, error } => Event::Request {
                from: peer,
                // The network layer has already closed the stream: nothing to answer.
                id: InboundId(self.handle_id()),
                request: Err(BadRequest::Frame(error)),
            },
            NetworkEvent::PeerConnected(peer) => {
                info!(%peer, "peer connected");
                Event::PeerConnected { peer }
            }
            NetworkEvent::PeerDisconnected(peer) => {
                info!(%peer, "peer disconnected");
                Event::PeerDisconnected { peer }
            }
            NetworkEvent::NewListenAddr(addr) => {
                info!(%addr, peer_id = %self.shared.net.local_peer_id(), "listening for peers");
                return None;
            }
        })
    }

    /// Hands one event to the machine, off the runtime, and carries out its commands.
    async fn handle(&mut self, event: Event<PeerId>) {
        let Some(mut machine) = self.machine.take() else {
            return;
        };
        let (machine, commands) = off_runtime(move || {
            let commands = machine.handle(event, Time::now());
            (machine, commands)
        })
        .await;
        *self.shared.lock_status() = machine.status();
        self.machine = Some(machine);
        self.execute(commands).await;
    }

    async fn execute(&mut self, commands: Vec<Command<PeerId>>) {
        for command in commands {
            match command {
                Command::Verdict { id, verdict } => {
                    if let Some((message_id, from)) = self.gossip.remove(&id) {
                        let _ = self
                            .shared
                            .net
                            .report_gossip(message_id, from, verdict)
                            .await;
                    }
                }
                Command::Publish(gossip) => {
                    let (result, what) = match gossip {
                        Gossip::Block(block) => {
                            (self.shared.net.publish_block(block.encode()).await, "block")
                        }
                        Gossip::Record(record) => {
                            (self.shared.net.publish_record(record).await, "record")
                        }
                    };
                    match result {
                        Ok(()) | Err(PublishError::NoPeers | PublishError::Duplicate) => {}
                        Err(error) => warn!(%error, what, "not gossiped"),
                    }
                }
                Command::Send { peer, id, request } => {
                    let (net, done) = (self.shared.net.clone(), self.internal_tx.clone());
                    let max_block_size = self.shared.store.params().max_block_size;
                    tokio::spawn(async move {
                        let response = match net.request(peer, request.encode()).await {
                            Ok(bytes) => Response::decode(&bytes, max_block_size)
                                .map_err(ResponseError::Malformed),
                            Err(RequestError::Io(error))
                                if error.kind() == std::io::ErrorKind::InvalidData =>
                            {
                                Err(ResponseError::TooLarge)
                            }
                            Err(error) => Err(ResponseError::Failed(error.to_string())),
                        };
                        let _ = done
                            .send(Event::Response {
                                from: peer,
                                id,
                                response,
                            })
                            .await;
                    });
                }
                Command::Respond { id, response } => {
                    let Some(responder) = self.responders.remove(&id) else {
                        continue;
                    };
                    // Dropping the responder unanswered closes the peer's stream.
                    if let Some(response) = response
                        && let Err(error) = responder.respond(response.encode())
                    {
                        debug!(%error, "sync answer not sent");
                    }
                }
                Command::Ban { peer, duration } => {
                    let _ = self.shared.net.ban_for(peer, duration).await;
                }
                Command::Mine(job) => {
                    if let Some(miner) = self.miner.as_mut() {
                        miner.start(job);
                    }
                }
                Command::StopMining => {
                    if let Some(miner) = self.miner.as_mut() {
                        miner.stop();
                    }
                }
                Command::TipChanged(tip) => {
                    self.shared.tip.send_replace(tip);
                }
                Command::Notice(notice) => self.observe(notice),
            }
        }
    }

    fn observe(&self, notice: Notice<PeerId>) {
        match notice {
            Notice::BlockAccepted { from: None, .. } => {
                self.shared.mining.blocks.fetch_add(1, Ordering::Relaxed);
            }
            Notice::Repaired(repair) => {
                warn!(
                    bad_height = repair.bad_height,
                    reason = repair.reason,
                    dropped = repair.dropped.len(),
                    "repairing the chain from peers"
                );
            }
            Notice::Banned { peer, offence } => info!(%peer, ?offence, "peer banned"),
            _ => {}
        }
    }
}
