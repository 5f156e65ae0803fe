//! The real chain on disk: `Store(path)` opens the same database the CLI uses.
//!
//! The store's own promises hold from Python as from the CLI: `add` returns once the records are
//! durable; `mine` commits each block whole or not at all, so Ctrl-C loses nothing (the blocks
//! mined before it stay, the records of the block being mined stay pending); opening verifies the
//! chain, and a chain that fails opens read-only. redb lets one process at a time open the file:
//! close the Store (`close()`, or a `with` block) before running `ironchain` on the same directory.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::validate::ChainSummary;
use ironchain_core::{Block as CoreBlock, ChainParams};
use ironchain_store::{
    BadBlock, MineError, OpenOptions, Store as CoreStore, TamperError, VerifyError, VerifyMode,
};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList};

use crate::convert::{self, Record, bytes_text};
use crate::errors::{self, StoreClosedError, Violation};
use crate::html::{Table, shorten};
use crate::interrupt::{self, OnInterrupt};
use crate::proof::InclusionProof;
use crate::verification::{Verdict, Verification};

/// Store(path): the chain on disk in `path`, the same one `ironchain --data-dir PATH` works on.
///
/// Opening verifies the chain quickly (every header, on every core). A chain that fails opens
/// anyway, read-only: `verification` says why, and `add` and `mine` raise ReadOnlyError naming
/// the block and rule. `Store.init(path, ...)` creates a chain. One process at a time may open
/// the database: close the Store (or use `with`) before running `ironchain` on it.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    inner: Mutex<Option<Arc<CoreStore>>>,
    /// The last verification's bad block, if it failed: the reason writes are refused.
    bad: Mutex<Option<BadBlock>>,
    /// The verdict of the verification done when the store was opened.
    opened: Mutex<Option<Py<Verification>>>,
}

impl Store {
    /// Returns the open store, or `StoreClosedError`.
    fn get(&self) -> PyResult<Arc<CoreStore>> {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| {
                StoreClosedError::new_err(format!(
                    "the store for {} is closed: open it again with Store(path)",
                    self.dir.display()
                ))
            })
    }

    fn bad(&self) -> Option<BadBlock> {
        self.bad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_bad(&self, bad: Option<BadBlock>) {
        *self.bad.lock().unwrap_or_else(PoisonError::into_inner) = bad;
    }

    /// Wraps a store just opened or created.
    fn wrap(
        py: Python<'_>,
        dir: PathBuf,
        store: CoreStore,
        verification: Result<ChainSummary, BadBlock>,
        seconds: f64,
    ) -> PyResult<Self> {
        let (summary, violation, bad) = match verification {
            Ok(summary) => (Some(summary), None, None),
            Err(bad) => (None, Some(Violation::from(&bad)), Some(bad)),
        };
        let verdict = Verdict {
            what: "store (quick, on opening)".into(),
            summary,
            violation,
            seconds,
            ..Verdict::default()
        };
        Ok(Self {
            dir,
            inner: Mutex::new(Some(Arc::new(store))),
            bad: Mutex::new(bad),
            opened: Mutex::new(Some(Py::new(py, Verification::create(py, verdict, None)?)?)),
        })
    }

    fn stored_block(store: &CoreStore, height: u64) -> PyResult<Option<StoredBlock>> {
        Ok(store
            .block_at(height)
            .map_err(errors::db)?
            .map(|block| StoredBlock { height, block }))
    }
}

/// Reads `records` for `add`: one str or bytes, or an iterable of them.
fn records_argument(records: &Bound<'_, PyAny>) -> PyResult<Vec<Vec<u8>>> {
    if let Ok(one) = Record::extract(records, "a record") {
        return Ok(vec![one.bytes().to_vec()]);
    }
    let iterator = records.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "records must be a str, bytes or an iterable of them, not {}",
            convert::type_name(records)
        ))
    })?;
    let mut out = Vec::new();
    for (i, item) in iterator.enumerate() {
        out.push(
            Record::extract(&item?, &format!("record {i}"))?
                .bytes()
                .to_vec(),
        );
    }
    Ok(out)
}

