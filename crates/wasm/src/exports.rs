//! The module's exports: plain functions over one input buffer and one output buffer, so a page
//! needs no generated bindings (`module/ironchain.js` is the whole glue).
//!
//! The calling convention:
//! 1. `ic_input(len)` makes the input buffer `len` bytes long and returns where it starts in the
//!    module's memory; the caller writes its bytes there.
//! 2. An operation reads the input buffer and returns a status: 0 when the output buffer holds
//!    the answer as JSON, 1 when it holds an error message (bad input: not a header file, unknown
//!    chain, no rules chosen, …).
//! 3. `ic_output_ptr()` and `ic_output_len()` say where the output is; it stays there until
//!    the next call.
//!
//! The rules are state: `ic_use_chain` (input: a chain's name) or `ic_use_rules` (input: the
//! bytes of a node's `GET /params`) chooses them for the operations that follow, as a page
//! chooses them once and checks many things under them. Numbers that may exceed 2^31 (a start
//! height) are passed as `f64`, what JavaScript numbers are; a negative start height means "as
//! the file says".
//!
//! No `unsafe` code runs here: the buffers are `Vec`s the module owns and hands out pointers to.
//! The attribute that exports a function under its own name, `#[unsafe(no_mangle)]`, is the
//! one thing the workspace's `unsafe_code` lint counts.

#![allow(unsafe_code)]

use std::cell::RefCell;

use ironchain_core::ChainParams;

use crate::{InputError, headers, info, kernel, proof, rules};

/// What the module keeps between calls.
struct State {
    input: Vec<u8>,
    output: Vec<u8>,
    rules: Option<ChainParams>,
}

thread_local! {
    static STATE: RefCell<State> = const {
        RefCell::new(State { input: Vec::new(), output: Vec::new(), rules: None })
    };
}

/// Runs `op` on the input buffer (and the rules) and puts its answer in the output buffer.
fn call<T: serde::Serialize>(
    op: impl FnOnce(&[u8], &mut Option<ChainParams>) -> Result<T, InputError>,
) -> u32 {
    STATE.with_borrow_mut(|state| {
        let State {
            input,
            output,
            rules,
        } = state;
        let (status, bytes) = match op(input, rules) {
            Ok(answer) => match serde_json::to_vec(&answer) {
                Ok(json) => (0, json),
                Err(error) => (1, format!("cannot write the answer: {error}").into_bytes()),
            },
            Err(error) => (1, error.to_string().into_bytes()),
        };
        *output = bytes;
        status
    })
}

fn chosen(rules: &Option<ChainParams>) -> Result<&ChainParams, InputError> {
    rules.as_ref().ok_or(InputError::NoRules)
}

/// Returns `value` as a whole number from 0 to 2^53 (JavaScript's exact integers), or `None`.
fn whole(value: f64) -> Option<u64> {
    const MAX_SAFE: f64 = 9_007_199_254_740_992.0; // 2^53: larger JS numbers skip integers
    (value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE).then_some(value as u64)
}

/// A start height: negative means "as the file says".
fn height(value: f64) -> Result<Option<u64>, InputError> {
    if value < 0.0 {
        Ok(None)
    } else {
        whole(value).map(Some).ok_or(InputError::BadHeight)
    }
}

/// Makes the input buffer `len` bytes (zeros) and returns its address.
#[unsafe(no_mangle)]
pub extern "C" fn ic_input(len: usize) -> *mut u8 {
    STATE.with_borrow_mut(|state| {
        state.input.clear();
        state.input.resize(len, 0);
        state.input.as_mut_ptr()
    })
}

/// Returns the address of the last answer.
#[unsafe(no_mangle)]
pub extern "C" fn ic_output_ptr() -> *const u8 {
    STATE.with_borrow(|state| state.output.as_ptr())
}

/// Returns the length of the last answer in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn ic_output_len() -> usize {
    STATE.with_borrow(|state| state.output.len())
}

/// Chooses a built-in chain's rules; input: its name. Answer: [`rules::RulesSummary`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_use_chain() -> u32 {
    call(|input, chosen| {
        let name = std::str::from_utf8(input).map_err(|_| InputError::NotText)?;
        let params = rules::named(name)?;
        let summary = rules::summary(&params);
        *chosen = Some(params);
        Ok(summary)
    })
}

/// Chooses the rules a node serves; input: the bytes of its `GET /params`. Answer:
/// [`rules::RulesSummary`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_use_rules() -> u32 {
    call(|input, chosen| {
        let params = rules::encoded(input)?;
        let summary = rules::summary(&params);
        *chosen = Some(params);
        Ok(summary)
    })
}

/// Verifies a header file under the chosen rules, with `now` (Unix seconds) as the clock.
/// Answer: [`headers::VerifyReport`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_verify_headers(start_height: f64, now: u32) -> u32 {
    call(|input, params| headers::verify(chosen(params)?, input, height(start_height)?, now))
}

/// Per-retarget-period statistics of a header file under the chosen rules. Answer:
/// [`headers::StatsReport`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_header_stats(start_height: f64) -> u32 {
    call(|input, params| headers::stats(chosen(params)?, input, height(start_height)?))
}

/// Checks an inclusion proof, taken apart by the glue; needs no rules. Input: the 80-byte
/// header, the record's length (u32, little-endian), the record, then the audit path's 32-byte
/// hashes. Answer: [`proof::ProofCheck`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_check_proof(leaf_index: f64, tree_size: f64) -> u32 {
    call(|input, _| {
        let bad = || InputError::ProofDocument("the proof's parts are malformed".into());
        let index = whole(leaf_index).ok_or_else(bad)?;
        let size = whole(tree_size).ok_or_else(bad)?;
        let (header, rest) = input.split_at_checked(80).ok_or_else(bad)?;
        let (len, rest) = rest.split_first_chunk::<4>().ok_or_else(bad)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|_| bad())?;
        let (record, path) = rest.split_at_checked(len).ok_or_else(bad)?;
        let (path, extra) = path.as_chunks::<32>();
        if !extra.is_empty() {
            return Err(bad());
        }
        proof::check_parts(header, record, index, size, path)
    })
}

/// One header's hash, target, difficulty and work under the chosen rules. Answer:
/// [`info::HeaderInfo`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_header_info() -> u32 {
    call(|input, params| info::header_info(chosen(params)?, input))
}

/// Checks this build's hashing kernels against the portable reference. Answer:
/// [`kernel::KernelCheck`].
#[unsafe(no_mangle)]
pub extern "C" fn ic_check_kernels(seed: f64) -> u32 {
    call(|_, _| Ok(kernel::check_kernels(seed as u64)))
}
