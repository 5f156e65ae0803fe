//! Mining decisions: when to mine, on what, and what to do with a block found.
//!
//! The machine decides; the driver hashes. A job is a template from the store (the next block on
//! the tip, holding the oldest pending records) and the target its hash must meet. A job stays
//! while the tip stays: records added meanwhile wait for the next block, as in Bitcoin. When the
//! tip moves, the job is stale and replaced at once. A found header is committed through the
//! store, which checks that the tip and the records are still as the template saw them, and
//! then announced.

use std::time::Duration;

use ironchain_core::{Block, Header};
use ironchain_store::{ChainStore, MineError, Template};
use tracing::{debug, info, warn};

use super::{Command, Gossip, JobId, Machine, MiningJob, Notice, PeerKey};
use crate::clock::Time;

/// How a node mines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MiningPolicy {
    /// Mine blocks even when no record is pending (keeps a test network's chain growing).
    pub mine_empty: bool,
    /// The least time between two blocks this node mines. On an easy chain (regtest) a block
    /// takes microseconds; without a pause the node would outrun the future-time rule.
    pub min_interval: Duration,
}

/// How long to wait before trying again after the store failed to give or take a block.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// The machine's mining state.
#[derive(Debug)]
pub(super) struct MiningState {
    policy: Option<MiningPolicy>,
    /// The job the driver is working on, and the template it came from.
    job: Option<(JobId, Template)>,
    next_job: u64,
    /// When this node last committed a block of its own.
    last_block: Option<Time>,
    /// When to look again (the minimum interval, or a retry).
    pub(super) wake: Option<Time>,
}

impl MiningState {
    pub(super) fn new(policy: Option<MiningPolicy>) -> Self {
        Self {
            policy,
            job: None,
            next_job: 0,
            last_block: None,
            wake: None,
        }
    }
}

impl<S: ChainStore, P: PeerKey> Machine<S, P> {
    /// Starts, keeps, replaces or stops the mining job to match the tip and the pool.
    pub(super) fn refresh_mining(&mut self, now: Time) {
        let Some(policy) = self.mining.policy else {
            return;
        };
        if let Some((_, template)) = &self.mining.job
            && template.header.prev_blockhash == self.tip.hash
        {
            return;
        }
        let pending = match self.chain.store().pool_stats() {
            Ok((count, _)) => count,
            Err(error) => {
                warn!(%error, "cannot read the pool; not mining for now");
                return self.idle(Some(now.after(RETRY_AFTER)));
            }
        };
        if pending == 0 && !policy.mine_empty {
            return self.idle(None);
        }
        if let Some(last) = self.mining.last_block {
            let ready = last.after(policy.min_interval);
            if now < ready {
                return self.idle(Some(ready));
            }
        }
        let template = match self.chain.store().template(now.unix_secs()) {
            Ok(template) => template,
            Err(error) => {
                warn!(%error, "cannot build a block to mine");
                return self.idle(Some(now.after(RETRY_AFTER)));
            }
        };
        let Ok(target) = template.header.bits.to_target() else {
            warn!("the tip's difficulty is unusable; not mining");
            return self.idle(None);
        };
        let id = JobId(self.mining.next_job);
        self.mining.next_job += 1;
        let job = MiningJob {
            id,
            height: template.height,
            header: template.header,
            target,
            max_time: now
                .unix_secs()
                .saturating_add(self.chain.store().params().max_future_drift),
        };
        debug!(height = job.height, job = id.0, "mining");
        self.mining.job = Some((id, template));
        self.out.push(Command::Mine(job));
    }

    /// Stops any job, and looks again at `wake` if given.
    fn idle(&mut self, wake: Option<Time>) {
        if self.mining.job.take().is_some() {
            self.out.push(Command::StopMining);
        }
        self.mining.wake = wake;
    }

    pub(super) fn on_mined(&mut self, job: JobId, header: Header, now: Time) {
        let template = match self.mining.job.take() {
            Some((current, template)) if current == job => template,
            other => {
                // Found for a job already replaced: the tip moved while it was being found.
                self.mining.job = other;
                return;
            }
        };
        match self
            .chain
            .store()
            .commit_mined(&template, header, now.unix_secs())
        {
            Ok(mined) => {
                self.mining.last_block = Some(now);
                info!(height = mined.tip.height, hash = %mined.tip.hash,
                      records = mined.records.len(), "mined a block");
                let records = template.records.into_iter().map(|r| r.bytes).collect();
                let block = std::sync::Arc::new(Block::new(header, records));
                self.out.push(Command::Publish(Gossip::Block(block)));
                self.notice(Notice::BlockAccepted {
                    hash: mined.tip.hash,
                    height: mined.tip.height,
                    from: None,
                });
                self.tip_moved(now);
            }
            Err(MineError::Stale) => debug!("mined block is stale: the tip or pool changed"),
            Err(error) => {
                warn!(%error, "mined block not committed");
                self.mining.wake = Some(now.after(RETRY_AFTER));
                return;
            }
        }
        self.refresh_mining(now);
    }

    pub(super) fn on_mine_failed(&mut self, job: JobId, now: Time) {
        if self
            .mining
            .job
            .as_ref()
            .is_some_and(|(current, _)| *current == job)
        {
            self.mining.job = None;
            self.mining.wake = Some(now.after(RETRY_AFTER));
        }
    }
}
