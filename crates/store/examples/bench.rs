//! The store's speed, printed as numbers (not a timed test): durable record throughput with
//! batching, per-commit latency, and opening + quick-verifying a 1,000,000-block chain with the
//! resident memory that takes.
//!
//! Run in release: `cargo run --release -p ironchain-store --example bench [BLOCKS]`.
//! The open is measured in a fresh child process so its peak memory (VmHWM) is the open's alone,
//! not the build's.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};
use ironchain_store::{OpenOptions, Store, VerifyMode};

/// Targets from issue 3.
const TARGET_RECORDS_PER_SEC: f64 = 20_000.0;
const TARGET_OPEN_SECS: f64 = 2.0;
const TARGET_RSS_MB: f64 = 150.0;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("open") {
        return open_child(Path::new(&args[2]));
    }
    let blocks: u64 = args
        .get(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let dir =
        tempfile::tempdir_in(std::env::var("BENCH_DIR").unwrap_or_else(|_| "/tmp".into())).unwrap();
    pool_throughput(&dir.path().join("pool"));
    let chain_dir = dir.path().join("chain");
    build_chain(&chain_dir, blocks);
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["open", chain_dir.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn pool_throughput(dir: &Path) {
    let store = Store::create(dir, ChainParams::regtest()).unwrap();
    let record = vec![b'r'; 100];
    for batch in [1usize, 100, 1000, 10_000] {
        let commits = (20_000 / batch).clamp(20, 200);
        let records: Vec<Vec<u8>> = vec![record.clone(); batch];
        let mut latencies = Vec::with_capacity(commits);
        let start = Instant::now();
        for _ in 0..commits {
            let t = Instant::now();
            store.add_records(&records).unwrap();
            latencies.push(t.elapsed());
        }
        let elapsed = start.elapsed().as_secs_f64();
        let rate = (commits * batch) as f64 / elapsed;
        latencies.sort();
        let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        println!(
            "add_records, {batch:>5} records of 100 B per durable commit: {rate:>9.0} records/s \
             ({:.2}x target {TARGET_RECORDS_PER_SEC}), commit latency p50 {:?} p99 {:?}",
            rate / TARGET_RECORDS_PER_SEC,
            p(0.5),
            p(0.99)
        );
    }
    // Mining the pool: one durable transaction stores the block and removes its records.
    let control = MineControl::new();
    let now = ChainParams::regtest().genesis.header.time + 1_000_000;
    let start = Instant::now();
    let mut mined = 0;
    while store.pool_stats().unwrap().0 > 0 && start.elapsed() < Duration::from_secs(20) {
        mined += store.mine_next(1, &control, now).unwrap().records.len();
    }
    let elapsed = start.elapsed().as_secs_f64();
    println!(
        "mine_next from the pool: {:.0} records/s into blocks",
        mined as f64 / elapsed
    );
}

fn build_chain(dir: &Path, blocks: u64) {
    let params = ChainParams::regtest();
    let store = Store::create(dir, params.clone()).unwrap();
    let mut chain = Blockchain::new(params.clone()).with_threads(1);
    let control = MineControl::new();
    let start = Instant::now();
    let now = u32::MAX - 7200;
    let mut time = params.genesis.header.time;
    let mut stored = 1usize;
    const BATCH: usize = 50_000;
    for height in 1..=blocks {
        time += 600;
        chain
            .add_records_at(vec![format!("block {height}").into_bytes()], time, &control)
            .unwrap();
        if chain.blocks().len() - stored >= BATCH || height == blocks {
            store.append_blocks(&chain.blocks()[stored..], now).unwrap();
            stored = chain.blocks().len();
        }
    }
    println!(
        "built and stored {blocks} blocks in {:.1?} ({} bytes on disk)",
        start.elapsed(),
        std::fs::metadata(dir.join(ironchain_store::store::DB_FILE))
            .unwrap()
            .len()
    );
}

fn open_child(dir: &Path) {
    let threads = 2;
    let options = OpenOptions {
        now: Some(u32::MAX - 7200),
        threads: Some(threads),
        ..OpenOptions::new(VerifyMode::Quick)
    };
    let start = Instant::now();
    let opened = Store::open_with(dir, &options).unwrap();
    let elapsed = start.elapsed().as_secs_f64();
    let summary = opened.verification.unwrap();
    let rss = vm_hwm_mb();
    println!(
        "open + quick verify of {} blocks on {threads} threads: {elapsed:.2} s ({:.2}x the {TARGET_OPEN_SECS} s target)",
        summary.blocks,
        elapsed / TARGET_OPEN_SECS
    );
    println!(
        "peak resident memory (VmHWM) of that open: {rss:.1} MB ({:.2}x the {TARGET_RSS_MB} MB target)",
        rss / TARGET_RSS_MB
    );
    let start = Instant::now();
    opened
        .store
        .verify(VerifyMode::Full, u32::MAX - 7200)
        .unwrap();
    println!(
        "full verify (records against merkle roots, hash index): {:.2} s",
        start.elapsed().as_secs_f64()
    );
}

/// Returns the peak resident set size from /proc/self/status, in MB (0 where unavailable).
fn vm_hwm_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}
