//! `ironchain log`: the latest blocks, newest first, and what is pending.

use ironchain_store::VerifyMode;

use super::chain::{open, print_json, record_text};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// How many blocks to show.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: u64,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let (store, _) = open(cli, VerifyMode::None)?;
    let tip = store.tip()?;
    let from = tip.height.saturating_sub(args.limit.saturating_sub(1));
    let mut rows = Vec::new();
    for height in (from..=tip.height).rev() {
        let Some(block) = store.block_at(height)? else {
            continue;
        };
        rows.push((height, block));
    }
    let (pending, pending_bytes) = store.pool_stats()?;
    if cli.json {
        print_json(&serde_json::json!({
            "chain": store.params().name,
            "height": tip.height,
            "tip": tip.hash.to_string(),
            "work": tip.work.to_f64(),
            "pending": pending,
            "blocks": rows.iter().map(|(height, block)| serde_json::json!({
                "height": height,
                "hash": block.block_hash().to_string(),
                "time": block.header.time,
                "records": block.records.len(),
            })).collect::<Vec<_>>(),
        }));
        return Ok(Outcome::Ok);
    }
    println!(
        "chain {:?}: height {}, {pending} records pending ({pending_bytes} bytes)",
        store.params().name,
        tip.height
    );
    println!(
        "{:>7}  {:<64}  {:>10}  {:>7}  first record",
        "height", "hash", "time", "records"
    );
    for (height, block) in rows {
        let first = block
            .records
            .first()
            .map(|r| record_text(r))
            .unwrap_or_default();
        let first: String = first.chars().take(40).collect();
        println!(
            "{height:>7}  {}  {:>10}  {:>7}  {first}",
            block.block_hash(),
            block.header.time,
            block.records.len()
        );
    }
    Ok(Outcome::Ok)
}
