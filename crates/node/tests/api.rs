//! The HTTP API under bad input of every kind: each request gets a JSON `{code, message}` error
//! with a fitting status, and nothing is added to the pool. One node, no peers, 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use ironchain_core::ChainParams;
use ironchain_node::{NodeConfig, RunningNode, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends raw request bytes and returns the status code and the body.
async fn send(addr: SocketAddr, request: &[u8]) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("API up");
    stream.write_all(request).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .get(9..12)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let start = body.find('{').unwrap_or(0);
    let end = body.rfind('}').map_or(body.len(), |end| end + 1);
    (status, body[start..end].to_owned())
}

async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> (u16, String) {
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n",
        body.len()
    );
    send(addr, &[head.as_bytes(), body].concat()).await
}

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
        let auth = format!("Authorization: Bearer {token}\r\n");
        let limit = node.store().max_record_size();

        let cases: Vec<(&str, (u16, String), u16, &str)> = vec![
            (
                "no token",
                request(api, "POST", "/records", "", b"x").await,
                401,
                "unauthorized",
            ),
            (
                "wrong token",
                request(
                    api,
                    "POST",
                    "/records",
                    "Authorization: Bearer nope\r\n",
                    b"x",
                )
                .await,
                401,
                "unauthorized",
            ),
            (
                "body over the limit",
                request(
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
                request(
                    api,
                    "POST",
                    "/records",
                    &format!("{auth}Content-Type: application/json\r\n"),
                    b"{\"text\":",
                )
                .await,
                400,
                "bad_json",
            ),
            (
                "bad hex",
                request(
                    api,
                    "POST",
                    "/records",
                    &format!("{auth}Content-Type: application/json\r\n"),
                    b"{\"hex\":\"zz\"}",
                )
                .await,
                400,
                "bad_hex",
            ),
            (
                "record too large for a block",
                request(api, "POST", "/records", &auth, &vec![b'a'; limit + 1]).await,
                422,
                "record_refused",
            ),
            (
                "bad query",
                request(api, "GET", "/blocks?from=minus-one", "", b"").await,
                400,
                "bad_query",
            ),
            (
                "bad block id",
                request(api, "GET", "/blocks/not-a-hash", "", b"").await,
                400,
                "bad_block_id",
            ),
            (
                "no such block",
                request(api, "GET", "/blocks/999", "", b"").await,
                404,
                "not_found",
            ),
            (
                "bad record index",
                request(api, "GET", "/blocks/0/records/x/proof", "", b"").await,
                400,
                "bad_path",
            ),
            (
                "no such record",
                request(api, "GET", "/blocks/0/records/7/proof", "", b"").await,
                404,
                "not_found",
            ),
            (
                "unknown endpoint",
                request(api, "GET", "/nothing", "", b"").await,
                404,
                "not_found",
            ),
            (
                "wrong method",
                request(api, "GET", "/records", "", b"").await,
                405,
                "method_not_allowed",
            ),
            (
                "not a header file",
                request(api, "POST", "/headers/stats", "", b"abc\n").await,
                400,
                "bad_header_file",
            ),
            (
                "no headers",
                request(api, "POST", "/headers/stats", "", b"12345").await,
                400,
                "bad_header_file",
            ),
            (
                "unknown chain",
                request(api, "POST", "/headers/stats?chain=dogecoin", "", b"").await,
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
        let (status, body) = request(api, "POST", "/records", &auth, b"a good record").await;
        assert_eq!(status, 201, "{body}");
        assert_eq!(node.store().pending_count().expect("pool"), 1);
        node.shutdown().await;
    })
    .await
    .expect("finished in time");
}
