//! Python exceptions: one class per kind of failure, each carrying the message the CLI prints.
//!
//! Every class derives from [`IronchainError`], so `except ironchain.IronchainError` catches
//! anything the library refuses. Input of the wrong type or out of range is not an ironchain
//! failure but a caller's mistake, and raises Python's own `TypeError` or `ValueError`.
//!
//! The messages are the Rust errors' `Display`, which is also what `ironchain` prints after
//! `error:`, so a message seen in a notebook can be searched for in the CLI's documentation and
//! the other way round. Where the CLI adds context (opening a damaged chain for writing), the same
//! context is added here.

use ironchain_core::validate::InvalidBlock;
use ironchain_store::{
    BadBlock, CreateError, DbError, MineError, OpenError, PoolError, VerifyError,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

create_exception!(
    ironchain,
    IronchainError,
    PyException,
    "Base class of every error ironchain raises (bad arguments raise TypeError or ValueError)."
);
create_exception!(
    ironchain,
    NoChainError,
    IronchainError,
    "The directory holds no chain: create one with Store.init(path) or `ironchain init`."
);
create_exception!(
    ironchain,
    ChainExistsError,
    IronchainError,
    "Store.init found a chain (or another database) in the directory; it never overwrites one."
);
create_exception!(
    ironchain,
    ChainInUseError,
    IronchainError,
    "Another process (a node, a CLI command, another Store) has the chain open."
);
create_exception!(
    ironchain,
    UnreadableChainError,
    IronchainError,
    "The database file cannot be read as an ironchain chain (truncated, overwritten, damaged)."
);
create_exception!(
    ironchain,
    InvalidBlockError,
    IronchainError,
    "A block breaks a rule. Attributes: height, hash, rule (a short code such as \
     'records-altered') and message."
);
create_exception!(
    ironchain,
    ReadOnlyError,
    IronchainError,
    "The chain failed verification when it was opened and refuses writes until repaired."
);
create_exception!(
    ironchain,
    RecordTooLargeError,
    IronchainError,
    "A record could never fit in a block of this chain; nothing was added."
);
create_exception!(
    ironchain,
    MiningError,
    IronchainError,
    "No nonce at any allowed time met the target."
);
create_exception!(
    ironchain,
    InvalidProofError,
    IronchainError,
    "An inclusion proof does not prove that its record is in its block."
);
create_exception!(
    ironchain,
    ProofFormatError,
    IronchainError,
    "Text that is not a proof document as `ironchain prove` and Store.prove write it."
);
create_exception!(
    ironchain,
    HeaderDataError,
    IronchainError,
    "Bytes that are not raw 80-byte headers or hex header lines."
);
create_exception!(
    ironchain,
    DatabaseError,
    IronchainError,
    "The database failed underneath ironchain (I/O, a full disk, a damaged page)."
);
create_exception!(
    ironchain,
    ChainParamsError,
    IronchainError,
    "Chain parameters that cannot make a working chain."
);
create_exception!(
    ironchain,
    StoreClosedError,
    IronchainError,
    "The Store was closed; open the directory again."
);

/// Adds every exception class to the module.
pub fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add("IronchainError", py.get_type::<IronchainError>())?;
    module.add("NoChainError", py.get_type::<NoChainError>())?;
    module.add("ChainExistsError", py.get_type::<ChainExistsError>())?;
    module.add("ChainInUseError", py.get_type::<ChainInUseError>())?;
    module.add(
        "UnreadableChainError",
        py.get_type::<UnreadableChainError>(),
    )?;
    module.add("InvalidBlockError", py.get_type::<InvalidBlockError>())?;
    module.add("ReadOnlyError", py.get_type::<ReadOnlyError>())?;
    module.add("RecordTooLargeError", py.get_type::<RecordTooLargeError>())?;
    module.add("MiningError", py.get_type::<MiningError>())?;
    module.add("InvalidProofError", py.get_type::<InvalidProofError>())?;
    module.add("ProofFormatError", py.get_type::<ProofFormatError>())?;
    module.add("HeaderDataError", py.get_type::<HeaderDataError>())?;
    module.add("DatabaseError", py.get_type::<DatabaseError>())?;
    module.add("ChainParamsError", py.get_type::<ChainParamsError>())?;
    module.add("StoreClosedError", py.get_type::<StoreClosedError>())?;
    Ok(())
}

/// What every rule violation shows Python: where, which block, which rule, and why.
#[derive(Debug, Clone)]
pub struct Violation {
    /// The block's height.
    pub height: u64,
    /// The block's hash as its header hashes now, if it could be read.
    pub hash: Option<String>,
    /// The rule's stable code (`records-altered`, `broken-link`, ...).
    pub rule: &'static str,
    /// The rule's message, as the CLI prints it after the block.
    pub message: String,
    /// The whole sentence: "block 2 (…) is invalid: records altered: …".
    pub text: String,
}

