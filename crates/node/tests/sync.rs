//! Sync throughput: a fresh node downloads 100,000 small blocks from a peer over loopback,
//! validating and storing each, and the test prints blocks per second (target: 50,000/s).
//!
//! Ignored by default (it takes a while to build the chain); run it with
//! `cargo test -p ironchain-node --release --test sync_bench -- --ignored --nocapture`
//! (`SYNC_BENCH_BLOCKS` changes the count).

use std::time::{Duration, Instant};

use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};
use ironchain_node::{NodeConfig, start};
use ironchain_store::Store;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --ignored --nocapture"]
async fn sync_of_small_blocks_over_loopback() {
    let count: u64 = std::env::var("SYNC_BENCH_BLOCKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    // Regtest with one-second spacing, so that a block a second keeps the easy target.
    let mut params = ChainParams::regtest();
    params.name = "bench".into();
    params.target_spacing = 1;
    let dir = tempfile::tempdir().expect("temp dir");

    // Build the chain in memory, one block a second, ending before now.
    let built = Instant::now();
    let mut chain = Blockchain::new(params.clone()).with_threads(1);
    let start_time = unix_now() - u32::try_from(count + 600).expect("fits");
    let control = MineControl::new();
    for i in 0..count {
        let time = start_time + u32::try_from(i).expect("fits");
        chain
            .add_records_at(vec![i.to_le_bytes().to_vec()], time, &control)
            .expect("mined");
    }
    let source = Store::create(&dir.path().join("a"), params.clone()).expect("store");
    for batch in chain.blocks()[1..].chunks(10_000) {
        source
            .append_blocks(batch, unix_now())
            .expect("valid blocks");
    }
    drop(source);
    println!("built {count} blocks in {:.1?}", built.elapsed());

    let mut a = NodeConfig::new(dir.path().join("a"), params.clone());
    a.api_addr = None;
    let a = start(a).await.expect("A starts");
    let mut b = NodeConfig::new(dir.path().join("b"), params);
    b.api_addr = None;
    b.peers = a.listen_addrs.clone();
    b.sync_batch = 10_000;
    b.tip_poll_interval = Duration::from_millis(100);
    let started = Instant::now();
    let b = start(b).await.expect("B starts");
    while b.tip().height < count {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = started.elapsed();
    assert_eq!(b.tip(), a.tip());
    println!(
        "synced {count} blocks in {elapsed:.2?}: {:.0} blocks/s (target 50,000/s)",
        count as f64 / elapsed.as_secs_f64()
    );
    a.shutdown().await;
    b.shutdown().await;
}
