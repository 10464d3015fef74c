//! The breaker's time source, injectable so tests drive time by hand and never sleep.
//!
//! Time is a [`Duration`] since an arbitrary origin fixed by the clock. In one process that is the
//! monotonic clock ([`MonotonicClock`]); across processes (the state file) it is the wall clock
//! ([`WallClock`], time since the Unix epoch), since monotonic clocks of two processes do not share
//! an origin. The breaker never assumes time moves forward: a reading older than the newest one seen
//! is treated as "no time passed".

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// A source of time for a breaker. Must be cheap: the breaker reads it once per recorded result.
pub trait BreakerClock: Send + Sync {
    /// The time now, as a duration since the clock's own origin.
    fn now(&self) -> Duration;
}

/// The monotonic clock (`Instant`), anchored when the clock is created.
#[derive(Clone, Copy, Debug)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    pub fn new() -> Self {
        MonotonicClock {
            origin: Instant::now(),
        }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl BreakerClock for MonotonicClock {
    fn now(&self) -> Duration {
        // Instant::elapsed saturates at zero; it never panics.
        self.origin.elapsed()
    }
}

/// The kernel's coarse monotonic clock (`CLOCK_MONOTONIC_COARSE`): a few times cheaper to read
/// than [`MonotonicClock`], with the resolution of the kernel tick (1 to 10 ms; 4 ms on most
/// distributions). Fine when the window's buckets are much wider than that (the default 10
/// buckets of a window of a second or more).
#[derive(Clone, Copy, Debug)]
pub struct CoarseMonotonicClock {
    origin: Duration,
    fallback: MonotonicClock,
}

impl CoarseMonotonicClock {
    pub fn new() -> Self {
        CoarseMonotonicClock {
            origin: coarse_now().unwrap_or(Duration::ZERO),
            fallback: MonotonicClock::new(),
        }
    }
}

impl Default for CoarseMonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

fn coarse_now() -> Option<Duration> {
    use nix::time::{ClockId, clock_gettime};
    let ts = clock_gettime(ClockId::CLOCK_MONOTONIC_COARSE).ok()?;
    let secs = u64::try_from(ts.tv_sec()).ok()?;
    let nanos = u32::try_from(ts.tv_nsec()).ok()?;
    Some(Duration::new(secs, 0).saturating_add(Duration::from_nanos(u64::from(nanos))))
}

impl BreakerClock for CoarseMonotonicClock {
    fn now(&self) -> Duration {
        match coarse_now() {
            Some(t) => t.saturating_sub(self.origin),
            // The clock exists on every Linux since 2.6.32; should it not, the precise one does.
            None => self.fallback.now(),
        }
    }
}

/// The wall clock: time since the Unix epoch (zero if the system clock is set before 1970).
/// For state shared between processes; it can jump, which the breaker tolerates.
#[derive(Clone, Copy, Debug, Default)]
pub struct WallClock;

impl BreakerClock for WallClock {
    fn now(&self) -> Duration {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A clock that only moves when told to. Share it with the breaker through an `Arc`.
#[derive(Debug, Default)]
pub struct ManualClock {
    nanos: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start`.
    pub fn new(start: Duration) -> Self {
        ManualClock {
            nanos: AtomicU64::new(to_nanos(start)),
        }
    }

    /// Moves the clock forward by `d` (saturating at about 584 years).
    pub fn advance(&self, d: Duration) {
        let add = to_nanos(d);
        let _ = self
            .nanos
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                Some(n.saturating_add(add))
            });
    }

    /// Sets the clock to `t` (it may go backwards: tests use that to check the breaker copes).
    pub fn set(&self, t: Duration) {
        self.nanos.store(to_nanos(t), Ordering::SeqCst);
    }
}

impl BreakerClock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::SeqCst))
    }
}

impl<T: BreakerClock + ?Sized> BreakerClock for std::sync::Arc<T> {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

impl<T: BreakerClock + ?Sized> BreakerClock for &T {
    fn now(&self) -> Duration {
        (**self).now()
    }
}

/// Nanoseconds of `d`, saturating at `u64::MAX` (about 584 years).
pub(crate) fn to_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::new(Duration::from_secs(5));
        assert_eq!(c.now(), Duration::from_secs(5));
        c.advance(Duration::from_millis(250));
        assert_eq!(c.now(), Duration::from_millis(5250));
        c.set(Duration::from_secs(1));
        assert_eq!(c.now(), Duration::from_secs(1));
        c.advance(Duration::MAX);
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn monotonic_and_wall_clocks_read_sensibly() {
        let m = MonotonicClock::new();
        let a = m.now();
        assert!(m.now() >= a);
        let c = CoarseMonotonicClock::new();
        let a = c.now();
        assert!(c.now() >= a);
        assert!(a < Duration::from_secs(1));
        assert!(WallClock.now() > Duration::from_secs(1_600_000_000));
    }
}
