//! `ironchain bench`: hash rates and verification speed, measured side by side in one run and
//! printed as ratios, so the numbers mean something on a shared, noisy machine.
//!
//! - raw SHA-256 compressions per second on one core (`sha2`'s `compress256`): the CPU's limit;
//! - the plain `sha2` midstate loop (two compressions per nonce), the kernel on one thread, and
//!   the miner on every thread, in hashes per second;
//! - the Python seed's hash rate, when `python3` and its script are there;
//! - 1,000,000 in-memory headers verified (proof of work, links, retarget, time) and 1,000,000
//!   blocks with small records verified (records against merkle roots too), on every thread.
//!
//! Each figure is the median of several short runs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ironchain_core::miner::{self, MineControl, MineJob, MineOutcome};
use ironchain_core::sha256d::{self, Backend};
use ironchain_core::validate::default_threads;
use ironchain_core::{Block, ChainParams, Header, Target, Verifier, merkle};

use crate::output::{count, rate_text};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The seed's Python example, run as the baseline (skipped if absent).
    #[arg(
        long,
        value_name = "PATH",
        default_value = "../shared/reference/seed_example.py"
    )]
    python_ref: PathBuf,
    /// How many headers and blocks the verification figures use.
    #[arg(long, default_value_t = 1_000_000)]
    chain_len: u64,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=50))]
    runs: u32,
    /// Threads for the all-threads figures (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// A target no hash meets in practice, so a scan always runs its whole range.
fn impossible() -> [u8; 32] {
    [0; 32]
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let threads = args.threads.unwrap_or_else(default_threads).max(1);
    let runs = args.runs as usize;
    let progress = |what: &str| {
        if !cli.json {
            eprintln!("measuring {what}...");
        }
    };
    let header = sample_header();
    let bytes = header.to_bytes();
    let midstate = sha256d::midstate(bytes[..64].try_into().expect("64 bytes"));
    let tail: [u8; 16] = bytes[64..].try_into().expect("16 bytes");

    progress("raw compress256 on one core");
    let compress = median(runs, || {
        let block = [0x5au8; 64];
        let mut state = sha256d::SHA256_IV;
        let n = 2_000_000u64;
        let started = Instant::now();
        for _ in 0..n {
            sha2::block_api::compress256(&mut state, std::slice::from_ref(&block));
        }
        std::hint::black_box(state);
        n as f64 / started.elapsed().as_secs_f64()
    });

    progress("the plain sha2 midstate loop");
    let portable = median(runs, || {
        let n = 1_000_000u64;
        let started = Instant::now();
        let outcome = sha256d::scan_portable(&midstate, &tail, 0, n, &impossible());
        outcome.hashes as f64 / started.elapsed().as_secs_f64()
    });

    progress("the kernel on one thread");
    let kernel_1 = median(runs, || {
        let n = 4_000_000u64;
        let started = Instant::now();
        let outcome = sha256d::scan(&midstate, &tail, 0, n, &impossible());
        outcome.hashes as f64 / started.elapsed().as_secs_f64()
    });

    progress("the miner on every thread");
    let miner_rate = |threads: usize| {
        median(runs, || {
            let job = MineJob {
                header,
                target: Target::from_be_bytes([0; 32]),
                max_time: u32::MAX,
                threads,
            };
            let control = MineControl::new();
            let started = Instant::now();
            std::thread::scope(|scope| {
                scope.spawn(|| {
                    std::thread::sleep(Duration::from_millis(300));
                    control.cancel();
                });
                let outcome = miner::mine(&job, &control);
                debug_assert_eq!(outcome, MineOutcome::Cancelled);
            });
            control.hashes() as f64 / started.elapsed().as_secs_f64()
        })
    };
    let miner_1 = miner_rate(1);
    let miner_all = miner_rate(threads);

    let python = python_reference(&args.python_ref, runs.min(5), &progress)?;

    progress(&format!(
        "verification of {} headers and blocks",
        count(args.chain_len)
    ));
    let (params, blocks) = build_chain(args.chain_len);
    let headers: Vec<Header> = blocks.iter().map(|block| block.header).collect();
    let now = u32::MAX - 7200;
    let headers_rate = median(runs, || {
        let started = Instant::now();
        let mut verifier = Verifier::new(&params, now).with_threads(threads);
        let result = verifier.push_headers(&headers);
        let seconds = started.elapsed().as_secs_f64();
        assert!(result.is_ok(), "the benchmark chain is valid: {result:?}");
        headers.len() as f64 / seconds
    });
    let blocks_rate = median(runs, || {
        let started = Instant::now();
        let mut verifier = Verifier::new(&params, now).with_threads(threads);
        let result = verifier.push_blocks(&blocks, None, true);
        let seconds = started.elapsed().as_secs_f64();
        assert!(result.is_ok(), "the benchmark chain is valid: {result:?}");
        blocks.len() as f64 / seconds
    });

    let per_compress_pair = compress / 2.0;
    let backend = Backend::detect();
    if cli.json {
        let json = serde_json::json!({
            "kernel": backend.name(),
            "threads": threads,
            "compress256_per_sec": compress,
            "sha2_midstate_hashes_per_sec": portable,
            "kernel_hashes_per_sec_1_thread": kernel_1,
            "miner_hashes_per_sec_1_thread": miner_1,
            "kernel_hashes_per_sec_all_threads": miner_all,
            "python_reference_hashes_per_sec": python,
            "headers_verified_per_sec": headers_rate,
            "blocks_verified_per_sec": blocks_rate,
            "chain_len": args.chain_len,
            "seconds_to_verify_chain_headers": args.chain_len as f64 / headers_rate,
            "seconds_to_verify_chain_blocks": args.chain_len as f64 / blocks_rate,
            "ratios": {
                "sha2_midstate_vs_compress_pairs": portable / per_compress_pair,
                "kernel_1_thread_vs_compress_pairs": kernel_1 / per_compress_pair,
                "miner_1_thread_vs_compress_pairs": miner_1 / per_compress_pair,
                "all_threads_vs_1_thread": miner_all / miner_1,
                "kernel_1_thread_vs_python": python.map(|p| miner_1 / p),
            },
            "runs": runs,
        });
        println!("{json:#}");
        return Ok(Outcome::Ok);
    }
    println!(
        "ironchain bench ({} kernel, {threads} threads, median of {runs} runs)",
        backend.name()
    );
    println!(
        "  raw compress256, 1 core       {:>14}/s",
        count(compress as u64)
    );
    println!(
        "  sha2 midstate loop, 1 thread  {:>14}   {:.2} x (compress/s / 2)",
        rate_text(portable),
        portable / per_compress_pair
    );
    println!(
        "  kernel scan, 1 thread         {:>14}   {:.2} x (compress/s / 2)",
        rate_text(kernel_1),
        kernel_1 / per_compress_pair
    );
    println!(
        "  miner, 1 thread               {:>14}   {:.2} x (compress/s / 2)",
        rate_text(miner_1),
        miner_1 / per_compress_pair
    );
    println!(
        "  miner, {threads} threads               {:>14}   {:.2} x 1 thread",
        rate_text(miner_all),
        miner_all / miner_1
    );
    match python {
        Some(python) => println!(
            "  python seed, 1 thread         {:>14}   miner 1 thread is {:.1} x python",
            rate_text(python),
            miner_1 / python
        ),
        None => println!(
            "  python seed                   (not run: no python3 or no {})",
            args.python_ref.display()
        ),
    }
    println!(
        "  headers verified              {:>12}/s   {} headers in {:.3} s",
        count(headers_rate as u64),
        count(args.chain_len),
        args.chain_len as f64 / headers_rate
    );
    println!(
        "  blocks verified (+records)    {:>12}/s   {} blocks in {:.3} s",
        count(blocks_rate as u64),
        count(args.chain_len),
        args.chain_len as f64 / blocks_rate
    );
    Ok(Outcome::Ok)
}

