//! Fork choice: the valid chain with the most cumulative work wins, never the longest and never
//! the one a peer says it has.
//!
//! The store holds one chain, the best one. Blocks that do not extend its tip but fork from it
//! not too deep below are kept here, in memory, as *side branches*: each fully validated against
//! its own ancestors (which may themselves be side blocks), with its cumulative work. When a side
//! branch gets more work than the best chain, the node reorganizes: the store disconnects the
//! blocks back to the fork point and connects the branch, in one transaction, and the blocks it
//! disconnected become a side branch in turn (so the node can switch back if that branch grows
//! again). Records of disconnected blocks that the new chain lacks go back into the pool: that is
//! the store's promise ([`ChainStore::reorganize`]).
//!
//! Side branches are bounded two ways: a fork more than [`ForkLimits::max_depth`] blocks below
//! the tip is ignored (Bitcoin relies on checkpoints and header-first sync for the same purpose;
//! a real deployment would add both), and at most [`ForkLimits::max_side_blocks`] side blocks
//! are kept, the deepest dropped first.
//!
//! Equal work keeps the chain seen first, as Bitcoin Core does.

use std::collections::HashMap;
use std::sync::Arc;

use ironchain_core::pow::Work;
use ironchain_core::validate::{self, Context};
use ironchain_core::{Block, BlockHash, Header, InvalidBlock, Rule, retarget};
use ironchain_store::{AppendError, ChainStore, DbError, ReorgError, ReorgReport, TipInfo};
use tracing::{debug, info};

/// How far and how wide side branches may grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForkLimits {
    /// A block whose parent is more than this many blocks below the tip is ignored.
    pub max_depth: u64,
    /// The most side blocks kept in memory.
    pub max_side_blocks: usize,
}

impl Default for ForkLimits {
    /// 1,000 blocks deep (about a week of Bitcoin blocks) and 10,000 side blocks (at most
    /// 10 GB of 1 MB blocks in theory; small blocks in practice; a real deployment would bound
    /// the bytes too).
    fn default() -> Self {
        Self {
            max_depth: 1_000,
            max_side_blocks: 10_000,
        }
    }
}

/// What accepting a block did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// The block extended the best chain.
    Extended(TipInfo),
    /// The block completed a side branch with more work; the store switched to it.
    Reorganized(ReorgReport),
    /// The block is valid and kept on a side branch with less work than the best chain.
    SideBranch {
        /// Its height.
        height: u64,
    },
    /// The block was already known.
    Known,
}

/// Why a block was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Rejected {
    /// The block breaks a rule: whoever sent it misbehaved.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// Its parent is unknown: the sender has blocks we lack, and we should sync from it.
    #[error("parent {parent} is unknown")]
    Orphan {
        /// The unknown parent.
        parent: BlockHash,
    },
    /// It forks too far below the tip, or the side branches are full. Not the sender's fault.
    #[error(
        "fork at height {fork_height} is too deep below the tip at {tip_height}, or too many side blocks"
    )]
    TooDeep {
        /// Height of the block's parent.
        fork_height: u64,
        /// Height of our tip.
        tip_height: u64,
    },
    /// The store refused or failed: our problem, not the sender's.
    #[error("the store failed: {0}")]
    Store(#[from] ironchain_store::Error),
}

impl From<DbError> for Rejected {
    fn from(error: DbError) -> Self {
        Rejected::Store(error.into())
    }
}

impl From<AppendError> for Rejected {
    /// An invalid block is the sender's fault; anything else is the store's.
    fn from(error: AppendError) -> Self {
        match error {
            AppendError::Invalid(invalid) => Rejected::Invalid(invalid),
            other => Rejected::Store(other.into()),
        }
    }
}

impl From<ReorgError> for Rejected {
    /// An invalid block is the sender's fault; anything else is the store's.
    fn from(error: ReorgError) -> Self {
        match error {
            ReorgError::Invalid(invalid) => Rejected::Invalid(invalid),
            other => Rejected::Store(other.into()),
        }
    }
}

/// A block kept off the best chain.
#[derive(Debug, Clone)]
struct SideBlock {
    block: Arc<Block>,
    height: u64,
    /// Cumulative work of the branch up to and including this block.
    work: Work,
}

