//! Changing the chain: append, reorganize and truncate, each in one write transaction.
//!
//! Every change goes through a [`Writer`], which holds a write transaction's tables and the
//! chain's last few headers (what the rules need to check the next block). A block is validated
//! against the tip with the core's `check_header`/`check_body` before it is connected; connecting
//! it stores its encoding and index entries, removes the records it holds from the pool, and
//! moves the tip. The transaction commits only when the whole change is made, so a crash, an
//! invalid block or a full disk leaves the chain as it was.

use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};

use ironchain_core::hash::sha256;
use ironchain_core::pow::{CompactTarget, Work};
use ironchain_core::retarget;
use ironchain_core::validate::{self, Context, InvalidBlock};
use ironchain_core::{Block, BlockHash, ChainParams, Header};
use redb::{
    Durability, MultimapTable, ReadableMultimapTable, ReadableTable, Table, WriteTransaction,
};

use crate::codec::{self, TipInfo};
use crate::error::{AppendError, DbError, ReorgError, TruncateError};
use crate::store::{
    BLOCKS, HASHES, HEIGHTS, KEY_NEXT_ID, KEY_TIP, META, POOL, POOL_INDEX, Store, header_of,
    read_tip,
};

/// What a reorganization did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReorgReport {
    /// Blocks removed from the old chain.
    pub disconnected: u64,
    /// Blocks added from the new chain.
    pub connected: u64,
    /// Records of disconnected blocks that the new chain lacks, now pending again.
    pub returned_to_pool: usize,
    /// The new tip.
    pub tip: TipInfo,
}

/// What a truncation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncateReport {
    /// Blocks removed.
    pub dropped: u64,
    /// Records of dropped blocks that were intact (their block's merkle root matched) and are
    /// pending again.
    pub returned_to_pool: usize,
    /// Dropped blocks whose records could not be trusted (changed or undecodable), and were
    /// not returned to the pool.
    pub damaged_blocks: Vec<u64>,
    /// The new tip.
    pub tip: TipInfo,
}

/// The end of the chain as the rules see it: the tip and the headers before it.
#[derive(Debug)]
pub(crate) struct Tail {
    pub(crate) tip: TipInfo,
    /// The last `median_time_span` headers, oldest first, ending with the tip's.
    recent: VecDeque<Header>,
    last_work: Option<(CompactTarget, Work)>,
}

impl Tail {
    pub(crate) fn load(
        params: &ChainParams,
        meta: &impl ReadableTable<&'static str, &'static [u8]>,
        blocks: &impl ReadableTable<u64, &'static [u8]>,
    ) -> Result<Self, DbError> {
        let tip = read_tip(meta)?;
        let span = params.median_time_span.max(1) as u64;
        let from = tip.height.saturating_sub(span - 1);
        let mut recent = VecDeque::with_capacity(span as usize);
        for entry in blocks.range(from..=tip.height)? {
            let (height, bytes) = entry?;
            recent.push_back(header_of(height.value(), bytes.value())?);
        }
        if recent.len() as u64 != tip.height - from + 1 {
            return Err(DbError::Corrupt(format!(
                "blocks below the tip {} are missing",
                tip.height
            )));
        }
        Ok(Self {
            tip,
            recent,
            last_work: None,
        })
    }

    /// Returns the context the next block is checked against.
    pub(crate) fn context(
        &mut self,
        params: &ChainParams,
        now: u32,
        blocks: &impl ReadableTable<u64, &'static [u8]>,
    ) -> Result<Context, DbError> {
        let height = self.tip.height + 1;
        let start_time = if retarget::is_retarget_height(params, height) {
            let start = retarget::period_start_height(params, height);
            let bytes = blocks
                .get(start)?
                .ok_or_else(|| DbError::Corrupt(format!("block {start} is missing")))?;
            Some(header_of(start, bytes.value())?.time)
        } else {
            None
        };
        Ok(Context::from_ancestors(
            params,
            height,
            self.recent.make_contiguous(),
            start_time,
            now,
        )
        .expect("the tail always holds the tip's header"))
    }

