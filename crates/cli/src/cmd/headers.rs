//! `ironchain headers verify`: check a file of raw 80-byte headers from a chain's genesis (or from
//! a checkpoint height) and name the first invalid one.
//!
//! `ironchain headers stats`: per retarget period, how long it took and what the retarget made of
//! it, so the first real difficulty change of Bitcoin (block 32,256) can be seen and checked.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail, ensure};
use clap::{Subcommand, ValueEnum};
use ironchain_core::header::HeaderFile;
use ironchain_core::retarget::stats::{self, PeriodStats};
use ironchain_core::{ChainParams, Header, Verifier, chain::unix_now, validate::default_threads};

use crate::{Cli, Outcome};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify headers: links, proof of work, the retarget schedule and the time rules.
    ///
    /// FILE holds raw headers back to back (80 bytes each), or hex text with one header per line
    /// (an optional first line of digits gives the height of the first header). Exit code 3 if a
    /// header is invalid.
    Verify(VerifyArgs),
    /// Per retarget period: time span, expected and actual next bits, difficulty before and after.
    ///
    /// FILE is read as `headers verify` reads it; it may also be a directory of single raw headers
    /// named by height (`0032255.bin`), such as pairs of blocks either side of each retarget. Only
    /// complete periods (first and last block present) get a row. Exit code 3 if a next block's
    /// bits differ from the retarget rule's.
    Stats(StatsArgs),
}

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The header file, or a directory of `HEIGHT.bin` raw headers.
    file: PathBuf,
    /// Which chain's retarget rules to apply.
    #[arg(long, value_enum, default_value_t = Chain::Bitcoin)]
    chain: Chain,
    /// Height of the first header in the file (default: the file's height line, else 0).
    #[arg(long, value_name = "HEIGHT")]
    start_height: Option<u64>,
    /// Print CSV (a header row, then one row per period), ready to plot.
    #[arg(long, conflicts_with = "json")]
    csv: bool,
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The header file.
    file: PathBuf,
    /// Which chain's rules and genesis to check against.
    #[arg(long, value_enum, default_value_t = Chain::Bitcoin)]
    chain: Chain,
    /// Height of the first header in the file, when it does not start at genesis. The first
    /// header is then trusted as a checkpoint and the rest are checked from it.
    #[arg(long, value_name = "HEIGHT")]
    start_height: Option<u64>,
    /// Threads that hash headers (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// The built-in chains whose headers can be checked.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Chain {
    /// Bitcoin mainnet.
    Bitcoin,
    /// ironchain's demo chain.
    Demo,
    /// ironchain's regtest chain.
    Regtest,
}

impl Chain {
    pub fn params(self) -> ChainParams {
        match self {
            Chain::Bitcoin => ChainParams::bitcoin(),
            Chain::Demo => ChainParams::demo(),
            Chain::Regtest => ChainParams::regtest(),
        }
    }
}

pub fn run(cli: &Cli, command: &Command) -> anyhow::Result<Outcome> {
    match command {
        Command::Verify(args) => verify(cli, args),
        Command::Stats(args) => stats(cli, args),
    }
}

