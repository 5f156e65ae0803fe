//! End-to-end behaviour of the network layer: real nodes on 127.0.0.1 talking over TCP.
//!
//! Each test starts two or three nodes in the test's runtime, connects them in a line
//! (A - B - C) where gossip must travel through B, and bounds everything by a few seconds so a
//! lost message fails the test instead of hanging it. The gossip heartbeat is shortened to
//! 100 ms so meshes form in a fraction of a second; tests wait for the mesh explicitly rather
//! than sleeping.

use std::future::Future;
use std::io;
use std::time::Duration;

use ironchain_node::net::{
    BadFrame, DialError, Multiaddr, NetworkConfig, NetworkEvent, NetworkHandle, PeerId,
    RequestError, RespondError, SyncLimits, Topic, Validation, spawn,
};
use tokio::sync::mpsc;

/// Upper bound for any one test.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

/// A running node and what a test needs of it.
struct Node {
    handle: NetworkHandle,
    events: mpsc::Receiver<NetworkEvent>,
    addr: Multiaddr,
}

impl Node {
    fn id(&self) -> PeerId {
        self.handle.local_peer_id()
    }

    /// Waits for the first event `pick` accepts, skipping the others.
    async fn next<T>(&mut self, mut pick: impl FnMut(NetworkEvent) -> Option<T>) -> T {
        loop {
            let event = self.events.recv().await.expect("network task is running");
            if let Some(found) = pick(event) {
                return found;
            }
        }
    }

    /// Waits for the next gossip block and returns who forwarded it, its id and its bytes.
    async fn next_block(&mut self) -> (PeerId, ironchain_node::net::MessageId, Vec<u8>) {
        self.next(|e| match e {
            NetworkEvent::GossipBlock {
                from,
                message_id,
                data,
            } => Some((from, message_id, data)),
            _ => None,
        })
        .await
    }
}

fn test_config() -> NetworkConfig {
    let mut config = NetworkConfig::new("ironchain-test");
    config.heartbeat_interval = Duration::from_millis(100);
    config.request_timeout = Duration::from_secs(3);
    config
}

async fn start(config: NetworkConfig) -> Node {
    let (handle, mut events) = spawn(config).expect("a test config is valid");
    let addr = loop {
        match events.recv().await.expect("network task is running") {
            NetworkEvent::NewListenAddr(addr) => break addr,
            _ => continue,
        }
    };
    Node {
        handle,
        events,
        addr,
    }
}

/// Connects `from` to `to` and waits until both sides report the connection.
async fn connect(from: &mut Node, to: &mut Node) {
    let to_id = to.id();
    let from_id = from.id();
    let dialled = from
        .handle
        .dial(to.addr.clone())
        .await
        .expect("dial succeeds");
    assert_eq!(dialled, to_id);
    from.next(|e| matches!(e, NetworkEvent::PeerConnected(p) if p == to_id).then_some(()))
        .await;
    to.next(|e| matches!(e, NetworkEvent::PeerConnected(p) if p == from_id).then_some(()))
        .await;
}

