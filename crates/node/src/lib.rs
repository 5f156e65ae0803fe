//! ironchain's node: many copies of the chain, kept in agreement by proof of work.
//!
//! A chain alone can only *identify* tampering. A network of nodes *recovers* from it: every node
//! holds the chain, validates every block it hears of, and follows the valid chain with the most
//! cumulative work; a node whose own copy was changed on disk cuts it back to the last good block
//! and downloads the rest again from its peers.
//!
//! Modules, in reading order:
//! - [`clock`]: time as a value passed in, never read by the decisions.
//! - [`forks`]: fork choice by most work, side branches, reorganization through the store.
//! - [`score`]: what misbehaviour costs a peer, and when it is banned.
//! - [`sync`]: the sync protocol (tip, locator, blocks): messages, framing, server, client.
//! - [`startup`]: opening the chain, and cutting a damaged one back to its good prefix.
//! - [`machine`]: every decision of a node, as a state machine: events in, commands out.
//! - [`net`]: the libp2p layer (TCP + noise + yamux, gossipsub, request-response, identify,
//!   ping, mDNS, bans). It moves opaque bytes.
//! - [`driver`] and [`mining`]: the libp2p node, which drives the machine from the network and
//!   mines on real threads.
//! - `api`: the HTTP API ([`start`] serves it), and `explorer`: the block explorer page at `/`.
//! - [`testnet`]: N nodes on loopback in one call.
//! - [`sim`]: the same machine, thousands of times over, on simulated links and a simulated
//!   clock.
//!
//! # Example
//!
//! Two nodes on loopback: A mines a record, B downloads it and can prove it is in its chain.
//!
//! ```no_run
//! use std::time::Duration;
//! use ironchain_core::ChainParams;
//! use ironchain_node::{MiningConfig, NodeConfig, start};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let mut a = NodeConfig::new(dir.path().join("a"), ChainParams::regtest());
//! a.mining = Some(MiningConfig::default());
//! let a = start(a).await?;
//!
//! let mut b = NodeConfig::new(dir.path().join("b"), ChainParams::regtest());
//! b.peers = a.listen_addrs.clone();
//! b.tip_poll_interval = Duration::from_millis(500);
//! let b = start(b).await?;
//!
//! a.add_records(vec![b"alice pays bob 5".to_vec()]).await?;
//! while b.tip().height < 1 {
//!     tokio::time::sleep(Duration::from_millis(100)).await;
//! }
//! let block = b.store().block_at(1)?.expect("B has block 1");
//! assert_eq!(block.records, [b"alice pays bob 5".to_vec()]);
//! a.shutdown().await;
//! b.shutdown().await;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]

mod api;
pub mod clock;
pub mod config;
pub mod driver;
mod explorer;
pub mod forks;
pub mod machine;
pub mod mining;
pub mod net;
pub mod score;
pub mod sim;
pub mod startup;
pub mod sync;
pub mod testnet;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ironchain_store::{Store, TipInfo};
use libp2p::identity::ed25519;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use config::{MiningConfig, NodeConfig};
pub use forks::ForkLimits;
pub use startup::{RepairInfo, StartError};

use crate::clock::Time;
use crate::driver::{NodeLoop, Parts, Shared};
use crate::machine::Machine;
use crate::net::{NetworkConfig, NetworkHandle};

/// The file in the data directory holding the node's secret key (its peer id).
pub const KEY_FILE: &str = "node.key";
/// The file in the data directory holding the API's bearer token.
pub const COOKIE_FILE: &str = "api.cookie";

/// A node running in this process.
#[derive(Debug)]
pub struct RunningNode {
    /// Its peer id.
    pub peer_id: PeerId,
    /// Where it listens for peers (dial these, with `/p2p/<peer id>` appended if wanted).
    pub listen_addrs: Vec<Multiaddr>,
    /// Where its HTTP API listens, if it has one.
    pub api_addr: Option<SocketAddr>,
    /// The file holding the API's bearer token.
    pub cookie_path: PathBuf,
    /// Its data directory.
    pub data_dir: PathBuf,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningNode {
    /// Returns the node's store (reads need no coordination with the node).
    pub fn store(&self) -> &Arc<Store> {
        &self.shared.store
    }

    /// Returns the node's network handle (to dial, list peers, or ban).
    pub fn network(&self) -> &NetworkHandle {
        &self.shared.net
    }

    /// Returns the best chain's tip.
    ///
    /// # Panics
    /// If the database fails.
    pub fn tip(&self) -> TipInfo {
        self.shared.store.tip().expect("the database can be read")
    }

    /// Returns the last repair, if the chain on disk ever failed verification.
    pub fn repair(&self) -> Option<RepairInfo> {
        self.shared.status().repair
    }

    /// Adds records to the pool (durably) and gossips them, as `POST /records` does.
    ///
    /// # Errors
    /// The pool's error; nothing was added.
    pub async fn add_records(
        &self,
        records: Vec<Vec<u8>>,
    ) -> Result<Vec<ironchain_store::RecordId>, ironchain_store::PoolError> {
        self.shared.add_records(records).await
    }

    /// Stops the node and waits (up to ten seconds) until its store is closed, so the data
    /// directory can be opened again.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        for task in &self.tasks {
            task.abort();
        }
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        // Sync and tip requests in flight hold the state until their requests end.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while Arc::strong_count(&self.shared) > 1 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        info!(peer_id = %self.peer_id, "node stopped");
    }
}

