//! The Merkle tree over a block's records, as RFC 6962 (Certificate Transparency) defines it.
//!
//! A header has room for one 32-byte commitment to the block's records: the root of this tree.
//! Changing, adding, removing or reordering any record changes the root, so the header's proof of
//! work covers the records too. The tree also gives short proofs: an [`InclusionProof`] shows that
//! one record is in a block with about log2(n) hashes, without the other records.
//!
//! RFC 6962 section 2.1, with SHA-256:
//! ```text
//! MTH({})       = SHA-256()
//! MTH({d0})     = SHA-256(0x00 || d0)                           a leaf
//! MTH(D[0..n])  = SHA-256(0x01 || MTH(D[0..k]) || MTH(D[k..n]))  a node; k = largest power of 2 < n
//! ```
//! The distinct leaf and node prefixes mean no inner node can pass for a record (the weakness of
//! Bitcoin's own tree, CVE-2012-2459, which duplicates the last node of odd levels).

use sha2::{Digest, Sha256};

use crate::hash::MerkleRoot;

/// Returns the hash of one record as a leaf: SHA-256(0x00 || record).
pub fn leaf_hash(record: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0x00]);
    hasher.update(record);
    hasher.finalize().into()
}

/// Returns the hash of an inner node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update([0x01]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// Returns the root of the tree over `records`, in order.
///
/// ```
/// use ironchain_core::merkle;
///
/// let records = ["alice pays bob 10", "bob pays carol 4", "carol pays dave 1"];
/// let root = merkle::root(&records);
///
/// // Changing, reordering or dropping any record changes the root.
/// assert_ne!(merkle::root(&["alice pays bob 99", records[1], records[2]]), root);
/// assert_ne!(merkle::root(&[records[1], records[0], records[2]]), root);
/// assert_ne!(merkle::root(&records[..2]), root);
///
/// // The empty tree's root is SHA-256 of nothing (RFC 6962), in internal byte order.
/// let none: [&[u8]; 0] = [];
/// assert_eq!(
///     hex::encode(merkle::root(&none).to_byte_array()),
///     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/// );
/// ```
pub fn root<R: AsRef<[u8]>>(records: &[R]) -> MerkleRoot {
    if records.is_empty() {
        return MerkleRoot::from_byte_array(Sha256::digest([]).into());
    }
    MerkleRoot::from_byte_array(subtree(records))
}

/// MTH of a non-empty slice.
fn subtree<R: AsRef<[u8]>>(records: &[R]) -> [u8; 32] {
    match records {
        [one] => leaf_hash(one.as_ref()),
        _ => {
            let (left, right) = records.split_at(split_point(records.len()));
            node_hash(&subtree(left), &subtree(right))
        }
    }
}

/// The largest power of two below `n` (for n >= 2): where RFC 6962 splits a tree.
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// A proof that one record is at `leaf_index` in a tree of `tree_size` records: the RFC 6962
/// audit path, the sibling hashes from the leaf up to the root.
///
/// Whoever holds a block's header (and so its merkle root) can check that a record is in the
/// block with the record and about log2(n) hashes, without the other records:
///
/// ```
/// use ironchain_core::merkle::{self, InclusionProof, ProofError};
///
/// let records: Vec<Vec<u8>> = (0..5).map(|i| format!("record {i}").into_bytes()).collect();
/// let root = merkle::root(&records);
///
/// let proof = InclusionProof::new(&records, 3).expect("record 3 exists");
/// assert_eq!(proof.path.len(), 3); // a tree of 5 records is 3 levels deep
/// assert_eq!(proof.verify(b"record 3", root), Ok(()));
///
/// // The same proof does not vouch for a record that is not there.
/// assert!(matches!(
///     proof.verify(b"record 33", root),
///     Err(ProofError::RootMismatch { .. })
/// ));
/// assert!(InclusionProof::new(&records, 5).is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct InclusionProof {
    /// The record's position in the block.
    pub leaf_index: u64,
    /// How many records the block has.
    pub tree_size: u64,
    /// Sibling hashes, leaf level first.
    #[cfg_attr(feature = "serde", serde(with = "hex_hashes"))]
    pub path: Vec<[u8; 32]>,
}

/// Why an inclusion proof does not prove what it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The index is not inside the tree.
    #[error("leaf index {leaf_index} is outside a tree of {tree_size} records")]
    IndexOutOfRange {
        /// The claimed index.
        leaf_index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The path has the wrong number of hashes for this index and size.
    #[error("the audit path has the wrong length for leaf {leaf_index} of {tree_size}")]
    WrongPathLength {
        /// The claimed index.
        leaf_index: u64,
        /// The claimed tree size.
        tree_size: u64,
    },
    /// The path leads to a different root: the record is not in this block (or the proof is
    /// for another block).
    #[error("the proof leads to root {computed}, not to the header's {expected}")]
    RootMismatch {
        /// The root the proof computes.
        computed: MerkleRoot,
        /// The root in the header.
        expected: MerkleRoot,
    },
}

impl InclusionProof {
    /// Builds the proof for the record at `index`, or `None` if there is no such record.
    pub fn new<R: AsRef<[u8]>>(records: &[R], index: usize) -> Option<Self> {
        if index >= records.len() {
            return None;
        }
        let mut path = Vec::new();
        audit_path(records, index, &mut path);
        Some(Self {
            leaf_index: index as u64,
            tree_size: records.len() as u64,
            path,
        })
    }

