//! The network task and the handle the node drives it with.
//!
//! A libp2p `Swarm` must be polled continuously and mutated from one place, so it lives in its
//! own tokio task ([`spawn`]). The node talks to it through two channels:
//!
//! - [`NetworkHandle`] (cheap to clone) sends commands; each that has an answer carries a
//!   oneshot sender, so `handle.request(peer, bytes).await` reads like a function call.
//! - [`NetworkEvent`]s come back on an `mpsc::Receiver`: gossip to validate, requests to
//!   answer, peers coming and going.
//!
//! The task itself is in `driver.rs`. It stops when every handle is dropped. It never blocks
//! on the node: if the event channel is full, gossip is dropped (and reported `Ignore`, so it is
//! neither forwarded nor held) and requests are refused. Blocking instead would stall every
//! connection behind one slow consumer; a real node sizes the channel for its validation
//! throughput.

use std::time::Duration;

use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::{Multiaddr, PeerId, noise, tcp, yamux};
use tokio::sync::{mpsc, oneshot};
use tracing::info;

use crate::machine::Validation;
use crate::net::behaviour::{Behaviour, Topic, Topics};
use crate::net::config::NetworkConfig;
use crate::net::driver::{Driver, error_chain};
use crate::net::error::{DialError, PublishError, RequestError, RespondError, SpawnError, Stopped};
use crate::sync::frame::BadFrame;

/// Commands queued between the handle and the task. A real node may want this configurable.
const COMMAND_CHANNEL_CAPACITY: usize = 256;
/// Events queued between the task and the node before gossip starts being dropped.
const EVENT_CHANNEL_CAPACITY: usize = 1024;

/// The node's verdict, as gossipsub takes it.
impl From<Validation> for MessageAcceptance {
    fn from(v: Validation) -> Self {
        match v {
            Validation::Accept => MessageAcceptance::Accept,
            Validation::Reject => MessageAcceptance::Reject,
            Validation::Ignore => MessageAcceptance::Ignore,
        }
    }
}

/// What the network tells the node.
#[derive(Debug)]
#[non_exhaustive]
pub enum NetworkEvent {
    /// A block arrived on the blocks topic. It is not forwarded until the node reports a
    /// [`Validation`] for `message_id` and `from`.
    GossipBlock {
        /// The peer that forwarded it to us (not necessarily its author).
        from: PeerId,
        /// Id to report the verdict under.
        message_id: MessageId,
        /// The block, as published.
        data: Vec<u8>,
    },
    /// A record arrived on the records topic; same rules as `GossipBlock`.
    GossipRecord {
        /// The peer that forwarded it to us.
        from: PeerId,
        /// Id to report the verdict under.
        message_id: MessageId,
        /// The record, as published.
        data: Vec<u8>,
    },
    /// A peer sent a sync request; answer through `responder`.
    InboundRequest {
        /// The requesting peer.
        peer: PeerId,
        /// The request bytes, at most the configured request limit.
        data: Vec<u8>,
        /// Where the answer goes. Dropping it closes the peer's stream with no answer.
        responder: Responder,
    },
    /// The first connection to a peer opened.
    PeerConnected(PeerId),
    /// The last connection to a peer closed.
    PeerDisconnected(PeerId),
    /// We listen on a new address.
    NewListenAddr(Multiaddr),
    /// A peer broke the sync protocol's framing: a request over our size limit, or a stream
    /// that ended inside its frame. Its stream has been closed unanswered; the node decides
    /// what it costs the peer.
    BadInboundRequest {
        /// The peer that sent it.
        peer: PeerId,
        /// What was wrong with it.
        error: BadFrame,
    },
}

/// The way back for one inbound sync request.
#[derive(Debug)]
pub struct Responder {
    reply: oneshot::Sender<Vec<u8>>,
    max_response: usize,
}

impl Responder {
    pub(crate) fn new(reply: oneshot::Sender<Vec<u8>>, max_response: usize) -> Self {
        Responder {
            reply,
            max_response,
        }
    }

