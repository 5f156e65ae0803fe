//! `ironchain add`: put records in the durable pool. A record is accepted once this command
//! prints its id: it is on disk, and will be mined exactly once.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::chain::{open_writable, print_json};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Records as text, one per argument; `-` reads one record from stdin (binary-safe).
    texts: Vec<String>,
    /// Read a record from a file (binary-safe); repeat for several.
    #[arg(long = "file", value_name = "PATH")]
    files: Vec<PathBuf>,
    /// With `-`: one record per line of stdin instead of one for all of it.
    #[arg(long)]
    lines: bool,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let mut records: Vec<Vec<u8>> = Vec::new();
    for text in &args.texts {
        if text == "-" {
            let mut input = Vec::new();
            std::io::stdin()
                .read_to_end(&mut input)
                .context("cannot read stdin")?;
            if args.lines {
                records.extend(
                    input
                        .split(|b| *b == b'\n')
                        .filter(|l| !l.is_empty())
                        .map(<[u8]>::to_vec),
                );
            } else {
                records.push(input);
            }
        } else {
            records.push(text.as_bytes().to_vec());
        }
    }
    for path in &args.files {
        records
            .push(std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?);
    }
    if records.is_empty() {
        bail!("nothing to add: give TEXT, --file PATH or - for stdin");
    }
    let store = open_writable(cli)?;
    let ids = store.add_records(&records).map_err(|error| match error {
        // A write that failed at the very end (a disk filling up during the commit) may still
        // have committed: say so, rather than invite a retry that could add the records twice.
        ironchain_store::PoolError::Db(_) => anyhow::Error::new(error).context(
            "the records may or may not have been stored: check `ironchain log` for the pending \
             count before adding them again",
        ),
        other => other.into(),
    })?;
    if cli.json {
        let ids: Vec<u64> = ids.iter().map(|id| id.0).collect();
        print_json(&serde_json::json!({ "accepted": ids }));
    } else {
        for (id, record) in ids.iter().zip(&records) {
            println!("accepted record {} ({} bytes)", id.0, record.len());
        }
    }
    Ok(Outcome::Ok)
}
