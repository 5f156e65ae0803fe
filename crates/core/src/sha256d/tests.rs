//! The kernels agree with the portable reference, nonce by nonce and header by header, and the
//! reference agrees with Bitcoin's genesis block.

use proptest::prelude::*;
use sha2::block_api::compress256;
use sha2::{Digest, Sha256};

use super::*;

/// Bitcoin's genesis block header (mainnet, block 0), as serialized on the wire.
const GENESIS_HEADER: &str = concat!(
    "01000000",                                                         // version 1
    "0000000000000000000000000000000000000000000000000000000000000000", // no previous block
    "3ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a", // merkle root
    "29ab5f49",                                                         // time 1231006505
    "ffff001d",                                                         // bits 0x1d00ffff
    "1dac2b7c",                                                         // nonce 2083236893
);

/// Its hash in internal byte order (block explorers show it reversed: 000000000019d6…).
const GENESIS_HASH: &str = "6fe28c0ab6f1b372c1a6a246ae63f74f931e8365e15a089c68d6190000000000";

/// The genesis block's nonce.
const GENESIS_NONCE: u32 = 0x7c2b_ac1d;

/// The target of bits 0x1d00ffff (difficulty 1): 0xffff × 256^26, little-endian.
fn difficulty_one_target() -> [u8; 32] {
    let mut target = [0u8; 32];
    target[26] = 0xff;
    target[27] = 0xff;
    target
}

fn genesis() -> [u8; 80] {
    let mut header = [0u8; 80];
    from_hex(GENESIS_HEADER, &mut header);
    header
}

/// Decodes the hex constants above (the module depends on nothing but `sha2`).
fn from_hex(hex: &str, out: &mut [u8]) {
    assert_eq!(hex.len(), 2 * out.len(), "hex of the expected length");
    for (byte, pair) in out.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).expect("the constants are ASCII");
        *byte = u8::from_str_radix(pair, 16).expect("the constants are hex");
    }
}

fn split(header: &[u8; 80]) -> ([u32; 8], [u8; 16]) {
    let (first, tail) = header.split_at(64);
    let first: &[u8; 64] = first.try_into().expect("split at 64 of 80");
    (midstate(first), tail.try_into().expect("split at 64 of 80"))
}

/// The hash of the header `midstate`/`tail` with `nonce`, computed the long way for the tests.
fn hash_with_nonce(midstate: &[u32; 8], tail: &[u8; 16], nonce: u32) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..16].copy_from_slice(tail);
    block[12..16].copy_from_slice(&nonce.to_le_bytes());
    block[16] = 0x80;
    block[62..].copy_from_slice(&640u16.to_be_bytes());
    let mut state = *midstate;
    compress256(&mut state, std::slice::from_ref(&block));
    let digest: Vec<u8> = state.iter().flat_map(|w| w.to_be_bytes()).collect();
    Sha256::digest(digest).into()
}

/// A nonce scan under test, with the same arguments as [`scan`].
type Scanner = Box<dyn Fn(&[u32; 8], &[u8; 16], u32, u64, &[u8; 32]) -> ScanOutcome>;

/// A batch header hash under test, with the same arguments as [`hash_headers`].
type BatchHasher = Box<dyn Fn(&[[u8; 80]], &mut [[u8; 32]])>;

/// Every way this CPU can scan: each available backend (AVX-512, SHA-NI, portable), and the
/// SHA-NI kernel at lane counts other than the one `scan` uses.
fn scanners() -> Vec<(String, Scanner)> {
    let backends = Backend::available().map(|b| {
        let scan: Scanner = Box::new(move |m, t, s, c, g| scan_with(b, m, t, s, c, g));
        (b.name().to_owned(), scan)
    });
    backends.chain(lanes::scanners()).collect()
}

/// Every way this CPU can hash a batch of headers, as [`scanners`].
fn batch_hashers() -> Vec<(String, BatchHasher)> {
    let backends = Backend::available().map(|b| {
        let hash: BatchHasher = Box::new(move |h, o| hash_headers_with(b, h, o));
        (b.name().to_owned(), hash)
    });
    backends.chain(lanes::batch_hashers()).collect()
}

/// The SHA-NI kernel at other lane counts, if this CPU has it.
#[cfg(target_arch = "x86_64")]
mod lanes {
    use super::{BatchHasher, Scanner, x86::ShaNi};

