//! A self-check of the hashing kernels this build runs, against the portable reference.
//!
//! Core's tests check every kernel lane by lane, but only on the machine that runs them: the
//! `simd128` kernel exists only in the WebAssembly build, which `cargo test` does not run. The
//! module therefore carries this check, and the tests run it in Node (a page may run it too): for
//! batches of every length from 0 to [`MAX_BATCH`] it hashes headers on each available backend
//! and compares every output with `sha2`'s, then scans nonce ranges of every alignment and
//! compares the outcome with the reference scan's.

use ironchain_core::sha256d::{self, Backend};

/// The longest batch checked: several multiples of every kernel's lane count (4, 16), plus
/// leftovers of every length.
pub const MAX_BATCH: usize = 40;

/// The outcome of [`check_kernels`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KernelCheck {
    /// The backends checked (every one this build and CPU can run).
    pub backends: Vec<&'static str>,
    /// The backend [`sha256d::hash_headers`] uses here.
    pub selected: &'static str,
    /// Header hashes compared with the reference.
    pub hashes_compared: u64,
    /// Nonce scans compared with the reference.
    pub scans_compared: u64,
    /// Every disagreement, by backend, batch length and lane.
    pub mismatches: Vec<String>,
}

/// Checks every available backend against the portable reference on headers made from `seed`.
pub fn check_kernels(seed: u64) -> KernelCheck {
    let mut rng = SplitMix(seed);
    let mut check = KernelCheck {
        backends: Backend::available().map(Backend::name).collect(),
        selected: Backend::detect().name(),
        hashes_compared: 0,
        scans_compared: 0,
        mismatches: Vec::new(),
    };
    for backend in Backend::available() {
        for len in 0..=MAX_BATCH {
            let headers: Vec<[u8; 80]> = (0..len).map(|_| rng.header()).collect();
            let mut fast = vec![[0u8; 32]; len];
            let mut reference = vec![[0u8; 32]; len];
            sha256d::hash_headers_with(backend, &headers, &mut fast);
            sha256d::hash_headers_portable(&headers, &mut reference);
            for (lane, (a, b)) in fast.iter().zip(&reference).enumerate() {
                check.hashes_compared += 1;
                if a != b {
                    check.mismatches.push(format!(
                        "{backend}: hash of header {lane} of a batch of {len}"
                    ));
                }
            }
        }
        for start_offset in 0..8u32 {
            let header = rng.header();
            let state = sha256d::midstate(header[..64].try_into().expect("64 bytes"));
            let tail: [u8; 16] = header[64..].try_into().expect("16 bytes");
            // About one nonce in 16 meets this target, so most scans find one in a few lanes.
            let mut target = [0xff; 32];
            target[31] = 0x0f;
            let start = (rng.next() as u32) & !7 | start_offset;
            for count in [0, 1, 3, 17, 64] {
                check.scans_compared += 1;
                let fast = sha256d::scan_with(backend, &state, &tail, start, count, &target);
                let reference = sha256d::scan_portable(&state, &tail, start, count, &target);
                if fast != reference {
                    check.mismatches.push(format!(
                        "{backend}: scan of {count} from {start}: {fast:?}, reference {reference:?}"
                    ));
                }
            }
        }
    }
    check
}

/// SplitMix64: a few lines of well-known pseudo-randomness, so the check needs no dependency.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn header(&mut self) -> [u8; 80] {
        let mut header = [0u8; 80];
        for chunk in header.chunks_exact_mut(8) {
            chunk.copy_from_slice(&self.next().to_le_bytes());
        }
        header
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_native_backend_agrees_with_the_reference() {
        let check = check_kernels(7);
        assert!(check.backends.contains(&"portable"));
        assert_eq!(check.mismatches, Vec::<String>::new());
        let per_backend = (0..=MAX_BATCH as u64).sum::<u64>();
        assert_eq!(
            check.hashes_compared,
            per_backend * check.backends.len() as u64
        );
    }
}
