//! A full disk, simulated: a storage backend that accepts only so many more bytes, then fails
//! writes with the operating system's out-of-space error (ENOSPC, `ErrorKind::StorageFull`),
//! after writing the part of the write that still fit, as a real short write does.
//!
//! For every point at which the disk can fill up during a workload of adds and mines, the
//! operation that hit it must return an error naming the cause, never panic. Then space is
//! "freed" (the same bytes are opened on a backend without the limit): the chain verifies fully,
//! every record whose `add_records` returned `Ok` is present exactly once, pending or mined,
//! nothing from the failed operation is visible, and the store takes writes again.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use common::{now, options, params};
use ironchain_core::BlockHash;
use ironchain_core::miner::MineControl;
use ironchain_store::{CreateError, DbError, MineError, OpenError, PoolError, Store, VerifyMode};
use redb::StorageBackend;
use redb::backends::InMemoryBackend;

/// What the operating system says when the disk is full.
const NO_SPACE: &str = "No space left on device";

#[derive(Debug, Default)]
struct Disk {
    bytes: Vec<u8>,
    /// Bytes that may still be written; `None` for no limit.
    free: Option<u64>,
    /// Bytes written so far, to size the limits from a run without one.
    written: u64,
    /// Writes refused for lack of space.
    refused: u64,
}

/// A disk that fills up; clones share it.
#[derive(Debug, Clone, Default)]
struct FullDisk(Arc<Mutex<Disk>>);

impl FullDisk {
    fn limit_to(&self, free: Option<u64>) {
        self.0.lock().unwrap().free = free;
    }

    /// "Frees space": a backend holding the same bytes, without a limit.
    fn with_space(&self) -> InMemoryBackend {
        let bytes = self.0.lock().unwrap().bytes.clone();
        let backend = InMemoryBackend::new();
        backend.set_len(bytes.len() as u64).unwrap();
        backend.write(0, &bytes).unwrap();
        backend
    }
}

