//! `ironchain demo`: the seed's example, told step by step to a newcomer, on a real store (an
//! embedded database in a temporary directory).
//!
//! 1. Mine a few blocks of records and verify the chain.
//! 2. Change a record: verification names that block, whose records no longer match its header.
//! 3. Re-mine that block: now the *next* block names a parent that no longer exists.
//! 4. Re-mine every later block: the copy verifies again, but it cost hashes and time, while the
//!    honest chain kept growing; its greater work is why a network keeps the honest chain.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams};
use ironchain_store::{Store, VerifyError, VerifyMode};

use crate::output::{HashProgress, count, rate_text};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many blocks to mine before tampering (at least 3).
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(3..=1000))]
    blocks: u64,
    /// Which block to tamper with (default: 2).
    #[arg(long, default_value_t = 2)]
    target: u64,
    /// Mining threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Keep the demo's database instead of deleting it on exit.
    #[arg(long)]
    keep: bool,
}

/// Records the demo puts in its blocks: a tiny ledger, so the tampering means something.
const LEDGER: [&str; 8] = [
    "alice pays bob 10",
    "bob pays carol 4",
    "carol pays dave 1",
    "dave pays erin 7",
    "erin pays frank 2",
    "frank pays alice 3",
    "alice pays carol 5",
    "bob pays dave 6",
];

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let threads = args
        .threads
        .unwrap_or_else(ironchain_core::validate::default_threads)
        .max(1);
    let target = args.target.clamp(1, args.blocks - 1);
    let say = |text: &str| {
        if !cli.json {
            println!("{text}");
        }
    };
    let dir = tempfile::Builder::new()
        .prefix("ironchain-demo-")
        .tempdir()
        .context("cannot create a temporary directory for the demo's store")?;
    let store = Store::create(dir.path(), ChainParams::demo())
        .with_context(|| format!("cannot create a store in {}", dir.path().display()))?;
    let control = MineControl::new();
    let verify = |store: &Store| store.verify(VerifyMode::Full, unix_now());

    say(&format!(
        "A fresh chain in an embedded database at {}",
        dir.path().display()
    ));
    say("");
    say("Step 1: mine blocks of records. Each block's header commits to its records (a merkle");
    say("root) and to the block before it (its hash), and its own hash must meet a target.");
    let started = Instant::now();
    for i in 0..args.blocks {
        let record = LEDGER[i as usize % LEDGER.len()].as_bytes().to_vec();
        store.add_records(std::slice::from_ref(&record))?;
        let before = control.hashes();
        let progress = HashProgress::start(format!("mining block {}", i + 1), &control);
        let mined = mine_with_progress(&store, threads, &control, &progress)?;
        progress.finish();
        say(&format!(
            "  block {}  {}  {:>9} hashes  \"{}\"",
            mined.tip.height,
            mined.tip.hash,
            count(control.hashes() - before),
            String::from_utf8_lossy(&record)
        ));
    }
    let honest_seconds = started.elapsed().as_secs_f64();
    let honest_rate = control.hashes() as f64 / honest_seconds.max(1e-9);
    say(&format!(
        "  {} blocks in {honest_seconds:.2} s at {} ({} kernel, {threads} threads).",
        args.blocks,
        rate_text(honest_rate),
        ironchain_core::sha256d::Backend::detect().name()
    ));
    let verified = verify(&store);
    say(&format!("  verify: {}", verdict(&verified)));
    // The honest network's copy of the chain, before anyone tampers with this one.
    let mut honest = Blockchain::new(ChainParams::demo()).with_threads(1);
    for height in 1..=store.tip()?.height {
        let block = store.block_at(height)?.context("a mined block is stored")?;
        honest.push(block, unix_now())?;
    }

    say("");
    say(&format!(
        "Step 2: change the record in block {target} inside the database file's tables,"
    ));
    say("behind the chain's back (what an attacker with the file, or a failing disk, could do).");
    store.tamper_record(target, 0, b"alice pays mallory 1000")?;
    let after_change = verify(&store);
    say(&format!("  verify: {}", verdict(&after_change)));
    say("  The header still commits to the old record, so the change is caught at once.");

    say("");
    say(&format!(
        "Step 3: re-mine block {target} so its header matches the new record."
    ));
    let remine_control = MineControl::new();
    store.tamper_remine(target, threads, &remine_control)?;
    let after_remine = verify(&store);
    say(&format!("  verify: {}", verdict(&after_remine)));
    say(&format!(
        "  Block {target} is valid again, but its hash changed, and block {} still names the old one.",
        target + 1
    ));

    say("");
    say(&format!(
        "Step 4: re-mine every block after {target} too, while the honest network keeps mining."
    ));
    let attack_started = Instant::now();
    let honest_control = MineControl::new();
    let tip_height = store.tip()?.height;
    let (attack, (honest, honest_new_blocks)) = std::thread::scope(|scope| {
        let (store, remine_control, honest_control) = (&store, &remine_control, &honest_control);
        let attacker = scope.spawn(move || -> anyhow::Result<()> {
            for height in target + 1..=tip_height {
                let parent = store.hash_at(height - 1)?.context("the parent is stored")?;
                store.tamper_header(height, |header| header.prev_blockhash = parent)?;
                store.tamper_remine(height, 1, remine_control)?;
            }
            honest_control.cancel();
            Ok(())
        });
        // The honest network mines with the same hash power (one thread each) until the attacker
        // is done, and always finds at least one block: it never stops.
        let mut found = 0u64;
        while found == 0 || !honest_control.is_cancelled() {
            let control = if found == 0 {
                &MineControl::new()
            } else {
                honest_control
            };
            if honest
                .add_records_with(vec![b"honest block".to_vec()], control)
                .is_ok()
            {
                found += 1;
            }
        }
        let attack = attacker
            .join()
            .map_err(|_| anyhow::anyhow!("the attacker thread panicked"));
        (attack, (honest, found))
    });
    attack??;
    let attack_seconds = attack_started.elapsed().as_secs_f64();
    let forged_verdict = verify(&store);
    let forged = store.tip()?;
    say(&format!(
        "  verify the forged copy: {}",
        verdict(&forged_verdict)
    ));
    say(&format!(
        "  Rewriting blocks {target}..={} cost {} hashes and {attack_seconds:.2} s.",
        forged.height,
        count(remine_control.hashes())
    ));
    say(&format!(
        "  Meanwhile the honest network mined {honest_new_blocks} more block(s): height {} against \
         the forgery's {}.",
        honest.height(),
        forged.height
    ));
    say(&format!(
        "  Chain work (expected hashes): honest {} > forged {}.",
        count_work(honest.total_work()),
        count_work(forged.work)
    ));
    let honest_wins = honest.total_work() > forged.work;
    say(if honest_wins {
        "  A network keeps the chain with the most work, so it keeps the honest one: to win, an \
         attacker must out-mine everyone else, forever."
    } else {
        "  This time the forgery caught up: an attacker with as much hash power as everyone else \
         can rewrite history. That is why the honest majority must hold most of the hash power."
    });
    drop(store);
    let files = list_files(dir.path())?;
    say("");
    say("Files the demo wrote:");
    for (path, size) in &files {
        say(&format!("  {:>10} bytes  {}", count(*size), path.display()));
    }
    let kept = if args.keep {
        let path = dir.keep();
        say(&format!(
            "Kept: inspect it with `ironchain --data-dir {} log`.",
            path.display()
        ));
        Some(path)
    } else {
        say("(deleted on exit; pass --keep to inspect it with `ironchain log` and friends)");
        None
    };
    if cli.json {
        let json = serde_json::json!({
            "blocks": args.blocks,
            "target": target,
            "hashes_per_sec": honest_rate,
            "verify_honest": verdict_json(&verified),
            "verify_after_change": verdict_json(&after_change),
            "verify_after_remine": verdict_json(&after_remine),
            "verify_forged": verdict_json(&forged_verdict),
            "attack_hashes": remine_control.hashes(),
            "attack_seconds": attack_seconds,
            "honest_new_blocks": honest_new_blocks,
            "honest_work": honest.total_work().to_string(),
            "forged_work": forged.work.to_string(),
            "honest_wins": honest_wins,
            "files": files.iter().map(|(path, size)| serde_json::json!({
                "path": path, "bytes": size,
            })).collect::<Vec<_>>(),
            "kept": kept,
        });
        println!("{json:#}");
    }
    Ok(Outcome::Ok)
}

