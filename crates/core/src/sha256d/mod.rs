//! Double SHA-256 of block headers, many at once: the hot loop of mining and of verification.
//!
//! Everything else in the crate hashes through [`crate::hash`]; this module exists because the
//! miner's nonce scan and the verifier's header hashing are where all the time goes. It offers two
//! operations, each with a portable version built on `sha2` (the reference the fast paths are tested
//! against) and CPU-specific kernels chosen at run time:
//!
//! - [`scan`]: given the SHA-256 midstate of a header's first 64 bytes and its last 16 bytes, try a
//!   range of nonces and return the first whose hash meets a target.
//! - [`hash_headers`]: the double SHA-256 of a batch of whole 80-byte headers.
//!
//! Hashes and targets here are 32-byte arrays in Bitcoin's internal order: byte 31 is the most
//! significant when the hash is read as a 256-bit number.
//!
//! # Backends
//! [`Backend::detect`] picks the fastest [`Backend`] this CPU supports, once per process:
//! [`Backend::Avx512`] on x86-64 CPUs with AVX-512F and AVX-512BW, else [`Backend::ShaNi`] on
//! those with the SHA extensions, else [`Backend::Portable`]. The environment variable
//! `IRONCHAIN_SHA256` overrides the choice: `portable` forces the portable path (to rule the
//! kernels out when chasing a bug, or to measure the difference), and `sha-ni` or `avx512` ask
//! for that kernel if the CPU has it; it is read once, on the first call. [`scan_with`] and
//! [`hash_headers_with`] take the backend explicitly, so tests and benchmarks can run every
//! available backend in one process.
//!
//! # Performance
//! Measured on an AMD EPYC (Zen 5, 2 cores, shared) with one thread pinned to a core, as a
//! multiple of what calling `sha2`'s `compress256` once per block would give (27.6 to 29.1
//! million compressions per second; a nonce costs 2, a whole header 3).
//!
//! The SHA-NI kernel (`x86.rs`) hashes 4 nonces or headers side by side; its lane count was
//! chosen from medians of 9 interleaved runs:
//!
//! | lanes            | 1    | 2    | 3    | 4        | 6    | 8           | `sha2` loop |
//! |------------------|------|------|------|----------|------|-------------|-------------|
//! | [`scan`]         | 1.27 | 1.84 | 2.00 | **2.13** | 2.09 | 1.46 – 2.08 | 0.82        |
//! | [`hash_headers`] | 1.17 | 1.74 | 1.90 | **1.99** | 1.50 | 1.33        | 0.91        |
//!
//! With more than 4 lanes the states no longer fit in the 16 registers SHA-NI instructions can
//! name, and the spilling code is slower and moody (8-lane scans changed speed from build to
//! build). That is about 31 million nonces and 19 million headers per second per core, and
//! `sha256rnds2`'s throughput is the limit.
//!
//! The AVX-512 kernel (`avx512.rs`) does SHA-256 in ordinary vector arithmetic, 16 messages per
//! register, and on Zen 5's full-width 512-bit units it beats SHA-NI (medians of 5 runs of
//! `benches/kernel.rs`, each a median of 7):
//!
//! |                  | SHA-NI, 4 lanes | AVX-512, 16 lanes   | AVX-512 ÷ SHA-NI |
//! |------------------|-----------------|---------------------|------------------|
//! | [`scan`]         | 2.13 (31.0 M/s) | **2.94** (42.8 M/s) | 1.38             |
//! | [`hash_headers`] | 1.98 (19.2 M/s) | **2.77** (26.8 M/s) | 1.40             |
//!
//! Hashing two groups of 16 nonces per loop was no faster: the kernel is limited by how many
//! vector instructions the core issues, not by the latency of one round. Only Zen 5 was
//! measured: on CPUs that run 512-bit instructions as two halves (Zen 4) or slow their clock for
//! them, SHA-NI may be the faster, and `IRONCHAIN_SHA256=sha-ni` selects it.
//! `benches/kernel.rs` prints both kernels' ratios and their quotient.

use std::sync::OnceLock;

use sha2::block_api::compress256;

#[cfg(target_arch = "x86_64")]
mod avx512;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd128;
#[cfg(test)]
mod tests;
#[cfg(target_arch = "x86_64")]
mod x86;

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
/// ignored. `count` may be at most 2^32. Runs on [`Backend::detect`]'s backend; every backend
/// returns exactly what [`scan_portable`] returns.
///
/// ```
/// use ironchain_core::ChainParams;
/// use ironchain_core::sha256d::{self, midstate};
///
/// let params = ChainParams::demo();
/// let bytes = params.genesis.header.to_bytes();
/// let state = midstate(bytes[..64].try_into().expect("64 bytes"));
/// let tail: [u8; 16] = bytes[64..].try_into().expect("16 bytes");
/// let target = params.pow_limit.to_le_bytes();
///
/// // Scan 10,000 nonces from 150,000: the first that meets the target is genesis's own.
/// let outcome = sha256d::scan(&state, &tail, 150_000, 10_000, &target);
/// assert_eq!(outcome.nonce, Some(params.genesis.header.nonce));
/// assert_eq!(outcome.hashes, u64::from(params.genesis.header.nonce) - 150_000 + 1);
/// // The fast backend agrees with the plain reference.
/// assert_eq!(outcome, sha256d::scan_portable(&state, &tail, 150_000, 10_000, &target));
/// ```
pub fn scan(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    scan_with(Backend::detect(), midstate, tail, start, count, target)
}