fn verify(cli: &Cli, args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let (file_height, headers) = read_headers(&args.file)?;
    let start = args.start_height.or(file_height).unwrap_or(0);
    let params = args.chain.params();
    let threads = args.threads.unwrap_or_else(default_threads);
    let now = unix_now();
    let Some(first) = headers.first() else {
        bail!("{} holds no headers", args.file.display());
    };
    let (mut verifier, rest) = if start == 0 {
        (Verifier::new(&params, now), &headers[..])
    } else {
        (
            Verifier::from_checkpoint(&params, start, Header::from_bytes(first), now),
            &headers[1..],
        )
    };
    verifier = verifier.with_threads(threads);
    let started = std::time::Instant::now();
    let result = verifier.push_raw_headers(rest);
    let seconds = started.elapsed().as_secs_f64();
    let summary = verifier.summary();
    let invalid = result.err();
    if cli.json {
        let json = serde_json::json!({
            "ok": invalid.is_none(),
            "chain": params.name,
            "file": args.file,
            "headers_in_file": headers.len(),
            "start_height": start,
            "verified": summary.map_or(0, |s| s.blocks),
            "height": summary.map(|s| s.height),
            "tip": summary.map(|s| s.tip.to_string()),
            "total_work": summary.map(|s| s.work.to_string()),
            "seconds": seconds,
            "invalid": invalid.as_ref().map(|invalid| serde_json::json!({
                "height": invalid.height,
                "hash": invalid.hash.to_string(),
                "rule": invalid.rule.code(),
                "message": invalid.rule.to_string(),
            })),
        });
        println!("{json:#}");
    } else {
        match (&invalid, summary) {
            (None, Some(summary)) => {
                println!(
                    "ok: {} headers verified on the {} chain",
                    headers.len(),
                    params.name
                );
                println!("  heights      {}..={}", start, summary.height);
                println!("  tip          {}", summary.tip);
                println!("  total work   {}", summary.work);
                println!("  time         {seconds:.3} s on {threads} threads");
            }
            (Some(invalid), summary) => {
                println!("INVALID: {invalid}");
                match summary {
                    Some(s) => println!(
                        "  the {} headers before it are valid (to height {})",
                        s.blocks, s.height
                    ),
                    None => println!("  no header before it was valid"),
                }
            }
            (None, None) => bail!("no headers were verified"),
        }
    }
    Ok(if invalid.is_some() {
        Outcome::Invalid
    } else {
        Outcome::Ok
    })
}

