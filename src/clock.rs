//! Time as the trace sees it: microseconds since trace start, from a real or a fake clock.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// A source of trace-relative time. The real one reads the monotonic clock; tests use [`FakeClock`].
pub trait Clock: Send + Sync {
    /// Microseconds since the trace started.
    fn now_us(&self) -> u64;
    /// Wall-clock microseconds since the Unix epoch at trace start.
    fn epoch_us(&self) -> u64;
}

/// The monotonic clock, anchored when the trace starts.
pub struct RealClock {
    start: Instant,
    epoch_us: u64,
}

impl RealClock {
    pub fn new() -> Self {
        let epoch_us = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as u64)
            .unwrap_or(0);
        RealClock {
            start: Instant::now(),
            epoch_us,
        }
    }
}

impl Default for RealClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for RealClock {
    fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }
    fn epoch_us(&self) -> u64 {
        self.epoch_us
    }
}

/// A clock that advances by a fixed step every time it is read, so rendered output is deterministic.
pub struct FakeClock {
    now: AtomicU64,
    step: u64,
}

impl FakeClock {
    pub fn new(step_us: u64) -> Self {
        FakeClock {
            now: AtomicU64::new(0),
            step: step_us,
        }
    }
}

impl Clock for FakeClock {
    fn now_us(&self) -> u64 {
        self.now.fetch_add(self.step, Ordering::Relaxed) + self.step
    }
    fn epoch_us(&self) -> u64 {
        1_700_000_000_000_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_clock_advances_by_its_step() {
        let c = FakeClock::new(10);
        assert_eq!(c.now_us(), 10);
        assert_eq!(c.now_us(), 20);
    }

    #[test]
    fn real_clock_is_monotonic() {
        let c = RealClock::new();
        let a = c.now_us();
        let b = c.now_us();
        assert!(b >= a);
        assert!(c.epoch_us() > 1_600_000_000_000_000);
    }
}
