//! The store's behaviour seen from outside: creating and opening chains, refusing the wrong
//! ones, appending, reorganizing, repairing, the pool's limits, export and import, and damaged
//! database files that must give errors, never panics.
#![allow(clippy::unwrap_used)]

mod common;

use common::{all_records, extend, mine, now, options, params, replica};
use ironchain_core::validate::Rule;
use ironchain_core::{Block, ChainParams};
use ironchain_store::{
    AppendError, CreateError, Fault, ImportError, OpenError, OpenOptions, PoolError, Store,
    VerifyMode,
};

fn text(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn a_created_chain_reopens_with_its_blocks_pool_and_params() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), params()).unwrap();
    store.add_records(&[text("a"), text("b")]).unwrap();
    mine(&store, 1);
    store.add_records(&[text("c")]).unwrap();
    let tip = store.tip().unwrap();
    drop(store);

    let opened = Store::open_with(dir.path(), &options(VerifyMode::Full)).unwrap();
    let summary = opened.verification.unwrap();
    let store = opened.store;
    assert_eq!(
        (summary.height, summary.tip, summary.work),
        (1, tip.hash, tip.work)
    );
    assert_eq!(store.params(), &params());
    assert_eq!(
        store.block_at(1).unwrap().unwrap().records,
        vec![text("a"), text("b")]
    );
    assert_eq!(store.block_by_hash(&tip.hash).unwrap().unwrap().0, 1);
    assert_eq!(store.height_of(&tip.hash).unwrap(), Some(1));
    assert_eq!(store.hash_at(1).unwrap(), Some(tip.hash));
    assert_eq!(store.headers(0, 10).unwrap().len(), 2);
    assert_eq!(
        store.locator().unwrap(),
        vec![tip.hash, params().genesis_hash()]
    );
    assert_eq!(all_records(&store).1, vec![text("c")]);
    assert!(!store.is_read_only());
}

#[test]
fn creating_over_an_existing_chain_is_refused_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), params()).unwrap());
    let error = Store::create(dir.path(), ChainParams::demo()).unwrap_err();
    assert!(matches!(&error, CreateError::AlreadyExists { name, .. } if name == "regtest"));
}

#[test]
fn opening_an_empty_directory_says_to_run_init() {
    let dir = tempfile::tempdir().unwrap();
    let error = Store::open(dir.path(), VerifyMode::Quick).unwrap_err();
    assert!(matches!(error, OpenError::NoChain { .. }));
    assert!(
        error.to_string().contains("run `ironchain init`"),
        "{error}"
    );
}

#[test]
fn a_data_dir_of_another_chain_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), ChainParams::demo()).unwrap());
    let options = OpenOptions {
        expect_genesis: Some(params().genesis_hash()),
        ..options(VerifyMode::Quick)
    };
    let error = Store::open_with(dir.path(), &options).unwrap_err();
    assert!(matches!(&error, OpenError::WrongChain { found_name, .. } if found_name == "demo"));
}

#[test]
fn a_second_process_is_told_the_chain_is_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let _store = Store::create(dir.path(), params()).unwrap();
    let error = Store::open(dir.path(), VerifyMode::None).unwrap_err();
    assert!(matches!(error, OpenError::Locked { .. }), "{error}");
}

#[test]
fn an_oversized_record_is_refused_with_the_limit_and_nothing_is_added() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    let max = store.max_record_size();
    assert_eq!(max, params().max_block_size - 88);
    let error = store
        .add_records(&[text("fine"), vec![0; max + 1]])
        .unwrap_err();
    assert!(matches!(error, PoolError::TooLarge { index: 1, size, .. } if size == max + 1));
    assert!(error.to_string().contains(&max.to_string()), "{error}");
    assert_eq!(store.pool_stats().unwrap().0, 0);
    // The largest allowed record mines into a block of exactly the maximum size.
    store.add_records(&[vec![7; max]]).unwrap();
    mine(&store, 1);
    let block = store.block_at(1).unwrap().unwrap();
    assert_eq!(block.encoded_size(), params().max_block_size);
}

#[test]
fn an_invalid_block_is_refused_and_changes_nothing() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    store.add_records(&[text("pending")]).unwrap();
    let mut chain = replica(&store);
    let mut block = extend(&mut chain, vec![vec![text("pending")]]).remove(0);
    block.records[0] = text("changed");
    let error = store.append_block(&block, now()).unwrap_err();
    assert!(matches!(
        error,
        AppendError::Invalid(ref invalid) if matches!(invalid.rule, Rule::RecordsMismatch { .. })
    ));
    assert_eq!(store.tip().unwrap().height, 0);
    assert_eq!(all_records(&store).1, vec![text("pending")]);
}

