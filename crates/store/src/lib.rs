//! ironchain's durable chain: blocks, indexes, tip and a record pool in one embedded database.
//!
//! The core crate knows what a valid chain is but keeps it in memory. This crate keeps one on disk
//! with [redb] (ACID, copy-on-write B-trees, no server), with three promises:
//! - **Atomic changes.** A block, its index entries, the tip and the pool change in one write
//!   transaction ([`write`]): after a crash either all of a change is there or none of it.
//! - **Nothing accepted is lost.** [`Store::add_records`] returns only once the records are
//!   durable; mining removes them from the pool in the transaction that stores their block
//!   ([`pool`]). An accepted record is always exactly once either pending or in a block.
//! - **Opening verifies.** [`Store::open`] walks the chain through the core's verifier
//!   ([`verify`]); a chain changed behind our back opens read-only, naming its first bad block,
//!   until [`Store::truncate_to`] repairs it.
//!
//! Modules, in reading order: [`codec`] (byte layouts), [`store`] (tables, open, reads),
//! [`verify`], [`write`] (append, reorganize, truncate), [`pool`] (records and mining),
//! [`transfer`] (export and import), [`tamper`] (the teaching tool), [`error`]; then
//! [`chain_store`], what a node needs of a store as a trait, and [`memory`], the in-memory store
//! a simulation of thousands of nodes runs on.
//!
//! ```
//! use ironchain_core::ChainParams;
//! use ironchain_core::miner::MineControl;
//! use ironchain_store::{Store, VerifyMode, OpenOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let params = ChainParams::regtest();
//! let now = params.genesis.header.time + 600;
//! let store = Store::create(dir.path(), params)?;
//! store.add_records(&[b"alice pays bob 5".to_vec()])?;
//! let mined = store.mine_next(1, &MineControl::new(), now)?;
//! assert_eq!(mined.tip.height, 1);
//! drop(store);
//!
//! // Opening verifies: change a stored record, and the store names the block and opens
//! // read-only.
//! let options = OpenOptions { now: Some(now), ..OpenOptions::new(VerifyMode::Full) };
//! let opened = Store::open_with(dir.path(), &options)?;
//! opened.verification.expect("an honest chain verifies");
//! opened.store.tamper_record(1, 0, b"alice pays bob 500")?;
//! let bad = opened.store.verify(VerifyMode::Full, now).unwrap_err();
//! assert!(bad.to_string().contains("block 1"));
//! assert!(opened.store.is_read_only());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod chain_store;
pub mod codec;
pub mod error;
pub mod memory;
pub mod pool;
pub mod store;
pub mod tamper;
pub mod transfer;
pub mod verify;
pub mod write;

pub use chain_store::ChainStore;
pub use codec::TipInfo;
pub use error::{
    AppendError, BadBlock, CreateError, DbError, Error, ExportError, Fault, ImportError, MineError,
    OpenError, PoolError, ReorgError, TamperError, TruncateError, VerifyError,
};
pub use ironchain_core::validate::ChainSummary;
pub use memory::{BlockIndex, MemStore};
pub use pool::{Mined, PendingRecord, RecordId, Template};
pub use store::{OpenOptions, Opened, Store, VerifyMode};
pub use transfer::{EXPORT_MAGIC, ImportReport};
pub use write::{ReorgReport, TruncateReport};
