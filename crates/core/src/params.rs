//! Chain parameters: everything two nodes must agree on to agree on which blocks are valid.
//!
//! A chain is its genesis block plus the rules in [`ChainParams`]. Two presets are built in:
//! [`ChainParams::bitcoin`], with Bitcoin mainnet's values and real genesis header (so real Bitcoin
//! headers can be checked), and [`ChainParams::demo`], a chain whose blocks mine in milliseconds
//! and that retargets every ten blocks, so a learner can watch difficulty adjust.

pub mod encoding;

use crate::block::Block;
use crate::hash::{BlockHash, MerkleRoot};
use crate::header::Header;
use crate::merkle;
use crate::pow::{CompactTarget, Target};

/// The rules of one chain.
///
/// ```
/// use ironchain_core::ChainParams;
///
/// // Bitcoin's values, with its real genesis block.
/// let bitcoin = ChainParams::bitcoin();
/// assert_eq!(
///     bitcoin.genesis_hash().to_string(),
///     "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
/// );
/// assert_eq!(bitcoin.retarget_interval, 2016);
/// assert_eq!(bitcoin.target_timespan(), 14 * 24 * 60 * 60); // two weeks
///
/// // The demo chain retargets every 10 blocks, aiming at one block a second.
/// let demo = ChainParams::demo();
/// assert_eq!((demo.retarget_interval, demo.target_spacing), (10, 1));
/// assert!(demo.pow_limit.is_met_by(demo.genesis_hash()));
///
/// // Regtest: the easiest target Bitcoin allows, so every other hash meets it.
/// let regtest = ChainParams::regtest();
/// assert!(regtest.pow_limit > demo.pow_limit);
/// assert_ne!(regtest.genesis_hash(), demo.genesis_hash()); // different chains
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainParams {
    /// A short name: `bitcoin`, `demo`, or a user's own.
    pub name: String,
    /// Block 0, fixed by the chain: every valid chain starts with exactly this block.
    pub genesis: Block,
    /// The easiest target any block may have.
    pub pow_limit: Target,
    /// The block interval the retarget aims for, in seconds.
    pub target_spacing: u32,
    /// Blocks between retargets (Bitcoin's 2016).
    pub retarget_interval: u32,
    /// The largest canonical block encoding accepted, in bytes.
    pub max_block_size: usize,
    /// How many previous blocks the median-time-past rule looks at (Bitcoin's 11).
    pub median_time_span: usize,
    /// How far into the future (by the checker's clock) a block's time may be, in seconds.
    pub max_future_drift: u32,
}

/// Bitcoin's genesis header (Bitcoin Core src/kernel/chainparams.cpp, CreateGenesisBlock with
/// nTime 1231006505, nNonce 2083236893, nBits 0x1d00ffff, nVersion 1).
const BITCOIN_GENESIS_MERKLE_ROOT: [u8; 32] = [
    0x3b, 0xa3, 0xed, 0xfd, 0x7a, 0x7b, 0x12, 0xb2, 0x7a, 0xc7, 0x2c, 0x3e, 0x67, 0x76, 0x8f, 0x61,
    0x7f, 0xc8, 0x1b, 0xc3, 0x88, 0x8a, 0x51, 0x32, 0x3a, 0x9f, 0xb8, 0xaa, 0x4b, 0x1e, 0x5e, 0x4a,
];

/// The regtest genesis nonce, found once by mining; the tests check it meets the target.
const REGTEST_GENESIS_NONCE: u32 = 1;

/// When ironchain's own genesis blocks say they were made: 2025-11-24.
const GENESIS_TIME: u32 = 1_764_000_000;

/// The record in the demo chain's genesis block.
const DEMO_GENESIS_RECORD: &[u8] = b"ironchain demo genesis";

