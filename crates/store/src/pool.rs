//! The record pool, and mining its records into the chain.
//!
//! A record is accepted when [`Store::add_records`] returns: by then the transaction holding it
//! has been made durable (fsync), so a crash a moment later cannot lose it. Mining takes pending
//! records, finds a nonce outside any transaction, and then, in one transaction, checks that
//! the tip and the records are still as they were, stores the block and removes the records from
//! the pool. So an accepted record is always exactly once either pending or in a block.

use ironchain_core::Header;
use ironchain_core::block::Block;
use ironchain_core::merkle;
use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use redb::{ReadableDatabase, ReadableTableMetadata};

use crate::codec::TipInfo;
use crate::error::{DbError, MineError, PoolError};
use crate::store::{BLOCKS, META, POOL, Store};
use crate::write::{Tail, Writer, begin};

/// The size of a block holding no records: the header and the record count.
const EMPTY_BLOCK: usize = Header::SIZE + 4;
/// The bytes a record adds to a block besides its own: its length field.
const RECORD_OVERHEAD: usize = 4;

/// Returns the largest record a block of `params` can hold.
pub(crate) fn max_record_size(params: &ironchain_core::ChainParams) -> usize {
    params
        .max_block_size
        .saturating_sub(EMPTY_BLOCK + RECORD_OVERHEAD)
}

/// A record's number in the pool, in the order records were accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordId(pub u64);

/// A pending record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingRecord {
    /// Its id.
    pub id: RecordId,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A block ready to mine: a header linking to the tip, committing to `records`, with the
/// difficulty and earliest time the rules demand, and nonce 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    /// The height the block will have.
    pub height: u64,
    /// The header to mine.
    pub header: Header,
    /// The pending records it holds, oldest first.
    pub records: Vec<PendingRecord>,
}

/// A block mined from the pool and committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mined {
    /// The new tip (the mined block).
    pub tip: TipInfo,
    /// The records it holds, which are no longer pending.
    pub records: Vec<RecordId>,
}

impl Store {
    /// Returns the largest record a block of this chain can hold.
    pub fn max_record_size(&self) -> usize {
        max_record_size(&self.params)
    }

    /// Adds records to the pool and returns their ids once they are durable on disk.
    ///
    /// # Errors
    /// [`PoolError::TooLarge`] if a record could never fit in a block (then none is added),
    /// [`PoolError::ReadOnly`], or a database failure (none is added).
    pub fn add_records<R: AsRef<[u8]>>(&self, records: &[R]) -> Result<Vec<RecordId>, PoolError> {
        if self.is_read_only() {
            return Err(PoolError::ReadOnly);
        }
        let max = self.max_record_size();
        if let Some((index, record)) = records
            .iter()
            .enumerate()
            .find(|(_, r)| r.as_ref().len() > max)
        {
            return Err(PoolError::TooLarge {
                index,
                size: record.as_ref().len(),
                max,
                max_block: self.params.max_block_size,
            });
        }
        let txn = begin(self)?;
        let ids = {
            let mut writer = Writer::open(&self.params, &txn)?;
            let mut ids = Vec::with_capacity(records.len());
            for record in records {
                ids.push(RecordId(writer.put_pending(record.as_ref())?));
            }
            writer.finish()?;
            ids
        };
        txn.commit().map_err(DbError::from)?;
        tracing::debug!(count = ids.len(), "records accepted");
        Ok(ids)
    }

    /// Returns pending records, oldest first, as many as fit in `max_bytes` of block body
    /// (each record costs its length plus a 4-byte length field).
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn pending(&self, max_bytes: usize) -> Result<Vec<PendingRecord>, DbError> {
        let txn = self.db.begin_read()?;
        let pool = txn.open_table(POOL)?;
        let mut out = Vec::new();
        let mut budget = BodyBudget::new(max_bytes);
        for entry in pool.range(0..)? {
            let (id, bytes) = entry?;
            if !budget.take(bytes.value().len()) {
                break;
            }
            out.push(PendingRecord {
                id: RecordId(id.value()),
                bytes: bytes.value().to_vec(),
            });
        }
        Ok(out)
    }

