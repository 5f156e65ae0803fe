//! Whole nodes on 127.0.0.1 reaching consensus: they converge on one chain, pass records from
//! node to node, survive a partition, repair a tampered copy from their peers, and shrug off
//! peers that lie or send garbage.
//!
//! Every test uses the regtest chain (a block takes a couple of hashes), short mining intervals
//! and tip polling, and is bounded by [`TEST_TIMEOUT`] so a lost message fails instead of hanging.

use std::future::Future;
use std::path::Path;
use std::time::Duration;

use ironchain_core::chain::unix_now;
use ironchain_core::merkle::InclusionProof;
use ironchain_core::miner::{MineControl, MineJob, MineOutcome, mine};
use ironchain_core::{Block, ChainParams, CompactTarget, Header, MerkleRoot, merkle};
use ironchain_node::net::{self, NetworkConfig, NetworkEvent, NetworkHandle, PublishError};
use ironchain_node::sync::{Request, Response, TipClaim};
use ironchain_node::{MiningConfig, NodeConfig, RunningNode, start};
use ironchain_store::{OpenOptions, Store, VerifyMode};
use tokio::sync::mpsc;

mod common;

use common::http;

const TEST_TIMEOUT: Duration = Duration::from_secs(60);

async fn bounded<F: Future<Output = ()>>(test: F) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test finished in time");
}

fn config(base: &Path, name: &str, mining: Option<MiningConfig>) -> NodeConfig {
    let mut config = NodeConfig::new(base.join(name), ChainParams::regtest());
    config.tip_poll_interval = Duration::from_millis(300);
    config.heartbeat_interval = Duration::from_millis(100);
    config.mining = mining;
    config
}

fn miner(empty: bool, interval_ms: u64) -> Option<MiningConfig> {
    Some(MiningConfig {
        threads: 1,
        mine_empty: empty,
        min_interval: Duration::from_millis(interval_ms),
    })
}