/// [`scan`] on the given backend.
///
/// # Panics
/// Panics if `backend` is not available on this CPU (see [`Backend::is_available`]).
pub fn scan_with(
    backend: Backend,
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    match backend {
        Backend::Portable => scan_portable(midstate, tail, start, count, target),
        #[cfg(target_arch = "x86_64")]
        Backend::ShaNi => shani(backend).scan(midstate, tail, start, count, target),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512(backend).scan(midstate, tail, start, count, target),
        #[cfg(not(target_arch = "x86_64"))]
        Backend::ShaNi | Backend::Avx512 => unavailable(backend),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Backend::Simd128 => simd128::scan(midstate, tail, start, count, target),
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        Backend::Simd128 => unavailable(backend),
    }
}

/// Writes the double SHA-256 of each header into `out`, on [`Backend::detect`]'s backend.
///
/// # Panics
/// Panics if `out` and `headers` differ in length.
pub fn hash_headers(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    hash_headers_with(Backend::detect(), headers, out);
}

/// [`hash_headers`] on the given backend.
///
/// # Panics
/// Panics if `out` and `headers` differ in length, or if `backend` is not available on this CPU
/// (see [`Backend::is_available`]).
pub fn hash_headers_with(backend: Backend, headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    assert_eq!(headers.len(), out.len(), "one output per header");
    match backend {
        Backend::Portable => hash_headers_portable(headers, out),
        #[cfg(target_arch = "x86_64")]
        Backend::ShaNi => shani(backend).hash_headers(headers, out),
        #[cfg(target_arch = "x86_64")]
        Backend::Avx512 => avx512(backend).hash_headers(headers, out),
        #[cfg(not(target_arch = "x86_64"))]
        Backend::ShaNi | Backend::Avx512 => unavailable(backend),
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        Backend::Simd128 => simd128::hash_headers(headers, out),
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        Backend::Simd128 => unavailable(backend),
    }
}

/// The environment variable that overrides [`Backend::detect`]'s choice:
/// `IRONCHAIN_SHA256=portable` (or `sha-ni`, `avx512`).
pub const BACKEND_VAR: &str = "IRONCHAIN_SHA256";

/// The implementations of [`scan`] and [`hash_headers`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// The x86-64 SHA extensions, several nonces or headers interleaved (`x86.rs`).
    ShaNi,
    /// AVX-512 vector arithmetic, 16 nonces or headers at once, one per lane (`avx512.rs`).
    Avx512,
    /// WebAssembly SIMD, 4 headers or nonces at once, one per lane (`simd128.rs`); only in
    /// WebAssembly builds with the `simd128` feature.
    Simd128,
    /// `sha2`'s compression function, one message at a time: the reference.
    Portable,
}

impl Backend {
    /// Every backend, fastest first (as measured: see the module docs).
    pub const ALL: [Backend; 4] = [
        Backend::Avx512,
        Backend::ShaNi,
        Backend::Simd128,
        Backend::Portable,
    ];

    /// Returns the backend [`scan`] and [`hash_headers`] use: the fastest this CPU supports,
    /// unless the environment variable [`BACKEND_VAR`] (`IRONCHAIN_SHA256`) names another.
    ///
    /// `portable` forces the portable backend; `sha-ni` or `avx512` ask for that kernel, and
    /// are ignored (the automatic choice stands) if this CPU cannot run it. The choice is made
    /// on the first call and kept for the life of the process; other values of the variable,
    /// or none, mean the automatic choice.
    pub fn detect() -> Backend {
        static CHOSEN: OnceLock<Backend> = OnceLock::new();
        *CHOSEN.get_or_init(|| Backend::choose(std::env::var_os(BACKEND_VAR).as_deref()))
    }

    /// The choice [`Backend::detect`] makes, given the value of [`BACKEND_VAR`].
    fn choose(setting: Option<&std::ffi::OsStr>) -> Backend {
        let named = Backend::ALL
            .into_iter()
            .find(|b| setting.is_some_and(|v| v == b.name()));
        match named {
            Some(backend) if backend.is_available() => backend,
            _ => Backend::available().next().unwrap_or(Backend::Portable),
        }
    }

    /// Returns true if this CPU can run the backend.
    pub fn is_available(self) -> bool {
        match self {
            Backend::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Backend::ShaNi => x86::ShaNi::detect().is_some(),
            #[cfg(target_arch = "x86_64")]
            Backend::Avx512 => avx512::Avx512::detect().is_some(),
            #[cfg(not(target_arch = "x86_64"))]
            Backend::ShaNi | Backend::Avx512 => false,
            Backend::Simd128 => cfg!(all(target_arch = "wasm32", target_feature = "simd128")),
        }
    }

    /// Returns the backends this CPU can run, fastest first.
    pub fn available() -> impl Iterator<Item = Backend> {
        Backend::ALL.into_iter().filter(|b| b.is_available())
    }

    /// Returns a short lower-case name for logs, benchmark output and [`BACKEND_VAR`]:
    /// `avx512`, `sha-ni` or `portable`.
    pub fn name(self) -> &'static str {
        match self {
            Backend::ShaNi => "sha-ni",
            Backend::Avx512 => "avx512",
            Backend::Simd128 => "simd128",
            Backend::Portable => "portable",
        }
    }
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(target_arch = "x86_64")]
fn shani(backend: Backend) -> x86::ShaNi {
    x86::ShaNi::detect().unwrap_or_else(|| unavailable(backend))
}

#[cfg(target_arch = "x86_64")]
fn avx512(backend: Backend) -> avx512::Avx512 {
    avx512::Avx512::detect().unwrap_or_else(|| unavailable(backend))
}

fn unavailable(backend: Backend) -> ! {
    panic!("the {backend} SHA-256 backend is not available on this CPU")
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
            return ScanOutcome {
                nonce: Some(nonce),
                hashes: done,
            };
        }
        nonce = nonce.wrapping_add(1);
    }
    ScanOutcome {
        nonce: None,
        hashes: count,
    }
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
