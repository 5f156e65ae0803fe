//! Mining in the libp2p node: the machine says what to mine; this worker searches the nonce on
//! real threads and reports back.
//!
//! The nonce search is the core's [`miner::mine`], run on tokio's blocking pool. A new job (the
//! tip moved) cancels the one in progress through [`MineControl::cancel`]; the search stops within
//! about a millisecond. A found header goes back to the machine as [`Event::Mined`], and the
//! machine commits it; a header found for a job already replaced is simply ignored there.
//!
//! The hash rate shown is honest: hashes the search actually tried over the time it actually
//! searched, measured around the search itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use libp2p::PeerId;
use tokio::sync::mpsc;
use tracing::warn;

use crate::machine::{Event, JobId, MiningJob};

/// What the API shows about mining.
#[derive(Debug, Default)]
pub struct MiningStats {
    /// Whether the node mines.
    pub enabled: AtomicBool,
    /// Hashes tried, all jobs together.
    pub hashes: AtomicU64,
    /// Time spent searching, in microseconds.
    pub busy_micros: AtomicU64,
    /// Blocks mined and committed (counted by the driver when the machine commits one).
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

/// The worker that searches nonces for the machine's jobs.
#[derive(Debug)]
pub(crate) struct Miner {
    threads: usize,
    current: Option<(JobId, Arc<MineControl>)>,
    found: mpsc::Sender<Event<PeerId>>,
    stats: Arc<MiningStats>,
}

impl Miner {
    /// A worker searching on `threads` threads, reporting to `found`.
    pub(crate) fn new(
        threads: usize,
        found: mpsc::Sender<Event<PeerId>>,
        stats: Arc<MiningStats>,
    ) -> Self {
        stats.enabled.store(true, Ordering::Relaxed);
        Self {
            threads: threads.max(1),
            current: None,
            found,
            stats,
        }
    }

    /// Starts searching for `job`, cancelling the job in progress.
    pub(crate) fn start(&mut self, job: MiningJob) {
        self.stop();
        let control = Arc::new(MineControl::new());
        self.current = Some((job.id, control.clone()));
        let search = MineJob {
            header: job.header,
            target: job.target,
            max_time: job.max_time,
            threads: self.threads,
        };
        let (found, stats, id) = (self.found.clone(), self.stats.clone(), job.id);
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let outcome = miner::mine(&search, &control);
            let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
            stats.hashes.fetch_add(control.hashes(), Ordering::Relaxed);
            stats.busy_micros.fetch_add(micros, Ordering::Relaxed);
            let event = match outcome {
                MineOutcome::Found(header) => Event::Mined { job: id, header },
                MineOutcome::Cancelled => return,
                MineOutcome::Exhausted => {
                    warn!("every nonce at every allowed time failed; mining again later");
                    Event::MineFailed { job: id }
                }
            };
            // The node may be stopping; then nobody needs the block.
            let _ = found.blocking_send(event);
        });
    }

    /// Cancels the job in progress, if any.
    pub(crate) fn stop(&mut self) {
        if let Some((_, control)) = self.current.take() {
            control.cancel();
        }
    }
}

impl Drop for Miner {
    fn drop(&mut self) {
        self.stop();
    }
}