    /// Checks that `record` is in the tree whose root is `root`.
    ///
    /// # Errors
    /// Returns which check failed: the index, the path's length, or the root it leads to.
    pub fn verify(&self, record: &[u8], root: MerkleRoot) -> Result<(), ProofError> {
        let (leaf_index, tree_size) = (self.leaf_index, self.tree_size);
        if leaf_index >= tree_size {
            return Err(ProofError::IndexOutOfRange {
                leaf_index,
                tree_size,
            });
        }
        // RFC 9162 section 2.1.3.2: walk up, the bits of the index saying which side we are on.
        let (mut index, mut last) = (leaf_index, tree_size - 1);
        let mut hash = leaf_hash(record);
        for sibling in &self.path {
            if last == 0 {
                return Err(ProofError::WrongPathLength {
                    leaf_index,
                    tree_size,
                });
            }
            if index & 1 == 1 || index == last {
                hash = node_hash(sibling, &hash);
                // A right-most node with no sibling at this level rises unchanged.
                while index & 1 == 0 && index != 0 {
                    index >>= 1;
                    last >>= 1;
                }
            } else {
                hash = node_hash(&hash, sibling);
            }
            index >>= 1;
            last >>= 1;
        }
        if last != 0 {
            return Err(ProofError::WrongPathLength {
                leaf_index,
                tree_size,
            });
        }
        let computed = MerkleRoot::from_byte_array(hash);
        if computed == root {
            Ok(())
        } else {
            Err(ProofError::RootMismatch {
                computed,
                expected: root,
            })
        }
    }
}

/// PATH(m, D[n]) of RFC 6962 section 2.1.1, leaf level first.
fn audit_path<R: AsRef<[u8]>>(records: &[R], index: usize, path: &mut Vec<[u8; 32]>) {
    if records.len() <= 1 {
        return;
    }
    let k = split_point(records.len());
    let (left, right) = records.split_at(k);
    if index < k {
        audit_path(left, index, path);
        path.push(subtree(right));
    } else {
        audit_path(right, index - k, path);
        path.push(subtree(left));
    }
}

#[cfg(feature = "serde")]
mod hex_hashes {
    use serde::{Deserialize, Deserializer, Serializer, de::Error, ser::SerializeSeq};

    pub(super) fn serialize<S: Serializer>(path: &[[u8; 32]], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(path.len()))?;
        for hash in path {
            seq.serialize_element(&hex::encode(hash))?;
        }
        seq.end()
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<[u8; 32]>, D::Error> {
        let texts = Vec::<String>::deserialize(d)?;
        texts
            .iter()
            .map(|text| {
                let mut hash = [0u8; 32];
                hex::decode_to_slice(text, &mut hash).map_err(D::Error::custom)?;
                Ok(hash)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The leaves of the RFC 6962 reference test tree (certificate-transparency-go and
    /// Google's trillian use the same eight inputs).
    const RFC_LEAVES: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];

    fn root_hex(records: &[&[u8]]) -> String {
        hex::encode(root(records).to_byte_array())
    }

    #[test]
    fn roots_match_the_rfc6962_reference_tree() {
        // Expected roots from the CT reference tests (merkle_tree_test.cc), per tree size.
        #[rustfmt::skip]
        let expected = [
            (1, "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
            (2, "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"),
            (3, "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"),
            (4, "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            (5, "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4"),
            (6, "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef"),
            (7, "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c"),
            (8, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"),
        ];
        for (size, root) in expected {
            assert_eq!(root_hex(&RFC_LEAVES[..size]), root, "tree of {size}");
        }
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            root_hex(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn every_leaf_of_every_size_has_a_proof_that_verifies() {
        for size in 1..=RFC_LEAVES.len() + 9 {
            let records: Vec<Vec<u8>> = (0..size).map(|i| vec![i as u8; i % 5]).collect();
            let root = root(&records);
            for (index, record) in records.iter().enumerate() {
                let proof = InclusionProof::new(&records, index).expect("index in range");
                assert_eq!(proof.verify(record, root), Ok(()), "leaf {index} of {size}");
            }
            assert!(InclusionProof::new(&records, size).is_none());
        }
    }

    #[test]
    fn proof_of_another_record_or_a_bent_path_fails() {
        let records: Vec<&[u8]> = RFC_LEAVES.to_vec();
        let root = root(&records);
        let proof = InclusionProof::new(&records, 3).expect("index in range");
        assert!(matches!(
            proof.verify(b"not there", root),
            Err(ProofError::RootMismatch { .. })
        ));
        let mut short = proof.clone();
        short.path.pop();
        assert!(matches!(
            short.verify(records[3], root),
            Err(ProofError::WrongPathLength { .. })
        ));
        let mut long = proof.clone();
        long.path.push([0; 32]);
        assert!(matches!(
            long.verify(records[3], root),
            Err(ProofError::WrongPathLength { .. })
        ));
        let outside = InclusionProof {
            leaf_index: 8,
            ..proof
        };
        assert!(matches!(
            outside.verify(records[3], root),
            Err(ProofError::IndexOutOfRange { .. })
        ));
    }
}
