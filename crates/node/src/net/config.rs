//! What a node chooses about its network: where it listens, who it is, which chain it speaks
//! for, and how much it accepts from peers.
//!
//! The chain id goes into every topic and protocol name, so two chains (a test net and the main
//! net, say) never exchange a byte even if their nodes connect: their gossip topics differ and
//! their sync protocols fail negotiation.

use std::time::Duration;

use libp2p::{Multiaddr, identity::Keypair, multiaddr::Protocol};

use crate::net::error::SpawnError;
use crate::sync::frame::SyncLimits;

/// Everything [`spawn`](crate::net::spawn) needs.
#[derive(Debug, Clone)]
pub struct NetworkConfig {
    /// Address to listen on. Default `/ip4/127.0.0.1/tcp/0` (loopback, any free port); a real
    /// node listens on `/ip4/0.0.0.0/tcp/<port>`.
    pub listen_addr: Multiaddr,
    /// The node's identity; its public key is the peer id. See [`keypair_from_seed`].
    pub keypair: Keypair,
    /// Name of the chain, used in topic and protocol names.
    pub chain_id: String,
    /// Discover peers on the local network with mDNS. Off by default: it is for development.
    pub mdns: bool,
    /// Largest gossip payload (block or record) we publish or accept, in bytes.
    pub max_gossip_size: usize,
    /// Limits of the sync request-response protocol.
    pub sync_limits: SyncLimits,
    /// How long a sync request waits for its response.
    pub request_timeout: Duration,
    /// Gossipsub heartbeat: how often meshes are repaired and gossip emitted. Tests use
    /// ~100 ms so that meshes form quickly; the gossipsub default is 1 s.
    pub heartbeat_interval: Duration,
    /// Most connections we keep, in and out together.
    pub max_connections: u32,
    /// How long a connection with no open stream stays up.
    pub idle_connection_timeout: Duration,
}

impl NetworkConfig {
    /// Returns the default configuration for `chain_id` with a fresh random identity.
    ///
    /// A node that must keep its peer id across restarts replaces `keypair` with
    /// [`keypair_from_seed`] of a seed it stores.
    pub fn new(chain_id: impl Into<String>) -> Self {
        NetworkConfig {
            listen_addr: Multiaddr::empty()
                .with(Protocol::Ip4([127, 0, 0, 1].into()))
                .with(Protocol::Tcp(0)),
            keypair: Keypair::generate_ed25519(),
            chain_id: chain_id.into(),
            mdns: false,
            // Bitcoin's block limit is 4 MB of weight; 4 MiB leaves us the same order.
            max_gossip_size: 4 * 1024 * 1024,
            sync_limits: SyncLimits::default(),
            request_timeout: Duration::from_secs(30),
            heartbeat_interval: Duration::from_secs(1),
            // Bitcoin Core's default `-maxconnections` is 125.
            max_connections: 125,
            idle_connection_timeout: Duration::from_secs(60),
        }
    }

    /// Checks the chain id and returns it, for use in names.
    pub(crate) fn checked_chain_id(&self) -> Result<&str, SpawnError> {
        let id = self.chain_id.as_str();
        let usable = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if usable {
            Ok(id)
        } else {
            Err(SpawnError::InvalidChainId(id.to_owned()))
        }
    }
}

/// Returns the ed25519 identity whose secret key is `seed`.
///
/// The same seed always gives the same peer id, so a node keeps its identity (and the
/// reputation peers attach to it) across restarts by storing 32 random bytes in a key file.
/// Reading and writing that file, with owner-only permissions, is the caller's job.
pub fn keypair_from_seed(seed: [u8; 32]) -> Keypair {
    let mut secret = seed;
    // `ed25519_from_bytes` zeroes the buffer it is given, hence the copy.
    Keypair::ed25519_from_bytes(&mut secret)
        .expect("every 32-byte string is a valid ed25519 secret key")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_peer_id() {
        let a = keypair_from_seed([42; 32]).public().to_peer_id();
        let b = keypair_from_seed([42; 32]).public().to_peer_id();
        let c = keypair_from_seed([43; 32]).public().to_peer_id();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn chain_id_with_a_slash_is_refused() {
        for bad in ["", "main/net", "net work", &"x".repeat(65)] {
            let config = NetworkConfig::new(bad);
            assert!(
                config.checked_chain_id().is_err(),
                "{bad:?} should be refused"
            );
        }
        assert_eq!(
            NetworkConfig::new("ironchain-test_1")
                .checked_chain_id()
                .ok(),
            Some("ironchain-test_1")
        );
    }
}
