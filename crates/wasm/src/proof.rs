//! An inclusion proof document checked as `ironchain check-proof --json` checks it: the header,
//! the record and the audit path are the whole argument, so no chain is needed. (Whether that
//! header is in a chain worth trusting is the page's next question: it verifies the headers.)
//!
//! The module takes the document's parts as bytes ([`check_parts`]); the glue reads the JSON
//! (`JSON.parse` and hex, no rule) and passes them. Parsing JSON in the module would cost
//! 64 KB of its 200 KB budget (serde_json's deserializer), for no check of its own.

use ironchain_core::merkle::InclusionProof;
use ironchain_core::{BlockHash, Header};

use crate::InputError;

/// The proof document `ironchain prove` writes and the node's API serves; only the fields the
/// check needs (it also carries the height and the block hash, for people).
#[cfg(not(target_arch = "wasm32"))]
#[derive(Debug, Clone, serde::Deserialize)]
struct ProofDocument {
    /// The block's 80-byte header, hex.
    header: String,
    /// The record, hex.
    record: String,
    /// The RFC 6962 audit path.
    proof: InclusionProof,
}

/// What `ironchain check-proof --json` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ProofCheck {
    /// True if the record is in the block whose header the document carries.
    pub valid: bool,
    /// That header's hash, as it hashes now.
    pub block_hash: BlockHash,
    /// Why the proof fails, if it does.
    pub error: Option<String>,
}

/// Checks that `record` is leaf `leaf_index` of the `tree_size` records under the merkle root of
/// `header` (80 bytes), by the audit path `path` (32-byte hashes, leaf level first).
///
/// # Errors
/// [`InputError::ProofDocument`] if `header` is not 80 bytes.
pub fn check_parts(
    header: &[u8],
    record: &[u8],
    leaf_index: u64,
    tree_size: u64,
    path: &[[u8; 32]],
) -> Result<ProofCheck, InputError> {
    let header: &[u8; 80] = header
        .try_into()
        .map_err(|_| InputError::ProofDocument("the header is not 80 bytes".into()))?;
    let header = Header::from_bytes(header);
    let proof = InclusionProof {
        leaf_index,
        tree_size,
        path: path.to_vec(),
    };
    let verdict = proof.verify(record, header.merkle_root);
    Ok(ProofCheck {
        valid: verdict.is_ok(),
        block_hash: header.block_hash(),
        error: verdict.err().map(|error| error.to_string()),
    })
}

/// Checks the proof document `json`, as the module does once the glue has taken it apart.
/// (Native only: see the module docs.)
///
/// # Errors
/// [`InputError::NotText`] or [`InputError::ProofDocument`] if it is not a proof document.
#[cfg(not(target_arch = "wasm32"))]
pub fn check(json: &[u8]) -> Result<ProofCheck, InputError> {
    let text = std::str::from_utf8(json).map_err(|_| InputError::NotText)?;
    let document: ProofDocument =
        serde_json::from_str(text).map_err(|e| InputError::ProofDocument(e.to_string()))?;
    let bad = |what: &str| InputError::ProofDocument(what.into());
    let header = hex::decode(&document.header).map_err(|_| bad("the header is not hex"))?;
    let record = hex::decode(&document.record).map_err(|_| bad("the record is not hex"))?;
    let proof = document.proof;
    check_parts(
        &header,
        &record,
        proof.leaf_index,
        proof.tree_size,
        &proof.path,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use ironchain_core::{Blockchain, ChainParams};

    fn document(chain: &Blockchain, height: usize, index: usize, record: &[u8]) -> String {
        let block = &chain.blocks()[height];
        let proof = InclusionProof::new(&block.records, index).expect("the record exists");
        serde_json::json!({
            "height": height,
            "block_hash": block.block_hash(),
            "header": hex::encode(block.header.to_bytes()),
            "record": hex::encode(record),
            "proof": proof,
        })
        .to_string()
    }

    #[test]
    fn a_proof_holds_for_its_record_and_for_no_other() {
        let mut chain = Blockchain::new(ChainParams::regtest());
        let records: Vec<Vec<u8>> = (0..5).map(|i| format!("record {i}").into_bytes()).collect();
        chain.add_records(records).expect("regtest mines");
        let good = check(document(&chain, 1, 3, b"record 3").as_bytes()).expect("a document");
        assert!(good.valid);
        assert_eq!(good.block_hash, chain.blocks()[1].block_hash());
        let bad = check(document(&chain, 1, 3, b"record 4").as_bytes()).expect("a document");
        assert!(!bad.valid);
        assert!(bad.error.is_some_and(|e| e.contains("root")));
    }

    #[test]
    fn a_document_that_is_not_a_proof_is_an_error() {
        for text in [
            "",
            "{}",
            r#"{"header":"00","record":"","proof":{"leaf_index":0,"tree_size":1,"path":[]}}"#,
        ] {
            assert!(
                matches!(check(text.as_bytes()), Err(InputError::ProofDocument(_))),
                "{text}"
            );
        }
        assert_eq!(check(&[0xff]).err(), Some(InputError::NotText));
    }
}