    pub(super) fn scanners() -> Vec<(String, Scanner)> {
        let Some(k) = ShaNi::detect() else {
            return Vec::new();
        };
        let lanes: [(usize, Scanner); 4] = [
            (
                1,
                Box::new(move |m, t, s, c, g| k.scan_lanes::<1>(m, t, s, c, g)),
            ),
            (
                2,
                Box::new(move |m, t, s, c, g| k.scan_lanes::<2>(m, t, s, c, g)),
            ),
            (
                3,
                Box::new(move |m, t, s, c, g| k.scan_lanes::<3>(m, t, s, c, g)),
            ),
            (
                8,
                Box::new(move |m, t, s, c, g| k.scan_lanes::<8>(m, t, s, c, g)),
            ),
        ];
        lanes
            .into_iter()
            .map(|(n, scan)| (format!("sha-ni, {n} lanes"), scan))
            .collect()
    }

    pub(super) fn batch_hashers() -> Vec<(String, BatchHasher)> {
        let Some(k) = ShaNi::detect() else {
            return Vec::new();
        };
        let lanes: [(usize, BatchHasher); 4] = [
            (1, Box::new(move |h, o| k.hash_headers_lanes::<1>(h, o))),
            (2, Box::new(move |h, o| k.hash_headers_lanes::<2>(h, o))),
            (3, Box::new(move |h, o| k.hash_headers_lanes::<3>(h, o))),
            (8, Box::new(move |h, o| k.hash_headers_lanes::<8>(h, o))),
        ];
        lanes
            .into_iter()
            .map(|(n, hash)| (format!("sha-ni, {n} lanes"), hash))
            .collect()
    }
}

/// No kernels but the backends on other CPUs.
#[cfg(not(target_arch = "x86_64"))]
mod lanes {
    use super::{BatchHasher, Scanner};

    pub(super) fn scanners() -> Vec<(String, Scanner)> {
        Vec::new()
    }

    pub(super) fn batch_hashers() -> Vec<(String, BatchHasher)> {
        Vec::new()
    }
}

#[test]
fn genesis_header_hashes_to_the_genesis_hash_on_every_backend() {
    for (name, hash_batch) in batch_hashers() {
        let mut out = [[0u8; 32]];
        hash_batch(&[genesis()], &mut out);
        let mut expected = [0u8; 32];
        from_hex(GENESIS_HASH, &mut expected);
        assert_eq!(out[0], expected, "{name}");
    }
}

#[test]
fn scan_around_the_genesis_nonce_finds_it_with_the_genesis_target() {
    let (mid, tail) = split(&genesis());
    let target = difficulty_one_target();
    for (name, scan) in scanners() {
        let outcome = scan(&mid, &tail, GENESIS_NONCE - 1000, 5000, &target);
        let expected = ScanOutcome {
            nonce: Some(GENESIS_NONCE),
            hashes: 1001,
        };
        assert_eq!(outcome, expected, "{name}");
        let exactly = scan(&mid, &tail, GENESIS_NONCE, 1, &target);
        assert_eq!(
            exactly,
            ScanOutcome {
                nonce: Some(GENESIS_NONCE),
                hashes: 1
            },
            "{name}"
        );
        let just_past = scan(&mid, &tail, GENESIS_NONCE + 1, 1000, &target);
        assert_eq!(
            just_past,
            ScanOutcome {
                nonce: None,
                hashes: 1000
            },
            "{name}"
        );
    }
}

#[test]
fn a_target_one_below_the_genesis_hash_rejects_the_genesis_nonce() {
    // The top 32 bits of hash and target are equal, so the full comparison decides.
    let mut target = [0u8; 32];
    from_hex(GENESIS_HASH, &mut target);
    let (mid, tail) = split(&genesis());
    for (name, scan) in scanners() {
        let at = scan(&mid, &tail, GENESIS_NONCE - 3, 8, &target);
        assert_eq!(
            at,
            ScanOutcome {
                nonce: Some(GENESIS_NONCE),
                hashes: 4
            },
            "{name}"
        );
    }
    target[0] -= 1;
    for (name, scan) in scanners() {
        let below = scan(&mid, &tail, GENESIS_NONCE - 3, 8, &target);
        assert_eq!(
            below,
            ScanOutcome {
                nonce: None,
                hashes: 8
            },
            "{name}"
        );
    }
}

