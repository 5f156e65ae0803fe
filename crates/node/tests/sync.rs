//! Sync between two nodes on 127.0.0.1: a fresh node downloads a peer's chain in several
//! batches, validating each block, and ends with the same chain, block for block, which
//! verifies on its own.
//!
//! Small and fast on purpose; the throughput figure (100,000 blocks) is the bench
//! `cargo bench -p ironchain-node --bench sync`.

use std::time::Duration;

use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};
use ironchain_node::{NodeConfig, start};
use ironchain_store::{Store, VerifyMode};

/// Blocks in the served chain: five batches of [`BATCH`] and a partial one.
const BLOCKS: u64 = 550;
/// Blocks per sync request, small so the download takes several rounds.
const BATCH: u32 = 100;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_node_downloads_its_peers_chain_in_batches_block_for_block() {
    let mut params = ChainParams::regtest();
    params.name = "sync-test".into();
    params.target_spacing = 1;
    let dir = tempfile::tempdir().expect("temp dir");

    let mut chain = Blockchain::new(params.clone()).with_threads(1);
    let start_time = unix_now() - u32::try_from(BLOCKS + 600).expect("fits");
    let control = MineControl::new();
    for i in 0..BLOCKS {
        let time = start_time + u32::try_from(i).expect("fits");
        chain
            .add_records_at(vec![format!("record {i}").into_bytes()], time, &control)
            .expect("mined");
    }
    let source = Store::create(&dir.path().join("a"), params.clone()).expect("store");
    source
        .append_blocks(&chain.blocks()[1..], unix_now())
        .expect("valid blocks");
    drop(source);

    let mut a = NodeConfig::new(dir.path().join("a"), params.clone());
    a.api_addr = None;
    let a = start(a).await.expect("A starts");
    let mut b = NodeConfig::new(dir.path().join("b"), params);
    b.api_addr = None;
    b.peers = a.listen_addrs.clone();
    b.sync_batch = BATCH;
    b.tip_poll_interval = Duration::from_millis(100);
    let b = start(b).await.expect("B starts");

    tokio::time::timeout(Duration::from_secs(30), async {
        while b.tip().height < BLOCKS {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("B caught up in time");

    assert_eq!(b.tip(), a.tip());
    for (height, block) in chain.blocks().iter().enumerate() {
        let height = u64::try_from(height).expect("fits");
        let stored = b.store().block_at(height).expect("readable");
        assert_eq!(stored.as_ref(), Some(block), "block {height} differs");
    }
    b.store()
        .verify(VerifyMode::Full, unix_now())
        .expect("B's chain verifies");
    a.shutdown().await;
    b.shutdown().await;
}