    /// Returns the tip's header.
    pub(crate) fn tip_header(&self) -> &Header {
        self.recent
            .back()
            .expect("the tail always holds the tip's header")
    }

    fn accept(&mut self, params: &ChainParams, header: Header, hash: BlockHash) {
        let work = match self.last_work {
            Some((bits, work)) if bits == header.bits => work,
            _ => {
                let work = codec::block_work(header.bits);
                self.last_work = Some((header.bits, work));
                work
            }
        };
        if self.recent.len() >= params.median_time_span.max(1) {
            self.recent.pop_front();
        }
        self.recent.push_back(header);
        self.tip = TipInfo {
            height: self.tip.height + 1,
            hash,
            work: self.tip.work + work,
        };
    }
}

/// A block removed by [`Writer::cut_to`]: its height and stored bytes (`None` if it was
/// missing from a damaged store).
type Removed = (u64, Option<Vec<u8>>);

/// A write transaction's tables and the chain's tail.
pub(crate) struct Writer<'t> {
    params: &'t ChainParams,
    pub(crate) meta: Table<'t, &'static str, &'static [u8]>,
    pub(crate) blocks: Table<'t, u64, &'static [u8]>,
    pub(crate) hashes: Table<'t, u64, &'static [u8; 32]>,
    pub(crate) heights: Table<'t, &'static [u8; 32], u64>,
    pub(crate) pool: Table<'t, u64, &'static [u8]>,
    pub(crate) pool_index: MultimapTable<'t, &'static [u8; 32], u64>,
    pub(crate) tail: Tail,
    next_id: u64,
    encoded: Vec<u8>,
}

/// Begins a durable write transaction: `commit` returns only once the change is on disk.
pub(crate) fn begin(store: &Store) -> Result<WriteTransaction, DbError> {
    let mut txn = store.db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    Ok(txn)
}

impl<'t> Writer<'t> {
    pub(crate) fn open(
        params: &'t ChainParams,
        txn: &'t WriteTransaction,
    ) -> Result<Self, DbError> {
        Self::open_inner(params, txn, true)
    }

    /// Opens the tables without reading the tip's headers, which may be damaged: for cutting
    /// the chain back only (appending needs [`Writer::reload`] first).
    fn open_for_repair(
        params: &'t ChainParams,
        txn: &'t WriteTransaction,
    ) -> Result<Self, DbError> {
        Self::open_inner(params, txn, false)
    }

    fn open_inner(
        params: &'t ChainParams,
        txn: &'t WriteTransaction,
        load_tail: bool,
    ) -> Result<Self, DbError> {
        let meta = txn.open_table(META)?;
        let blocks = txn.open_table(BLOCKS)?;
        let tail = if load_tail {
            Tail::load(params, &meta, &blocks)?
        } else {
            Tail {
                tip: read_tip(&meta)?,
                recent: VecDeque::new(),
                last_work: None,
            }
        };
        let next_id = match meta.get(KEY_NEXT_ID)? {
            Some(bytes) => u64::from_le_bytes(
                bytes
                    .value()
                    .try_into()
                    .map_err(|_| DbError::Corrupt("the next record id is malformed".into()))?,
            ),
            None => return Err(DbError::Corrupt("the next record id is missing".into())),
        };
        Ok(Self {
            params,
            meta,
            blocks,
            hashes: txn.open_table(HASHES)?,
            heights: txn.open_table(HEIGHTS)?,
            pool: txn.open_table(POOL)?,
            pool_index: txn.open_multimap_table(POOL_INDEX)?,
            tail,
            next_id,
            encoded: Vec::new(),
        })
    }

    /// Checks `block` against the tip; `Ok(Err(_))` names the rule it breaks.
    pub(crate) fn check(
        &mut self,
        block: &Block,
        now: u32,
    ) -> Result<Result<BlockHash, InvalidBlock>, DbError> {
        let ctx = self.tail.context(self.params, now, &self.blocks)?;
        let hash = block.block_hash();
        let fail = |rule| InvalidBlock {
            height: ctx.height,
            hash,
            rule,
        };
        if let Err(rule) = validate::check_header(self.params, &block.header, hash, &ctx) {
            return Ok(Err(fail(rule)));
        }
        if let Err(rule) = validate::check_body(self.params, block) {
            return Ok(Err(fail(rule)));
        }
        Ok(Ok(hash))
    }

