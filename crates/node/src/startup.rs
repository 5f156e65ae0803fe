//! Start-up: open the chain (or create it), verify it, and cut a damaged chain back to its last
//! good block, remembering what was dropped so the node can report when peers have replaced it.
//!
//! A chain alone can only *identify* tampering; a node *recovers* from it. The recovery starts
//! here: the first bad block and everything after it go (records of intact blocks back to the
//! pool), and the node's [`Machine`](crate::machine::Machine) downloads the rest from its peers.
//! [`cut_back`] works on any [`ChainStore`], so a simulated node whose store was tampered while
//! it was down recovers exactly as a real one does.

use std::path::Path;

use ironchain_core::BlockHash;
use ironchain_store::{
    BadBlock, ChainStore, OpenError, OpenOptions, Store, VerifyError, VerifyMode,
};
use tracing::{info, warn};

/// What a repair found and did, shown by the API and logged again once the chain has been
/// re-downloaded.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RepairInfo {
    /// The first bad block's height.
    pub bad_height: u64,
    /// Why it was bad.
    pub reason: String,
    /// The rule's or fault's stable code (`records-altered`, `broken-link`, ...).
    pub code: String,
    /// Heights and hashes of the blocks dropped (as they were recorded).
    pub dropped: Vec<(u64, BlockHash)>,
    /// Dropped blocks whose records could not be trusted and were not returned to the pool.
    pub damaged_blocks: Vec<u64>,
    /// Records of intact dropped blocks that went back to the pool.
    pub records_returned: usize,
    /// Whether the dropped heights have been replaced from peers yet.
    pub resynced: bool,
}

/// Why the node could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The chain could not be created or opened.
    #[error("cannot open the chain: {0}")]
    Open(#[from] OpenError),
    /// The chain could not be created.
    #[error("cannot create the chain: {0}")]
    Create(#[from] ironchain_store::CreateError),
    /// The chain failed verification and could not be cut back to its good part.
    #[error("cannot repair the chain: {0}")]
    Repair(#[from] ironchain_store::Error),
    /// The node key or API cookie could not be read or written.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The network could not start.
    #[error(transparent)]
    Network(#[from] crate::net::SpawnError),
    /// The HTTP API could not bind its address.
    #[error("cannot start the HTTP API on {addr}: {source}")]
    Api {
        /// The address.
        addr: std::net::SocketAddr,
        /// What failed.
        source: std::io::Error,
    },
    /// A start-up task died (a bug).
    #[error("a start-up task failed: {0}")]
    Task(String),
}

/// Opens the chain in `dir` (creating it from `params` if there is none), verifying every block.
/// A chain that fails verification is cut back to its last good block ([`cut_back`]).
///
/// # Errors
/// [`StartError::Open`], [`StartError::Create`] or [`StartError::Repair`].
pub fn open_or_repair(
    dir: &Path,
    params: &ironchain_core::ChainParams,
    now: u32,
) -> Result<(Store, Option<RepairInfo>), StartError> {
    let options = OpenOptions {
        expect_genesis: Some(params.genesis_hash()),
        now: Some(now),
        ..OpenOptions::new(VerifyMode::Full)
    };
    let opened = match Store::open_with(dir, &options) {
        Ok(opened) => opened,
        Err(OpenError::NoChain { .. }) => return Ok((Store::create(dir, params.clone())?, None)),
        Err(error) => return Err(error.into()),
    };
    let store = opened.store;
    match opened.verification {
        Ok(summary) => {
            info!(height = summary.height, tip = %summary.tip, "chain verified");
            Ok((store, None))
        }
        Err(bad) => {
            let repair = cut_back(&store, &bad, now)?;
            Ok((store, Some(repair)))
        }
    }
}

/// Verifies `store` in full; if a block is bad, cuts the chain back to the block before it.
///
/// # Errors
/// The store's error if it cannot be read or cut back.
pub fn check_and_repair<S: ChainStore>(
    store: &S,
    now: u32,
) -> Result<Option<RepairInfo>, ironchain_store::Error> {
    match store.verify(VerifyMode::Full, now) {
        Ok(_) => Ok(None),
        Err(VerifyError::Bad(bad)) => cut_back(store, &bad, now).map(Some),
        Err(error) => Err(error.into()),
    }
}

/// Cuts the chain back to the block before `bad`, returning intact records to the pool, and
/// verifies what is left.
///
/// # Errors
/// The store's error if it cannot be cut back, or if the chain still fails verification.
pub fn cut_back<S: ChainStore>(
    store: &S,
    bad: &BadBlock,
    now: u32,
) -> Result<RepairInfo, ironchain_store::Error> {
    warn!(%bad, "the chain failed verification: keeping the blocks before it and \
                 downloading the rest again from peers");
    let tip = store.tip()?;
    let mut dropped = Vec::new();
    for height in bad.height.max(1)..=tip.height {
        if let Some(hash) = store.hash_at(height)? {
            dropped.push((height, hash));
        }
    }
    let keep = bad.height.saturating_sub(1);
    let report = store.truncate_to(keep)?;
    store.verify(VerifyMode::Full, now)?;
    warn!(
        kept_up_to = keep,
        dropped = report.dropped,
        records_returned = report.returned_to_pool,
        damaged = ?report.damaged_blocks,
        "chain cut back to its good prefix"
    );
    Ok(RepairInfo {
        bad_height: bad.height,
        reason: bad.to_string(),
        code: bad.fault.code().to_owned(),
        dropped,
        damaged_blocks: report.damaged_blocks,
        records_returned: report.returned_to_pool,
        resynced: false,
    })
}

impl RepairInfo {
    /// Once the store's chain again reaches the highest dropped height, logs what replaced each
    /// dropped block, marks the repair done and returns true.
    pub fn check_resynced<S: ChainStore>(&mut self, store: &S) -> bool {
        if self.resynced {
            return false;
        }
        let Ok(tip) = store.tip() else {
            return false;
        };
        let last = self.dropped.last().map_or(0, |(height, _)| *height);
        if tip.height < last {
            return false;
        }
        for (height, old) in &self.dropped {
            match store.hash_at(*height).ok().flatten() {
                Some(new) if new == *old => {
                    info!(height, hash = %new, "repair: block restored unchanged from peers")
                }
                Some(new) => info!(height, %old, %new, "repair: block replaced by the peers' one"),
                None => {}
            }
        }
        info!(
            bad_height = self.bad_height,
            "repair complete: the chain verifies and matches peers"
        );
        self.resynced = true;
        true
    }
}
