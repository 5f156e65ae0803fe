//! `ironchain repair --truncate`: cut a damaged chain back to its last good block. Records of
//! dropped blocks that are still intact go back into the pool; recovering the dropped blocks
//! themselves from peers comes with the node.

use std::io::{BufRead, Write};

use anyhow::bail;
use ironchain_core::chain::unix_now;
use ironchain_store::VerifyMode;

use super::chain::{open, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cut the chain back to the block before the first bad one.
    #[arg(long, required = true)]
    truncate: bool,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    yes: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let _ = args.truncate;
    let (store, verification) = open(cli, VerifyMode::Full)?;
    let bad = match verification {
        Ok(summary) => {
            if cli.json {
                print_json(&serde_json::json!({ "repaired": false, "height": summary.height }));
            } else {
                println!(
                    "nothing to repair: the chain verifies up to height {}",
                    summary.height
                );
            }
            return Ok(Outcome::Ok);
        }
        Err(bad) => bad,
    };
    if bad.height == 0 {
        bail!(
            "the genesis block itself is bad ({bad}): this is not this chain's data; restore a backup or `ironchain import` an export"
        );
    }
    let keep = bad.height - 1;
    let tip = store.tip()?.height;
    if !args.yes {
        eprint!(
            "{bad}\ncut the chain back to height {keep}, dropping {} blocks? [y/N] ",
            tip.saturating_sub(keep)
        );
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            bail!("not confirmed: nothing was changed (pass --yes to skip the question)");
        }
    }
    let report = store.truncate_to(keep)?;
    let after = store.verify(VerifyMode::Full, unix_now());
    if cli.json {
        print_json(&serde_json::json!({
            "repaired": after.is_ok(),
            "height": report.tip.height,
            "dropped": report.dropped,
            "returned_to_pool": report.returned_to_pool,
            "damaged_blocks": report.damaged_blocks,
        }));
    } else {
        println!(
            "cut back to height {}: dropped {} blocks, {} records back in the pool",
            report.tip.height, report.dropped, report.returned_to_pool
        );
        if !report.damaged_blocks.is_empty() {
            println!(
                "the records of blocks {:?} were changed and could not be trusted; they were not returned",
                report.damaged_blocks
            );
        }
    }
    match after {
        Ok(_) => Ok(Outcome::Ok),
        Err(error) => bail!("the chain still fails verification after the cut: {error}"),
    }
}
