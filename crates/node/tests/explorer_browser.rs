//! The explorer page in a real browser: Debian's headless chromium, driven through chromedriver,
//! loads the page from a running node, shows the same blocks the API lists, follows the chain
//! live, marks a block tampered with on disk with the rule it broke, checks an inclusion proof in
//! the browser, and fits a phone's width. Screenshots go to `target/explorer-*.png`.
//!
//! The test needs `chromium` and `chromedriver` (Debian packages `chromium`, `chromium-driver`),
//! which `.ci/run` installs. Without them it is skipped with a message, except under CI
//! (`CI` set), where a missing browser is a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use ironchain_core::ChainParams;
use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_node::{NodeConfig, RunningNode, start};
use ironchain_store::Store;
use serde_json::Value;

mod common;

use common::get_json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Kills chromedriver when the test ends, however it ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

fn browser_available() -> bool {
    let present = Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists();
    if !present {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver (see .ci/run)"
        );
        eprintln!(
            "SKIPPED: no {CHROMIUM} or {CHROMEDRIVER}; apt-get install chromium chromium-driver"
        );
    }
    present
}

async fn start_driver() -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let profile = tempfile::tempdir().expect("profile dir").keep();
    let caps: serde_json::Map<String, Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1200,1000", format!("--user-data-dir={}", profile.display()),
            ]
        }
    }))
    .expect("capabilities are an object");
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(client) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return (driver, client);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not accept a session at {url}");
}

