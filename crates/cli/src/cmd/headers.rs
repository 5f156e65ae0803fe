//! `ironchain headers verify`: check a file of raw 80-byte headers from a chain's genesis (or from
//! a checkpoint height) and name the first invalid one.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Subcommand, ValueEnum};
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

/// Reads a header file: raw 80-byte headers, or hex lines with an optional height line first.
fn read_headers(path: &Path) -> anyhow::Result<(Option<u64>, Vec<[u8; 80]>)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let is_text = !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    if !is_text {
        if bytes.len() % 80 != 0 {
            bail!(
                "{} is {} bytes, not a whole number of 80-byte headers: it is truncated or not a \
                 header file ({} bytes left over)",
                path.display(),
                bytes.len(),
                bytes.len() % 80
            );
        }
        let headers = bytes
            .chunks_exact(80)
            .map(|chunk| chunk.try_into().expect("chunks_exact gives 80 bytes"))
            .collect();
        return Ok((None, headers));
    }
    let text = String::from_utf8(bytes).context("hex text is ASCII")?;
    let mut height = None;
    let mut headers = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        if number == 0 && line.len() < 20 && line.bytes().all(|b| b.is_ascii_digit()) {
            height = Some(line.parse().context("the first line is a height")?);
            continue;
        }
        let mut header = [0u8; 80];
        hex::decode_to_slice(line, &mut header).with_context(|| {
            format!(
                "line {} of {} is not a header: expected 160 hex digits, found {}",
                number + 1,
                path.display(),
                line.len()
            )
        })?;
        headers.push(header);
    }
    Ok((height, headers))
}
