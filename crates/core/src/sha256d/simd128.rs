//! The WebAssembly SIMD kernel: double SHA-256 of 4 headers at once, one per 32-bit lane of a
//! 128-bit `v128` value: the lanes idea of the AVX-512 kernel (`avx512.rs`), at the width a
//! browser offers.
//!
//! WebAssembly has no SHA instructions, so the portable backend runs `sha2`'s compression one
//! message at a time; here every instruction works on four messages (four headers of a batch,
//! or four nonces), and the engine (V8, SpiderMonkey, JavaScriptCore) maps each `v128`
//! operation to one SSE or NEON instruction. SIMD has no rotate, so a rotation is two shifts
//! and an `or`; `Ch` and `Maj` are one `bitselect` each.
//!
//! WebAssembly features are fixed when the module is compiled, not detected at run time: this
//! module exists only in builds with `-C target-feature=+simd128` (as `crates/wasm` builds the
//! explorer's module), and every backend there is this one or the portable reference. It needs
//! no `unsafe`: with the feature enabled for the whole build, the intrinsics are safe to call,
//! and the headers are read as ordinary bytes.
//!
//! Tested lane by lane against the portable reference inside the WebAssembly build
//! (`crates/wasm`'s kernel self-check, run in Node by its tests), since `cargo test` runs only
//! native code.

use core::arch::wasm32::{
    u32x4, u32x4_add, u32x4_extract_lane, u32x4_shl, u32x4_shr, u32x4_splat, v128, v128_bitselect,
    v128_or, v128_xor,
};

use super::{SHA256_IV, ScanOutcome, meets_target};

/// How many messages the kernel hashes at once: one per 32-bit lane of a `v128`.
pub(super) const LANES: usize = 4;

/// SHA-256 round constants (FIPS 180-4, section 4.2.2); the same table as `avx512.rs`, which
/// is compiled only for x86-64.
const K: [u32; 64] = [
    0x428a_2f98,
    0x7137_4491,
    0xb5c0_fbcf,
    0xe9b5_dba5,
    0x3956_c25b,
    0x59f1_11f1,
    0x923f_82a4,
    0xab1c_5ed5,
    0xd807_aa98,
    0x1283_5b01,
    0x2431_85be,
    0x550c_7dc3,
    0x72be_5d74,
    0x80de_b1fe,
    0x9bdc_06a7,
    0xc19b_f174,
    0xe49b_69c1,
    0xefbe_4786,
    0x0fc1_9dc6,
    0x240c_a1cc,
    0x2de9_2c6f,
    0x4a74_84aa,
    0x5cb0_a9dc,
    0x76f9_88da,
    0x983e_5152,
    0xa831_c66d,
    0xb003_27c8,
    0xbf59_7fc7,
    0xc6e0_0bf3,
    0xd5a7_9147,
    0x06ca_6351,
    0x1429_2967,
    0x27b7_0a85,
    0x2e1b_2138,
    0x4d2c_6dfc,
    0x5338_0d13,
    0x650a_7354,
    0x766a_0abb,
    0x81c2_c92e,
    0x9272_2c85,
    0xa2bf_e8a1,
    0xa81a_664b,
    0xc24b_8b70,
    0xc76c_51a3,
    0xd192_e819,
    0xd699_0624,
    0xf40e_3585,
    0x106a_a070,
    0x19a4_c116,
    0x1e37_6c08,
    0x2748_774c,
    0x34b0_bcb5,
    0x391c_0cb3,
    0x4ed8_aa4a,
    0x5b9c_ca4f,
    0x682e_6ff3,
    0x748f_82ee,
    0x78a5_636f,
    0x84c8_7814,
    0x8cc7_0208,
    0x90be_fffa,
    0xa450_6ceb,
    0xbef9_a3f7,
    0xc671_78f2,
];

/// The padding word that follows the message (FIPS 180-4, section 5.1.1).
const PAD: u32 = 0x8000_0000;
/// The last word of a header's second block: its length, 80 bytes, in bits.
const HEADER_BITS: u32 = 80 * 8;
/// The last word of the second hash's block: the digest's length, 32 bytes, in bits.
const DIGEST_BITS: u32 = 32 * 8;

