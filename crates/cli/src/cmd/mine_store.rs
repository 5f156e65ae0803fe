//! `ironchain mine` on the stored chain: mine pending records into blocks, one durable
//! transaction per block.
//!
//! Ctrl-C (or SIGTERM) cancels the nonce search; a block is committed whole or not at all, so
//! stopping at any moment loses nothing: unmined records stay pending.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use ironchain_core::chain::unix_now;
use ironchain_core::miner::MineControl;
use ironchain_core::validate::default_threads;
use ironchain_store::MineError;

use super::chain::{open_writable, print_json};
use crate::output::{count, plural, rate_text};
use crate::{Cli, Outcome};

/// What to mine, from the shared `mine` arguments.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Blocks to mine, or `None` to mine until the pool is empty.
    pub blocks: Option<u64>,
    /// Mining threads, or `None` for one per core.
    pub threads: Option<usize>,
}

pub fn run(cli: &Cli, plan: Plan) -> anyhow::Result<Outcome> {
    let store = open_writable(cli)?;
    let threads = plan.threads.unwrap_or_else(default_threads).max(1);
    let control = Arc::new(MineControl::new());
    let handler = Arc::clone(&control);
    // Failing to install the handler only means Ctrl-C kills the process, which loses nothing
    // either: commits are atomic.
    let _ = ctrlc::set_handler(move || handler.cancel());
    let total = match plan.blocks {
        Some(n) => n,
        None => store.pool_stats()?.0.max(1),
    };
    let bar = if cli.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(total)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} blocks  {msg}")
            .expect("the template is valid"),
    );
    let started = Instant::now();
    let mut mined = Vec::new();
    let mut interrupted = false;
    loop {
        let pending = store.pool_stats()?.0;
        match plan.blocks {
            Some(n) if mined.len() as u64 >= n => break,
            None if pending == 0 => break,
            None => bar.set_length(mined.len() as u64 + 1),
            _ => {}
        }
        let template = store.template(unix_now())?;
        let expected = template
            .header
            .bits
            .to_target()
            .map(|t| t.work().to_f64())
            .unwrap_or(0.0);
        let result = std::thread::scope(|scope| {
            let miner = scope.spawn(|| store.mine_next(threads, &control, unix_now()));
            while !miner.is_finished() {
                let rate = control.hashes() as f64 / started.elapsed().as_secs_f64().max(1e-9);
                let eta = if rate > 0.0 { expected / rate } else { 0.0 };
                bar.set_message(format!(
                    "{}  {}  expect ~{:.1} s/block",
                    count(control.hashes()),
                    rate_text(rate),
                    eta
                ));
                std::thread::sleep(Duration::from_millis(50));
            }
            miner
                .join()
                .map_err(|_| anyhow::anyhow!("the miner thread panicked"))
        })?;
        match result {
            Ok(block) => {
                bar.inc(1);
                if !cli.json {
                    bar.println(format!(
                        "block {:>6}  {}  {} records",
                        block.tip.height,
                        block.tip.hash,
                        block.records.len()
                    ));
                }
                mined.push(block);
            }
            Err(MineError::Cancelled) => {
                interrupted = true;
                break;
            }
            Err(MineError::Stale) => continue,
            Err(error) => return Err(error).context("mining failed; nothing was lost"),
        }
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    let records: usize = mined.iter().map(|m| m.records.len()).sum();
    let pending = store.pool_stats()?.0;
    if cli.json {
        print_json(&serde_json::json!({
            "blocks": mined.iter().map(|m| serde_json::json!({
                "height": m.tip.height, "hash": m.tip.hash.to_string(), "records": m.records.len(),
            })).collect::<Vec<_>>(),
            "hashes": control.hashes(),
            "seconds": seconds,
            "pending": pending,
            "interrupted": interrupted,
        }));
    } else {
        println!(
            "mined {} ({}) in {seconds:.2} s, {} hashes at {}; {pending} pending{}",
            plural(mined.len() as u64, "block"),
            plural(records as u64, "record"),
            count(control.hashes()),
            rate_text(control.hashes() as f64 / seconds.max(1e-9)),
            if interrupted {
                "; interrupted, nothing lost"
            } else {
                ""
            }
        );
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Ok
    })
}
