//! `ironchain init`: create a chain in the data directory.

use anyhow::{Context, bail};
use ironchain_core::ChainParams;
use ironchain_core::validate::default_threads;
use ironchain_store::Store;

use super::chain::{data_dir, print_json};
use crate::{Cli, Outcome};

/// Leading zero bits a `bitcoin-like` chain's easiest block needs unless `--difficulty-bits`
/// says otherwise: 2^24 hashes, under a second on one core at ~25 MH/s. Bitcoin's own minimum
/// is 32 bits (2^32 hashes, minutes on a CPU), too slow to try the schedule out on a laptop.
const BITCOIN_LIKE_BITS: u8 = 24;
/// The `custom` chain's default difficulty: 2^16 hashes, milliseconds a block.
const CUSTOM_BITS: u8 = 16;
/// The `custom` chain's default spacing, in seconds.
const CUSTOM_SPACING: u32 = 10;
/// The `custom` chain's default retarget interval, in blocks.
const CUSTOM_INTERVAL: u32 = 100;
/// Bitcoin's schedule (Bitcoin Core src/kernel/chainparams.cpp, CMainParams): nPowTargetSpacing
/// of ten minutes, a retarget every 2016 blocks (two weeks), and the legacy 1 MB MAX_BLOCK_SIZE.
const BITCOIN_SPACING: u32 = 600;
const BITCOIN_INTERVAL: u32 = 2016;
const BITCOIN_MAX_BLOCK: usize = 1_000_000;

/// Which rules the new chain follows.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Preset {
    /// Blocks in milliseconds, one-second spacing, a retarget every ten blocks.
    Demo,
    /// Bitcoin's schedule: 600-second spacing, a retarget every 2016 blocks, 1 MB blocks, at
    /// --difficulty-bits (default 24: about 16 million hashes a block, under a second on one
    /// core; Bitcoin's own minimum is 32, minutes on a CPU). Genesis is mined at init.
    BitcoinLike,
    /// Your own difficulty, spacing and retarget interval (--difficulty-bits, default 16;
    /// --spacing, default 10; --retarget-interval, default 100).
    Custom,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The chain's rules.
    #[arg(long, value_enum, default_value_t = Preset::Demo)]
    chain: Preset,
    /// bitcoin-like (default 24) or custom (default 16): leading zero bits the easiest block's
    /// hash needs; each bit doubles the expected hashes.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=40))]
    difficulty_bits: Option<u8>,
    /// custom: seconds between blocks the retarget aims for (default 10).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    spacing: Option<u32>,
    /// custom: blocks between retargets (default 100).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    retarget_interval: Option<u32>,
}

pub fn run(cli: &Cli, args: &Args) -> anyhow::Result<Outcome> {
    let dir = data_dir(cli)?;
    let threads = default_threads();
    // A flag the preset would ignore is refused: a chain's rules are fixed at init, so a
    // silently ignored --spacing would only be discovered blocks later.
    let custom_only = args.spacing.is_some() || args.retarget_interval.is_some();
    let params = match args.chain {
        Preset::Demo if args.difficulty_bits.is_some() || custom_only => bail!(
            "the demo chain has fixed rules: use `--chain custom` to choose --difficulty-bits, \
             --spacing or --retarget-interval"
        ),
        Preset::BitcoinLike if custom_only => bail!(
            "bitcoin-like follows Bitcoin's schedule ({BITCOIN_SPACING} s, {BITCOIN_INTERVAL} \
             blocks): use `--chain custom` to choose --spacing or --retarget-interval"
        ),
        Preset::Demo => ChainParams::demo(),
        Preset::BitcoinLike => {
            let mut params = ChainParams::custom(
                "bitcoin-like",
                args.difficulty_bits.unwrap_or(BITCOIN_LIKE_BITS),
                BITCOIN_SPACING,
                BITCOIN_INTERVAL,
                threads,
            );
            params.max_block_size = BITCOIN_MAX_BLOCK;
            params
        }
        Preset::Custom => ChainParams::custom(
            "custom",
            args.difficulty_bits.unwrap_or(CUSTOM_BITS),
            args.spacing.unwrap_or(CUSTOM_SPACING),
            args.retarget_interval.unwrap_or(CUSTOM_INTERVAL),
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
            "genesis_bits": params.genesis.header.bits.to_string(),
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
