//! `ironchain verify`: check the stored chain from genesis and name the first bad block.

use indicatif::{ProgressBar, ProgressStyle};
use ironchain_core::chain::unix_now;
use ironchain_store::{VerifyError, VerifyMode};

use super::chain::{open, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
#[command(
    after_help = "Quick (the default, and what every command that changes the chain runs \
    before writing): every header's link, proof of work, retarget and time, and each header \
    against the hash it was stored under. It does NOT read the records, so a record changed \
    inside a block passes. Full (--full): also every block's records against its merkle root, \
    and the hash index. Exit codes: 0 ok; 3 an invalid block (named with its height, hash and \
    rule); 1 the chain could not be read."
)]
pub struct Args {
    /// Full mode: also check every block's records against its merkle root and the hash index
    /// (reads every block; the default quick mode checks headers only).
    #[arg(long)]
    full: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let (store, _) = open(cli, VerifyMode::None)?;
    let mode = if args.full {
        VerifyMode::Full
    } else {
        VerifyMode::Quick
    };
    let bar = if cli.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template("verifying {bar:30} {pos}/{len} blocks")
            .expect("the template is valid"),
    );
    let result = store.verify_with_progress(mode, unix_now(), &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish_and_clear();
    match result {
        Ok(summary) => {
            if cli.json {
                print_json(&serde_json::json!({
                    "ok": true,
                    "mode": if args.full { "full" } else { "quick" },
                    "height": summary.height,
                    "tip": summary.tip.to_string(),
                    "work": summary.work.to_f64(),
                }));
            } else {
                println!(
                    "ok: {} blocks, tip {} at height {}, total work {}",
                    summary.blocks, summary.tip, summary.height, summary.work
                );
            }
            Ok(Outcome::Ok)
        }
        Err(VerifyError::Bad(bad)) => {
            if cli.json {
                print_json(&serde_json::json!({
                    "ok": false,
                    "height": bad.height,
                    "hash": bad.hash.map(|h| h.to_string()),
                    "mode": if args.full { "full" } else { "quick" },
                    "rule": bad.fault.code(),
                    "message": bad.fault.to_string(),
                }));
            } else {
                println!("INVALID: {bad}");
                println!(
                    "the chain is read-only; `ironchain repair --truncate` cuts it back to block {}",
                    bad.height.saturating_sub(1)
                );
            }
            Ok(Outcome::Invalid)
        }
        Err(error) => Err(error.into()),
    }
}
