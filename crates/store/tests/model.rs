//! The store checked against a model, the way redb's fuzzer checks redb against a `BTreeMap`:
//! random sequences of operations (add records, mine, append a block built elsewhere,
//! reorganize, truncate, reopen) run on a real store in a temporary directory and on a plain
//! in-memory model of what was acknowledged. After every operation the two must agree: the same
//! blocks, the same tip, height and cumulative work, the same pending records in the same order,
//! and every record `add_records` accepted present exactly once, pending or in a block.
//!
//! Kept fast: 64 cases of at most 24 operations on the regtest chain, where a block takes a
//! couple of hashes. `PROPTEST_CASES=2000` runs a longer search.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{now, options, params};
use ironchain_core::miner::MineControl;
use ironchain_core::pow::Work;
use ironchain_core::{Block, BlockHash, Blockchain};
use ironchain_store::{Store, VerifyMode};
use proptest::prelude::*;

/// One step of a workload. Masks choose records: bit `i` (mod 64) picks the `i`-th candidate.
#[derive(Debug, Clone)]
enum Op {
    /// `add_records` with this many new records.
    Add(u8),
    /// `mine_next`: one block holding every pending record.
    Mine,
    /// `append_block` of a block mined outside the store (as a peer's block arrives) holding
    /// the pending records `mask` picks and `fresh` records the pool never saw.
    Append { mask: u64, fresh: u8 },
    /// `reorganize` replacing the top `depth` blocks by `blocks` new ones, holding the
    /// disconnected records `old` picks, the pending records `pending` picks, and one fresh
    /// record each.
    Reorganize {
        depth: u8,
        blocks: u8,
        old: u64,
        pending: u64,
    },
    /// `truncate_to` the tip's height minus `depth`.
    Truncate { depth: u8 },
    /// Close the store and open it again, verifying fully.
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (1u8..=3).prop_map(Op::Add),
        3 => Just(Op::Mine),
        2 => (any::<u64>(), 0u8..=2).prop_map(|(mask, fresh)| Op::Append { mask, fresh }),
        2 => (0u8..=3, 0u8..=3, any::<u64>(), any::<u64>()).prop_map(
            |(depth, blocks, old, pending)| Op::Reorganize { depth, blocks, old, pending }
        ),
        1 => (0u8..=3).prop_map(|depth| Op::Truncate { depth }),
        1 => Just(Op::Reopen),
    ]
}

/// What the store should hold: the blocks above genesis and the pending records, oldest first.
#[derive(Debug, Default)]
struct Model {
    blocks: Vec<Block>,
    pending: Vec<Vec<u8>>,
    /// Every record `add_records` acknowledged.
    accepted: Vec<Vec<u8>>,
    /// Makes every record unique, so "exactly once" is a plain count.
    counter: u64,
}

impl Model {
    fn fresh(&mut self, kind: &str) -> Vec<u8> {
        self.counter += 1;
        format!("{kind} record {}", self.counter).into_bytes()
    }

    fn tip_hash(&self) -> BlockHash {
        self.blocks
            .last()
            .map_or_else(|| params().genesis_hash(), Block::block_hash)
    }

    fn work(&self) -> Work {
        std::iter::once(&params().genesis)
            .chain(&self.blocks)
            .map(|block| block.header.bits.to_target().unwrap().work())
            .sum()
    }

    /// An in-memory chain holding the model's first `height` blocks, to mine new blocks on.
    fn replica(&self, height: usize) -> Blockchain {
        let mut chain = Blockchain::new(params()).with_threads(1);
        for block in &self.blocks[..height] {
            chain.push(block.clone(), now()).unwrap();
        }
        chain
    }

    /// Removes `record` from the pending list if it is there.
    fn take_pending(&mut self, record: &[u8]) -> bool {
        match self.pending.iter().position(|r| r == record) {
            Some(at) => {
                self.pending.remove(at);
                true
            }
            None => false,
        }
    }
}

/// The candidates `mask` picks (bit `i % 64` for candidate `i`).
fn pick(candidates: &[Vec<u8>], mask: u64) -> Vec<Vec<u8>> {
    candidates
        .iter()
        .enumerate()
        .filter(|(i, _)| mask >> (i % 64) & 1 == 1)
        .map(|(_, r)| r.clone())
        .collect()
}

fn mine_on(chain: &mut Blockchain, records: Vec<Vec<u8>>) -> Block {
    chain
        .add_records_at(records, now(), &MineControl::new())
        .unwrap()
        .clone()
}

