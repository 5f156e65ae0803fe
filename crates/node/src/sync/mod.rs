//! Sync: how a node that is behind downloads the blocks it lacks from a peer, and how a node
//! answers, in one protocol owned by this module.
//!
//! Gossip tells every node about each new block as it is mined. A node that was away, or started
//! late, or sits on the losing side of a partition, missed blocks that nobody will announce again:
//! it must ask. It asks a peer for its tip ([`Request::GetTip`]); if the peer *claims* more work,
//! it asks for blocks after the last block both share ([`Request::GetBlocks`] with a locator),
//! validates each batch, and asks again until the peer has nothing more. A claim is never
//! trusted: only validated blocks change the chain, and a peer that claimed more work than it
//! delivered pays for it.
//!
//! - [`messages`]: the requests and responses and their byte layout (decoders treat input as
//!   hostile).
//! - [`frame`]: one length-prefixed frame per stream, its size limits, and the libp2p codec.
//! - [`server`]: answering a request from the best chain in a store.
//! - [`client`]: one download from one peer, as a state machine: each response in, the next
//!   request (or the verdict) out.
//!
//! The node's [`Machine`](crate::machine::Machine) runs the server and the client; the libp2p
//! driver and the simulator only carry their messages.

pub mod client;
pub mod frame;
pub mod messages;
pub mod server;

pub use client::{SyncSession, SyncStep};
pub use frame::{BadFrame, SyncLimits};
pub use messages::{
    BlocksWriter, MAX_BLOCKS_PER_RESPONSE, MAX_LOCATOR, Request, Response, TipClaim, WireError,
};
