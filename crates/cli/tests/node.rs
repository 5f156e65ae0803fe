//! `ironchain node` and `ironchain testnet` as a user runs them: a testnet of nodes on loopback
//! mines and agrees, and a node prints how to reach it, serves its API and stops cleanly on
//! Ctrl-C (SIGINT), keeping its chain.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

mod common;

use common::command as ironchain;
use std::time::{Duration, Instant};

#[test]
fn a_testnet_of_three_mines_and_reports_each_node() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = ironchain()
        .args([
            "testnet",
            "--nodes",
            "3",
            "--seconds",
            "6",
            "--json",
            "--dir",
        ])
        .arg(dir.path())
        .output()
        .expect("the binary runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON object per line"))
        .collect();
    let nodes: Vec<_> = lines
        .iter()
        .filter(|line| line.get("node").is_some())
        .collect();
    assert_eq!(nodes.len(), 3);
    for node in &nodes {
        assert!(
            node["api"]
                .as_str()
                .is_some_and(|api| api.starts_with("http://127.0.0.1:"))
        );
        assert!(
            node["listen"][0]
                .as_str()
                .is_some_and(|addr| addr.starts_with("/ip4/127.0.0.1/"))
        );
    }
    let stopped = lines.last().expect("a final line")["stopped"]
        .as_array()
        .expect("tips")
        .clone();
    let heights: Vec<u64> = stopped
        .iter()
        .map(|tip| tip["height"].as_u64().expect("height"))
        .collect();
    assert!(
        heights.iter().all(|&h| h >= 1),
        "the miner mined and the others followed: {heights:?}"
    );
    let (low, high) = (heights.iter().min(), heights.iter().max());
    assert!(
        high.zip(low).is_some_and(|(h, l)| h - l <= 1),
        "nodes agree to within the block in flight: {heights:?}"
    );
    for node in ["node0", "node1", "node2"] {
        assert!(
            dir.path().join(node).join("chain.redb").exists(),
            "{node} kept its chain"
        );
    }
}

/// Sends one HTTP/1.1 request to `api` and returns the status line and body.
fn http(api: &str, request: &str, body: &[u8]) -> (String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(api).expect("API listening");
    stream.write_all(request.as_bytes()).expect("send");
    stream.write_all(body).expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, rest) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.lines().next().unwrap_or_default().to_owned();
    // Chunked bodies: keep the JSON between the first brace and the last.
    let start = rest.find(['{', '[']).unwrap_or(0);
    let end = rest.rfind(['}', ']']).map_or(rest.len(), |end| end + 1);
    (status, rest[start..end].to_owned())
}

#[test]
fn a_node_serves_its_api_and_stops_cleanly_on_ctrl_c() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut child = ironchain()
        .args(["--data-dir"])
        .arg(dir.path())
        .args([
            "node",
            "--api",
            "127.0.0.1:0",
            "--mine",
            "--threads",
            "1",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let stdout = child.stdout.take().expect("piped");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the node prints how to reach it");
    let info: serde_json::Value = serde_json::from_str(&line).expect("JSON");
    let api = info["api"]
        .as_str()
        .expect("api address")
        .trim_start_matches("http://")
        .to_owned();
    let (status, body) = http(
        &api,
        "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    assert!(status.starts_with("HTTP/1.1 200"), "{status} {body}");
    assert!(body.contains("\"chain\":\"demo\""), "{body}");

    // A record posted with the cookie's token is mined, and its proof from the API checks out
    // with `ironchain check-proof`, which needs no chain.
    let token =
        std::fs::read_to_string(info["cookie"].as_str().expect("cookie path")).expect("cookie");
    let record = b"posted through the API";
    let request = format!(
        "POST /records HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\
         Content-Length: {}\r\n\r\n",
        record.len()
    );
    let (status, body) = http(&api, &request, record);
    assert!(status.starts_with("HTTP/1.1 201"), "{status} {body}");
    let proof = (0..200)
        .find_map(|_| {
            std::thread::sleep(Duration::from_millis(100));
            let get =
                "GET /blocks/1/records/0/proof HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
            let (status, body) = http(&api, get, b"");
            status.starts_with("HTTP/1.1 200").then_some(body)
        })
        .expect("the record is mined into block 1 within 20 s");
    let proof_file = dir.path().join("proof.json");
    std::fs::write(&proof_file, &proof).expect("write");
    let checked = ironchain()
        .arg("check-proof")
        .arg(&proof_file)
        .output()
        .expect("runs");
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );

    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the node stops within 20 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "clean exit on Ctrl-C: {exit:?}");
    // The chain it created is intact and opens.
    let log = ironchain()
        .arg("--data-dir")
        .arg(dir.path())
        .arg("verify")
        .output()
        .expect("runs");
    assert!(
        log.status.success(),
        "{}",
        String::from_utf8_lossy(&log.stdout)
    );
}