#[test]
fn scanning_no_nonces_hashes_nothing() {
    let (mid, tail) = split(&genesis());
    for (name, scan) in scanners() {
        let outcome = scan(&mid, &tail, GENESIS_NONCE, 0, &[0xff; 32]);
        assert_eq!(
            outcome,
            ScanOutcome {
                nonce: None,
                hashes: 0
            },
            "{name}"
        );
    }
}

#[test]
fn batches_of_every_size_hash_like_one_header_at_a_time() {
    let headers: Vec<[u8; 80]> = (0..100u32)
        .map(|i| {
            let mut h = genesis();
            h[76..].copy_from_slice(&i.wrapping_mul(0x9e37_79b9).to_le_bytes());
            h[4] = i as u8;
            h
        })
        .collect();
    let one_by_one: Vec<[u8; 32]> = headers
        .iter()
        .map(|h| Sha256::digest(Sha256::digest(h)).into())
        .collect();
    for (name, hash_batch) in batch_hashers() {
        for len in (0..=9).chain([15, 16, 17, 31, 33, 64, 100]) {
            let mut out = vec![[0u8; 32]; len];
            hash_batch(&headers[..len], &mut out);
            assert_eq!(out, one_by_one[..len], "{name}, batch of {len}");
        }
    }
}

#[test]
fn every_backend_has_a_name_and_portable_is_always_available() {
    assert!(Backend::Portable.is_available());
    assert!(Backend::available().any(|b| b == Backend::Portable));
    assert!(Backend::available().any(|b| b == Backend::detect()));
    for backend in Backend::ALL {
        assert!(!backend.name().is_empty());
        assert_eq!(backend.to_string(), backend.name());
    }
}

#[test]
fn the_environment_can_force_a_backend_but_not_one_this_cpu_lacks() {
    use std::ffi::OsStr;
    assert_eq!(
        Backend::choose(Some(OsStr::new("portable"))),
        Backend::Portable
    );
    let fastest = Backend::available().next();
    assert_eq!(Some(Backend::choose(None)), fastest);
    assert_eq!(Some(Backend::choose(Some(OsStr::new("auto")))), fastest);
    for backend in Backend::ALL {
        let chosen = Backend::choose(Some(OsStr::new(backend.name())));
        if backend.is_available() {
            assert_eq!(chosen, backend);
        } else {
            assert_eq!(Some(chosen), fastest);
        }
    }
    // Measured fastest first (see the module docs): AVX-512, then SHA-NI.
    if Backend::Avx512.is_available() {
        assert_eq!(Backend::choose(None), Backend::Avx512);
    } else if Backend::ShaNi.is_available() {
        assert_eq!(Backend::choose(None), Backend::ShaNi);
    }
}

#[test]
fn a_nonce_is_found_at_every_lane_position() {
    // The target is exactly the hash of the nonce `i` steps in, so the kernels must report it
    // from whichever of the 16 lanes (and 4 SHA-NI lanes) it lands in, with the right count.
    let (mid, tail) = split(&genesis());
    for start in [0, 5, u32::MAX - 20] {
        for i in 0..40u32 {
            let nonce = start.wrapping_add(i);
            let target = hash_with_nonce(&mid, &tail, nonce);
            let expected = scan_portable(&mid, &tail, start, 40, &target);
            // Equal hashes are rare, so the reference finds `nonce` itself (or, once in 2^32,
            // an earlier nonce that also meets the target).
            assert!(expected.hashes <= u64::from(i) + 1);
            for (name, scan) in scanners() {
                let outcome = scan(&mid, &tail, start, 40, &target);
                assert_eq!(outcome, expected, "{name}, start {start}, lane step {i}");
            }
        }
    }
}

#[test]
fn ranges_of_every_length_up_to_two_batches_agree_with_the_reference() {
    // Lengths 0..=33 cover empty, part of one 16-lane batch, exactly one and two, and a
    // leftover after two; the starts cover the wrap at 2^32 inside a batch.
    let (mid, tail) = split(&genesis());
    let targets = [[0u8; 32], [0xff; 32], {
        let mut t = [0xff; 32];
        t[31] = 0x03;
        t
    }];
    for start in [0, 7, u32::MAX - 16, u32::MAX - 3, u32::MAX] {
        for count in 0..=33u64 {
            for target in &targets {
                let expected = scan_portable(&mid, &tail, start, count, target);
                for (name, scan) in scanners() {
                    let outcome = scan(&mid, &tail, start, count, target);
                    assert_eq!(outcome, expected, "{name}, start {start}, count {count}");
                }
            }
        }
    }
}

