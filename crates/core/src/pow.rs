//! Proof of work: targets, their compact `bits` encoding, and the work a target represents.
//!
//! A block is valid only if its hash, read as a 256-bit number, is at most the target. The header
//! stores the target in 32 bits ("compact" form, as Bitcoin does), which is lossy: see
//! [`CompactTarget`]. The expected number of hashes needed to meet a target is its [`Work`];
//! the chain with the most summed work is the one that cost the most to make.

use std::fmt;

use ruint::aliases::{U256, U512};

use crate::hash::BlockHash;

/// The `bits` field of a header: a 256-bit target in Bitcoin's 32-bit floating-point form.
///
/// The top byte is a size in bytes (the exponent); the low 23 bits are the mantissa; bit 23 is a
/// sign bit that a valid target never sets. The encoding is Bitcoin Core's
/// `arith_uint256::SetCompact`/`GetCompact` (src/arith_uint256.cpp), reproduced exactly, sign and
/// overflow cases included, so that real headers check the same way here as there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct CompactTarget(u32);

/// The value a [`CompactTarget`] stands for, with the two flags Bitcoin Core reports beside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedCompact {
    /// The 256-bit value (bits shifted out past 2^256 are lost, as in Core).
    pub value: U256,
    /// The sign bit was set on a non-zero mantissa.
    pub negative: bool,
    /// The value does not fit in 256 bits.
    pub overflow: bool,
}

/// Why a `bits` field is not a usable target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompactTargetError {
    /// The sign bit is set: targets are positive.
    #[error("compact target {0} is negative")]
    Negative(CompactTarget),
    /// The value is larger than 2^256.
    #[error("compact target {0} overflows 256 bits")]
    Overflow(CompactTarget),
    /// The value is zero: no hash could meet it.
    #[error("compact target {0} is zero")]
    Zero(CompactTarget),
}

impl CompactTarget {
    /// Wraps the `bits` field exactly as it appears in a header.
    pub const fn from_consensus(bits: u32) -> Self {
        Self(bits)
    }

    /// Returns the `bits` field as it appears in a header.
    pub const fn to_consensus(self) -> u32 {
        self.0
    }

    /// Decodes as Bitcoin Core's `SetCompact` does, reporting the sign and overflow flags.
    pub fn decode(self) -> DecodedCompact {
        let size = self.0 >> 24;
        let mut word = self.0 & 0x007f_ffff;
        let value = if size <= 3 {
            word >>= 8 * (3 - size);
            U256::from(word)
        } else {
            // Shifting past 256 bits yields zero bits, as arith_uint256's operator<<= does.
            U256::from(word) << (8 * (size as usize - 3))
        };
        let negative = word != 0 && (self.0 & 0x0080_0000) != 0;
        let overflow =
            word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
        DecodedCompact {
            value,
            negative,
            overflow,
        }
    }

    /// Encodes `value` as Bitcoin Core's `GetCompact(negative)` does.
    ///
    /// This loses every bit below the top 23 significant bits of `value`.
    pub fn encode(value: U256, negative: bool) -> Self {
        let mut size = value.bit_len().div_ceil(8) as u32;
        let mut compact: u32 = if size <= 3 {
            value.saturating_to::<u32>() << (8 * (3 - size))
        } else {
            (value >> (8 * (size as usize - 3))).saturating_to::<u32>()
        };
        // The mantissa's top bit would read as a sign: move one byte into the exponent.
        if compact & 0x0080_0000 != 0 {
            compact >>= 8;
            size += 1;
        }
        compact |= size << 24;
        if negative && (compact & 0x007f_ffff) != 0 {
            compact |= 0x0080_0000;
        }
        Self(compact)
    }