    /// Sends `data` as the response.
    ///
    /// # Errors
    ///
    /// [`RespondError::TooLarge`] if `data` exceeds the response limit (nothing is sent, the
    /// peer sees its stream closed); [`RespondError::Gone`] if the request timed out or the
    /// network stopped.
    pub fn respond(self, data: Vec<u8>) -> Result<(), RespondError> {
        if data.len() > self.max_response {
            return Err(RespondError::TooLarge {
                size: data.len(),
                max: self.max_response,
            });
        }
        self.reply.send(data).map_err(|_| RespondError::Gone)
    }
}

/// What we know about a connected peer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PeerInfo {
    /// The peer.
    pub peer_id: PeerId,
    /// Its address on our connection (for an inbound connection, its ephemeral port).
    pub address: Multiaddr,
    /// Whether we dialled it.
    pub outbound: bool,
    /// The agent version it announced through identify, once known.
    pub agent_version: Option<String>,
    /// Latest ping round trip.
    pub rtt: Option<Duration>,
    /// Its gossipsub score: negative after invalid messages.
    pub gossip_score: Option<f64>,
}

pub(crate) enum Command {
    Dial {
        addr: Multiaddr,
        reply: oneshot::Sender<Result<PeerId, DialError>>,
    },
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), PublishError>>,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, RequestError>>,
    },
    ReportGossip {
        message_id: MessageId,
        source: PeerId,
        verdict: Validation,
    },
    Ban {
        peer: PeerId,
        duration: Option<Duration>,
    },
    Peers {
        reply: oneshot::Sender<Vec<PeerInfo>>,
    },
    ListenAddrs {
        reply: oneshot::Sender<Vec<Multiaddr>>,
    },
    MeshPeers {
        topic: Topic,
        reply: oneshot::Sender<Vec<PeerId>>,
    },
}

/// Commands to the network task. Clones share the task; it stops when the last one drops.
#[derive(Debug, Clone)]
pub struct NetworkHandle {
    commands: mpsc::Sender<Command>,
    local_peer_id: PeerId,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Payloads can be megabytes: show sizes, not bytes.
        match self {
            Command::Dial { addr, .. } => write!(f, "Dial({addr})"),
            Command::Publish { topic, data, .. } => {
                write!(f, "Publish({topic:?}, {}B)", data.len())
            }
            Command::Request { peer, data, .. } => write!(f, "Request({peer}, {}B)", data.len()),
            Command::ReportGossip {
                message_id,
                verdict,
                ..
            } => {
                write!(f, "ReportGossip({message_id}, {verdict:?})")
            }
            Command::Ban { peer, duration } => write!(f, "Ban({peer}, {duration:?})"),
            Command::Peers { .. } => f.write_str("Peers"),
            Command::ListenAddrs { .. } => f.write_str("ListenAddrs"),
            Command::MeshPeers { topic, .. } => write!(f, "MeshPeers({topic:?})"),
        }
    }
}

impl NetworkHandle {
    /// Returns this node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// Connects to `addr` and returns the peer id found there.
    ///
    /// # Errors
    ///
    /// [`DialError::Failed`] if the connection could not be made or was refused (including a
    /// banned peer and a peer we are already connected to).
    pub async fn dial(&self, addr: Multiaddr) -> Result<PeerId, DialError> {
        self.ask(|reply| Command::Dial { addr, reply })
            .await
            .map_err(|_| DialError::Stopped)?
    }

    /// Publishes a block to the blocks topic.
    ///
    /// # Errors
    ///
    /// See [`PublishError`]; `NoPeers` is expected while the node is alone.
    pub async fn publish_block(&self, data: Vec<u8>) -> Result<(), PublishError> {
        self.publish(Topic::Blocks, data).await
    }

    /// Publishes a record to the records topic.
    ///
    /// # Errors
    ///
    /// See [`PublishError`].
    pub async fn publish_record(&self, data: Vec<u8>) -> Result<(), PublishError> {
        self.publish(Topic::Records, data).await
    }

