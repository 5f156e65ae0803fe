//! The byte layout of a chain's rules, so they can be stored with the chain and served to anyone
//! who wants to check its blocks (the node serves them at `GET /params`; the WebAssembly build
//! of this crate reads them in the browser).
//!
//! All integers are little-endian; the decoder treats its input as damaged until proven
//! otherwise, since the bytes come from a database file that can be changed behind our back, or
//! from the network.
//!
//! Chain parameters, version 1:
//! ```text
//! offset  size  field
//!      0     1  layout version, 1
//!      1     2  name length n, u16
//!      3     n  name, UTF-8
//!    3+n    32  pow_limit, big-endian 256-bit number
//!   35+n     4  target_spacing, seconds, u32
//!   39+n     4  retarget_interval, blocks, u32
//!   43+n     8  max_block_size, bytes, u64
//!   51+n     4  median_time_span, blocks, u32
//!   55+n     4  max_future_drift, seconds, u32
//!   59+n     …  genesis block, canonical encoding, to the end
//! ```

use crate::block::Block;
use crate::params::ChainParams;
use crate::pow::Target;
use crate::validate::check_body;

/// Why chain parameters are unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParamsError {
    /// The bytes are not the layout above.
    #[error("chain parameters are malformed: {0}")]
    Malformed(&'static str),
    /// A value makes the rules unusable.
    #[error("unusable chain parameters: {0}")]
    Unusable(String),
}

/// The shortest retarget period, in seconds, whose quarter is still positive.
const MIN_TARGET_TIMESPAN: u64 = 4;
/// The longest retarget period, in seconds, the retarget arithmetic is meant for.
const MAX_TARGET_TIMESPAN: u64 = 1 << 40;

/// The largest `median_time_span` the core's verifier supports (it sorts on a 64-slot stack).
const MAX_MEDIAN_TIME_SPAN: usize = 64;

/// Checks that `params` describe a chain the core can run: positive spacing and interval, a
/// median span the verifier supports, and a valid genesis block.
///
/// # Errors
/// [`ParamsError::Unusable`] naming the first bad value.
pub fn check_params(params: &ChainParams) -> Result<(), ParamsError> {
    let bad = |what: String| Err(ParamsError::Unusable(what));
    if params.target_spacing == 0 {
        return bad("target_spacing must be at least one second".into());
    }
    if params.retarget_interval < 2 {
        // A period is measured over interval - 1 gaps: with one block there is nothing to measure.
        return bad("retarget_interval must be at least two blocks".into());
    }
    // The retarget clamps a period's timespan to a quarter of the target; below four seconds that
    // quarter rounds to zero and the next target would be zero, which no block can meet. Above
    // 2^40 s (35,000 years) the arithmetic has no meaning left.
    let timespan = params.target_timespan();
    if !(MIN_TARGET_TIMESPAN..=MAX_TARGET_TIMESPAN).contains(&timespan) {
        return bad(format!(
            "retarget_interval x target_spacing must be {MIN_TARGET_TIMESPAN} to \
             {MAX_TARGET_TIMESPAN} seconds, found {timespan}"
        ));
    }
    if params.median_time_span == 0 || params.median_time_span > MAX_MEDIAN_TIME_SPAN {
        return bad(format!(
            "median_time_span must be 1 to {MAX_MEDIAN_TIME_SPAN}"
        ));
    }
    if let Err(rule) = check_body(params, &params.genesis) {
        return bad(format!("the genesis block is invalid: {rule}"));
    }
    match params.genesis.header.bits.to_target() {
        Ok(target) if target <= params.pow_limit && target.is_met_by(params.genesis_hash()) => {
            Ok(())
        }
        _ => bad("the genesis block does not meet its target within the pow limit".into()),
    }
}