impl StorageBackend for FullDisk {
    fn len(&self) -> io::Result<u64> {
        Ok(self.0.lock().unwrap().bytes.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let disk = self.0.lock().unwrap();
        let start = usize::try_from(offset).unwrap();
        let data = disk
            .bytes
            .get(start..start + out.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        out.copy_from_slice(data);
        Ok(())
    }

    /// Growing a file allocates nothing until it is written (a sparse file), so it never fails.
    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0
            .lock()
            .unwrap()
            .bytes
            .resize(usize::try_from(len).unwrap(), 0);
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.0.lock().unwrap();
        let fits = disk.free.map_or(data.len(), |free| {
            data.len().min(usize::try_from(free).unwrap_or(usize::MAX))
        });
        let start = usize::try_from(offset).unwrap();
        let end = start + fits;
        if disk.bytes.len() < end {
            disk.bytes.resize(end, 0);
        }
        disk.bytes[start..end].copy_from_slice(&data[..fits]);
        disk.written += fits as u64;
        if let Some(free) = &mut disk.free {
            *free -= fits as u64;
        }
        if fits < data.len() {
            disk.refused += 1;
            return Err(io::Error::new(io::ErrorKind::StorageFull, NO_SPACE));
        }
        Ok(())
    }
}

/// What a workload was told, and what it tried.
#[derive(Debug, Default)]
struct Acknowledged {
    /// Records `add_records` accepted.
    records: Vec<Vec<u8>>,
    /// The tip after the last `mine_next` that returned `Ok`.
    tip: Option<BlockHash>,
    /// The records of the operation that failed, if it was an add.
    failed_add: Vec<Vec<u8>>,
    /// The error that stopped the workload.
    error: Option<String>,
}

/// A chain with some history, on a disk without a limit yet.
fn chain_with_history() -> (FullDisk, Store, Acknowledged) {
    let disk = FullDisk::default();
    let store = Store::create_with_backend(disk.clone(), params()).unwrap();
    let mut acknowledged = Acknowledged::default();
    for i in 0..3 {
        let record = format!("history {i}").into_bytes();
        store.add_records(std::slice::from_ref(&record)).unwrap();
        acknowledged.records.push(record);
        let mined = store.mine_next(1, &MineControl::new(), now()).unwrap();
        acknowledged.tip = Some(mined.tip.hash);
    }
    store.add_records(&[b"history pending".to_vec()]).unwrap();
    acknowledged.records.push(b"history pending".to_vec());
    (disk, store, acknowledged)
}

/// Adds and mines until an operation fails; records what was acknowledged.
fn workload(store: &Store, acknowledged: &mut Acknowledged) {
    for step in 0..24 {
        if step % 3 == 2 {
            match store.mine_next(1, &MineControl::new(), now()) {
                Ok(mined) => acknowledged.tip = Some(mined.tip.hash),
                Err(error) => {
                    assert!(matches!(error, MineError::Db(_)), "{error:?}");
                    acknowledged.error = Some(error.to_string());
                    return;
                }
            }
        } else {
            // Records of a few kilobytes, so a batch spans pages and the disk can fill up
            // in the middle of one.
            let batch: Vec<Vec<u8>> = (0..1 + step % 3)
                .map(|i| format!("step {step} record {i} ").repeat(200).into_bytes())
                .collect();
            match store.add_records(&batch) {
                Ok(ids) => {
                    assert_eq!(ids.len(), batch.len());
                    acknowledged.records.extend(batch);
                }
                Err(error) => {
                    assert!(matches!(error, PoolError::Db(_)), "{error:?}");
                    acknowledged.error = Some(error.to_string());
                    acknowledged.failed_add = batch;
                    return;
                }
            }
        }
    }
}

/// Bytes the workload writes when the disk never fills.
fn workload_bytes() -> u64 {
    let (disk, store, mut acknowledged) = chain_with_history();
    let before = disk.0.lock().unwrap().written;
    workload(&store, &mut acknowledged);
    assert!(acknowledged.error.is_none());
    disk.0.lock().unwrap().written - before
}

#[test]
fn a_full_disk_fails_the_operation_clearly_and_loses_nothing_acknowledged() {
    let total = workload_bytes();
    assert!(total > 100_000, "the workload wrote only {total} bytes");
    // Every limit from nothing to almost everything the workload needs, in uneven steps so the
    // disk fills at many different points of a commit.
    let mut limits: Vec<u64> = (0..200).map(|i| i * total / 200 + i * 37 % 4096).collect();
    limits.extend([0, 1, 4095, 4096, 4097]);
    let mut failures = 0;
    for free in limits {
        let (disk, store, mut acknowledged) = chain_with_history();
        disk.limit_to(Some(free));
        workload(&store, &mut acknowledged);
        let Some(error) = &acknowledged.error else {
            continue;
        };
        failures += 1;
        assert!(
            disk.0.lock().unwrap().refused > 0,
            "free {free}: failed without a full disk: {error}"
        );
        assert!(
            error.contains(NO_SPACE),
            "free {free}: the error does not name the cause: {error}"
        );
        // While the disk is still full, trying again fails cleanly too.
        assert!(store.add_records(&[b"retry".to_vec()]).is_err());
        assert!(store.mine_next(1, &MineControl::new(), now()).is_err());
        drop(store);

        // Space is freed: open the same bytes without a limit.
        let opened = Store::open_backend(disk.with_space(), &options(VerifyMode::Full))
            .unwrap_or_else(|e| panic!("free {free}: the store does not open: {e}"));
        let summary = opened
            .verification
            .unwrap_or_else(|bad| panic!("free {free}: {bad}"));
        let store = opened.store;
        let (mined, pending) = common::all_records(&store);
        let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
        for record in mined.into_iter().chain(pending) {
            *counts.entry(record).or_default() += 1;
        }
        for record in &acknowledged.records {
            assert_eq!(
                counts.remove(record),
                Some(1),
                "free {free}: an acknowledged record is not there exactly once"
            );
        }
        // The failed add is all or nothing: its commit may have reached the disk before the
        // write that failed (the outcome of a failed commit is unknown, as after a crash), but
        // never part of the batch, and never twice.
        let landed: Vec<Option<usize>> = acknowledged
            .failed_add
            .iter()
            .map(|record| counts.remove(record))
            .collect();
        assert!(
            landed.iter().all(|c| *c == Some(1)) || landed.iter().all(Option::is_none),
            "free {free}: part of a failed batch is visible: {landed:?}"
        );
        // Nothing else: no record half-written, none of the retries on the full disk.
        assert!(
            counts.is_empty(),
            "free {free}: {} records appeared that were never added",
            counts.len()
        );
        // The chain is the last acknowledged one, or one block more if the failed operation was
        // a mine whose commit landed; either way every record above is there exactly once.
        if Some(summary.tip) != acknowledged.tip {
            assert!(
                acknowledged.failed_add.is_empty(),
                "free {free}: a failed add moved the tip"
            );
            let (height, _) = store.block_by_hash(&summary.tip).unwrap().unwrap();
            assert_eq!(
                store.hash_at(height - 1).unwrap(),
                acknowledged.tip,
                "free {free}"
            );
        }

        // With space again, the store takes writes.
        store.add_records(&[b"after".to_vec()]).unwrap();
        let mined = store.mine_next(1, &MineControl::new(), now()).unwrap();
        assert_eq!(mined.tip.height, summary.height + 1);
        assert_eq!(
            store.verify(VerifyMode::Full, now()).unwrap().tip,
            mined.tip.hash
        );
    }
    // Almost every limit stops the workload somewhere; a run that never filled the disk proves
    // nothing, so make sure the sweep did its job.
    assert!(failures > 150, "only {failures} limits filled the disk");
}

#[test]
fn a_disk_full_while_creating_a_chain_leaves_no_chain_or_an_intact_one() {
    let disk = FullDisk::default();
    drop(Store::create_with_backend(disk.clone(), params()).unwrap());
    let total = disk.0.lock().unwrap().written;
    for free in (0..total).step_by(61) {
        let disk = FullDisk::default();
        disk.limit_to(Some(free));
        match Store::create_with_backend(disk.clone(), params()) {
            Ok(_) => continue,
            Err(error) => {
                assert!(
                    matches!(error, CreateError::Db(DbError::Redb(_))),
                    "free {free}: {error:?}"
                );
                assert!(error.to_string().contains(NO_SPACE), "free {free}: {error}");
            }
        }
        // After freeing space, the bytes hold either no chain (run `init` again) or a whole
        // one: never a chain missing its genesis or its params.
        match Store::open_backend(disk.with_space(), &options(VerifyMode::Full)) {
            Err(OpenError::NoChain { .. }) => {}
            Ok(opened) => {
                let summary = opened
                    .verification
                    .unwrap_or_else(|bad| panic!("free {free}: {bad}"));
                assert_eq!(summary.tip, params().genesis_hash());
            }
            // The disk filled before redb wrote its own header: the bytes are not a database
            // at all. (`Store::create` removes such a file from a data directory.)
            Err(OpenError::Unreadable { source, .. })
                if source.to_string().contains("Not a redb database") => {}
            Err(error) => panic!("free {free}: {error}"),
        }
    }
}
