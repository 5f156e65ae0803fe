//! Verdicts: what a verification found, for a seed chain, a stored chain or a file of headers.
//!
//! A [`Verification`] is true when everything checked out. When something did not, its `invalid`
//! is an [`InvalidBlock`]: the first bad block's height and hash, the rule it broke (a short
//! stable code such as `records-altered`, the CLI's `--json` "rule") and the message the CLI
//! prints. Both show as tables in a notebook.

use ironchain_core::validate::ChainSummary;
use pyo3::prelude::*;
use pyo3::types::PyInt;

use crate::errors::Violation;
use crate::html::{Table, shorten};

/// The first block that broke a rule: where it is, what it is, which rule, and why.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug)]
pub struct InvalidBlock {
    violation: Violation,
    block: Option<Py<PyAny>>,
}

impl InvalidBlock {
    /// Wraps a violation, with the offending block object when there is one (a seed `Block`).
    pub fn new(violation: Violation, block: Option<Py<PyAny>>) -> Self {
        Self { violation, block }
    }
}

#[pymethods]
impl InvalidBlock {
    /// The block's height (its index in a seed chain; genesis is 0).
    #[getter]
    fn height(&self) -> u64 {
        self.violation.height
    }

    /// The block's hash as its header hashes now (hex, as Bitcoin shows it), or None if its
    /// header could not be read.
    #[getter]
    fn hash(&self) -> Option<String> {
        self.violation.hash.clone()
    }

    /// The rule broken, as a short stable code: `records-altered`, `header-changed`,
    /// `broken-link`, `not-enough-work`, `wrong-difficulty`, `time-too-old`, ...
    #[getter]
    fn rule(&self) -> &'static str {
        self.violation.rule
    }

    /// What is wrong, in words (the rule's message as the CLI prints it).
    #[getter]
    fn message(&self) -> String {
        self.violation.message.clone()
    }

    /// The offending block itself, for a seed chain's `Block`; None otherwise.
    #[getter]
    fn block(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.block.as_ref().map(|block| block.clone_ref(py))
    }

    fn __str__(&self) -> String {
        self.violation.text.clone()
    }

    fn __repr__(&self) -> String {
        format!(
            "InvalidBlock(height={}, rule={:?}, message={:?})",
            self.violation.height, self.violation.rule, self.violation.message
        )
    }

    fn _repr_html_(&self) -> String {
        table(&self.violation, "invalid block").render()
    }
}

fn table(violation: &Violation, caption: &str) -> Table {
    Table::fields(
        caption,
        &[
            ("height", violation.height.to_string()),
            ("hash", violation.hash.clone().unwrap_or_else(|| "-".into())),
            ("rule", violation.rule.to_owned()),
            ("message", violation.message.clone()),
        ],
    )
}

/// The outcome of a verification: true if everything checked out, else `invalid` names the
/// first bad block and its rule, and the other fields describe the valid blocks before it.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug)]
pub struct Verification {
    /// What was verified, for display: "seed chain", "store (full)", "headers (bitcoin)".
    what: String,
    summary: Option<ChainSummary>,
    invalid: Option<Py<InvalidBlock>>,
    violation: Option<Violation>,
    seconds: f64,
    start_height: Option<u64>,
    headers: Option<usize>,
}

/// What a verification found, before it becomes a Python object.
#[derive(Debug, Default)]
pub struct Verdict {
    /// What was verified.
    pub what: String,
    /// The summary of the blocks that verified (up to the invalid one, if any).
    pub summary: Option<ChainSummary>,
    /// The first bad block.
    pub violation: Option<Violation>,
    /// How long the verification took.
    pub seconds: f64,
    /// For a file of headers: the height of its first header.
    pub start_height: Option<u64>,
    /// For a file of headers: how many it holds.
    pub headers: Option<usize>,
}

