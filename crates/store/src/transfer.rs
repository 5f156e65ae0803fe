//! Export and import: the chain as a stream of canonical blocks.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "IRNCHN\0\x01" (format version 1)
//!      8     …  for each block from genesis up: length u32 little-endian, then the block's
//!               canonical encoding (crate ironchain-core, block.rs)
//! ```
//! The stream carries no params: importing into a store checks the stream's genesis against the
//! store's own. Import validates every block, in one write transaction that commits only at the
//! end, so a bad block anywhere in the stream leaves the store untouched.

use std::io::{self, Read, Write};

use ironchain_core::Block;
use ironchain_core::block::DecodeError;
use redb::{ReadableDatabase, ReadableTable};

use crate::codec::TipInfo;
use crate::error::{DbError, ExportError, ImportError};
use crate::store::{BLOCKS, META, Store, read_tip};
use crate::write::{Writer, begin};

/// The first bytes of an export.
pub const EXPORT_MAGIC: &[u8; 8] = b"IRNCHN\0\x01";

/// What an import did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// Blocks in the stream that the store already had.
    pub known: u64,
    /// Blocks appended.
    pub appended: u64,
    /// The tip after the import.
    pub tip: TipInfo,
}

impl Store {
    /// Writes the chain, genesis first, to `out` in the export format; returns the number of
    /// blocks written. Blocks are written as stored, so a damaged chain exports its damage (and
    /// an import will name it).
    ///
    /// # Errors
    /// [`ExportError::Io`] if writing fails, or a database failure.
    pub fn export(&self, out: &mut impl Write) -> Result<u64, ExportError> {
        let txn = self.db.begin_read().map_err(DbError::from)?;
        let tip = read_tip(&txn.open_table(META)?)?;
        let blocks = txn.open_table(BLOCKS)?;
        out.write_all(EXPORT_MAGIC)?;
        let mut count = 0;
        for entry in blocks.range(0..=tip.height)? {
            let (_, bytes) = entry?;
            let bytes = bytes.value();
            let len = u32::try_from(bytes.len())
                .map_err(|_| DbError::Corrupt("a stored block is larger than 4 GiB".into()))?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(bytes)?;
            count += 1;
        }
        out.flush()?;
        Ok(count)
    }

    /// Reads an export and appends the blocks the store lacks, after checking that the stream
    /// starts with this chain's genesis and agrees with every block the store already has.
    /// Every new block is validated; the import commits all or nothing.
    ///
    /// # Errors
    /// [`ImportError`] naming the problem: not an export, another chain, a block that does not
    /// decode or breaks a rule, a divergence from the stored chain. Nothing is committed.
    pub fn import(&self, input: &mut impl Read, now: u32) -> Result<ImportReport, ImportError> {
        if self.is_read_only() {
            return Err(ImportError::ReadOnly);
        }
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|_| ImportError::NotAnExport {
                expected: EXPORT_MAGIC,
            })?;
        if &magic != EXPORT_MAGIC {
            return Err(ImportError::NotAnExport {
                expected: EXPORT_MAGIC,
            });
        }
        let max = self.params.max_block_size;
        let txn = begin(self)?;
        let report = {
            let mut writer = Writer::open(&self.params, &txn)?;
            let stored_tip = writer.tail.tip.height;
            let (mut height, mut known, mut appended) = (0u64, 0u64, 0u64);
            let mut buffer = Vec::new();
            // A stream that ends inside a block was cut short (a partial copy or download):
            // say so and where, rather than pass on the reader's bare "unexpected end of file".
            let truncated = |error: io::Error, height| match error.kind() {
                io::ErrorKind::UnexpectedEof => ImportError::Truncated { height },
                _ => ImportError::Io(error),
            };
            while let Some(len) = read_len(input).map_err(|e| truncated(e, height))? {
                if len > max {
                    let source = DecodeError::TooLarge { size: len, max };
                    return Err(ImportError::Undecodable { height, source });
                }
                buffer.resize(len, 0);
                input
                    .read_exact(&mut buffer)
                    .map_err(|e| truncated(e, height))?;
                let block = Block::decode(&buffer, max)
                    .map_err(|source| ImportError::Undecodable { height, source })?;
                let hash = block.block_hash();
                if height == 0 && hash != self.params.genesis_hash() {
                    return Err(ImportError::WrongChain {
                        found: hash,
                        expected: self.params.genesis_hash(),
                    });
                }
                if height <= stored_tip {
                    let stored = writer.hashes.get(height)?.map(|h| *h.value());
                    if stored != Some(hash.to_byte_array()) {
                        return Err(ImportError::Diverges { height });
                    }
                    known += 1;
                } else {
                    writer.append(&block, now, true)??;
                    appended += 1;
                }
                height += 1;
            }
            ImportReport {
                known,
                appended,
                tip: writer.finish()?,
            }
        };
        txn.commit().map_err(DbError::from)?;
        tracing::info!(?report, "imported");
        Ok(report)
    }
}

/// Reads a block length, or `None` at a clean end of the stream.
fn read_len(input: &mut impl Read) -> io::Result<Option<usize>> {
    let mut bytes = [0u8; 4];
    let mut filled = 0;
    while filled < 4 {
        match input.read(&mut bytes[filled..]) {
            Ok(0) if filled == 0 => return Ok(None),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(Some(u32::from_le_bytes(bytes) as usize))
}
