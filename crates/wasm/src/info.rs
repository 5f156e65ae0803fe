//! One header's proof of work, as the explorer draws it: its hash against its target, the
//! difficulty and the work its `bits` stand for, all computed by core (the page keeps no
//! 256-bit arithmetic of its own).

use ironchain_core::header::HeaderFile;
use ironchain_core::retarget::stats::difficulty_one;
use ironchain_core::{BlockHash, ChainParams, Header, Target, Work};

use crate::InputError;

/// A header's hash, target, difficulty and work.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct HeaderInfo {
    /// The header's fields.
    pub header: Header,
    /// Its hash: the double SHA-256 of its 80 bytes, shown byte-reversed.
    pub hash: BlockHash,
    /// The target its `bits` decode to, or `None` if they are not a usable target.
    pub target: Option<Target>,
    /// Why the bits are not a target, if they are not.
    pub bad_target: Option<String>,
    /// The target of difficulty 1 under these rules (the limit, as its compact form decodes).
    pub difficulty_one: Target,
    /// How many times harder than difficulty 1 the target is (Bitcoin's "difficulty").
    pub difficulty: Option<f64>,
    /// The expected number of hashes to meet the target: what the block adds to chain work.
    pub work: Option<Work>,
    /// True if the hash is at most the target.
    pub meets_target: bool,
    /// True if the target is at most the chain's proof-of-work limit.
    pub within_limit: bool,
    /// Leading zero bits of the hash read as a number: a picture of the work done.
    pub hash_leading_zero_bits: u32,
}

/// Returns the proof of work of the one header in `bytes` (80 raw bytes or 160 hex digits)
/// under `params`.
///
/// # Errors
/// [`InputError::HeaderFile`] or [`InputError::NotOneHeader`] if `bytes` is not one header.
pub fn header_info(params: &ChainParams, bytes: &[u8]) -> Result<HeaderInfo, InputError> {
    let file = HeaderFile::parse(bytes)?;
    let [raw] = file.headers.as_slice() else {
        return Err(InputError::NotOneHeader(file.headers.len()));
    };
    let header = Header::from_bytes(raw);
    let hash = header.block_hash();
    let target = header.bits.to_target();
    let one = difficulty_one(params);
    let zero_bits = hash
        .as_byte_array()
        .iter()
        .rev()
        .position(|&byte| byte != 0)
        .map_or(256, |zero_bytes| {
            let first = hash.as_byte_array()[31 - zero_bytes];
            8 * zero_bytes as u32 + first.leading_zeros()
        });
    Ok(HeaderInfo {
        header,
        hash,
        target: target.as_ref().ok().copied(),
        bad_target: target.as_ref().err().map(ToString::to_string),
        difficulty_one: one,
        difficulty: target.as_ref().ok().map(|t| t.difficulty(one)),
        work: target.as_ref().ok().map(|t| t.work()),
        meets_target: target.as_ref().is_ok_and(|t| t.is_met_by(hash)),
        within_limit: target.as_ref().is_ok_and(|t| *t <= params.pow_limit),
        hash_leading_zero_bits: zero_bits,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    #[test]
    fn bitcoins_genesis_is_difficulty_one_and_meets_its_target() {
        let info = header_info(&ChainParams::bitcoin(), GENESIS.as_bytes()).expect("a header");
        assert_eq!(
            info.hash.to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(info.difficulty, Some(1.0));
        assert!(info.meets_target && info.within_limit);
        // 0x000000000019d6…: ten zero hex digits, then 0x19 = 0b0001_1001.
        assert_eq!(info.hash_leading_zero_bits, 43);
        assert_eq!(
            info.work.map(|w| w.to_string()).as_deref(),
            Some("0x100010001")
        );
    }

    #[test]
    fn anything_but_one_header_is_an_error() {
        let two = format!("{GENESIS}\n{GENESIS}");
        let bitcoin = ChainParams::bitcoin();
        assert_eq!(
            header_info(&bitcoin, two.as_bytes()).err(),
            Some(InputError::NotOneHeader(2))
        );
        assert!(header_info(&bitcoin, &[0; 79]).is_err());
    }
}
