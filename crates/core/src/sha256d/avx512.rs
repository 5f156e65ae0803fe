//! The AVX-512 kernel: double SHA-256 of 16 headers at once, one per 32-bit lane of a register.
//!
//! SHA-NI computes one message's rounds in a dedicated unit, but only so many per cycle. This
//! kernel does the opposite: it computes SHA-256 with ordinary vector arithmetic, and each
//! instruction works on [`LANES`] messages at once (nonces `n, n+1, …, n+15`, or 16 headers of
//! a batch). A round costs about seventeen instructions (six rotations, four three-input logic
//! operations, seven additions), but on a CPU with a full-width 512-bit datapath (AMD Zen 5)
//! they are shared by 16 messages.
//! Whether it beats SHA-NI is measured, not assumed: see the module docs of [`super`].
//!
//! The nonce scan skips the work that is the same for every nonce, as miners do:
//! - the header's first 64 bytes are the caller's midstate, and the first three rounds of the
//!   second block (merkle-root tail, time, bits) run once per call, in scalar code; the fourth,
//!   which adds the nonce, is two vector additions;
//! - message words that do not depend on the nonce (padding, and the parts of words 16..32
//!   built only from the tail) are computed once per call, or are constants;
//! - the second SHA-256 hashes 32 bytes, so half its message is fixed padding;
//! - only the hash's most significant word is computed (the last three rounds are skipped and
//!   the four before them only update `e`): a lane whose top word can meet the target is
//!   confirmed by the portable reference.
//!
//! `unsafe` here has two uses: calling `#[target_feature]` functions, allowed only once an
//! [`Avx512`] value proves the CPU has the features; and the gathers that load 16 headers,
//! whose offsets stay inside a 16-header array.

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_cmple_epu32_mask, _mm512_i32gather_epi32, _mm512_ror_epi32,
    _mm512_set1_epi32, _mm512_setr_epi32, _mm512_shuffle_epi8, _mm512_srli_epi32,
    _mm512_storeu_si512, _mm512_ternarylogic_epi32,
};

use super::{SHA256_IV, ScanOutcome, scan_portable};

/// How many messages the kernel hashes at once: one per 32-bit lane of a 512-bit register.
pub(super) const LANES: usize = 16;

/// Proof that the running CPU has the instructions the kernel uses.
///
/// The only way to get one is [`Avx512::detect`], so holding one makes calling the
/// `#[target_feature]` functions below sound.
#[derive(Debug, Clone, Copy)]
pub(super) struct Avx512 {
    _detected: (),
}

impl Avx512 {
    /// Returns a proof of support if this CPU has AVX-512F (rotations, three-input logic,
    /// unsigned compares) and AVX-512BW (the byte shuffle that swaps byte order).
    pub(super) fn detect() -> Option<Self> {
        let supported =
            std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx512bw");
        supported.then_some(Avx512 { _detected: () })
    }

    /// The nonce scan of [`super::scan`], 16 nonces at a time.
    pub(super) fn scan(
        self,
        midstate: &[u32; 8],
        tail: &[u8; 16],
        start: u32,
        count: u64,
        target: &[u8; 32],
    ) -> ScanOutcome {
        // SAFETY: `self` exists only if `detect` found every feature `scan_kernel` enables.
        unsafe { scan_kernel(midstate, tail, start, count, target) }
    }

    /// The batch hash of [`super::hash_headers`], 16 headers at a time. The caller has checked
    /// that the lengths agree.
    pub(super) fn hash_headers(self, headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
        // SAFETY: `self` exists only if `detect` found every feature `hash_headers_kernel`
        // enables.
        unsafe { hash_headers_kernel(headers, out) }
    }
}

/// SHA-256 round constants (FIPS 180-4, section 4.2.2).
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