/// Waits until `node`'s block mesh contains all of `peers`.
async fn wait_for_block_mesh(node: &Node, peers: &[PeerId]) {
    loop {
        let mesh = node
            .handle
            .mesh_peers(Topic::Blocks)
            .await
            .expect("running");
        if peers.iter().all(|p| mesh.contains(p)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Starts A - B - C with gossip meshes formed along the line.
async fn line_of_three() -> (Node, Node, Node) {
    let (mut a, mut b, mut c) = (
        start(test_config()).await,
        start(test_config()).await,
        start(test_config()).await,
    );
    connect(&mut a, &mut b).await;
    connect(&mut c, &mut b).await;
    wait_for_block_mesh(&a, &[b.id()]).await;
    wait_for_block_mesh(&b, &[a.id(), c.id()]).await;
    wait_for_block_mesh(&c, &[b.id()]).await;
    (a, b, c)
}

/// Runs `test` under [`TEST_TIMEOUT`].
async fn bounded<F: Future<Output = ()>>(test: F) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    tokio::time::timeout(TEST_TIMEOUT, test)
        .await
        .expect("test finished in time");
}

/// Answers every sync request on `node` with `answer(request)` until the node stops.
fn serve_requests(node: Node, answer: impl Fn(Vec<u8>) -> Vec<u8> + Send + 'static) {
    // Moved whole: an `async move` block naming only `node.events` would capture just that
    // field and drop the handle, which stops B's network task.
    let Node {
        handle, mut events, ..
    } = node;
    tokio::spawn(async move {
        let _keep_running = handle;
        while let Some(event) = events.recv().await {
            if let NetworkEvent::InboundRequest {
                data, responder, ..
            } = event
            {
                let _ = responder.respond(answer(data));
            }
        }
    });
}

#[tokio::test]
async fn two_nodes_connect_and_list_each_other() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;

        let a_peers = a.handle.peers().await.expect("running");
        let b_peers = b.handle.peers().await.expect("running");
        assert_eq!(
            a_peers.iter().map(|p| p.peer_id).collect::<Vec<_>>(),
            [b.id()]
        );
        assert_eq!(
            b_peers.iter().map(|p| p.peer_id).collect::<Vec<_>>(),
            [a.id()]
        );
        assert!(a_peers[0].outbound && !b_peers[0].outbound);
        assert_eq!(a_peers[0].address, b.addr);
        assert!(
            a.handle
                .listen_addrs()
                .await
                .expect("running")
                .contains(&a.addr)
        );
    })
    .await;
}

#[tokio::test]
async fn three_nodes_in_a_line_connect_through_the_middle() {
    bounded(async {
        let (a, b, c) = line_of_three().await;
        let mut b_peers: Vec<_> = b
            .handle
            .peers()
            .await
            .expect("running")
            .into_iter()
            .map(|p| p.peer_id)
            .collect();
        let mut expected = vec![a.id(), c.id()];
        b_peers.sort();
        expected.sort();
        assert_eq!(b_peers, expected);
        // A and C know only B.
        assert_eq!(a.handle.peers().await.expect("running").len(), 1);
        assert_eq!(c.handle.peers().await.expect("running").len(), 1);
    })
    .await;
}

#[tokio::test]
async fn accepted_block_travels_from_a_to_c_through_b() {
    bounded(async {
        let (a, mut b, mut c) = line_of_three().await;
        a.handle
            .publish_block(b"block 1".to_vec())
            .await
            .expect("B is subscribed");

        let (from, id, data) = b.next_block().await;
        assert_eq!((from, data.as_slice()), (a.id(), &b"block 1"[..]));
        // Nothing reaches C until B's node has validated the block.
        b.handle
            .report_gossip(id, from, Validation::Accept)
            .await
            .expect("running");

        let (from, _, data) = c.next_block().await;
        assert_eq!((from, data.as_slice()), (b.id(), &b"block 1"[..]));
    })
    .await;
}

#[tokio::test]
async fn record_travels_on_its_own_topic() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        // Flood publishing sends our own messages to every subscribed peer, mesh or not, once
        // the peer's subscription has arrived.
        let a_id = a.id();
        loop {
            match a.handle.publish_record(b"record".to_vec()).await {
                Ok(()) => break,
                Err(ironchain_node::net::PublishError::NoPeers) => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Err(e) => panic!("publish failed: {e}"),
            }
        }
        let (from, data) = b
            .next(|e| match e {
                NetworkEvent::GossipRecord { from, data, .. } => Some((from, data)),
                NetworkEvent::GossipBlock { .. } => panic!("a record arrived as a block"),
                _ => None,
            })
            .await;
        assert_eq!((from, data.as_slice()), (a_id, &b"record"[..]));
    })
    .await;
}

