//! The seed's `Block`: fields a learner can read and assign, an 80-byte header underneath.
//!
//! The block keeps the seed's fields and builds the header from them when it is hashed. Its
//! `hash` is a stored value, as in the seed: the hash the block was given when it was made or
//! mined, which verification compares with what the header hashes to now. The block also
//! remembers which records that stored hash commits to (the merkle root of its header when the
//! hash was set), so that changing `data` afterwards is reported as what it is: records that no
//! longer match their header.

use std::sync::Arc;

use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use ironchain_core::pow::CompactTarget;
use ironchain_core::{Block as CoreBlock, BlockHash, Header, MerkleRoot, merkle};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::{MAX_DIFFICULTY, difficulty_bits, difficulty_of, records};
use crate::convert::{self, Record};
use crate::errors::MiningError;
use crate::html::{Table, shorten};
use crate::interrupt::{self, OnInterrupt};

/// The latest a miner may move a block's time when it runs out of nonces: the two hours ahead
/// that the time rule allows.
const MAX_TIME_ROLL: u32 = 2 * 60 * 60;

/// Block(index, data, previous_hash, timestamp=None): a block as the seed defines it, hashed
/// as a Bitcoin header.
///
/// `data` is a str or bytes, `previous_hash` the hex hash of the block before ("0" for none),
/// `timestamp` seconds since 1970 (default: `time.time()`; a header holds whole seconds). A new
/// block is hashed but not mined: call `mine(difficulty)`.
///
/// Fields can be read and assigned as in the seed (`block.data = "tampered"`); the header is
/// built from them: `previous_hash`, `timestamp` (whole seconds) and `nonce` go into the header,
/// `index` and `data` are the block's records, committed to by the header's merkle root.
#[pyclass(module = "ironchain")]
#[derive(Debug, Clone)]
pub struct Block {
    pub(crate) index: u64,
    pub(crate) data: Record,
    pub(crate) previous: BlockHash,
    pub(crate) time: u32,
    pub(crate) bits: CompactTarget,
    pub(crate) nonce: u32,
    /// The stored hash (the seed's `hash` attribute).
    pub(crate) hash: BlockHash,
    /// The merkle root the stored hash commits to.
    pub(crate) committed_root: MerkleRoot,
}

impl Block {
    /// A block with `bits`, hashed (as the seed's constructor hashes it) but not mined.
    pub fn create(
        index: u64,
        data: Record,
        previous: BlockHash,
        time: u32,
        bits: CompactTarget,
    ) -> Self {
        let mut block = Self {
            index,
            data,
            previous,
            time,
            bits,
            nonce: 0,
            hash: BlockHash::ZERO,
            committed_root: MerkleRoot::ZERO,
        };
        block.seal();
        block
    }

    /// The records the block holds now: its index and its data.
    pub fn records(&self) -> Vec<Vec<u8>> {
        records(self.index, self.data.bytes())
    }

    /// The header with a given merkle root and the block's other fields as they are now.
    fn header_with(&self, merkle_root: MerkleRoot) -> Header {
        Header {
            version: 1,
            prev_blockhash: self.previous,
            merkle_root,
            time: self.time,
            bits: self.bits,
            nonce: self.nonce,
        }
    }

    /// The header as the fields are now: what `calculate_hash` hashes.
    pub fn current_header(&self) -> Header {
        self.header_with(merkle::root(&self.records()))
    }

    /// The header as the stored hash commits to it: the fields as they are now, with the merkle
    /// root of the records the hash was set for. This is what verification checks.
    pub fn committed_header(&self) -> Header {
        self.header_with(self.committed_root)
    }

    /// The block as the core sees it, and the hash it was accepted under.
    pub fn to_core(&self) -> (CoreBlock, BlockHash) {
        (
            CoreBlock::new(self.committed_header(), self.records()),
            self.hash,
        )
    }

    /// Sets the stored hash to the hash of the header as it is now: `hash = calculate_hash()`.
    fn seal(&mut self) {
        let header = self.current_header();
        self.hash = header.block_hash();
        self.committed_root = header.merkle_root;
    }