fn stats(cli: &Cli, args: &StatsArgs) -> anyhow::Result<Outcome> {
    let params = args.chain.params();
    let headers = if args.file.is_dir() {
        ensure!(
            args.start_height.is_none(),
            "--start-height applies to a file; a directory's headers are named by height"
        );
        read_header_dir(&args.file)?
    } else {
        let (file_height, raw) = read_headers(&args.file)?;
        let start = args.start_height.or(file_height).unwrap_or(0);
        let headers: Vec<Header> = raw.iter().map(Header::from_bytes).collect();
        stats::consecutive(start, &headers)
    };
    let (Some(&low), Some(&high)) = (headers.keys().next(), headers.keys().next_back()) else {
        bail!("{} holds no headers", args.file.display());
    };
    let periods = stats::period_stats(&params, &headers)
        .with_context(|| format!("cannot read retarget periods from {}", args.file.display()))?;
    let all_match = periods.iter().all(|p| p.matches != Some(false));
    if args.csv {
        print!("{}", csv(&periods));
    } else if cli.json {
        let json = serde_json::json!({
            "chain": params.name,
            "file": args.file,
            "headers": headers.len(),
            "first_height": low,
            "last_height": high,
            "retarget_interval": params.retarget_interval,
            "target_timespan": params.target_timespan(),
            "all_match": all_match,
            "periods": periods,
        });
        println!("{json:#}");
    } else {
        print_stats_table(&params, &periods, headers.len(), low, high);
    }
    Ok(if all_match {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}

fn print_stats_table(
    params: &ChainParams,
    periods: &[PeriodStats],
    count: usize,
    low: u64,
    high: u64,
) {
    println!(
        "Retarget periods of the {} chain in {count} headers (heights {low}..={high}); a period \
         should take {} days.",
        params.name,
        params.target_timespan() as f64 / 86_400.0
    );
    if periods.is_empty() {
        println!(
            "No complete period: a period's first and last block (every {} blocks) must both be \
             present.",
            params.retarget_interval
        );
        return;
    }
    println!(
        "{:>6}  {:>17}  {:>9}  {:>8}  {:>8}  {:>8}  {:>5}  {:>24}  {:>8}",
        "period",
        "heights",
        "span days",
        "bits",
        "expected",
        "actual",
        "match",
        "difficulty",
        "change"
    );
    for p in periods {
        let note = match (p.clamp, p.capped_at_limit) {
            (Some(stats::Clamp::Quarter), _) => "  clamped: under a quarter of the timespan",
            (Some(stats::Clamp::FourTimes), _) => "  clamped: over four times the timespan",
            (None, true) => "  capped at the limit",
            (None, false) => "",
        };
        println!(
            "{:>6}  {:>17}  {:>9.2}  {}  {}  {:>8}  {:>5}  {:>24}  {:>7.4}x{note}",
            p.period,
            format!("{}..={}", p.first_height, p.last_height),
            p.span_days,
            p.bits,
            p.expected_next_bits,
            p.actual_next_bits
                .map_or("-".to_owned(), |bits| bits.to_string()),
            match p.matches {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            },
            format!(
                "{} -> {}",
                difficulty(p.difficulty_before),
                difficulty(p.difficulty_after)
            ),
            p.change_factor,
        );
    }
    let changes = periods.iter().filter(|p| p.change_factor != 1.0).count();
    let mismatches = periods.iter().filter(|p| p.matches == Some(false)).count();
    println!(
        "{} period(s), {changes} difficulty change(s), {mismatches} mismatch(es) with the retarget \
         rule.",
        periods.len()
    );
}

/// Formats a difficulty with about six significant digits.
fn difficulty(value: f64) -> String {
    if value >= 1e6 {
        format!("{value:.4e}")
    } else {
        format!("{value:.4}")
    }
}

/// Renders the periods as CSV: one header row, then one row per period.
fn csv(periods: &[PeriodStats]) -> String {
    let mut out = String::from(
        "period,first_height,last_height,first_time,last_time,span_seconds,span_days,span_ratio,\
         bits,expected_next_bits,actual_next_bits,matches,clamp,capped_at_limit,\
         difficulty_before,difficulty_after,change_factor\n",
    );
    for p in periods {
        let clamp = match p.clamp {
            Some(stats::Clamp::Quarter) => "quarter",
            Some(stats::Clamp::FourTimes) => "four-times",
            None => "",
        };
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            p.period,
            p.first_height,
            p.last_height,
            p.first_time,
            p.last_time,
            p.span_seconds,
            p.span_days,
            p.span_ratio,
            p.bits,
            p.expected_next_bits,
            p.actual_next_bits
                .map_or(String::new(), |bits| bits.to_string()),
            p.matches.map_or("", |m| if m { "true" } else { "false" }),
            clamp,
            p.capped_at_limit,
            p.difficulty_before,
            p.difficulty_after,
            p.change_factor,
        ));
    }
    out
}

/// Reads a directory of single raw headers, each named by its height (`0032255.bin`).
fn read_header_dir(dir: &Path) -> anyhow::Result<BTreeMap<u64, Header>> {
    let mut headers = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let path = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if path.extension().is_none_or(|ext| ext != "bin") {
            continue;
        }
        let height: u64 = path
            .file_stem()
            .and_then(|stem| stem.to_str())
            .and_then(|stem| stem.parse().ok())
            .with_context(|| {
                format!(
                    "{} is not named by a height, such as 0032255.bin",
                    path.display()
                )
            })?;
        let bytes =
            std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let bytes: [u8; 80] = bytes.as_slice().try_into().map_err(|_| {
            anyhow::anyhow!(
                "{} is {} bytes, not one 80-byte header",
                path.display(),
                bytes.len()
            )
        })?;
        headers.insert(height, Header::from_bytes(&bytes));
    }
    Ok(headers)
}

/// Reads a header file: raw 80-byte headers, or hex lines with an optional height line first.
fn read_headers(path: &Path) -> anyhow::Result<(Option<u64>, Vec<[u8; 80]>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file = HeaderFile::parse(&bytes).with_context(|| format!("{}", path.display()))?;
    Ok((file.start_height, file.headers))
}
