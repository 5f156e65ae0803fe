//! Inclusion proofs: that one record is in one block, checkable by anyone holding the block's
//! header, with about log2(n) hashes and none of the other records.
//!
//! The document is the one `ironchain prove` prints and `ironchain check-proof` reads (JSON: the
//! height, the block's hash, its 80-byte header and the record in hex, and the RFC 6962 audit
//! path), so a proof made in Python checks with the CLI and the other way round.

use ironchain_core::merkle::InclusionProof as CoreProof;
use ironchain_core::{Block, Header};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use crate::convert::{bytes_text, type_name};
use crate::errors::{InvalidProofError, ProofFormatError};
use crate::html::{Table, shorten};

/// The proof document, as `ironchain prove` writes it.
#[derive(Debug, Clone, serde::Deserialize)]
struct Document {
    height: Option<u64>,
    header: String,
    record: String,
    proof: CoreProof,
}

/// A proof that a record is in a block, as `ironchain prove` prints it.
#[pyclass(module = "ironchain", frozen)]
#[derive(Debug, Clone)]
pub struct InclusionProof {
    height: Option<u64>,
    header: Header,
    record: Vec<u8>,
    proof: CoreProof,
}

impl InclusionProof {
    /// The proof for record `index` of `block`, or `None` if there is no such record.
    pub fn of_record(height: u64, block: &Block, index: usize) -> Option<Self> {
        let proof = CoreProof::new(&block.records, index)?;
        Some(Self {
            height: Some(height),
            header: block.header,
            record: block.records[index].clone(),
            proof,
        })
    }

    fn document(&self) -> serde_json::Value {
        serde_json::json!({
            "height": self.height,
            "block_hash": self.header.block_hash().to_string(),
            "header": hex::encode(self.header.to_bytes()),
            "record": hex::encode(&self.record),
            "proof": self.proof,
        })
    }
}

/// Parses a proof document; the messages are `ironchain check-proof`'s.
fn parse(text: &str) -> Result<InclusionProof, String> {
    let document: Document = serde_json::from_str(text)
        .map_err(|error| format!("not a proof from `ironchain prove`: {error}"))?;
    let raw =
        hex::decode(&document.header).map_err(|error| format!("the header is not hex: {error}"))?;
    let Ok(raw) = <[u8; 80]>::try_from(raw.as_slice()) else {
        return Err(format!("the header is {} bytes; a header is 80", raw.len()));
    };
    let record =
        hex::decode(&document.record).map_err(|error| format!("the record is not hex: {error}"))?;
    Ok(InclusionProof {
        height: document.height,
        header: Header::from_bytes(&raw),
        record,
        proof: document.proof,
    })
}

#[pymethods]
impl InclusionProof {
    /// Reads a proof document (str or bytes of JSON) as `ironchain prove` prints it and
    /// Store.prove makes it. Raises ProofFormatError if it is not one.
    #[staticmethod]
    fn from_json(text: &Bound<'_, PyAny>) -> PyResult<Self> {
        let text = if let Ok(text) = text.cast::<PyString>() {
            text.extract::<String>()?
        } else if let Ok(bytes) = text.cast::<PyBytes>() {
            String::from_utf8(bytes.as_bytes().to_vec()).map_err(|_| {
                ProofFormatError::new_err("not a proof from `ironchain prove`: not UTF-8")
            })?
        } else {
            return Err(PyTypeError::new_err(format!(
                "a proof document is a str or bytes of JSON, not {}",
                type_name(text)
            )));
        };
        parse(&text).map_err(ProofFormatError::new_err)
    }

    /// Returns the proof document as JSON text, as `ironchain prove` prints it.
    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string_pretty(&self.document())
            .map_err(|error| ProofFormatError::new_err(error.to_string()))
    }

    /// Checks that the record is in the block whose header the proof carries. Returns True;
    /// raises InvalidProofError saying why if it is not (the message `ironchain check-proof`
    /// prints). Whether that header is in a chain you trust is a separate question: compare
    /// `block_hash` with a node's.
    fn check(&self) -> PyResult<bool> {
        self.proof
            .verify(&self.record, self.header.merkle_root)
            .map(|()| true)
            .map_err(|error| InvalidProofError::new_err(error.to_string()))
    }

    /// The block's height, as the document gives it.
    #[getter]
    fn height(&self) -> Option<u64> {
        self.height
    }

    /// The hash of the header the proof carries.
    #[getter]
    fn block_hash(&self) -> String {
        self.header.block_hash().to_string()
    }

    /// The 80-byte header.
    #[getter]
    fn header<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.header.to_bytes())
    }

    /// The record the proof is about.
    #[getter]
    fn record<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.record)
    }

    /// The record's position in its block.
    #[getter]
    fn leaf_index(&self) -> u64 {
        self.proof.leaf_index
    }

    /// How many records the block has.
    #[getter]
    fn tree_size(&self) -> u64 {
        self.proof.tree_size
    }

    /// The audit path: sibling hashes from the leaf up, as hex.
    #[getter]
    fn path(&self) -> Vec<String> {
        self.proof.path.iter().map(hex::encode).collect()
    }

    fn __repr__(&self) -> String {
        format!(
            "InclusionProof(record {} of {} in block {}, {} hashes)",
            self.proof.leaf_index,
            self.proof.tree_size,
            shorten(&self.header.block_hash().to_string(), 20),
            self.proof.path.len()
        )
    }

    fn _repr_html_(&self) -> String {
        let verdict = match self.proof.verify(&self.record, self.header.merkle_root) {
            Ok(()) => "valid".to_owned(),
            Err(error) => format!("INVALID: {error}"),
        };
        let mut fields = vec![
            (
                "height",
                self.height.map_or_else(|| "-".into(), |h| h.to_string()),
            ),
            ("block_hash", self.header.block_hash().to_string()),
            ("record", shorten(&bytes_text(&self.record), 80)),
            (
                "leaf",
                format!("{} of {}", self.proof.leaf_index, self.proof.tree_size),
            ),
            ("check", verdict),
        ];
        for hash in &self.proof.path {
            fields.push(("path", hex::encode(hash)));
        }
        Table::fields("inclusion proof", &fields).render()
    }
}
