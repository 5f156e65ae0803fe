//! The block header: Bitcoin's 80-byte layout, the part of a block that proof of work covers.
//!
//! ```text
//! offset size  field
//!      0    4  version          i32, little-endian
//!      4   32  previous block   BlockHash, internal byte order
//!     36   32  merkle root      MerkleRoot, internal byte order
//!     68    4  time             u32 seconds since 1970, little-endian
//!     72    4  bits             CompactTarget, little-endian
//!     76    4  nonce            u32, little-endian
//! ```
//! The block hash is the double SHA-256 of these 80 bytes. The first 64 bytes do not contain the
//! nonce, which is what lets a miner hash them once per job (see [`crate::sha256d::midstate`]).

use crate::hash::{BlockHash, MerkleRoot, sha256d};
use crate::pow::CompactTarget;

/// A block header, the 80 bytes that are hashed and mined.
///
/// Bitcoin's genesis header decodes, encodes back to the same bytes, and hashes to the genesis
/// block hash:
///
/// ```
/// use ironchain_core::{BlockHash, Header};
///
/// // Bitcoin's genesis header as sent on the wire (Bitcoin Core, kernel/chainparams.cpp).
/// let wire = "0100000000000000000000000000000000000000000000000000000000000000\
///             000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa\
///             4b1e5e4a29ab5f49ffff001d1dac2b7c";
/// let mut bytes = [0u8; Header::SIZE];
/// hex::decode_to_slice(wire, &mut bytes)?;
///
/// let header = Header::from_bytes(&bytes);
/// assert_eq!(header.prev_blockhash, BlockHash::ZERO);
/// assert_eq!(header.time, 1_231_006_505); // 2009-01-03 18:15:05 UTC
/// assert_eq!(header.bits.to_consensus(), 0x1d00_ffff);
/// assert_eq!(header.nonce, 2_083_236_893);
///
/// assert_eq!(header.to_bytes(), bytes);
/// assert_eq!(
///     header.block_hash().to_string(),
///     "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
/// );
/// # Ok::<(), hex::FromHexError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Header {
    /// Block version; ironchain writes 1 and checks nothing about it, as early Bitcoin did.
    pub version: i32,
    /// Hash of the block this one builds on; all zeros for a genesis block.
    pub prev_blockhash: BlockHash,
    /// Root of the Merkle tree over the block's records.
    pub merkle_root: MerkleRoot,
    /// When the miner says the block was made, in seconds since the Unix epoch.
    pub time: u32,
    /// The proof-of-work target this block must meet, in compact form.
    pub bits: CompactTarget,
    /// The number the miner varies until the hash meets the target.
    pub nonce: u32,
}

impl Header {
    /// The encoded size of a header in bytes.
    pub const SIZE: usize = 80;

    /// Encodes the header in Bitcoin's 80-byte layout (see the module documentation, and the
    /// example on [`Header`]).
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut out = [0u8; 80];
        out[0..4].copy_from_slice(&self.version.to_le_bytes());
        out[4..36].copy_from_slice(self.prev_blockhash.as_byte_array());
        out[36..68].copy_from_slice(self.merkle_root.as_byte_array());
        out[68..72].copy_from_slice(&self.time.to_le_bytes());
        out[72..76].copy_from_slice(&self.bits.to_consensus().to_le_bytes());
        out[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        out
    }

    /// Decodes Bitcoin's 80-byte layout. Every 80-byte string is some header, so this cannot fail;
    /// whether the header is *valid* is [`crate::validate`]'s question.
    pub fn from_bytes(bytes: &[u8; 80]) -> Self {
        let word = |at: usize| [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        let hash = |at: usize| {
            let mut out = [0u8; 32];
            out.copy_from_slice(&bytes[at..at + 32]);
            out
        };
        Self {
            version: i32::from_le_bytes(word(0)),
            prev_blockhash: BlockHash::from_byte_array(hash(4)),
            merkle_root: MerkleRoot::from_byte_array(hash(36)),
            time: u32::from_le_bytes(word(68)),
            bits: CompactTarget::from_consensus(u32::from_le_bytes(word(72))),
            nonce: u32::from_le_bytes(word(76)),
        }
    }

    /// Returns the block hash: double SHA-256 of the encoded header.
    ///
    /// Every field is covered, so changing any of them (the merkle root when a record changes,
    /// the parent hash when an earlier block changes) changes the hash.
    pub fn block_hash(&self) -> BlockHash {
        BlockHash::from_byte_array(sha256d(&self.to_bytes()))
    }
}

/// A file of headers as tools exchange them: raw 80-byte headers back to back, or hex text with
/// one header (160 hex digits) per line, optionally after a first line that gives the height of
/// the first header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderFile {
    /// The height of the first header, when the file says it.
    pub start_height: Option<u64>,
    /// The headers, in file order.
    pub headers: Vec<[u8; 80]>,
}