    /// Returns the target, or why these bits are not a usable one.
    ///
    /// ```
    /// use ironchain_core::pow::{CompactTarget, CompactTargetError};
    ///
    /// // Bitcoin's genesis bits: 0xffff shifted up 26 bytes (size 0x1d = 29, less 3 for 0xffff).
    /// let target = CompactTarget::from_consensus(0x1d00_ffff).to_target()?;
    /// assert_eq!(
    ///     target.to_string(),
    ///     "00000000ffff0000000000000000000000000000000000000000000000000000"
    /// );
    ///
    /// // Bitcoin Core's arith_uint256 tests: 0x01fedcba has the sign bit set.
    /// let negative = CompactTarget::from_consensus(0x01fe_dcba);
    /// assert_eq!(negative.to_target(), Err(CompactTargetError::Negative(negative)));
    /// let zero = CompactTarget::from_consensus(0);
    /// assert_eq!(zero.to_target(), Err(CompactTargetError::Zero(zero)));
    /// # Ok::<(), CompactTargetError>(())
    /// ```
    ///
    /// # Errors
    /// A negative, overflowing or zero target is an error (Bitcoin Core's `DeriveTarget`).
    pub fn to_target(self) -> Result<Target, CompactTargetError> {
        let decoded = self.decode();
        if decoded.negative {
            Err(CompactTargetError::Negative(self))
        } else if decoded.overflow {
            Err(CompactTargetError::Overflow(self))
        } else if decoded.value.is_zero() {
            Err(CompactTargetError::Zero(self))
        } else {
            Ok(Target(decoded.value))
        }
    }
}

impl fmt::Display for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08x}", self.0)
    }
}

impl fmt::Debug for CompactTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CompactTarget({:#010x})", self.0)
    }
}

/// A 256-bit proof-of-work target: a block hash must be at most this to be valid.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

impl Target {
    /// The largest possible target: every hash meets it.
    pub const MAX: Self = Self(U256::MAX);

    /// Wraps a 256-bit number.
    pub const fn from_u256(value: U256) -> Self {
        Self(value)
    }

    /// Returns the 256-bit number.
    pub const fn to_u256(self) -> U256 {
        self.0
    }

    /// Builds a target from 32 big-endian bytes.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// Returns the target as 32 little-endian bytes: the byte order of a [`BlockHash`], so that
    /// the two compare as numbers by comparing bytes from the end (see
    /// [`crate::sha256d::meets_target`]).
    pub fn to_le_bytes(self) -> [u8; 32] {
        self.0.to_le_bytes()
    }

    /// Encodes the target in compact form, losing all but its top 23 significant bits.
    ///
    /// ```
    /// use ironchain_core::ChainParams;
    /// use ironchain_core::pow::CompactTarget;
    ///
    /// // Bitcoin's proof-of-work limit is 2^224 - 1; its compact form keeps only the top 16 bits
    /// // of it, and decodes to 0xffff * 2^208, a smaller number.
    /// let limit = ChainParams::bitcoin().pow_limit;
    /// let bits = limit.to_compact_lossy();
    /// assert_eq!(bits, CompactTarget::from_consensus(0x1d00_ffff));
    /// assert!(bits.to_target().expect("a valid target") < limit);
    ///
    /// // A target that is already a compact value survives the round trip.
    /// let target = bits.to_target().expect("a valid target");
    /// assert_eq!(target.to_compact_lossy().to_target(), Ok(target));
    /// ```
    pub fn to_compact_lossy(self) -> CompactTarget {
        CompactTarget::encode(self.0, false)
    }

    /// Returns true if `hash`, read as a little-endian 256-bit number, is at most this target.
    pub fn is_met_by(self, hash: BlockHash) -> bool {
        crate::sha256d::meets_target(hash.as_byte_array(), &self.to_le_bytes())
    }

    /// Returns the expected number of hashes to find a block at this target: 2^256 / (target + 1).
    ///
    /// ```
    /// use ironchain_core::pow::{CompactTarget, Target, Work};
    /// use ruint::aliases::U256;
    ///
    /// // A block at Bitcoin's genesis difficulty is worth 0x100010001 hashes (about 2^32), the
    /// // chainwork Bitcoin Core reports for block 0.
    /// let genesis = CompactTarget::from_consensus(0x1d00_ffff).to_target()?;
    /// assert_eq!(genesis.work(), Work::from_u256(U256::from(0x1_0001_0001_u64)));
    ///
    /// // Halve the target and the work doubles (rounded down).
    /// let harder = Target::from_u256(genesis.to_u256() >> 1);
    /// assert_eq!(harder.work().to_u256(), U256::from(0x2_0002_0002_u64));
    /// # Ok::<(), ironchain_core::pow::CompactTargetError>(())
    /// ```
    pub fn work(self) -> Work {
        // 2^256 does not fit in 256 bits; Bitcoin Core's GetBlockProof rewrites it as
        // (~target / (target + 1)) + 1, which does.
        match self.0.checked_add(U256::from(1u8)) {
            Some(divisor) => Work((!self.0 / divisor) + U256::from(1u8)),
            None => Work(U256::from(1u8)),
        }
    }