    async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), PublishError> {
        self.ask(|reply| Command::Publish { topic, data, reply })
            .await
            .map_err(|_| PublishError::Stopped)?
    }

    /// Sends a sync request to `peer` and waits for its response.
    ///
    /// # Errors
    ///
    /// See [`RequestError`]. The request timeout of the configuration bounds the wait.
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, RequestError> {
        self.ask(|reply| Command::Request { peer, data, reply })
            .await
            .map_err(|_| RequestError::Stopped)?
    }

    /// Reports the node's verdict on a gossip message received from `source`.
    ///
    /// Must be called once for every `GossipBlock` and `GossipRecord`; a message never reported
    /// is never forwarded and is forgotten after gossipsub's cache window (a few heartbeats).
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn report_gossip(
        &self,
        message_id: MessageId,
        source: PeerId,
        verdict: Validation,
    ) -> Result<(), Stopped> {
        self.send(Command::ReportGossip {
            message_id,
            source,
            verdict,
        })
        .await
    }

    /// Bans `peer`: closes its connections and refuses new ones, both ways, until restart.
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn ban(&self, peer: PeerId) -> Result<(), Stopped> {
        self.send(Command::Ban {
            peer,
            duration: None,
        })
        .await
    }

    /// Bans `peer` as [`NetworkHandle::ban`] does, then lifts the ban after `duration`: a peer
    /// that misbehaved may have been misconfigured or upgraded since, and a permanent ban of
    /// every peer that ever erred would slowly partition the network.
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn ban_for(&self, peer: PeerId, duration: Duration) -> Result<(), Stopped> {
        self.send(Command::Ban {
            peer,
            duration: Some(duration),
        })
        .await
    }

    /// Returns the connected peers.
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn peers(&self) -> Result<Vec<PeerInfo>, Stopped> {
        self.ask(|reply| Command::Peers { reply }).await
    }

    /// Returns the addresses we listen on (empty until the listener is up).
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn listen_addrs(&self) -> Result<Vec<Multiaddr>, Stopped> {
        self.ask(|reply| Command::ListenAddrs { reply }).await
    }

    /// Returns our gossipsub mesh peers for `topic`: the peers we forward its messages to.
    ///
    /// # Errors
    ///
    /// [`Stopped`] if the network task has stopped.
    pub async fn mesh_peers(&self, topic: Topic) -> Result<Vec<PeerId>, Stopped> {
        self.ask(|reply| Command::MeshPeers { topic, reply }).await
    }

    async fn send(&self, command: Command) -> Result<(), Stopped> {
        self.commands.send(command).await.map_err(|_| Stopped)
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, Stopped> {
        let (reply, answer) = oneshot::channel();
        self.send(command(reply)).await?;
        answer.await.map_err(|_| Stopped)
    }
}

/// Starts the network task and returns its handle and event stream.
///
/// The swarm listens on `config.listen_addr` and is subscribed to both gossip topics. Dial
/// peers with [`NetworkHandle::dial`]; with `config.mdns` local peers are dialled as found.
///
/// # Errors
///
/// See [`SpawnError`]: a bad chain id, gossip limit or listen address, or mDNS failing to start.
///
/// # Panics
///
/// If called outside a tokio runtime.
pub fn spawn(
    config: NetworkConfig,
) -> Result<(NetworkHandle, mpsc::Receiver<NetworkEvent>), SpawnError> {
    let chain_id = config.checked_chain_id()?;
    let topics = Topics::new(chain_id);
    let keypair = config.keypair.clone();
    let behaviour = Behaviour::new(&config, &keypair, &topics)?;

    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(keypair)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| SpawnError::Transport(e.to_string()))?
        .with_behaviour(|_| behaviour)
        .expect("a ready-made behaviour cannot fail to build")
        .with_swarm_config(|c| c.with_idle_connection_timeout(config.idle_connection_timeout))
        .build();
    swarm
        .listen_on(config.listen_addr.clone())
        .map_err(|e| SpawnError::Listen {
            addr: config.listen_addr.clone(),
            reason: error_chain(&e),
        })?;

    let local_peer_id = *swarm.local_peer_id();
    info!(%local_peer_id, chain_id, "network starting");
    let (command_tx, command_rx) = mpsc::channel(COMMAND_CHANNEL_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(EVENT_CHANNEL_CAPACITY);
    let driver = Driver::new(swarm, command_rx, event_tx, topics, &config);
    tokio::spawn(driver.run());
    Ok((
        NetworkHandle {
            commands: command_tx,
            local_peer_id,
        },
        event_rx,
    ))
}