#[tokio::test]
async fn rejected_block_is_not_forwarded_and_costs_its_sender() {
    bounded(async {
        let (a, mut b, mut c) = line_of_three().await;

        a.handle
            .publish_block(b"invalid block".to_vec())
            .await
            .expect("B is subscribed");
        let (from, id, data) = b.next_block().await;
        assert_eq!(data, b"invalid block");
        b.handle
            .report_gossip(id, from, Validation::Reject)
            .await
            .expect("running");

        let score = b
            .handle
            .peers()
            .await
            .expect("running")
            .into_iter()
            .find(|p| p.peer_id == a.id());
        let score = score
            .and_then(|p| p.gossip_score)
            .expect("A is connected and scored");
        assert!(score < 0.0, "A's score after an invalid block is {score}");

        // A valid block sent after the invalid one does reach C, and is the first C sees.
        a.handle
            .publish_block(b"valid block".to_vec())
            .await
            .expect("B is subscribed");
        let (from, id, data) = b.next_block().await;
        assert_eq!(data, b"valid block");
        b.handle
            .report_gossip(id, from, Validation::Accept)
            .await
            .expect("running");
        let (_, _, data) = c.next_block().await;
        assert_eq!(data, b"valid block", "C received the rejected block");
    })
    .await;
}

#[tokio::test]
async fn request_from_a_gets_bs_answer() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        let b_id = b.id();
        serve_requests(b, |request| [b"answer to ".as_slice(), &request].concat());

        let answer = a.handle.request(b_id, b"headers from 7".to_vec()).await;
        assert_eq!(answer.expect("B answers"), b"answer to headers from 7");
    })
    .await;
}