    /// Returns `max / self` as a float: Bitcoin's "difficulty" when `max` is the proof-of-work
    /// limit, 1.0 for the easiest block the chain allows.
    pub fn difficulty(self, max: Target) -> f64 {
        u256_to_f64(max.0) / u256_to_f64(self.0).max(1.0)
    }

    /// Multiplies by `numerator / denominator` in 512-bit arithmetic and caps the result at `cap`.
    ///
    /// This is the retarget step. Bitcoin Core computes it in 256 bits, which cannot overflow for
    /// Bitcoin's limit and a clamped timespan; the wider product gives the same answer there and
    /// stays right for chains whose limit is near 2^256.
    ///
    /// # Panics
    /// Panics if `denominator` is zero.
    pub fn scale(self, numerator: u64, denominator: u64, cap: Target) -> Target {
        assert!(
            denominator != 0,
            "retarget denominator is a positive timespan"
        );
        let wide: U512 = self.0.to::<U512>() * U512::from(numerator) / U512::from(denominator);
        if wide > cap.0.to::<U512>() {
            cap
        } else {
            Target(wide.to::<U256>())
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:064x}", self.0)
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({self})")
    }
}

/// Expected hashes: the work of one block, or the sum over a chain ("chainwork").
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Work(U256);

impl Work {
    /// No work at all: the work of an empty chain.
    pub const ZERO: Self = Self(U256::ZERO);

    /// Wraps a 256-bit number.
    pub const fn from_u256(value: U256) -> Self {
        Self(value)
    }

    /// Returns the 256-bit number.
    pub const fn to_u256(self) -> U256 {
        self.0
    }

    /// Builds work from 32 big-endian bytes (the layout Bitcoin tools print chainwork in).
    pub fn from_be_bytes(bytes: [u8; 32]) -> Self {
        Self(U256::from_be_bytes(bytes))
    }

    /// Returns the work as 32 big-endian bytes.
    pub fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// Returns the work as a float, for display and rates (exact below 2^53).
    pub fn to_f64(self) -> f64 {
        u256_to_f64(self.0)
    }

    /// Returns the sum of two amounts of work, saturating at 2^256 - 1, which no real chain
    /// approaches: its work is bounded by the hashes actually done.
    #[must_use]
    pub fn saturating_add(self, other: Work) -> Work {
        Work(self.0.saturating_add(other.0))
    }
}

impl std::ops::Add for Work {
    type Output = Work;

    fn add(self, other: Work) -> Work {
        self.saturating_add(other)
    }
}

impl std::ops::AddAssign for Work {
    fn add_assign(&mut self, other: Work) {
        *self = self.saturating_add(other);
    }
}

impl std::iter::Sum for Work {
    fn sum<I: Iterator<Item = Work>>(iter: I) -> Work {
        iter.fold(Work::ZERO, Work::saturating_add)
    }
}

impl fmt::Display for Work {
    /// Formats as hex with a `0x` prefix and no leading zeros, as Bitcoin Core's RPC shows
    /// chainwork in full.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

impl fmt::Debug for Work {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Work({self})")
    }
}

fn u256_to_f64(value: U256) -> f64 {
    value.as_limbs().iter().rev().fold(0.0, |acc, &limb| {
        acc * 18_446_744_073_709_551_616.0 + limb as f64
    })
}

#[cfg(feature = "serde")]
mod serde_impls {
    use super::{CompactTarget, Target, Work};

    impl serde::Serialize for CompactTarget {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl serde::Serialize for Target {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }

    impl serde::Serialize for Work {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            s.collect_str(self)
        }
    }
}

#[cfg(test)]
mod tests;
