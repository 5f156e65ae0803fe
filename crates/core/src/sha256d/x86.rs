//! The SHA-NI kernel: double SHA-256 of several headers side by side with the x86 SHA extensions.
//!
//! One `sha256rnds2` does two rounds, but each needs the result of the one before, so a single
//! message keeps the SHA unit waiting on its own latency most of the time. Hashing [`LANES`]
//! independent messages in turn (nonces `n, n+1, …` or headers of a batch) fills those gaps: the
//! lanes are interleaved instruction by instruction so the CPU always has independent work ready.
//! The lane count was chosen by measurement (see the module docs of [`super`]).
//!
//! The nonce scan does what Bitcoin miners do and skips work that is the same for every nonce:
//! - the header's first 64 bytes are the caller's midstate, and the first two rounds of the
//!   second block (merkle-root tail and time) are run once per call;
//! - the second block's padding words (and their sums with the round constants) are constants;
//! - the second SHA-256 hashes 32 bytes, so half its message is fixed padding;
//! - only the hash's most significant word is computed (the last two rounds are skipped): a
//!   nonce whose top word can meet the target is confirmed by the portable reference.
//!
//! `unsafe` here has three uses: calling `#[target_feature]` functions, allowed only once a
//! [`ShaNi`] value proves the CPU has the features; unaligned loads and stores of 16 bytes inside
//! arrays whose length the types guarantee; and an empty `asm!` that keeps the lanes interleaved
//! (see [`keep_in_order`]).

#![allow(unsafe_code)]

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_alignr_epi8, _mm_blend_epi16, _mm_cvtsi128_si32, _mm_insert_epi32,
    _mm_loadu_si128, _mm_set_epi32, _mm_set_epi64x, _mm_setr_epi32, _mm_sha256msg1_epu32,
    _mm_sha256msg2_epu32, _mm_sha256rnds2_epu32, _mm_shuffle_epi8, _mm_shuffle_epi32,
    _mm_storeu_si128,
};

use super::{SHA256_IV, ScanOutcome, scan_portable};

/// How many messages the kernel hashes side by side (measured: see the module docs of [`super`]).
pub(super) const LANES: usize = 4;

/// Proof that the running CPU has the instructions the kernel uses.
///
/// The only way to get one is [`ShaNi::detect`], so holding one makes calling the
/// `#[target_feature]` functions below sound.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShaNi {
    _detected: (),
}

impl ShaNi {
    /// Returns a proof of support if this CPU has SHA-NI and SSE4.1 (which implies SSE2, SSSE3).
    pub(super) fn detect() -> Option<Self> {
        let supported = std::is_x86_feature_detected!("sha")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3")
            && std::is_x86_feature_detected!("sse4.1");
        supported.then_some(ShaNi { _detected: () })
    }

    /// The nonce scan of [`super::scan`] with [`LANES`] lanes.
    pub(super) fn scan(
        self,
        midstate: &[u32; 8],
        tail: &[u8; 16],
        start: u32,
        count: u64,
        target: &[u8; 32],
    ) -> ScanOutcome {
        self.scan_lanes::<LANES>(midstate, tail, start, count, target)
    }

    /// The nonce scan with `N` lanes; public to the parent so tests and measurements can try
    /// every lane count.
    pub(super) fn scan_lanes<const N: usize>(
        self,
        midstate: &[u32; 8],
        tail: &[u8; 16],
        start: u32,
        count: u64,
        target: &[u8; 32],
    ) -> ScanOutcome {
        // SAFETY: `self` exists only if `detect` found every feature `scan_kernel` enables.
        unsafe { scan_kernel::<N>(midstate, tail, start, count, target) }
    }

    /// The batch hash of [`super::hash_headers`] with [`LANES`] lanes.
    pub(super) fn hash_headers(self, headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
        self.hash_headers_lanes::<LANES>(headers, out);
    }

    /// The batch hash with `N` lanes. The caller has checked that the lengths agree.
    pub(super) fn hash_headers_lanes<const N: usize>(
        self,
        headers: &[[u8; 80]],
        out: &mut [[u8; 32]],
    ) {
        // SAFETY: `self` exists only if `detect` found every feature `hash_headers_kernel`
        // enables.
        unsafe { hash_headers_kernel::<N>(headers, out) }
    }
}

