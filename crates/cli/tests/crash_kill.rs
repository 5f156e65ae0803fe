//! Crash test of the real binary: add records and mine in a loop, SIGKILL the process at random
//! moments, and after every kill check that the chain opens, verifies fully, and holds every
//! record whose `ironchain add` exited successfully exactly once, pending or mined; a record
//! whose `add` was killed may be there at most once.
//!
//! 120 kills by default (well under a minute in debug). For a longer run:
//! `IRONCHAIN_CRASH_KILLS=5000 cargo test -p ironchain --test crash_kill --release`.
#![allow(clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ironchain_store::{OpenOptions, Store, VerifyMode};

fn ironchain(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ironchain"));
    command
        .env("IRONCHAIN_DATA_DIR", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// xorshift: deterministic, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_at_random_moments_never_loses_or_duplicates_an_accepted_record() {
    let kills: u64 = std::env::var("IRONCHAIN_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let seed = std::env::var("IRONCHAIN_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(7);
    let mut rng = Rng(seed | 1);
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("chain");
    // An easy custom chain, so blocks mine in a few hashes even in a debug build.
    let status = ironchain(&dir)
        .args([
            "init",
            "--chain",
            "custom",
            "--difficulty-bits",
            "1",
            "--spacing",
            "1",
        ])
        .status()
        .unwrap();
    assert!(status.success());

    let mut acknowledged: HashSet<Vec<u8>> = HashSet::new();
    let mut attempted: HashSet<Vec<u8>> = HashSet::new();
    let (mut killed, mut step, started) = (0u64, 0u64, Instant::now());
    while killed < kills {
        step += 1;
        let mut command = ironchain(&dir);
        let batch: Vec<String> = (0..1 + rng.next() % 40)
            .map(|i| format!("step {step} record {i}"))
            .collect();
        let is_add = !rng.next().is_multiple_of(3);
        if is_add {
            command.arg("add").args(&batch);
            attempted.extend(batch.iter().map(|r| r.as_bytes().to_vec()));
        } else {
            command.args(["mine", "--blocks", "5", "--threads", "1"]);
        }
        let mut child = command.spawn().unwrap();
        std::thread::sleep(Duration::from_micros(rng.next() % 40_000));
        let finished = child.try_wait().unwrap();
        let status = match finished {
            Some(status) => status,
            None => {
                child.kill().unwrap(); // SIGKILL on Unix
                killed += 1;
                child.wait().unwrap()
            }
        };
        if is_add && finished.is_some() && status.success() {
            acknowledged.extend(batch.iter().map(|r| r.as_bytes().to_vec()));
        }
        check(&dir, &acknowledged, &attempted, step);
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "the crash test is too slow"
        );
    }
    // The binary's own verify agrees.
    assert!(
        ironchain(&dir)
            .args(["verify", "--full"])
            .status()
            .unwrap()
            .success()
    );
    assert!(!acknowledged.is_empty());
    let opened = Store::open(&dir, VerifyMode::None).unwrap();
    assert!(
        opened.store.tip().unwrap().height > 0,
        "nothing was ever mined: kills came too early"
    );
}

fn check(dir: &Path, acknowledged: &HashSet<Vec<u8>>, attempted: &HashSet<Vec<u8>>, step: u64) {
    let options = OpenOptions::new(VerifyMode::Full);
    let opened = Store::open_with(dir, &options)
        .unwrap_or_else(|error| panic!("step {step}: the store does not open: {error}"));
    opened
        .verification
        .unwrap_or_else(|bad| panic!("step {step}: {bad}"));
    let store = opened.store;
    let mut counts: HashMap<Vec<u8>, usize> = HashMap::new();
    for height in 1..=store.tip().unwrap().height {
        for record in store.block_at(height).unwrap().unwrap().records {
            *counts.entry(record).or_default() += 1;
        }
    }
    for record in store.all_pending().unwrap() {
        *counts.entry(record.bytes).or_default() += 1;
    }
    for record in acknowledged {
        assert_eq!(
            counts.get(record),
            Some(&1),
            "step {step}: accepted {:?}",
            String::from_utf8_lossy(record)
        );
    }
    for (record, count) in &counts {
        assert!(
            attempted.contains(record),
            "step {step}: a record nobody added appeared"
        );
        assert_eq!(
            *count,
            1,
            "step {step}: {:?} is stored {count} times",
            String::from_utf8_lossy(record)
        );
    }
}
