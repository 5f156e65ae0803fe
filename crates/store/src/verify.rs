//! Verifying a stored chain: stream every block from the database through the core's
//! [`Verifier`], in height order, and name the first bad one.
//!
//! The verifier hashes each batch on all cores; this module only feeds it. Two things are
//! checked here that the core cannot see: that each height has a block and a recorded hash (a
//! deleted or swapped entry), and that the recorded tip is what the blocks add up to. A fault
//! found here is reported only after every block below it has passed the core's rules, so the
//! height named is always the *first* bad one.

use ironchain_core::validate::{ChainSummary, Verifier};
use ironchain_core::{Block, BlockHash};
use redb::ReadableDatabase;

use crate::error::{BadBlock, DbError, Fault, VerifyError};
use crate::store::{BLOCKS, HASHES, HEIGHTS, META, Store, VerifyMode, read_tip};

/// Blocks handed to the verifier at a time: its own parallel batch size, so every batch keeps
/// all cores busy while memory stays flat.
const BATCH: usize = 1 << 16;

impl Store {
    /// Verifies the stored chain from genesis (see [`VerifyMode`]); `now` is the clock the
    /// future-time rule is checked against. A bad block makes the store read-only; a chain that
    /// verifies makes it writable again.
    ///
    /// # Errors
    /// [`VerifyError::Bad`] with the first bad block, or [`VerifyError::Db`] if reading fails.
    pub fn verify(&self, mode: VerifyMode, now: u32) -> Result<ChainSummary, VerifyError> {
        self.verify_with_progress(mode, now, &mut |_, _| {})
    }

    /// As [`Store::verify`], calling `progress(checked, total)` after each batch of blocks.
    ///
    /// # Errors
    /// As [`Store::verify`].
    pub fn verify_with_progress(
        &self,
        mode: VerifyMode,
        now: u32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ChainSummary, VerifyError> {
        // redb trusts its own page structure: a file damaged behind its back can make it panic
        // (an `unreachable!` in a B-tree descent) rather than return an error. Verification is
        // where damage is expected, so a panic here is reported as damage, never passed on.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.check_chain(mode, now, progress)
        }))
        .unwrap_or_else(|panic| Err(VerifyError::Db(DbError::Corrupt(panic_message(&panic)))));
        match &result {
            Ok(summary) => {
                self.set_read_only(false);
                tracing::debug!(height = summary.height, "chain verified");
            }
            Err(VerifyError::Bad(bad)) => {
                self.set_read_only(true);
                tracing::warn!(%bad, "chain failed verification; the store is read-only");
            }
            Err(_) => {}
        }
        result
    }

    fn check_chain(
        &self,
        mode: VerifyMode,
        now: u32,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<ChainSummary, VerifyError> {
        let full = mode == VerifyMode::Full;
        let txn = self.db.begin_read().map_err(DbError::from)?;
        let tip = read_tip(&txn.open_table(META)?)?;
        let blocks = txn.open_table(BLOCKS)?;
        let hashes = txn.open_table(HASHES)?;
        let heights = if full {
            Some(txn.open_table(HEIGHTS)?)
        } else {
            None
        };
        let total = tip.height.saturating_add(1);
        let mut verifier = Verifier::new(&self.params, now).with_threads(self.threads);
        let mut block_entries = blocks.range(0..)?;
        let mut hash_entries = hashes.range(0..)?;
        let mut batch: Vec<Block> = Vec::with_capacity(BATCH.min(total as usize));
        let mut recorded: Vec<BlockHash> = Vec::with_capacity(batch.capacity());
        let mut height = 0u64;
        let mut fault: Option<BadBlock> = None;
        while height <= tip.height {
            let bad = |fault, hash| {
                Some(BadBlock {
                    height,
                    hash,
                    fault,
                })
            };
            let block = match block_entries.next().transpose()? {
                Some((key, bytes)) if key.value() == height => {
                    let bytes = bytes.value();
                    let decoded = if full {
                        Block::decode(bytes, self.params.max_block_size)
                    } else {
                        // Quick mode reads the header only; a block too short to have one is
                        // decoded anyway, for the error.
                        match bytes
                            .get(..80)
                            .and_then(|raw| <&[u8; 80]>::try_from(raw).ok())
                        {
                            Some(raw) => Ok(Block::new(
                                ironchain_core::Header::from_bytes(raw),
                                Vec::new(),
                            )),
                            None => Block::decode(bytes, self.params.max_block_size),
                        }
                    };
                    match decoded {
                        Ok(block) => block,
                        Err(error) => {
                            fault = bad(Fault::Undecodable(error), None);
                            break;
                        }
                    }
                }
                _ => {
                    fault = bad(Fault::Missing, None);
                    break;
                }
            };
            // Hashed here only to name a block whose index is wrong; the verifier hashes every
            // header itself, in parallel batches through the SHA-NI kernel.
            let hash = || block.block_hash();
            let recorded_hash = match hash_entries.next().transpose()? {
                Some((key, value)) if key.value() == height => {
                    BlockHash::from_byte_array(*value.value())
                }
                _ => {
                    fault = bad(Fault::IndexMismatch, Some(hash()));
                    break;
                }
            };
            if let Some(heights) = &heights {
                let indexed = heights
                    .get(recorded_hash.as_byte_array())?
                    .map(|h| h.value());
                if indexed != Some(height) {
                    fault = bad(Fault::IndexMismatch, Some(hash()));
                    break;
                }
            }
            batch.push(block);
            recorded.push(recorded_hash);
            height += 1;
            if batch.len() == BATCH {
                verifier
                    .push_blocks(&batch, Some(&recorded), full)
                    .map_err(BadBlock::from)?;
                batch.clear();
                recorded.clear();
                progress(height, total);
            }
        }
        // Everything below a fault found here must pass first: the first bad block wins.
        verifier
            .push_blocks(&batch, Some(&recorded), full)
            .map_err(BadBlock::from)?;
        progress(height, total);
        if let Some(fault) = fault {
            return Err(fault.into());
        }
        let summary = verifier.summary().ok_or(BadBlock {
            height: 0,
            hash: None,
            fault: Fault::Missing,
        })?;
        let extra = blocks
            .range(tip.height.saturating_add(1)..)?
            .next()
            .is_some();
        if summary.tip != tip.hash || summary.work != tip.work || extra {
            return Err(BadBlock {
                height: tip.height,
                hash: Some(summary.tip),
                fault: Fault::TipMismatch,
            }
            .into());
        }
        Ok(summary)
    }
}

/// Describes a panic caught from the database as damage.
pub(crate) fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    format!("the database's structure is damaged (redb failed: {detail})")
}
