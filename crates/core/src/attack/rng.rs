//! A small seeded random number generator for simulations: xoshiro256** seeded by SplitMix64.
//!
//! Simulations must be reproducible from a seed (a failing test can be replayed) and fast (a
//! Monte Carlo race draws billions of numbers). xoshiro256** (Blackman and Vigna, 2018,
//! <https://prng.di.unimi.it/>) is both, in twenty lines, so the core needs no `rand` dependency.
//! It is not cryptographic, and nothing here needs it to be.

/// SplitMix64: one 64-bit state, used to expand a seed into xoshiro's 256-bit state (as its
/// authors recommend) and to derive independent streams from one seed.
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// xoshiro256**: 256 bits of state, period 2^256 - 1.
#[derive(Debug, Clone)]
pub struct Xoshiro256 {
    s: [u64; 4],
}

impl Xoshiro256 {
    /// Seeds the generator from one number.
    pub fn seed_from(seed: u64) -> Self {
        let mut mix = SplitMix64::new(seed);
        let s = [
            mix.next_u64(),
            mix.next_u64(),
            mix.next_u64(),
            mix.next_u64(),
        ];
        // SplitMix64 never yields four zeros in a row, the one state xoshiro cannot leave.
        Self { s }
    }

    /// Seeds the generator for stream `stream` of `seed`: chunks of a parallel simulation each
    /// take their own stream, so the result does not depend on which thread ran which chunk.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut mix = SplitMix64::new(seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03));
        Self::seed_from(mix.next_u64())
    }

    /// Returns the next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Returns a uniform number in `[0, 1)` with 53 random bits.
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Returns an exponentially distributed number with mean 1 (by inversion).
    pub fn next_exp(&mut self) -> f64 {
        // 1 - u is in (0, 1], so the logarithm is finite.
        -(1.0 - self.next_f64()).ln()
    }
}

/// A biased coin that comes up true with probability `p`, drawn with one integer compare.
#[derive(Debug, Clone, Copy)]
pub struct Bernoulli {
    threshold: u64,
    always: bool,
}

impl Bernoulli {
    /// A coin that is true with probability `p` (clamped to `[0, 1]`), to within 2^-64.
    pub fn new(p: f64) -> Self {
        let p = p.clamp(0.0, 1.0);
        // `as` saturates: p = 1 maps to u64::MAX, which `always` then makes exact.
        Self {
            threshold: (p * 18_446_744_073_709_551_616.0) as u64,
            always: p >= 1.0,
        }
    }

    /// Tosses the coin.
    pub fn sample(self, rng: &mut Xoshiro256) -> bool {
        self.always || rng.next_u64() < self.threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xoshiro_matches_the_reference_implementation() {
        // The reference C code (prng.di.unimi.it/xoshiro256starstar.c) from state {1, 2, 3, 4}
        // yields 11520, 0, 1509978240, 1215971899390074240 first.
        let mut rng = Xoshiro256 { s: [1, 2, 3, 4] };
        let first: Vec<u64> = (0..4).map(|_| rng.next_u64()).collect();
        assert_eq!(first, [11520, 0, 1_509_978_240, 1_215_971_899_390_074_240]);
    }

    #[test]
    fn splitmix_matches_the_reference_implementation() {
        // splitmix64.c from seed 0 starts 0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4.
        let mut mix = SplitMix64::new(0);
        assert_eq!(mix.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(mix.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn coin_and_exponential_have_the_right_means() {
        let mut rng = Xoshiro256::seed_from(42);
        let coin = Bernoulli::new(0.3);
        let n = 200_000;
        let heads = (0..n).filter(|_| coin.sample(&mut rng)).count();
        let mean_exp = (0..n).map(|_| rng.next_exp()).sum::<f64>() / f64::from(n);
        // Standard errors: sqrt(0.21 / n) ≈ 0.001 and 1 / sqrt(n) ≈ 0.0022.
        assert!((heads as f64 / f64::from(n) - 0.3).abs() < 0.005, "{heads}");
        assert!((mean_exp - 1.0).abs() < 0.01, "{mean_exp}");
        assert!(Bernoulli::new(1.0).sample(&mut rng));
        assert!(!Bernoulli::new(0.0).sample(&mut rng));
    }
}
