//! Byte layouts of what the store writes besides blocks: the tip, and (in core, since the node
//! serves them too) the chain's parameters.
//!
//! Blocks are stored in the core's canonical encoding ([`Block::encode`]); the chain's
//! parameters (`meta` key `params`) in the layout of [`ironchain_core::params::encoding`],
//! re-exported here. All integers are little-endian; every decoder treats its input as damaged
//! until proven otherwise, since the database file can be changed behind our back.
//!
//! The tip (`meta` key `tip`): height u64, hash 32 bytes (internal order), cumulative work
//! 32 bytes big-endian: 72 bytes.
//!
//! [`Block::encode`]: ironchain_core::Block::encode

use ironchain_core::BlockHash;
use ironchain_core::pow::{CompactTarget, Target, Work};

pub use ironchain_core::params::encoding::{
    ParamsError, check_params, decode_params, encode_params,
};

/// The chain's tip as the store records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipInfo {
    /// The tip's height (genesis is 0).
    pub height: u64,
    /// The tip's hash.
    pub hash: BlockHash,
    /// The cumulative work of every block, genesis included.
    pub work: Work,
}

/// The encoded size of a [`TipInfo`].
pub(crate) const TIP_SIZE: usize = 72;

pub(crate) fn encode_tip(tip: &TipInfo) -> [u8; TIP_SIZE] {
    let mut out = [0u8; TIP_SIZE];
    out[..8].copy_from_slice(&tip.height.to_le_bytes());
    out[8..40].copy_from_slice(tip.hash.as_byte_array());
    out[40..].copy_from_slice(&tip.work.to_be_bytes());
    out
}

pub(crate) fn decode_tip(bytes: &[u8]) -> Option<TipInfo> {
    let bytes: &[u8; TIP_SIZE] = bytes.try_into().ok()?;
    let (height, rest) = bytes.split_first_chunk::<8>()?;
    let (hash, work) = rest.split_first_chunk::<32>()?;
    Some(TipInfo {
        height: u64::from_le_bytes(*height),
        hash: BlockHash::from_byte_array(*hash),
        work: Work::from_be_bytes(work.try_into().ok()?),
    })
}

/// Returns the work of one block with these bits (zero for unusable bits, which validation
/// rejects before any block carrying them is stored).
pub(crate) fn block_work(bits: CompactTarget) -> Work {
    bits.to_target().map(Target::work).unwrap_or(Work::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tip_round_trips() {
        let tip = TipInfo {
            height: 7,
            hash: BlockHash::from_byte_array([3; 32]),
            work: Work::from_be_bytes([9; 32]),
        };
        assert_eq!(decode_tip(&encode_tip(&tip)), Some(tip));
        assert_eq!(decode_tip(&[0; 71]), None);
    }
}
