//! The [`ChainStore`] promises, checked on both stores: the redb `Store` on disk and the
//! `MemStore` a simulation runs on. Every test below is written once, against the trait, and
//! instantiated for each store by `both!`: validation on the way in, nothing changed by a failed
//! call, reorganizations that lose no record, repair that keeps intact records, verification
//! that names a tampered block, and mining that commits only what is still pending.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use common::{extend, now, params};
use ironchain_core::miner::{MineControl, MineJob, MineOutcome, mine};
use ironchain_core::{Block, Blockchain, ChainParams, Rule};
use ironchain_store::{
    AppendError, ChainStore, MemStore, MineError, PoolError, ReorgError, Store, VerifyError,
    VerifyMode,
};

/// A store under test, with what keeps it alive and a way to tamper with it behind its back.
trait Harness {
    type S: ChainStore;
    fn store(&self) -> &Self::S;
    /// Changes the first record of the block at `height`, as a disk changed behind the store's
    /// back would.
    fn tamper_record(&self, height: u64);
}

struct Disk {
    _dir: tempfile::TempDir,
    store: Store,
}

impl Harness for Disk {
    type S = Store;
    fn store(&self) -> &Store {
        &self.store
    }
    fn tamper_record(&self, height: u64) {
        self.store.tamper_record(height, 0, b"tampered").unwrap();
    }
}

fn disk(params: ChainParams) -> Disk {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(&dir.path().join("chain"), params).unwrap();
    Disk { _dir: dir, store }
}

struct Memory(MemStore);

impl Harness for Memory {
    type S = MemStore;
    fn store(&self) -> &MemStore {
        &self.0
    }
    fn tamper_record(&self, height: u64) {
        let mut block = (*self.0.block_at(height).unwrap().unwrap()).clone();
        block.records[0] = b"tampered".to_vec();
        self.0.tamper(height, block).unwrap();
    }
}

fn memory(params: ChainParams) -> Memory {
    Memory(MemStore::standalone(params))
}

/// Mines one block per entry of `records` onto a copy of `chain` and returns them as `Arc`s.
fn mined(chain: &mut Blockchain, records: &[&[&str]]) -> Vec<Arc<Block>> {
    let blocks = records
        .iter()
        .map(|block| block.iter().map(|r| r.as_bytes().to_vec()).collect())
        .collect();
    extend(chain, blocks).into_iter().map(Arc::new).collect()
}

fn chain() -> Blockchain {
    Blockchain::new(params()).with_threads(1)
}

fn pending<S: ChainStore>(store: &S) -> Vec<Vec<u8>> {
    store
        .all_pending()
        .unwrap()
        .into_iter()
        .map(|r| r.bytes)
        .collect()
}

fn appended_blocks_are_read_back_by_height_and_hash(h: impl Harness) {
    let store = h.store();
    let blocks = mined(&mut chain(), &[&["a"], &["b", "c"], &[]]);
    let tip = store.append_blocks(&blocks, now()).unwrap();
    assert_eq!(tip.height, 3);
    assert_eq!(tip.hash, blocks[2].block_hash());
    assert_eq!(store.tip().unwrap(), tip);
    for (i, block) in blocks.iter().enumerate() {
        let height = i as u64 + 1;
        assert_eq!(store.block_at(height).unwrap().as_deref(), Some(&**block));
        assert_eq!(store.hash_at(height).unwrap(), Some(block.block_hash()));
        assert_eq!(store.height_of(&block.block_hash()).unwrap(), Some(height));
    }
    assert_eq!(store.block_at(4).unwrap(), None);
    let headers = store.headers(1, 10).unwrap();
    assert_eq!(headers, blocks.iter().map(|b| b.header).collect::<Vec<_>>());
    let locator = store.locator().unwrap();
    assert_eq!(locator.first(), Some(&tip.hash));
    assert_eq!(locator.last(), Some(&params().genesis_hash()));
}

fn an_invalid_block_in_a_batch_changes_nothing_and_is_named(h: impl Harness) {
    let store = h.store();
    store.add_records(&[b"a".to_vec()]).unwrap();
    let mut blocks = mined(&mut chain(), &[&["a"], &["b"], &["c"]]);
    let mut bad = (*blocks[1]).clone();
    bad.records[0] = b"changed".to_vec();
    blocks[1] = Arc::new(bad);
    let before = store.tip().unwrap();
    let Err(AppendError::Invalid(invalid)) = store.append_blocks(&blocks, now()) else {
        panic!("the changed block must be refused");
    };
    assert_eq!(invalid.height, 2);
    assert!(matches!(invalid.rule, Rule::RecordsMismatch { .. }));
    assert_eq!(store.tip().unwrap(), before);
    assert_eq!(store.block_at(1).unwrap(), None);
    assert_eq!(pending(store), [b"a".to_vec()], "the pool is untouched");
}