fn sample_header() -> Header {
    let params = ChainParams::demo();
    Header {
        nonce: 0,
        ..params.genesis.header
    }
}

/// Returns the median of `runs` measurements.
fn median(runs: usize, mut measure: impl FnMut() -> f64) -> f64 {
    let mut samples: Vec<f64> = (0..runs.max(1)).map(|_| measure()).collect();
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Runs the seed's Python example in its bench mode and parses its hash rate.
fn python_reference(
    script: &Path,
    runs: usize,
    progress: &impl Fn(&str),
) -> anyhow::Result<Option<f64>> {
    if !script.is_file() {
        return Ok(None);
    }
    progress("the python seed (difficulty 5)");
    // It imports its sibling module, so it runs from its own directory.
    let script = script
        .canonicalize()
        .with_context(|| format!("cannot open {}", script.display()))?;
    let dir = script.parent().unwrap_or(Path::new("."));
    let mut rates = Vec::new();
    for _ in 0..runs {
        let output = Command::new("python3")
            .arg(&script)
            .args(["5", "1", "bench"])
            .current_dir(dir)
            .output();
        let output = match output {
            Ok(output) if output.status.success() => output,
            // No python3, or the script failed: the baseline is simply not measured.
            _ => return Ok(None),
        };
        let text = String::from_utf8_lossy(&output.stdout);
        // "nonce N in S s: R hashes/s"
        let rate = text
            .split(':')
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|rate| rate.parse::<f64>().ok())
            .with_context(|| format!("unexpected output from {}: {text}", script.display()))?;
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    Ok(rates.get(rates.len() / 2).copied())
}

/// Builds a valid regtest chain of `len` blocks (genesis included), one small record each, with
/// blocks 600 s apart so the retarget rule runs every 2016 blocks.
fn build_chain(len: u64) -> (ChainParams, Vec<Block>) {
    let params = ChainParams::regtest();
    let mut blocks = Vec::with_capacity(len as usize);
    blocks.push(params.genesis.clone());
    let mut verifier = Verifier::new(&params, u32::MAX - 7200).with_threads(1);
    verifier
        .push_headers(&[params.genesis.header])
        .expect("genesis is valid");
    for height in 1..len {
        let ctx = verifier.context().expect("after genesis");
        let records = vec![format!("record {height}").into_bytes()];
        let time = params.genesis.header.time + (height as u32).wrapping_mul(600);
        let mut header = Header {
            version: 1,
            prev_blockhash: ctx.prev_hash,
            merkle_root: merkle::root(&records),
            time,
            bits: ctx.expected_bits.expect("known from genesis"),
            nonce: 0,
        };
        let target = header.bits.to_target().expect("valid bits");
        while !target.is_met_by(header.block_hash()) {
            header.nonce += 1;
        }
        verifier.push_headers(&[header]).expect("built valid");
        blocks.push(Block::new(header, records));
    }
    (params, blocks)
}