#[test]
fn an_appended_block_takes_its_records_out_of_the_pool_once() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    store
        .add_records(&[text("x"), text("x"), text("y")])
        .unwrap();
    // A peer's block holding one "x" and a record we never had.
    let mut chain = replica(&store);
    let block = extend(&mut chain, vec![vec![text("x"), text("z")]]).remove(0);
    store.append_block(&block, now()).unwrap();
    assert_eq!(all_records(&store).1, vec![text("x"), text("y")]);
}

#[test]
fn reorganizing_returns_the_records_the_new_chain_lacks_to_the_pool() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    store.add_records(&[text("base")]).unwrap();
    mine(&store, 1);
    let mut fork = replica(&store);
    store.add_records(&[text("old-1"), text("shared")]).unwrap();
    mine(&store, 1);
    store.add_records(&[text("old-2")]).unwrap();
    mine(&store, 1);
    store
        .add_records(&[text("still pending"), text("new-only")])
        .unwrap();

    let new_blocks = extend(
        &mut fork,
        vec![
            vec![text("shared")],
            vec![text("new-only")],
            vec![text("peer")],
        ],
    );
    let report = store.reorganize(1, &new_blocks, now()).unwrap();
    assert_eq!(
        (
            report.disconnected,
            report.connected,
            report.returned_to_pool
        ),
        (2, 3, 2)
    );
    assert_eq!(report.tip.hash, fork.tip().block_hash());
    assert_eq!(report.tip.work, fork.total_work());
    let (mined, mut pending) = all_records(&store);
    assert_eq!(
        mined,
        vec![text("base"), text("shared"), text("new-only"), text("peer")]
    );
    pending.sort();
    assert_eq!(
        pending,
        vec![text("old-1"), text("old-2"), text("still pending")]
    );
    store.verify(VerifyMode::Full, now()).unwrap();
}

#[test]
fn a_reorganization_with_a_bad_block_changes_nothing() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    let mut fork = replica(&store);
    store.add_records(&[text("mine")]).unwrap();
    mine(&store, 1);
    let before = store.tip().unwrap();
    let mut new_blocks = extend(&mut fork, vec![vec![text("a")], vec![text("b")]]);
    new_blocks[1].records[0] = text("forged");
    assert!(store.reorganize(0, &new_blocks, now()).is_err());
    assert_eq!(store.tip().unwrap(), before);
    assert_eq!(all_records(&store), (vec![text("mine")], vec![]));
}

#[test]
fn repair_truncates_to_the_last_good_block_and_returns_intact_records() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    for name in ["one", "two", "three"] {
        store.add_records(&[text(name)]).unwrap();
        mine(&store, 1);
    }
    store.tamper_record(2, 0, b"TWO").unwrap();
    let bad = store.verify(VerifyMode::Full, now()).unwrap_err();
    assert!(store.is_read_only());
    assert!(matches!(
        store.add_records(&[text("no")]),
        Err(PoolError::ReadOnly)
    ));
    let ironchain_store::VerifyError::Bad(bad) = bad else {
        panic!("{bad}")
    };
    assert_eq!(bad.height, 2);

    let report = store.truncate_to(bad.height - 1).unwrap();
    assert_eq!(report.dropped, 2);
    assert_eq!(report.damaged_blocks, vec![2]);
    assert_eq!(report.returned_to_pool, 1);
    store.verify(VerifyMode::Full, now()).unwrap();
    assert!(!store.is_read_only());
    assert_eq!(
        all_records(&store),
        (vec![text("one")], vec![text("three")])
    );
    assert_eq!(store.tip().unwrap().work, replica(&store).total_work());
}

#[test]
fn export_then_import_rebuilds_the_chain_and_takes_records_from_the_pool() {
    let source =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    for name in ["a", "b", "c"] {
        source.add_records(&[text(name)]).unwrap();
        mine(&source, 1);
    }
    let mut bytes = Vec::new();
    assert_eq!(source.export(&mut bytes).unwrap(), 4);

    let target =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    target.add_records(&[text("b"), text("local")]).unwrap();
    let report = target.import(&mut bytes.as_slice(), now()).unwrap();
    assert_eq!((report.known, report.appended), (1, 3));
    assert_eq!(report.tip, source.tip().unwrap());
    assert_eq!(all_records(&target).1, vec![text("local")]);
    // Importing again finds nothing new.
    assert_eq!(
        target
            .import(&mut bytes.as_slice(), now())
            .unwrap()
            .appended,
        0
    );
}

