//! The HTTP API under bad input of every kind: each request gets a JSON `{code, message}` error
//! with a fitting status, and nothing is added to the pool. One node, no peers, 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use ironchain_core::ChainParams;
use ironchain_node::{NodeConfig, RunningNode, start};

mod common;

use common::http;

fn error_code(body: &str) -> String {
    let json: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("JSON error body: {body:?}"));
    assert!(
        json["message"].as_str().is_some_and(|m| !m.is_empty()),
        "a message: {body}"
    );
    json["code"].as_str().expect("a code").to_owned()
}

async fn node(dir: &std::path::Path) -> (RunningNode, SocketAddr, String) {
    let node = start(NodeConfig::new(dir, ChainParams::regtest()))
        .await
        .expect("node starts");
    let addr = node.api_addr.expect("API on");
    let token = std::fs::read_to_string(&node.cookie_path).expect("cookie");
    (node, addr, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_request_gets_a_json_error_and_changes_nothing() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().expect("temp dir");
        let (node, api, token) = node(dir.path()).await;
        let auth = [("Authorization", format!("Bearer {token}"))];
        let json_auth = [
            auth[0].clone(),
            ("Content-Type", "application/json".to_owned()),
        ];
        let limit = node.store().max_record_size();

        let cases: Vec<(&str, (u16, String), u16, &str)> = vec![
            (
                "no token",
                http(api, "POST", "/records", &[], b"x").await,
                401,
                "unauthorized",
            ),
            (
                "wrong token",
                http(
                    api,
                    "POST",
                    "/records",
                    &[("Authorization", "Bearer nope".to_owned())],
                    b"x",
                )
                .await,
                401,
                "unauthorized",
            ),
            (
                "body over the limit",
                http(
                    api,
                    "POST",
                    "/records",
                    &auth,
                    &vec![b'a'; limit * 2 + 128 * 1024],
                )
                .await,
                413,
                "too_large",
            ),
            (
                "bad JSON",
                http(api, "POST", "/records", &json_auth, b"{\"text\":").await,
                400,
                "bad_json",
            ),
            (
                "bad hex",
                http(api, "POST", "/records", &json_auth, b"{\"hex\":\"zz\"}").await,
                400,
                "bad_hex",
            ),
            (
                "record too large for a block",
                http(api, "POST", "/records", &auth, &vec![b'a'; limit + 1]).await,
                422,
                "record_refused",
            ),
            (
                "bad query",
                http(api, "GET", "/blocks?from=minus-one", &[], b"").await,
                400,
                "bad_query",
            ),
            (
                "bad block id",
                http(api, "GET", "/blocks/not-a-hash", &[], b"").await,
                400,
                "bad_block_id",
            ),
            (
                "no such block",
                http(api, "GET", "/blocks/999", &[], b"").await,
                404,
                "not_found",
            ),
            (
                "bad record index",
                http(api, "GET", "/blocks/0/records/x/proof", &[], b"").await,
                400,
                "bad_path",
            ),
            (
                "no such record",
                http(api, "GET", "/blocks/0/records/7/proof", &[], b"").await,
                404,
                "not_found",
            ),
            (
                "unknown endpoint",
                http(api, "GET", "/nothing", &[], b"").await,
                404,
                "not_found",
            ),
            (
                "wrong method",
                http(api, "GET", "/records", &[], b"").await,
                405,
                "method_not_allowed",
            ),
            (
                "not a header file",
                http(api, "POST", "/headers/stats", &[], b"abc\n").await,
                400,
                "bad_header_file",
            ),
            (
                "no headers",
                http(api, "POST", "/headers/stats", &[], b"12345").await,
                400,
                "bad_header_file",
            ),
            (
                "unknown chain",
                http(api, "POST", "/headers/stats?chain=dogecoin", &[], b"").await,
                400,
                "unknown_chain",
            ),
        ];
        for (what, (status, body), expected_status, expected_code) in cases {
            assert_eq!(status, expected_status, "{what}: {body}");
            assert_eq!(error_code(&body), expected_code, "{what}");
        }
        assert_eq!(
            node.store().pending_count().expect("pool"),
            0,
            "no bad request added a record"
        );

        // The API still works after all that.
        let (status, body) = http(api, "POST", "/records", &auth, b"a good record").await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(node.store().pending_count().expect("pool"), 1);
        node.shutdown().await;
    })
    .await
    .expect("finished in time");
}
