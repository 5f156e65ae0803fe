//! What a node operator chooses: where the chain lives, whom to talk to, whether to mine.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use ironchain_core::ChainParams;
use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;

use crate::forks::ForkLimits;
use crate::machine::{MachineConfig, MiningPolicy};

/// Everything [`crate::start`] and [`crate::run`] need.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The data directory: the chain database, the node key and the API cookie live here.
    pub data_dir: PathBuf,
    /// The chain to create if `data_dir` holds none; an existing chain must have the same genesis.
    pub params: ChainParams,
    /// Where to listen for peers. Default `/ip4/127.0.0.1/tcp/0`.
    pub listen: Multiaddr,
    /// Peers to dial at start (`--peer`).
    pub peers: Vec<Multiaddr>,
    /// Discover peers on the local network with mDNS.
    pub mdns: bool,
    /// Where the HTTP API listens; `None` for no API. Default `127.0.0.1:0`.
    pub api_addr: Option<SocketAddr>,
    /// Mining, if enabled.
    pub mining: Option<MiningConfig>,
    /// Blocks asked for per sync request.
    pub sync_batch: u32,
    /// How often every peer is asked for its tip, to notice a better chain without gossip.
    pub tip_poll_interval: Duration,
    /// How long a misbehaving peer stays banned.
    pub ban_duration: Duration,
    /// Gossipsub heartbeat; tests shorten it so meshes form quickly.
    pub heartbeat_interval: Duration,
    /// How deep and how many side blocks are kept.
    pub fork_limits: ForkLimits,
}

/// How a node mines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiningConfig {
    /// Threads for the nonce search.
    pub threads: usize,
    /// Mine blocks even when no record is pending (keeps a test network's chain growing).
    pub mine_empty: bool,
    /// The least time between two blocks this node mines. On an easy chain (regtest) a block
    /// takes microseconds; without a pause the node would outrun the future-time rule.
    pub min_interval: Duration,
}

impl Default for MiningConfig {
    fn default() -> Self {
        Self {
            threads: 1,
            mine_empty: false,
            min_interval: Duration::from_millis(500),
        }
    }
}

impl NodeConfig {
    /// Returns what the node's [`Machine`](crate::machine::Machine) is told: this
    /// configuration's decisions, and the largest sync response the network sends.
    pub fn machine_config(&self, max_response: usize) -> MachineConfig {
        MachineConfig {
            sync_batch: self.sync_batch,
            tip_poll_interval: self.tip_poll_interval,
            ban_duration: self.ban_duration,
            fork_limits: self.fork_limits,
            max_response,
            mining: self.mining.map(|mining| MiningPolicy {
                mine_empty: mining.mine_empty,
                min_interval: mining.min_interval,
            }),
        }
    }

    /// Returns a configuration for `data_dir` and `params` with every other setting at its
    /// default: loopback on a free port, API on `127.0.0.1:0`, no peers, no mining.
    pub fn new(data_dir: impl Into<PathBuf>, params: ChainParams) -> Self {
        Self {
            data_dir: data_dir.into(),
            params,
            listen: Multiaddr::empty()
                .with(Protocol::Ip4([127, 0, 0, 1].into()))
                .with(Protocol::Tcp(0)),
            peers: Vec::new(),
            mdns: false,
            api_addr: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            mining: None,
            sync_batch: 2_000,
            tip_poll_interval: Duration::from_secs(10),
            // Bitcoin Core's default -bantime is 24 hours; an hour suits a small network.
            ban_duration: Duration::from_secs(3600),
            heartbeat_interval: Duration::from_secs(1),
            fork_limits: ForkLimits::default(),
        }
    }
}
