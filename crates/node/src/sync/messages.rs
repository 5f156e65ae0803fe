//! The sync protocol's messages and their byte layout: what one node asks another for, and what
//! comes back.
//!
//! [`frame`](super::frame) frames each request and response and caps its size; this module gives
//! the bytes inside a frame a meaning. Everything here decodes input from peers, so
//! every decoder treats its input as hostile: a malformed, truncated or oversized message is a
//! [`WireError`] naming what was wrong, never a panic, and nothing is allocated beyond what the
//! input actually holds.
//!
//! Requests (one per stream; the first byte is the tag):
//!
//! ```text
//! GetTip     1 byte  tag 0x01
//! GetBlocks  1 byte  tag 0x02
//!            2 bytes locator length n, u16 little-endian, 1 <= n <= MAX_LOCATOR
//!         n*32 bytes locator hashes, newest first, internal byte order
//!           32 bytes stop hash (all zero: no stop), internal byte order
//!            4 bytes limit, u32 little-endian, 1 <= limit <= MAX_BLOCKS_PER_RESPONSE
//! ```
//!
//! Responses:
//!
//! ```text
//! Tip        1 byte  tag 0x81
//!            8 bytes height, u64 little-endian
//!           32 bytes tip hash, internal byte order
//!           32 bytes cumulative work, big-endian (as Bitcoin tools print chainwork)
//! Blocks     1 byte  tag 0x82
//!            4 bytes block count n, u32 little-endian, n <= MAX_BLOCKS_PER_RESPONSE
//!            n times: 4 bytes length, u32 little-endian, then the block's canonical
//!                     encoding (see ironchain_core::block), at most the chain's max_block_size
//! ```
//!
//! A peer's `Tip` is a *claim*: the node uses it only to decide whom to download from. What
//! changes the chain is blocks, each validated, never the claim.

use std::sync::Arc;

use ironchain_core::block::{self, Block};
use ironchain_core::{BlockHash, Work};

/// The most hashes a locator may hold. A Bitcoin locator has about `10 + log2(height)` entries
/// (Bitcoin Core's `MAX_LOCATOR_SZ` is 101); ours also leads with the last block received.
pub const MAX_LOCATOR: usize = 101;

/// The most blocks one response may carry; the byte limit of the frame applies too.
pub const MAX_BLOCKS_PER_RESPONSE: u32 = 50_000;

/// The bytes of a `Blocks` response before its first block: the tag and the count.
pub const BLOCKS_HEADER_SIZE: usize = 1 + 4;
/// The bytes each block of a `Blocks` response adds besides its encoding: its length.
pub const BLOCK_LENGTH_SIZE: usize = 4;

const TAG_GET_TIP: u8 = 0x01;
const TAG_GET_BLOCKS: u8 = 0x02;
const TAG_TIP: u8 = 0x81;
const TAG_BLOCKS: u8 = 0x82;

/// A sync request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// "What is your best chain?"
    GetTip,
    /// "Send me the blocks of your best chain after the first of these I share with you."
    GetBlocks {
        /// Hashes of blocks the asker has, newest first (see `Store::locator`).
        locator: Vec<BlockHash>,
        /// Stop after this block, if it is reached.
        stop: Option<BlockHash>,
        /// The most blocks to send.
        limit: u32,
    },
}

/// A peer's claim about its best chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipClaim {
    /// The tip's height.
    pub height: u64,
    /// The tip's hash.
    pub hash: BlockHash,
    /// The chain's cumulative work.
    pub work: Work,
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The answer to [`Request::GetTip`].
    Tip(TipClaim),
    /// The answer to [`Request::GetBlocks`]: consecutive blocks, oldest first (empty if the
    /// asker is up to date).
    Blocks(Vec<Arc<Block>>),
}

/// Why bytes are not a sync message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The message is empty.
    #[error("empty message: expected a tag byte")]
    Empty,
    /// The first byte is not a known message tag.
    #[error("unknown message tag {0:#04x}")]
    UnknownTag(u8),
    /// The input ended inside a field.
    #[error("message ends inside {field}")]
    Truncated {
        /// Which field was cut short.
        field: &'static str,
    },
    /// A count is outside what the protocol allows.
    #[error("{field} is {found}, expected {min} to {max}")]
    OutOfRange {
        /// Which count.
        field: &'static str,
        /// What the message says.
        found: u64,
        /// The least allowed.
        min: u64,
        /// The most allowed.
        max: u64,
    },
    /// A block inside a `Blocks` response is not a canonical block encoding.
    #[error("block {index} of the response: {error}")]
    Block {
        /// Its position in the response.
        index: usize,
        /// What is wrong with it.
        error: block::DecodeError,
    },
    /// Bytes follow the end of the message.
    #[error("{extra} bytes follow the end of the message")]
    TrailingBytes {
        /// How many.
        extra: usize,
    },
}

