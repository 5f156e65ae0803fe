//! What a node needs of a store, as a trait: the redb [`Store`] on disk, and the
//! [`MemStore`](crate::MemStore) in memory that a simulation of thousands of nodes runs on.
//!
//! The node's decisions (fork choice, sync, mining, repair) are written once, against this trait,
//! and run unchanged on both: a real node keeps its chain durable in redb, a simulated one keeps
//! pointers to blocks that every simulated node shares. Both give the same promises, and the same
//! tests check both (`tests/chain_store.rs`):
//!
//! - **Validation on the way in.** [`ChainStore::append_blocks`] and [`ChainStore::reorganize`]
//!   check every block against the chain's rules before connecting it, and change nothing if
//!   one is invalid.
//! - **Nothing accepted is lost.** A record added to the pool is, until it is mined, exactly
//!   once either pending or in a block of the best chain; a reorganization returns the records of
//!   disconnected blocks that the new chain lacks.
//! - **One change at a time.** Each call is atomic: it happens entirely or not at all.
//!
//! Blocks are passed as `Arc<Block>`: the redb store only borrows them, the memory store keeps the
//! pointer, so a block seen by ten thousand simulated nodes exists once.

use std::sync::Arc;

use ironchain_core::validate::ChainSummary;
use ironchain_core::{Block, BlockHash, ChainParams, Header};

use crate::codec::TipInfo;
use crate::error::{
    AppendError, DbError, MineError, PoolError, ReorgError, TruncateError, VerifyError,
};
use crate::pool::{Mined, PendingRecord, RecordId, Template};
use crate::store::{Store, VerifyMode};
use crate::write::{ReorgReport, TruncateReport};

/// A chain and its record pool, as a node uses them. See the module documentation.
pub trait ChainStore: Send + Sync {
    /// Returns the chain's parameters.
    fn params(&self) -> &ChainParams;

    /// Returns the best chain's tip.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn tip(&self) -> Result<TipInfo, DbError>;

    /// Returns the hash of the block at `height` on the best chain.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, DbError>;

    /// Returns the height of the block with this hash, if it is on the best chain.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, DbError>;

    /// Returns the block at `height` on the best chain.
    ///
    /// # Errors
    /// [`DbError`] if the store fails or the stored block does not decode.
    fn block_at(&self, height: u64) -> Result<Option<Arc<Block>>, DbError>;

    /// Returns up to `limit` headers of the best chain from height `from` upward.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, DbError>;

    /// Returns a block locator for the tip (Bitcoin Core's `CChain::GetLocator`): the last ten
    /// hashes, then hashes at doubling steps back, then genesis.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn locator(&self) -> Result<Vec<BlockHash>, DbError>;

    /// Validates consecutive blocks extending the tip and appends them all, or none.
    ///
    /// # Errors
    /// [`AppendError::Invalid`] names the first invalid block; nothing is changed.
    fn append_blocks(&self, blocks: &[Arc<Block>], now: u32) -> Result<TipInfo, AppendError>;

    /// Replaces the blocks above `fork_height` by `blocks`, validated from the fork point, in one
    /// change; records of disconnected blocks that the new ones lack go back to the pool.
    ///
    /// # Errors
    /// See [`ReorgError`]; nothing is changed.
    fn reorganize(
        &self,
        fork_height: u64,
        blocks: &[Arc<Block>],
        now: u32,
    ) -> Result<ReorgReport, ReorgError>;

    /// Cuts the chain back to `height` (repair); intact records of dropped blocks return to the
    /// pool.
    ///
    /// # Errors
    /// See [`TruncateError`].
    fn truncate_to(&self, height: u64) -> Result<TruncateReport, TruncateError>;

    /// Verifies the whole chain from genesis and names the first bad block.
    ///
    /// # Errors
    /// See [`VerifyError`].
    fn verify(&self, mode: VerifyMode, now: u32) -> Result<ChainSummary, VerifyError>;

    /// Returns true if the store refuses writes because verification found a bad block.
    fn is_read_only(&self) -> bool;

    /// Returns the largest record a block of this chain can hold.
    fn max_record_size(&self) -> usize;

    /// Adds records to the pool; returns their ids once they are kept.
    ///
    /// # Errors
    /// See [`PoolError`]; none is added.
    fn add_records(&self, records: &[Vec<u8>]) -> Result<Vec<RecordId>, PoolError>;

    /// Returns every pending record, oldest first.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn all_pending(&self) -> Result<Vec<PendingRecord>, DbError>;

    /// Returns the number of pending records and their total size in bytes.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn pool_stats(&self) -> Result<(u64, u64), DbError>;

    /// Builds the next block to mine from the oldest pending records that fit.
    ///
    /// # Errors
    /// [`DbError`] if the store fails.
    fn template(&self, now: u32) -> Result<Template, DbError>;