/// Encodes `params` in the layout above.
///
/// # Panics
/// Panics if the name is longer than 65,535 bytes.
pub fn encode_params(params: &ChainParams) -> Vec<u8> {
    let mut out = vec![1u8];
    let name = params.name.as_bytes();
    let len = u16::try_from(name.len()).expect("a chain name is shorter than 64 KiB");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(name);
    let mut limit = params.pow_limit.to_le_bytes();
    limit.reverse();
    out.extend_from_slice(&limit);
    out.extend_from_slice(&params.target_spacing.to_le_bytes());
    out.extend_from_slice(&params.retarget_interval.to_le_bytes());
    out.extend_from_slice(&(params.max_block_size as u64).to_le_bytes());
    out.extend_from_slice(&(params.median_time_span as u32).to_le_bytes());
    out.extend_from_slice(&params.max_future_drift.to_le_bytes());
    params.genesis.encode_into(&mut out);
    out
}

/// Decodes and checks parameters written by [`encode_params`].
///
/// # Errors
/// [`ParamsError`] if the bytes are malformed or describe an unusable chain.
pub fn decode_params(bytes: &[u8]) -> Result<ChainParams, ParamsError> {
    let mut r = Cursor { bytes };
    if r.take(1)? != [1] {
        return Err(ParamsError::Malformed("unknown layout version"));
    }
    let name_len = usize::from(u16::from_le_bytes(r.array()?));
    let name = std::str::from_utf8(r.take(name_len)?)
        .map_err(|_| ParamsError::Malformed("name is not UTF-8"))?
        .to_owned();
    let pow_limit = Target::from_be_bytes(r.array()?);
    let target_spacing = u32::from_le_bytes(r.array()?);
    let retarget_interval = u32::from_le_bytes(r.array()?);
    let max_block_size = usize::try_from(u64::from_le_bytes(r.array()?))
        .map_err(|_| ParamsError::Malformed("max_block_size does not fit in memory"))?;
    let median_time_span = u32::from_le_bytes(r.array()?) as usize;
    let max_future_drift = u32::from_le_bytes(r.array()?);
    let genesis = Block::decode(r.bytes, max_block_size)
        .map_err(|_| ParamsError::Malformed("genesis block does not decode"))?;
    let params = ChainParams {
        name,
        genesis,
        pow_limit,
        target_spacing,
        retarget_interval,
        max_block_size,
        median_time_span,
        max_future_drift,
    };
    check_params(&params)?;
    Ok(params)
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ParamsError> {
        if n > self.bytes.len() {
            return Err(ParamsError::Malformed("ends early"));
        }
        let (head, tail) = self.bytes.split_at(n);
        self.bytes = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], ParamsError> {
        Ok(self.take(N)?.try_into().expect("take returned N bytes"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_record_chain_preset_round_trips_through_the_params_layout() {
        for params in [ChainParams::demo(), ChainParams::regtest()] {
            assert_eq!(decode_params(&encode_params(&params)), Ok(params));
        }
    }

    #[test]
    fn the_bitcoin_preset_cannot_hold_records_and_is_refused() {
        // Its genesis commits to Bitcoin's coinbase, which ironchain does not store.
        assert!(matches!(
            check_params(&ChainParams::bitcoin()),
            Err(ParamsError::Unusable(_))
        ));
    }

    #[test]
    fn cut_params_are_malformed_not_a_panic() {
        let bytes = encode_params(&ChainParams::demo());
        for len in 0..bytes.len() {
            assert!(
                decode_params(&bytes[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
    }

    #[test]
    fn zero_spacing_is_refused() {
        let mut params = ChainParams::regtest();
        params.target_spacing = 0;
        assert!(matches!(
            check_params(&params),
            Err(ParamsError::Unusable(_))
        ));
    }

    /// Found by reading the guide's commands against the code: `init --chain custom
    /// --retarget-interval 1 --spacing 1` made a chain whose first retarget demanded a zero
    /// target (a quarter of a 1 s timespan rounds to 0), so no block could ever be mined again.
    #[test]
    fn a_retarget_period_too_short_to_quarter_is_refused() {
        for (interval, spacing) in [(1, 600), (2, 1), (3, 1)] {
            let params = ChainParams {
                retarget_interval: interval,
                target_spacing: spacing,
                ..ChainParams::demo()
            };
            let error = check_params(&params).expect_err("refused");
            assert!(error.to_string().contains("retarget_interval"), "{error}");
        }
        let params = ChainParams {
            retarget_interval: 4,
            target_spacing: 1,
            ..ChainParams::demo()
        };
        assert_eq!(check_params(&params), Ok(()));
    }
}