/// Polls the page until `check` holds for the text of `selector`, or fails after 15 s.
async fn wait_for_text(client: &Client, selector: &str, check: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..150 {
        if let Ok(element) = client.find(Locator::Css(selector)).await
            && let Ok(text) = element.text().await
        {
            if check(&text) {
                return text;
            }
            last = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{selector} never showed what was expected; last text: {last:?}");
}

async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let png = client.screenshot().await.expect("screenshot");
    assert!(png.starts_with(b"\x89PNG"), "a PNG");
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../target/explorer-{name}.png"));
    std::fs::write(&path, png).expect("write screenshot");
    path
}

/// A node on a demo chain of a few blocks with records, mined before it starts.
async fn node_with_chain(dir: &Path) -> RunningNode {
    let params = ChainParams::demo();
    let store = Store::create(dir, params.clone()).expect("create store");
    for i in 1..=4 {
        store
            .add_records(&[format!("record {i} of the explorer test").into_bytes()])
            .expect("add");
        store
            .mine_next(1, &MineControl::new(), unix_now())
            .expect("mine");
    }
    drop(store);
    let mut config = NodeConfig::new(dir, params);
    config.tip_poll_interval = Duration::from_millis(300);
    start(config).await.expect("node starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explorer_shows_the_chain_follows_it_live_and_marks_a_tampered_block() {
    if !browser_available() {
        return;
    }
    tokio::time::timeout(Duration::from_secs(120), async {
        let dir = tempfile::tempdir().expect("temp dir");
        let node = node_with_chain(dir.path()).await;
        let api = node.api_addr.expect("the API is on");
        let (_driver, client) = start_driver().await;
        client.goto(&format!("http://{api}/")).await.expect("page loads");

        // The block list shows exactly what the API lists, newest first.
        wait_for_text(&client, "#blocks tbody", |text| text.contains("record") || !text.is_empty()).await;
        let listed = get_json(api, "/blocks").await;
        let mut expected: Vec<(u64, String)> = listed["blocks"]
            .as_array()
            .expect("blocks")
            .iter()
            .map(|b| (b["height"].as_u64().expect("height"), b["hash"].as_str().expect("hash").to_owned()))
            .collect();
        expected.reverse();
        let rows = client.find_all(Locator::Css("#blocks tbody tr")).await.expect("rows");
        assert_eq!(rows.len(), expected.len(), "one row per block");
        for (row, (height, hash)) in rows.iter().zip(&expected) {
            let text = row.text().await.expect("row text");
            assert!(text.starts_with(&height.to_string()), "row {text:?} is block {height}");
            assert!(text.contains(&hash[..8]) && text.contains(&hash[56..]), "row {text:?} shows {hash}");
        }
        wait_for_text(&client, "#verification", |text| text.contains("verified")).await;
        assert!(client.find(Locator::Css("#difficulty-chart polyline")).await.is_ok(), "difficulty chart drawn");
        screenshot(&client, "chain").await;

        // Live: a block mined now appears without a reload.
        node.store().add_records(&[b"a live record".to_vec()]).expect("add");
        node.store().mine_next(1, &MineControl::new(), unix_now()).expect("mine");
        wait_for_text(&client, "#blocks tbody tr:first-child", |text| text.starts_with("5")).await;

        // A block's page: header, proof of work, records, and an inclusion proof checked here.
        client.goto(&format!("http://{api}/#/block/3")).await.expect("block page");
        wait_for_text(&client, "#records", |text| text.contains("record 3 of the explorer test")).await;
        let pow = wait_for_text(&client, ".pow", |text| text.contains("target")).await;
        assert!(pow.contains("hash"), "{pow}");
        client.find(Locator::Css("#records button")).await.expect("proof button").click().await.expect("click");
        wait_for_text(&client, "#records .proof", |text| text.starts_with("verified")).await;

        // Bitcoin truth: a file of real headers charted per retarget period, in the page.
        client.goto(&format!("http://{api}/#/")).await.expect("home");
        let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/data/btc_blockheaders_mainnet_30000_40000.txt")
            .canonicalize()
            .expect("test data is in the repository");
        let input = client.wait().for_element(Locator::Css("#header-file")).await.expect("file input");
        input.send_keys(&file.display().to_string()).await.expect("choose the file");
        let periods = wait_for_text(&client, "#header-periods", |text| text.contains("32256")).await;
        // Bitcoin's first real difficulty change: 1d00ffff -> 1d00d86a at height 32256.
        assert!(periods.contains("1d00d86a"), "{periods}");
        assert!(!periods.contains("NO"), "every retarget in the file matches the rule: {periods}");
        assert!(client.find(Locator::Css("#header-difficulty-chart polyline")).await.is_ok());
        client
            .execute("document.querySelector('#header-stats').scrollIntoView();", vec![])
            .await
            .expect("scroll");
        screenshot(&client, "header-stats").await;

        // Tamper with block 2 on disk: the page names it and the rule it broke.
        node.store().tamper_record(2, 0, b"record 2, changed behind the chain's back").expect("tamper");
        client.goto(&format!("http://{api}/#/")).await.expect("home");
        let verdict = wait_for_text(&client, "#verification", |text| text.contains("INVALID")).await;
        assert!(verdict.contains("block 2") && verdict.contains("records altered"), "{verdict}");
        let marked = wait_for_text(&client, "#blocks tr.tampered", |text| !text.is_empty()).await;
        assert!(marked.starts_with('2'), "the tampered row is block 2: {marked:?}");
        let verification = get_json(api, "/verification").await;
        assert_eq!(verification["height"], 2);
        assert_eq!(verification["rule"], "records-altered");
        let path = screenshot(&client, "tampered").await;
        assert!(std::fs::metadata(path).expect("saved").len() > 10_000);

        // A phone's width: the page still lays out (no horizontal overflow of the body).
        client.set_window_size(390, 844).await.expect("resize");
        client.goto(&format!("http://{api}/#/block/2")).await.expect("block page");
        wait_for_text(&client, "#block-invalid", |text| text.contains("invalid")).await;
        screenshot(&client, "phone").await;
        let widths = client
            .execute(
                "return [document.documentElement.scrollWidth, window.innerWidth];",
                vec![],
            )
            .await
            .expect("script runs");
        let (page, window) = (widths[0].as_f64().unwrap_or(0.0), widths[1].as_f64().unwrap_or(0.0));
        let wide = client
            .execute(
                "return Array.from(document.querySelectorAll('body *')).filter(e => \
                 e.getBoundingClientRect().right > window.innerWidth + 1).slice(0, 5) \
                 .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40));",
                vec![],
            )
            .await
            .expect("script runs");
        assert!(page <= window + 1.0, "no horizontal scrolling on a phone: {page} > {window}: {wide}");

        client.close().await.expect("close browser");
        node.shutdown().await;
    })
    .await
    .expect("the browser test finished in time");
}
