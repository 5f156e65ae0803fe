//! Errors: one enum per operation, because callers handle them differently.
//!
//! A caller of [`Store::append_block`](crate::Store::append_block) cares whether the block broke
//! a rule (punish the peer) or the disk failed (stop); a caller of
//! [`Store::add_records`](crate::Store::add_records) cares whether a record is too large (tell the
//! user the limit). Every enum wraps the database's own failures in [`DbError`], as redb's
//! `CommitError` wraps its `StorageError`.

use std::path::PathBuf;

use ironchain_core::BlockHash;
use ironchain_core::block::DecodeError;
use ironchain_core::validate::{InvalidBlock, Rule};

use crate::codec::ParamsError;

/// The database failed underneath us, or holds bytes ironchain did not write.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// redb reported an error (I/O, a corrupted page, a closed database).
    #[error("database error: {0}")]
    Redb(#[from] redb::Error),
    /// A value ironchain wrote does not read back in the layout it was written in.
    #[error("the database is damaged: {0}")]
    Corrupt(String),
}

macro_rules! from_redb {
    ($($error:ty),*) => {
        $(impl From<$error> for DbError {
            fn from(error: $error) -> Self {
                DbError::Redb(error.into())
            }
        })*
    };
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// Implements `From<redb error>` for an operation's error enum through its `Db` variant, so `?`
/// works on redb calls inside each operation.
macro_rules! db_errors_for {
    ($($op:ty),*) => {
        $(
            impl From<redb::TransactionError> for $op {
                fn from(e: redb::TransactionError) -> Self { Self::Db(e.into()) }
            }
            impl From<redb::TableError> for $op {
                fn from(e: redb::TableError) -> Self { Self::Db(e.into()) }
            }
            impl From<redb::StorageError> for $op {
                fn from(e: redb::StorageError) -> Self { Self::Db(e.into()) }
            }
            impl From<redb::CommitError> for $op {
                fn from(e: redb::CommitError) -> Self { Self::Db(e.into()) }
            }
            impl From<redb::SetDurabilityError> for $op {
                fn from(e: redb::SetDurabilityError) -> Self { Self::Db(e.into()) }
            }
        )*
    };
}

/// Why [`Store::create`](crate::Store::create) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The directory already holds a chain; ironchain never overwrites one.
    #[error("{dir} already holds the chain {name:?} (genesis {genesis}): use another directory")]
    AlreadyExists {
        /// The data directory.
        dir: PathBuf,
        /// The name of the chain found there.
        name: String,
        /// Its genesis hash.
        genesis: BlockHash,
    },
    /// The directory holds a database file that is not an ironchain chain.
    #[error("{dir} holds a database that is not an ironchain chain: use another directory")]
    NotAChain {
        /// The data directory.
        dir: PathBuf,
    },
    /// The parameters cannot describe a working chain.
    #[error(transparent)]
    Params(#[from] ParamsError),
    /// The directory could not be created.
    #[error("cannot create {dir}: {source}")]
    Io {
        /// The data directory.
        dir: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why [`Store::open`](crate::Store::open) failed (a chain that fails verification still opens,
/// read-only: see [`Opened`](crate::Opened)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// There is no chain in the directory.
    #[error("no chain in {dir}: run `ironchain init`")]
    NoChain {
        /// The data directory.
        dir: PathBuf,
    },
    /// The directory holds a different chain than the caller expects.
    #[error(
        "{dir} holds the chain {found_name:?} (genesis {found}), not the expected genesis \
         {expected}: use another data directory"
    )]
    WrongChain {
        /// The data directory.
        dir: PathBuf,
        /// The name of the chain found.
        found_name: String,
        /// Its genesis hash.
        found: BlockHash,
        /// The genesis hash the caller asked for.
        expected: BlockHash,
    },
    /// Another process (a running node, another command) has the database open.
    #[error("the chain in {dir} is in use by another ironchain process: stop it and retry")]
    Locked {
        /// The data directory.
        dir: PathBuf,
    },
    /// The database file cannot be read as a database (truncated, overwritten, corrupted).
    #[error(
        "the database in {dir} is unreadable ({source}): restore it from a backup or an \
         `ironchain export`, or move it away and `ironchain init` again"
    )]
    Unreadable {
        /// The data directory.
        dir: PathBuf,
        /// What went wrong.
        source: DbError,
    },
    /// The database is readable but its metadata is not ironchain's.
    #[error("the database in {dir} is damaged: {reason}")]
    Damaged {
        /// The data directory.
        dir: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// What is wrong with a stored block.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// The block breaks a consensus rule (or its header no longer hashes to its recorded hash).
    Rule(Rule),
    /// The stored bytes are not a block encoding at all.
    Undecodable(DecodeError),
    /// No block is stored at this height although the tip is above it.
    Missing,
    /// The hash index disagrees with the block (missing or pointing elsewhere).
    IndexMismatch,
    /// The recorded tip (height, hash or work) is not what the blocks add up to.
    TipMismatch,
}