    /// Mines as the seed does: while the stored hash does not meet `difficulty`, try the next
    /// nonce; with a `difficulty` other than the one the header carries, the header's `bits`
    /// change first and the search starts from the current nonce.
    ///
    /// The nonce search itself is the core's miner, on `threads` threads, with the GIL released
    /// and Ctrl-C checked every few milliseconds.
    pub fn mine_with(&mut self, py: Python<'_>, difficulty: u8, threads: usize) -> PyResult<()> {
        let bits = difficulty_bits(difficulty);
        let target = bits
            .to_target()
            .expect("the bits of a difficulty up to 63 are a valid target");
        let mut header = self.current_header();
        if self.bits == bits {
            if target.is_met_by(self.hash) {
                return Ok(()); // the seed's `while not self.hash.startswith(prefix)` ends at once
            }
            // The seed increments the nonce before it hashes again.
            match self.nonce.checked_add(1) {
                Some(nonce) => header.nonce = nonce,
                None => {
                    header.nonce = 0;
                    header.time = header.time.saturating_add(1);
                }
            }
        } else {
            self.bits = bits;
            header.bits = bits;
        }
        let job = MineJob {
            header,
            target,
            max_time: header.time.saturating_add(MAX_TIME_ROLL),
            threads,
        };
        let control = Arc::new(MineControl::new());
        let worker = Arc::clone(&control);
        let cancel = || control.cancel();
        let outcome = interrupt::run(py, OnInterrupt::CancelAndWait(&cancel), move || {
            miner::mine(&job, &worker)
        })?;
        match outcome {
            MineOutcome::Found(found) => {
                self.nonce = found.nonce;
                self.time = found.time;
                self.seal();
                Ok(())
            }
            MineOutcome::Exhausted => Err(MiningError::new_err(format!(
                "no nonce at any time up to {} meets difficulty {difficulty}",
                job.max_time
            ))),
            // Only a Ctrl-C cancels, and then `run` has already returned its exception.
            MineOutcome::Cancelled => Err(MiningError::new_err("mining was cancelled")),
        }
    }

    fn html_fields(&self) -> Vec<(&'static str, String)> {
        vec![
            ("index", self.index.to_string()),
            ("timestamp", self.time.to_string()),
            ("data", self.data.display()),
            ("previous_hash", self.previous.to_string()),
            ("nonce", self.nonce.to_string()),
            ("hash", self.hash.to_string()),
            ("merkle_root", self.committed_root.to_string()),
            ("bits", self.bits.to_string()),
        ]
    }
}

/// Checks a difficulty given as a number: 0 to 63 leading hex zeros.
pub fn difficulty_value(difficulty: i64) -> PyResult<u8> {
    u8::try_from(difficulty)
        .ok()
        .filter(|d| *d <= MAX_DIFFICULTY)
        .ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!(
                "difficulty must be from 0 to {MAX_DIFFICULTY}, found {difficulty}"
            ))
        })
}

/// Reads a difficulty argument: 0 to 63 leading hex zeros.
pub fn difficulty(value: &Bound<'_, PyAny>) -> PyResult<u8> {
    let d = convert::whole(value, "difficulty", u64::from(MAX_DIFFICULTY))?;
    Ok(u8::try_from(d).expect("bounded by MAX_DIFFICULTY"))
}

#[pymethods]
impl Block {
    /// A block as the seed makes it: `data` is a str or bytes, `previous_hash` the hex hash of
    /// the block before ("0" for none), `timestamp` seconds since 1970 (default: `time.time()`;
    /// a header holds whole seconds). The block is hashed but not mined: call `mine(difficulty)`.
    #[new]
    #[pyo3(signature = (index, data, previous_hash, timestamp = None))]
    fn new(
        py: Python<'_>,
        index: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        previous_hash: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let index = convert::whole(index, "index", u64::MAX)?;
        let data = Record::extract(data, "data")?;
        let previous = convert::hash(previous_hash, "previous_hash")?;
        let time = match timestamp {
            Some(value) if !value.is_none() => convert::header_time(value, "timestamp")?,
            _ => convert::python_now(py)?,
        };
        Ok(Self::create(
            index,
            data,
            previous,
            time,
            difficulty_bits(0),
        ))
    }

    /// The block's position in its chain (genesis is 0); committed to by the header.
    #[getter]
    fn index(&self) -> u64 {
        self.index
    }

