//! `ironchain check-proof [FILE]`: check a proof printed by `ironchain prove` against the header
//! it carries. No store is needed: the header, the record and the audit path are the whole
//! argument. (Whether that header is in a chain you trust is a separate question: compare its
//! hash with a node's.)

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use ironchain_core::Header;
use ironchain_core::merkle::InclusionProof;

use super::chain::print_json;
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The proof file (JSON from `ironchain prove`); stdin if absent.
    file: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct ProofFile {
    header: String,
    record: String,
    proof: InclusionProof,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let text = match &args.file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .context("cannot read stdin")?;
            text
        }
    };
    let file: ProofFile =
        serde_json::from_str(&text).context("not a proof from `ironchain prove`")?;
    let raw = hex::decode(&file.header).context("the header is not hex")?;
    let Ok(raw) = <[u8; 80]>::try_from(raw.as_slice()) else {
        bail!("the header is {} bytes; a header is 80", raw.len());
    };
    let header = Header::from_bytes(&raw);
    let record = hex::decode(&file.record).context("the record is not hex")?;
    let verdict = file.proof.verify(&record, header.merkle_root);
    if cli.json {
        print_json(&serde_json::json!({
            "valid": verdict.is_ok(),
            "block_hash": header.block_hash().to_string(),
            "error": verdict.as_ref().err().map(ToString::to_string),
        }));
    } else {
        match &verdict {
            Ok(()) => println!(
                "valid: the record is leaf {} of {} in block {}",
                file.proof.leaf_index,
                file.proof.tree_size,
                header.block_hash()
            ),
            Err(error) => println!("INVALID: {error}"),
        }
    }
    Ok(if verdict.is_ok() {
        Outcome::Ok
    } else {
        Outcome::Invalid
    })
}
