//! The seed's `Blockchain`: a Python list of blocks mined to a fixed difficulty, verified by
//! ironchain's verifier.
//!
//! `chain` is a real Python list of `Block`s, as in the seed, so a learner can change a block in
//! place (`chain.chain[2].data = "tampered"`), append a block built by hand, or replace the list.
//! Verification reads the list as it is at that moment.

use ironchain_core::validate::{self, ChainSummary, InvalidBlock as CoreInvalid, Verifier};
use ironchain_core::{Block as CoreBlock, BlockHash, ChainParams};
use pyo3::exceptions::{PyIndexError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::block::{Block, difficulty_value};
use super::{chain_params, difficulty_bits};
use crate::convert::{self, Record, type_name};
use crate::errors::Violation;
use crate::html::{Table, shorten};
use crate::interrupt::{self, OnInterrupt};
use crate::verification::{Verdict, Verification};

/// The seed's genesis data.
const GENESIS_DATA: &str = "Genesis Block";

/// Blockchain(difficulty=4, threads=None): a chain of blocks, each mined so that its hash starts
/// with `difficulty` hex zeros (0 to 63), beginning with a mined "Genesis Block".
///
/// Mining and verification use every core, or `threads`, as the CLI does.
#[pyclass(module = "ironchain")]
#[derive(Debug)]
pub struct Blockchain {
    difficulty: u8,
    params: ChainParams,
    chain: Py<PyList>,
    threads: usize,
}

/// Reads every item of the list as a block, for the core: the blocks and their stored hashes.
fn core_blocks(list: &Bound<'_, PyList>) -> PyResult<(Vec<CoreBlock>, Vec<BlockHash>)> {
    let mut blocks = Vec::with_capacity(list.len());
    let mut hashes = Vec::with_capacity(list.len());
    for (position, item) in list.iter().enumerate() {
        let block = item.cast::<Block>().map_err(|_| {
            PyTypeError::new_err(format!(
                "chain[{position}] is a {}, not a Block",
                type_name(&item)
            ))
        })?;
        let (core, hash) = block.borrow().to_core();
        blocks.push(core);
        hashes.push(hash);
    }
    Ok((blocks, hashes))
}

impl Blockchain {
    /// Verifies the list as it is now, with the core's verifier, off the GIL.
    fn check(&self, py: Python<'_>) -> PyResult<(Verdict, Option<usize>)> {
        let (blocks, hashes) = core_blocks(self.chain.bind(py))?;
        let now = convert::python_now(py)?;
        let params = self.params.clone();
        let threads = self.threads;
        let started = std::time::Instant::now();
        let (summary, invalid): (Option<ChainSummary>, Option<CoreInvalid>) =
            interrupt::run(py, OnInterrupt::Abandon, move || {
                let mut verifier = Verifier::new(&params, now).with_threads(threads);
                let result = verifier.push_blocks(&blocks, Some(&hashes), true);
                (verifier.summary(), result.err())
            })?;
        let verdict = Verdict {
            what: format!("seed chain, difficulty {}", self.difficulty),
            summary,
            violation: invalid.as_ref().map(Violation::from),
            seconds: started.elapsed().as_secs_f64(),
            ..Verdict::default()
        };
        let position = invalid.and_then(|invalid| usize::try_from(invalid.height).ok());
        Ok((verdict, position))
    }

    /// Returns the last block of the list.
    fn last(&self, py: Python<'_>) -> PyResult<Py<Block>> {
        let list = self.chain.bind(py);
        let last = list
            .len()
            .checked_sub(1)
            .ok_or_else(|| PyIndexError::new_err("the chain is empty: it has no last block"))?;
        let item = list.get_item(last)?;
        let block = item.cast::<Block>().map_err(|_| {
            PyTypeError::new_err(format!(
                "chain[{last}] is a {}, not a Block",
                type_name(&item)
            ))
        })?;
        Ok(block.clone().unbind())
    }
}

#[pymethods]
impl Blockchain {
    /// A chain holding a genesis block ("Genesis Block") mined so that its hash starts with
    /// `difficulty` hex zeros (0 to 63). Mining and verification use every core, or `threads`.
    #[new]
    #[pyo3(signature = (difficulty = 4, threads = None))]
    fn new(py: Python<'_>, difficulty: i64, threads: Option<usize>) -> PyResult<Self> {
        let difficulty = difficulty_value(difficulty)?;
        let threads = convert::threads(threads)?;
        let now = convert::python_now(py)?;
        let mut genesis = Block::create(
            0,
            Record::Text(GENESIS_DATA.into()),
            BlockHash::ZERO,
            now,
            difficulty_bits(difficulty),
        );
        genesis.mine_with(py, difficulty, threads)?;
        let (core_genesis, _) = genesis.to_core();
        let chain = PyList::new(py, [Py::new(py, genesis)?])?.unbind();
        Ok(Self {
            difficulty,
            params: chain_params(core_genesis, difficulty),
            chain,
            threads,
        })
    }

    /// The difficulty every block must meet: leading hex zeros of its hash. Fixed when the chain
    /// is made (it is part of the chain's rules).
    #[getter]
    fn difficulty(&self) -> u8 {
        self.difficulty
    }

    /// The blocks, genesis first: a Python list you may change, as in the seed.
    #[getter]
    fn chain(&self, py: Python<'_>) -> Py<PyList> {
        self.chain.clone_ref(py)
    }

    #[setter]
    fn set_chain(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        let list = value.cast::<PyList>().map_err(|_| {
            PyTypeError::new_err(format!(
                "chain must be a list of Blocks, not {}",
                type_name(value)
            ))
        })?;
        self.chain = list.clone().unbind();
        Ok(())
    }

    /// The last block of the chain.
    #[getter]
    fn last_block(&self, py: Python<'_>) -> PyResult<Py<Block>> {
        self.last(py)
    }

    /// Makes a block holding `data` (str or bytes) after the last one, mines it to the chain's
    /// difficulty (every core, GIL released, Ctrl-C stops it) and appends it. Returns the block.
    /// Its time is now, or just after the median of the last eleven blocks if that is later,
    /// as ironchain's time rule requires.
    fn add_block(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Py<Block>> {
        let data = Record::extract(data, "data")?;
        let list = self.chain.bind(py);
        let last = self.last(py)?;
        let previous = last.borrow(py).hash;
        let mut times = Vec::new();
        let start = list.len().saturating_sub(self.params.median_time_span);
        for item in list.iter().skip(start) {
            if let Ok(block) = item.cast::<Block>() {
                times.push(block.borrow().time);
            }
        }
        let now = convert::python_now(py)?;
        let time = validate::median_time_past(&times)
            .map_or(now, |median| now.max(median.saturating_add(1)));
        let index = list.len() as u64;
        let mut block = Block::create(
            index,
            data,
            previous,
            time,
            difficulty_bits(self.difficulty),
        );
        block.mine_with(py, self.difficulty, self.threads)?;
        let block = Py::new(py, block)?;
        list.append(block.clone_ref(py))?;
        Ok(block)
    }

    /// Returns the index of the first block that fails verification, or None, as the seed's
    /// `first_invalid()` does; `verify()` also says which rule it broke.
    fn first_invalid(&self, py: Python<'_>) -> PyResult<Option<usize>> {
        Ok(self.check(py)?.1)
    }

    /// Returns True if every block verifies.
    fn is_valid(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.check(py)?.0.violation.is_none())
    }

    /// Verifies the chain with ironchain's verifier and returns a Verification: true if every
    /// block checks out, else its `invalid` names the first bad block (`invalid.block`), its
    /// rule (`invalid.rule`, such as "records-altered") and why (`invalid.message`).
    fn verify(&self, py: Python<'_>) -> PyResult<Verification> {
        let (verdict, position) = self.check(py)?;
        let block = match position {
            Some(position) => self
                .chain
                .bind(py)
                .get_item(position)
                .ok()
                .map(Bound::unbind),
            None => None,
        };
        Verification::create(py, verdict, block)
    }

    fn __len__(&self, py: Python<'_>) -> usize {
        self.chain.bind(py).len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let list = self.chain.bind(py);
        let tip = self
            .last(py)
            .map(|last| shorten(&last.borrow(py).hash.to_string(), 20))
            .unwrap_or_else(|_| "-".into());
        format!(
            "Blockchain(difficulty={}, blocks={}, last hash '{tip}')",
            self.difficulty,
            list.len()
        )
    }

    fn _repr_html_(&self, py: Python<'_>) -> PyResult<String> {
        let (verdict, position) = self.check(py)?;
        let caption = match &verdict.violation {
            None => format!("blockchain, difficulty {}: valid", self.difficulty),
            Some(v) => format!(
                "blockchain, difficulty {}: block {} is invalid ({}: {})",
                self.difficulty, v.height, v.rule, v.message
            ),
        };
        let mut table = Table::new(
            caption,
            &[
                "index",
                "timestamp",
                "data",
                "previous_hash",
                "nonce",
                "hash",
            ],
        );
        for (i, item) in self.chain.bind(py).iter().enumerate() {
            let Ok(block) = item.cast::<Block>() else {
                table.row(
                    vec![i.to_string(), format!("not a Block: {}", type_name(&item))],
                    true,
                );
                continue;
            };
            let block = block.borrow();
            table.row(
                vec![
                    block.index.to_string(),
                    block.time.to_string(),
                    shorten(&block.data.display(), 40),
                    shorten(&block.previous.to_string(), 16),
                    block.nonce.to_string(),
                    shorten(&block.hash.to_string(), 16),
                ],
                position == Some(i),
            );
        }
        Ok(table.render())
    }
}
