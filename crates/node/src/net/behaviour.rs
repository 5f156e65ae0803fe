//! The libp2p behaviours a node runs, composed into one, and the names they speak.
//!
//! Order matters: libp2p asks each behaviour in field order whether to accept a connection, so
//! the ban list and the connection limits come first and a refused peer never reaches gossipsub.
//!
//! - `block_list`: peers the node banned; their connections are closed and refused.
//! - `limits`: caps on connections, so a flood of dials cannot exhaust file descriptors.
//! - `identify`: exchanges agent version and listen addresses; logged and shown in `PeerInfo`.
//! - `ping`: measures round-trip time and notices dead connections.
//! - `gossipsub`: broadcasts blocks and records, each checked by the node before forwarding.
//! - `sync`: request-response for catching up, see [`frame`](crate::sync::frame).
//! - `mdns`: local discovery, present only when configured.

use std::time::Duration;

use ironchain_core::hash::sha256;
use libp2p::gossipsub::{self, IdentTopic, MessageAuthenticity, PeerScoreParams, TopicHash};
use libp2p::identity::Keypair;
use libp2p::swarm::{NetworkBehaviour, behaviour::toggle::Toggle};
use libp2p::{
    StreamProtocol, allow_block_list, connection_limits, identify, mdns, ping, request_response,
};

use crate::net::config::NetworkConfig;
use crate::net::error::SpawnError;
use crate::sync::frame::SyncCodec;

/// The two gossip topics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Newly mined blocks: `ironchain/<chain-id>/blocks/1`.
    Blocks,
    /// Records waiting to be mined: `ironchain/<chain-id>/records/1`.
    Records,
}

impl Topic {
    /// Both topics, in a fixed order.
    pub const ALL: [Topic; 2] = [Topic::Blocks, Topic::Records];

    /// Returns the gossipsub topic name for `chain_id`.
    pub fn name(self, chain_id: &str) -> String {
        let kind = match self {
            Topic::Blocks => "blocks",
            Topic::Records => "records",
        };
        format!("ironchain/{chain_id}/{kind}/1")
    }
}

/// Gossip size slack over the payload limit: gossipsub's limit is on the whole RPC frame, which
/// adds the signature (64 bytes), the public key (36), sender, sequence number, topic and
/// protobuf tags. 1 KiB is several times what those take.
const GOSSIP_FRAME_OVERHEAD: usize = 1024;

/// The composed behaviour driven by the swarm task.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) block_list: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<SyncCodec>,
    pub(crate) mdns: Toggle<mdns::tokio::Behaviour>,
}

/// Topic names and hashes, computed once.
#[derive(Debug, Clone)]
pub(crate) struct Topics {
    pub(crate) blocks: IdentTopic,
    pub(crate) records: IdentTopic,
}

impl Topics {
    pub(crate) fn new(chain_id: &str) -> Self {
        Topics {
            blocks: IdentTopic::new(Topic::Blocks.name(chain_id)),
            records: IdentTopic::new(Topic::Records.name(chain_id)),
        }
    }

    pub(crate) fn get(&self, topic: Topic) -> &IdentTopic {
        match topic {
            Topic::Blocks => &self.blocks,
            Topic::Records => &self.records,
        }
    }

    /// Returns which of our topics `hash` names, if any.
    pub(crate) fn classify(&self, hash: &TopicHash) -> Option<Topic> {
        Topic::ALL
            .into_iter()
            .find(|&t| self.get(t).hash() == *hash)
    }
}

impl Behaviour {
    /// Builds every behaviour from `config`, subscribed to both topics.
    pub(crate) fn new(
        config: &NetworkConfig,
        keypair: &Keypair,
        topics: &Topics,
    ) -> Result<Self, SpawnError> {
        let chain_id = config.checked_chain_id()?;
        let local_peer_id = keypair.public().to_peer_id();

        let limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(config.max_connections))
            .with_max_pending_incoming(Some(config.max_connections))
            // One connection per peer is all we use; a second (a simultaneous dial, or mDNS
            // racing a manual dial) is refused rather than kept idle.
            .with_max_established_per_peer(Some(1));

        let identify = identify::Behaviour::new(
            identify::Config::new(format!("/ironchain/{chain_id}/1"), keypair.public())
                .with_agent_version(format!("ironchain/{}", env!("CARGO_PKG_VERSION"))),
        );