impl Verification {
    /// Builds the Python object, attaching `block` (the offending seed block) to the violation.
    ///
    /// # Errors
    /// If Python cannot allocate the object.
    pub fn create(py: Python<'_>, verdict: Verdict, block: Option<Py<PyAny>>) -> PyResult<Self> {
        let invalid = verdict
            .violation
            .clone()
            .map(|violation| Py::new(py, InvalidBlock::new(violation, block)))
            .transpose()?;
        Ok(Self {
            what: verdict.what,
            summary: verdict.summary,
            invalid,
            violation: verdict.violation,
            seconds: verdict.seconds,
            start_height: verdict.start_height,
            headers: verdict.headers,
        })
    }
}

/// Returns a 256-bit amount of work as a Python int.
pub fn work_int<'py>(py: Python<'py>, work: ironchain_core::Work) -> PyResult<Bound<'py, PyAny>> {
    let hex = hex::encode(work.to_be_bytes());
    py.get_type::<PyInt>().call1((hex, 16))
}

#[pymethods]
impl Verification {
    /// True if every block checked out.
    #[getter]
    fn ok(&self) -> bool {
        self.violation.is_none()
    }

    fn __bool__(&self) -> bool {
        self.ok()
    }

    /// How many blocks (or headers) verified, before the first bad one if there is one.
    #[getter]
    fn blocks(&self) -> u64 {
        self.summary.map_or(0, |s| s.blocks)
    }

    /// The height of the last block that verified, or None if none did.
    #[getter]
    fn height(&self) -> Option<u64> {
        self.summary.map(|s| s.height)
    }

    /// The hash of the last block that verified, or None if none did.
    #[getter]
    fn tip(&self) -> Option<String> {
        self.summary.map(|s| s.tip.to_string())
    }

    /// The total work of the blocks that verified: the expected number of hashes it took to
    /// make them (an int).
    #[getter]
    fn work<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        work_int(py, self.summary.map(|s| s.work).unwrap_or_default())
    }

    /// The first bad block and its rule, or None if everything verified.
    #[getter]
    fn invalid(&self, py: Python<'_>) -> Option<Py<InvalidBlock>> {
        self.invalid.as_ref().map(|invalid| invalid.clone_ref(py))
    }

    /// Seconds the verification took.
    #[getter]
    fn seconds(&self) -> f64 {
        self.seconds
    }

    /// For headers: the height of the first header in the data.
    #[getter]
    fn start_height(&self) -> Option<u64> {
        self.start_height
    }

    /// For headers: how many headers the data holds.
    #[getter]
    fn headers(&self) -> Option<usize> {
        self.headers
    }

    fn __repr__(&self) -> String {
        match (&self.violation, self.summary) {
            (None, Some(s)) => format!(
                "Verification(ok, {}: {} blocks to height {}, tip {})",
                self.what,
                s.blocks,
                s.height,
                shorten(&s.tip.to_string(), 16)
            ),
            (None, None) => format!("Verification(ok, {}: no blocks)", self.what),
            (Some(v), _) => format!(
                "Verification(INVALID, {}: block {} broke {:?}: {})",
                self.what, v.height, v.rule, v.message
            ),
        }
    }

    fn __str__(&self) -> String {
        match (&self.violation, self.summary) {
            (Some(v), _) => format!("INVALID: {}", v.text),
            (None, Some(s)) => format!(
                "ok: {} blocks, tip {} at height {}, total work {}",
                s.blocks, s.tip, s.height, s.work
            ),
            (None, None) => "ok: no blocks".into(),
        }
    }

    fn _repr_html_(&self) -> String {
        let mut fields = vec![
            ("verified", self.what.clone()),
            (
                "verdict",
                if self.violation.is_none() {
                    "ok"
                } else {
                    "INVALID"
                }
                .to_owned(),
            ),
            ("blocks verified", self.blocks().to_string()),
        ];
        if let Some(s) = self.summary {
            fields.push(("height", s.height.to_string()));
            fields.push(("tip", s.tip.to_string()));
            fields.push(("work", s.work.to_string()));
        }
        if let Some(v) = &self.violation {
            fields.push(("invalid block", v.height.to_string()));
            fields.push(("rule", v.rule.to_owned()));
            fields.push(("message", v.message.clone()));
        }
        fields.push(("seconds", format!("{:.6}", self.seconds)));
        Table::fields("verification", &fields).render()
    }
}