/// Where working variable `var` (0 for `a` … 7 for `h`) lives at round `t`.
///
/// Rather than moving eight registers each round, a round writes its new `a` over `h`'s slot and
/// its new `e` over `d`'s, and the names move instead: after round `t` every variable sits one
/// slot lower than before it.
const fn slot(var: usize, t: usize) -> usize {
    (var + 64 - t % 64) % 8
}

// Scalar SHA-256 functions (FIPS 180-4, section 4.1.2), for what is computed once per call.
const fn big_sigma0(x: u32) -> u32 {
    x.rotate_right(2) ^ x.rotate_right(13) ^ x.rotate_right(22)
}
const fn big_sigma1(x: u32) -> u32 {
    x.rotate_right(6) ^ x.rotate_right(11) ^ x.rotate_right(25)
}
const fn small_sigma0(x: u32) -> u32 {
    x.rotate_right(7) ^ x.rotate_right(18) ^ (x >> 3)
}
const fn small_sigma1(x: u32) -> u32 {
    x.rotate_right(17) ^ x.rotate_right(19) ^ (x >> 10)
}

/// One round on a scalar state laid out as [`slot`] says.
fn scalar_round(s: &mut [u32; 8], t: usize, w: u32) {
    let [a, b, c, d, e, f, g, h] = std::array::from_fn(|v| slot(v, t));
    let ch = (s[e] & s[f]) ^ (!s[e] & s[g]);
    let maj = (s[a] & s[b]) ^ (s[a] & s[c]) ^ (s[b] & s[c]);
    let t1 = s[h]
        .wrapping_add(big_sigma1(s[e]))
        .wrapping_add(ch)
        .wrapping_add(K[t])
        .wrapping_add(w);
    s[d] = s[d].wrapping_add(t1);
    s[h] = t1.wrapping_add(big_sigma0(s[a]).wrapping_add(maj));
}

/// A vector of 16 words, one per message.
type V = __m512i;