    /// Validates and connects `block`; with `take_from_pool`, removes one pending copy of each
    /// of its records (those the pool has).
    pub(crate) fn append(
        &mut self,
        block: &Block,
        now: u32,
        take_from_pool: bool,
    ) -> Result<Result<(), InvalidBlock>, DbError> {
        let hash = match self.check(block, now)? {
            Ok(hash) => hash,
            Err(invalid) => return Ok(Err(invalid)),
        };
        if take_from_pool {
            for record in &block.records {
                self.take_pending(record)?;
            }
        }
        let height = self.tail.tip.height + 1;
        self.encoded.clear();
        block.encode_into(&mut self.encoded);
        self.blocks.insert(height, self.encoded.as_slice())?;
        self.hashes.insert(height, hash.as_byte_array())?;
        self.heights.insert(hash.as_byte_array(), height)?;
        self.tail.accept(self.params, block.header, hash);
        Ok(Ok(()))
    }

    /// Removes the tip block and returns its stored bytes (which may not decode, in a damaged
    /// store). The tail must be reloaded ([`Writer::reload`]) before appending again.
    fn remove_tip_block(&mut self) -> Result<Option<Vec<u8>>, DbError> {
        let height = self.tail.tip.height;
        let bytes = self.blocks.remove(height)?.map(|b| b.value().to_vec());
        if let Some(recorded) = self.hashes.remove(height)?.map(|h| *h.value()) {
            self.heights.remove(&recorded)?;
        }
        Ok(bytes)
    }

    /// Disconnects blocks above `height`, returning their stored bytes, lowest first, and the
    /// new tip (whose work is recomputed from the remaining headers).
    fn cut_to(&mut self, height: u64) -> Result<Vec<Removed>, DbError> {
        let mut removed = Vec::new();
        let mut removed_work = Work::ZERO;
        while self.tail.tip.height > height {
            let at = self.tail.tip.height;
            let bytes = self.remove_tip_block()?;
            if let Some(header) = bytes.as_deref().and_then(|b| header_of(at, b).ok()) {
                removed_work += codec::block_work(header.bits);
            }
            removed.push((at, bytes));
            self.tail.tip.height = at - 1;
        }
        removed.reverse();
        let hash = self
            .hashes
            .get(height)?
            .map(|h| BlockHash::from_byte_array(*h.value()))
            .ok_or_else(|| DbError::Corrupt(format!("the hash of block {height} is missing")))?;
        let work = sub_work(self.tail.tip.work, removed_work);
        self.write_tip(TipInfo { height, hash, work })?;
        self.reload()?;
        Ok(removed)
    }

    fn reload(&mut self) -> Result<(), DbError> {
        self.tail = Tail::load(self.params, &self.meta, &self.blocks)?;
        Ok(())
    }

    fn write_tip(&mut self, tip: TipInfo) -> Result<(), DbError> {
        self.meta
            .insert(KEY_TIP, codec::encode_tip(&tip).as_slice())?;
        Ok(())
    }

    /// Adds a record to the pool and returns its id.
    pub(crate) fn put_pending(&mut self, record: &[u8]) -> Result<u64, DbError> {
        let id = self.next_id;
        self.next_id += 1;
        self.pool.insert(id, record)?;
        self.pool_index.insert(&sha256(record), id)?;
        Ok(id)
    }

    /// Removes the pending record `id`; returns its bytes, or `None` if it is not pending.
    pub(crate) fn take_pending_id(&mut self, id: u64) -> Result<Option<Vec<u8>>, DbError> {
        let Some(record) = self.pool.remove(id)?.map(|r| r.value().to_vec()) else {
            return Ok(None);
        };
        self.pool_index.remove(&sha256(&record), id)?;
        Ok(Some(record))
    }