        let mut gossipsub = gossipsub::Behaviour::new(
            MessageAuthenticity::Signed(keypair.clone()),
            gossipsub_config(config)?,
        )
        .map_err(|e| SpawnError::Gossipsub(e.to_owned()))?;
        gossipsub
            .with_peer_score(
                peer_score_params(topics),
                gossipsub::PeerScoreThresholds::default(),
            )
            .map_err(SpawnError::Gossipsub)?;
        for topic in [&topics.blocks, &topics.records] {
            gossipsub
                .subscribe(topic)
                .map_err(|e| SpawnError::Gossipsub(e.to_string()))?;
        }

        let protocol = StreamProtocol::try_from_owned(format!("/ironchain/{chain_id}/sync/1"))
            .expect("a checked chain id makes a name starting with '/'");
        let sync = request_response::Behaviour::with_codec(
            SyncCodec::new(config.sync_limits),
            [(protocol, request_response::ProtocolSupport::Full)],
            request_response::Config::default().with_request_timeout(config.request_timeout),
        );

        let mdns = if config.mdns {
            Some(
                mdns::tokio::Behaviour::new(mdns::Config::default(), local_peer_id)
                    .map_err(SpawnError::Mdns)?,
            )
        } else {
            None
        };

        Ok(Behaviour {
            block_list: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(limits),
            identify,
            ping: ping::Behaviour::default(),
            gossipsub,
            sync,
            mdns: mdns.into(),
        })
    }
}

/// Gossipsub settings: signed messages checked strictly, and nothing forwarded before the node
/// has validated it.
fn gossipsub_config(config: &NetworkConfig) -> Result<gossipsub::Config, SpawnError> {
    gossipsub::ConfigBuilder::default()
        // Every message must carry author, sequence number and a valid signature.
        .validation_mode(gossipsub::ValidationMode::Strict)
        // Hold each message until the node reports Accept/Reject/Ignore for it.
        .validate_messages()
        .max_transmit_size(config.max_gossip_size.saturating_add(GOSSIP_FRAME_OVERHEAD))
        .heartbeat_interval(config.heartbeat_interval)
        // The default first heartbeat is after 5 s; no reason to wait longer than one interval.
        .heartbeat_initial_delay(config.heartbeat_interval)
        // Content-addressed ids: the same block published by two miners, or re-announced
        // after a restart, is one message, deduplicated by every peer.
        .message_id_fn(|message: &gossipsub::Message| {
            gossipsub::MessageId::from(sha256(&message.data).to_vec())
        })
        .build()
        .map_err(|e| SpawnError::Gossipsub(e.to_string()))
}

/// Peer scoring, so that a Reject costs the peer that sent the message.
///
/// Gossipsub's default topic parameters are placeholders (time in mesh alone is worth up to 1800
/// points), so each term is set here. The mesh delivery terms (P3, P3b) are off: they must be
/// tuned to the block interval, which a prototype does not know; a real deployment will want
/// them, and will revisit every number below.
fn peer_score_params(topics: &Topics) -> PeerScoreParams {
    let mut params = PeerScoreParams::default();
    for (topic, invalid_weight) in [(&topics.blocks, -10.0), (&topics.records, -1.0)] {
        let topic_params = gossipsub::TopicScoreParams {
            topic_weight: 0.5,
            // P1: a little credit for staying in the mesh, at most 0.5 * 0.01 * 600 = 3 points.
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: 600.0,
            // P2: credit for delivering messages first, at most 0.5 * 1 * 20 = 10 points.
            first_message_deliveries_weight: 1.0,
            first_message_deliveries_cap: 20.0,
            first_message_deliveries_decay: gossipsub::score_parameter_decay(Duration::from_secs(
                600,
            )),
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            // P4: topic_weight * weight * count². One invalid block costs 5 points, two cost
            // 20, past the gossip threshold (-10): the peer's gossip is then ignored. Remembered
            // for about an hour.
            invalid_message_deliveries_weight: invalid_weight,
            invalid_message_deliveries_decay: gossipsub::score_parameter_decay(
                Duration::from_secs(3600),
            ),
            ..Default::default()
        };
        params.topics.insert(topic.hash(), topic_params);
    }
    params
}
