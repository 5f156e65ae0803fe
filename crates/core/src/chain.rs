//! An in-memory blockchain: the seed's `Blockchain`, on Bitcoin's rules.
//!
//! It mines each new block to the difficulty the retarget rule demands, keeps the hash each block
//! was accepted under (as a store's index would), and verifies itself forward from genesis. It
//! detects tampering; it cannot repair it. In a network, repair comes from the other nodes: the
//! chain with the most work wins (see the `ironchain-node` crate).

use std::time::{SystemTime, UNIX_EPOCH};

use crate::block::Block;
use crate::hash::BlockHash;
use crate::header::Header;
use crate::merkle;
use crate::miner::{self, MineControl, MineJob, MineOutcome};
use crate::params::ChainParams;
use crate::pow::Work;
use crate::retarget;
use crate::validate::{self, ChainSummary, Context, InvalidBlock, Rule, Verifier};

/// A chain of blocks held in memory.
///
/// ```
/// use ironchain_core::{Blockchain, ChainParams};
///
/// let mut chain = Blockchain::new(ChainParams::demo());
/// chain.add_records(vec![b"alice pays bob 5".to_vec()])?;
/// chain.add_records(vec![b"bob pays carol 2".to_vec()])?;
/// assert_eq!(chain.height(), 2);
/// assert!(chain.verify().is_ok());
///
/// // Change a record behind the chain's back: verification names the block and the rule.
/// chain.tamper_with(1, |block| block.records[0] = b"alice pays bob 500".to_vec());
/// let invalid = chain.verify().unwrap_err();
/// assert_eq!(invalid.height, 1);
/// # Ok::<(), ironchain_core::chain::AddError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Blockchain {
    params: ChainParams,
    blocks: Vec<Block>,
    /// The hash each block was accepted under, kept apart from the block like a store's index.
    hashes: Vec<BlockHash>,
    work: Work,
    threads: usize,
}

/// Why a block could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddError {
    /// The block breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// Mining was cancelled before a block was found.
    #[error("mining was cancelled")]
    Cancelled,
    /// No nonce at any allowed time met the target.
    #[error("no nonce at any time up to {max_time} meets the target")]
    Exhausted {
        /// The latest time the rules allowed.
        max_time: u32,
    },
}

impl Blockchain {
    /// Starts a chain holding only the params' genesis block.
    pub fn new(params: ChainParams) -> Self {
        let genesis = params.genesis.clone();
        let hash = genesis.block_hash();
        let work = genesis
            .header
            .bits
            .to_target()
            .map(|t| t.work())
            .unwrap_or_default();
        Self {
            params,
            blocks: vec![genesis],
            hashes: vec![hash],
            work,
            threads: validate::default_threads(),
        }
    }

    /// Sets how many threads mine and verify (at least one).
    #[must_use]
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    /// Returns the chain's parameters.
    pub fn params(&self) -> &ChainParams {
        &self.params
    }

    /// Returns every block, genesis first.
    pub fn blocks(&self) -> &[Block] {
        &self.blocks
    }

    /// Returns the hashes the blocks were accepted under, genesis first.
    pub fn hashes(&self) -> &[BlockHash] {
        &self.hashes
    }

    /// Returns the last block.
    pub fn tip(&self) -> &Block {
        self.blocks
            .last()
            .expect("a chain always holds its genesis block")
    }

    /// Returns the tip's height (genesis is 0).
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// Returns the sum of the work of every block.
    pub fn total_work(&self) -> Work {
        self.work
    }

    /// Returns what the next block must meet: its parent, difficulty and earliest time.
    pub fn next_context(&self, now: u32) -> Context {
        let height = self.blocks.len() as u64;
        let span = self
            .blocks
            .len()
            .saturating_sub(self.params.median_time_span);
        let ancestors: Vec<Header> = self.blocks[span..].iter().map(|b| b.header).collect();
        let start = retarget::period_start_height(&self.params, height);
        let start_time = self
            .blocks
            .get(start as usize)
            .map(|block| block.header.time);
        Context::from_ancestors(&self.params, height, &ancestors, start_time, now)
            .expect("a chain always holds its genesis block")
    }

    /// Builds the header of the next block for `records`, ready to mine: it links to the tip,
    /// commits to the records, carries the required `bits` and the earliest valid time at or after
    /// `now`.
    pub fn next_header(&self, records: &[Vec<u8>], now: u32) -> Header {
        let ctx = self.next_context(now);
        let earliest = ctx
            .median_time_past
            .map_or(now, |mtp| mtp.saturating_add(1));
        Header {
            version: 1,
            prev_blockhash: ctx.prev_hash,
            merkle_root: merkle::root(records),
            time: now.max(earliest),
            bits: ctx.expected_bits.unwrap_or(self.tip().header.bits),
            nonce: 0,
        }
    }

    /// Mines a block holding `records` on all threads and appends it.
    ///
    /// # Errors
    /// [`AddError::Invalid`] if the records make the block too large; the chain is unchanged.
    pub fn add_records(&mut self, records: Vec<Vec<u8>>) -> Result<&Block, AddError> {
        self.add_records_with(records, &MineControl::new())
    }