/// SHA-256 round constants (FIPS 180-4, section 4.2.2), four per `sha256rnds2` pair.
const K: [[u32; 4]; 16] = [
    [0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5],
    [0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5],
    [0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3],
    [0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174],
    [0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc],
    [0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da],
    [0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7],
    [0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967],
    [0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13],
    [0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85],
    [0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3],
    [0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070],
    [0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5],
    [0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3],
    [0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208],
    [0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2],
];

/// Message words 4..16 of a header's second block: the padding of an 80-byte message.
const TAIL_PADDING: [[u32; 4]; 3] = [[0x8000_0000, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 80 * 8]];

/// Message words 8..16 of the second hash: the padding of a 32-byte message.
const DIGEST_PADDING: [[u32; 4]; 2] = [[0x8000_0000, 0, 0, 0], [0, 0, 0, 32 * 8]];

/// Adds message words to round constants at compile time, for quads whose words are fixed.
const fn plus_k(words: [u32; 4], quad: usize) -> [u32; 4] {
    let k = K[quad];
    [
        words[0].wrapping_add(k[0]),
        words[1].wrapping_add(k[1]),
        words[2].wrapping_add(k[2]),
        words[3].wrapping_add(k[3]),
    ]
}

/// Shuffle mask that reverses the bytes of each 32-bit lane (SHA-256 words are big-endian).
const BSWAP_LANES: (i64, i64) = (0x0c0d_0e0f_0809_0a0b, 0x0405_0607_0001_0203);

/// The eight working variables in the layout `sha256rnds2` wants: `abef` holds `[f, e, b, a]`
/// and `cdgh` holds `[h, g, d, c]` (lane 0 first).
#[derive(Clone, Copy)]
struct State {
    abef: __m128i,
    cdgh: __m128i,
}

/// Returns a state given as eight words `[a, b, c, d, e, f, g, h]` in `sha256rnds2`'s layout.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn state_from_words(s: &[u32; 8]) -> State {
    State {
        abef: _mm_set_epi32(s[0] as i32, s[1] as i32, s[4] as i32, s[5] as i32),
        cdgh: _mm_set_epi32(s[2] as i32, s[3] as i32, s[6] as i32, s[7] as i32),
    }
}

/// Returns the state as two vectors of words in order, `[a, b, c, d]` and `[e, f, g, h]`: the
/// digest, and the first half of the next hash's message.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn state_to_words(st: State) -> [__m128i; 2] {
    let feba = _mm_shuffle_epi32(st.abef, 0x1b);
    let dchg = _mm_shuffle_epi32(st.cdgh, 0xb1);
    [
        _mm_blend_epi16(feba, dchg, 0xf0),
        _mm_alignr_epi8(dchg, feba, 8),
    ]
}

/// Adds the state from before a compression to the state after it, on every lane.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn feed_forward<const N: usize>(st: &mut [State; N], before: &[State; N]) {
    for (s, b) in st.iter_mut().zip(before) {
        s.abef = _mm_add_epi32(s.abef, b.abef);
        s.cdgh = _mm_add_epi32(s.cdgh, b.cdgh);
    }
}

/// Returns four words as a vector, `words[0]` in lane 0.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn vector(words: [u32; 4]) -> __m128i {
    _mm_setr_epi32(
        words[0] as i32,
        words[1] as i32,
        words[2] as i32,
        words[3] as i32,
    )
}

/// Stops LLVM from undoing the interleaving.
///
/// Left alone, LLVM's instruction scheduler groups each lane's rounds together (it lowers
/// register pressure), and the CPU, whose out-of-order window is far shorter than one lane's
/// 62 dependent `sha256rnds2`, runs the lanes one after the other again: 4 lanes were measured no
/// faster than 1. An empty `asm!` block has no effect, but LLVM keeps such blocks in program
/// order, and each takes a lane's state as an operand after every quad, so no lane can run more
/// than about one quad ahead of the others.
#[inline(always)]
fn keep_in_order(v: &mut __m128i) {
    // SAFETY: the template is empty: it reads and writes nothing but the register holding `v`,
    // which it leaves unchanged.
    unsafe {
        std::arch::asm!(
            "/* {0} */",
            inout(xmm_reg) * v,
            options(nomem, nostack, preserves_flags)
        )
    };
}