    /// Returns every pending record, oldest first.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn all_pending(&self) -> Result<Vec<PendingRecord>, DbError> {
        self.pending(usize::MAX)
    }

    /// Builds the next block to mine from the oldest pending records that fit.
    ///
    /// # Errors
    /// [`DbError`] if the database fails or the stored tip is damaged.
    pub fn template(&self, now: u32) -> Result<Template, DbError> {
        let records = self.pending(body_room(&self.params))?;
        let txn = self.db.begin_read()?;
        let blocks = txn.open_table(BLOCKS)?;
        let mut tail = Tail::load(&self.params, &txn.open_table(META)?, &blocks)?;
        let ctx = tail.context(&self.params, now, &blocks)?;
        Ok(next_template(&ctx, tail.tip_header(), records, now))
    }

    /// Commits a template mined to `header`: checks that the tip is still the template's parent
    /// and its records still pending, then, in one durable transaction, stores the block and
    /// removes the records from the pool.
    ///
    /// # Errors
    /// [`MineError::Stale`] if the tip or the pool changed, [`MineError::Invalid`] if the block
    /// breaks a rule, [`MineError::ReadOnly`], or a database failure. Nothing is changed.
    pub fn commit_mined(
        &self,
        template: &Template,
        header: Header,
        now: u32,
    ) -> Result<Mined, MineError> {
        if self.is_read_only() {
            return Err(MineError::ReadOnly);
        }
        let records: Vec<Vec<u8>> = template.records.iter().map(|r| r.bytes.clone()).collect();
        let block = Block::new(header, records);
        let txn = begin(self)?;
        let tip = {
            let mut writer = Writer::open(&self.params, &txn)?;
            if writer.tail.tip.hash != header.prev_blockhash {
                return Err(MineError::Stale);
            }
            for record in &template.records {
                if writer.take_pending_id(record.id.0)?.as_ref() != Some(&record.bytes) {
                    return Err(MineError::Stale);
                }
            }
            writer.append(&block, now, false)??;
            writer.finish()?
        };
        txn.commit().map_err(DbError::from)?;
        tracing::info!(height = tip.height, hash = %tip.hash, records = block.records.len(), "mined");
        Ok(Mined {
            tip,
            records: template.records.iter().map(|r| r.id).collect(),
        })
    }

    /// Mines the next block from the pool on `threads` threads and commits it (see
    /// [`Store::template`] and [`Store::commit_mined`]). The block may be empty if nothing is
    /// pending. `control` counts hashes and cancels.
    ///
    /// # Errors
    /// [`MineError::Cancelled`] (nothing is changed) and the errors of [`Store::commit_mined`].
    pub fn mine_next(
        &self,
        threads: usize,
        control: &MineControl,
        now: u32,
    ) -> Result<Mined, MineError> {
        if self.is_read_only() {
            return Err(MineError::ReadOnly);
        }
        let template = self.template(now)?;
        let target = template.header.bits.to_target().map_err(|error| {
            MineError::Invalid(ironchain_core::InvalidBlock {
                height: template.height,
                hash: template.header.block_hash(),
                rule: ironchain_core::Rule::BadTarget(error),
            })
        })?;
        let max_time = now.saturating_add(self.params.max_future_drift);
        let job = MineJob {
            header: template.header,
            target,
            max_time,
            threads,
        };
        match miner::mine(&job, control) {
            MineOutcome::Found(header) => self.commit_mined(&template, header, now),
            MineOutcome::Cancelled => Err(MineError::Cancelled),
            MineOutcome::Exhausted => Err(MineError::Exhausted),
        }
    }
}

/// Builds the template of the block after `tip` (whose context is `ctx`) holding `records`: the
/// earliest time the rules allow (or `now`, if later), the bits they demand, nonce 0.
pub(crate) fn next_template(
    ctx: &ironchain_core::validate::Context,
    tip: &Header,
    records: Vec<PendingRecord>,
    now: u32,
) -> Template {
    let earliest = ctx
        .median_time_past
        .map_or(now, |mtp| mtp.saturating_add(1));
    let leaves: Vec<&[u8]> = records.iter().map(|r| r.bytes.as_slice()).collect();
    let header = Header {
        version: 1,
        prev_blockhash: ctx.prev_hash,
        merkle_root: merkle::root(&leaves),
        time: now.max(earliest),
        bits: ctx.expected_bits.unwrap_or(tip.bits),
        nonce: 0,
    };
    Template {
        height: ctx.height,
        header,
        records,
    }
}

/// What is left of a block body's room as records are put in it, oldest first.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyBudget {
    left: usize,
}

impl BodyBudget {
    /// A budget of `max_bytes` of block body.
    pub(crate) fn new(max_bytes: usize) -> Self {
        Self { left: max_bytes }
    }

    /// Takes room for a record of `len` bytes (plus its length field); false if it does not fit.
    pub(crate) fn take(&mut self, len: usize) -> bool {
        let cost = len.saturating_add(RECORD_OVERHEAD);
        if cost > self.left {
            return false;
        }
        self.left -= cost;
        true
    }
}

/// The body bytes a block of `params` has for records.
pub(crate) fn body_room(params: &ironchain_core::ChainParams) -> usize {
    params.max_block_size.saturating_sub(EMPTY_BLOCK)
}

impl Store {
    /// Returns the number of pending records and their total size in bytes.
    ///
    /// # Errors
    /// [`DbError`] if the database fails.
    pub fn pool_stats(&self) -> Result<(u64, u64), DbError> {
        let txn = self.db.begin_read()?;
        let pool = txn.open_table(POOL)?;
        let mut bytes = 0u64;
        for entry in pool.range(0..)? {
            bytes += entry?.1.value().len() as u64;
        }
        Ok((pool.len()?, bytes))
    }
}