/// Where a new block's parent is.
#[derive(Debug, Clone, Copy)]
struct Parent {
    height: u64,
    work: Work,
}

/// The best chain (in the store) and the side branches around it.
#[derive(Debug)]
pub struct ChainState<S> {
    store: S,
    side: HashMap<BlockHash, SideBlock>,
    limits: ForkLimits,
}

/// The outcome of [`ChainState::accept_batch`].
#[derive(Debug, Default)]
pub struct BatchOutcome {
    /// Blocks accepted (on the best chain or a side branch), including known ones.
    pub accepted: usize,
    /// Whether the best chain changed.
    pub tip_changed: bool,
    /// Reorganizations done, in order.
    pub reorgs: Vec<ReorgReport>,
    /// The blocks accepted (not those already known), with their heights, in order.
    pub placed: Vec<(BlockHash, u64)>,
    /// The first block that could not be accepted, and why; the blocks after it were not tried.
    pub error: Option<Rejected>,
}

/// The work of one block with these bits (zero for unusable bits, which validation rejects).
fn block_work(header: &Header) -> Work {
    header
        .bits
        .to_target()
        .map(ironchain_core::Target::work)
        .unwrap_or(Work::ZERO)
}

impl<S: ChainStore> ChainState<S> {
    /// Wraps the store's chain with no side branches.
    pub fn new(store: S, limits: ForkLimits) -> Self {
        Self {
            store,
            side: HashMap::new(),
            limits,
        }
    }

    /// Returns the store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Forgets every side branch (a restarted node remembers only what its store holds).
    pub fn clear_side_branches(&mut self) {
        self.side.clear();
    }

    /// Returns the number of side blocks kept.
    pub fn side_blocks(&self) -> usize {
        self.side.len()
    }

