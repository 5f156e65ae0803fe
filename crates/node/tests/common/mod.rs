//! Helpers shared by the node's integration tests: a minimal HTTP/1.1 client for the API. Each
//! test file uses a different subset of them.
#![allow(dead_code)]

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP/1.1 client: returns the status and the body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("API up");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    stream.write_all(body).await.expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text[9..12].parse().expect("status code");
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: keep the JSON between the first '{' or '[' and the last '}' or ']'.
    let start = body.find(['{', '[']).unwrap_or(0);
    let end = body.rfind(['}', ']']).map_or(body.len(), |e| e + 1);
    (status, body[start..end].to_owned())
}

/// GETs `path` and parses the JSON body, whatever the status.
pub async fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let (_, body) = http(addr, "GET", path, &[], b"").await;
    serde_json::from_str(&body).expect("valid JSON")
}
