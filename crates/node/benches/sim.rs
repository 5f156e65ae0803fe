//! The simulator at scale: 10,000 nodes, 20 miners, 2,000 blocks at a 600 s interval (about two
//! weeks of Bitcoin), each node running the node's own state machine on an in-memory store.
//! Prints the run's report, its wall-clock time and peak memory against the targets of
//! 10 minutes and 8 GiB on a 2-core machine.
//!
//! `cargo bench -p ironchain-node --bench sim`; `SIM_BENCH_NODES`, `SIM_BENCH_BLOCKS` and
//! `SIM_BENCH_SEED` change the run. Not a timed test: the figures depend on the machine.

use std::time::Instant;

use ironchain_node::sim::scenario::{self, SimConfig};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let config = SimConfig {
        nodes: env("SIM_BENCH_NODES", 10_000) as usize,
        miners: 20,
        blocks: env("SIM_BENCH_BLOCKS", 2_000),
        block_interval: 600,
        seed: env("SIM_BENCH_SEED", 1),
        ..SimConfig::default()
    };
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    println!(
        "simulating {} nodes, {} miners, {} blocks at {} s on {cpu} ({} threads available)",
        config.nodes,
        config.miners,
        config.blocks,
        config.block_interval,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let started = Instant::now();
    let report = scenario::run(&config);
    let wall = started.elapsed().as_secs_f64();
    print!("{}", report.to_text());
    let rss = report.peak_rss_bytes as f64;
    println!(
        "wall time {wall:.1} s = {:.2} x the 600 s target; peak memory {:.2} GiB = {:.2} x the \
         8 GiB target",
        wall / 600.0,
        rss / (1u64 << 30) as f64,
        rss / (8u64 << 30) as f64
    );
}