impl From<&InvalidBlock> for Violation {
    fn from(invalid: &InvalidBlock) -> Self {
        Self {
            height: invalid.height,
            hash: Some(invalid.hash.to_string()),
            rule: invalid.rule.code(),
            message: invalid.rule.to_string(),
            text: invalid.to_string(),
        }
    }
}

impl From<&BadBlock> for Violation {
    fn from(bad: &BadBlock) -> Self {
        Self {
            height: bad.height,
            hash: bad.hash.map(|hash| hash.to_string()),
            rule: bad.fault.code(),
            message: bad.fault.to_string(),
            text: bad.to_string(),
        }
    }
}

/// Builds an exception of class `T` with `text`, and the violation's parts as attributes.
fn with_violation<T: pyo3::PyTypeInfo>(py: Python<'_>, text: String, v: &Violation) -> PyErr {
    let error = PyErr::new::<T, _>(text);
    let value = error.value(py);
    // Setting attributes on a fresh exception instance cannot fail short of running out of
    // memory, and then the exception itself is the best report we have.
    let _ = value.setattr("height", v.height);
    let _ = value.setattr("hash", v.hash.clone());
    let _ = value.setattr("rule", v.rule);
    let _ = value.setattr("message", v.message.clone());
    error
}

/// An [`InvalidBlockError`] naming the block and the rule.
pub fn invalid_block(py: Python<'_>, violation: &Violation) -> PyErr {
    with_violation::<InvalidBlockError>(py, violation.text.clone(), violation)
}

/// The error for writing to a chain that failed verification when it was opened: the CLI's
/// message (`open_writable`), with the block and rule as attributes.
pub fn read_only(py: Python<'_>, bad: &BadBlock) -> PyErr {
    let text = format!(
        "the chain failed verification: {bad}. It is read-only: inspect it with \
         `ironchain verify --full`, then cut it back with `ironchain repair --truncate`"
    );
    with_violation::<ReadOnlyError>(py, text, &Violation::from(bad))
}

/// Maps a database failure.
pub fn db(error: DbError) -> PyErr {
    DatabaseError::new_err(error.to_string())
}

/// Maps a failure to open a chain.
pub fn open(error: OpenError) -> PyErr {
    let text = error.to_string();
    match error {
        OpenError::NoChain { .. } => NoChainError::new_err(text),
        OpenError::Locked { .. } => ChainInUseError::new_err(text),
        // A wrong genesis is not asked for by this module; any other variant is damage.
        _ => UnreadableChainError::new_err(text),
    }
}

/// Maps a failure to create a chain, with the CLI's context ("cannot create a chain in DIR").
pub fn create(error: CreateError, dir: &std::path::Path) -> PyErr {
    let text = format!("cannot create a chain in {}: {error}", dir.display());
    match error {
        CreateError::AlreadyExists { .. } | CreateError::NotAChain { .. } => {
            ChainExistsError::new_err(text)
        }
        CreateError::Params(_) => ChainParamsError::new_err(text),
        CreateError::Db(_) => DatabaseError::new_err(text),
        // An I/O error creating the directory (permissions, a file in the way) and anything new.
        _ => PyErr::new::<pyo3::exceptions::PyOSError, _>(text),
    }
}

/// Maps a failure to add records.
pub fn pool(py: Python<'_>, error: PoolError, opened_bad: Option<&BadBlock>) -> PyErr {
    match error {
        PoolError::ReadOnly => match opened_bad {
            Some(bad) => read_only(py, bad),
            None => ReadOnlyError::new_err(error.to_string()),
        },
        PoolError::TooLarge { .. } => RecordTooLargeError::new_err(error.to_string()),
        // The CLI's context: a commit that failed at the very end may still have happened.
        PoolError::Db(_) => DatabaseError::new_err(format!(
            "the records may or may not have been stored: check the pending count before \
             adding them again: {error}"
        )),
        _ => IronchainError::new_err(error.to_string()),
    }
}

/// Maps a failure to mine into the store (cancellation is handled by the caller).
pub fn mine(py: Python<'_>, error: MineError, opened_bad: Option<&BadBlock>) -> PyErr {
    match error {
        MineError::ReadOnly => match opened_bad {
            Some(bad) => read_only(py, bad),
            None => ReadOnlyError::new_err(error.to_string()),
        },
        MineError::Invalid(invalid) => invalid_block(py, &Violation::from(&invalid)),
        MineError::Db(error) => db(error),
        other => MiningError::new_err(format!("mining failed; nothing was lost: {other}")),
    }
}

/// Maps a failure to verify a stored chain.
pub fn verify(py: Python<'_>, error: VerifyError) -> PyErr {
    match error {
        VerifyError::Bad(bad) => invalid_block(py, &Violation::from(bad.as_ref())),
        VerifyError::Db(error) => db(error),
        other => IronchainError::new_err(other.to_string()),
    }
}

/// A `ValueError` for an argument that is out of range.
pub fn value(text: impl Into<String>) -> PyErr {
    PyValueError::new_err(text.into())
}