/// Starts a node: opens (or creates, or repairs) its chain, starts the network, dials its peers,
/// serves the API and, if configured, mines. Returns once it listens.
///
/// # Errors
/// See [`StartError`].
///
/// # Panics
/// If called outside a tokio runtime.
pub async fn start(config: NodeConfig) -> Result<RunningNode, StartError> {
    let dir = config.data_dir.clone();
    std::fs::create_dir_all(&dir).map_err(|source| StartError::Io {
        path: dir.clone(),
        source,
    })?;
    // Opening verifies the whole chain (and may repair it): seconds of disk and hashing on a
    // large chain, so it runs on the blocking pool, not on a runtime worker.
    let (store, repair) = {
        let (dir, params) = (dir.clone(), config.params.clone());
        tokio::task::spawn_blocking(move || {
            startup::open_or_repair(&dir, &params, Time::now().unix_secs())
        })
        .await
        .map_err(|error| StartError::Task(error.to_string()))??
    };
    let store = Arc::new(store);

    let mut net_config = NetworkConfig::new(chain_id(&config.params));
    net_config.keypair = crate::net::keypair_from_seed(read_or_create_secret(&dir.join(KEY_FILE))?);
    net_config.listen_addr = config.listen.clone();
    net_config.mdns = config.mdns;
    net_config.heartbeat_interval = config.heartbeat_interval;
    net_config.max_gossip_size = config.params.max_block_size;
    let max_response = net_config.sync_limits.max_response;
    let (net, events) = crate::net::spawn(net_config)?;
    let peer_id = net.local_peer_id();

    let listen_addrs = wait_for_listeners(&net).await;
    let machine = Machine::new(
        store,
        config.machine_config(max_response),
        repair,
        Time::now(),
    )
    .map_err(|error| StartError::Repair(error.into()))?;
    let tip = machine.tip();
    info!(%peer_id, addrs = ?listen_addrs, height = tip.height, tip = %tip.hash, "node started");
    let (node_loop, shared) = NodeLoop::new(Parts {
        machine,
        net: net.clone(),
        events,
        mining_threads: config.mining.map(|mining| mining.threads),
    });
    let mut tasks = Vec::new();

    let cookie_path = dir.join(COOKIE_FILE);
    let api_addr = match config.api_addr {
        Some(addr) => {
            let token = write_cookie(&cookie_path)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|source| StartError::Api { addr, source })?;
            let bound = listener
                .local_addr()
                .map_err(|source| StartError::Api { addr, source })?;
            let app = api::router(api::ApiState::new(shared.clone(), token.into()));
            info!(api = %bound, cookie = %cookie_path.display(), "HTTP API listening");
            tasks.push(tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, app).await {
                    warn!(%error, "HTTP API stopped");
                }
            }));
            Some(bound)
        }
        None => None,
    };

    for addr in config.peers.clone() {
        tasks.push(tokio::spawn(dial_until_connected(net.clone(), addr)));
    }
    let (stop, stopped) = oneshot::channel::<()>();
    tasks.push(tokio::spawn(node_loop.run(async {
        let _ = stopped.await;
    })));
    Ok(RunningNode {
        peer_id,
        listen_addrs,
        api_addr,
        cookie_path,
        data_dir: dir,
        shared,
        stop: Some(stop),
        tasks,
    })
}

/// Runs a node until `shutdown` resolves (Ctrl-C in the CLI), then stops it.
///
/// # Errors
/// See [`StartError`].
pub async fn run(
    config: NodeConfig,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), StartError> {
    let node = start(config).await?;
    shutdown.await;
    node.shutdown().await;
    Ok(())
}

/// Returns the network's chain id: the chain's name and its genesis hash, so that two chains
/// with one name never exchange a byte.
pub fn chain_id(params: &ironchain_core::ChainParams) -> String {
    let name: String = params
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let genesis = params.genesis_hash().to_string();
    format!("{name}-{}", &genesis[genesis.len() - 16..])
}

async fn wait_for_listeners(net: &NetworkHandle) -> Vec<Multiaddr> {
    for _ in 0..200 {
        match net.listen_addrs().await {
            Ok(addrs) if !addrs.is_empty() => return addrs,
            Ok(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            Err(_) => break,
        }
    }
    Vec::new()
}

/// Dials `addr`, retrying for about a minute: peers of a test network start in any order.
async fn dial_until_connected(net: NetworkHandle, addr: Multiaddr) {
    for attempt in 0..30 {
        match net.dial(addr.clone()).await {
            Ok(peer) => {
                info!(%addr, %peer, "connected to peer");
                return;
            }
            Err(error) => {
                if attempt == 0 {
                    warn!(%addr, %error, "cannot reach peer yet; retrying");
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    }
}

/// Returns 32 secret bytes from the OS's random number generator (through libp2p's ed25519 key
/// generation, which the node already trusts for its identity).
fn random_secret() -> [u8; 32] {
    let key = ed25519::SecretKey::generate();
    let mut out = [0u8; 32];
    out.copy_from_slice(key.as_ref());
    out
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> StartError + '_ {
    move |source| StartError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Reads the node's 32-byte secret, creating it (owner-readable only) if absent.
fn read_or_create_secret(path: &Path) -> Result<[u8; 32], StartError> {
    match std::fs::read(path) {
        Ok(bytes) => bytes.try_into().map_err(|bytes: Vec<u8>| StartError::Io {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("expected 32 bytes, found {}", bytes.len()),
            ),
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let secret = random_secret();
            write_private(path, &secret)?;
            Ok(secret)
        }
        Err(error) => Err(io_error(path)(error)),
    }
}

/// Writes a fresh API token to the cookie file and returns it.
fn write_cookie(path: &Path) -> Result<String, StartError> {
    let token = hex::encode(random_secret());
    write_private(path, token.as_bytes())?;
    Ok(token)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), StartError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(bytes).map_err(io_error(path))?;
    file.sync_all().map_err(io_error(path))
}
