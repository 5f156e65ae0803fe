//! Measures the double-SHA-256 kernels against the plain `sha2` loop and prints their ratios.
//!
//! Run with `cargo bench -p ironchain-core --bench kernel`. Every figure is a median of several
//! interleaved runs on one thread, so a noisy machine slows all of them alike and the ratios stay
//! meaningful. The yardstick is `sha2`'s `compress256` called once per block: a double SHA-256 of
//! a header costs two compressions when mining from a midstate and three when verifying, so a
//! ratio of 1.0 means "as fast as calling `compress256` that many times".
//!
//! `IRONCHAIN_SHA256=portable` (or `sha-ni`, `avx512`) makes `scan` and `hash_headers` use that
//! backend; the explicit `*_with` rows measure every backend this CPU has either way, and the last
//! lines compare the AVX-512 kernel with the SHA-NI kernel where the CPU has both. Pin the run to
//! one core (`taskset -c 1`) on a shared machine.

use std::hint::black_box;
use std::time::Instant;

use ironchain_core::sha256d::{
    Backend, hash_headers, hash_headers_with, midstate, scan, scan_portable, scan_with,
};
use sha2::block_api::compress256;

/// How many times each measurement runs; the median is reported.
const RUNS: usize = 7;
/// Nonces per scan measurement.
const NONCES: u64 = 1 << 20;
/// Headers per batch-hash call, and calls per measurement.
const BATCH: usize = 1024;
const BATCHES: usize = 256;

/// One row of the table.
struct Case<'a> {
    name: String,
    /// SHA-256 compressions one item costs: the yardstick for its ratio.
    compressions: f64,
    /// Does the work and says how many items it did.
    measure: Box<dyn FnMut() -> u64 + 'a>,
}

impl<'a> Case<'a> {
    fn new(name: String, compressions: f64, measure: Box<dyn FnMut() -> u64 + 'a>) -> Self {
        Case {
            name,
            compressions,
            measure,
        }
    }
}

/// Returns items per second: `f` does the work and says how many items it did.
fn rate(f: &mut dyn FnMut() -> u64) -> f64 {
    let started = Instant::now();
    let items = f();
    items as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let header = [0x5au8; 80];
    let first: &[u8; 64] = header[..64].try_into().expect("64 of 80 bytes");
    let tail: &[u8; 16] = header[64..].try_into().expect("16 of 80 bytes");
    let mid = midstate(first);
    // No hash meets a zero target, so every scan tries all its nonces.
    let impossible = [0u8; 32];
    let headers: Vec<[u8; 80]> = (0..BATCH as u32)
        .map(|i| {
            let mut h = header;
            h[76..].copy_from_slice(&i.to_le_bytes());
            h
        })
        .collect();

    let mut cases: Vec<Case<'_>> = vec![Case::new(
        "compress256 (sha2, one block a call)".into(),
        1.0,
        Box::new(|| {
            let mut state = mid;
            let block = [[1u8; 64]];
            for _ in 0..NONCES {
                compress256(&mut state, black_box(&block));
            }
            black_box(state);
            NONCES
        }),
    )];
    cases.push(Case::new(
        "scan_portable".into(),
        2.0,
        Box::new(|| scan_portable(&mid, tail, 0, NONCES / 2, black_box(&impossible)).hashes),
    ));
    for backend in Backend::available() {
        cases.push(Case::new(
            format!("scan_with({backend})"),
            2.0,
            Box::new(move || {
                scan_with(backend, &mid, tail, 0, NONCES, black_box(&impossible)).hashes
            }),
        ));
    }
    cases.push(Case::new(
        format!("scan ({})", Backend::detect()),
        2.0,
        Box::new(|| scan(&mid, tail, 0, NONCES, black_box(&impossible)).hashes),
    ));
    for backend in Backend::available() {
        let (headers, mut out) = (&headers, vec![[0u8; 32]; BATCH]);
        cases.push(Case::new(
            format!("hash_headers_with({backend})"),
            3.0,
            Box::new(move || {
                for _ in 0..BATCHES {
                    hash_headers_with(backend, black_box(headers), &mut out);
                }
                (BATCHES * BATCH) as u64
            }),
        ));
    }
    let (headers, mut out) = (&headers, vec![[0u8; 32]; BATCH]);
    cases.push(Case::new(
        format!("hash_headers ({})", Backend::detect()),
        3.0,
        Box::new(move || {
            for _ in 0..BATCHES {
                hash_headers(black_box(headers), &mut out);
            }
            (BATCHES * BATCH) as u64
        }),
    ));

    let mut rates = vec![Vec::with_capacity(RUNS); cases.len()];
    for _ in 0..RUNS {
        for (case, rates) in cases.iter_mut().zip(&mut rates) {
            rates.push(rate(case.measure.as_mut()));
        }
    }
    let medians: Vec<f64> = rates
        .iter_mut()
        .map(|r| {
            r.sort_by(f64::total_cmp);
            r[r.len() / 2]
        })
        .collect();
    let compress_per_sec = medians[0];
    println!(
        "median of {RUNS} runs, one thread; ratio = items/s ÷ (compress256/s ÷ compressions per item)"
    );
    for (case, median) in cases.iter().zip(&medians) {
        let (name, ratio) = (&case.name, median * case.compressions / compress_per_sec);
        println!("{name:40} {:9.3} M/s   ratio {ratio:.2}", median / 1e6);
    }

    // The vector kernel against the SHA-NI kernel, side by side, where the CPU has both.
    let median_of = |name: &str| {
        let row = cases.iter().position(|c| c.name == name)?;
        Some(medians[row])
    };
    for op in ["scan_with", "hash_headers_with"] {
        let avx512 = median_of(&format!("{op}({})", Backend::Avx512));
        let sha_ni = median_of(&format!("{op}({})", Backend::ShaNi));
        if let (Some(avx512), Some(sha_ni)) = (avx512, sha_ni) {
            println!("{op}: avx512 ÷ sha-ni = {:.2}", avx512 / sha_ni);
        }
    }
}