#[tokio::test]
async fn request_over_our_limit_is_refused_before_sending() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        let too_big = vec![0u8; SyncLimits::default().max_request + 1];
        match a.handle.request(b.id(), too_big).await {
            Err(RequestError::TooLarge { size, max }) => assert_eq!(size, max + 1),
            other => panic!("expected TooLarge, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn request_over_the_peers_limit_fails_and_the_connection_survives() {
    bounded(async {
        let mut small = test_config();
        small.sync_limits.max_request = 1024;
        let (mut a, mut b) = (start(test_config()).await, start(small).await);
        connect(&mut a, &mut b).await;
        let b_id = b.id();
        // B's node would panic on seeing the oversized request: it must never get it.
        serve_requests(b, |request| {
            assert!(
                request.len() <= 1024,
                "B's node saw a {} byte request",
                request.len()
            );
            b"ok".to_vec()
        });

        let err = a
            .handle
            .request(b_id, vec![0u8; 4096])
            .await
            .expect_err("B refuses 4 KiB");
        assert!(
            matches!(err, RequestError::Io(_) | RequestError::ConnectionClosed),
            "unexpected error {err:?}"
        );
        // The refusal closed one stream, not the connection: a small request still works.
        let answer = a
            .handle
            .request(b_id, vec![0u8; 1024])
            .await
            .expect("B answers");
        assert_eq!(answer, b"ok");
    })
    .await;
}

#[tokio::test]
async fn request_over_our_limit_is_reported_with_the_peer_that_sent_it() {
    bounded(async {
        let mut small = test_config();
        small.sync_limits.max_request = 1024;
        let (mut a, mut b) = (start(test_config()).await, start(small).await);
        connect(&mut a, &mut b).await;
        let (a_id, b_id) = (a.id(), b.id());
        let request = tokio::spawn({
            let a = a.handle.clone();
            async move { a.request(b_id, vec![0u8; 4096]).await }
        });
        // The request-response behaviour drops a request its codec cannot read without telling
        // anyone; ours reads it as a bad frame, so B's node learns who sent it.
        let (peer, error) = b
            .next(|e| match e {
                NetworkEvent::BadInboundRequest { peer, error } => Some((peer, error)),
                NetworkEvent::InboundRequest { .. } => panic!("B's node saw the oversized request"),
                _ => None,
            })
            .await;
        assert_eq!(peer, a_id);
        assert_eq!(
            error,
            BadFrame::TooLarge {
                announced: 4096,
                max: 1024
            }
        );
        let outcome = request.await.expect("request task did not panic");
        assert!(outcome.is_err(), "A got an answer: {outcome:?}");
    })
    .await;
}

#[tokio::test]
async fn response_over_our_limit_is_an_invalid_data_error() {
    bounded(async {
        let mut small = test_config();
        small.sync_limits.max_response = 1024;
        let (mut a, mut b) = (start(small).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        let b_id = b.id();
        serve_requests(b, |request| vec![0u8; usize::from(request[0]) * 1024]);

        match a.handle.request(b_id, vec![4]).await {
            Err(RequestError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::InvalidData),
            other => panic!("expected an InvalidData error, got {other:?}"),
        }
        let answer = a
            .handle
            .request(b_id, vec![1])
            .await
            .expect("1 KiB is within the limit");
        assert_eq!(answer.len(), 1024);
    })
    .await;
}

#[tokio::test]
async fn responder_refuses_an_answer_over_our_limit() {
    bounded(async {
        let mut small = test_config();
        small.sync_limits.max_response = 1024;
        let (mut a, mut b) = (start(test_config()).await, start(small).await);
        connect(&mut a, &mut b).await;
        let b_id = b.id();

        let request = tokio::spawn({
            let a = a.handle.clone();
            async move { a.request(b_id, b"everything".to_vec()).await }
        });
        let responder = b
            .next(|e| match e {
                NetworkEvent::InboundRequest { responder, .. } => Some(responder),
                _ => None,
            })
            .await;
        assert_eq!(
            responder.respond(vec![0u8; 1025]),
            Err(RespondError::TooLarge {
                size: 1025,
                max: 1024
            })
        );
        // The responder is consumed, so A's stream is closed without an answer.
        let outcome = request.await.expect("request task did not panic");
        assert!(outcome.is_err(), "A got an answer: {outcome:?}");
    })
    .await;
}

#[tokio::test]
async fn nodes_of_different_chains_cannot_sync() {
    bounded(async {
        let mut other_chain = test_config();
        other_chain.chain_id = "another-chain".into();
        let (mut a, mut b) = (start(test_config()).await, start(other_chain).await);
        connect(&mut a, &mut b).await;
        match a.handle.request(b.id(), b"hello".to_vec()).await {
            Err(RequestError::UnsupportedProtocol) => {}
            other => panic!("expected UnsupportedProtocol, got {other:?}"),
        }
    })
    .await;
}

#[tokio::test]
async fn banned_peer_is_disconnected_and_cannot_reconnect() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        let (a_id, b_id) = (a.id(), b.id());

        b.handle.ban(a_id).await.expect("running");
        b.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == a_id).then_some(()))
            .await;
        a.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == b_id).then_some(()))
            .await;

        // B refuses to dial A.
        match b.handle.dial(a.addr.clone()).await {
            Err(DialError::Failed { reason, .. }) => {
                assert!(reason.contains("block list"), "unexpected reason: {reason}")
            }
            other => panic!("B dialled a banned peer: {other:?}"),
        }

        // A may complete its side of the handshake before B refuses the connection, so its dial
        // either fails or is followed at once by a disconnect. B never lets A in.
        if a.handle.dial(b.addr.clone()).await.is_ok() {
            a.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == b_id).then_some(()))
                .await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(b.handle.peers().await.expect("running").is_empty());
        assert!(a.handle.peers().await.expect("running").is_empty());
        while let Ok(event) = b.events.try_recv() {
            assert!(
                !matches!(event, NetworkEvent::PeerConnected(p) if p == a_id),
                "B reported the banned peer as connected"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn node_with_mdns_enabled_starts() {
    bounded(async {
        let mut config = test_config();
        config.mdns = true;
        let node = start(config).await;
        assert!(
            node.handle
                .listen_addrs()
                .await
                .expect("running")
                .contains(&node.addr)
        );
    })
    .await;
}

#[tokio::test]
async fn temporary_ban_lifts_after_its_duration() {
    bounded(async {
        let (mut a, mut b) = (start(test_config()).await, start(test_config()).await);
        connect(&mut a, &mut b).await;
        let a_id = a.id();

        b.handle
            .ban_for(a_id, Duration::from_millis(300))
            .await
            .expect("running");
        b.next(|e| matches!(e, NetworkEvent::PeerDisconnected(p) if p == a_id).then_some(()))
            .await;
        assert!(
            b.handle.dial(a.addr.clone()).await.is_err(),
            "the ban is in force"
        );

        tokio::time::sleep(Duration::from_millis(500)).await;
        let dialled = b
            .handle
            .dial(a.addr.clone())
            .await
            .expect("the ban has lifted");
        assert_eq!(dialled, a_id);
    })
    .await;
}
