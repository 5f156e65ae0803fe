//! A chain and record pool in memory, for simulations: the same [`ChainStore`] promises as the
//! redb [`Store`](crate::Store), none of its durability, and blocks shared between stores.
//!
//! A simulation of ten thousand nodes holds ten thousand chains that are almost all the same
//! blocks. Here a chain is a vector of `Arc<Block>`: every store that connects a block keeps a
//! pointer to the one copy, so ten thousand copies of a 2,000-block chain cost 16 KB each. Stores
//! created with the same [`BlockIndex`] also share the map from hash to block, which answers
//! [`ChainStore::height_of`] without a per-store hash table.
//!
//! Validation is the core's, exactly as the redb store runs it: [`Context::from_ancestors`] for the
//! block after the tip, then `check_header` and `check_body`. A change is made on a copy of the
//! affected state and swapped in only when every block passed, so a failed call changes nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use ironchain_core::hash::sha256;
use ironchain_core::pow::{Target, Work};
use ironchain_core::validate::{self, ChainSummary, Context, InvalidBlock, Verifier};
use ironchain_core::{Block, BlockHash, ChainParams, Header, retarget};

use crate::chain_store::ChainStore;
use crate::codec::TipInfo;
use crate::error::{
    AppendError, BadBlock, DbError, Fault, MineError, PoolError, ReorgError, TruncateError,
    VerifyError,
};
use crate::pool::{
    BodyBudget, Mined, PendingRecord, RecordId, Template, body_room, max_record_size, next_template,
};
use crate::store::VerifyMode;
use crate::write::{PoolChanges, ReorgReport, TruncateReport};

/// Blocks by hash, shared by the [`MemStore`]s of one simulation. Blocks are only ever added: a
/// simulation makes a few thousand.
#[derive(Debug, Default)]
pub struct BlockIndex {
    blocks: Mutex<HashMap<BlockHash, (u64, Arc<Block>)>>,
}

