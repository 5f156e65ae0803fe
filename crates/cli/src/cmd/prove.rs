//! `ironchain prove HEIGHT INDEX`: an RFC 6962 inclusion proof that a record is in a block,
//! checkable by anyone holding the block's header (`ironchain check-proof`).

use anyhow::bail;
use ironchain_core::merkle::InclusionProof;
use ironchain_store::VerifyMode;

use super::chain::open;
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The block's height.
    height: u64,
    /// The record's position in the block (0 is the first).
    index: usize,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let _ = cli;
    let (store, _) = open(cli, VerifyMode::None)?;
    let Some(block) = store.block_at(args.height)? else {
        bail!(
            "no block at height {} (the tip is at {})",
            args.height,
            store.tip()?.height
        );
    };
    let Some(proof) = InclusionProof::new(&block.records, args.index) else {
        bail!(
            "block {} has {} records: there is no record {}",
            args.height,
            block.records.len(),
            args.index
        );
    };
    // The proof is JSON whatever --json says: it is meant to be saved and checked.
    let out = serde_json::json!({
        "height": args.height,
        "block_hash": block.block_hash().to_string(),
        "header": hex::encode(block.header.to_bytes()),
        "record": hex::encode(&block.records[args.index]),
        "proof": proof,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(Outcome::Ok)
}
