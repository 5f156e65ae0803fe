//! Which rules to check against: a chain built into core by name, or the rules a node serves.
//!
//! A node stores its chain's rules with the chain and serves the same bytes at `GET /params`
//! (layout: [`ironchain_core::params::encoding`]); decoding them here, with the same checks the
//! store makes, lets a page verify a node's blocks under that node's own rules without trusting
//! anything else it says.

use ironchain_core::params::encoding::decode_params;
use ironchain_core::pow::{CompactTarget, Target};
use ironchain_core::{BlockHash, ChainParams};

use crate::InputError;

/// Returns the built-in chain called `name`: `bitcoin`, `demo` or `regtest`.
///
/// # Errors
/// [`InputError::UnknownChain`] for any other name.
pub fn named(name: &str) -> Result<ChainParams, InputError> {
    ChainParams::preset(name).ok_or_else(|| InputError::UnknownChain(name.into()))
}

/// Decodes rules a node serves (`GET /params`) and checks that they describe a usable chain.
///
/// # Errors
/// [`InputError::Rules`] naming what is malformed or unusable.
pub fn encoded(bytes: &[u8]) -> Result<ChainParams, InputError> {
    Ok(decode_params(bytes)?)
}

/// The rules, as a page shows them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RulesSummary {
    /// The chain's name.
    pub name: String,
    /// The genesis block's hash, which identifies the chain.
    pub genesis: BlockHash,
    /// The easiest target a block may have.
    pub pow_limit: Target,
    /// The limit in compact form (the bits of a block at difficulty 1).
    pub pow_limit_bits: CompactTarget,
    /// Seconds the retarget aims for between blocks.
    pub target_spacing: u32,
    /// Blocks between retargets.
    pub retarget_interval: u32,
    /// Seconds one retarget period should take.
    pub target_timespan: u64,
    /// The largest block encoding accepted, in bytes.
    pub max_block_size: usize,
    /// Blocks the median-time-past rule looks back over.
    pub median_time_span: usize,
    /// Seconds a block's time may run ahead of the checker's clock.
    pub max_future_drift: u32,
}

/// Returns what a page shows of `params`.
pub fn summary(params: &ChainParams) -> RulesSummary {
    RulesSummary {
        name: params.name.clone(),
        genesis: params.genesis_hash(),
        pow_limit: params.pow_limit,
        pow_limit_bits: params.pow_limit.to_compact_lossy(),
        target_spacing: params.target_spacing,
        retarget_interval: params.retarget_interval,
        target_timespan: params.target_timespan(),
        max_block_size: params.max_block_size,
        median_time_span: params.median_time_span,
        max_future_drift: params.max_future_drift,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironchain_core::params::encoding::encode_params;

    #[test]
    fn a_nodes_rules_decode_to_the_rules_it_encoded() {
        let params = ChainParams::demo();
        assert_eq!(encoded(&encode_params(&params)), Ok(params));
    }

    #[test]
    fn damaged_rules_are_an_error_not_a_panic() {
        let bytes = encode_params(&ChainParams::regtest());
        for len in 0..bytes.len() {
            assert!(encoded(&bytes[..len]).is_err(), "a prefix of {len} bytes");
        }
        assert!(matches!(
            named("dogecoin"),
            Err(InputError::UnknownChain(_))
        ));
    }
}