    /// Commits a template mined to `header`, if the tip and its records are still as they were.
    ///
    /// # Errors
    /// See [`MineError`]; nothing is changed.
    fn commit_mined(
        &self,
        template: &Template,
        header: Header,
        now: u32,
    ) -> Result<Mined, MineError>;
}

impl ChainStore for Store {
    fn params(&self) -> &ChainParams {
        Store::params(self)
    }

    fn tip(&self) -> Result<TipInfo, DbError> {
        Store::tip(self)
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, DbError> {
        Store::hash_at(self, height)
    }

    fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, DbError> {
        Store::height_of(self, hash)
    }

    fn block_at(&self, height: u64) -> Result<Option<Arc<Block>>, DbError> {
        Ok(Store::block_at(self, height)?.map(Arc::new))
    }

    fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, DbError> {
        Store::headers(self, from, limit)
    }

    fn locator(&self) -> Result<Vec<BlockHash>, DbError> {
        Store::locator(self)
    }

    fn append_blocks(&self, blocks: &[Arc<Block>], now: u32) -> Result<TipInfo, AppendError> {
        Store::append_blocks(self, blocks, now)
    }

    fn reorganize(
        &self,
        fork_height: u64,
        blocks: &[Arc<Block>],
        now: u32,
    ) -> Result<ReorgReport, ReorgError> {
        Store::reorganize(self, fork_height, blocks, now)
    }

    fn truncate_to(&self, height: u64) -> Result<TruncateReport, TruncateError> {
        Store::truncate_to(self, height)
    }

    fn verify(&self, mode: VerifyMode, now: u32) -> Result<ChainSummary, VerifyError> {
        Store::verify(self, mode, now)
    }

    fn is_read_only(&self) -> bool {
        Store::is_read_only(self)
    }

    fn max_record_size(&self) -> usize {
        Store::max_record_size(self)
    }

    fn add_records(&self, records: &[Vec<u8>]) -> Result<Vec<RecordId>, PoolError> {
        Store::add_records(self, records)
    }

    fn all_pending(&self) -> Result<Vec<PendingRecord>, DbError> {
        Store::all_pending(self)
    }

    fn pool_stats(&self) -> Result<(u64, u64), DbError> {
        Store::pool_stats(self)
    }

    fn template(&self, now: u32) -> Result<Template, DbError> {
        Store::template(self, now)
    }

    fn commit_mined(
        &self,
        template: &Template,
        header: Header,
        now: u32,
    ) -> Result<Mined, MineError> {
        Store::commit_mined(self, template, header, now)
    }
}

impl<S: ChainStore + ?Sized> ChainStore for Arc<S> {
    fn params(&self) -> &ChainParams {
        (**self).params()
    }

    fn tip(&self) -> Result<TipInfo, DbError> {
        (**self).tip()
    }

    fn hash_at(&self, height: u64) -> Result<Option<BlockHash>, DbError> {
        (**self).hash_at(height)
    }

    fn height_of(&self, hash: &BlockHash) -> Result<Option<u64>, DbError> {
        (**self).height_of(hash)
    }

    fn block_at(&self, height: u64) -> Result<Option<Arc<Block>>, DbError> {
        (**self).block_at(height)
    }

    fn headers(&self, from: u64, limit: usize) -> Result<Vec<Header>, DbError> {
        (**self).headers(from, limit)
    }

    fn locator(&self) -> Result<Vec<BlockHash>, DbError> {
        (**self).locator()
    }

    fn append_blocks(&self, blocks: &[Arc<Block>], now: u32) -> Result<TipInfo, AppendError> {
        (**self).append_blocks(blocks, now)
    }

    fn reorganize(
        &self,
        fork_height: u64,
        blocks: &[Arc<Block>],
        now: u32,
    ) -> Result<ReorgReport, ReorgError> {
        (**self).reorganize(fork_height, blocks, now)
    }

    fn truncate_to(&self, height: u64) -> Result<TruncateReport, TruncateError> {
        (**self).truncate_to(height)
    }

    fn verify(&self, mode: VerifyMode, now: u32) -> Result<ChainSummary, VerifyError> {
        (**self).verify(mode, now)
    }

    fn is_read_only(&self) -> bool {
        (**self).is_read_only()
    }

    fn max_record_size(&self) -> usize {
        (**self).max_record_size()
    }

    fn add_records(&self, records: &[Vec<u8>]) -> Result<Vec<RecordId>, PoolError> {
        (**self).add_records(records)
    }

    fn all_pending(&self) -> Result<Vec<PendingRecord>, DbError> {
        (**self).all_pending()
    }

    fn pool_stats(&self) -> Result<(u64, u64), DbError> {
        (**self).pool_stats()
    }

    fn template(&self, now: u32) -> Result<Template, DbError> {
        (**self).template(now)
    }

    fn commit_mined(
        &self,
        template: &Template,
        header: Header,
        now: u32,
    ) -> Result<Mined, MineError> {
        (**self).commit_mined(template, header, now)
    }
}
