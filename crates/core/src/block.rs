//! A block: a header and the records it commits to, and the block's canonical byte encoding.
//!
//! Records are arbitrary bytes (empty, binary and non-UTF-8 records are all fine); the header's
//! merkle root commits to them in order. The encoding below is what the store writes and what
//! peers send, so its decoder treats its input as hostile: every malformed input is an error
//! naming what was wrong, never a panic, and nothing is allocated beyond what the input holds.
//!
//! ```text
//! offset  size  field
//!      0    80  header (see crate::header)
//!     80     4  record count n, u32 little-endian
//!     84     …  n records, each: length u32 little-endian, then that many bytes
//! ```
//! The whole encoding, header included, must fit in the chain's `max_block_size`.

use crate::hash::{BlockHash, MerkleRoot};
use crate::header::Header;
use crate::merkle;

/// A block: a header and its records.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Block {
    /// The header, which proof of work covers.
    pub header: Header,
    /// The records, in the order the merkle root commits to.
    pub records: Vec<Vec<u8>>,
}

/// Why bytes are not a canonical block encoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended inside a field.
    #[error("block encoding ends at byte {len}, inside {field} which needs {needed} more bytes")]
    Truncated {
        /// Which field was cut short.
        field: &'static str,
        /// How many bytes the input had.
        len: usize,
        /// How many more bytes the field needed.
        needed: usize,
    },
    /// The input is larger than a block may be.
    #[error("block encoding is {size} bytes, above the limit of {max}")]
    TooLarge {
        /// The input's size.
        size: usize,
        /// The chain's maximum block size.
        max: usize,
    },
    /// Bytes follow the last record.
    #[error("{extra} bytes follow the last record")]
    TrailingBytes {
        /// How many bytes are left over.
        extra: usize,
    },
}

/// The encoded size of a record count or a record length.
const LEN_SIZE: usize = 4;

impl Block {
    /// Builds a block from a header and records (it does not check the merkle root: see
    /// [`Block::merkle_root_matches`]).
    pub fn new(header: Header, records: Vec<Vec<u8>>) -> Self {
        Self { header, records }
    }

    /// Returns the block's hash, the hash of its header.
    pub fn block_hash(&self) -> BlockHash {
        self.header.block_hash()
    }

    /// Returns the merkle root of the records as they are now.
    pub fn compute_merkle_root(&self) -> MerkleRoot {
        merkle::root(&self.records)
    }

    /// Returns true if the header commits to exactly these records.
    pub fn merkle_root_matches(&self) -> bool {
        self.compute_merkle_root() == self.header.merkle_root
    }

    /// Returns the size of the canonical encoding in bytes.
    pub fn encoded_size(&self) -> usize {
        Header::SIZE
            + LEN_SIZE
            + self
                .records
                .iter()
                .map(|record| LEN_SIZE + record.len())
                .sum::<usize>()
    }

    /// Returns the canonical encoding (the layout is in the module documentation; see
    /// [`Block::decode`] for a round trip).
    ///
    /// # Panics
    /// Panics if the block has 2^32 or more records, or a record of 4 GiB or more, which no
    /// block within any chain's size limit can have.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_size());
        self.encode_into(&mut out);
        out
    }

    /// Appends the canonical encoding to `out`.
    ///
    /// # Panics
    /// As [`Block::encode`].
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.header.to_bytes());
        let count = u32::try_from(self.records.len()).expect("a block has fewer than 2^32 records");
        out.extend_from_slice(&count.to_le_bytes());
        for record in &self.records {
            let len = u32::try_from(record.len()).expect("a record is smaller than 4 GiB");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(record);
        }
    }

    /// Decodes a canonical encoding of at most `max_size` bytes.
    ///
    /// ```
    /// use ironchain_core::block::{Block, DecodeError};
    /// use ironchain_core::ChainParams;
    ///
    /// let params = ChainParams::demo();
    /// let genesis = &params.genesis;
    /// let bytes = genesis.encode();
    /// assert_eq!(bytes.len(), genesis.encoded_size());
    /// assert_eq!(&bytes[..80], &genesis.header.to_bytes()); // the header comes first
    ///
    /// assert_eq!(Block::decode(&bytes, params.max_block_size), Ok(genesis.clone()));
    ///
    /// // Hostile input is an error naming what is wrong, never a panic.
    /// assert!(matches!(
    ///     Block::decode(&bytes[..bytes.len() - 1], params.max_block_size),
    ///     Err(DecodeError::Truncated { field: "a record", .. })
    /// ));
    /// assert!(matches!(Block::decode(&bytes, 100), Err(DecodeError::TooLarge { .. })));
    /// ```
    ///
    /// # Errors
    /// Returns what is wrong with the input: too large, cut short, or followed by extra bytes.
    pub fn decode(bytes: &[u8], max_size: usize) -> Result<Self, DecodeError> {
        if bytes.len() > max_size {
            return Err(DecodeError::TooLarge {
                size: bytes.len(),
                max: max_size,
            });
        }
        let mut reader = Reader { bytes, at: 0 };
        let header_bytes: &[u8; 80] = reader
            .take(Header::SIZE, "the header")?
            .try_into()
            .expect("take returned exactly 80 bytes");
        let header = Header::from_bytes(header_bytes);
        let count = reader.read_len("the record count")?;
        // Every record needs at least its length field, so a count larger than that is a lie
        // about the input: refuse it before reserving room for it.
        let room = reader.remaining() / LEN_SIZE;
        let mut records = Vec::with_capacity(count.min(room));
        for _ in 0..count {
            let len = reader.read_len("a record length")?;
            records.push(reader.take(len, "a record")?.to_vec());
        }
        if reader.remaining() > 0 {
            return Err(DecodeError::TrailingBytes {
                extra: reader.remaining(),
            });
        }
        Ok(Self { header, records })
    }
}