    /// As [`Blockchain::add_records`], with a control to watch the hash count or cancel.
    ///
    /// # Errors
    /// As [`Blockchain::add_records`], and [`AddError::Cancelled`] if cancelled.
    pub fn add_records_with(
        &mut self,
        records: Vec<Vec<u8>>,
        control: &MineControl,
    ) -> Result<&Block, AddError> {
        self.add_records_at(records, unix_now(), control)
    }

    /// As [`Blockchain::add_records_with`], with the clock given: the block's time is `now` (or
    /// the earliest time the rules allow after it). For tests, simulations and benchmarks that
    /// build chains faster than real time.
    ///
    /// # Errors
    /// As [`Blockchain::add_records_with`].
    pub fn add_records_at(
        &mut self,
        records: Vec<Vec<u8>>,
        now: u32,
        control: &MineControl,
    ) -> Result<&Block, AddError> {
        let header = self.next_header(&records, now);
        let block = Block::new(self.mine_header(header, now, control)?, records);
        self.push(block, now)
    }

    /// Validates `block` against the tip and appends it.
    ///
    /// # Errors
    /// [`AddError::Invalid`] naming the rule it breaks; the chain is unchanged.
    pub fn push(&mut self, block: Block, now: u32) -> Result<&Block, AddError> {
        let ctx = self.next_context(now);
        let hash = block.block_hash();
        let fail = |rule| {
            AddError::Invalid(InvalidBlock {
                height: ctx.height,
                hash,
                rule,
            })
        };
        validate::check_header(&self.params, &block.header, hash, &ctx).map_err(fail)?;
        validate::check_body(&self.params, &block).map_err(fail)?;
        let target = block
            .header
            .bits
            .to_target()
            .map_err(|e| fail(Rule::BadTarget(e)))?;
        self.work += target.work();
        self.blocks.push(block);
        self.hashes.push(hash);
        Ok(self.tip())
    }

    fn mine_header(
        &self,
        header: Header,
        now: u32,
        control: &MineControl,
    ) -> Result<Header, AddError> {
        let height = self.blocks.len() as u64;
        let hash = header.block_hash();
        let target = header.bits.to_target().map_err(|error| {
            AddError::Invalid(InvalidBlock {
                height,
                hash,
                rule: Rule::BadTarget(error),
            })
        })?;
        let max_time = now.saturating_add(self.params.max_future_drift);
        let job = MineJob {
            header,
            target,
            max_time,
            threads: self.threads,
        };
        match miner::mine(&job, control) {
            MineOutcome::Found(header) => Ok(header),
            MineOutcome::Cancelled => Err(AddError::Cancelled),
            MineOutcome::Exhausted => Err(AddError::Exhausted { max_time }),
        }
    }

    /// Verifies the whole chain forward from genesis: every header rule, every block's records
    /// against its merkle root, and every header against the hash it was accepted under.
    ///
    /// # Errors
    /// The first invalid block, with the rule it broke.
    pub fn verify(&self) -> Result<ChainSummary, InvalidBlock> {
        self.verify_at(unix_now())
    }

    /// As [`Blockchain::verify`], with the clock the future-time rule checks against given.
    ///
    /// # Errors
    /// As [`Blockchain::verify`].
    pub fn verify_at(&self, now: u32) -> Result<ChainSummary, InvalidBlock> {
        let mut verifier = Verifier::new(&self.params, now).with_threads(self.threads);
        verifier.push_blocks(&self.blocks, Some(&self.hashes), true)?;
        Ok(verifier
            .summary()
            .expect("a chain always holds its genesis block"))
    }

    /// Changes a block behind the chain's back, without re-mining or re-recording its hash: a
    /// teaching tool, to watch [`Blockchain::verify`] catch it. Does nothing if there is no
    /// block at `height`.
    pub fn tamper_with(&mut self, height: u64, change: impl FnOnce(&mut Block)) {
        if let Some(block) = self.blocks.get_mut(height as usize) {
            change(block);
        }
    }

    /// Does what an attacker does after changing a block: recommits the block's header to its
    /// records as they are now, mines it again (keeping its parent link, time and bits) and records
    /// its new hash. Returns the number of hashes it took, or `None` if there is no such block.
    ///
    /// # Errors
    /// [`AddError::Cancelled`] or [`AddError::Exhausted`] from the miner.
    pub fn remine(&mut self, height: u64, control: &MineControl) -> Result<Option<u64>, AddError> {
        let Some(block) = self.blocks.get(height as usize) else {
            return Ok(None);
        };
        let mut header = block.header;
        header.merkle_root = block.compute_merkle_root();
        header.nonce = 0;
        let before = control.hashes();
        let mined = self.mine_header(header, header.time, control)?;
        let index = height as usize;
        self.blocks[index].header = mined;
        self.hashes[index] = mined.block_hash();
        Ok(Some(control.hashes() - before))
    }
}

/// The current time in seconds since the Unix epoch (0 if the clock is before it, and saturated
/// in 2106).
pub fn unix_now() -> u32 {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(seconds).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