impl BlockIndex {
    /// Returns an empty index, ready to share.
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<BlockHash, (u64, Arc<Block>)>> {
        self.blocks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn insert(&self, hash: BlockHash, height: u64, block: &Arc<Block>) {
        self.lock()
            .entry(hash)
            .or_insert_with(|| (height, block.clone()));
    }

    /// Returns the block with this hash and its height, if any store of the index connected it.
    pub fn get(&self, hash: &BlockHash) -> Option<(u64, Arc<Block>)> {
        self.lock().get(hash).cloned()
    }

    /// Returns how many distinct blocks the index holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Returns true if the index holds no block.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The part of a [`MemStore`] that changes.
#[derive(Debug)]
struct State {
    /// The best chain, genesis first.
    chain: Vec<Arc<Block>>,
    tip: TipInfo,
    /// Pending records by id.
    pool: BTreeMap<u64, Vec<u8>>,
    /// Pending ids by the SHA-256 of the record, oldest first.
    pool_index: HashMap<[u8; 32], Vec<u64>>,
    next_id: u64,
}

/// A chain and record pool in memory. See the module documentation.
#[derive(Debug)]
pub struct MemStore {
    params: Arc<ChainParams>,
    index: Arc<BlockIndex>,
    state: Mutex<State>,
    read_only: AtomicBool,
}

/// The work of one block with these bits (zero for unusable bits, which validation rejects).
fn block_work(header: &Header) -> Work {
    header
        .bits
        .to_target()
        .map(Target::work)
        .unwrap_or(Work::ZERO)
}

impl State {
    fn pending_ids(&mut self, record: &[u8]) -> Option<&mut Vec<u64>> {
        self.pool_index.get_mut(&sha256(record))
    }

    fn put_pending(&mut self, record: &[u8]) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        self.pool.insert(id, record.to_vec());
        self.pool_index.entry(sha256(record)).or_default().push(id);
        id
    }

    /// Removes one pending copy of `record`, the oldest.
    fn take_pending(&mut self, record: &[u8]) {
        let digest = sha256(record);
        let Some(ids) = self.pool_index.get_mut(&digest) else {
            return;
        };
        if !ids.is_empty() {
            let id = ids.remove(0);
            self.pool.remove(&id);
        }
        if ids.is_empty() {
            self.pool_index.remove(&digest);
        }
    }

    /// Removes the pending record `id`; returns its bytes, if it was pending.
    fn take_pending_id(&mut self, id: u64) -> Option<Vec<u8>> {
        let record = self.pool.remove(&id)?;
        if let Some(ids) = self.pending_ids(&record) {
            ids.retain(|&other| other != id);
            if ids.is_empty() {
                self.pool_index.remove(&sha256(&record));
            }
        }
        Some(record)
    }

    /// Returns the context the block after the tip is checked against.
    fn next_context(&self, params: &ChainParams, now: u32) -> Context {
        let height = self.tip.height + 1;
        let span = params.median_time_span.max(1);
        let first = self.chain.len().saturating_sub(span);
        let ancestors: Vec<Header> = self.chain[first..].iter().map(|b| b.header).collect();
        let period_start_time = retarget::is_retarget_height(params, height).then(|| {
            let start = retarget::period_start_height(params, height);
            usize::try_from(start)
                .ok()
                .and_then(|start| self.chain.get(start))
                .map_or(0, |block| block.header.time)
        });
        Context::from_ancestors(params, height, &ancestors, period_start_time, now)
            .expect("a chain always holds its genesis block")
    }

    /// Validates `block` against the tip and connects it (the pool is the caller's business).
    fn connect(
        &mut self,
        params: &ChainParams,
        index: &BlockIndex,
        block: &Arc<Block>,
        now: u32,
    ) -> Result<(), InvalidBlock> {
        let ctx = self.next_context(params, now);
        let hash = block.block_hash();
        let fail = |rule| InvalidBlock {
            height: ctx.height,
            hash,
            rule,
        };
        validate::check_header(params, &block.header, hash, &ctx).map_err(fail)?;
        validate::check_body(params, block).map_err(fail)?;
        self.chain.push(block.clone());
        self.tip = TipInfo {
            height: ctx.height,
            hash,
            work: self.tip.work + block_work(&block.header),
        };
        index.insert(hash, ctx.height, block);
        Ok(())
    }

    /// Validates and connects `blocks` in order; if one is invalid, puts the chain back as it
    /// was and names it.
    fn connect_all(
        &mut self,
        params: &ChainParams,
        index: &BlockIndex,
        blocks: &[Arc<Block>],
        now: u32,
    ) -> Result<(), InvalidBlock> {
        let (len, tip) = (self.chain.len(), self.tip);
        for block in blocks {
            if let Err(invalid) = self.connect(params, index, block, now) {
                self.chain.truncate(len);
                self.tip = tip;
                return Err(invalid);
            }
        }
        Ok(())
    }

    /// Disconnects the blocks above `height` and returns them, lowest first. The tip's work is
    /// the old tip's less the work of the removed headers.
    fn cut_to(&mut self, height: u64) -> Vec<Arc<Block>> {
        let keep = usize::try_from(height).map_or(self.chain.len(), |h| h + 1);
        let removed = self.chain.split_off(keep.min(self.chain.len()));
        let removed_work: Work = removed.iter().map(|b| block_work(&b.header)).sum();
        let last = self
            .chain
            .last()
            .expect("a chain always holds its genesis block");
        self.tip = TipInfo {
            height: self.chain.len() as u64 - 1,
            hash: last.block_hash(),
            work: Work::from_u256(
                self.tip
                    .work
                    .to_u256()
                    .saturating_sub(removed_work.to_u256()),
            ),
        };
        removed
    }

    /// Puts back blocks removed by [`State::cut_to`], unchecked (they were checked before).
    fn restore(&mut self, removed: Vec<Arc<Block>>) {
        for block in removed {
            self.tip = TipInfo {
                height: self.tip.height + 1,
                hash: block.block_hash(),
                work: self.tip.work + block_work(&block.header),
            };
            self.chain.push(block);
        }
    }
}

impl MemStore {
    /// Creates a chain holding only `params`' genesis block, sharing blocks through `index`.
    pub fn new(params: Arc<ChainParams>, index: Arc<BlockIndex>) -> Self {
        let genesis = Arc::new(params.genesis.clone());
        let hash = genesis.block_hash();
        index.insert(hash, 0, &genesis);
        let tip = TipInfo {
            height: 0,
            hash,
            work: block_work(&genesis.header),
        };
        Self {
            params,
            index,
            state: Mutex::new(State {
                chain: vec![genesis],
                tip,
                pool: BTreeMap::new(),
                pool_index: HashMap::new(),
                next_id: 0,
            }),
            read_only: AtomicBool::new(false),
        }
    }

    /// Creates a chain holding only `params`' genesis block, with an index of its own.
    pub fn standalone(params: ChainParams) -> Self {
        Self::new(Arc::new(params), BlockIndex::new())
    }

