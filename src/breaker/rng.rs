//! A tiny seeded random generator (xorshift64*) for backoff jitter: deterministic under a given
//! seed so tests and the state file can reproduce it, and no dependency for four lines of math.

use std::time::{SystemTime, UNIX_EPOCH};

/// xorshift64* (Vigna, 2016). Not cryptographic; plenty for spreading retry times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XorShift64 {
    state: u64,
}

impl XorShift64 {
    /// A generator from `seed`. Zero is a fixed point of xorshift, so it is replaced by a constant.
    pub fn new(seed: u64) -> Self {
        XorShift64 {
            state: if seed == 0 {
                0x9E37_79B9_7F4A_7C15
            } else {
                seed
            },
        }
    }

    /// A generator seeded from the wall clock, the process id and a stack address, so that
    /// processes started together still spread their retries.
    pub fn from_entropy() -> Self {
        let t = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        let local = 0u8;
        let addr = &local as *const u8 as usize as u64;
        Self::new(splitmix(
            t ^ (u64::from(std::process::id()) << 32) ^ addr.rotate_left(17),
        ))
    }

    /// The generator's state, to persist it.
    pub fn state(&self) -> u64 {
        self.state
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..=max`, without modulo bias worth mentioning for jitter (128-bit multiply).
    pub fn below_or_eq(&mut self, max: u64) -> u64 {
        if max == u64::MAX {
            return self.next_u64();
        }
        ((u128::from(self.next_u64()) * (u128::from(max) + 1)) >> 64) as u64
    }
}

/// splitmix64's finaliser: spreads a poor seed (a timestamp) over all bits.
fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence_and_zero_seed_is_usable() {
        let mut a = XorShift64::new(42);
        let mut b = XorShift64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut z = XorShift64::new(0);
        assert_ne!(z.next_u64(), 0);
        assert_ne!(z.state(), 0);
    }

    #[test]
    fn below_or_eq_stays_in_range_and_covers_it() {
        let mut r = XorShift64::new(7);
        let mut seen = [false; 5];
        for _ in 0..1000 {
            let v = r.below_or_eq(4);
            assert!(v <= 4);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|s| *s));
        assert_eq!(r.below_or_eq(0), 0);
        let _ = r.below_or_eq(u64::MAX);
    }

    #[test]
    fn entropy_seed_is_never_the_zero_fixed_point() {
        let mut a = XorShift64::from_entropy();
        assert_ne!(a.state(), 0);
        assert_ne!(a.next_u64(), a.next_u64());
    }
}
