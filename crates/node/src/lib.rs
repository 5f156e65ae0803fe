//! ironchain's node: the peer-to-peer network, sync, fork choice by most work, and the HTTP API.
//!
//! Modules, in reading order:
//! - [`net`]: the libp2p layer that moves opaque bytes (gossip and request-response).
#![warn(missing_docs)]

pub mod net;