    /// Returns true if the block is on the best chain or a side branch.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    pub fn knows(&self, hash: &BlockHash) -> Result<bool, DbError> {
        Ok(self.side.contains_key(hash) || self.store.height_of(hash)?.is_some())
    }

    /// Accepts consecutive blocks (a sync batch), oldest first. Blocks extending the tip go to
    /// the store in one transaction; the rest one at a time through [`ChainState::accept`].
    /// Stops at the first block that is not accepted.
    pub fn accept_batch(&mut self, blocks: &[Arc<Block>], now: u32) -> BatchOutcome {
        let mut outcome = BatchOutcome::default();
        let tip = match self.store.tip() {
            Ok(tip) => tip,
            Err(error) => {
                outcome.error = Some(error.into());
                return outcome;
            }
        };
        // The run of blocks that extend the tip, one after the other.
        let mut run = 0;
        let mut prev = tip.hash;
        while let Some(block) = blocks.get(run) {
            if block.header.prev_blockhash != prev {
                break;
            }
            prev = block.block_hash();
            run += 1;
        }
        if run > 0 {
            let (appended, rejected) = self.append_run(&blocks[..run], tip, now);
            outcome.error = rejected;
            outcome.accepted = appended;
            outcome.tip_changed = appended > 0;
            outcome.placed.extend(
                blocks[..appended]
                    .iter()
                    .zip(tip.height + 1..)
                    .map(|(block, height)| (block.block_hash(), height)),
            );
            if outcome.error.is_some() {
                return outcome;
            }
        }
        for block in &blocks[run..] {
            match self.accept(block.clone(), now) {
                Ok(accepted) => {
                    outcome.accepted += 1;
                    let hash = block.block_hash();
                    match accepted {
                        Accepted::Extended(tip) => {
                            outcome.tip_changed = true;
                            outcome.placed.push((hash, tip.height));
                        }
                        Accepted::Reorganized(report) => {
                            outcome.tip_changed = true;
                            outcome.placed.push((hash, report.tip.height));
                            outcome.reorgs.push(report);
                        }
                        Accepted::SideBranch { height } => outcome.placed.push((hash, height)),
                        Accepted::Known => {}
                    }
                }
                Err(rejected) => {
                    outcome.error = Some(rejected);
                    break;
                }
            }
        }
        outcome
    }

    /// Appends blocks that extend the tip in one transaction. On an invalid block, appends the
    /// ones before it; returns how many were appended and why the rest were not.
    fn append_run(
        &mut self,
        run: &[Arc<Block>],
        tip: TipInfo,
        now: u32,
    ) -> (usize, Option<Rejected>) {
        match self.store.append_blocks(run, now) {
            Ok(_) => (run.len(), None),
            Err(AppendError::Invalid(invalid)) => {
                // The store names the bad block by height; everything before it was fine.
                let good = usize::try_from(invalid.height.saturating_sub(tip.height + 1))
                    .unwrap_or(0)
                    .min(run.len());
                if good > 0
                    && let Err(error) = self.store.append_blocks(&run[..good], now)
                {
                    return (0, Some(error.into()));
                }
                (good, Some(Rejected::Invalid(invalid)))
            }
            Err(error) => (0, Some(error.into())),
        }
    }

    /// Validates one block and puts it where it belongs: on the tip, on a side branch, or, if
    /// its branch now has the most work, makes its branch the best chain.
    ///
    /// # Errors
    /// See [`Rejected`]: only [`Rejected::Invalid`] is the sender's fault.
    pub fn accept(&mut self, block: Arc<Block>, now: u32) -> Result<Accepted, Rejected> {
        let hash = block.block_hash();
        if self.knows(&hash)? {
            return Ok(Accepted::Known);
        }
        let tip = self.store.tip()?;
        if block.header.prev_blockhash == tip.hash {
            let tip = self
                .store
                .append_blocks(std::slice::from_ref(&block), now)?;
            return Ok(Accepted::Extended(tip));
        }
        let prev = block.header.prev_blockhash;
        let parent = self
            .parent(&prev, &tip)?
            .ok_or(Rejected::Orphan { parent: prev })?;
        if parent.height.saturating_add(self.limits.max_depth) < tip.height {
            return Err(Rejected::TooDeep {
                fork_height: parent.height,
                tip_height: tip.height,
            });
        }
        let (fork_height, path) = self.path_to_best(prev)?;
        let height = parent.height + 1;
        let ctx = self.context(height, fork_height, &path, now)?;
        let fail = |rule: Rule| InvalidBlock { height, hash, rule };
        validate::check_header(self.store.params(), &block.header, hash, &ctx).map_err(fail)?;
        validate::check_body(self.store.params(), &block).map_err(fail)?;
        let work = parent.work + block_work(&block.header);

        if work > tip.work {
            let mut branch: Vec<Arc<Block>> = path.into_iter().map(|side| side.block).collect();
            branch.push(block);
            return self.reorganize(fork_height, branch, tip, now);
        }
        if self.side.len() >= self.limits.max_side_blocks {
            self.prune(tip.height);
            if self.side.len() >= self.limits.max_side_blocks {
                return Err(Rejected::TooDeep {
                    fork_height: parent.height,
                    tip_height: tip.height,
                });
            }
        }
        debug!(height, %hash, "side branch block kept");
        self.side.insert(
            hash,
            SideBlock {
                block,
                height,
                work,
            },
        );
        Ok(Accepted::SideBranch { height })
    }

    /// Switches the best chain to `branch` (the blocks after `fork_height`), keeping the blocks
    /// it replaces as a side branch.
    fn reorganize(
        &mut self,
        fork_height: u64,
        branch: Vec<Arc<Block>>,
        tip: TipInfo,
        now: u32,
    ) -> Result<Accepted, Rejected> {
        let mut replaced = Vec::new();
        let mut work = self.work_at(fork_height, &tip)?;
        for height in fork_height + 1..=tip.height {
            let Some(block) = self.store.block_at(height)? else {
                break;
            };
            work += block_work(&block.header);
            replaced.push(SideBlock {
                block,
                height,
                work,
            });
        }
        let report = self.store.reorganize(fork_height, &branch, now)?;
        info!(
            fork_height,
            disconnected = report.disconnected,
            connected = report.connected,
            returned_to_pool = report.returned_to_pool,
            new_tip = %report.tip.hash,
            "reorganized to the branch with more work"
        );
        for block in &branch {
            self.side.remove(&block.block_hash());
        }
        for side in replaced {
            self.side.insert(side.block.block_hash(), side);
        }
        self.prune(report.tip.height);
        Ok(Accepted::Reorganized(report))
    }

    /// Drops side blocks that fork too deep below a tip at `tip_height`, then, if there are
    /// still too many, the lowest ones.
    fn prune(&mut self, tip_height: u64) {
        let max_depth = self.limits.max_depth;
        self.side
            .retain(|_, side| side.height.saturating_add(max_depth) >= tip_height);
        if self.side.len() > self.limits.max_side_blocks {
            let mut heights: Vec<u64> = self.side.values().map(|s| s.height).collect();
            heights.sort_unstable();
            let excess = self.side.len() - self.limits.max_side_blocks;
            let cut = heights[excess];
            self.side.retain(|_, side| side.height >= cut);
        }
    }

    /// Finds a block's would-be parent on a side branch or the best chain.
    fn parent(&self, prev: &BlockHash, tip: &TipInfo) -> Result<Option<Parent>, DbError> {
        if let Some(side) = self.side.get(prev) {
            return Ok(Some(Parent {
                height: side.height,
                work: side.work,
            }));
        }
        match self.store.height_of(prev)? {
            Some(height) => Ok(Some(Parent {
                height,
                work: self.work_at(height, tip)?,
            })),
            None => Ok(None),
        }
    }

    /// The cumulative work of the best chain up to `height`: the tip's, less the blocks above.
    fn work_at(&self, height: u64, tip: &TipInfo) -> Result<Work, DbError> {
        let above = usize::try_from(tip.height.saturating_sub(height)).unwrap_or(usize::MAX);
        let headers = self.store.headers(height + 1, above)?;
        let removed: Work = headers.iter().map(block_work).sum();
        Ok(Work::from_u256(
            tip.work.to_u256().saturating_sub(removed.to_u256()),
        ))
    }

    /// Walks side blocks back from `hash` to the best chain: returns the height where the branch
    /// leaves the best chain and the branch's side blocks, oldest first.
    fn path_to_best(&self, mut hash: BlockHash) -> Result<(u64, Vec<SideBlock>), Rejected> {
        let mut path = Vec::new();
        while let Some(side) = self.side.get(&hash) {
            hash = side.block.header.prev_blockhash;
            path.push(side.clone());
        }
        path.reverse();
        let fork_height = self
            .store
            .height_of(&hash)?
            .ok_or(Rejected::Orphan { parent: hash })?;
        Ok((fork_height, path))
    }

    /// Builds what the block at `height` on a branch is checked against: the branch's ancestors
    /// are the best chain up to `fork_height`, then `path`.
    fn context(
        &self,
        height: u64,
        fork_height: u64,
        path: &[SideBlock],
        now: u32,
    ) -> Result<Context, Rejected> {
        let params = self.store.params();
        let span = params.median_time_span as u64;
        let first = height.saturating_sub(span);
        let mut ancestors = Vec::with_capacity(params.median_time_span);
        if first <= fork_height {
            let count = usize::try_from(fork_height + 1 - first).unwrap_or(usize::MAX);
            ancestors.extend(self.store.headers(first, count)?);
        }
        let skip = usize::try_from(first.saturating_sub(fork_height + 1)).unwrap_or(usize::MAX);
        ancestors.extend(path.iter().skip(skip).map(|side| side.block.header));
        let period_start_time = if retarget::is_retarget_height(params, height) {
            let start = retarget::period_start_height(params, height);
            self.header_on_branch(start, fork_height, path)?
                .map(|header| header.time)
        } else {
            None
        };
        Context::from_ancestors(params, height, &ancestors, period_start_time, now)
            .ok_or_else(|| DbError::Corrupt("a branch block has no ancestors".into()).into())
    }

    fn header_on_branch(
        &self,
        height: u64,
        fork_height: u64,
        path: &[SideBlock],
    ) -> Result<Option<Header>, DbError> {
        if height <= fork_height {
            return Ok(self.store.headers(height, 1)?.first().copied());
        }
        let index = usize::try_from(height - fork_height - 1).unwrap_or(usize::MAX);
        Ok(path.get(index).map(|side| side.block.header))
    }
}

#[cfg(test)]
mod tests;
