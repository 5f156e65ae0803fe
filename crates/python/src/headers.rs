//! `verify_headers`: check raw Bitcoin (or ironchain) headers as `ironchain headers verify` does.
//!
//! The data is raw 80-byte headers back to back, or hex text with one header per line and an
//! optional first line giving the height of the first header. From genesis every rule is checked;
//! from a later height the first header is trusted as a checkpoint and the rest are checked from
//! it.

use std::path::PathBuf;

use ironchain_core::chain::unix_now;
use ironchain_core::header::HeaderFile;
use ironchain_core::{ChainParams, Header, Verifier};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyString};

use crate::convert::{self, type_name};
use crate::errors::{HeaderDataError, Violation};
use crate::interrupt::{self, OnInterrupt};
use crate::verification::{Verdict, Verification};

/// The built-in chains whose headers can be checked, by the names `--chain` takes.
fn chain_params(name: &str) -> PyResult<ChainParams> {
    match name {
        "bitcoin" => Ok(ChainParams::bitcoin()),
        "demo" => Ok(ChainParams::demo()),
        "regtest" => Ok(ChainParams::regtest()),
        other => Err(crate::errors::value(format!(
            "chain must be \"bitcoin\", \"demo\" or \"regtest\", found {other:?}"
        ))),
    }
}

/// Reads the `data` argument: bytes (raw or hex text), a str of hex text, or a path to a file.
fn data_bytes(data: &Bound<'_, PyAny>) -> PyResult<Vec<u8>> {
    if let Ok(bytes) = data.cast::<PyBytes>() {
        return Ok(bytes.as_bytes().to_vec());
    }
    if let Ok(bytes) = data.cast::<PyByteArray>() {
        return Ok(bytes.to_vec());
    }
    if let Ok(text) = data.cast::<PyString>() {
        return Ok(text.extract::<String>()?.into_bytes());
    }
    if let Ok(path) = data.extract::<PathBuf>() {
        return std::fs::read(&path).map_err(|error| {
            pyo3::exceptions::PyOSError::new_err(format!("cannot read {}: {error}", path.display()))
        });
    }
    Err(PyTypeError::new_err(format!(
        "data must be bytes (raw or hex headers), a str of hex headers or a path, not {}",
        type_name(data)
    )))
}

/// Verifies block headers as `ironchain headers verify` does: links, proof of work, the
/// retarget schedule and the time rules, hashing on every core (or `threads`) with the GIL
/// released. `data` is bytes (raw 80-byte headers, or hex text with one header per line and an
/// optional first line giving the first header's height), a str of hex text, or a path.
/// `start_height` overrides the height line; from a height above 0 the first header is trusted
/// as a checkpoint. Returns a Verification: true with the count, tip and total work, or with
/// `invalid` naming the first bad header and its rule.
#[pyfunction]
#[pyo3(signature = (data, chain = "bitcoin", start_height = None, threads = None))]
pub fn verify_headers(
    py: Python<'_>,
    data: &Bound<'_, PyAny>,
    chain: &str,
    start_height: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
) -> PyResult<Verification> {
    let params = chain_params(chain)?;
    let threads = convert::threads(threads)?;
    let start_height = start_height
        .filter(|value| !value.is_none())
        .map(|value| convert::whole(value, "start_height", u64::MAX))
        .transpose()?;
    let bytes = data_bytes(data)?;
    let file =
        HeaderFile::parse(&bytes).map_err(|error| HeaderDataError::new_err(error.to_string()))?;
    let start = start_height.or(file.start_height).unwrap_or(0);
    let count = file.headers.len();
    if count == 0 {
        return Err(HeaderDataError::new_err("the data holds no headers"));
    }
    let now = unix_now();
    let started = std::time::Instant::now();
    let (summary, invalid) = interrupt::run(py, OnInterrupt::Abandon, move || {
        let headers = &file.headers;
        let (verifier, rest) = if start == 0 {
            (Verifier::new(&params, now), &headers[..])
        } else {
            let checkpoint = Header::from_bytes(&headers[0]);
            (
                Verifier::from_checkpoint(&params, start, checkpoint, now),
                &headers[1..],
            )
        };
        let mut verifier = verifier.with_threads(threads);
        let result = verifier.push_raw_headers(rest);
        (verifier.summary(), result.err())
    })?;
    let verdict = Verdict {
        what: format!("headers on the {chain} chain"),
        summary,
        violation: invalid.as_ref().map(Violation::from),
        seconds: started.elapsed().as_secs_f64(),
        start_height: Some(start),
        headers: Some(count),
    };
    Verification::create(py, verdict, None)
}
