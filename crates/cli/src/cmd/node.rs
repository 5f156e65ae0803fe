//! `ironchain node` and `ironchain testnet`: run nodes of the peer-to-peer network.
//!
//! Both start the node library (`ironchain-node`) on a tokio runtime, print how to reach each node
//! (peer id, listen addresses, HTTP API and explorer page, the API's cookie file) and run until
//! Ctrl-C, then shut down cleanly.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use ironchain_core::ChainParams;
use ironchain_core::validate::default_threads;
use ironchain_node::net::Multiaddr;
use ironchain_node::testnet::{TestnetConfig, start_testnet};
use ironchain_node::{MiningConfig, NodeConfig, RunningNode};
use ironchain_store::{OpenError, Store, VerifyMode};

use crate::cmd::chain::data_dir;
use crate::{Cli, Outcome};

/// The chains a node can start a fresh data directory with.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Chain {
    /// Blocks in milliseconds, retargeting every 10 blocks toward one per second.
    Demo,
    /// The easiest target, Bitcoin's schedule: for tests and load.
    Regtest,
}

impl Chain {
    fn params(self) -> ChainParams {
        match self {
            Chain::Demo => ChainParams::demo(),
            Chain::Regtest => ChainParams::regtest(),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct NodeArgs {
    /// Where to listen for peers.
    #[arg(long, default_value = "/ip4/127.0.0.1/tcp/0", value_name = "MULTIADDR")]
    listen: Multiaddr,
    /// A peer to connect to (repeatable), e.g. /ip4/127.0.0.1/tcp/4001.
    #[arg(long = "peer", value_name = "MULTIADDR")]
    peers: Vec<Multiaddr>,
    /// Find peers on the local network with mDNS.
    #[arg(long)]
    mdns: bool,
    /// Where the HTTP API and explorer listen (loopback unless you say otherwise).
    #[arg(long, default_value = "127.0.0.1:8420", value_name = "ADDR")]
    api: SocketAddr,
    /// Run without the HTTP API.
    #[arg(long, conflicts_with = "api")]
    no_api: bool,
    /// Mine pending records.
    #[arg(long)]
    mine: bool,
    /// With --mine: keep mining blocks when no record is pending.
    #[arg(long, requires = "mine")]
    mine_empty: bool,
    /// Mining threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// The chain to start when the data directory has none.
    #[arg(long, value_enum, default_value_t = Chain::Demo)]
    chain: Chain,
}

#[derive(Debug, clap::Args)]
pub struct TestnetArgs {
    /// How many nodes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=16))]
    nodes: u16,
    /// How many of them mine.
    #[arg(long, default_value_t = 1)]
    miners: u16,
    /// The chain they run.
    #[arg(long, value_enum, default_value_t = Chain::Demo)]
    chain: Chain,
    /// Where the nodes keep their data (default: a temporary directory, deleted on exit).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS")]
    seconds: Option<u64>,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Waits for Ctrl-C, or for `seconds` if given.
async fn until_stopped(seconds: Option<u64>) {
    match seconds {
        Some(seconds) => tokio::time::sleep(Duration::from_secs(seconds)).await,
        None => {
            // If the handler cannot be installed the node runs until killed, as a daemon would.
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}

pub fn run_node(cli: &Cli, args: &NodeArgs) -> anyhow::Result<Outcome> {
    let dir = data_dir(cli)?;
    // A directory that already holds a chain runs that chain; `--chain` only starts new ones.
    let params = match Store::open(&dir, VerifyMode::None) {
        Ok(opened) => opened.store.params().clone(),
        Err(OpenError::NoChain { .. }) => args.chain.params(),
        Err(error) => return Err(error).context(format!("cannot open {}", dir.display())),
    };
    let mut config = NodeConfig::new(&dir, params);
    config.listen = args.listen.clone();
    config.peers = args.peers.clone();
    config.mdns = args.mdns;
    config.api_addr = (!args.no_api).then_some(args.api);
    if args.mine {
        config.mining = Some(MiningConfig {
            threads: args.threads.unwrap_or_else(default_threads).max(1),
            mine_empty: args.mine_empty,
            ..MiningConfig::default()
        });
    }
    runtime()?.block_on(async {
        let node = ironchain_node::start(config)
            .await
            .context("the node could not start")?;
        print_nodes(cli, std::slice::from_ref(&node));
        until_stopped(None).await;
        if !cli.json {
            eprintln!("stopping...");
        }
        node.shutdown().await;
        Ok(Outcome::Ok)
    })
}

pub fn run_testnet(cli: &Cli, args: &TestnetArgs) -> anyhow::Result<Outcome> {
    let temp;
    let base = match &args.dir {
        Some(dir) => dir.clone(),
        None => {
            temp = tempfile::Builder::new()
                .prefix("ironchain-testnet-")
                .tempdir()?;
            temp.path().to_owned()
        }
    };
    let mut config = TestnetConfig::new(usize::from(args.nodes));
    config.miners = usize::from(args.miners.min(args.nodes));
    config.params = args.chain.params();
    if matches!(args.chain, Chain::Demo) {
        // The demo chain's difficulty paces the miners: no pause between blocks.
        config.mining.min_interval = Duration::ZERO;
    }
    runtime()?.block_on(async {
        let nodes = start_testnet(&config, &base).await.context("the testnet could not start")?;
        print_nodes(cli, &nodes);
        if !cli.json {
            println!();
            println!("Open an explorer page above and watch the nodes agree; post a record with");
            println!("  curl -H \"Authorization: Bearer $(cat COOKIE)\" --data-binary 'hello' URL/records");
            println!("Ctrl-C stops every node.");
        }
        until_stopped(args.seconds).await;
        let tips: Vec<_> = nodes.iter().map(|node| node.tip()).collect();
        for node in nodes {
            node.shutdown().await;
        }
        if cli.json {
            let tips: Vec<_> = tips
                .iter()
                .map(|tip| serde_json::json!({ "height": tip.height, "tip": tip.hash.to_string() }))
                .collect();
            println!("{}", serde_json::json!({ "stopped": tips }));
        } else {
            for (index, tip) in tips.iter().enumerate() {
                println!("node {index} stopped at height {} ({})", tip.height, tip.hash);
            }
        }
        Ok(Outcome::Ok)
    })
}

fn print_nodes(cli: &Cli, nodes: &[RunningNode]) {
    for (index, node) in nodes.iter().enumerate() {
        let api = node.api_addr.map(|addr| format!("http://{addr}"));
        if cli.json {
            let json = serde_json::json!({
                "node": index,
                "peer_id": node.peer_id.to_string(),
                "listen": node.listen_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "api": api,
                "cookie": node.cookie_path,
                "data_dir": node.data_dir,
                "height": node.tip().height,
            });
            println!("{json}");
        } else {
            println!("node {index}  peer id {}", node.peer_id);
            for addr in &node.listen_addrs {
                println!("  listening  {addr}/p2p/{}", node.peer_id);
            }
            if let Some(api) = &api {
                println!("  explorer   {api}/");
                println!(
                    "  API        {api}/status  (writes need the token in {})",
                    node.cookie_path.display()
                );
            }
            println!(
                "  data       {}  (height {})",
                node.data_dir.display(),
                node.tip().height
            );
        }
    }
}
