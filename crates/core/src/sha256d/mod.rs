//! Double SHA-256 of block headers, many at once: the hot loop of mining and of verification.
//!
//! Everything else in the crate hashes through [`crate::hash`]; this module exists because the
//! miner's nonce scan and the verifier's header hashing are where all the time goes. It offers two
//! operations, each with a portable version built on `sha2` (the reference the fast paths are tested
//! against) and room for CPU-specific kernels chosen at run time:
//!
//! - [`scan`]: given the SHA-256 midstate of a header's first 64 bytes and its last 16 bytes, try a
//!   range of nonces and return the first whose hash meets a target.
//! - [`hash_headers`]: the double SHA-256 of a batch of whole 80-byte headers.
//!
//! Hashes and targets here are 32-byte arrays in Bitcoin's internal order: byte 31 is the most
//! significant when the hash is read as a 256-bit number.

use sha2::block_api::compress256;

/// SHA-256's initial state (FIPS 180-4, section 5.3.3).
pub const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// Returns the SHA-256 state after compressing the first 64 bytes of a header.
///
/// The nonce sits in the last 16 bytes, so a miner computes this once per job and every nonce then
/// costs two compressions instead of three.
pub fn midstate(first_64: &[u8; 64]) -> [u32; 8] {
    let mut state = SHA256_IV;
    compress256(&mut state, std::slice::from_ref(first_64));
    state
}

/// What a nonce scan found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOutcome {
    /// The first nonce in the range whose hash meets the target, if any.
    pub nonce: Option<u32>,
    /// How many nonces were hashed (up to and including the one found).
    pub hashes: u64,
}

/// Tries nonces `start, start+1, …` (`count` of them, wrapping at 2^32) and returns the first whose
/// header hash, read as a little-endian 256-bit number, is at most `target`.
///
/// `tail` is bytes 64..80 of the header: merkle-root tail, time, bits, nonce; its nonce bytes are
/// ignored. `count` may be at most 2^32.
pub fn scan(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    scan_portable(midstate, tail, start, count, target)
}

/// Writes the double SHA-256 of each header into `out`.
///
/// # Panics
/// Panics if `out` and `headers` differ in length.
pub fn hash_headers(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    hash_headers_portable(headers, out)
}

/// The reference nonce scan: plain `sha2` compressions, one nonce at a time.
pub fn scan_portable(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(tail);
    block[16] = 0x80;
    block[62..].copy_from_slice(&(80u16 * 8).to_be_bytes());
    let mut second = [0u8; 64];
    second[32] = 0x80;
    second[62..].copy_from_slice(&(32u16 * 8).to_be_bytes());
    let mut nonce = start;
    for done in 1..=count {
        block[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut state = *midstate;
        compress256(&mut state, std::slice::from_ref(&block));
        for (chunk, word) in second[..32].chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        let mut hash_state = SHA256_IV;
        compress256(&mut hash_state, std::slice::from_ref(&second));
        let hash = state_to_bytes(&hash_state);
        if meets_target(&hash, target) {
            return ScanOutcome { nonce: Some(nonce), hashes: done };
        }
        nonce = nonce.wrapping_add(1);
    }
    ScanOutcome { nonce: None, hashes: count }
}

/// The reference batch hash: `sha2`'s double SHA-256, one header at a time.
///
/// # Panics
/// Panics if `out` and `headers` differ in length.
pub fn hash_headers_portable(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    use sha2::{Digest, Sha256};
    assert_eq!(headers.len(), out.len(), "one output per header");
    for (header, hash) in headers.iter().zip(out.iter_mut()) {
        *hash = Sha256::digest(Sha256::digest(header)).into();
    }
}

/// Returns true if `hash`, read as a little-endian 256-bit number, is at most `target`.
pub fn meets_target(hash: &[u8; 32], target: &[u8; 32]) -> bool {
    hash.iter().rev().cmp(target.iter().rev()) != std::cmp::Ordering::Greater
}

fn state_to_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}