// The round helpers are macros, not functions: a `#[target_feature]` function cannot be
// `#[inline(always)]`, and written as functions with a loop over the rounds, LLVM stopped
// unrolling that loop from 3 lanes up, shuffling every message word through the stack. A macro
// expands in place, so each quad is straight-line code.

/// Four rounds on every lane of `$st`; lane `l` of the array `$wk` holds its message words plus
/// round constants.
macro_rules! quad {
    ($st:expr, $wk:expr) => {{
        let wk = $wk;
        for (s, w) in $st.iter_mut().zip(wk) {
            s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, w);
        }
        for (s, w) in $st.iter_mut().zip(wk) {
            s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, _mm_shuffle_epi32(w, 0x0e));
            keep_in_order(&mut s.abef);
        }
    }};
}

/// Four rounds on every lane of `$st` with message words (plus constants) fixed at compile time.
macro_rules! quad_fixed {
    ($st:expr, $wk:expr) => {{
        let lo = vector($wk);
        let hi = _mm_shuffle_epi32(lo, 0x0e);
        for s in $st.iter_mut() {
            s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, lo);
        }
        for s in $st.iter_mut() {
            s.abef = _mm_sha256rnds2_epu32(s.abef, s.cdgh, hi);
            keep_in_order(&mut s.abef);
        }
    }};
}

/// Derives quad `$q`'s message words on every lane from the sixteen before (`$w[l]` holds them,
/// oldest first, and is shifted on), and returns them plus round constants.
macro_rules! schedule {
    ($w:expr, $q:literal) => {{
        let k = vector(K[$q]);
        let mut wk = [k; N];
        for (lane, wk) in $w.iter_mut().zip(wk.iter_mut()) {
            let [w0, w1, w2, w3] = *lane;
            let sum = _mm_add_epi32(_mm_sha256msg1_epu32(w0, w1), _mm_alignr_epi8(w3, w2, 4));
            let next = _mm_sha256msg2_epu32(sum, w3);
            *lane = [w1, w2, w3, next];
            *wk = _mm_add_epi32(next, k);
        }
        wk
    }};
}

/// Rounds 16..60 on every lane of `$st`, from message words 0..16 in `$w`, then the last quad:
/// in full, or (`top_only`) just rounds 60 and 61, after which `cdgh` holds `[f, e, b, a]` and
/// its `f` is the final `h` before the feed-forward: all the nonce scan needs.
macro_rules! scheduled_rounds {
    ($st:expr, $w:expr, full) => {{
        scheduled_rounds!($st, $w, common);
        quad!($st, schedule!($w, 15));
    }};
    ($st:expr, $w:expr, top_only) => {{
        scheduled_rounds!($st, $w, common);
        let wk = schedule!($w, 15);
        for (s, w) in $st.iter_mut().zip(wk) {
            s.cdgh = _mm_sha256rnds2_epu32(s.cdgh, s.abef, w);
        }
    }};
    ($st:expr, $w:expr, common) => {{
        quad!($st, schedule!($w, 4));
        quad!($st, schedule!($w, 5));
        quad!($st, schedule!($w, 6));
        quad!($st, schedule!($w, 7));
        quad!($st, schedule!($w, 8));
        quad!($st, schedule!($w, 9));
        quad!($st, schedule!($w, 10));
        quad!($st, schedule!($w, 11));
        quad!($st, schedule!($w, 12));
        quad!($st, schedule!($w, 13));
        quad!($st, schedule!($w, 14));
    }};
}

/// The second SHA-256, of each lane's 32-byte digest (`$words[l]`, two vectors), from states
/// `$iv`; `$mode` is `full` or `top_only` as in `scheduled_rounds!`.
macro_rules! digest_rounds {
    ($words:expr, $iv:expr, $mode:ident) => {{
        let words: [[__m128i; 2]; N] = $words;
        let mut st: [State; N] = $iv;
        let (k0, k1) = (vector(K[0]), vector(K[1]));
        quad!(st, words.map(|w| _mm_add_epi32(w[0], k0)));
        quad!(st, words.map(|w| _mm_add_epi32(w[1], k1)));
        quad_fixed!(st, plus_k(DIGEST_PADDING[0], 2));
        quad_fixed!(st, plus_k(DIGEST_PADDING[1], 3));
        let (p0, p1) = (vector(DIGEST_PADDING[0]), vector(DIGEST_PADDING[1]));
        let mut w = words.map(|w| [w[0], w[1], p0, p1]);
        scheduled_rounds!(st, w, $mode);
        st
    }};
}

