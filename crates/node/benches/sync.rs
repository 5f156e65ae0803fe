//! Sync throughput: a fresh node downloads 100,000 small blocks from a peer over loopback,
//! validating and storing each, and the bench prints blocks per second and the ratio to the
//! target of 50,000 blocks/s (issue 4).
//!
//! Run with `cargo bench -p ironchain-node --bench sync`; `SYNC_BENCH_BLOCKS=N` changes the
//! count. The chain is built in memory first (one record per block, one block a second on a
//! regtest chain with one-second spacing, so the easy target holds throughout) and written to
//! the serving node's store; only the download is timed, from the moment the fresh node starts
//! (it dials, asks for the tip, then for batches of 10,000 blocks) until its tip is the
//! server's. What is measured is the whole path: libp2p (TCP, noise, yamux), the wire format,
//! full validation, and the store's transactions with their fsyncs.
//!
//! The correctness of the same path, on a small chain, is checked by `tests/sync.rs`.

use std::time::{Duration, Instant};

use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};
use ironchain_node::{NodeConfig, start};
use ironchain_store::Store;

/// Blocks synced unless `SYNC_BENCH_BLOCKS` says otherwise.
const DEFAULT_BLOCKS: u64 = 100_000;
/// The target.
const TARGET_BLOCKS_PER_SECOND: f64 = 50_000.0;
/// Blocks per sync request (the node's default is 2,000; a bulk download asks for more).
const SYNC_BATCH: u32 = 10_000;
/// A sync that has not finished by then has stalled.
const TIMEOUT: Duration = Duration::from_secs(600);

fn main() {
    // `cargo bench` passes `--bench`; a harness-less bench has nothing to filter.
    let count: u64 = std::env::var("SYNC_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_BLOCKS);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    runtime.block_on(run(count));
}

async fn run(count: u64) {
    let mut params = ChainParams::regtest();
    params.name = "bench".into();
    params.target_spacing = 1;
    let dir = tempfile::tempdir().expect("temp dir");

    let built = Instant::now();
    build_chain(&dir.path().join("a"), &params, count);
    println!("built and stored {count} blocks in {:.1?}", built.elapsed());

    let mut a = NodeConfig::new(dir.path().join("a"), params.clone());
    a.api_addr = None;
    let a = start(a).await.expect("the serving node starts");
    let mut b = NodeConfig::new(dir.path().join("b"), params);
    b.api_addr = None;
    b.peers = a.listen_addrs.clone();
    b.sync_batch = SYNC_BATCH;
    b.tip_poll_interval = Duration::from_millis(100);

    let started = Instant::now();
    let b = start(b).await.expect("the fresh node starts");
    while b.tip().height < count {
        assert!(
            started.elapsed() < TIMEOUT,
            "sync stalled at {}",
            b.tip().height
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(b.tip(), a.tip(), "the fresh node holds the server's chain");
    let rate = count as f64 / elapsed.as_secs_f64();
    println!(
        "sync/loopback/{count} blocks: {elapsed:.2?}, {rate:.0} blocks/s, \
         {:.2}x the target of {TARGET_BLOCKS_PER_SECOND:.0} blocks/s",
        rate / TARGET_BLOCKS_PER_SECOND
    );
    a.shutdown().await;
    b.shutdown().await;
}

/// Mines `count` one-record blocks a second apart, ending before now, into a new store at
/// `dir`.
fn build_chain(dir: &std::path::Path, params: &ChainParams, count: u64) {
    let mut chain = Blockchain::new(params.clone()).with_threads(1);
    let seconds = u32::try_from(count + 600).expect("the bench's chain fits in u32 seconds");
    let start_time = unix_now() - seconds;
    let control = MineControl::new();
    for i in 0..count {
        let time = start_time + u32::try_from(i).expect("below `seconds`");
        chain
            .add_records_at(vec![i.to_le_bytes().to_vec()], time, &control)
            .expect("an easy block mines");
    }
    let store = Store::create(dir, params.clone()).expect("a new store");
    for batch in chain.blocks()[1..].chunks(10_000) {
        store
            .append_blocks(batch, unix_now())
            .expect("the blocks just mined are valid");
    }
}
