//! A small deterministic generator (SplitMix64): the same seed gives the same
//! synthetic booths and demo members on every machine and every version of any crate.

#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo + 1)
    }
    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next_u64() % items.len() as u64) as usize]
    }
}

/// A stable hash of a few integers, for per-unit deterministic choices.
pub fn mix(parts: &[u64]) -> u64 {
    let mut r = SplitMix64::new(0x5A4E_4741_5448_414E);
    let mut h = 0u64;
    for p in parts {
        r = SplitMix64::new(r.next_u64() ^ p.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        h ^= r.next_u64();
    }
    h
}