/// Applies `op`, other than `Reopen`, to the store and the model alike.
fn apply(store: &Store, model: &mut Model, op: &Op) {
    let tip = model.blocks.len();
    match *op {
        Op::Add(n) => {
            let records: Vec<Vec<u8>> = (0..n).map(|_| model.fresh("added")).collect();
            let ids = store.add_records(&records).unwrap();
            assert_eq!(ids.len(), records.len());
            model.pending.extend(records.iter().cloned());
            model.accepted.extend(records);
        }
        Op::Mine => {
            let mined = store.mine_next(1, &MineControl::new(), now()).unwrap();
            assert_eq!(mined.tip.height, tip as u64 + 1);
            let block = store.block_at(mined.tip.height).unwrap().unwrap();
            // Tiny records: the block takes the whole pool, oldest first.
            assert_eq!(block.records, model.pending, "mined records");
            assert_eq!(mined.records.len(), model.pending.len());
            model.pending.clear();
            model.blocks.push(block);
        }
        Op::Append { mask, fresh } => {
            let mut records = pick(&model.pending, mask);
            records.extend((0..fresh).map(|_| model.fresh("appended")));
            let block = mine_on(&mut model.replica(tip), records);
            let stored = store.append_block(&block, now()).unwrap();
            assert_eq!(stored.hash, block.block_hash());
            for record in &block.records {
                model.take_pending(record);
            }
            model.blocks.push(block);
        }
        Op::Reorganize {
            depth,
            blocks,
            old,
            pending,
        } => {
            let fork = tip.saturating_sub(usize::from(depth));
            let disconnected: Vec<Vec<u8>> = model.blocks[fork..]
                .iter()
                .flat_map(|b| b.records.clone())
                .collect();
            let mut replica = model.replica(fork);
            let mut new_blocks = Vec::new();
            for i in 0..blocks {
                let mut records = if i == 0 {
                    let mut first = pick(&disconnected, old);
                    first.extend(pick(&model.pending, pending));
                    first
                } else {
                    Vec::new()
                };
                records.push(model.fresh("reorg"));
                new_blocks.push(mine_on(&mut replica, records));
            }
            let report = store.reorganize(fork as u64, &new_blocks, now()).unwrap();
            assert_eq!(report.disconnected, (tip - fork) as u64);
            assert_eq!(report.connected, u64::from(blocks));

            // The model of a reorganization: disconnected records the new blocks hold stay in
            // the chain, pending records they hold leave the pool, and the disconnected records
            // they lack go back into the pool, in chain order.
            let mut returned = disconnected;
            for record in new_blocks.iter().flat_map(|b| &b.records) {
                match returned.iter().position(|r| r == record) {
                    Some(at) => {
                        returned.remove(at);
                    }
                    None => {
                        model.take_pending(record);
                    }
                }
            }
            assert_eq!(report.returned_to_pool, returned.len());
            model.pending.extend(returned);
            model.blocks.truncate(fork);
            model.blocks.extend(new_blocks);
        }
        Op::Truncate { depth } => {
            let height = tip.saturating_sub(usize::from(depth));
            let report = store.truncate_to(height as u64).unwrap();
            assert_eq!(report.dropped, (tip - height) as u64);
            assert!(report.damaged_blocks.is_empty());
            // Every dropped block is intact: all its records are pending again, in chain order.
            let returned: Vec<Vec<u8>> = model
                .blocks
                .drain(height..)
                .flat_map(|b| b.records)
                .collect();
            assert_eq!(report.returned_to_pool, returned.len());
            model.pending.extend(returned);
        }
        Op::Reopen => unreachable!("reopening replaces the store: see `run`"),
    }
}

/// Closes the store and opens it again (verifying fully), checking the verdict against the model.
fn reopen(store: Store, dir: &Path, model: &Model) -> Store {
    // redb holds a lock on its file: the old handle must be gone before the new one opens.
    drop(store);
    let opened = Store::open_with(dir, &options(VerifyMode::Full)).unwrap();
    let summary = opened.verification.unwrap();
    assert_eq!(summary.height, model.blocks.len() as u64);
    assert_eq!(summary.tip, model.tip_hash());
    assert_eq!(summary.work, model.work());
    opened.store
}

/// Runs `op` on the store and the model alike.
fn run(store: Store, dir: &Path, model: &mut Model, op: &Op) -> Store {
    match op {
        Op::Reopen => reopen(store, dir, model),
        op => {
            apply(&store, model, op);
            store
        }
    }
}

/// Checks that the store holds exactly what the model says.
fn check(store: &Store, model: &Model) {
    let tip = store.tip().unwrap();
    assert_eq!(tip.height, model.blocks.len() as u64, "height");
    assert_eq!(tip.hash, model.tip_hash(), "tip");
    assert_eq!(tip.work, model.work(), "cumulative work");
    for (i, block) in model.blocks.iter().enumerate() {
        let height = i as u64 + 1;
        assert_eq!(
            store.block_at(height).unwrap().as_ref(),
            Some(block),
            "block {height}"
        );
        assert_eq!(store.hash_at(height).unwrap(), Some(block.block_hash()));
        assert_eq!(store.height_of(&block.block_hash()).unwrap(), Some(height));
    }
    assert_eq!(
        store.block_at(tip.height + 1).unwrap(),
        None,
        "a block above the tip"
    );
    let pending: Vec<Vec<u8>> = store
        .all_pending()
        .unwrap()
        .into_iter()
        .map(|r| r.bytes)
        .collect();
    assert_eq!(pending, model.pending, "pending records");
    assert_eq!(store.pending_count().unwrap(), pending.len() as u64);

    // The promise itself, said directly: every accepted record exactly once, pending or mined.
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for record in model.blocks.iter().flat_map(|b| &b.records).chain(&pending) {
        *counts.entry(record).or_default() += 1;
    }
    for record in &model.accepted {
        assert_eq!(
            counts.get(record.as_slice()),
            Some(&1),
            "accepted record {:?}",
            String::from_utf8_lossy(record)
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_store_agrees_with_a_model_of_what_was_acknowledged(
        ops in prop::collection::vec(op(), 1..24)
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let mut store = Store::create(dir, params()).unwrap();
        let mut model = Model::default();
        check(&store, &model);
        for op in &ops {
            store = run(store, dir, &mut model, op);
            check(&store, &model);
        }
        // However the run ended, the chain on disk verifies fully and matches the model.
        let store = reopen(store, dir, &model);
        check(&store, &model);
    }
}
