//! The node serves what the explorer page needs to check it without trusting it: the consensus
//! rules compiled to WebAssembly with their glue, and the chain's own rules as bytes the module
//! decodes (`GET /params`). One regtest node, no peers, 127.0.0.1.

use std::net::SocketAddr;
use std::time::Duration;

use ironchain_core::ChainParams;
use ironchain_core::params::encoding::decode_params;
use ironchain_node::{NodeConfig, start};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GETs `path` and returns its content type and body bytes (the API sends a length for these).
async fn get_bytes(addr: SocketAddr, path: &str) -> (String, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("API up");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
    let content_type = head
        .lines()
        .find_map(|line| line.strip_prefix("content-type: "))
        .expect("a content type")
        .to_owned();
    (content_type, response[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_serves_the_module_its_glue_and_its_own_rules() {
    tokio::time::timeout(Duration::from_secs(60), async {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = start(NodeConfig::new(dir.path(), ChainParams::regtest()))
            .await
            .expect("node starts");
        let api = node.api_addr.expect("API on");

        let (kind, module) = get_bytes(api, "/explorer/ironchain.wasm").await;
        assert_eq!(kind, "application/wasm");
        assert_eq!(module, ironchain_wasm::MODULE);
        assert_eq!(&module[..4], b"\0asm");

        let (kind, glue) = get_bytes(api, "/explorer/ironchain.js").await;
        assert!(kind.starts_with("text/javascript"), "{kind}");
        assert_eq!(glue, ironchain_wasm::GLUE.as_bytes());

        let (kind, params) = get_bytes(api, "/params").await;
        assert_eq!(kind, "application/octet-stream");
        assert_eq!(decode_params(&params), Ok(ChainParams::regtest()));
        node.shutdown().await;
    })
    .await
    .expect("the test finishes in time");
}
