//! `ironchain demo`: the seed's example, told step by step to a newcomer.
//!
//! 1. Mine a few blocks of records and verify the chain.
//! 2. Change a record: verification names that block, whose records no longer match its header.
//! 3. Re-mine that block: now the *next* block names a parent that no longer exists.
//! 4. Re-mine every later block: the copy verifies again, but it cost hashes and time, while the
//!    honest chain kept growing; its greater work is why a network keeps the honest chain.

use std::time::Instant;

use ironchain_core::miner::MineControl;
use ironchain_core::{Blockchain, ChainParams, InvalidBlock};

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
        .unwrap_or_else(ironchain_core::validate::default_threads);
    let target = args.target.clamp(1, args.blocks - 1);
    let say = |text: &str| {
        if !cli.json {
            println!("{text}");
        }
    };
    let mut chain = Blockchain::new(ChainParams::demo()).with_threads(threads);
    let control = MineControl::new();

    say("Step 1: mine blocks of records. Each block's header commits to its records (a merkle");
    say("root) and to the block before it (its hash), and its own hash must meet a target.");
    let started = Instant::now();
    for i in 0..args.blocks {
        let record = LEDGER[i as usize % LEDGER.len()].as_bytes().to_vec();
        let before = control.hashes();
        let progress = HashProgress::start(format!("mining block {}", i + 1), &control);
        let block = chain
            .add_records_with(vec![record.clone()], &control)?
            .clone();
        progress.finish();
        say(&format!(
            "  block {}  {}  {:>9} hashes  \"{}\"",
            chain.height(),
            block.block_hash(),
            count(control.hashes() - before),
            String::from_utf8_lossy(&record)
        ));
    }
    let honest_seconds = started.elapsed().as_secs_f64();
    let honest_rate = control.hashes() as f64 / honest_seconds.max(1e-9);
    say(&format!(
        "  {} blocks in {honest_seconds:.2} s at {}.",
        args.blocks,
        rate_text(honest_rate)
    ));
    let verified = chain.verify();
    say(&format!("  verify: {}", verdict(&verified)));
    let honest = chain.clone();

    say("");
    say(&format!(
        "Step 2: change the record in block {target} behind the chain's back."
    ));
    chain.tamper_with(target, |block| {
        block.records[0] = b"alice pays mallory 1000".to_vec()
    });
    let after_change = chain.verify();
    say(&format!("  verify: {}", verdict(&after_change)));
    say("  The header still commits to the old record, so the change is caught at once.");

    say("");
    say(&format!(
        "Step 3: re-mine block {target} so its header matches the new record."
    ));
    let remine_control = MineControl::new();
    chain.remine(target, &remine_control)?;
    let after_remine = chain.verify();
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
    let (attacked, extended) = std::thread::scope(|scope| {
        let honest_control = &honest_control;
        let remine_control = &remine_control;
        let attacker = scope.spawn(move || -> anyhow::Result<Blockchain> {
            let mut forged = chain;
            for height in target + 1..=forged.height() {
                let parent = forged.hashes()[height as usize - 1];
                forged.tamper_with(height, |block| block.header.prev_blockhash = parent);
                forged.remine(height, remine_control)?;
            }
            honest_control.cancel();
            Ok(forged)
        });
        // The honest network mines on its own chain with the same hash power until the attacker
        // is done: at least one block, since it never stops.
        let mut honest = honest.clone().with_threads(1);
        let mut found = 0u64;
        loop {
            match honest.add_records_with(vec![b"honest block".to_vec()], honest_control) {
                Ok(_) => found += 1,
                Err(_) if found == 0 => {
                    // Cancelled before its first block: keep going with a fresh control.
                    let fresh = MineControl::new();
                    if honest
                        .add_records_with(vec![b"honest block".to_vec()], &fresh)
                        .is_ok()
                    {
                        found += 1;
                    }
                    break;
                }
                Err(_) => break,
            }
        }
        let forged = attacker
            .join()
            .map_err(|_| anyhow::anyhow!("attacker thread panicked"));
        (forged, (honest, found))
    });
    let forged = attacked??;
    let (honest_now, honest_new_blocks) = extended;
    let attack_seconds = attack_started.elapsed().as_secs_f64();
    let forged_verdict = forged.verify();
    say(&format!(
        "  verify the forged copy: {}",
        verdict(&forged_verdict)
    ));
    say(&format!(
        "  Rewriting blocks {target}..={} cost {} hashes and {attack_seconds:.2} s.",
        forged.height(),
        count(remine_control.hashes())
    ));
    say(&format!(
        "  Meanwhile the honest network mined {honest_new_blocks} more block(s): height {} against \
         the forgery's {}.",
        honest_now.height(),
        forged.height()
    ));
    say(&format!(
        "  Chain work: honest {} > forged {}.",
        honest_now.total_work(),
        forged.total_work()
    ));
    let honest_wins = honest_now.total_work() > forged.total_work();
    say(if honest_wins {
        "  A network keeps the chain with the most work, so it keeps the honest one: to win, an \
         attacker must out-mine everyone else, forever."
    } else {
        "  This time the forgery caught up: an attacker with as much hash power as everyone else \
         can rewrite history. That is why the honest majority must hold most of the hash power."
    });
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
            "honest_work": honest_now.total_work().to_string(),
            "forged_work": forged.total_work().to_string(),
            "honest_wins": honest_wins,
        });
        println!("{json:#}");
    }
    Ok(Outcome::Ok)
}

fn verdict<T>(result: &Result<T, InvalidBlock>) -> String {
    match result {
        Ok(_) => "ok, every block is valid".to_owned(),
        Err(invalid) => format!("INVALID at block {}: {}", invalid.height, invalid.rule),
    }
}

fn verdict_json<T>(result: &Result<T, InvalidBlock>) -> serde_json::Value {
    match result {
        Ok(_) => serde_json::json!({ "ok": true }),
        Err(invalid) => serde_json::json!({
            "ok": false,
            "height": invalid.height,
            "hash": invalid.hash.to_string(),
            "rule": invalid.rule.code(),
            "message": invalid.rule.to_string(),
        }),
    }
}
