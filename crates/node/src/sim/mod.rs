//! The simulator: the node's own [`Machine`](crate::machine::Machine), thousands of times over,
//! on simulated links and a simulated clock.
//!
//! The seed's central claim is about many nodes: an attacker "would need to simultaneously
//! coordinate" enough of them. Proof of work says something sharper: the valid chain with the
//! most *work* wins, whoever holds how many copies. This module shows what ironchain's own
//! consensus code does with ten thousand nodes, real propagation delays, partitions, crashes,
//! tampered disks and attackers, and replays any run exactly from its seed, the way FoundationDB
//! and TigerBeetle test theirs.
//!
//! - [`links`]: latency distributions and bandwidth.
//! - [`topology`]: a random graph with Bitcoin's connection counts and gossipsub's mesh.
//! - [`engine`]: the discrete-event engine that delivers messages between machines.
//! - [`attack`]: a double-spending private miner and a selfish miner.
//! - [`theory`]: the stale rate and selfish revenue that theory predicts.
//! - [`scenario`]: the named scenarios `ironchain simulate` runs.
//! - [`claims`]: the seed's claims, measured, as one table.
//! - [`report`] and [`plot`]: what a run prints and draws.

pub mod attack;
pub mod claims;
pub mod engine;
pub mod links;
pub mod plot;
pub mod report;
pub mod scenario;
pub mod theory;
pub mod topology;

use std::sync::Arc;
use std::time::Duration;

use ironchain_core::ChainParams;

pub use engine::{Action, Engine, NodeId, Role};
pub use links::Latency;
pub use report::Report;
pub use scenario::{Scenario, Shares, SimConfig, run};

/// The chain every simulated node runs: ironchain's rules with a trivial proof-of-work limit (a
/// block takes a couple of hashes, so every block carries real proof of work at no cost) and the
/// given block interval, retargeting every 2,016 blocks as Bitcoin does.
pub fn sim_params(block_interval: u32) -> Arc<ChainParams> {
    Arc::new(ChainParams::custom(
        "sim",
        1,
        block_interval.max(1),
        2016,
        1,
    ))
}

/// The total hash rate, in expected hashes per second, that finds a block at `params`' easiest
/// target every `block_interval` on average: what the miners' shares are shares of.
pub fn hash_rate_for(params: &ChainParams, block_interval: Duration) -> f64 {
    params.pow_limit.work().to_f64() / block_interval.as_secs_f64().max(1e-6)
}
