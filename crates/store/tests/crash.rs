//! Crash consistency, the way redb tests itself: run a workload on a storage backend that can
//! "lose power" at any I/O operation, then reopen what a disk could hold after that crash and
//! check it against a model of what was acknowledged.
//!
//! The backend keeps the bytes made durable by the last completed `sync_data` and the writes
//! issued since. At a random operation it fails every further call (the process is dead to the
//! disk); the crash image is the durable bytes plus a random subset of the unsynced writes, since
//! a disk may have persisted any of them in any order. After reopening, the chain must verify
//! fully, and every record whose `add_records` returned `Ok` must be present exactly once,
//! pending or in a block; records whose call failed may be present at most once.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};

use common::{now, options, params};
use ironchain_core::miner::MineControl;
use ironchain_store::{Store, VerifyMode};
use redb::StorageBackend;
use redb::backends::InMemoryBackend;

#[derive(Debug, Clone)]
enum Op {
    SetLen(u64),
    Write(u64, Vec<u8>),
}

#[derive(Debug, Default)]
struct Disk {
    live: Vec<u8>,
    durable: Vec<u8>,
    unsynced: Vec<Op>,
    /// Operations left before the crash; `None` never crashes.
    budget: Option<u64>,
}

#[derive(Debug, Clone, Default)]
struct CrashBackend(Arc<Mutex<Disk>>);

fn dead() -> io::Error {
    io::Error::other("simulated power loss")
}

impl CrashBackend {
    /// Counts one operation; fails once the budget is spent.
    fn tick(disk: &mut Disk) -> io::Result<()> {
        match &mut disk.budget {
            Some(0) => Err(dead()),
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// What a disk may hold after the crash: the durable bytes and a random subset of the
    /// unsynced operations, applied in order.
    fn crash_image(&self, rng: &mut Rng) -> Vec<u8> {
        let disk = self.0.lock().unwrap();
        let mut image = disk.durable.clone();
        for op in &disk.unsynced {
            if rng.next().is_multiple_of(2) {
                continue;
            }
            match op {
                Op::SetLen(len) => image.resize(*len as usize, 0),
                Op::Write(offset, data) => {
                    let end = *offset as usize + data.len();
                    if image.len() < end {
                        image.resize(end, 0);
                    }
                    image[*offset as usize..end].copy_from_slice(data);
                }
            }
        }
        image
    }
}

impl StorageBackend for CrashBackend {
    fn len(&self) -> io::Result<u64> {
        let mut disk = self.0.lock().unwrap();
        Self::tick(&mut disk)?;
        Ok(disk.live.len() as u64)
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> io::Result<()> {
        let mut disk = self.0.lock().unwrap();
        Self::tick(&mut disk)?;
        let start = offset as usize;
        let data = disk
            .live
            .get(start..start + out.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        out.copy_from_slice(data);
        Ok(())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        let mut disk = self.0.lock().unwrap();
        Self::tick(&mut disk)?;
        disk.live.resize(len as usize, 0);
        disk.unsynced.push(Op::SetLen(len));
        Ok(())
    }

    fn sync_data(&self) -> io::Result<()> {
        let mut disk = self.0.lock().unwrap();
        Self::tick(&mut disk)?;
        disk.durable = disk.live.clone();
        disk.unsynced.clear();
        Ok(())
    }

    fn write(&self, offset: u64, data: &[u8]) -> io::Result<()> {
        let mut disk = self.0.lock().unwrap();
        Self::tick(&mut disk)?;
        let end = offset as usize + data.len();
        if disk.live.len() < end {
            disk.live.resize(end, 0);
        }
        disk.live[offset as usize..end].copy_from_slice(data);
        disk.unsynced.push(Op::Write(offset, data.to_vec()));
        Ok(())
    }
}

/// A small deterministic generator (xorshift), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Runs adds and mines until the backend dies; returns the records acknowledged and the
/// records attempted.
fn workload(store: &Store, rng: &mut Rng, seed: u64) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let (mut acknowledged, mut attempted) = (Vec::new(), Vec::new());
    for step in 0..40 {
        if rng.next().is_multiple_of(3) {
            if store.mine_next(1, &MineControl::new(), now()).is_err() {
                break;
            }
        } else {
            let batch: Vec<Vec<u8>> = (0..1 + rng.next() % 3)
                .map(|i| format!("seed {seed} step {step} record {i}").into_bytes())
                .collect();
            attempted.extend(batch.iter().cloned());
            match store.add_records(&batch) {
                Ok(_) => acknowledged.extend(batch),
                Err(_) => break,
            }
        }
    }
    (acknowledged, attempted)
}

#[test]
fn acknowledged_records_survive_a_crash_at_any_io_operation_exactly_once() {
    // Count the operations of an uninterrupted run, to pick crash points inside it.
    let probe = CrashBackend::default();
    let store = Store::create_with_backend(probe.clone(), params()).unwrap();
    workload(&store, &mut Rng(1), 0);
    let total_ops = {
        // Reading the budget needs a counter: run again with a huge budget and see what is left.
        let counter = CrashBackend::default();
        counter.0.lock().unwrap().budget = Some(u64::MAX);
        let store = Store::create_with_backend(counter.clone(), params()).unwrap();
        workload(&store, &mut Rng(1), 0);
        drop(store);
        u64::MAX - counter.0.lock().unwrap().budget.unwrap()
    };
    assert!(
        total_ops > 100,
        "the workload did only {total_ops} operations"
    );

    let runs: u64 = std::env::var("IRONCHAIN_CRASH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    for seed in 1..=runs {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let backend = CrashBackend::default();
        // Create the chain before arming the crash: `init` is not what is being tested here.
        let store = Store::create_with_backend(backend.clone(), params()).unwrap();
        backend.0.lock().unwrap().budget = Some(rng.next() % total_ops);
        let (acknowledged, attempted) = workload(&store, &mut Rng(seed), seed);
        drop(store);
        let image = backend.crash_image(&mut rng);

        let disk = InMemoryBackend::new();
        disk.set_len(image.len() as u64).unwrap();
        disk.write(0, &image).unwrap();
        let opened = Store::open_backend(disk, &options(VerifyMode::Full))
            .unwrap_or_else(|e| panic!("seed {seed}: the crashed store does not open: {e}"));
        opened
            .verification
            .unwrap_or_else(|bad| panic!("seed {seed}: {bad}"));
        let (mined, pending) = common::all_records(&opened.store);
        let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
        for record in mined.into_iter().chain(pending) {
            *counts.entry(record).or_default() += 1;
        }
        for record in &acknowledged {
            assert_eq!(
                counts.get(record),
                Some(&1),
                "seed {seed}: acknowledged record {:?}",
                String::from_utf8_lossy(record)
            );
        }
        for (record, count) in &counts {
            assert!(
                attempted.contains(record),
                "seed {seed}: unknown record appeared"
            );
            assert_eq!(*count, 1, "seed {seed}: a record is stored {count} times");
        }
    }
}