/// Four words, one per message.
type V = v128;

#[inline(always)]
fn splat(x: u32) -> V {
    u32x4_splat(x)
}

#[inline(always)]
fn add(a: V, b: V) -> V {
    u32x4_add(a, b)
}

/// Rotates each lane right by `R` bits.
#[inline(always)]
fn rotr<const R: u32>(x: V) -> V {
    v128_or(u32x4_shr(x, R), u32x4_shl(x, 32 - R))
}

#[inline(always)]
fn xor3(a: V, b: V, c: V) -> V {
    v128_xor(v128_xor(a, b), c)
}

// SHA-256's functions (FIPS 180-4, section 4.1.2), four lanes at a time.
#[inline(always)]
fn big_sigma0(x: V) -> V {
    xor3(rotr::<2>(x), rotr::<13>(x), rotr::<22>(x))
}
#[inline(always)]
fn big_sigma1(x: V) -> V {
    xor3(rotr::<6>(x), rotr::<11>(x), rotr::<25>(x))
}
#[inline(always)]
fn small_sigma0(x: V) -> V {
    xor3(rotr::<7>(x), rotr::<18>(x), u32x4_shr(x, 3))
}
#[inline(always)]
fn small_sigma1(x: V) -> V {
    xor3(rotr::<17>(x), rotr::<19>(x), u32x4_shr(x, 10))
}
/// `Ch(e, f, g)`: `f` where `e` is set, else `g`.
#[inline(always)]
fn ch(e: V, f: V, g: V) -> V {
    v128_bitselect(f, g, e)
}
/// `Maj(a, b, c)`: where `a` and `b` differ, `c` decides; elsewhere they agree.
#[inline(always)]
fn maj(a: V, b: V, c: V) -> V {
    v128_bitselect(c, a, v128_xor(a, b))
}

/// Where working variable `var` (0 for `a` … 7 for `h`) lives at round `t`: rather than moving
/// eight values each round, a round writes its new `a` over `h`'s slot and its new `e` over
/// `d`'s, and the names move instead (as in `avx512.rs`).
const fn slot(var: usize, t: usize) -> usize {
    (var + 64 - t % 64) % 8
}

/// Round `$t` on every lane of the state `$s`, with `$w` the message word; then, for rounds
/// 16 and on, the schedule word is made first in the ring `$w` of sixteen.
///
/// A macro, not a loop: every round is straight-line code with its slots known at compile
/// time, so the state and schedule stay in WebAssembly locals (a loop kept them in memory and
/// ran at half the speed).
macro_rules! round {
    ($s:ident, $w:ident, $t:expr) => {{
        let t: usize = $t;
        if t >= 16 {
            $w[t % 16] = add(
                add(small_sigma1($w[(t + 14) % 16]), $w[(t + 9) % 16]),
                add(small_sigma0($w[(t + 1) % 16]), $w[t % 16]),
            );
        }
        let (a, b, c, d) = (slot(0, t), slot(1, t), slot(2, t), slot(3, t));
        let (e, f, g, h) = (slot(4, t), slot(5, t), slot(6, t), slot(7, t));
        let t1 = add(
            add($s[h], big_sigma1($s[e])),
            add(ch($s[e], $s[f], $s[g]), add(splat(K[t]), $w[t % 16])),
        );
        $s[d] = add($s[d], t1);
        $s[h] = add(t1, add(big_sigma0($s[a]), maj($s[a], $s[b], $s[c])));
    }};
}

macro_rules! rounds {
    ($s:ident, $w:ident; $($t:literal)*) => {{ $( round!($s, $w, $t); )* }};
}

