//! `ironchain show HEIGHT|HASH`: one block's header and records.

use anyhow::{Context, bail};
use ironchain_core::BlockHash;
use ironchain_store::VerifyMode;

use super::chain::{open, print_json, record_text};
use crate::{Cli, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A block height, or a block hash (64 hex digits).
    block: String,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let (store, _) = open(cli, VerifyMode::None)?;
    let found = if let Ok(height) = args.block.parse::<u64>() {
        store.block_at(height)?.map(|block| (height, block))
    } else {
        let hash: BlockHash = args
            .block
            .parse()
            .with_context(|| format!("{:?} is neither a height nor a block hash", args.block))?;
        store.block_by_hash(&hash)?
    };
    let Some((height, block)) = found else {
        bail!(
            "no block {} in this chain (its tip is at height {})",
            args.block,
            store.tip()?.height
        );
    };
    let header = &block.header;
    if cli.json {
        print_json(&serde_json::json!({
            "height": height,
            "hash": block.block_hash().to_string(),
            "header": header,
            "header_hex": hex::encode(header.to_bytes()),
            "merkle_root_matches": block.merkle_root_matches(),
            "records": block.records.iter().map(hex::encode).collect::<Vec<_>>(),
        }));
        return Ok(Outcome::Ok);
    }
    println!("block {height}  {}", block.block_hash());
    println!("  previous     {}", header.prev_blockhash);
    println!(
        "  merkle root  {}{}",
        header.merkle_root,
        if block.merkle_root_matches() {
            ""
        } else {
            "  (DOES NOT MATCH the records)"
        }
    );
    println!("  time         {}", header.time);
    println!("  bits         {}", header.bits);
    println!("  nonce        {}", header.nonce);
    println!("  records      {}", block.records.len());
    for (index, record) in block.records.iter().enumerate() {
        println!("  [{index:>3}] {}", record_text(record));
    }
    Ok(Outcome::Ok)
}