#[test]
fn an_import_with_a_bad_last_block_commits_nothing() {
    let source =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    for name in ["a", "b", "c"] {
        source.add_records(&[text(name)]).unwrap();
        mine(&source, 1);
    }
    source.tamper_record(3, 0, b"C").unwrap();
    let mut bytes = Vec::new();
    source.export(&mut bytes).unwrap();
    let target =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    let error = target.import(&mut bytes.as_slice(), now()).unwrap_err();
    assert!(
        matches!(error, ImportError::Invalid(ref invalid) if invalid.height == 3),
        "{error}"
    );
    assert_eq!(target.tip().unwrap().height, 0);
    // A truncated stream (named at the block it cuts) and another chain's stream are refused.
    let cut = &bytes[..bytes.len() - 3];
    assert!(matches!(
        target.import(&mut &cut[..], now()),
        Err(ImportError::Truncated { height: 3 })
    ));
    let demo =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), ChainParams::demo())
            .unwrap();
    assert!(matches!(
        demo.import(&mut bytes.as_slice(), now()),
        Err(ImportError::WrongChain { .. })
    ));
    assert!(matches!(
        target.import(&mut &b"nonsense"[..], now()),
        Err(ImportError::NotAnExport { .. })
    ));
}

#[test]
fn a_changed_header_is_named_even_in_quick_mode() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    mine(&store, 3);
    store.tamper_header(2, |header| header.time += 1).unwrap();
    let Err(ironchain_store::VerifyError::Bad(bad)) = store.verify(VerifyMode::Quick, now()) else {
        panic!("tampering went unnoticed")
    };
    assert_eq!(bad.height, 2);
    assert!(matches!(bad.fault, Fault::Rule(Rule::HeaderChanged { .. })));
}

#[test]
fn a_remined_block_breaks_the_next_link() {
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    store.add_records(&[text("pay 5")]).unwrap();
    mine(&store, 3);
    store.tamper_record(1, 0, b"pay 500").unwrap();
    store
        .tamper_remine(1, 1, &ironchain_core::miner::MineControl::new())
        .unwrap()
        .unwrap();
    let Err(ironchain_store::VerifyError::Bad(bad)) = store.verify(VerifyMode::Full, now()) else {
        panic!("re-mining went unnoticed")
    };
    assert_eq!(bad.height, 2);
    assert!(matches!(bad.fault, Fault::Rule(Rule::BrokenLink { .. })));
}

/// Writes a chain to disk, damages the file with `damage`, and opens it: any outcome but a panic
/// is fine, and a chain that opens must report the damage or verify.
fn open_damaged(damage: impl Fn(&mut Vec<u8>)) -> Result<(), String> {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), params()).unwrap();
    for i in 0..20u32 {
        store.add_records(&[i.to_le_bytes().to_vec()]).unwrap();
        mine(&store, 1);
    }
    drop(store);
    let path = dir.path().join(ironchain_store::store::DB_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    damage(&mut bytes);
    std::fs::write(&path, &bytes).unwrap();
    match Store::open_with(dir.path(), &options(VerifyMode::Full)) {
        Ok(opened) => opened
            .verification
            .map(|_| ())
            .map_err(|bad| bad.to_string()),
        Err(error) => Err(error.to_string()),
    }
}

#[test]
fn a_truncated_database_file_is_an_error_not_a_panic() {
    for keep in [0usize, 1, 100, 4096, 10_000] {
        let result = open_damaged(|bytes| bytes.truncate(keep.min(bytes.len())));
        assert!(result.is_err(), "a file cut to {keep} bytes opened cleanly");
    }
}

#[test]
fn a_corrupted_database_file_is_an_error_or_a_named_block_never_a_panic() {
    // Overwrite runs of bytes across the file; whatever redb or the verifier says is fine, as
    // long as nothing panics. (Damage in free pages is legitimately invisible.)
    for (start, len) in [
        (0, 64),
        (512, 512),
        (4096, 4096),
        (9000, 2000),
        (20_000, 5000),
    ] {
        let _ = open_damaged(|bytes| {
            let end = (start + len).min(bytes.len());
            for byte in &mut bytes[start.min(end)..end] {
                *byte ^= 0x5a;
            }
        });
    }
}

#[test]
fn a_block_appended_by_hand_matches_the_core_chain() {
    // Blocks mined by the store verify in the core's own in-memory chain.
    let store =
        Store::create_with_backend(redb::backends::InMemoryBackend::new(), params()).unwrap();
    store.add_records(&[text("r")]).unwrap();
    mine(&store, 25);
    let chain = replica(&store);
    assert_eq!(
        chain.verify_at(now()).unwrap().work,
        store.tip().unwrap().work
    );
    let stored: Vec<Block> = (0..=25)
        .map(|h| store.block_at(h).unwrap().unwrap())
        .collect();
    assert_eq!(stored, chain.blocks());
}
