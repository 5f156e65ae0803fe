//! The task that owns the swarm: it turns commands into libp2p calls and libp2p events into
//! [`NetworkEvent`]s.
//!
//! Everything that touches the `Swarm` is here, in one `select!` loop, because the swarm is
//! neither `Sync` nor shareable: the only way in is a message. The loop also remembers who is
//! waiting for what (a dial, a request's response, the node's answer to an inbound request),
//! keyed by the ids libp2p hands out.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, MessageAcceptance, MessageId};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::swarm::{ConnectionId, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, identify, mdns, ping};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, info, trace, warn};

use crate::net::behaviour::{Behaviour, BehaviourEvent, Topic, Topics};
use crate::net::config::NetworkConfig;
use crate::net::error::{DialError, PublishError, RequestError};
use crate::net::network::{Command, NetworkEvent, PeerInfo, Responder};
use crate::sync::frame::{SyncLimits, SyncRequest};

/// An answer (or its absence) on its way from the node to a peer.
type PendingResponse = BoxFuture<'static, (ResponseChannel<Vec<u8>>, Option<Vec<u8>>)>;

/// The state of the network task.
pub(crate) struct Driver {
    swarm: Swarm<Behaviour>,
    commands: mpsc::Receiver<Command>,
    events: mpsc::Sender<NetworkEvent>,
    topics: Topics,
    limits: SyncLimits,
    max_gossip_size: usize,
    request_timeout: Duration,
    pending_dials: HashMap<ConnectionId, (Multiaddr, oneshot::Sender<Result<PeerId, DialError>>)>,
    pending_requests: HashMap<OutboundRequestId, oneshot::Sender<Result<Vec<u8>, RequestError>>>,
    pending_responses: FuturesUnordered<PendingResponse>,
    peers: HashMap<PeerId, PeerInfo>,
    /// Timers that lift temporary bans, each yielding the peer to let back in.
    unbans: FuturesUnordered<BoxFuture<'static, PeerId>>,
}

