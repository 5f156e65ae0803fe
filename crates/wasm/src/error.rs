//! What can be wrong with the input of an operation: one enum, since a page shows every one of
//! them the same way (as a message beside the input it gave).

use ironchain_core::header::HeaderFileError;
use ironchain_core::params::encoding::ParamsError;

/// Why an operation could not run on its input (an invalid header or proof is not an error: it
/// is the answer, in the report).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No chain of this name is built in.
    #[error("unknown chain {0:?}: expected one of bitcoin, demo, regtest")]
    UnknownChain(String),
    /// The rules bytes (from a node's `GET /params`) are not usable rules.
    #[error(transparent)]
    Rules(#[from] ParamsError),
    /// No rules were chosen before an operation that needs them.
    #[error("no rules chosen: call useChain or useRules first")]
    NoRules,
    /// The bytes are not a header file.
    #[error("not a header file: {0}")]
    HeaderFile(#[from] HeaderFileError),
    /// The header file holds no header.
    #[error("the file holds no headers")]
    NoHeaders,
    /// An operation on one header got some other number of them.
    #[error("expected one 80-byte header (raw, or 160 hex digits), found {0}")]
    NotOneHeader(usize),
    /// A start height that is not a whole number from 0 to 2^53 (JavaScript's exact integers).
    #[error("the start height must be a whole number from 0 to 2^53")]
    BadHeight,
    /// A proof document that is not the JSON `ironchain prove` writes.
    #[error("not a proof from `ironchain prove`: {0}")]
    ProofDocument(String),
    /// The text is not UTF-8 where text was expected.
    #[error("the input is not UTF-8 text")]
    NotText,
    /// The header file's headers are not one chain, or a period's bits are unusable.
    #[error("cannot read retarget periods: {0}")]
    Stats(#[from] ironchain_core::retarget::stats::StatsError),
}
