//! `ironchain tamper HEIGHT ...`: a TEACHING TOOL. It changes a stored block behind the chain's
//! back, as someone with access to the database file could, so you can watch `ironchain verify`
//! catch it. Never use it on a chain you care about; `ironchain repair --truncate` undoes the
//! damage only by cutting the chain back.

use anyhow::bail;
use ironchain_core::miner::MineControl;
use ironchain_core::validate::default_threads;
use ironchain_store::VerifyMode;

use super::chain::{open, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The block to change.
    height: u64,
    /// Replace the record at this index (with --text).
    #[arg(long, requires = "text")]
    record: Option<usize>,
    /// The new record text.
    #[arg(long)]
    text: Option<String>,
    /// Add this many seconds to the header's time.
    #[arg(long, allow_hyphen_values = true)]
    header_time: Option<i64>,
    /// Flip one bit of the stored encoding (bit 0 is the lowest bit of the first byte).
    #[arg(long)]
    flip_bit: Option<usize>,
    /// After changing, re-mine the block and re-record its hash, as an attacker would: the
    /// block then passes, and the next block's link breaks.
    #[arg(long)]
    remine: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let (store, _) = open(cli, VerifyMode::None)?;
    let mut changed = Vec::new();
    if let (Some(index), Some(text)) = (args.record, &args.text) {
        store.tamper_record(args.height, index, text.as_bytes())?;
        changed.push(format!("record {index} is now {text:?}"));
    }
    if let Some(delta) = args.header_time {
        store.tamper_header(args.height, |header| {
            header.time = header.time.wrapping_add_signed(delta as i32);
        })?;
        changed.push(format!("header time moved by {delta} s"));
    }
    if let Some(bit) = args.flip_bit {
        let len = store.raw_block_at(args.height)?.map_or(0, |b| b.len());
        if bit >= len * 8 {
            bail!(
                "block {} is stored in {len} bytes: bit {bit} is outside it",
                args.height
            );
        }
        store.tamper_raw(args.height, |bytes| bytes[bit / 8] ^= 1 << (bit % 8))?;
        changed.push(format!("bit {bit} flipped"));
    }
    if args.remine {
        match store.tamper_remine(args.height, default_threads(), &MineControl::new())? {
            Some(hashes) => changed.push(format!("re-mined in {hashes} hashes")),
            None => changed.push("re-mining found no nonce".into()),
        }
    }
    if changed.is_empty() {
        bail!(
            "nothing to change: give --record INDEX --text TEXT, --header-time SECS, --flip-bit N or --remine"
        );
    }
    if cli.json {
        print_json(&serde_json::json!({ "height": args.height, "changes": changed }));
    } else {
        eprintln!(
            "TEACHING TOOL: block {} was changed behind the chain's back:",
            args.height
        );
        for change in &changed {
            eprintln!("  {change}");
        }
        eprintln!("now run `ironchain verify --full` to watch it get caught");
    }
    Ok(Outcome::Ok)
}
