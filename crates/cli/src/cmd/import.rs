//! `ironchain import FILE`: append the blocks of an export that the chain lacks. Every block is
//! validated and nothing is committed unless all of them pass.

use std::io::BufReader;
use std::path::PathBuf;

use anyhow::Context;
use ironchain_core::chain::unix_now;

use super::chain::{open_writable, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The export to read (`-` for stdin).
    file: PathBuf,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let store = open_writable(cli)?;
    let report = if args.file.as_os_str() == "-" {
        store.import(&mut BufReader::new(std::io::stdin().lock()), unix_now())
    } else {
        let file = std::fs::File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        store.import(&mut BufReader::new(file), unix_now())
    }
    .context("import refused; nothing was committed")?;
    if cli.json {
        print_json(&serde_json::json!({
            "known": report.known,
            "appended": report.appended,
            "height": report.tip.height,
            "tip": report.tip.hash.to_string(),
        }));
    } else {
        println!(
            "imported {} new blocks ({} already known); tip {} at height {}",
            report.appended, report.known, report.tip.hash, report.tip.height
        );
    }
    Ok(Outcome::Ok)
}