/// Mines the next block from the store's pool while updating the hash-rate display.
fn mine_with_progress(
    store: &Store,
    threads: usize,
    control: &MineControl,
    progress: &HashProgress,
) -> anyhow::Result<ironchain_store::Mined> {
    std::thread::scope(|scope| {
        let miner = scope.spawn(|| store.mine_next(threads, control, unix_now()));
        while !miner.is_finished() {
            progress.update(control);
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        match miner.join() {
            Ok(mined) => Ok(mined?),
            Err(_) => anyhow::bail!("the miner thread panicked"),
        }
    })
}

/// Work as a count of expected hashes when it fits in 64 bits, else in hex.
fn count_work(work: ironchain_core::Work) -> String {
    let value = work.to_u256();
    if value.bit_len() <= 64 {
        count(value.to::<u64>())
    } else {
        work.to_string()
    }
}

/// Every file under `dir`, with its size.
fn list_files(dir: &Path) -> anyhow::Result<Vec<(PathBuf, u64)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            files.extend(list_files(&entry.path())?);
        } else {
            files.push((entry.path(), meta.len()));
        }
    }
    files.sort();
    Ok(files)
}

fn verdict<T>(result: &Result<T, VerifyError>) -> String {
    match result {
        Ok(_) => "ok, every block is valid".to_owned(),
        Err(VerifyError::Bad(bad)) => format!("INVALID at block {}: {}", bad.height, bad.fault),
        Err(error) => format!("could not verify: {error}"),
    }
}

fn verdict_json<T>(result: &Result<T, VerifyError>) -> serde_json::Value {
    match result {
        Ok(_) => serde_json::json!({ "ok": true }),
        Err(VerifyError::Bad(bad)) => serde_json::json!({
            "ok": false,
            "height": bad.height,
            "hash": bad.hash.map(|hash| hash.to_string()),
            "rule": bad.rule().map(|rule| rule.code()),
            "message": bad.fault.to_string(),
        }),
        Err(error) => serde_json::json!({ "ok": false, "message": error.to_string() }),
    }
}