impl Driver {
    pub(crate) fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        events: mpsc::Sender<NetworkEvent>,
        topics: Topics,
        config: &NetworkConfig,
    ) -> Self {
        Driver {
            swarm,
            commands,
            events,
            topics,
            limits: config.sync_limits,
            max_gossip_size: config.max_gossip_size,
            request_timeout: config.request_timeout,
            pending_dials: HashMap::new(),
            pending_requests: HashMap::new(),
            pending_responses: FuturesUnordered::new(),
            peers: HashMap::new(),
            unbans: FuturesUnordered::new(),
        }
    }

    /// Runs until every [`NetworkHandle`](crate::net::NetworkHandle) is dropped.
    pub(crate) async fn run(mut self) {
        loop {
            tokio::select! {
                command = self.commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some((channel, answer)) = self.pending_responses.next(),
                    if !self.pending_responses.is_empty() => self.on_answer(channel, answer),
                Some(peer) = self.unbans.next(), if !self.unbans.is_empty() => {
                    info!(%peer, "ban expired");
                    let behaviour = self.swarm.behaviour_mut();
                    behaviour.block_list.unblock_peer(peer);
                    behaviour.gossipsub.remove_blacklisted_peer(&peer);
                }
            }
        }
        info!("every network handle dropped; network task stops");
    }

    fn on_command(&mut self, command: Command) {
        trace!(?command, "command");
        match command {
            Command::Dial { addr, reply } => {
                let opts = DialOpts::unknown_peer_id().address(addr.clone()).build();
                let connection_id = opts.connection_id();
                match self.swarm.dial(opts) {
                    Ok(()) => {
                        self.pending_dials.insert(connection_id, (addr, reply));
                    }
                    Err(e) => {
                        let _ = reply.send(Err(DialError::Failed {
                            addr,
                            reason: error_chain(&e),
                        }));
                    }
                }
            }
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::Request { peer, data, reply } => {
                if data.len() > self.limits.max_request {
                    let max = self.limits.max_request;
                    let _ = reply.send(Err(RequestError::TooLarge {
                        size: data.len(),
                        max,
                    }));
                    return;
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer, Ok(data));
                self.pending_requests.insert(id, reply);
            }
            Command::ReportGossip {
                message_id,
                source,
                verdict,
            } => {
                let known = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&message_id, &source, verdict.into());
                if !known {
                    debug!(%message_id, "verdict for a message no longer in the gossip cache");
                }
            }
            Command::Ban { peer, duration } => {
                info!(%peer, ?duration, "banning peer");
                if let Some(duration) = duration {
                    self.unbans.push(Box::pin(async move {
                        tokio::time::sleep(duration).await;
                        peer
                    }));
                }
                let behaviour = self.swarm.behaviour_mut();
                // The block list closes existing connections and refuses new ones; the
                // gossipsub blacklist also drops anything still queued from the peer.
                behaviour.block_list.block_peer(peer);
                behaviour.gossipsub.blacklist_peer(&peer);
            }
            Command::Peers { reply } => {
                let gossipsub = &self.swarm.behaviour().gossipsub;
                let peers = self
                    .peers
                    .values()
                    .map(|info| PeerInfo {
                        gossip_score: gossipsub.peer_score(&info.peer_id),
                        ..info.clone()
                    })
                    .collect();
                let _ = reply.send(peers);
            }
            Command::ListenAddrs { reply } => {
                let _ = reply.send(self.swarm.listeners().cloned().collect());
            }
            Command::MeshPeers { topic, reply } => {
                let hash = self.topics.get(topic).hash();
                let peers = self
                    .swarm
                    .behaviour()
                    .gossipsub
                    .mesh_peers(&hash)
                    .copied()
                    .collect();
                let _ = reply.send(peers);
            }
        }
    }

    fn publish(&mut self, topic: Topic, data: Vec<u8>) -> Result<(), PublishError> {
        if data.len() > self.max_gossip_size {
            return Err(PublishError::TooLarge {
                size: data.len(),
                max: self.max_gossip_size,
            });
        }
        let size = data.len();
        let topic = self.topics.get(topic).clone();
        match self.swarm.behaviour_mut().gossipsub.publish(topic, data) {
            Ok(message_id) => {
                debug!(%message_id, "published");
                Ok(())
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => Err(PublishError::NoPeers),
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate),
            // Our payload check passed, so the signed frame outgrew the overhead allowed for.
            Err(gossipsub::PublishError::MessageTooLarge) => Err(PublishError::TooLarge {
                size,
                max: self.max_gossip_size,
            }),
            Err(e) => Err(PublishError::Gossipsub(e.to_string())),
        }
    }

    fn on_answer(&mut self, channel: ResponseChannel<Vec<u8>>, answer: Option<Vec<u8>>) {
        match answer {
            Some(data) => {
                if self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, data)
                    .is_err()
                {
                    debug!("peer stopped waiting before our response was ready");
                }
            }
            // Dropping the channel closes the stream: the peer gets an error, not a hang.
            None => debug!("inbound request dropped or timed out without an answer"),
        }
    }

    /// Hands an event to the node without ever waiting. Returns whether the node got it: the
    /// event is dropped if the channel is full or the node dropped its receiver.
    fn emit(&self, event: NetworkEvent) -> bool {
        match self.events.try_send(event) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                warn!("event channel full: the node is not keeping up; event dropped");
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(event) => self.on_behaviour_event(event),
            SwarmEvent::NewListenAddr { address, .. } => {
                info!(%address, "listening");
                self.emit(NetworkEvent::NewListenAddr(address));
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                if let Some((_, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Ok(peer_id));
                }
                if num_established.get() == 1 {
                    debug!(%peer_id, address = %endpoint.get_remote_address(), "peer connected");
                    self.peers.insert(
                        peer_id,
                        PeerInfo {
                            peer_id,
                            address: endpoint.get_remote_address().clone(),
                            outbound: matches!(endpoint, ConnectedPoint::Dialer { .. }),
                            agent_version: None,
                            rtt: None,
                            gossip_score: None,
                        },
                    );
                    self.emit(NetworkEvent::PeerConnected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                cause,
                ..
            } => {
                if num_established == 0 {
                    debug!(%peer_id, ?cause, "peer disconnected");
                    self.peers.remove(&peer_id);
                    self.emit(NetworkEvent::PeerDisconnected(peer_id));
                }
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                debug!(
                    ?peer_id,
                    error = error_chain(&error),
                    "outgoing connection failed"
                );
                if let Some((addr, reply)) = self.pending_dials.remove(&connection_id) {
                    let _ = reply.send(Err(DialError::Failed {
                        addr,
                        reason: error_chain(&error),
                    }));
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                ..
            } => {
                debug!(%send_back_addr, %error, "incoming connection refused or failed");
            }
            SwarmEvent::ListenerError { error, .. } => warn!(%error, "listener error"),
            other => trace!(?other, "swarm event"),
        }
    }

    fn on_behaviour_event(&mut self, event: BehaviourEvent) {
        match event {
            BehaviourEvent::Gossipsub(event) => self.on_gossip(event),
            BehaviourEvent::Sync(event) => self.on_sync(event),
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                debug!(%peer_id, agent = info.agent_version, "identified");
                if let Some(peer) = self.peers.get_mut(&peer_id) {
                    peer.agent_version = Some(info.agent_version);
                }
            }
            BehaviourEvent::Identify(_) => {}
            BehaviourEvent::Ping(ping::Event { peer, result, .. }) => match result {
                Ok(rtt) => {
                    if let Some(info) = self.peers.get_mut(&peer) {
                        info.rtt = Some(rtt);
                    }
                }
                Err(error) => debug!(%peer, %error, "ping failed"),
            },
            BehaviourEvent::Mdns(mdns::Event::Discovered(found)) => {
                for (peer_id, addr) in found {
                    if self.swarm.is_connected(&peer_id) {
                        continue;
                    }
                    debug!(%peer_id, %addr, "mDNS found a peer");
                    let opts = DialOpts::peer_id(peer_id).addresses(vec![addr]).build();
                    if let Err(error) = self.swarm.dial(opts) {
                        debug!(%peer_id, %error, "not dialling mDNS peer");
                    }
                }
            }
            BehaviourEvent::Mdns(mdns::Event::Expired(_)) => {}
            BehaviourEvent::BlockList(never) => match never {},
            BehaviourEvent::Limits(never) => match never {},
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source: from,
            message_id,
            message,
        } = event
        else {
            trace!(?event, "gossipsub event");
            return;
        };
        let event = match self.topics.classify(&message.topic) {
            Some(Topic::Blocks) => NetworkEvent::GossipBlock {
                from,
                message_id: message_id.clone(),
                data: message.data,
            },
            Some(Topic::Records) => NetworkEvent::GossipRecord {
                from,
                message_id: message_id.clone(),
                data: message.data,
            },
            None => {
                // We only subscribe to our topics, so this is a misbehaving peer.
                self.report(&message_id, &from, MessageAcceptance::Reject);
                return;
            }
        };
        if !self.emit(event) {
            // Nobody will judge it; drop it without blaming the sender.
            self.report(&message_id, &from, MessageAcceptance::Ignore);
        }
    }

    fn report(&mut self, id: &MessageId, from: &PeerId, verdict: MessageAcceptance) {
        let gossipsub = &mut self.swarm.behaviour_mut().gossipsub;
        gossipsub.report_message_validation_result(id, from, verdict);
    }

    fn on_sync(&mut self, event: request_response::Event<SyncRequest, Vec<u8>>) {
        use request_response::{Event, Message, OutboundFailure};
        match event {
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request: Err(error),
                        ..
                    },
                ..
            } => {
                debug!(%peer, %error, "sync request is not a well-formed frame");
                // The response channel drops here, closing the peer's stream unanswered.
                self.emit(NetworkEvent::BadInboundRequest { peer, error });
            }
            Event::Message {
                peer,
                message:
                    Message::Request {
                        request: Ok(request),
                        channel,
                        ..
                    },
                ..
            } => {
                let (reply, answer) = oneshot::channel();
                let responder = Responder::new(reply, self.limits.max_response);
                let event = NetworkEvent::InboundRequest {
                    peer,
                    data: request,
                    responder,
                };
                if self.emit(event) {
                    let timeout = self.request_timeout;
                    self.pending_responses.push(Box::pin(async move {
                        let answer = tokio::time::timeout(timeout, answer).await;
                        (channel, answer.ok().and_then(Result::ok))
                    }));
                }
                // Otherwise `channel` drops here and the peer's stream is closed.
            }
            Event::Message {
                message:
                    Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                if let Some(reply) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Ok(response));
                }
            }
            Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                debug!(%peer, %error, "sync request failed");
                let error = match error {
                    OutboundFailure::DialFailure => RequestError::DialFailure,
                    OutboundFailure::Timeout => RequestError::Timeout,
                    OutboundFailure::ConnectionClosed => RequestError::ConnectionClosed,
                    OutboundFailure::UnsupportedProtocols => RequestError::UnsupportedProtocol,
                    OutboundFailure::Io(e) => RequestError::Io(e),
                };
                if let Some(reply) = self.pending_requests.remove(&request_id) {
                    let _ = reply.send(Err(error));
                }
            }
            Event::InboundFailure { peer, error, .. } => {
                // Reported only after a request was read: our answer could not be written
                // (the peer hung up), took too long, or was never given. None of these is the
                // peer's provable fault; a badly framed request arrives above, as a value.
                debug!(%peer, %error, "inbound sync request failed");
            }
            Event::ResponseSent { peer, .. } => trace!(%peer, "sync response sent"),
        }
    }
}

/// Returns `error` and its sources joined by ": ". libp2p's dial errors say little at the top
/// ("Dial error"); the reason is in the chain.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
