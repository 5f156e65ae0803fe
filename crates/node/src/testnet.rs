//! A local network in one call: N nodes on loopback, each with its own data directory, all
//! connected, some mining. The quickest way to watch consensus happen.

use std::path::Path;
use std::time::Duration;

use ironchain_core::ChainParams;

use crate::{MiningConfig, NodeConfig, RunningNode, StartError, start};

/// How to build a test network.
#[derive(Debug, Clone)]
pub struct TestnetConfig {
    /// How many nodes.
    pub nodes: usize,
    /// How many of them (the first ones) mine.
    pub miners: usize,
    /// The chain (every node creates it in its own directory).
    pub params: ChainParams,
    /// Mining settings of the miners.
    pub mining: MiningConfig,
    /// How often nodes ask each other for their tips.
    pub tip_poll_interval: Duration,
}

impl TestnetConfig {
    /// `nodes` nodes on the regtest chain, the first mining a block every second even with no
    /// record pending.
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes,
            miners: 1,
            params: ChainParams::regtest(),
            mining: MiningConfig {
                threads: 1,
                mine_empty: true,
                min_interval: Duration::from_secs(1),
            },
            tip_poll_interval: Duration::from_secs(1),
        }
    }

    /// Returns the configuration of node `index` with data in `base/node<index>`.
    pub fn node_config(&self, base: &Path, index: usize) -> NodeConfig {
        let mut config = NodeConfig::new(base.join(format!("node{index}")), self.params.clone());
        config.tip_poll_interval = self.tip_poll_interval;
        config.heartbeat_interval = Duration::from_millis(200);
        if index < self.miners {
            config.mining = Some(self.mining);
        }
        config
    }
}

/// Starts the nodes of `config` under `base`, each dialling every node started before it.
///
/// # Errors
/// The first node that fails to start; the nodes already started are stopped.
pub async fn start_testnet(
    config: &TestnetConfig,
    base: &Path,
) -> Result<Vec<RunningNode>, StartError> {
    let mut nodes: Vec<RunningNode> = Vec::with_capacity(config.nodes);
    for index in 0..config.nodes {
        let mut node_config = config.node_config(base, index);
        node_config.peers = nodes
            .iter()
            .flat_map(|node| node.listen_addrs.iter().cloned())
            .collect();
        match start(node_config).await {
            Ok(node) => nodes.push(node),
            Err(error) => {
                for node in nodes {
                    node.shutdown().await;
                }
                return Err(error);
            }
        }
    }
    Ok(nodes)
}