#[pymethods]
impl Store {
    /// Opens the chain in `path` (a str or path-like) and verifies it quickly (every header,
    /// on every core). A chain that fails opens anyway, read-only: `verification` says why, and
    /// `add` and `mine` raise ReadOnlyError naming the block and rule.
    #[new]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let dir = path.clone();
        let started = std::time::Instant::now();
        let opened = interrupt::run(py, OnInterrupt::Abandon, move || {
            CoreStore::open_with(&path, &OpenOptions::new(VerifyMode::Quick))
        })?
        .map_err(errors::open)?;
        let seconds = started.elapsed().as_secs_f64();
        Self::wrap(py, dir, opened.store, opened.verification, seconds)
    }

    /// Creates a chain in `path` (created if needed; an existing chain is never overwritten)
    /// and returns it open. `chain` is "demo" (blocks in milliseconds, a retarget every ten),
    /// "regtest" (the easiest target, Bitcoin's schedule) or "custom", which needs all three of
    /// `difficulty_bits` (leading zero bits of the easiest block's hash, 1 to 40), `spacing`
    /// (seconds between blocks) and `retarget_interval` (blocks between retargets).
    #[staticmethod]
    #[pyo3(signature = (path, chain = "demo", difficulty_bits = None, spacing = None, retarget_interval = None))]
    fn init(
        py: Python<'_>,
        path: PathBuf,
        chain: &str,
        difficulty_bits: Option<u8>,
        spacing: Option<u32>,
        retarget_interval: Option<u32>,
    ) -> PyResult<Self> {
        let custom = (difficulty_bits, spacing, retarget_interval);
        let params = match (chain, custom) {
            ("demo", (None, None, None)) => ChainParams::demo(),
            ("regtest", (None, None, None)) => ChainParams::regtest(),
            ("demo" | "regtest", _) => {
                return Err(errors::value(format!(
                    "the {chain} chain has fixed rules: use chain=\"custom\" to choose \
                     difficulty_bits, spacing and retarget_interval"
                )));
            }
            ("custom", (Some(bits), Some(spacing), Some(interval))) => {
                if !(1..=40).contains(&bits) || spacing == 0 || interval == 0 {
                    return Err(errors::value(format!(
                        "a custom chain needs difficulty_bits from 1 to 40 and a spacing and \
                         retarget_interval of at least 1, found {bits}, {spacing}, {interval}"
                    )));
                }
                // Mining the genesis block takes about 2^bits hashes: off the GIL, on all cores.
                let threads = convert::threads(None)?;
                interrupt::run(py, OnInterrupt::Abandon, move || {
                    ChainParams::custom("custom", bits, spacing, interval, threads)
                })?
            }
            ("custom", _) => {
                return Err(errors::value(
                    "a custom chain needs difficulty_bits, spacing and retarget_interval",
                ));
            }
            (other, _) => {
                return Err(errors::value(format!(
                    "chain must be \"demo\", \"regtest\" or \"custom\", found {other:?}"
                )));
            }
        };
        let dir = path.clone();
        let store = interrupt::run(py, OnInterrupt::Abandon, move || {
            CoreStore::create(&path, params)
        })?
        .map_err(|error| errors::create(error, &dir))?;
        let summary = store.tip().map_err(errors::db).map(|tip| ChainSummary {
            blocks: tip.height + 1,
            height: tip.height,
            tip: tip.hash,
            work: tip.work,
        })?;
        Self::wrap(py, dir, store, Ok(summary), 0.0)
    }

    /// The data directory.
    #[getter]
    fn path(&self) -> PathBuf {
        self.dir.clone()
    }

    /// The chain's name ("demo", "bitcoin-like", "custom", ...).
    #[getter]
    fn chain(&self) -> PyResult<String> {
        Ok(self.get()?.params().name.clone())
    }

    /// The verdict of the quick verification done when the store was opened.
    #[getter]
    fn verification(&self, py: Python<'_>) -> Option<Py<Verification>> {
        self.opened
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|v| v.clone_ref(py))
    }

    /// The height of the last block (genesis is 0).
    #[getter]
    fn height(&self) -> PyResult<u64> {
        Ok(self.get()?.tip().map_err(errors::db)?.height)
    }

    /// The hash of the last block.
    #[getter]
    fn tip(&self) -> PyResult<String> {
        Ok(self.get()?.tip().map_err(errors::db)?.hash.to_string())
    }

    /// How many records are waiting to be mined.
    #[getter]
    fn pending(&self) -> PyResult<u64> {
        self.get()?.pending_count().map_err(errors::db)
    }

    fn __len__(&self) -> PyResult<usize> {
        let height = self.height()?;
        usize::try_from(height + 1).map_err(|_| PyValueError::new_err("the chain is too long"))
    }

    /// Adds records (a str or bytes, or an iterable of them) to the durable pool and returns
    /// their ids once they are on disk. Every record is mined exactly once.
    fn add(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<Vec<u64>> {
        let records = records_argument(records)?;
        if records.is_empty() {
            return Err(PyValueError::new_err(
                "nothing to add: give a str, bytes or a list of them",
            ));
        }
        let store = self.get()?;
        let ids = interrupt::run(py, OnInterrupt::Abandon, move || {
            store.add_records(&records)
        })?
        .map_err(|error| errors::pool(py, error, self.bad().as_ref()))?;
        Ok(ids.into_iter().map(|id| id.0).collect())
    }

    /// Mines pending records into `blocks` new blocks (they may be empty), or with
    /// `until_empty=True` until no record is pending, each committed in one durable transaction.
    /// Returns the blocks mined. Uses the CLI's miner on every core (or `threads`) with the GIL
    /// released; Ctrl-C stops it (KeyboardInterrupt) and loses nothing.
    #[pyo3(signature = (blocks = 1, until_empty = false, threads = None))]
    fn mine(
        &self,
        py: Python<'_>,
        blocks: i64,
        until_empty: bool,
        threads: Option<usize>,
    ) -> PyResult<Vec<StoredBlock>> {
        let blocks = u64::try_from(blocks).map_err(|_| {
            PyValueError::new_err(format!("blocks must be 0 or more, found {blocks}"))
        })?;
        let threads = convert::threads(threads)?;
        let store = self.get()?;
        let control = Arc::new(MineControl::new());
        let worker = Arc::clone(&control);
        let cancel = || control.cancel();
        let mined = interrupt::run(py, OnInterrupt::CancelAndWait(&cancel), move || {
            let mut mined: Vec<u64> = Vec::new();
            loop {
                if until_empty {
                    match store.pending_count() {
                        Ok(0) => break,
                        Ok(_) => {}
                        Err(error) => return (mined, Err(MineError::Db(error))),
                    }
                } else if mined.len() as u64 >= blocks {
                    break;
                }
                match store.mine_next(threads, &worker, unix_now()) {
                    Ok(block) => mined.push(block.tip.height),
                    // Another writer moved the tip or took the records: mine again.
                    Err(MineError::Stale) => continue,
                    Err(error) => return (mined, Err(error)),
                }
            }
            (mined, Ok(()))
        })?;
        let (heights, result) = mined;
        if let Err(error) = result {
            return Err(errors::mine(py, error, self.bad().as_ref()));
        }
        let store = self.get()?;
        let mut out = Vec::with_capacity(heights.len());
        for height in heights {
            if let Some(block) = Self::stored_block(&store, height)? {
                out.push(block);
            }
        }
        Ok(out)
    }

    /// Verifies the chain from genesis as `ironchain verify` does: quick checks every header
    /// (links, proof of work, retarget, times, the hash each was stored under); `full=True` also
    /// every block's records against its merkle root, and the hash index. Returns a
    /// Verification; a bad chain raises InvalidBlockError naming the block and the rule (and the
    /// store becomes read-only until repaired).
    #[pyo3(signature = (full = false))]
    fn verify(&self, py: Python<'_>, full: bool) -> PyResult<Verification> {
        let store = self.get()?;
        let mode = if full {
            VerifyMode::Full
        } else {
            VerifyMode::Quick
        };
        let started = std::time::Instant::now();
        let result = interrupt::run(py, OnInterrupt::Abandon, move || {
            store.verify(mode, unix_now())
        })?;
        let seconds = started.elapsed().as_secs_f64();
        match result {
            Ok(summary) => {
                self.set_bad(None);
                let verdict = Verdict {
                    what: format!("store ({})", if full { "full" } else { "quick" }),
                    summary: Some(summary),
                    seconds,
                    ..Verdict::default()
                };
                Verification::create(py, verdict, None)
            }
            Err(VerifyError::Bad(bad)) => {
                self.set_bad(Some(bad.as_ref().clone()));
                Err(errors::verify(py, VerifyError::Bad(bad)))
            }
            Err(error) => Err(errors::verify(py, error)),
        }
    }

    /// Iterates over the stored blocks from height `start` up to (not including) `stop`, or to
    /// the tip, reading each from disk as it goes.
    #[pyo3(signature = (start = 0, stop = None))]
    fn blocks(&self, start: i64, stop: Option<&Bound<'_, PyAny>>) -> PyResult<BlockIterator> {
        let next = u64::try_from(start).map_err(|_| {
            PyValueError::new_err(format!("start must be 0 or more, found {start}"))
        })?;
        let stop = stop
            .filter(|s| !s.is_none())
            .map(|s| convert::whole(s, "stop", u64::MAX))
            .transpose()?;
        Ok(BlockIterator {
            store: self.get()?,
            next: Mutex::new(next),
            stop,
        })
    }

    /// Returns the block at `height`.
    fn block(&self, height: &Bound<'_, PyAny>) -> PyResult<StoredBlock> {
        let height = convert::whole(height, "height", u64::MAX)?;
        let store = self.get()?;
        Self::stored_block(&store, height)?.ok_or_else(|| no_block(&store, height))
    }

    /// Returns an inclusion proof that record `index` is in the block at `height`: the document
    /// `ironchain prove` prints, checkable with no chain (`InclusionProof.check()`,
    /// `ironchain check-proof`).
    fn prove(
        &self,
        height: &Bound<'_, PyAny>,
        index: &Bound<'_, PyAny>,
    ) -> PyResult<InclusionProof> {
        let height = convert::whole(height, "height", u64::MAX)?;
        let index = convert::whole(index, "index", u64::from(u32::MAX))?;
        let index =
            usize::try_from(index).map_err(|_| PyValueError::new_err("index is too large"))?;
        let store = self.get()?;
        let Some(block) = store.block_at(height).map_err(errors::db)? else {
            return Err(no_block(&store, height));
        };
        InclusionProof::of_record(height, &block, index).ok_or_else(|| {
            PyValueError::new_err(format!(
                "block {height} has {} records: there is no record {index}",
                block.records.len()
            ))
        })
    }

    /// TEACHING TOOL, as `ironchain tamper`: replaces record `index` of the block at `height`
    /// behind the chain's back, leaving its header as it was. `verify(full=True)` then names the
    /// block and the rule it breaks. Never use it on a chain you care about.
    fn tamper_record(
        &self,
        height: &Bound<'_, PyAny>,
        index: &Bound<'_, PyAny>,
        record: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let height = convert::whole(height, "height", u64::MAX)?;
        let index = convert::whole(index, "index", u64::from(u32::MAX))?;
        let index =
            usize::try_from(index).map_err(|_| PyValueError::new_err("index is too large"))?;
        let record = Record::extract(record, "record")?;
        let store = self.get()?;
        store
            .tamper_record(height, index, record.bytes())
            .map_err(|error| match error {
                TamperError::Db(error) => errors::db(error),
                other => PyValueError::new_err(other.to_string()),
            })
    }

    /// Closes the database, so another process (such as `ironchain`) can open it. Any other
    /// method then raises StoreClosedError. Closing twice does nothing.
    fn close(&self) {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_args))]
    fn __exit__(&self, _args: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        match self
            .get()
            .and_then(|s| s.tip().map_err(errors::db).map(|t| (s, t)))
        {
            Ok((store, tip)) => format!(
                "Store({:?}, chain={:?}, height={}, tip='{}')",
                self.dir.display().to_string(),
                store.params().name,
                tip.height,
                shorten(&tip.hash.to_string(), 20)
            ),
            Err(_) => format!("Store({:?}, closed)", self.dir.display().to_string()),
        }
    }

    fn _repr_html_(&self) -> PyResult<String> {
        let store = self.get()?;
        let tip = store.tip().map_err(errors::db)?;
        let caption = format!(
            "store {} (chain {:?}): {} blocks, {} pending{}",
            self.dir.display(),
            store.params().name,
            tip.height + 1,
            store.pending_count().map_err(errors::db)?,
            match self.bad() {
                Some(bad) => format!("; INVALID: {bad}"),
                None => String::new(),
            }
        );
        let mut table = Table::new(
            caption,
            &["height", "hash", "time", "records", "first record"],
        );
        let bad_height = self.bad().map(|bad| bad.height);
        // The last ten blocks: a notebook table, not a dump of the chain.
        for height in tip.height.saturating_sub(9)..=tip.height {
            if let Some(block) = Self::stored_block(&store, height)? {
                let first = block
                    .block
                    .records
                    .first()
                    .map(|r| bytes_text(r))
                    .unwrap_or_default();
                table.row(
                    vec![
                        height.to_string(),
                        shorten(&block.block.block_hash().to_string(), 20),
                        block.block.header.time.to_string(),
                        block.block.records.len().to_string(),
                        shorten(&first, 40),
                    ],
                    bad_height == Some(height),
                );
            }
        }
        Ok(table.render())
    }
}