    /// Removes one pending copy of `record`, the oldest; returns false if none is pending.
    fn take_pending(&mut self, record: &[u8]) -> Result<bool, DbError> {
        let digest = sha256(record);
        let id = match self.pool_index.get(&digest)?.next() {
            Some(id) => id?.value(),
            None => return Ok(false),
        };
        self.pool_index.remove(&digest, id)?;
        self.pool.remove(id)?;
        Ok(true)
    }

    /// Writes the tip and the next record id; call last, before committing.
    pub(crate) fn finish(mut self) -> Result<TipInfo, DbError> {
        let tip = self.tail.tip;
        self.write_tip(tip)?;
        self.meta
            .insert(KEY_NEXT_ID, self.next_id.to_le_bytes().as_slice())?;
        Ok(tip)
    }
}

/// What a reorganization does to the pool: the records of the new blocks that were not in the
/// disconnected ones leave it (they may have been pending), and the records of the disconnected
/// blocks that the new ones lack come back (oldest first). Records are a multiset: a record
/// twice in the old blocks and once in the new comes back once.
#[derive(Debug)]
pub(crate) struct PoolChanges<'a> {
    /// Records to remove one pending copy of.
    pub(crate) take: Vec<&'a [u8]>,
    /// Records to add back to the pool, in the order they were in the old chain.
    pub(crate) put_back: Vec<&'a [u8]>,
}

impl<'a> PoolChanges<'a> {
    pub(crate) fn of_reorg<B: Borrow<Block>>(
        disconnected: &'a [Block],
        connected: &'a [B],
    ) -> Self {
        let mut counts: HashMap<&[u8], usize> = HashMap::new();
        for block in disconnected {
            for record in &block.records {
                *counts.entry(record.as_slice()).or_default() += 1;
            }
        }
        let mut take = Vec::new();
        for block in connected {
            for record in &block.borrow().records {
                match counts.get_mut(record.as_slice()) {
                    Some(count) if *count > 0 => *count -= 1,
                    _ => take.push(record.as_slice()),
                }
            }
        }
        let mut put_back = Vec::new();
        for record in disconnected.iter().flat_map(|block| &block.records) {
            if let Some(count) = counts.get_mut(record.as_slice()).filter(|c| **c > 0) {
                *count -= 1;
                put_back.push(record.as_slice());
            }
        }
        Self { take, put_back }
    }
}

/// `a - b`, or zero if `b` is larger (which only a damaged store can cause).
fn sub_work(a: Work, b: Work) -> Work {
    Work::from_u256(a.to_u256().saturating_sub(b.to_u256()))
}

impl Store {
    /// Validates `block` against the tip and appends it, removing from the pool the pending
    /// records it holds, in one durable transaction.
    ///
    /// # Errors
    /// [`AppendError::Invalid`] naming the rule it breaks (nothing is written),
    /// [`AppendError::ReadOnly`], or a database failure.
    pub fn append_block(&self, block: &Block, now: u32) -> Result<TipInfo, AppendError> {
        self.append_blocks(std::slice::from_ref(block), now)
    }

    /// As [`Store::append_block`] for consecutive blocks, all in one transaction: all are
    /// appended or none is. For bulk loading (import, benchmarks, catching up with a peer).
    ///
    /// # Errors
    /// As [`Store::append_block`]; the first invalid block is named.
    pub fn append_blocks<B: Borrow<Block>>(
        &self,
        blocks: &[B],
        now: u32,
    ) -> Result<TipInfo, AppendError> {
        if self.is_read_only() {
            return Err(AppendError::ReadOnly);
        }
        let txn = begin(self)?;
        let tip = {
            let mut writer = Writer::open(&self.params, &txn)?;
            for block in blocks {
                writer.append(block.borrow(), now, true)??;
            }
            writer.finish()?
        };
        txn.commit().map_err(DbError::from)?;
        tracing::debug!(height = tip.height, blocks = blocks.len(), "appended");
        Ok(tip)
    }

