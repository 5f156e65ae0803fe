//! `ironchain init`: create a chain in the data directory.

use anyhow::Context;
use ironchain_core::ChainParams;
use ironchain_core::validate::default_threads;
use ironchain_store::Store;

use super::chain::{data_dir, print_json};
use crate::{Cli, Outcome};

/// Which rules the new chain follows.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Preset {
    /// Blocks in milliseconds, one-second spacing, a retarget every ten blocks.
    Demo,
    /// Bitcoin's rules: 600-second spacing, retarget every 2016 blocks, 1 MB blocks, and
    /// Bitcoin's minimum difficulty (2^32 hashes a block: minutes on a CPU; genesis is mined at
    /// init).
    BitcoinLike,
    /// Your own difficulty and spacing (--difficulty-bits, --spacing).
    Custom,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chain's rules.
    #[arg(long, value_enum, default_value_t = Preset::Demo)]
    chain: Preset,
    /// bitcoin-like or custom: leading zero bits the easiest block needs (each doubles the work).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=40))]
    difficulty_bits: Option<u8>,
    /// custom: seconds between blocks the retarget aims for.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    spacing: u32,
    /// custom: blocks between retargets.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    retarget_interval: u32,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let dir = data_dir(cli)?;
    let threads = default_threads();
    let params = match args.chain {
        Preset::Demo => ChainParams::demo(),
        Preset::BitcoinLike => {
            let mut params = ChainParams::custom(
                "bitcoin-like",
                args.difficulty_bits.unwrap_or(32),
                600,
                2016,
                threads,
            );
            params.max_block_size = 1_000_000;
            params
        }
        Preset::Custom => ChainParams::custom(
            "custom",
            args.difficulty_bits.unwrap_or(16),
            args.spacing,
            args.retarget_interval,
            threads,
        ),
    };
    let store = Store::create(&dir, params)
        .with_context(|| format!("cannot create a chain in {}", dir.display()))?;
    let params = store.params();
    if cli.json {
        print_json(&serde_json::json!({
            "data_dir": dir,
            "chain": params.name,
            "genesis": params.genesis_hash().to_string(),
            "target_spacing": params.target_spacing,
            "retarget_interval": params.retarget_interval,
            "max_block_size": params.max_block_size,
        }));
    } else {
        println!("created chain {:?} in {}", params.name, dir.display());
        println!("genesis {}", params.genesis_hash());
        println!("next: `ironchain add TEXT`, then `ironchain mine`");
    }
    Ok(Outcome::Ok)
}
