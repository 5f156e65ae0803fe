//! The pure core of ironchain: every idea of a proof-of-work blockchain, one per module, with no
//! I/O.
//!
//! Read it in this order:
//! - [`hash`]: SHA-256, double SHA-256 and the hash newtypes ([`BlockHash`], [`MerkleRoot`]).
//! - [`header`]: Bitcoin's 80-byte [`Header`], the part proof of work covers.
//! - [`merkle`]: the RFC 6962 tree that commits a header to its records, and inclusion proofs.
//! - [`block`]: a [`Block`] (header + records) and its canonical byte encoding.
//! - [`pow`]: [`Target`], its compact form [`CompactTarget`], and [`Work`].
//! - [`params`]: [`ChainParams`], the rules of one chain (Bitcoin's, or the demo's).
//! - [`retarget`]: how difficulty follows the speed of mining.
//! - [`validate`]: the rules, and a [`Verifier`] that names the first block to break one.
//! - [`chain`]: an in-memory [`Blockchain`] that mines, appends and verifies.
//! - [`miner`]: the multi-threaded nonce search; [`sha256d`] is its hot loop.
//! - [`attack`]: what rewriting history costs: the whitepaper's odds, a simulation, a live race.
//!
//! ```
//! use ironchain_core::{Blockchain, ChainParams, validate::Rule};
//!
//! // Mine a short chain of records on the demo chain (milliseconds per block).
//! let mut chain = Blockchain::new(ChainParams::demo());
//! for text in ["genesis is block 0", "this is block 1", "this is block 2"] {
//!     chain.add_records(vec![text.as_bytes().to_vec()])?;
//! }
//! let summary = chain.verify().expect("an honest chain verifies");
//! assert_eq!(summary.height, 3);
//!
//! // Tamper with block 2: the verifier names it, and says why.
//! chain.tamper_with(2, |block| block.records[0] = b"this is not block 2".to_vec());
//! let invalid = chain.verify().unwrap_err();
//! assert_eq!(invalid.height, 2);
//! assert!(matches!(invalid.rule, Rule::RecordsMismatch { .. }));
//! # Ok::<(), ironchain_core::chain::AddError>(())
//! ```
#![warn(missing_docs)]

pub mod attack;
pub mod block;
pub mod chain;
pub mod hash;
pub mod header;
pub mod merkle;
pub mod miner;
pub mod params;
pub mod pow;
pub mod retarget;
pub mod sha256d;
pub mod validate;

pub use block::Block;
pub use chain::Blockchain;
pub use hash::{BlockHash, MerkleRoot};
pub use header::Header;
pub use params::ChainParams;
pub use pow::{CompactTarget, Target, Work};
pub use validate::{InvalidBlock, Rule, Verifier};