fn a_block_that_does_not_extend_the_tip_is_a_broken_link(h: impl Harness) {
    let store = h.store();
    let blocks = mined(&mut chain(), &[&["a"], &["b"]]);
    let Err(AppendError::Invalid(invalid)) = store.append_blocks(&blocks[1..], now()) else {
        panic!("block 2 cannot follow genesis");
    };
    assert_eq!(invalid.height, 1);
    assert!(matches!(invalid.rule, Rule::BrokenLink { .. }));
}

fn appending_a_block_takes_its_records_from_the_pool(h: impl Harness) {
    let store = h.store();
    store
        .add_records(&[b"x".to_vec(), b"y".to_vec(), b"x".to_vec()])
        .unwrap();
    let blocks = mined(&mut chain(), &[&["x", "z"]]);
    store.append_blocks(&blocks, now()).unwrap();
    assert_eq!(
        pending(store),
        [b"y".to_vec(), b"x".to_vec()],
        "one copy of x leaves the pool, the oldest"
    );
}

fn a_reorganization_returns_records_the_new_chain_lacks_and_takes_those_it_holds(h: impl Harness) {
    let store = h.store();
    let mut old = chain();
    let old_blocks = mined(&mut old, &[&["shared", "only-old"], &["old-2"]]);
    store.append_blocks(&old_blocks, now()).unwrap();
    store.add_records(&[b"only-new".to_vec()]).unwrap();
    // A rival branch from genesis, one block longer, holding "shared" and "only-new".
    let mut new = chain();
    let new_blocks = mined(&mut new, &[&["shared"], &["only-new"], &[]]);
    let report = store.reorganize(0, &new_blocks, now()).unwrap();
    assert_eq!((report.disconnected, report.connected), (2, 3));
    assert_eq!(report.returned_to_pool, 2);
    assert_eq!(report.tip.hash, new_blocks[2].block_hash());
    assert_eq!(store.tip().unwrap(), report.tip);
    let mut pool = pending(store);
    pool.sort();
    assert_eq!(pool, [b"old-2".to_vec(), b"only-old".to_vec()]);
    // The old blocks are no longer on the best chain.
    assert_eq!(store.height_of(&old_blocks[0].block_hash()).unwrap(), None);
    assert_eq!(
        store.height_of(&new_blocks[0].block_hash()).unwrap(),
        Some(1)
    );
}

fn a_reorganization_to_an_invalid_branch_changes_nothing(h: impl Harness) {
    let store = h.store();
    let old_blocks = mined(&mut chain(), &[&["old"]]);
    store.append_blocks(&old_blocks, now()).unwrap();
    let before = store.tip().unwrap();
    let mut new_blocks = mined(&mut chain(), &[&["new"], &["new-2"]]);
    let mut bad = (*new_blocks[1]).clone();
    bad.header.nonce ^= 1;
    bad.header.time = 1; // before the median time past: invalid whatever the hash
    new_blocks[1] = Arc::new(bad);
    assert!(matches!(
        store.reorganize(0, &new_blocks, now()),
        Err(ReorgError::Invalid(_))
    ));
    assert_eq!(store.tip().unwrap(), before);
    assert_eq!(store.block_at(1).unwrap().as_deref(), Some(&*old_blocks[0]));
    assert!(matches!(
        store.reorganize(5, &new_blocks, now()),
        Err(ReorgError::ForkAboveTip { .. })
    ));
}