impl Request {
    /// Returns the request's encoding.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Request::GetTip => vec![TAG_GET_TIP],
            Request::GetBlocks {
                locator,
                stop,
                limit,
            } => {
                let count = locator.len().min(MAX_LOCATOR);
                let mut out = Vec::with_capacity(1 + 2 + 32 * count + 32 + 4);
                out.push(TAG_GET_BLOCKS);
                // MAX_LOCATOR fits in a u16; a longer locator is cut, keeping its newest hashes.
                out.extend_from_slice(&(count as u16).to_le_bytes());
                for hash in &locator[..count] {
                    out.extend_from_slice(hash.as_byte_array());
                }
                out.extend_from_slice(stop.unwrap_or(BlockHash::ZERO).as_byte_array());
                out.extend_from_slice(&limit.to_le_bytes());
                out
            }
        }
    }

    /// Decodes a request.
    ///
    /// # Errors
    /// [`WireError`] naming what is malformed.
    pub fn decode(bytes: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let request = match r.u8("the tag").map_err(|_| WireError::Empty)? {
            TAG_GET_TIP => Request::GetTip,
            TAG_GET_BLOCKS => {
                let count = u64::from(r.u16("the locator length")?);
                check_range("the locator length", count, 1, MAX_LOCATOR as u64)?;
                let mut locator = Vec::with_capacity(count as usize);
                for _ in 0..count {
                    locator.push(r.hash("a locator hash")?);
                }
                let stop = Some(r.hash("the stop hash")?).filter(|h| *h != BlockHash::ZERO);
                let limit = r.u32("the limit")?;
                check_range(
                    "the limit",
                    u64::from(limit),
                    1,
                    u64::from(MAX_BLOCKS_PER_RESPONSE),
                )?;
                Request::GetBlocks {
                    locator,
                    stop,
                    limit,
                }
            }
            tag => return Err(WireError::UnknownTag(tag)),
        };
        r.finish()?;
        Ok(request)
    }
}

impl Response {
    /// Returns the response's encoding.
    ///
    /// # Panics
    /// As [`Block::encode`]: never for blocks within a chain's size limit.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Response::Tip(claim) => encode_tip(claim),
            Response::Blocks(blocks) => {
                let mut out = BlocksWriter::new();
                let mut encoded = Vec::new();
                for block in blocks {
                    encoded.clear();
                    block.encode_into(&mut encoded);
                    out.push_encoded(&encoded);
                }
                out.finish()
            }
        }
    }

    /// Decodes a response whose blocks are each at most `max_block_size` bytes.
    ///
    /// # Errors
    /// [`WireError`] naming what is malformed.
    pub fn decode(bytes: &[u8], max_block_size: usize) -> Result<Self, WireError> {
        let mut r = Reader::new(bytes);
        let response = match r.u8("the tag").map_err(|_| WireError::Empty)? {
            TAG_TIP => Response::Tip(TipClaim {
                height: r.u64("the height")?,
                hash: r.hash("the tip hash")?,
                work: Work::from_be_bytes(r.array("the work")?),
            }),
            TAG_BLOCKS => {
                let count = r.u32("the block count")?;
                check_range(
                    "the block count",
                    u64::from(count),
                    0,
                    u64::from(MAX_BLOCKS_PER_RESPONSE),
                )?;
                // Each block needs at least its length field: never reserve more than that.
                let room = r.remaining() / 4;
                let mut blocks = Vec::with_capacity((count as usize).min(room));
                for index in 0..count as usize {
                    let len = r.u32("a block length")? as usize;
                    let raw = r.take(len, "a block")?;
                    let block = Block::decode(raw, max_block_size)
                        .map_err(|error| WireError::Block { index, error })?;
                    blocks.push(Arc::new(block));
                }
                Response::Blocks(blocks)
            }
            tag => return Err(WireError::UnknownTag(tag)),
        };
        r.finish()?;
        Ok(response)
    }
}