    #[setter]
    fn set_index(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.index = convert::whole(value, "index", u64::MAX)?;
        Ok(())
    }

    /// When the block was made, in whole seconds since 1970 (the header's time).
    #[getter]
    fn timestamp(&self) -> u32 {
        self.time
    }

    #[setter]
    fn set_timestamp(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.time = convert::header_time(value, "timestamp")?;
        Ok(())
    }

    /// The block's data: a str or bytes, read back as the type it was given as.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        self.data.to_object(py)
    }

    #[setter]
    fn set_data(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.data = Record::extract(value, "data")?;
        Ok(())
    }

    /// The hash of the block before, as 64 hex digits (the genesis block's is all zeros).
    #[getter]
    fn previous_hash(&self) -> String {
        self.previous.to_string()
    }

    #[setter]
    fn set_previous_hash(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.previous = convert::hash(value, "previous_hash")?;
        Ok(())
    }

    /// The number mining varies until the hash meets the difficulty (0 to 2**32 - 1, the
    /// header's nonce).
    #[getter]
    fn nonce(&self) -> u32 {
        self.nonce
    }

    #[setter]
    fn set_nonce(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let nonce = convert::whole(value, "nonce", u64::from(u32::MAX))?;
        self.nonce = u32::try_from(nonce).expect("bounded by u32::MAX");
        Ok(())
    }

    /// The block's stored hash, as 64 hex digits: set when the block is made or mined, or by
    /// assignment (`block.hash = block.calculate_hash()`). Verification compares it with what
    /// the header hashes to.
    #[getter]
    fn hash(&self) -> String {
        self.hash.to_string()
    }

    #[setter]
    fn set_hash(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let hash = convert::hash(value, "hash")?;
        let current = self.current_header();
        if hash == current.block_hash() {
            // `hash = calculate_hash()`: the stored hash now commits to the records as they are.
            self.committed_root = current.merkle_root;
        }
        self.hash = hash;
        Ok(())
    }

    /// The merkle root the stored hash commits to (hex): it changes when the block is mined or
    /// its hash recalculated, not when `data` changes.
    #[getter]
    fn merkle_root(&self) -> String {
        self.committed_root.to_string()
    }

    /// The header's compact target, `bits`, as an int: set by `mine(difficulty)`.
    #[getter]
    fn bits(&self) -> u32 {
        self.bits.to_consensus()
    }

    /// The difficulty (leading hex zeros) the header's bits stand for, or None.
    #[getter]
    fn difficulty(&self) -> Option<u8> {
        difficulty_of(self.bits)
    }

    /// The 80-byte header the stored hash commits to.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.committed_header().to_bytes())
    }

    /// Returns the hash of the block's fields as they are now: the double SHA-256 of its
    /// 80-byte header, as 64 hex digits (leading zeros first, as Bitcoin shows hashes).
    fn calculate_hash(&self) -> String {
        self.current_header().block_hash().to_string()
    }

    /// Mines the block as the seed does: while its stored hash does not start with `difficulty`
    /// hex zeros, tries the next nonce. The search is ironchain's miner, on every core (or
    /// `threads`), with the GIL released; Ctrl-C stops it (KeyboardInterrupt, block unchanged).
    /// Mining with another difficulty than the header carries changes its `bits` first.
    #[pyo3(signature = (difficulty, threads = None))]
    fn mine(
        &mut self,
        py: Python<'_>,
        difficulty: &Bound<'_, PyAny>,
        threads: Option<usize>,
    ) -> PyResult<()> {
        let difficulty = self::difficulty(difficulty)?;
        let threads = convert::threads(threads)?;
        self.mine_with(py, difficulty, threads)
    }

    fn __repr__(&self) -> String {
        format!(
            "Block(index={}, timestamp={}, data={}, nonce={}, hash='{}')",
            self.index,
            self.time,
            match &self.data {
                Record::Text(text) => format!("{:?}", shorten(text, 40)),
                Record::Bytes(bytes) => format!("<{} bytes>", bytes.len()),
            },
            self.nonce,
            shorten(&self.hash.to_string(), 20)
        )
    }

    fn _repr_html_(&self) -> String {
        Table::fields(format!("block {}", self.index), &self.html_fields()).render()
    }
}