#[test]
#[should_panic(expected = "one output per header")]
fn hash_headers_refuses_an_output_of_the_wrong_length() {
    hash_headers(&[genesis()], &mut []);
}

/// A target for the property tests: how hard it is decides where in a lane batch nonces are found.
#[derive(Debug, Clone)]
enum TargetKind {
    /// Any 32 bytes: usually a top byte that most hashes meet.
    Random([u8; 32]),
    /// Only the hash zero meets it: never found.
    Zero,
    /// About one nonce in `top + 1` over 256 meets it.
    TopByte(u8),
    /// Exactly the hash of the nonce `index` steps into the range, minus `minus` (0 or 1): the
    /// top words are equal and the full comparison decides.
    HashOf { index: u64, minus: bool },
}

fn target_kind() -> impl Strategy<Value = TargetKind> {
    prop_oneof![
        any::<[u8; 32]>().prop_map(TargetKind::Random),
        Just(TargetKind::Zero),
        (0u8..16).prop_map(TargetKind::TopByte),
        (any::<u64>(), any::<bool>())
            .prop_map(|(index, minus)| TargetKind::HashOf { index, minus }),
    ]
}

fn make_target(
    kind: &TargetKind,
    mid: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
) -> [u8; 32] {
    match *kind {
        TargetKind::Random(t) => t,
        TargetKind::Zero => [0; 32],
        TargetKind::TopByte(top) => {
            let mut t = [0xff; 32];
            t[31] = top;
            t
        }
        TargetKind::HashOf { index, minus } => {
            let nonce = start.wrapping_add((index % count.max(1)) as u32);
            let mut t = hash_with_nonce(mid, tail, nonce);
            if minus {
                // Subtract one from the little-endian number (a zero hash stays zero).
                if let Some(i) = t.iter().position(|&b| b != 0) {
                    t[i] -= 1;
                    t[..i].fill(0xff);
                }
            }
            t
        }
    }
}

proptest! {
    #[test]
    fn every_scanner_finds_the_nonce_the_reference_finds(
        mid in any::<[u32; 8]>(),
        tail in any::<[u8; 16]>(),
        start in prop_oneof![any::<u32>(), (u32::MAX - 12)..=u32::MAX, 0u32..4],
        count in prop_oneof![0u64..=9, 0u64..200],
        kind in target_kind(),
    ) {
        let target = make_target(&kind, &mid, &tail, start, count);
        let expected = scan_portable(&mid, &tail, start, count, &target);
        for (name, scan) in scanners() {
            prop_assert_eq!(scan(&mid, &tail, start, count, &target), expected, "{}", name);
        }
    }

    #[test]
    fn reference_scan_finds_the_first_nonce_whose_full_header_hash_meets_the_target(
        header in any::<[u8; 80]>(),
        start in any::<u32>(),
        count in 0u64..40,
        top in 0u8..32,
    ) {
        // Hashes whole headers with `sha2`'s Digest, independently of midstates.
        let mut target = [0xff; 32];
        target[31] = top;
        let first = (0..count).find(|&i| {
            let mut h = header;
            h[76..].copy_from_slice(&start.wrapping_add(i as u32).to_le_bytes());
            let hash: [u8; 32] = Sha256::digest(Sha256::digest(h)).into();
            meets_target(&hash, &target)
        });
        let expected = match first {
            Some(i) => ScanOutcome { nonce: Some(start.wrapping_add(i as u32)), hashes: i + 1 },
            None => ScanOutcome { nonce: None, hashes: count },
        };
        let (mid, tail) = split(&header);
        prop_assert_eq!(scan_portable(&mid, &tail, start, count, &target), expected);
    }

    #[test]
    fn every_batch_hasher_agrees_with_sha2_on_random_headers(
        headers in proptest::collection::vec(any::<[u8; 80]>(), 0..20),
    ) {
        let expected: Vec<[u8; 32]> =
            headers.iter().map(|h| Sha256::digest(Sha256::digest(h)).into()).collect();
        for (name, hash_batch) in batch_hashers() {
            let mut out = vec![[0u8; 32]; headers.len()];
            hash_batch(&headers, &mut out);
            prop_assert_eq!(&out, &expected, "{}", name);
        }
    }
}
