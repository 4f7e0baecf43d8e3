//! SplitMix64: a tiny deterministic PRNG for tokens, codes, ids and injected faults.

pub struct Prng(u64);

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

impl Prng {
    pub fn new(seed: u64) -> Self {
        Prng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// An opaque alphanumeric string of `len` characters.
    pub fn token(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| ALNUM[(self.next_u64() % ALNUM.len() as u64) as usize] as char)
            .collect()
    }

    /// A lower-case hex string of `len` characters.
    pub fn hex(&mut self, len: usize) -> String {
        (0..len)
            .map(|_| char::from_digit((self.next_u64() % 16) as u32, 16).unwrap_or('0'))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::Prng;

    #[test]
    fn deterministic() {
        let (mut a, mut b) = (Prng::new(7), Prng::new(7));
        assert_eq!(a.token(32), b.token(32));
        assert_ne!(a.token(32), Prng::new(8).token(32));
        let f = a.next_f64();
        assert!((0.0..1.0).contains(&f));
    }
}