/// Why bytes are not a header file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderFileError {
    /// Binary input whose length is not a multiple of 80.
    #[error(
        "{len} bytes is not a whole number of 80-byte headers: the file is truncated or not a \
         header file ({extra} bytes left over)"
    )]
    Truncated {
        /// The input's length.
        len: usize,
        /// The bytes after the last whole header.
        extra: usize,
    },
    /// A line of hex text that is not one header.
    #[error("line {line} is not a header: expected 160 hex digits, found {found} characters")]
    BadLine {
        /// The line number, from 1.
        line: usize,
        /// The line's length.
        found: usize,
    },
    /// A height line with a number too large for a height.
    #[error("the first line is not a height: {0}")]
    BadHeight(String),
}

impl HeaderFile {
    /// Parses binary or hex-text header data (see [`HeaderFile`]).
    ///
    /// # Errors
    /// What is wrong with the input, with the line or length where it went wrong.
    pub fn parse(bytes: &[u8]) -> Result<Self, HeaderFileError> {
        let is_text = !bytes.is_empty()
            && bytes
                .iter()
                .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
        if !is_text {
            if !bytes.len().is_multiple_of(Header::SIZE) {
                return Err(HeaderFileError::Truncated {
                    len: bytes.len(),
                    extra: bytes.len() % Header::SIZE,
                });
            }
            let headers = bytes
                .chunks_exact(Header::SIZE)
                .map(|chunk| chunk.try_into().expect("chunks_exact gives 80 bytes"))
                .collect();
            return Ok(Self {
                start_height: None,
                headers,
            });
        }
        // Only ASCII hex digits and white space, so this is UTF-8.
        let text = String::from_utf8_lossy(bytes);
        let mut start_height = None;
        let mut headers = Vec::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if number == 0 && line.len() < 40 && line.bytes().all(|b| b.is_ascii_digit()) {
                let height = line
                    .parse()
                    .map_err(|_| HeaderFileError::BadHeight(line.into()))?;
                start_height = Some(height);
                continue;
            }
            let mut header = [0u8; 80];
            hex::decode_to_slice(line, &mut header).map_err(|_| HeaderFileError::BadLine {
                line: number + 1,
                found: line.len(),
            })?;
            headers.push(header);
        }
        Ok(Self {
            start_height,
            headers,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_files_parse_as_binary_or_hex_lines_with_an_optional_height() {
        let genesis = hex::decode(GENESIS_HEX).expect("hex");
        let binary = HeaderFile::parse(&[genesis.clone(), genesis.clone()].concat()).expect("ok");
        assert_eq!((binary.start_height, binary.headers.len()), (None, 2));
        let text = format!("30000\n{GENESIS_HEX}\n\n{GENESIS_HEX}\n");
        let parsed = HeaderFile::parse(text.as_bytes()).expect("ok");
        assert_eq!(parsed.start_height, Some(30_000));
        assert_eq!(parsed.headers, binary.headers);
        assert_eq!(
            HeaderFile::parse(&genesis[..79]),
            Err(HeaderFileError::Truncated { len: 79, extra: 79 })
        );
        assert_eq!(
            HeaderFile::parse(b"abcd\n"),
            Err(HeaderFileError::BadLine { line: 1, found: 4 })
        );
        // A first line of digits only is the height; the header lines come after it.
        assert_eq!(
            HeaderFile::parse(b"0100\nabcd\n"),
            Err(HeaderFileError::BadLine { line: 2, found: 4 })
        );
        assert!(matches!(
            HeaderFile::parse("9".repeat(30).as_bytes()),
            Err(HeaderFileError::BadHeight(_))
        ));
    }

    /// Bitcoin's genesis header, as sent on the wire (Bitcoin Core chainparams.cpp).
    pub(crate) const GENESIS_HEX: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    fn genesis() -> Header {
        let mut bytes = [0u8; 80];
        hex::decode_to_slice(GENESIS_HEX, &mut bytes).expect("valid hex");
        Header::from_bytes(&bytes)
    }

    #[test]
    fn bitcoin_genesis_header_decodes_to_its_known_fields() {
        let header = genesis();
        assert_eq!(header.version, 1);
        assert_eq!(header.prev_blockhash, BlockHash::ZERO);
        assert_eq!(
            header.merkle_root.to_string(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        );
        assert_eq!(header.time, 1_231_006_505);
        assert_eq!(header.bits.to_consensus(), 0x1d00_ffff);
        assert_eq!(header.nonce, 2_083_236_893);
    }

    #[test]
    fn bitcoin_genesis_header_hashes_to_the_genesis_block_hash() {
        assert_eq!(
            genesis().block_hash().to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
    }

    #[test]
    fn header_encoding_round_trips() {
        let header = genesis();
        assert_eq!(Header::from_bytes(&header.to_bytes()), header);
        assert_eq!(hex::encode(header.to_bytes()), GENESIS_HEX);
    }
}
