//! Errors of the network layer, one enum per operation.
//!
//! Callers react differently to each operation failing: a failed dial means "try another
//! address", a publish with no peers means "we are alone, the block is still ours", a failed
//! request means "ask another peer". So each operation returns its own, narrow enum. Every one
//! has a `Stopped` variant: the swarm task is gone (the node is shutting down), and nothing the
//! caller does will bring it back.

use libp2p::Multiaddr;

/// Why [`spawn`](crate::net::spawn) could not start the network.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The chain id cannot be used in topic and protocol names.
    #[error(
        "chain id {0:?} is not usable in protocol names: expected 1 to 64 ASCII letters, digits, \
         '-' or '_'"
    )]
    InvalidChainId(String),
    /// The gossipsub configuration was rejected (for example a message limit below 100 bytes).
    #[error("invalid gossipsub configuration: {0}")]
    Gossipsub(String),
    /// The TCP transport or the noise handshake could not be set up.
    #[error("cannot set up the transport: {0}")]
    Transport(String),
    /// mDNS was asked for but its socket could not be opened.
    #[error("cannot start mDNS discovery: {0}")]
    Mdns(#[source] std::io::Error),
    /// The listen address is not one the transport can listen on.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address from the configuration.
        addr: Multiaddr,
        /// What the transport said.
        reason: String,
    },
}

/// Why [`NetworkHandle::dial`](crate::net::NetworkHandle::dial) did not connect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DialError {
    /// The connection attempt failed or was refused (unreachable address, handshake failure,
    /// banned peer, connection limit, or already connected to that peer).
    #[error("cannot connect to {addr}: {reason}")]
    Failed {
        /// The address that was dialled.
        addr: Multiaddr,
        /// What libp2p reported.
        reason: String,
    },
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Stopped,
}

/// Why a block or record could not be published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// The payload is larger than the configured gossip limit.
    #[error("gossip payload of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the payload.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// No connected peer is subscribed to the topic. Normal for a lone node: the caller keeps
    /// the block and peers will sync it later.
    #[error("no peer is subscribed to the topic")]
    NoPeers,
    /// The same payload was published (or received) recently; message ids are content hashes.
    #[error("the same payload was already published")]
    Duplicate,
    /// Any other gossipsub failure (signing, full queues).
    #[error("gossipsub refused to publish: {0}")]
    Gossipsub(String),
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Stopped,
}

/// Why a sync request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The request is larger than the configured request limit and was not sent.
    #[error("request of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the request.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The peer could not be reached.
    #[error("cannot reach the peer")]
    DialFailure,
    /// No response arrived within the request timeout.
    #[error("no response within the request timeout")]
    Timeout,
    /// The connection closed before the response arrived.
    #[error("connection closed before the response arrived")]
    ConnectionClosed,
    /// The peer does not speak our sync protocol (another chain, or an old version).
    #[error("the peer does not support the sync protocol")]
    UnsupportedProtocol,
    /// Reading or writing the stream failed. This includes a response over the size limit
    /// (kind `InvalidData`) and a peer that closed the stream instead of answering.
    #[error("i/o error on the request stream")]
    Io(#[source] std::io::Error),
    /// The swarm task has stopped.
    #[error("the network task has stopped")]
    Stopped,
}

/// Why an answer to an inbound request could not be handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RespondError {
    /// The response is larger than the configured response limit.
    #[error("response of {size} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Size of the response.
        size: usize,
        /// The configured limit.
        max: usize,
    },
    /// The request is no longer waiting: it timed out, or the network task stopped.
    #[error("the request is no longer waiting for a response")]
    Gone,
}

/// The swarm task has stopped, for operations that can fail in no other way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the network task has stopped")]
pub struct Stopped;