    /// Replaces the blocks above `fork_height` by `new_blocks`, validated from the fork point,
    /// in one transaction. Records of the disconnected blocks that the new blocks lack go back
    /// into the pool, and pending records the new blocks hold leave it: an accepted record is
    /// never lost nor stored twice. Choosing the chain with the most work is the caller's job.
    ///
    /// # Errors
    /// [`ReorgError::Invalid`] for the first invalid new block (nothing is changed),
    /// [`ReorgError::ForkAboveTip`], [`ReorgError::ReadOnly`], or a database failure.
    pub fn reorganize<B: Borrow<Block>>(
        &self,
        fork_height: u64,
        new_blocks: &[B],
        now: u32,
    ) -> Result<ReorgReport, ReorgError> {
        if self.is_read_only() {
            return Err(ReorgError::ReadOnly);
        }
        let txn = begin(self)?;
        let report = {
            let mut writer = Writer::open(&self.params, &txn)?;
            let old_tip = writer.tail.tip.height;
            if fork_height > old_tip {
                return Err(ReorgError::ForkAboveTip {
                    fork_height,
                    tip: old_tip,
                });
            }
            let removed = writer.cut_to(fork_height)?;
            let mut disconnected = Vec::with_capacity(removed.len());
            for (height, bytes) in &removed {
                disconnected.push(self.decode(*height, bytes.as_deref().unwrap_or_default())?);
            }
            for block in new_blocks {
                writer.append(block.borrow(), now, false)??;
            }
            let changes = PoolChanges::of_reorg(&disconnected, new_blocks);
            for record in changes.take {
                writer.take_pending(record)?;
            }
            let returned = changes.put_back.len();
            for record in changes.put_back {
                writer.put_pending(record)?;
            }
            let tip = writer.finish()?;
            ReorgReport {
                disconnected: removed.len() as u64,
                connected: new_blocks.len() as u64,
                returned_to_pool: returned,
                tip,
            }
        };
        txn.commit().map_err(DbError::from)?;
        tracing::info!(fork_height, ?report, "reorganized");
        Ok(report)
    }

    /// Cuts the chain back to `height` (repair after tampering or damage). Records of dropped
    /// blocks whose merkle root still matches go back into the pool; a dropped block that was
    /// changed cannot say which of its records are genuine, so its records are not returned and
    /// its height is listed in the report. Works on a read-only store; the caller should verify
    /// again afterwards (a chain that verifies becomes writable).
    ///
    /// # Errors
    /// [`TruncateError::AboveTip`], or a database failure (nothing is changed).
    pub fn truncate_to(&self, height: u64) -> Result<TruncateReport, TruncateError> {
        let txn = begin(self)?;
        let report = {
            let mut writer = Writer::open_for_repair(&self.params, &txn)?;
            let tip = writer.tail.tip.height;
            if height > tip {
                return Err(TruncateError::AboveTip { height, tip });
            }
            let removed = writer.cut_to(height)?;
            let (mut returned, mut damaged_blocks) = (0, Vec::new());
            for (at, bytes) in &removed {
                match bytes
                    .as_deref()
                    .map(|b| Block::decode(b, self.params.max_block_size))
                {
                    Some(Ok(block)) if block.merkle_root_matches() => {
                        for record in &block.records {
                            writer.put_pending(record)?;
                            returned += 1;
                        }
                    }
                    _ => damaged_blocks.push(*at),
                }
            }
            // The work above was subtracted from headers that may have been changed: recompute
            // it from the blocks that remain.
            let mut work = Work::ZERO;
            for entry in writer.blocks.range(0..=height)? {
                let (at, bytes) = entry?;
                work += codec::block_work(header_of(at.value(), bytes.value())?.bits);
            }
            writer.tail.tip.work = work;
            let tip = writer.finish()?;
            TruncateReport {
                dropped: removed.len() as u64,
                returned_to_pool: returned,
                damaged_blocks,
                tip,
            }
        };
        txn.commit().map_err(DbError::from)?;
        tracing::warn!(height, ?report, "truncated the chain");
        Ok(report)
    }
}