/// A cursor over input that fails instead of reading past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                field,
                len: self.bytes.len(),
                needed: n - self.remaining(),
            });
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn read_len(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let bytes = self.take(LEN_SIZE, field)?;
        let len = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        // u32 always fits in usize on the 32- and 64-bit targets ironchain supports.
        Ok(len as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::CompactTarget;
    use proptest::prelude::*;

    fn sample(records: Vec<Vec<u8>>) -> Block {
        let header = Header {
            version: 1,
            prev_blockhash: BlockHash::from_byte_array([7; 32]),
            merkle_root: merkle::root(&records),
            time: 1_700_000_000,
            bits: CompactTarget::from_consensus(0x207f_ffff),
            nonce: 42,
        };
        Block::new(header, records)
    }

    #[test]
    fn encoding_has_the_documented_layout() {
        let block = sample(vec![b"ab".to_vec(), vec![]]);
        let bytes = block.encode();
        assert_eq!(bytes.len(), block.encoded_size());
        assert_eq!(&bytes[..80], &block.header.to_bytes());
        assert_eq!(
            &bytes[80..],
            &[2, 0, 0, 0, 2, 0, 0, 0, b'a', b'b', 0, 0, 0, 0]
        );
    }

    #[test]
    fn truncated_encoding_names_the_field_cut_short() {
        let bytes = sample(vec![b"record".to_vec()]).encode();
        let cut = Block::decode(&bytes[..bytes.len() - 1], 1 << 20);
        assert_eq!(
            cut,
            Err(DecodeError::Truncated {
                field: "a record",
                len: 93,
                needed: 1
            })
        );
        assert!(matches!(
            Block::decode(&bytes[..10], 1 << 20),
            Err(DecodeError::Truncated {
                field: "the header",
                ..
            })
        ));
    }

    #[test]
    fn oversized_input_and_trailing_bytes_are_rejected() {
        let mut bytes = sample(vec![]).encode();
        assert_eq!(
            Block::decode(&bytes, 83),
            Err(DecodeError::TooLarge { size: 84, max: 83 })
        );
        bytes.push(0);
        assert_eq!(
            Block::decode(&bytes, 1 << 20),
            Err(DecodeError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn a_huge_record_count_allocates_nothing_and_fails() {
        let mut bytes = sample(vec![]).encode();
        bytes[80..84].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Block::decode(&bytes, 1 << 20),
            Err(DecodeError::Truncated {
                field: "a record length",
                ..
            })
        ));
    }

    proptest! {
        #[test]
        fn any_block_round_trips(records in prop::collection::vec(
            prop::collection::vec(any::<u8>(), 0..40), 0..12)) {
            let block = sample(records);
            let bytes = block.encode();
            prop_assert_eq!(Block::decode(&bytes, bytes.len()), Ok(block));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(block) = Block::decode(&bytes, 1 << 20) {
                // Whatever decodes is canonical: it encodes back to the same bytes.
                prop_assert_eq!(block.encode(), bytes);
            }
        }
    }
}