/// What a nonce scan computes once per call.
#[derive(Clone, Copy)]
struct ScanJob {
    /// The midstate, for the feed-forward of the first compression.
    mid: State,
    /// `[f, e, b, a]` after rounds 0 and 1, which do not depend on the nonce.
    after_two: __m128i,
    /// Message words 0..4 with a zero where the nonce goes.
    w0: __m128i,
    /// Message word 2 plus its round constant: the first half of rounds 2 and 3.
    wk2: u32,
}

impl ScanJob {
    /// Does the work that is the same for every nonce.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn new(midstate: &[u32; 8], tail: &[u8; 16]) -> Self {
        let word = |i: usize| u32::from_be_bytes([tail[i], tail[i + 1], tail[i + 2], tail[i + 3]]);
        let words = [word(0), word(4), word(8), 0];
        let mid = state_from_words(midstate);
        let wk01 = vector(plus_k(words, 0));
        ScanJob {
            mid,
            after_two: _mm_sha256rnds2_epu32(mid.cdgh, mid.abef, wk01),
            w0: vector(words),
            wk2: words[2].wrapping_add(K[0][2]),
        }
    }

    /// Returns the most significant word of the hash (digest word 7, byte-swapped) for the
    /// nonces `nonce, nonce+1, …, nonce+N-1`.
    #[inline]
    #[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
    fn top_words<const N: usize>(&self, nonce: u32) -> [u32; N] {
        let nonces: [u32; N] = std::array::from_fn(|l| nonce.wrapping_add(l as u32).swap_bytes());
        // Rounds 2 and 3, the first to see the nonce.
        let mut st = nonces.map(|n| {
            let wk23 = _mm_setr_epi32(self.wk2 as i32, n.wrapping_add(K[0][3]) as i32, 0, 0);
            State {
                abef: _mm_sha256rnds2_epu32(self.mid.abef, self.after_two, wk23),
                cdgh: self.after_two,
            }
        });
        quad_fixed!(st, plus_k(TAIL_PADDING[0], 1));
        quad_fixed!(st, plus_k(TAIL_PADDING[1], 2));
        quad_fixed!(st, plus_k(TAIL_PADDING[2], 3));
        let [p1, p2, p3] = TAIL_PADDING.map(|w| vector(w));
        let mut w = nonces.map(|n| [_mm_insert_epi32(self.w0, n as i32, 3), p1, p2, p3]);
        scheduled_rounds!(st, w, full);
        feed_forward(&mut st, &[self.mid; N]);

        let iv = [state_from_words(&SHA256_IV); N];
        let second = digest_rounds!(st.map(|s| state_to_words(s)), iv, top_only);
        second.map(|s| {
            (_mm_cvtsi128_si32(s.cdgh) as u32)
                .wrapping_add(SHA256_IV[7])
                .swap_bytes()
        })
    }
}

/// Tries `count` nonces from `start`, `N` at a time; see [`super::scan`].
///
/// A lane batch may run past the end of the range or past the found nonce; those extra hashes
/// are ignored, so the outcome (including `hashes`) is the reference's.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn scan_kernel<const N: usize>(
    midstate: &[u32; 8],
    tail: &[u8; 16],
    start: u32,
    count: u64,
    target: &[u8; 32],
) -> ScanOutcome {
    let job = ScanJob::new(midstate, tail);
    let target_top = u32::from_le_bytes([target[28], target[29], target[30], target[31]]);
    let mut done = 0u64;
    let mut nonce = start;
    while done < count {
        let tops = job.top_words::<N>(nonce);
        let valid = (count - done).min(N as u64);
        for (lane, top) in (0..valid).zip(tops) {
            if top <= target_top {
                // The top word can meet the target; the reference decides on all 256 bits.
                let candidate = nonce.wrapping_add(lane as u32);
                if scan_portable(midstate, tail, candidate, 1, target)
                    .nonce
                    .is_some()
                {
                    return ScanOutcome {
                        nonce: Some(candidate),
                        hashes: done + lane + 1,
                    };
                }
            }
        }
        done += valid;
        nonce = nonce.wrapping_add(N as u32);
    }
    ScanOutcome {
        nonce: None,
        hashes: count,
    }
}

