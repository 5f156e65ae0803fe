//! Hashes: SHA-256, Bitcoin's double SHA-256, and the newtypes that say what a hash is of.
//!
//! A block is named by the double SHA-256 of its 80-byte header. Bitcoin shows hashes byte-reversed
//! (so that the leading zeros of proof of work come first), and stores them in "internal" order, the
//! order the hash function wrote them. These types keep the internal order and reverse only when
//! they are displayed or parsed.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// Returns SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// Returns SHA-256 of SHA-256 of `data`, the hash Bitcoin uses for headers.
///
/// The bytes are in the order the hash function writes them ("internal" order); wrap them in
/// [`BlockHash`] to show them the way Bitcoin does.
///
/// ```
/// use ironchain_core::hash::{sha256, sha256d};
///
/// // SHA256(SHA256("")), a widely published vector.
/// let hash = sha256d(b"");
/// assert_eq!(
///     hex::encode(hash),
///     "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
/// );
/// assert_eq!(hash, sha256(&sha256(b"")));
/// ```
pub fn sha256d(data: &[u8]) -> [u8; 32] {
    sha256(&sha256(data))
}

/// A hash's hex text could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseHashError {
    /// The text was not 64 hex digits long.
    #[error("expected 64 hex digits, found {0} characters")]
    Length(usize),
    /// The text had a character that is not a hex digit.
    #[error("expected hex digits only: {0}")]
    Hex(#[from] hex::FromHexError),
}

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name([u8; 32]);

        impl $name {
            /// The hash of all zero bytes (a genesis header's previous-block hash).
            pub const ZERO: Self = Self([0; 32]);

            /// Wraps 32 bytes in internal (hash function output) order.
            pub const fn from_byte_array(bytes: [u8; 32]) -> Self {
                Self(bytes)
            }

            /// Returns the 32 bytes in internal order.
            pub const fn to_byte_array(self) -> [u8; 32] {
                self.0
            }

            /// Returns the 32 bytes in internal order.
            pub const fn as_byte_array(&self) -> &[u8; 32] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            /// Formats the hash as Bitcoin shows it: byte-reversed lower-case hex.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                for byte in self.0.iter().rev() {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;

            /// Parses byte-reversed hex, as [`Display`](fmt::Display) writes it.
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                if s.len() != 64 {
                    return Err(ParseHashError::Length(s.len()));
                }
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(s, &mut bytes)?;
                bytes.reverse();
                Ok(Self(bytes))
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hash_newtype!(
    /// The double SHA-256 of a block header: the block's name, and the link the next block holds.
    ///
    /// It displays and parses as Bitcoin shows hashes, byte-reversed, so a hash that meets a hard
    /// target starts with zeros:
    ///
    /// ```
    /// use ironchain_core::BlockHash;
    /// use ironchain_core::hash::ParseHashError;
    ///
    /// // Bitcoin's genesis block hash, as block explorers show it.
    /// let shown = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
    /// let hash: BlockHash = shown.parse()?;
    /// assert_eq!(hash.to_string(), shown);
    /// // Internally the bytes are in hash-function order: the zeros come last.
    /// assert_eq!(hash.as_byte_array()[0], 0x6f);
    /// assert_eq!(hash.as_byte_array()[31], 0x00);
    ///
    /// // Text that is not 64 hex digits is an error that says what was found.
    /// assert_eq!("00ff".parse::<BlockHash>(), Err(ParseHashError::Length(4)));
    /// # Ok::<(), ParseHashError>(())
    /// ```
    BlockHash
);
hash_newtype!(
    /// The root of the RFC 6962 Merkle tree over a block's records (see [`crate::merkle`]).
    MerkleRoot
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_hash_displays_byte_reversed_and_parses_back() {
        // Bitcoin's genesis hash, as block explorers show it.
        let shown = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
        let hash: BlockHash = shown.parse().expect("valid hex");
        assert_eq!(
            hash.as_byte_array()[0],
            0x6f,
            "internal order starts with the last shown byte"
        );
        assert_eq!(hash.to_string(), shown);
    }

    #[test]
    fn malformed_hash_text_is_an_error() {
        assert_eq!("00".parse::<BlockHash>(), Err(ParseHashError::Length(2)));
        let not_hex = "zz".repeat(32);
        assert!(matches!(
            not_hex.parse::<BlockHash>(),
            Err(ParseHashError::Hex(_))
        ));
    }

    #[test]
    fn sha256d_of_empty_input_matches_known_value() {
        // SHA256(SHA256("")), a widely published vector.
        assert_eq!(
            hex::encode(sha256d(b"")),
            "5df6e0e2761359d30a8275058e299fcc0381534545f55cf43e41983f5d4c9456"
        );
    }
}