/// Waits until `check` holds, polling.
async fn until(mut check: impl FnMut() -> bool) {
    while !check() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn converged(nodes: &[&RunningNode]) {
    until(|| nodes.windows(2).all(|w| w[0].tip().hash == w[1].tip().hash)).await;
}

fn token(node: &RunningNode) -> String {
    std::fs::read_to_string(&node.cookie_path).expect("cookie written")
}

/// Finds `record` on `node`'s best chain: its height and index.
fn find_record(node: &RunningNode, record: &[u8]) -> Option<(u64, usize)> {
    let store = node.store();
    let tip = store.tip().ok()?;
    (1..=tip.height).find_map(|height| {
        let block = store.block_at(height).ok()??;
        let index = block.records.iter().position(|r| r == record)?;
        Some((height, index))
    })
}

fn is_pending(node: &RunningNode, record: &[u8]) -> bool {
    node.store()
        .all_pending()
        .expect("pool readable")
        .iter()
        .any(|p| p.bytes == record)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_converge_and_a_record_posted_to_a_is_mined_by_b_and_proven_on_c() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = start(config(dir.path(), "a", None))
            .await
            .expect("A starts");
        let mut b = config(dir.path(), "b", miner(false, 100));
        b.peers = a.listen_addrs.clone();
        let b = start(b).await.expect("B starts");
        let mut c = config(dir.path(), "c", None);
        c.peers = b.listen_addrs.clone();
        let c = start(c).await.expect("C starts");
        until(|| true).await;

        // Wait for gossip to connect A to B (the record travels by gossip).
        while b.network().peers().await.expect("running").len() < 2 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;

        let record = b"alice pays bob 5".to_vec();
        let api = a.api_addr.expect("A serves the API");
        let (status, _) = http(api, "POST", "/records", &[], &record).await;
        assert_eq!(status, 401, "a write without the token is refused");
        let auth = ("Authorization", format!("Bearer {}", token(&a)));
        let (status, body) = http(api, "POST", "/records", &[auth], &record).await;
        assert_eq!(status, 201, "{body}");

        until(|| find_record(&c, &record).is_some()).await;
        converged(&[&a, &b, &c]).await;
        let (height, index) = find_record(&c, &record).expect("C has it");
        assert!(b.tip().height >= height);

        let c_api = c.api_addr.expect("C serves the API");
        let (status, body) = http(
            c_api,
            "GET",
            &format!("/blocks/{height}/records/{index}/proof"),
            &[],
            b"",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).expect("JSON");
        let proof: InclusionProof = serde_json::from_value(json["proof"].clone()).expect("a proof");
        let root: MerkleRoot = json["merkle_root"]
            .as_str()
            .expect("root")
            .parse()
            .expect("hex root");
        let header_root = c
            .store()
            .block_at(height)
            .expect("store readable")
            .expect("block present")
            .header
            .merkle_root;
        assert_eq!(root, header_root);
        proof.verify(&record, root).expect("the proof holds");

        let (status, body) = http(c_api, "GET", "/status", &[], b"").await;
        assert_eq!(status, 200);
        assert!(body.contains("\"height\""), "{body}");
        let (status, body) = http(c_api, "GET", "/blocks/nonsense", &[], b"").await;
        assert_eq!(status, 400);
        assert!(body.contains("\"code\""), "{body}");
        for node in [a, b, c] {
            node.shutdown().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitioned_groups_that_both_mine_heal_onto_the_most_work_chain_losing_no_record() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        // Group 1: A mines fast, B follows. Group 2: C mines slowly, alone.
        let a = start(config(dir.path(), "a", miner(true, 150)))
            .await
            .expect("A");
        let mut b = config(dir.path(), "b", None);
        b.peers = a.listen_addrs.clone();
        let b = start(b).await.expect("B");
        let c = start(config(dir.path(), "c", miner(true, 600)))
            .await
            .expect("C");

        let on_c = b"posted to C during the partition".to_vec();
        let on_a = b"posted to A during the partition".to_vec();
        c.add_records(vec![on_c.clone()]).await.expect("C's pool");
        a.add_records(vec![on_a.clone()]).await.expect("A's pool");
        until(|| find_record(&c, &on_c).is_some() && find_record(&a, &on_a).is_some()).await;
        until(|| c.tip().height >= 3 && a.tip().height >= 8).await;
        assert_ne!(a.tip().hash, c.tip().hash, "the groups diverged");

        // Heal.
        c.network()
            .dial(a.listen_addrs[0].clone())
            .await
            .expect("C reaches A");
        converged(&[&a, &b, &c]).await;
        let winner = a.tip();
        assert!(winner.work >= c.tip().work);
        // C's record was in a block that the reorganization disconnected: it is pending again
        // or already mined again, never lost.
        until(|| find_record(&a, &on_c).is_some() || is_pending(&c, &on_c)).await;
        assert!(find_record(&a, &on_a).is_some());
        until(|| find_record(&a, &on_c).is_some()).await;
        for node in [a, b, c] {
            node.shutdown().await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_store_was_tampered_with_repairs_itself_from_its_peers() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let a = start(config(dir.path(), "a", miner(false, 50)))
            .await
            .expect("A");
        let mut c_config = config(dir.path(), "c", None);
        c_config.peers = a.listen_addrs.clone();
        let c = start(c_config.clone()).await.expect("C");
        for i in 0..6 {
            // Read before adding: A may mine the record before add_records returns.
            let height = a.tip().height;
            a.add_records(vec![format!("record {i}").into_bytes()])
                .await
                .expect("pool");
            until(|| a.tip().height > height).await;
        }
        converged(&[&a, &c]).await;
        let good = a.tip();
        c.shutdown().await;

        // Change a record deep in C's chain, behind the node's back.
        {
            let options = OpenOptions::new(VerifyMode::None);
            let opened = Store::open_with(&c_config.data_dir, &options).expect("C's store");
            opened
                .store
                .tamper_record(2, 0, b"record 1, forged")
                .expect("tamper");
        }
        let c = start(c_config.clone())
            .await
            .expect("C restarts and repairs");
        let repair = c.repair().expect("the tampering was found");
        assert_eq!(repair.bad_height, 2);
        until(|| c.tip().hash == good.hash).await;
        until(|| c.repair().is_some_and(|r| r.resynced)).await;
        let block = c
            .store()
            .block_at(2)
            .expect("store readable")
            .expect("block present");
        assert_eq!(block.records[0], b"record 1");
        c.store()
            .verify(VerifyMode::Full, unix_now())
            .expect("the repaired chain verifies");
        a.shutdown().await;
        c.shutdown().await;
    })
    .await;
}

/// A raw network peer under the test's control.
struct Rogue {
    handle: NetworkHandle,
    events: mpsc::Receiver<NetworkEvent>,
}

async fn rogue(params: &ChainParams) -> Rogue {
    let mut config = NetworkConfig::new(ironchain_node::chain_id(params));
    config.heartbeat_interval = Duration::from_millis(100);
    config.sync_limits.max_request = 1 << 20;
    let (handle, events) = net::spawn(config).expect("rogue starts");
    Rogue { handle, events }
}

/// Publishes `data` on the blocks topic once the peer's subscription has arrived.
async fn publish(rogue: &Rogue, data: Vec<u8>) {
    loop {
        match rogue.handle.publish_block(data.clone()).await {
            Ok(()) => return,
            Err(PublishError::NoPeers) => tokio::time::sleep(Duration::from_millis(50)).await,
            Err(error) => panic!("publish failed: {error}"),
        }
    }
}

/// Mines a child of `parent` with these bits and time.
fn child(parent: &Block, bits: u32, time: u32, records: Vec<Vec<u8>>) -> Block {
    let header = Header {
        version: 1,
        prev_blockhash: parent.block_hash(),
        merkle_root: merkle::root(&records),
        time,
        bits: CompactTarget::from_consensus(bits),
        nonce: 0,
    };
    let target = header.bits.to_target().expect("usable bits");
    let job = MineJob {
        header,
        target,
        max_time: time + 1000,
        threads: 1,
    };
    match mine(&job, &MineControl::new()) {
        MineOutcome::Found(header) => Block::new(header, records),
        other => panic!("mining failed: {other:?}"),
    }
}

/// Returns true if `honest` has dropped the rogue and refuses it: a fresh dial from the rogue
/// may complete the rogue's side of the handshake, but never leaves a connection on ours.
async fn is_banned(rogue: &Rogue, honest: &RunningNode) -> bool {
    let rogue_id = rogue.handle.local_peer_id();
    let connected = |peers: Vec<net::PeerInfo>| peers.iter().any(|p| p.peer_id == rogue_id);
    if connected(honest.network().peers().await.expect("running")) {
        return false;
    }
    let _ = rogue.handle.dial(honest.listen_addrs[0].clone()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    !connected(honest.network().peers().await.expect("running"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_sending_invalid_blocks_garbage_or_oversized_blocks_are_banned() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let params = ChainParams::regtest();
        let a = start(config(dir.path(), "a", miner(true, 200)))
            .await
            .expect("A");
        let mut b = config(dir.path(), "b", None);
        b.peers = a.listen_addrs.clone();
        let b = start(b).await.expect("B");
        until(|| a.tip().height >= 2).await;

        let now = unix_now();
        let tip = a
            .store()
            .block_at(a.tip().height)
            .expect("store readable")
            .expect("block present");
        let easy = params.genesis.header.bits.to_consensus();
        // A block whose hash is above its target.
        let mut bad_pow = child(&tip, easy, now, vec![b"bad pow".to_vec()]);
        let target = bad_pow.header.bits.to_target().expect("usable bits");
        while target.is_met_by(bad_pow.block_hash()) {
            bad_pow.header.nonce += 1;
        }
        let cases: Vec<(&str, Vec<Vec<u8>>)> = vec![
            ("bad proof of work", vec![bad_pow.encode()]),
            (
                "wrong difficulty",
                vec![child(&tip, 0x1f00_ffff, now, vec![b"hard".to_vec()]).encode()],
            ),
            (
                "future-dated",
                vec![
                    child(&tip, easy, now + 3 * 3600, vec![b"future 1".to_vec()]).encode(),
                    child(&tip, easy, now + 3 * 3600, vec![b"future 2".to_vec()]).encode(),
                ],
            ),
            (
                "garbage",
                vec![b"garbage 1".to_vec(), b"garbage 2".to_vec()],
            ),
        ];
        for (name, messages) in cases {
            let rogue = rogue(&params).await;
            rogue
                .handle
                .dial(a.listen_addrs[0].clone())
                .await
                .expect("rogue connects");
            for message in messages {
                publish(&rogue, message).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // Generous: CI runs these tests in parallel on two shared cores.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while !is_banned(&rogue, &a).await {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name}: rogue not banned"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }

        // The honest nodes kept their chain and keep making progress together.
        let height = a.tip().height;
        until(|| a.tip().height > height + 2).await;
        converged(&[&a, &b]).await;
        assert!(find_record(&a, b"bad pow").is_none());
        a.store()
            .verify(VerifyMode::Full, unix_now())
            .expect("A's chain verifies");
        a.shutdown().await;
        b.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_sending_oversized_or_garbage_sync_requests_are_banned() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let params = ChainParams::regtest();
        let a = start(config(dir.path(), "a", miner(true, 200)))
            .await
            .expect("A");
        let max_request = net::SyncLimits::default().max_request;
        let cases: [(&str, Vec<u8>); 2] = [
            // Refused by A's codec on the length prefix, before a payload byte is read.
            ("oversized", vec![0x02; max_request + 1]),
            // Framed correctly, but not a sync request.
            ("garbage", b"not a sync request".to_vec()),
        ];
        for (name, request) in cases {
            let rogue = rogue(&params).await;
            let a_id = rogue
                .handle
                .dial(a.listen_addrs[0].clone())
                .await
                .expect("rogue connects");
            // Each costs 60 points: the second bans. A closes the stream unanswered, and then
            // the connection.
            for _ in 0..2 {
                let answer = rogue.handle.request(a_id, request.clone()).await;
                assert!(answer.is_err(), "{name}: A answered {answer:?}");
            }
            // Generous: CI runs these tests in parallel on two shared cores.
            let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
            while !is_banned(&rogue, &a).await {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{name}: rogue not banned"
                );
            }
        }
        let height = a.tip().height;
        until(|| a.tip().height > height + 2).await;
        a.shutdown().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_a_long_chain_but_serving_a_short_one_changes_nothing() {
    bounded(async {
        let dir = tempfile::tempdir().expect("temp dir");
        let params = ChainParams::regtest();
        let a = start(config(dir.path(), "a", miner(false, 10)))
            .await
            .expect("A");
        for i in 0..5 {
            // The height is read before the record goes in: A may mine it before add_records
            // returns, and a height read after that would wait for a block that never comes.
            let height = a.tip().height;
            a.add_records(vec![format!("honest {i}").into_bytes()])
                .await
                .expect("pool");
            until(|| a.tip().height > height).await;
        }
        let before = a.tip();

        // The liar claims a million blocks and serves two blocks forking from genesis.
        let mut liar = rogue(&params).await;
        let genesis = params.genesis.clone();
        let now = unix_now();
        let easy = genesis.header.bits.to_consensus();
        let one = child(&genesis, easy, now, vec![b"lie 1".to_vec()]);
        let two = child(&one, easy, now + 1, vec![b"lie 2".to_vec()]);
        let served = Response::Blocks(vec![one.into(), two.into()]).encode();
        let claim = Response::Tip(TipClaim {
            height: 1_000_000,
            hash: two_hash(&served),
            work: ironchain_core::Work::from_be_bytes([0x7f; 32]),
        })
        .encode();
        liar.handle
            .dial(a.listen_addrs[0].clone())
            .await
            .expect("liar connects");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            tokio::select! {
                event = liar.events.recv() => match event {
                    Some(NetworkEvent::InboundRequest { data, responder, .. }) => {
                        let answer = match Request::decode(&data) {
                            Ok(Request::GetTip) => claim.clone(),
                            _ => served.clone(),
                        };
                        let _ = responder.respond(answer);
                    }
                    Some(_) => {}
                    None => break,
                },
                _ = tokio::time::sleep(Duration::from_millis(200)) => {
                    if is_banned(&liar, &a).await { break; }
                    assert!(tokio::time::Instant::now() < deadline, "liar not banned");
                }
            }
        }
        assert_eq!(a.tip(), before, "the lie changed nothing");
        a.shutdown().await;
    })
    .await;
}

fn two_hash(served: &[u8]) -> ironchain_core::BlockHash {
    match Response::decode(served, 1 << 20) {
        Ok(Response::Blocks(blocks)) => blocks.last().expect("two blocks").block_hash(),
        _ => unreachable!("the test encoded blocks"),
    }
}
