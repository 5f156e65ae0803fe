//! `ironchain export FILE`: the chain as a stream of canonical blocks (see
//! `ironchain_store::transfer` for the layout).

use std::io::BufWriter;
use std::path::PathBuf;

use anyhow::Context;
use ironchain_store::VerifyMode;

use super::chain::{open, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where to write the export (`-` for stdout).
    file: PathBuf,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let (store, _) = open(cli, VerifyMode::None)?;
    let blocks = if args.file.as_os_str() == "-" {
        store.export(&mut BufWriter::new(std::io::stdout().lock()))?
    } else {
        let file = std::fs::File::create(&args.file)
            .with_context(|| format!("cannot create {}", args.file.display()))?;
        let mut out = BufWriter::new(file);
        let blocks = store.export(&mut out)?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        blocks
    };
    if cli.json {
        print_json(&serde_json::json!({ "blocks": blocks, "file": args.file }));
    } else if args.file.as_os_str() != "-" {
        println!("exported {blocks} blocks to {}", args.file.display());
    }
    Ok(Outcome::Ok)
}