fn no_block(store: &CoreStore, height: u64) -> PyErr {
    let tip = store
        .tip()
        .map(|t| t.height.to_string())
        .unwrap_or_else(|_| "?".into());
    PyValueError::new_err(format!("no block at height {height} (the tip is at {tip})"))
}

/// A block read from a Store: its height, header and records.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug)]
pub struct StoredBlock {
    height: u64,
    block: CoreBlock,
}

#[pymethods]
impl StoredBlock {
    /// The block's height (genesis is 0).
    #[getter]
    fn height(&self) -> u64 {
        self.height
    }

    /// The block's hash: the double SHA-256 of its header, as Bitcoin shows hashes.
    #[getter]
    fn hash(&self) -> String {
        self.block.block_hash().to_string()
    }

    /// The hash of the block before.
    #[getter]
    fn previous_hash(&self) -> String {
        self.block.header.prev_blockhash.to_string()
    }

    /// The root of the merkle tree over the records, as the header commits to it.
    #[getter]
    fn merkle_root(&self) -> String {
        self.block.header.merkle_root.to_string()
    }

    /// The header's time, in seconds since 1970.
    #[getter]
    fn time(&self) -> u32 {
        self.block.header.time
    }

    /// The header's compact target.
    #[getter]
    fn bits(&self) -> u32 {
        self.block.header.bits.to_consensus()
    }

