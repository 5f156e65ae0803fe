//! Helpers shared by the store's integration tests: a trivial-difficulty chain and a clock.
#![allow(dead_code, clippy::unwrap_used)]

use ironchain_core::miner::MineControl;
use ironchain_core::{Block, Blockchain, ChainParams};
use ironchain_store::{OpenOptions, Store, VerifyMode};

/// Regtest params: about every second hash meets the target, so mining is instant.
pub fn params() -> ChainParams {
    ChainParams::regtest()
}

/// A clock far enough after genesis that thousands of blocks are never "in the future".
pub fn now() -> u32 {
    params().genesis.header.time + 10_000_000
}

/// Options that open with the test clock.
pub fn options(mode: VerifyMode) -> OpenOptions {
    OpenOptions {
        now: Some(now()),
        threads: Some(2),
        ..OpenOptions::new(mode)
    }
}

/// Mines `n` blocks into `store`, taking whatever is pending.
pub fn mine(store: &Store, n: usize) {
    for _ in 0..n {
        store.mine_next(1, &MineControl::new(), now()).unwrap();
    }
}

/// Returns every record in the stored chain above genesis, and every pending one.
pub fn all_records(store: &Store) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let tip = store.tip().unwrap();
    let mut mined = Vec::new();
    for height in 1..=tip.height {
        mined.extend(store.block_at(height).unwrap().unwrap().records);
    }
    let pending = store
        .all_pending()
        .unwrap()
        .into_iter()
        .map(|r| r.bytes)
        .collect();
    (mined, pending)
}

/// An in-memory chain holding the same blocks as `store`, to build forks from.
pub fn replica(store: &Store) -> Blockchain {
    let mut chain = Blockchain::new(store.params().clone()).with_threads(1);
    for height in 1..=store.tip().unwrap().height {
        chain
            .push(store.block_at(height).unwrap().unwrap(), now())
            .unwrap();
    }
    chain
}

/// Mines `records` (one block per entry) onto `chain` and returns the new blocks.
pub fn extend(chain: &mut Blockchain, blocks: Vec<Vec<Vec<u8>>>) -> Vec<Block> {
    blocks
        .into_iter()
        .map(|records| {
            chain
                .add_records_at(records, now(), &MineControl::new())
                .unwrap()
                .clone()
        })
        .collect()
}