    /// Returns the index of blocks this store shares.
    pub fn index(&self) -> &Arc<BlockIndex> {
        &self.index
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// TEACHING AND TESTING TOOL: replaces the block at `height` with `block` behind the rules'
    /// back, as a disk changed while its node was down would. The next verification names it.
    ///
    /// # Errors
    /// [`DbError::Corrupt`] if there is no block at `height`.
    pub fn tamper(&self, height: u64, block: Block) -> Result<(), DbError> {
        let mut state = self.lock();
        let slot = usize::try_from(height)
            .ok()
            .and_then(|h| state.chain.get_mut(h))
            .ok_or_else(|| DbError::Corrupt(format!("no block at height {height}")))?;
        *slot = Arc::new(block);
        Ok(())
    }

    /// Forgets the blocks above `height` without checking anything, as a disk that lost its
    /// latest writes would: the tip moves back, the pool is untouched.
    pub fn lose_blocks_above(&self, height: u64) {
        self.lock().cut_to(height);
    }

    /// Returns the chain's blocks, genesis first: pointers, not copies.
    pub fn blocks(&self) -> Vec<Arc<Block>> {
        self.lock().chain.clone()
    }
}

impl ChainStore for MemStore {
    fn params(&self) -> &ChainParams {
        &self.params
    }