impl Fault {
    /// Returns a short stable name for the fault, for JSON output and scripts: the rule's own
    /// code for a broken consensus rule (`records-altered`, `broken-link`, ...), otherwise one of
    /// `undecodable`, `missing-block`, `index-mismatch`, `tip-mismatch`.
    pub fn code(&self) -> &'static str {
        match self {
            Fault::Rule(rule) => rule.code(),
            Fault::Undecodable(_) => "undecodable",
            Fault::Missing => "missing-block",
            Fault::IndexMismatch => "index-mismatch",
            Fault::TipMismatch => "tip-mismatch",
        }
    }
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Rule(rule) => write!(f, "{rule}"),
            Fault::Undecodable(error) => write!(f, "stored bytes are not a block: {error}"),
            Fault::Missing => write!(f, "the block is missing from the database"),
            Fault::IndexMismatch => write!(f, "the hash index disagrees with the block"),
            Fault::TipMismatch => write!(f, "the recorded tip disagrees with the blocks"),
        }
    }
}

/// The first bad block of a stored chain: its height, its hash (as its header hashes now, when
/// there is a header to hash) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block {height}{} is bad: {fault}", .hash.map(|h| format!(" ({h})")).unwrap_or_default())]
pub struct BadBlock {
    /// The block's height (genesis is 0).
    pub height: u64,
    /// The block's hash, if its header could be read.
    pub hash: Option<BlockHash>,
    /// What is wrong.
    pub fault: Fault,
}

impl BadBlock {
    /// Returns the consensus rule broken, if the fault is one.
    pub fn rule(&self) -> Option<&Rule> {
        match &self.fault {
            Fault::Rule(rule) => Some(rule),
            _ => None,
        }
    }
}

impl From<InvalidBlock> for BadBlock {
    fn from(invalid: InvalidBlock) -> Self {
        Self {
            height: invalid.height,
            hash: Some(invalid.hash),
            fault: Fault::Rule(invalid.rule),
        }
    }
}