/// Loads header bytes `OFFSET..OFFSET + 16` as four big-endian message words.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn load_words<const OFFSET: usize>(header: &[u8; 80]) -> __m128i {
    const { assert!(OFFSET + 16 <= 80, "the 16 bytes lie inside the header") };
    // SAFETY: the assertion above, checked at compile time, keeps the 16 bytes read inside the
    // 80-byte array; `loadu` has no alignment requirement.
    let raw = unsafe { _mm_loadu_si128(header.as_ptr().add(OFFSET).cast()) };
    _mm_shuffle_epi8(raw, _mm_set_epi64x(BSWAP_LANES.0, BSWAP_LANES.1))
}

/// Double SHA-256 of `N` whole headers side by side: three compressions each.
#[inline]
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hash_lanes<const N: usize>(headers: &[[u8; 80]; N], out: &mut [[u8; 32]; N]) {
    let iv = [state_from_words(&SHA256_IV); N];

    // First block: bytes 0..64.
    let mut w = headers.each_ref().map(|h| {
        [
            load_words::<0>(h),
            load_words::<16>(h),
            load_words::<32>(h),
            load_words::<48>(h),
        ]
    });
    let mut st = iv;
    for q in 0..4 {
        let k = vector(K[q]);
        quad!(st, w.map(|lane| _mm_add_epi32(lane[q], k)));
    }
    scheduled_rounds!(st, w, full);
    feed_forward(&mut st, &iv);

    // Second block: bytes 64..80 and the padding.
    let mid = st;
    let w0 = headers.each_ref().map(|h| load_words::<64>(h));
    let k0 = vector(K[0]);
    quad!(st, w0.map(|w| _mm_add_epi32(w, k0)));
    quad_fixed!(st, plus_k(TAIL_PADDING[0], 1));
    quad_fixed!(st, plus_k(TAIL_PADDING[1], 2));
    quad_fixed!(st, plus_k(TAIL_PADDING[2], 3));
    let [p1, p2, p3] = TAIL_PADDING.map(|w| vector(w));
    let mut w = w0.map(|w| [w, p1, p2, p3]);
    scheduled_rounds!(st, w, full);
    feed_forward(&mut st, &mid);

    // Second hash, of the 32-byte digest.
    let mut second = digest_rounds!(st.map(|s| state_to_words(s)), iv, full);
    feed_forward(&mut second, &iv);
    let bswap = _mm_set_epi64x(BSWAP_LANES.0, BSWAP_LANES.1);
    for (s, hash) in second.into_iter().zip(out.iter_mut()) {
        let [abcd, efgh] = state_to_words(s);
        let ptr: *mut __m128i = hash.as_mut_ptr().cast();
        // SAFETY: `hash` is 32 writable bytes: two unaligned 16-byte stores at 0 and 16 fit.
        unsafe {
            _mm_storeu_si128(ptr, _mm_shuffle_epi8(abcd, bswap));
            _mm_storeu_si128(ptr.add(1), _mm_shuffle_epi8(efgh, bswap));
        }
    }
}

/// Hashes whole batches of `N` headers side by side, then the leftovers one at a time.
#[target_feature(enable = "sha,sse2,ssse3,sse4.1")]
fn hash_headers_kernel<const N: usize>(headers: &[[u8; 80]], out: &mut [[u8; 32]]) {
    let (batches, rest) = headers.as_chunks::<N>();
    let (out_batches, out_rest) = out.as_chunks_mut::<N>();
    for (batch, hashes) in batches.iter().zip(out_batches) {
        hash_lanes(batch, hashes);
    }
    for (header, hash) in rest.iter().zip(out_rest) {
        hash_lanes::<1>(std::array::from_ref(header), std::array::from_mut(hash));
    }
}