impl ChainParams {
    /// Bitcoin mainnet's consensus values (Bitcoin Core src/kernel/chainparams.cpp, CMainParams).
    ///
    /// The genesis block has Bitcoin's real header but no records: Bitcoin's merkle root commits to
    /// a coinbase transaction, not to ironchain records, so this preset is for checking Bitcoin
    /// headers (`ironchain headers verify`), not for adding records.
    pub fn bitcoin() -> Self {
        let header = Header {
            version: 1,
            prev_blockhash: BlockHash::ZERO,
            merkle_root: MerkleRoot::from_byte_array(BITCOIN_GENESIS_MERKLE_ROOT),
            time: 1_231_006_505,
            bits: CompactTarget::from_consensus(0x1d00_ffff),
            nonce: 2_083_236_893,
        };
        let mut pow_limit = [0xff; 32];
        pow_limit[..4].fill(0); // consensus.powLimit = 00000000ffff…ff
        Self {
            name: "bitcoin".into(),
            genesis: Block::new(header, Vec::new()),
            pow_limit: Target::from_be_bytes(pow_limit),
            target_spacing: 600,           // nPowTargetSpacing = 10 * 60
            retarget_interval: 2016, // nPowTargetTimespan / nPowTargetSpacing = 14 days / 10 min
            max_block_size: 1_000_000, // the legacy MAX_BLOCK_SIZE (before segwit's weight limit)
            median_time_span: 11,    // GetMedianTimePast's nMedianTimeSpan
            max_future_drift: 2 * 60 * 60, // MAX_FUTURE_BLOCK_TIME
        }
    }

    /// A chain for learning: about 65,000 hashes per block at first (milliseconds on one core),
    /// one-second spacing and a retarget every ten blocks, so difficulty visibly climbs as the
    /// miner outpaces the one-second target.
    pub fn demo() -> Self {
        // The nonce was found once by mining; the tests check it meets the target.
        let bits = CompactTarget::from_consensus(0x1f00_ffff);
        Self::ironchain_chain("demo", DEMO_GENESIS_RECORD, bits, 153_626, 1, 10)
    }

    /// A chain for tests and benchmarks: the easiest target Bitcoin's regtest allows (`bits`
    /// 0x207fffff: about every second hash meets it) with Bitcoin's spacing and retarget interval.
    /// Unlike Bitcoin's regtest it does retarget, so the full rule set runs.
    pub fn regtest() -> Self {
        let bits = CompactTarget::from_consensus(0x207f_ffff);
        let record = b"ironchain regtest genesis";
        Self::ironchain_chain("regtest", record, bits, REGTEST_GENESIS_NONCE, 600, 2016)
    }

    /// A chain of the user's own: the easiest block needs about 2^`difficulty_bits` hashes,
    /// blocks aim to be `target_spacing` seconds apart and difficulty retargets every
    /// `retarget_interval` blocks. Its genesis block is mined here, on `threads` threads, at
    /// the proof-of-work limit (the same genesis for the same arguments).
    ///
    /// # Panics
    /// Panics if `difficulty_bits` is above 255 or `retarget_interval` or `target_spacing` is 0.
    pub fn custom(
        name: &str,
        difficulty_bits: u8,
        target_spacing: u32,
        retarget_interval: u32,
        threads: usize,
    ) -> Self {
        assert!(
            target_spacing > 0 && retarget_interval > 0,
            "spacing and interval are positive"
        );
        let limit = Target::from_u256(ruint::aliases::U256::MAX >> usize::from(difficulty_bits));
        // The limit is what its compact form decodes to, so genesis bits encode it exactly.
        let bits = limit.to_compact_lossy();
        let record = format!("ironchain genesis of {name}").into_bytes();
        let mut params =
            Self::ironchain_chain(name, &record, bits, 0, target_spacing, retarget_interval);
        let job = crate::miner::MineJob {
            header: params.genesis.header,
            target: params.pow_limit,
            max_time: u32::MAX,
            threads,
        };
        params.genesis.header = match crate::miner::mine(&job, &crate::miner::MineControl::new()) {
            crate::miner::MineOutcome::Found(header) => header,
            // Every nonce at every time to 2106 missing a target this easy cannot happen.
            other => panic!("mining a genesis block at 2^-{difficulty_bits} failed: {other:?}"),
        };
        params
    }