/// Why [`Store::verify`](crate::Store::verify) could not give a verdict.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The chain has a bad block; the store is now read-only. (Boxed: a rule carries 256-bit
    /// targets, and errors should stay small on the happy path.)
    #[error(transparent)]
    Bad(Box<BadBlock>),
    /// The database failed while reading.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a block could not be appended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The store failed verification and is read-only until repaired.
    #[error("the chain is read-only because it failed verification: run `ironchain repair`")]
    ReadOnly,
    /// The block breaks a rule against the current tip.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// The database failed; nothing was written.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a reorganization was refused; the chain is unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReorgError {
    /// The store is read-only.
    #[error("the chain is read-only because it failed verification: run `ironchain repair`")]
    ReadOnly,
    /// The fork point is above the tip.
    #[error("fork height {fork_height} is above the tip at {tip}")]
    ForkAboveTip {
        /// The requested fork height.
        fork_height: u64,
        /// The tip's height.
        tip: u64,
    },
    /// A new block breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why [`Store::truncate_to`](crate::Store::truncate_to) failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TruncateError {
    /// The height is above the tip: there is nothing to cut.
    #[error("height {height} is above the tip at {tip}")]
    AboveTip {
        /// The requested height.
        height: u64,
        /// The tip's height.
        tip: u64,
    },
    /// The database failed; nothing was changed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why records could not be added to the pool; none of them were.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PoolError {
    /// The store is read-only.
    #[error("the chain is read-only because it failed verification: run `ironchain repair`")]
    ReadOnly,
    /// A record could never fit in a block of this chain.
    #[error(
        "record {index} is {size} bytes, above this chain's limit of {max} bytes per record \
         (blocks are at most {max_block} bytes): split it"
    )]
    TooLarge {
        /// The record's position in the batch.
        index: usize,
        /// Its size.
        size: usize,
        /// The largest record a block can hold.
        max: usize,
        /// The chain's block size limit.
        max_block: usize,
    },
    /// The database failed; nothing was accepted.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why mining a block into the store failed; the pool and chain are unchanged.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MineError {
    /// The store is read-only.
    #[error("the chain is read-only because it failed verification: run `ironchain repair`")]
    ReadOnly,
    /// Mining was cancelled.
    #[error("mining was cancelled")]
    Cancelled,
    /// No nonce at any allowed time met the target.
    #[error("no nonce at any allowed time meets the target")]
    Exhausted,
    /// The tip or the pool changed while mining (another writer); mine again.
    #[error("the chain or pool changed while mining: mine again")]
    Stale,
    /// The mined block fails validation (a clock far behind the chain, for instance).
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// Writing failed.
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why an import failed; nothing was committed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The store is read-only.
    #[error("the chain is read-only because it failed verification: run `ironchain repair`")]
    ReadOnly,
    /// Reading failed.
    #[error("cannot read the import: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ends inside a block: the export was cut short.
    #[error(
        "the import ends inside block {height}: the file is truncated (export the chain again)"
    )]
    Truncated {
        /// The height of the block that is cut short.
        height: u64,
    },
    /// The stream does not start with the export magic.
    #[error("not an ironchain export (expected the magic bytes {expected:?})")]
    NotAnExport {
        /// The magic bytes an export starts with.
        expected: &'static [u8],
    },
    /// A block in the stream does not decode.
    #[error("block {height} in the import does not decode: {source}")]
    Undecodable {
        /// Its height.
        height: u64,
        /// Why.
        source: DecodeError,
    },
    /// The stream's genesis is another chain's.
    #[error("the import is of another chain: its genesis is {found}, this chain's is {expected}")]
    WrongChain {
        /// The stream's genesis hash.
        found: BlockHash,
        /// This chain's.
        expected: BlockHash,
    },
    /// The stream and the stored chain differ at a height both have.
    #[error("the import differs from the stored chain at height {height}: refusing to replace it")]
    Diverges {
        /// The first height where they differ.
        height: u64,
    },
    /// A block breaks a rule.
    #[error(transparent)]
    Invalid(#[from] InvalidBlock),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Why a tamper failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TamperError {
    /// No block at that height.
    #[error("no block at height {0}")]
    NoBlock(u64),
    /// The block has no record at that index.
    #[error("block {height} has no record {index} (it has {count})")]
    NoRecord {
        /// The block's height.
        height: u64,
        /// The index asked for.
        index: usize,
        /// How many records it has.
        count: usize,
    },
    /// The stored block does not decode, so its records cannot be addressed.
    #[error("block {height} does not decode: {source}")]
    Undecodable {
        /// Its height.
        height: u64,
        /// Why.
        source: DecodeError,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

db_errors_for!(
    CreateError,
    VerifyError,
    AppendError,
    ReorgError,
    TruncateError,
    PoolError,
    MineError,
    ExportError,
    ImportError,
    TamperError
);

impl From<BadBlock> for VerifyError {
    fn from(bad: BadBlock) -> Self {
        VerifyError::Bad(Box::new(bad))
    }
}

/// Any of the store's errors, for callers that hold several operations' errors in one place (a
/// node's fork choice appends, reorganizes and truncates): each operation's own enum converts
/// into it without losing its kind, as redb's umbrella `Error` does.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// An append failed.
    #[error(transparent)]
    Append(#[from] AppendError),
    /// A reorganization failed.
    #[error(transparent)]
    Reorg(#[from] ReorgError),
    /// A truncation failed.
    #[error(transparent)]
    Truncate(#[from] TruncateError),
    /// Adding to the pool failed.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// Committing a mined block failed.
    #[error(transparent)]
    Mine(#[from] MineError),
    /// Verification failed or found a bad block.
    #[error(transparent)]
    Verify(#[from] VerifyError),
}
