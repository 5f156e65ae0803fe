//! `ironchain mine`: mine blocks and show the hash rate.
//!
//! With `--in-memory` it mines a fresh chain of the chosen difficulty that lives only as long as
//! the command (the seed's `Blockchain`, for measuring and learning).

use std::time::Instant;

use ironchain_core::miner::MineControl;
use ironchain_core::validate::default_threads;
use ironchain_core::{Blockchain, ChainParams};

use crate::output::{HashProgress, count, rate_text};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many blocks to mine.
    #[arg(long, default_value_t = 5)]
    blocks: u64,
    /// Mining threads (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
    /// Mine a throwaway chain in memory instead of the stored one.
    #[arg(long)]
    in_memory: bool,
    /// On the stored chain: mine until no record is pending (instead of --blocks).
    #[arg(long, conflicts_with_all = ["in_memory", "blocks"])]
    until_empty: bool,
    /// With --in-memory: the difficulty, as the number of leading zero bits the easiest block's
    /// hash needs (each bit doubles the expected hashes).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u8).range(1..=40))]
    difficulty_bits: u8,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    if !args.in_memory {
        let blocks = (!args.until_empty).then_some(args.blocks);
        let plan = super::mine_store::Plan {
            blocks,
            threads: args.threads,
        };
        return super::mine_store::run(cli, plan);
    }
    mine_in_memory(cli, args)
}

fn mine_in_memory(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let name = format!("in-memory-{}", args.difficulty_bits);
    // Retarget every 2016 blocks of 10 minutes: the chosen difficulty holds for the whole run.
    let params = ChainParams::custom(&name, args.difficulty_bits, 600, 2016, threads);
    let mut chain = Blockchain::new(params).with_threads(threads);
    let control = MineControl::new();
    let started = Instant::now();
    let mut rows = Vec::new();
    for i in 0..args.blocks {
        let record = format!("block {} mined by ironchain mine", i + 1).into_bytes();
        let before = control.hashes();
        let block_started = Instant::now();
        let progress = HashProgress::start(format!("mining block {}", i + 1), &control);
        let block = std::thread::scope(|scope| {
            let miner = scope.spawn(|| chain.add_records_with(vec![record], &control).cloned());
            while !miner.is_finished() {
                progress.update(&control);
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            miner
                .join()
                .map_err(|_| anyhow::anyhow!("the miner thread panicked"))
        })??;
        progress.finish();
        let hashes = control.hashes() - before;
        let seconds = block_started.elapsed().as_secs_f64();
        let row = serde_json::json!({
            "height": chain.height(),
            "hash": block.block_hash().to_string(),
            "nonce": block.header.nonce,
            "time": block.header.time,
            "hashes": hashes,
            "seconds": seconds,
            "hashes_per_sec": hashes as f64 / seconds.max(1e-9),
        });
        if !cli.json {
            println!(
                "block {:>4}  {}  nonce {:>10}  {:>13} hashes  {:.3} s  {}",
                chain.height(),
                block.block_hash(),
                block.header.nonce,
                count(hashes),
                seconds,
                rate_text(hashes as f64 / seconds.max(1e-9))
            );
        }
        rows.push(row);
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = control.hashes() as f64 / seconds.max(1e-9);
    if cli.json {
        let json = serde_json::json!({
            "blocks": rows,
            "threads": threads,
            "difficulty_bits": args.difficulty_bits,
            "hashes": control.hashes(),
            "seconds": seconds,
            "hashes_per_sec": rate,
            "kernel": ironchain_core::sha256d::Backend::detect().name(),
        });
        println!("{json:#}");
    } else {
        println!(
            "mined {} blocks in {seconds:.2} s: {} hashes, {} on {threads} threads ({} kernel)",
            args.blocks,
            count(control.hashes()),
            rate_text(rate),
            ironchain_core::sha256d::Backend::detect().name()
        );
    }
    Ok(Outcome::Ok)
}