fn verification_names_a_tampered_block_and_truncation_keeps_intact_records(h: impl Harness) {
    let store = h.store();
    let blocks = mined(&mut chain(), &[&["one"], &["two"], &["three"]]);
    store.append_blocks(&blocks, now()).unwrap();
    store.verify(VerifyMode::Full, now()).unwrap();
    h.tamper_record(2);
    let Err(VerifyError::Bad(bad)) = store.verify(VerifyMode::Full, now()) else {
        panic!("the tampered block must be named");
    };
    assert_eq!(bad.height, 2);
    assert_eq!(bad.rule().map(Rule::code), Some("records-altered"));
    assert!(store.is_read_only());
    assert!(matches!(
        store.add_records(&[b"late".to_vec()]),
        Err(PoolError::ReadOnly)
    ));
    let report = store.truncate_to(1).unwrap();
    assert_eq!(report.dropped, 2);
    assert_eq!(report.damaged_blocks, [2]);
    assert_eq!(report.returned_to_pool, 1, "block 3's record is intact");
    assert_eq!(pending(store), [b"three".to_vec()]);
    let summary = store.verify(VerifyMode::Full, now()).unwrap();
    assert_eq!(summary.height, 1);
    assert_eq!(store.tip().unwrap().hash, blocks[0].block_hash());
    assert!(
        !store.is_read_only(),
        "a chain that verifies is writable again"
    );
}

fn a_mined_template_commits_once_and_a_stale_one_not_at_all(h: impl Harness) {
    let store = h.store();
    store
        .add_records(&[b"r1".to_vec(), b"r2".to_vec()])
        .unwrap();
    let template = store.template(now()).unwrap();
    assert_eq!(template.height, 1);
    assert_eq!(template.records.len(), 2);
    let job = MineJob {
        header: template.header,
        target: template.header.bits.to_target().unwrap(),
        max_time: now() + 7200,
        threads: 1,
    };
    let MineOutcome::Found(header) = mine(&job, &MineControl::new()) else {
        panic!("regtest blocks are found at once");
    };
    let mined = store.commit_mined(&template, header, now()).unwrap();
    assert_eq!(mined.tip.height, 1);
    assert_eq!(mined.records.len(), 2);
    assert!(pending(store).is_empty());
    assert!(matches!(
        store.commit_mined(&template, header, now()),
        Err(MineError::Stale)
    ));
    let block = store.block_at(1).unwrap().unwrap();
    assert_eq!(block.records, [b"r1".to_vec(), b"r2".to_vec()]);
}

fn a_record_too_large_for_any_block_is_refused(h: impl Harness) {
    let store = h.store();
    let max = store.max_record_size();
    assert!(matches!(
        store.add_records(&[vec![0; max + 1]]),
        Err(PoolError::TooLarge { .. })
    ));
    assert_eq!(store.pool_stats().unwrap(), (0, 0));
    store.add_records(&[vec![0; 10]]).unwrap();
    assert_eq!(store.pool_stats().unwrap(), (1, 10));
}

macro_rules! both {
    ($($test:ident),* $(,)?) => {
        mod on_disk {
            $(#[test] fn $test() { super::$test(super::disk(super::params())); })*
        }
        mod in_memory {
            $(#[test] fn $test() { super::$test(super::memory(super::params())); })*
        }
    };
}

both!(
    appended_blocks_are_read_back_by_height_and_hash,
    an_invalid_block_in_a_batch_changes_nothing_and_is_named,
    a_block_that_does_not_extend_the_tip_is_a_broken_link,
    appending_a_block_takes_its_records_from_the_pool,
    a_reorganization_returns_records_the_new_chain_lacks_and_takes_those_it_holds,
    a_reorganization_to_an_invalid_branch_changes_nothing,
    verification_names_a_tampered_block_and_truncation_keeps_intact_records,
    a_mined_template_commits_once_and_a_stale_one_not_at_all,
    a_record_too_large_for_any_block_is_refused,
);

/// Memory stores built on one index share blocks: the second store holds the very same
/// allocation the first one connected, and each answers only for its own best chain.
#[test]
fn memory_stores_on_one_index_share_blocks_by_pointer() {
    let index = ironchain_store::BlockIndex::new();
    let params = Arc::new(params());
    let a = MemStore::new(params.clone(), index.clone());
    let b = MemStore::new(params, index.clone());
    let blocks = mined(&mut chain(), &[&["a"], &["b"]]);
    a.append_blocks(&blocks, now()).unwrap();
    b.append_blocks(&blocks[..1], now()).unwrap();
    let (from_a, from_b) = (
        a.block_at(1).unwrap().unwrap(),
        b.block_at(1).unwrap().unwrap(),
    );
    assert!(Arc::ptr_eq(&from_a, &from_b));
    assert_eq!(b.height_of(&blocks[1].block_hash()).unwrap(), None);
    assert_eq!(a.height_of(&blocks[1].block_hash()).unwrap(), Some(2));
    assert_eq!(index.len(), 3, "genesis and two blocks");
}