/// Returns the encoding of a `Tip` response.
fn encode_tip(claim: &TipClaim) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 8 + 32 + 32);
    out.push(TAG_TIP);
    out.extend_from_slice(&claim.height.to_le_bytes());
    out.extend_from_slice(claim.hash.as_byte_array());
    out.extend_from_slice(&claim.work.to_be_bytes());
    out
}

/// Builds a `Blocks` response from blocks already encoded (as the store keeps them), so that
/// serving a batch copies bytes instead of decoding and re-encoding every block.
#[derive(Debug)]
pub struct BlocksWriter {
    out: Vec<u8>,
    count: u32,
}

impl Default for BlocksWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl BlocksWriter {
    /// Starts an empty response.
    pub fn new() -> Self {
        Self {
            // BLOCKS_HEADER_SIZE bytes: the tag, then the count, patched in `finish`.
            out: vec![TAG_BLOCKS, 0, 0, 0, 0],
            count: 0,
        }
    }

    /// Returns the size the response would have with one more block of `len` bytes.
    pub fn size_with(&self, len: usize) -> usize {
        self.out.len() + BLOCK_LENGTH_SIZE + len
    }

    /// Returns how many blocks have been added.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Appends one block's canonical encoding.
    ///
    /// # Panics
    /// If `encoded` is 4 GiB or more, or more than `u32::MAX` blocks are pushed.
    pub fn push_encoded(&mut self, encoded: &[u8]) {
        let len = u32::try_from(encoded.len()).expect("a block is smaller than 4 GiB");
        self.out.extend_from_slice(&len.to_le_bytes());
        self.out.extend_from_slice(encoded);
        self.count = self.count.checked_add(1).expect("fewer than 2^32 blocks");
    }

    /// Returns the finished response.
    pub fn finish(mut self) -> Vec<u8> {
        self.out[1..5].copy_from_slice(&self.count.to_le_bytes());
        self.out
    }
}

fn check_range(field: &'static str, found: u64, min: u64, max: u64) -> Result<(), WireError> {
    if (min..=max).contains(&found) {
        Ok(())
    } else {
        Err(WireError::OutOfRange {
            field,
            found,
            min,
            max,
        })
    }
}