    /// One of ironchain's own chains: a genesis block holding `record`, made at
    /// [`GENESIS_TIME`] with `bits` (which are also the proof-of-work limit) and `nonce`, and
    /// the block size and time rules every ironchain chain shares.
    ///
    /// # Panics
    /// Panics if `bits` is not a valid target (the callers pass constants or a compact form
    /// they just encoded).
    fn ironchain_chain(
        name: &str,
        record: &[u8],
        bits: CompactTarget,
        nonce: u32,
        target_spacing: u32,
        retarget_interval: u32,
    ) -> Self {
        let records = vec![record.to_vec()];
        let header = Header {
            version: 1,
            prev_blockhash: BlockHash::ZERO,
            merkle_root: merkle::root(&records),
            time: GENESIS_TIME,
            bits,
            nonce,
        };
        Self {
            name: name.into(),
            genesis: Block::new(header, records),
            pow_limit: bits.to_target().expect("genesis bits are a valid target"),
            target_spacing,
            retarget_interval,
            max_block_size: 1 << 20,
            median_time_span: 11,
            max_future_drift: 2 * 60 * 60,
        }
    }

    /// The names [`ChainParams::preset`] knows, for help texts and error messages.
    pub const PRESETS: [&'static str; 3] = ["bitcoin", "demo", "regtest"];

    /// Returns the built-in chain called `name` (one of [`ChainParams::PRESETS`]), or `None`.
    pub fn preset(name: &str) -> Option<Self> {
        match name {
            "bitcoin" => Some(Self::bitcoin()),
            "demo" => Some(Self::demo()),
            "regtest" => Some(Self::regtest()),
            _ => None,
        }
    }

    /// Returns the genesis block's hash, which identifies the chain.
    pub fn genesis_hash(&self) -> BlockHash {
        self.genesis.block_hash()
    }

    /// The time one retarget period should take: `retarget_interval * target_spacing` seconds
    /// (Bitcoin's nPowTargetTimespan, two weeks).
    pub fn target_timespan(&self) -> u64 {
        u64::from(self.retarget_interval) * u64::from(self.target_spacing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitcoin_preset_has_the_real_genesis_hash() {
        assert_eq!(
            ChainParams::bitcoin().genesis_hash().to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
    }

    #[test]
    fn bitcoin_pow_limit_encodes_to_the_genesis_bits() {
        let params = ChainParams::bitcoin();
        assert_eq!(
            params.pow_limit.to_compact_lossy(),
            params.genesis.header.bits
        );
        assert_eq!(params.target_timespan(), 1_209_600);
    }

    #[test]
    fn custom_chain_genesis_meets_its_limit_and_is_the_same_every_time() {
        let params = ChainParams::custom("mine", 12, 5, 20, 2);
        assert!(params.pow_limit.is_met_by(params.genesis_hash()));
        assert_eq!(
            params.genesis.header.bits,
            params.pow_limit.to_compact_lossy()
        );
        assert_eq!(ChainParams::custom("mine", 12, 5, 20, 1), params);
        assert_ne!(
            ChainParams::custom("other", 12, 5, 20, 1).genesis_hash(),
            params.genesis_hash()
        );
    }

    #[test]
    fn every_preset_is_found_by_its_own_name() {
        for name in ChainParams::PRESETS {
            assert_eq!(
                ChainParams::preset(name).map(|p| p.name),
                Some(name.to_owned())
            );
        }
        assert_eq!(ChainParams::preset("Bitcoin"), None);
    }

    #[test]
    fn regtest_genesis_meets_its_target() {
        let params = ChainParams::regtest();
        assert!(params.pow_limit.is_met_by(params.genesis_hash()));
        assert!(params.genesis.merkle_root_matches());
    }

    #[test]
    fn demo_genesis_meets_its_target_and_commits_to_its_record() {
        let params = ChainParams::demo();
        assert!(params.pow_limit.is_met_by(params.genesis_hash()));
        assert!(params.genesis.merkle_root_matches());
        assert_eq!(
            params.genesis.header.bits,
            params.pow_limit.to_compact_lossy()
        );
    }
}