    fn tip(&self) -> Result<TipInfo, DbError> {
        Ok(self.lock().tip)
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, DbError> {
        let state = self.lock();
        Ok(usize::try_from(height)
            .ok()
            .and_then(|h| state.chain.get(h))
            .map(|block| block.block_hash()))
    }

    fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, DbError> {
        let Some((height, block)) = self.index.get(hash) else {
            return Ok(None);
        };
        let state = self.lock();
        let mine = usize::try_from(height)
            .ok()
            .and_then(|h| state.chain.get(h));
        Ok(mine
            .filter(|mine| Arc::ptr_eq(mine, &block) || mine.block_hash() == *hash)
            .map(|_| height))
    }

    fn block_at(&self, height: u64) -> Result<Option<Arc<Block>>, DbError> {
        let state = self.lock();
        Ok(usize::try_from(height)
            .ok()
            .and_then(|h| state.chain.get(h))
            .cloned())
    }

    fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, DbError> {
        let state = self.lock();
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        Ok(state
            .chain
            .iter()
            .skip(from)
            .take(limit)
            .map(|b| b.header)
            .collect())
    }

    fn locator(&self) -> Result<Vec<BlockHash>, DbError> {
        let state = self.lock();
        let mut out = Vec::new();
        let (mut height, mut step) = (state.chain.len() - 1, 1usize);
        loop {
            out.push(state.chain[height].block_hash());
            if height == 0 {
                break;
            }
            if out.len() >= 10 {
                step = step.saturating_mul(2);
            }
            height = height.saturating_sub(step);
        }
        Ok(out)
    }

    fn append_blocks(&self, blocks: &[Arc<Block>], now: u32) -> Result<TipInfo, AppendError> {
        if self.is_read_only() {
            return Err(AppendError::ReadOnly);
        }
        let mut state = self.lock();
        state.connect_all(&self.params, &self.index, blocks, now)?;
        for block in blocks {
            for record in &block.records {
                state.take_pending(record);
            }
        }
        Ok(state.tip)
    }

    fn reorganize(
        &self,
        fork_height: u64,
        blocks: &[Arc<Block>],
        now: u32,
    ) -> Result<ReorgReport, ReorgError> {
        if self.is_read_only() {
            return Err(ReorgError::ReadOnly);
        }
        let mut state = self.lock();
        if fork_height > state.tip.height {
            return Err(ReorgError::ForkAboveTip {
                fork_height,
                tip: state.tip.height,
            });
        }
        let removed = state.cut_to(fork_height);
        if let Err(invalid) = state.connect_all(&self.params, &self.index, blocks, now) {
            state.restore(removed);
            return Err(invalid.into());
        }
        let disconnected: Vec<Block> = removed.iter().map(|b| (**b).clone()).collect();
        let changes = PoolChanges::of_reorg(&disconnected, blocks);
        for record in changes.take {
            state.take_pending(record);
        }
        let returned = changes.put_back.len();
        for record in changes.put_back {
            state.put_pending(record);
        }
        Ok(ReorgReport {
            disconnected: removed.len() as u64,
            connected: blocks.len() as u64,
            returned_to_pool: returned,
            tip: state.tip,
        })
    }

    fn truncate_to(&self, height: u64) -> Result<TruncateReport, TruncateError> {
        let mut state = self.lock();
        if height > state.tip.height {
            return Err(TruncateError::AboveTip {
                height,
                tip: state.tip.height,
            });
        }
        let removed = state.cut_to(height);
        // The work above was subtracted from headers that may have been changed: recompute it
        // from the blocks that remain.
        state.tip.work = state.chain.iter().map(|b| block_work(&b.header)).sum();
        let (mut returned, mut damaged_blocks) = (0, Vec::new());
        for (offset, block) in removed.iter().enumerate() {
            if block.merkle_root_matches() {
                for record in &block.records {
                    state.put_pending(record);
                    returned += 1;
                }
            } else {
                damaged_blocks.push(height + 1 + offset as u64);
            }
        }
        Ok(TruncateReport {
            dropped: removed.len() as u64,
            returned_to_pool: returned,
            damaged_blocks,
            tip: state.tip,
        })
    }

    fn verify(&self, mode: VerifyMode, now: u32) -> Result<ChainSummary, VerifyError> {
        let (chain, tip) = {
            let state = self.lock();
            (state.chain.clone(), state.tip)
        };
        // One thread: a simulation must not depend on how many cores run it.
        let mut verifier = Verifier::new(&self.params, now).with_threads(1);
        let full = mode == VerifyMode::Full;
        let result = (|| {
            for chunk in chain.chunks(4096) {
                let batch: Vec<Block> = chunk.iter().map(|b| (**b).clone()).collect();
                verifier
                    .push_blocks(&batch, None, full)
                    .map_err(BadBlock::from)?;
            }
            let summary = verifier.summary().ok_or(BadBlock {
                height: 0,
                hash: None,
                fault: Fault::Missing,
            })?;
            if summary.tip != tip.hash || summary.work != tip.work {
                return Err(BadBlock {
                    height: tip.height,
                    hash: Some(summary.tip),
                    fault: Fault::TipMismatch,
                });
            }
            Ok(summary)
        })();
        self.read_only.store(result.is_err(), Ordering::Relaxed);
        result.map_err(VerifyError::from)
    }

    fn is_read_only(&self) -> bool {
        self.read_only.load(Ordering::Relaxed)
    }

    fn max_record_size(&self) -> usize {
        max_record_size(&self.params)
    }

    fn add_records(&self, records: &[Vec<u8>]) -> Result<Vec<RecordId>, PoolError> {
        if self.is_read_only() {
            return Err(PoolError::ReadOnly);
        }
        let max = self.max_record_size();
        if let Some((index, record)) = records.iter().enumerate().find(|(_, r)| r.len() > max) {
            return Err(PoolError::TooLarge {
                index,
                size: record.len(),
                max,
                max_block: self.params.max_block_size,
            });
        }
        let mut state = self.lock();
        Ok(records
            .iter()
            .map(|record| RecordId(state.put_pending(record)))
            .collect())
    }

    fn all_pending(&self) -> Result<Vec<PendingRecord>, DbError> {
        Ok(self
            .lock()
            .pool
            .iter()
            .map(|(id, bytes)| PendingRecord {
                id: RecordId(*id),
                bytes: bytes.clone(),
            })
            .collect())
    }

    fn pool_stats(&self) -> Result<(u64, u64), DbError> {
        let state = self.lock();
        let bytes = state.pool.values().map(|r| r.len() as u64).sum();
        Ok((state.pool.len() as u64, bytes))
    }

    fn template(&self, now: u32) -> Result<Template, DbError> {
        let state = self.lock();
        let mut budget = BodyBudget::new(body_room(&self.params));
        let records = state
            .pool
            .iter()
            .take_while(|(_, bytes)| budget.take(bytes.len()))
            .map(|(id, bytes)| PendingRecord {
                id: RecordId(*id),
                bytes: bytes.clone(),
            })
            .collect();
        let ctx = state.next_context(&self.params, now);
        let tip = &state.chain[state.chain.len() - 1].header;
        Ok(next_template(&ctx, tip, records, now))
    }

    fn commit_mined(
        &self,
        template: &Template,
        header: Header,
        now: u32,
    ) -> Result<Mined, MineError> {
        if self.is_read_only() {
            return Err(MineError::ReadOnly);
        }
        let mut state = self.lock();
        if state.tip.hash != header.prev_blockhash {
            return Err(MineError::Stale);
        }
        for record in &template.records {
            if state.pool.get(&record.id.0) != Some(&record.bytes) {
                return Err(MineError::Stale);
            }
        }
        let records = template.records.iter().map(|r| r.bytes.clone()).collect();
        let block = Arc::new(Block::new(header, records));
        state.connect(&self.params, &self.index, &block, now)?;
        for record in &template.records {
            state.take_pending_id(record.id.0);
        }
        Ok(Mined {
            tip: state.tip,
            records: template.records.iter().map(|r| r.id).collect(),
        })
    }
}