/// A cursor over input that fails instead of reading past its end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], WireError> {
        if n > self.remaining() {
            return Err(WireError::Truncated { field });
        }
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], WireError> {
        let bytes = self.take(N, field)?;
        Ok(bytes.try_into().expect("take returned exactly N bytes"))
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(field)?[0])
    }

    fn u16(&mut self, field: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }

    fn u64(&mut self, field: &'static str) -> Result<u64, WireError> {
        Ok(u64::from_le_bytes(self.array(field)?))
    }

    fn hash(&mut self, field: &'static str) -> Result<BlockHash, WireError> {
        Ok(BlockHash::from_byte_array(self.array(field)?))
    }

    fn finish(self) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::TrailingBytes { extra }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironchain_core::ChainParams;
    use proptest::prelude::*;

    fn hash(byte: u8) -> BlockHash {
        BlockHash::from_byte_array([byte; 32])
    }

    #[test]
    fn get_tip_is_one_byte() {
        assert_eq!(Request::GetTip.encode(), [0x01]);
        assert_eq!(Request::decode(&[0x01]), Ok(Request::GetTip));
    }

    #[test]
    fn get_blocks_has_the_documented_layout() {
        let request = Request::GetBlocks {
            locator: vec![hash(1), hash(2)],
            stop: None,
            limit: 500,
        };
        let bytes = request.encode();
        assert_eq!(bytes.len(), 1 + 2 + 64 + 32 + 4);
        assert_eq!(&bytes[..3], &[0x02, 2, 0]);
        assert_eq!(&bytes[3..35], &[1; 32]);
        assert_eq!(&bytes[67..99], &[0; 32], "no stop hash is all zeros");
        assert_eq!(&bytes[99..], &500u32.to_le_bytes());
        assert_eq!(Request::decode(&bytes), Ok(request));
    }

    #[test]
    fn tip_has_the_documented_layout() {
        let claim = TipClaim {
            height: 7,
            hash: hash(9),
            work: Work::from_be_bytes([3; 32]),
        };
        let bytes = Response::Tip(claim).encode();
        assert_eq!(bytes.len(), 73);
        assert_eq!(&bytes[..9], &[0x81, 7, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(Response::decode(&bytes, 1000), Ok(Response::Tip(claim)));
    }

    #[test]
    fn an_empty_locator_and_a_zero_limit_are_refused() {
        let mut bytes = vec![0x02, 0, 0];
        bytes.extend_from_slice(&[0; 32]);
        bytes.extend_from_slice(&1u32.to_le_bytes());
        assert!(matches!(
            Request::decode(&bytes),
            Err(WireError::OutOfRange {
                field: "the locator length",
                ..
            })
        ));
        let zero_limit = Request::GetBlocks {
            locator: vec![hash(1)],
            stop: None,
            limit: 0,
        };
        assert!(matches!(
            Request::decode(&zero_limit.encode()),
            Err(WireError::OutOfRange {
                field: "the limit",
                ..
            })
        ));
    }

    #[test]
    fn a_huge_block_count_allocates_nothing_and_fails() {
        let mut bytes = vec![0x82];
        bytes.extend_from_slice(&MAX_BLOCKS_PER_RESPONSE.to_le_bytes());
        assert_eq!(
            Response::decode(&bytes, 1000),
            Err(WireError::Truncated {
                field: "a block length"
            })
        );
        let mut bytes = vec![0x82];
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(
            Response::decode(&bytes, 1000),
            Err(WireError::OutOfRange { .. })
        ));
    }

    #[test]
    fn a_block_over_the_chains_size_limit_is_named() {
        let genesis = Arc::new(ChainParams::regtest().genesis);
        let bytes = Response::Blocks(vec![genesis.clone(), genesis]).encode();
        assert!(matches!(
            Response::decode(&bytes, 100),
            Err(WireError::Block { index: 0, .. })
        ));
    }

    #[test]
    fn unknown_tags_empty_input_and_trailing_bytes_are_errors() {
        assert_eq!(Request::decode(&[]), Err(WireError::Empty));
        assert_eq!(Request::decode(&[0x7f]), Err(WireError::UnknownTag(0x7f)));
        assert_eq!(
            Request::decode(&[0x01, 0]),
            Err(WireError::TrailingBytes { extra: 1 })
        );
        assert_eq!(Response::decode(&[0x01], 10), Err(WireError::UnknownTag(1)));
    }

    fn arb_block() -> impl Strategy<Value = Arc<Block>> {
        (
            any::<[u8; 80]>(),
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 0..5),
        )
            .prop_map(|(header, records)| {
                Arc::new(Block::new(
                    ironchain_core::Header::from_bytes(&header),
                    records,
                ))
            })
    }

    proptest! {
        #[test]
        fn any_request_round_trips(
            locator in prop::collection::vec(any::<[u8; 32]>(), 1..=MAX_LOCATOR),
            stop in any::<Option<[u8; 32]>>(),
            limit in 1..=MAX_BLOCKS_PER_RESPONSE,
        ) {
            let request = Request::GetBlocks {
                locator: locator.into_iter().map(BlockHash::from_byte_array).collect(),
                stop: stop.map(BlockHash::from_byte_array).filter(|h| *h != BlockHash::ZERO),
                limit,
            };
            prop_assert_eq!(Request::decode(&request.encode()), Ok(request));
        }

        #[test]
        fn any_blocks_response_round_trips(blocks in prop::collection::vec(arb_block(), 0..6)) {
            let response = Response::Blocks(blocks);
            prop_assert_eq!(Response::decode(&response.encode(), 1 << 20), Ok(response));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            // Whatever decodes is canonical: it encodes back to the same bytes.
            if let Ok(request) = Request::decode(&bytes) {
                prop_assert_eq!(request.encode(), bytes.clone());
            }
            if let Ok(response) = Response::decode(&bytes, 1 << 20) {
                prop_assert_eq!(response.encode(), bytes);
            }
        }

        #[test]
        fn tagged_garbage_never_panics(tag in prop::sample::select(vec![1u8, 2, 0x81, 0x82]),
                                       rest in prop::collection::vec(any::<u8>(), 0..400)) {
            let mut bytes = vec![tag];
            bytes.extend_from_slice(&rest);
            let _ = Request::decode(&bytes);
            let _ = Response::decode(&bytes, 1 << 20);
        }
    }
}
