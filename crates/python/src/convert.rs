//! Checked conversions from Python values: records, heights, hashes, times and thread counts.
//!
//! Everything here comes from a caller, so every conversion says what it expected and what it
//! found: a `TypeError` for a value of the wrong kind, a `ValueError` for one out of range.

use ironchain_core::BlockHash;
use ironchain_core::validate::default_threads;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PyFloat, PyInt, PyMemoryView, PyString};

/// A record as Python gave it: text (stored as its UTF-8 bytes) or bytes. It remembers which, so
/// a seed block's `data` reads back as the type it was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A `str`.
    Text(String),
    /// A `bytes`-like value.
    Bytes(Vec<u8>),
}

impl Record {
    /// Reads a record: `str` (as UTF-8) or `bytes`, `bytearray` or `memoryview`.
    ///
    /// # Errors
    /// `TypeError` for anything else, naming `what`.
    pub fn extract(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Self> {
        if let Ok(text) = value.cast::<PyString>() {
            return Ok(Record::Text(text.extract::<String>()?));
        }
        if let Ok(bytes) = value.cast::<PyBytes>() {
            return Ok(Record::Bytes(bytes.as_bytes().to_vec()));
        }
        if value.is_instance_of::<PyByteArray>() || value.is_instance_of::<PyMemoryView>() {
            let bytes = value.py().get_type::<PyBytes>().call1((value,))?;
            return Ok(Record::Bytes(bytes.cast::<PyBytes>()?.as_bytes().to_vec()));
        }
        Err(PyTypeError::new_err(format!(
            "{what} must be str or bytes, not {}: a record is text or raw bytes (use \
             json.dumps for structured data)",
            type_name(value)
        )))
    }

    /// Returns the record's bytes.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Record::Text(text) => text.as_bytes(),
            Record::Bytes(bytes) => bytes,
        }
    }

    /// Returns the record as the Python type it was given as.
    pub fn to_object<'py>(&self, py: Python<'py>) -> Bound<'py, PyAny> {
        match self {
            Record::Text(text) => PyString::new(py, text).into_any(),
            Record::Bytes(bytes) => PyBytes::new(py, bytes).into_any(),
        }
    }

    /// Returns the record for display: text as it is, bytes as Python writes them.
    pub fn display(&self) -> String {
        match self {
            Record::Text(text) => text.clone(),
            Record::Bytes(bytes) => bytes_text(bytes),
        }
    }
}

/// Shows bytes as text if they are printable UTF-8, else as `0x` and hex (the CLI's rule).
pub fn bytes_text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text)
            if !text
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\t') =>
        {
            text.to_owned()
        }
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

/// Returns the name of a value's type, for messages.
pub fn type_name(value: &Bound<'_, PyAny>) -> String {
    value
        .get_type()
        .name()
        .map(|name| name.to_string())
        .unwrap_or_else(|_| "an unknown type".into())
}

/// Reads a whole number from 0 to `max`.
///
/// # Errors
/// `TypeError` if `value` is not an `int`, `ValueError` if it is out of range.
pub fn whole(value: &Bound<'_, PyAny>, what: &str, max: u64) -> PyResult<u64> {
    if !value.is_instance_of::<PyInt>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int, not {}",
            type_name(value)
        )));
    }
    let out_of_range = || {
        let found = value.str().map(|s| s.to_string()).unwrap_or_default();
        PyValueError::new_err(if max == u64::MAX {
            format!("{what} must be 0 or more, found {found}")
        } else {
            format!("{what} must be from 0 to {max}, found {found}")
        })
    };
    let number: i128 = value.extract().map_err(|_| out_of_range())?;
    u64::try_from(number)
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(out_of_range)
}

/// Reads a time in whole seconds since 1970 that a header can hold: an `int`, or a `float` whose
/// fraction is dropped (a header holds whole seconds).
///
/// # Errors
/// `TypeError` for another type, `ValueError` outside 1970 to 2106.
pub fn header_time(value: &Bound<'_, PyAny>, what: &str) -> PyResult<u32> {
    if value.is_instance_of::<PyFloat>() {
        let seconds: f64 = value.extract()?;
        if !(0.0..=f64::from(u32::MAX)).contains(&seconds) {
            return Err(PyValueError::new_err(format!(
                "{what} must be seconds from 1970 to 2106 (a header's u32), found {seconds}"
            )));
        }
        // In range and not NaN (NaN fails `contains`), so the cast only drops the fraction.
        return Ok(seconds.floor() as u32);
    }
    let seconds = whole(value, what, u64::from(u32::MAX))?;
    Ok(u32::try_from(seconds).expect("bounded by u32::MAX above"))
}

/// Reads a hash given as hex, as Bitcoin shows hashes (the leading zeros of proof of work
/// first). Fewer than 64 digits are padded with leading zeros, so the seed's genesis
/// `previous_hash` of `"0"` is the all-zero hash.
///
/// # Errors
/// `TypeError` if `value` is not a `str`, `ValueError` if it is not 1 to 64 hex digits.
pub fn hash(value: &Bound<'_, PyAny>, what: &str) -> PyResult<BlockHash> {
    let text = value.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a str of hex digits, not {}",
            type_name(value)
        ))
    })?;
    let text: String = text.extract()?;
    parse_hash(&text).ok_or_else(|| {
        PyValueError::new_err(format!(
            "{what} must be 1 to 64 hex digits (a 32-byte hash), found {text:?}"
        ))
    })
}

/// Parses 1 to 64 hex digits as a hash, padding with leading zeros.
pub fn parse_hash(text: &str) -> Option<BlockHash> {
    if text.is_empty() || text.len() > 64 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    format!("{text:0>64}").to_ascii_lowercase().parse().ok()
}

/// Returns the thread count to use: the caller's, checked, or one per core as the CLI uses.
///
/// # Errors
/// `ValueError` for zero.
pub fn threads(threads: Option<usize>) -> PyResult<usize> {
    match threads {
        None => Ok(default_threads()),
        Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => Ok(n),
    }
}

/// Returns Python's `time.time()`, in whole seconds a header can hold: the seed reads the clock
/// this way, and so a test can replace it.
///
/// # Errors
/// Whatever `time.time()` raises, or `ValueError` if it is outside 1970 to 2106.
pub fn python_now(py: Python<'_>) -> PyResult<u32> {
    let now = py.import("time")?.getattr("time")?.call0()?;
    header_time(&now, "time.time()")
}
