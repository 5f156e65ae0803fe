//! Tampering: a teaching tool that changes stored blocks behind the chain's back.
//!
//! **Nothing here is for a real chain.** These functions rewrite a block's stored bytes without
//! validating anything or updating the indexes, the way an attacker (or a failing disk) with
//! access to the database file would. They exist so that a learner can change a record or a
//! header and watch [`Store::verify`] name the block and the rule it now breaks. They work even on
//! a read-only store.

use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use ironchain_core::{Block, Header};
use redb::ReadableTable;

use crate::codec;
use crate::error::{DbError, TamperError};
use crate::store::{BLOCKS, HASHES, HEIGHTS, KEY_TIP, META, Store};
use crate::write::begin;

impl Store {
    /// Teaching tool: applies `change` to the stored bytes of the block at `height` and writes
    /// them back, unchecked.
    ///
    /// # Errors
    /// [`TamperError::NoBlock`], or a database failure.
    pub fn tamper_raw(
        &self,
        height: u64,
        change: impl FnOnce(&mut Vec<u8>),
    ) -> Result<(), TamperError> {
        let txn = begin(self)?;
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut bytes = blocks
                .get(height)?
                .map(|b| b.value().to_vec())
                .ok_or(TamperError::NoBlock(height))?;
            change(&mut bytes);
            blocks.insert(height, bytes.as_slice())?;
        }
        txn.commit().map_err(DbError::from)?;
        tracing::warn!(height, "tampered with a stored block");
        Ok(())
    }

    /// Teaching tool: replaces record `index` of the block at `height`, leaving the header (and
    /// its merkle root) as it was.
    ///
    /// # Errors
    /// [`TamperError::NoRecord`], [`TamperError::Undecodable`], or as [`Store::tamper_raw`].
    pub fn tamper_record(
        &self,
        height: u64,
        index: usize,
        record: &[u8],
    ) -> Result<(), TamperError> {
        let mut block = self.decoded_for_tamper(height)?;
        let count = block.records.len();
        let slot = block.records.get_mut(index).ok_or(TamperError::NoRecord {
            height,
            index,
            count,
        })?;
        *slot = record.to_vec();
        self.tamper_raw(height, |bytes| *bytes = block.encode())
    }

    /// Teaching tool: applies `change` to the header of the block at `height`.
    ///
    /// # Errors
    /// As [`Store::tamper_raw`].
    pub fn tamper_header(
        &self,
        height: u64,
        change: impl FnOnce(&mut Header),
    ) -> Result<(), TamperError> {
        let mut block = self.decoded_for_tamper(height)?;
        change(&mut block.header);
        self.tamper_raw(height, |bytes| *bytes = block.encode())
    }

    /// Teaching tool: does what an attacker does after changing a block: recommits its header to
    /// its records as they are now, mines it again (same parent, time and bits) and records its
    /// new hash in the indexes. The block then passes, and the *next* block's link breaks.
    /// Returns the hashes it took.
    ///
    /// # Errors
    /// [`TamperError::Undecodable`], as [`Store::tamper_raw`]; a cancelled or exhausted search
    /// changes nothing and returns `Ok(None)`.
    pub fn tamper_remine(
        &self,
        height: u64,
        threads: usize,
        control: &MineControl,
    ) -> Result<Option<u64>, TamperError> {
        let mut block = self.decoded_for_tamper(height)?;
        let old_hash = self.hash_at(height)?;
        block.header.merkle_root = block.compute_merkle_root();
        block.header.nonce = 0;
        let Ok(target) = block.header.bits.to_target() else {
            return Ok(None);
        };
        let before = control.hashes();
        let job = MineJob {
            header: block.header,
            target,
            max_time: block.header.time,
            threads,
        };
        let MineOutcome::Found(header) = miner::mine(&job, control) else {
            return Ok(None);
        };
        let mined = Block::new(header, block.records);
        let hash = mined.block_hash();
        let txn = begin(self)?;
        {
            txn.open_table(BLOCKS)?
                .insert(height, mined.encode().as_slice())?;
            txn.open_table(HASHES)?
                .insert(height, hash.as_byte_array())?;
            let mut heights = txn.open_table(HEIGHTS)?;
            if let Some(old) = old_hash {
                heights.remove(old.as_byte_array())?;
            }
            heights.insert(hash.as_byte_array(), height)?;
            // Re-mining the tip renames it: the recorded tip follows, as an attacker who rewrote
            // the whole file would make it (same height, same work: the bits are unchanged).
            let mut meta = txn.open_table(META)?;
            let tip = meta
                .get(KEY_TIP)?
                .and_then(|bytes| codec::decode_tip(bytes.value()));
            if let Some(mut tip) = tip.filter(|tip| tip.height == height) {
                tip.hash = hash;
                meta.insert(KEY_TIP, codec::encode_tip(&tip).as_slice())?;
            }
        }
        txn.commit().map_err(DbError::from)?;
        tracing::warn!(height, %hash, "re-mined a tampered block");
        Ok(Some(control.hashes() - before))
    }

    fn decoded_for_tamper(&self, height: u64) -> Result<Block, TamperError> {
        let bytes = self
            .raw_block_at(height)?
            .ok_or(TamperError::NoBlock(height))?;
        Block::decode(&bytes, usize::MAX)
            .map_err(|source| TamperError::Undecodable { height, source })
    }
}
