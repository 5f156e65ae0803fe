//! The peer-to-peer layer: gossip of blocks and records, and request-response for sync.
//!
//! This module moves opaque bytes; what a block is and whether it is valid is decided elsewhere.
//! It is built on libp2p: TCP with noise encryption and yamux multiplexing, gossipsub for
//! broadcast, a length-limited request-response protocol for sync, identify and ping for peer
//! bookkeeping, optional mDNS for local discovery, and a ban list.
//!
//! The one rule the node must follow: every gossip message it receives is held back until the
//! node reports a [`Validation`] for it. Only accepted messages are forwarded, so an invalid
//! block dies at the first honest node, and its sender's gossip score drops.
//!
//! Submodules, in reading order:
//! - [`config`]: what a node chooses (listen address, identity, chain id, limits).
//! - [`behaviour`]: the libp2p behaviours and the topic names.
//! - [`network`]: the handle the node drives the network with, and the events it receives.
//! - `driver` (private): the task that owns the swarm and answers the handle.
//! - [`error`]: one error type per operation.
//!
//! # Example
//!
//! Two nodes on loopback: one asks, the other answers.
//!
//! ```
//! use ironchain_node::net::{NetworkConfig, NetworkEvent, spawn};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (alice, _alice_events) = spawn(NetworkConfig::new("example"))?;
//! let (bob, mut bob_events) = spawn(NetworkConfig::new("example"))?;
//!
//! // Bob's listener is up once it reports its address.
//! let bob_addr = loop {
//!     if let Some(NetworkEvent::NewListenAddr(addr)) = bob_events.recv().await {
//!         break addr;
//!     }
//! };
//! let bob_id = alice.dial(bob_addr).await?;
//! assert_eq!(bob_id, bob.local_peer_id());
//!
//! // Bob answers every request by echoing it reversed.
//! tokio::spawn(async move {
//!     while let Some(event) = bob_events.recv().await {
//!         if let NetworkEvent::InboundRequest { data, responder, .. } = event {
//!             let _ = responder.respond(data.into_iter().rev().collect());
//!         }
//!     }
//! });
//! let answer = alice.request(bob_id, b"height?".to_vec()).await?;
//! assert_eq!(answer, b"?thgieh");
//! # Ok(())
//! # }
//! ```

pub mod behaviour;
pub mod config;
mod driver;
pub mod error;
pub mod network;

pub use crate::machine::Validation;
pub use crate::sync::frame::{BadFrame, SyncLimits};
pub use behaviour::Topic;
pub use config::{NetworkConfig, keypair_from_seed};
pub use error::{DialError, PublishError, RequestError, RespondError, SpawnError, Stopped};
pub use libp2p::gossipsub::MessageId;
pub use libp2p::{Multiaddr, PeerId};
pub use network::{NetworkEvent, NetworkHandle, PeerInfo, Responder, spawn};