/// The same word in every lane.
#[inline]
#[target_feature(enable = "avx512f")]
fn splat(x: u32) -> V {
    _mm512_set1_epi32(x as i32)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn add(a: V, b: V) -> V {
    _mm512_add_epi32(a, b)
}

/// `a ^ b ^ c` in one instruction (truth table 0x96).
#[inline]
#[target_feature(enable = "avx512f")]
fn xor3(a: V, b: V, c: V) -> V {
    _mm512_ternarylogic_epi32::<0x96>(a, b, c)
}

#[inline]
#[target_feature(enable = "avx512f")]
fn big_sigma0_v(x: V) -> V {
    xor3(
        _mm512_ror_epi32::<2>(x),
        _mm512_ror_epi32::<13>(x),
        _mm512_ror_epi32::<22>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f")]
fn big_sigma1_v(x: V) -> V {
    xor3(
        _mm512_ror_epi32::<6>(x),
        _mm512_ror_epi32::<11>(x),
        _mm512_ror_epi32::<25>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f")]
fn small_sigma0_v(x: V) -> V {
    xor3(
        _mm512_ror_epi32::<7>(x),
        _mm512_ror_epi32::<18>(x),
        _mm512_srli_epi32::<3>(x),
    )
}

#[inline]
#[target_feature(enable = "avx512f")]
fn small_sigma1_v(x: V) -> V {
    xor3(
        _mm512_ror_epi32::<17>(x),
        _mm512_ror_epi32::<19>(x),
        _mm512_srli_epi32::<10>(x),
    )
}

/// `Ch(e, f, g)`: `f` where `e` is set, else `g` (truth table 0xca).
#[inline]
#[target_feature(enable = "avx512f")]
fn ch(e: V, f: V, g: V) -> V {
    _mm512_ternarylogic_epi32::<0xca>(e, f, g)
}

/// `Maj(a, b, c)`: the majority of each bit (truth table 0xe8).
#[inline]
#[target_feature(enable = "avx512f")]
fn maj(a: V, b: V, c: V) -> V {
    _mm512_ternarylogic_epi32::<0xe8>(a, b, c)
}

/// Reverses the bytes of each lane (SHA-256 words are big-endian; nonces and targets are not).
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn bswap(x: V) -> V {
    let mask = _mm512_setr_epi32(
        0x0001_0203,
        0x0405_0607,
        0x0809_0a0b,
        0x0c0d_0e0f,
        0x0001_0203,
        0x0405_0607,
        0x0809_0a0b,
        0x0c0d_0e0f,
        0x0001_0203,
        0x0405_0607,
        0x0809_0a0b,
        0x0c0d_0e0f,
        0x0001_0203,
        0x0405_0607,
        0x0809_0a0b,
        0x0c0d_0e0f,
    );
    _mm512_shuffle_epi8(x, mask)
}

// The round helpers are macros: a `#[target_feature]` function cannot be `#[inline(always)]`,
// and each round must be straight-line code with its slots known at compile time, so that
// the state and message words stay in the 32 vector registers.

/// Round `$t` on every lane of `$s`, with `$wk` the message word plus round constant.
macro_rules! round {
    ($s:ident, $t:literal, $wk:expr) => {{
        let [a, b, c, d, e, f, g, h] = const { slots($t) };
        let t1 = add(
            add($s[h], $wk),
            add(ch($s[e], $s[f], $s[g]), big_sigma1_v($s[e])),
        );
        $s[d] = add($s[d], t1);
        $s[h] = add(t1, add(big_sigma0_v($s[a]), maj($s[a], $s[b], $s[c])));
    }};
}

/// Round `$t`, computing only the new `e`: enough when the new `a` is never read.
macro_rules! round_e_only {
    ($s:ident, $t:literal, $wk:expr) => {{
        let [_, _, _, d, e, f, g, h] = const { slots($t) };
        let t1 = add(
            add($s[h], $wk),
            add(ch($s[e], $s[f], $s[g]), big_sigma1_v($s[e])),
        );
        $s[d] = add($s[d], t1);
    }};
}

/// Rounds `$t…` whose message words (plus constants) are in the array `$wk`.
macro_rules! rounds_fixed {
    ($s:ident, $wk:expr; $($t:literal)*) => {{
        $( round!($s, $t, splat($wk[$t])); )*
    }};
}

/// Rounds `$t…` whose message words are in `$w` (computed already).
macro_rules! rounds_from {
    ($s:ident, $w:ident; $($t:literal)*) => {{
        $( round!($s, $t, add($w[$t], splat(K[$t]))); )*
    }};
}

/// Derives message words `$t…` in `$w` from the sixteen before each, and runs their rounds.
macro_rules! rounds_scheduled {
    ($s:ident, $w:ident; $($t:literal)*) => {{
        $(
            $w[$t] = add(
                add(small_sigma1_v($w[$t - 2]), $w[$t - 7]),
                add(small_sigma0_v($w[$t - 15]), $w[$t - 16]),
            );
            round!($s, $t, add($w[$t], splat(K[$t])));
        )*
    }};
}

/// The slots of `a` … `h` at round `t`.
const fn slots(t: usize) -> [usize; 8] {
    [
        slot(0, t),
        slot(1, t),
        slot(2, t),
        slot(3, t),
        slot(4, t),
        slot(5, t),
        slot(6, t),
        slot(7, t),
    ]
}

/// What a nonce scan computes once per call: everything that does not depend on the nonce.
struct ScanJob {
    /// The midstate, for the feed-forward of the first compression.
    mid: [u32; 8],
    /// The state after rounds 0..3 of the second block, laid out for round 3.
    after_three: [u32; 8],
    /// Round 3 adds the nonce word to `e` and `a`; these are the rest of the new `e` and `a`.
    e4: u32,
    a4: u32,
    /// Message word plus round constant for rounds 4..18, whose words are fixed.
    wk: [u32; 18],
    /// Message words 16 and 17, fixed.
    w16: u32,
    w17: u32,
    /// The nonce-free parts of message words 18 and 19 (`w18 = c18 + σ0(nonce)`,
    /// `w19 = c19 + nonce`).
    c18: u32,
    c19: u32,
}

impl ScanJob {
    fn new(midstate: &[u32; 8], tail: &[u8; 16]) -> Self {
        let word = |i: usize| u32::from_be_bytes([tail[i], tail[i + 1], tail[i + 2], tail[i + 3]]);
        let (w0, w1, w2) = (word(0), word(4), word(8));
        let mut s = *midstate;
        for (t, w) in [w0, w1, w2].into_iter().enumerate() {
            scalar_round(&mut s, t, w);
        }
        let [a, b, c, d, e, f, g, h] = slots(3);
        let ch = (s[e] & s[f]) ^ (!s[e] & s[g]);
        let maj = (s[a] & s[b]) ^ (s[a] & s[c]) ^ (s[b] & s[c]);
        let t1 = s[h]
            .wrapping_add(big_sigma1(s[e]))
            .wrapping_add(ch)
            .wrapping_add(K[3]);
        let t2 = big_sigma0(s[a]).wrapping_add(maj);

        let w16 = small_sigma0(w1).wrapping_add(w0);
        let w17 = small_sigma1(HEADER_BITS)
            .wrapping_add(small_sigma0(w2))
            .wrapping_add(w1);
        let mut words = [0u32; 18];
        words[4] = PAD;
        words[15] = HEADER_BITS;
        words[16] = w16;
        words[17] = w17;
        let wk = std::array::from_fn(|t| words[t].wrapping_add(K[t]));
        ScanJob {
            mid: *midstate,
            after_three: s,
            e4: s[d].wrapping_add(t1),
            a4: t1.wrapping_add(t2),
            wk,
            w16,
            w17,
            c18: small_sigma1(w16).wrapping_add(w2),
            c19: small_sigma1(w17).wrapping_add(small_sigma0(PAD)),
        }
    }

    /// Returns the most significant word of the hash (digest word 7, byte-swapped) for each
    /// lane's nonce word `nonce` (already in message byte order).
    #[inline]
    #[target_feature(enable = "avx512f,avx512bw")]
    fn top_words(&self, nonce: V) -> V {
        let zero = splat(0);
        // The header's second block, from round 3 (the first to see the nonce).
        let mut s: [V; 8] = std::array::from_fn(|i| splat(self.after_three[i]));
        s[slot(3, 3)] = add(splat(self.e4), nonce);
        s[slot(7, 3)] = add(splat(self.a4), nonce);
        rounds_fixed!(s, self.wk; 4 5 6 7 8 9 10 11 12 13 14 15 16 17);
        let mut w = [zero; 64];
        w[16] = splat(self.w16);
        w[17] = splat(self.w17);
        w[18] = add(splat(self.c18), small_sigma0_v(nonce));
        w[19] = add(splat(self.c19), nonce);
        w[20] = add(small_sigma1_v(w[18]), splat(PAD));
        w[21] = small_sigma1_v(w[19]);
        w[22] = add(small_sigma1_v(w[20]), splat(HEADER_BITS));
        for t in 23..30 {
            w[t] = add(small_sigma1_v(w[t - 2]), w[t - 7]);
        }
        w[30] = add(
            add(small_sigma1_v(w[28]), w[23]),
            splat(small_sigma0(HEADER_BITS)),
        );
        w[31] = add(
            add(small_sigma1_v(w[29]), w[24]),
            splat(small_sigma0(self.w16).wrapping_add(HEADER_BITS)),
        );
        rounds_from!(s, w; 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
        rounds_scheduled!(s, w; 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47);
        rounds_scheduled!(s, w; 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);
        let digest: [V; 8] = std::array::from_fn(|i| add(s[slot(i, 64)], splat(self.mid[i])));

        // The second hash, of the 32-byte digest.
        let mut s: [V; 8] = SHA256_IV.map(|word| splat(word));
        let mut x = [zero; 64];
        x[..8].copy_from_slice(&digest);
        rounds_from!(s, x; 0 1 2 3 4 5 6 7);
        let mut padding = [0u32; 16];
        padding[8] = PAD;
        padding[15] = DIGEST_BITS;
        let wk: [u32; 16] = std::array::from_fn(|t| padding[t].wrapping_add(K[t]));
        rounds_fixed!(s, wk; 8 9 10 11 12 13 14 15);
        x[16] = add(small_sigma0_v(x[1]), x[0]);
        x[17] = add(
            add(small_sigma0_v(x[2]), x[1]),
            splat(small_sigma1(DIGEST_BITS)),
        );
        for t in 18..22 {
            x[t] = add(
                add(small_sigma1_v(x[t - 2]), small_sigma0_v(x[t - 15])),
                x[t - 16],
            );
        }
        x[22] = add(
            add(small_sigma1_v(x[20]), splat(DIGEST_BITS)),
            add(small_sigma0_v(x[7]), x[6]),
        );
        x[23] = add(
            add(small_sigma1_v(x[21]), x[16]),
            add(splat(small_sigma0(PAD)), x[7]),
        );
        x[24] = add(add(small_sigma1_v(x[22]), x[17]), splat(PAD));
        for t in 25..30 {
            x[t] = add(small_sigma1_v(x[t - 2]), x[t - 7]);
        }
        x[30] = add(
            add(small_sigma1_v(x[28]), x[23]),
            splat(small_sigma0(DIGEST_BITS)),
        );
        x[31] = add(
            add(small_sigma1_v(x[29]), x[24]),
            add(small_sigma0_v(x[16]), splat(DIGEST_BITS)),
        );
        rounds_from!(s, x; 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
        rounds_scheduled!(s, x; 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47);
        rounds_scheduled!(s, x; 48 49 50 51 52 53 54 55 56);
        // The final `h` is the `e` made by round 60; rounds 57..61 need only `e`.
        for t in 57..61 {
            x[t] = add(
                add(small_sigma1_v(x[t - 2]), x[t - 7]),
                add(small_sigma0_v(x[t - 15]), x[t - 16]),
            );
        }
        round_e_only!(s, 57, add(x[57], splat(K[57])));
        round_e_only!(s, 58, add(x[58], splat(K[58])));
        round_e_only!(s, 59, add(x[59], splat(K[59])));
        round_e_only!(s, 60, add(x[60], splat(K[60])));
        bswap(add(s[slot(3, 60)], splat(SHA256_IV[7])))
    }
}

/// Tries `count` nonces from `start`, 16 at a time; see [`super::scan`].
///
/// The last batch may run past the end of the range, and a batch past the found nonce; those
/// lanes are ignored, so the outcome (including `hashes`) is the reference's.
#[target_feature(enable = "avx512f,avx512bw")]
fn scan_kernel(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    let job = ScanJob::new(midstate, tail);
    let target_top = splat(u32::from_le_bytes([
        target[28], target[29], target[30], target[31],
    ]));
    let lane_offsets = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut nonces = add(splat(start), lane_offsets);
    let mut done = 0u64;
    while done < count {
        let tops = job.top_words(bswap(nonces));
        let valid = (count - done).min(LANES as u64);
        let in_range = if valid == LANES as u64 {
            u16::MAX
        } else {
            (1u16 << valid) - 1
        };
        let mut candidates = _mm512_cmple_epu32_mask(tops, target_top) & in_range;
        while candidates != 0 {
            // The top word can meet the target; the reference decides on all 256 bits.
            let lane = candidates.trailing_zeros();
            let candidate = start.wrapping_add(done as u32).wrapping_add(lane);
            if scan_portable(midstate, tail, candidate, 1, target)
                .nonce
                .is_some()
            {
                return ScanOutcome {
                    nonce: Some(candidate),
                    hashes: done + u64::from(lane) + 1,
                };
            }
            candidates &= candidates - 1;
        }
        done += valid;
        nonces = add(nonces, splat(LANES as u32));
    }
    ScanOutcome {
        nonce: None,
        hashes: count,
    }
}

/// One whole SHA-256 compression of 16 blocks (`w[0..16]`, message words) from `state`.
#[inline]
#[target_feature(enable = "avx512f")]
fn compress(state: &[V; 8], block: &[V; 16]) -> [V; 8] {
    let mut s = *state;
    let mut w = [splat(0); 64];
    w[..16].copy_from_slice(block);
    rounds_from!(s, w; 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
    rounds_scheduled!(s, w; 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    rounds_scheduled!(s, w; 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47);
    rounds_scheduled!(s, w; 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63);
    std::array::from_fn(|i| add(s[slot(i, 64)], state[i]))
}

/// Double SHA-256 of 16 whole headers: three compressions each.
#[inline]
#[target_feature(enable = "avx512f,avx512bw")]
fn hash_lanes(headers: &[[u8; 80]; LANES], out: &mut [[u8; 32]; LANES]) {
    let offsets = _mm512_setr_epi32(
        0,
        80,
        2 * 80,
        3 * 80,
        4 * 80,
        5 * 80,
        6 * 80,
        7 * 80,
        8 * 80,
        9 * 80,
        10 * 80,
        11 * 80,
        12 * 80,
        13 * 80,
        14 * 80,
        15 * 80,
    );
    let base = headers.as_ptr().cast::<u8>();
    let words: [V; 20] = std::array::from_fn(|i| {
        // SAFETY: lane `l` reads bytes `80 l + 4 i .. 80 l + 4 i + 4` with `l < 16` and
        // `i < 20`, all inside the 16 × 80 bytes of `headers`; gathers need no alignment.
        bswap(unsafe { _mm512_i32gather_epi32::<1>(offsets, base.add(4 * i).cast()) })
    });
    let iv = SHA256_IV.map(|word| splat(word));
    let first: [V; 16] = std::array::from_fn(|i| words[i]);
    let mid = compress(&iv, &first);
    let mut second = [splat(0); 16];
    second[..4].copy_from_slice(&words[16..]);
    second[4] = splat(PAD);
    second[15] = splat(HEADER_BITS);
    let digest = compress(&mid, &second);
    let mut third = [splat(0); 16];
    third[..8].copy_from_slice(&digest);
    third[8] = splat(PAD);
    third[15] = splat(DIGEST_BITS);
    let hash = compress(&iv, &third);

    let mut columns = [[0u32; LANES]; 8];
    for (column, word) in columns.iter_mut().zip(hash) {
        // SAFETY: `column` is 16 writable `u32`s, the 64 bytes one unaligned store writes.
        unsafe { _mm512_storeu_si512(column.as_mut_ptr().cast(), word) };
    }
    for (lane, hash) in out.iter_mut().enumerate() {
        for (chunk, column) in hash.chunks_exact_mut(4).zip(&columns) {
            chunk.copy_from_slice(&column[lane].to_be_bytes());
        }
    }
}

/// Hashes whole batches of 16 headers, then the leftovers padded to a batch.
#[target_feature(enable = "avx512f,avx512bw")]
fn hash_headers_kernel(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    let (batches, rest) = headers.as_chunks::<LANES>();
    let (out_batches, out_rest) = out.as_chunks_mut::<LANES>();
    for (batch, hashes) in batches.iter().zip(out_batches) {
        hash_lanes(batch, hashes);
    }
    if !rest.is_empty() {
        let mut batch = [[0u8; 80]; LANES];
        batch[..rest.len()].copy_from_slice(rest);
        let mut hashes = [[0u8; 32]; LANES];
        hash_lanes(&batch, &mut hashes);
        out_rest.copy_from_slice(&hashes[..rest.len()]);
    }
}