/// One SHA-256 compression of four blocks (`block`, message words) from `state`.
///
/// Not inlined: one copy of the unrolled rounds is about 15 KB of code, and a module that
/// inlines it in each of its three uses outgrows the page's size budget for no speed.
#[inline(never)]
fn compress(state: &[V; 8], block: &[V; 16]) -> [V; 8] {
    let mut w = *block;
    let mut s = *state;
    rounds!(s, w; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    rounds!(s, w; 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    rounds!(s, w; 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47);
    rounds!(s, w; 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);
    // After 64 rounds every name is back in its own slot.
    std::array::from_fn(|i| add(s[i], state[i]))
}

/// The second SHA-256 of a double hash: of the 32-byte `digest`, padded.
#[inline(always)]
fn hash_digest(digest: &[V; 8]) -> [V; 8] {
    let mut block = [splat(0); 16];
    block[..8].copy_from_slice(digest);
    block[8] = splat(PAD);
    block[15] = splat(DIGEST_BITS);
    compress(&SHA256_IV.map(splat), &block)
}

/// Lane `lane` of each of the eight state words, as SHA-256's big-endian digest bytes.
fn digest_bytes(state: &[V; 8], lane: usize) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        let value = match lane {
            0 => u32x4_extract_lane::<0>(*word),
            1 => u32x4_extract_lane::<1>(*word),
            2 => u32x4_extract_lane::<2>(*word),
            _ => u32x4_extract_lane::<3>(*word),
        };
        chunk.copy_from_slice(&value.to_be_bytes());
    }
    out
}

/// Double SHA-256 of four whole headers: three compressions each.
fn hash_lanes(headers: &[[u8; 80]; LANES], out: &mut [[u8; 32]; LANES]) {
    let word = |lane: usize, i: usize| {
        let bytes = &headers[lane][4 * i..4 * i + 4];
        u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
    };
    let words: [V; 20] =
        std::array::from_fn(|i| u32x4(word(0, i), word(1, i), word(2, i), word(3, i)));
    let first: [V; 16] = std::array::from_fn(|i| words[i]);
    let mid = compress(&SHA256_IV.map(splat), &first);
    let mut second = [splat(0); 16];
    second[..4].copy_from_slice(&words[16..]);
    second[4] = splat(PAD);
    second[15] = splat(HEADER_BITS);
    let hash = hash_digest(&compress(&mid, &second));
    for (lane, hash_out) in out.iter_mut().enumerate() {
        *hash_out = digest_bytes(&hash, lane);
    }
}

/// Hashes whole groups of four headers, then the leftovers padded to a group; see
/// [`super::hash_headers`].
pub(super) fn hash_headers(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    let (groups, rest) = headers.as_chunks::<LANES>();
    let (out_groups, out_rest) = out.as_chunks_mut::<LANES>();
    for (group, hashes) in groups.iter().zip(out_groups) {
        hash_lanes(group, hashes);
    }
    if !rest.is_empty() {
        let mut group = [[0u8; 80]; LANES];
        group[..rest.len()].copy_from_slice(rest);
        let mut hashes = [[0u8; 32]; LANES];
        hash_lanes(&group, &mut hashes);
        out_rest.copy_from_slice(&hashes[..rest.len()]);
    }
}

/// Tries `count` nonces from `start`, four at a time; see [`super::scan`]. Lanes past the end
/// of the range or past the found nonce are ignored, so the outcome is the reference's.
pub(super) fn scan(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    let word = |i: usize| u32::from_be_bytes([tail[i], tail[i + 1], tail[i + 2], tail[i + 3]]);
    let mid = midstate.map(splat);
    let mut block = [splat(0); 16];
    block[0] = splat(word(0));
    block[1] = splat(word(4));
    block[2] = splat(word(8));
    block[4] = splat(PAD);
    block[15] = splat(HEADER_BITS);
    let mut done = 0u64;
    while done < count {
        let first = start.wrapping_add(done as u32);
        let nonce = |lane: u32| first.wrapping_add(lane).swap_bytes();
        block[3] = u32x4(nonce(0), nonce(1), nonce(2), nonce(3));
        let hash = hash_digest(&compress(&mid, &block));
        let valid = (count - done).min(LANES as u64);
        for lane in 0..valid as usize {
            if meets_target(&digest_bytes(&hash, lane), target) {
                return ScanOutcome {
                    nonce: Some(first.wrapping_add(lane as u32)),
                    hashes: done + lane as u64 + 1,
                };
            }
        }
        done += valid;
    }
    ScanOutcome {
        nonce: None,
        hashes: count,
    }
}
