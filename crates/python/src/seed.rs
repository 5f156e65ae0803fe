//! The seed's interface on ironchain's rules: `Block` and `Blockchain` as the seed
//! (`seed_blockchain.py`) defines them, with each idea mapped onto the real thing.
//!
//! | the seed                                  | here                                             |
//! |-------------------------------------------|--------------------------------------------------|
//! | SHA-256 of `f"{index}{timestamp}{data}{previous_hash}{nonce}"` | double SHA-256 of an 80-byte Bitcoin header |
//! | `data`, `index`                           | the block's records, committed by the header's merkle root (the index first, as BIP 34 commits Bitcoin's height) |
//! | `previous_hash`, `timestamp`, `nonce`     | the header's previous-block hash, time (whole seconds) and nonce |
//! | `difficulty` leading hex zeros            | the target `2^(256 - 4 difficulty) - 1`, in the header's compact `bits` |
//! | `hash`, assigned by the block             | the hash the block was accepted under (a store's index): [`Rule::HeaderChanged`] if the header no longer hashes to it |
//! | `first_invalid()`: hash, link, prefix     | the core's [`Verifier`], every rule, in parallel on all cores |
//!
//! So the seed's three checks are ironchain's `header-changed` (or `records-altered`: the header's
//! merkle root no longer matches `data`), `broken-link` and `not-enough-work`, and
//! `first_invalid()` returns the same index the seed's would. ironchain's answer is richer in three
//! places, each a rule the seed lacks: it checks the genesis block too (the seed starts at block
//! 1); a block must carry the chain's difficulty (`wrong-difficulty`: mining a block with
//! `mine(d)` for another `d` changes its header's `bits`); and block times follow Bitcoin's rules
//! (after the median of the previous eleven, at most two hours ahead of the clock). `add_block`
//! gives each new block a time that meets them, as a real miner does.
//!
//! [`Rule::HeaderChanged`]: ironchain_core::Rule::HeaderChanged
//! [`Verifier`]: ironchain_core::Verifier

pub mod block;
pub mod chain;

use ironchain_core::pow::CompactTarget;
use ironchain_core::{Block as CoreBlock, ChainParams, Target};

/// The largest difficulty: 63 leading hex zeros (a target of 15); at 64 no hash could meet it.
pub const MAX_DIFFICULTY: u8 = 63;

/// The compact `bits` of the target `2^(256 - 4 difficulty) - 1`: the hashes below it are exactly
/// those whose hex (as Bitcoin shows hashes) starts with `difficulty` zeros. The compact form keeps
/// its top 16 bits (`0xffff`), so it is a little lower: 1 in 65,536 of the hashes with
/// `difficulty` zeros does not meet it, and the miner keeps looking.
pub fn difficulty_bits(difficulty: u8) -> CompactTarget {
    let zero_bits = 4 * usize::from(difficulty.min(MAX_DIFFICULTY));
    let mut bytes = [0xffu8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        let bit = 8 * i;
        if bit + 8 <= zero_bits {
            *byte = 0;
        } else if bit < zero_bits {
            *byte = 0xff >> (zero_bits - bit);
        }
    }
    Target::from_be_bytes(bytes).to_compact_lossy()
}

/// Returns the difficulty (leading hex zeros) whose `bits` these are, if any.
pub fn difficulty_of(bits: CompactTarget) -> Option<u8> {
    (0..=MAX_DIFFICULTY).find(|&d| difficulty_bits(d) == bits)
}

/// The rules of a seed chain: its genesis block, its difficulty as the proof-of-work limit, no
/// retarget (the seed's difficulty is fixed), blocks of any size, and Bitcoin's time rules.
pub fn chain_params(genesis: CoreBlock, difficulty: u8) -> ChainParams {
    let pow_limit = difficulty_bits(difficulty)
        .to_target()
        .expect("the bits of a difficulty up to 63 are a valid target");
    ChainParams {
        name: format!("seed-difficulty-{difficulty}"),
        genesis,
        pow_limit,
        target_spacing: 600,
        // No retarget at any height a Python list can reach: the seed's difficulty is fixed.
        retarget_interval: u32::MAX,
        // The seed has no size limit.
        max_block_size: usize::MAX,
        median_time_span: 11,
        max_future_drift: 2 * 60 * 60,
    }
}

/// The records a seed block commits to: its index (8 bytes, little-endian) and its data.
pub fn records(index: u64, data: &[u8]) -> Vec<Vec<u8>> {
    vec![index.to_le_bytes().to_vec(), data.to_vec()]
}