    /// The header's nonce.
    #[getter]
    fn nonce(&self) -> u32 {
        self.block.header.nonce
    }

    /// The 80-byte header.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.block.header.to_bytes())
    }

    /// The records, as bytes, in the order the merkle root commits to.
    #[getter]
    fn records<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.block.records.iter().map(|r| PyBytes::new(py, r)))
    }

    fn __repr__(&self) -> String {
        format!(
            "StoredBlock(height={}, hash='{}', records={})",
            self.height,
            shorten(&self.block.block_hash().to_string(), 20),
            self.block.records.len()
        )
    }

    fn _repr_html_(&self) -> String {
        let header = &self.block.header;
        let mut fields = vec![
            ("height", self.height.to_string()),
            ("hash", self.block.block_hash().to_string()),
            ("previous_hash", header.prev_blockhash.to_string()),
            ("merkle_root", header.merkle_root.to_string()),
            ("time", header.time.to_string()),
            ("bits", header.bits.to_string()),
            ("nonce", header.nonce.to_string()),
        ];
        let records: Vec<String> = self.block.records.iter().map(|r| bytes_text(r)).collect();
        for record in &records {
            fields.push(("record", shorten(record, 80)));
        }
        Table::fields(format!("block {}", self.height), &fields).render()
    }
}

/// Iterates over a store's blocks, reading each as it is needed.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug)]
pub struct BlockIterator {
    store: Arc<CoreStore>,
    next: Mutex<u64>,
    stop: Option<u64>,
}

#[pymethods]
impl BlockIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self) -> PyResult<Option<StoredBlock>> {
        let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
        if self.stop.is_some_and(|stop| *next >= stop) {
            return Ok(None);
        }
        let block = Store::stored_block(&self.store, *next)?;
        if block.is_some() {
            *next += 1;
        }
        Ok(block)
    }
}
