//! Mining in the node: build a block from the pool on the current tip, search its nonce on worker
//! threads, commit it, announce it; and drop the job the moment the tip moves.
//!
//! The nonce search is the core's [`miner::mine`], run on a blocking thread. This task watches
//! the tip while it runs: a block from the network makes the job stale, so the task calls
//! [`MineControl::cancel`] and starts again on the new tip (the miner stops within about a
//! millisecond). The commit happens under the chain lock, so it cannot race a reorganization,
//! and on tokio's blocking pool, because it waits for an fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ironchain_core::chain::unix_now;
use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use ironchain_store::MineError;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::config::MiningConfig;
use crate::node::{Internal, Shared, off_runtime};

/// What the API shows about mining.
#[derive(Debug, Default)]
pub struct MiningStats {
    /// Whether the node mines.
    pub enabled: AtomicBool,
    /// Hashes tried, all jobs together.
    pub hashes: AtomicU64,
    /// Time spent searching, in microseconds.
    pub busy_micros: AtomicU64,
    /// Blocks mined and committed.
    pub blocks: AtomicU64,
}

impl MiningStats {
    /// Returns the hash rate while searching, in hashes per second.
    pub fn hash_rate(&self) -> f64 {
        let micros = self.busy_micros.load(Ordering::Relaxed);
        if micros == 0 {
            return 0.0;
        }
        self.hashes.load(Ordering::Relaxed) as f64 * 1e6 / micros as f64
    }
}

/// Mines until the node stops (the `internal` channel closes).
pub(crate) async fn run(
    shared: Arc<Shared>,
    config: MiningConfig,
    internal: mpsc::Sender<Internal>,
) {
    shared.mining.enabled.store(true, Ordering::Relaxed);
    let mut tip_rx = shared.tip.subscribe();
    let mut last_block = Instant::now() - config.min_interval;
    loop {
        if internal.is_closed() {
            return;
        }
        // Something to mine?
        let pending = shared.store.pending_count().unwrap_or(0);
        if pending == 0 && !config.mine_empty {
            let notified = shared.records_added.notified();
            tokio::select! {
                () = notified => {}
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            continue;
        }
        let wait = config.min_interval.saturating_sub(last_block.elapsed());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let now = unix_now();
        let template = match shared.store.template(now) {
            Ok(template) => template,
            Err(error) => {
                warn!(%error, "cannot build a block to mine");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let Ok(target) = template.header.bits.to_target() else {
            warn!("the tip's difficulty is unusable; not mining");
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let job = MineJob {
            header: template.header,
            target,
            max_time: now.saturating_add(shared.store.params().max_future_drift),
            threads: config.threads.max(1),
        };
        let control = Arc::new(MineControl::new());
        tip_rx.borrow_and_update();
        let started = Instant::now();
        let search = tokio::task::spawn_blocking({
            let control = control.clone();
            move || miner::mine(&job, &control)
        });
        tokio::pin!(search);
        let outcome = loop {
            tokio::select! {
                outcome = &mut search => break outcome,
                changed = tip_rx.changed() => {
                    if changed.is_err() { return; }
                    debug!("new tip: cancelling the mining job");
                    control.cancel();
                }
            }
        };
        shared
            .mining
            .hashes
            .fetch_add(control.hashes(), Ordering::Relaxed);
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        shared
            .mining
            .busy_micros
            .fetch_add(micros, Ordering::Relaxed);
        let header = match outcome {
            Ok(MineOutcome::Found(header)) => header,
            Ok(MineOutcome::Cancelled) => continue,
            Ok(MineOutcome::Exhausted) | Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        // Under the chain lock, so the commit cannot race a reorganization; on the blocking
        // pool, because it fsyncs.
        let (committed, template) = off_runtime({
            let shared = shared.clone();
            move || {
                let _chain = shared.chain();
                let committed = shared.store.commit_mined(&template, header, unix_now());
                (committed, template)
            }
        })
        .await;
        match committed {
            Ok(mined) => {
                last_block = Instant::now();
                shared.mining.blocks.fetch_add(1, Ordering::Relaxed);
                tracing::info!(height = mined.tip.height, hash = %mined.tip.hash,
                               records = mined.records.len(), "mined a block");
                let records = template.records.into_iter().map(|r| r.bytes).collect();
                let block = ironchain_core::Block::new(header, records);
                if internal.send(Internal::Mined(block)).await.is_err() {
                    return;
                }
            }
            Err(MineError::Stale) => debug!("mined block is stale: the tip or pool changed"),
            Err(error) => {
                warn!(%error, "mined block not committed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
