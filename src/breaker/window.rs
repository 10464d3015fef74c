//! The rolling window: how many calls failed and succeeded in the last `window` of time, kept in a
//! fixed ring of time buckets with running totals, so each call costs O(1) and no allocation, and
//! memory depends on the bucket count only, never on the request rate.
//!
//! # Exact semantics
//!
//! Time is cut into buckets of `width = ceil(window / buckets)` nanoseconds, numbered from the
//! clock's origin (bucket `k` covers `[k*width, (k+1)*width)`). At time `now` the window holds the
//! current bucket and the `buckets - 1` before it. A result recorded at time `t` therefore counts
//! until `start_of_bucket(t) + buckets * width`, exclusive: exactly `window` when `t` is at a bucket
//! start, up to one bucket width less otherwise (10% of the window with the default 10 buckets).
//!
//! Buckets are cleared lazily when time reaches them: a call after an idle gap clears the buckets
//! the gap skipped, at most `buckets` of them (all at once when the gap is a whole window or more),
//! so the worst case is O(buckets) once, and O(1) amortised. A clock reading older than the newest
//! one seen counts into the newest bucket.

use super::clock::to_nanos;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The most buckets a window may have (bounds memory and the state file).
pub const MAX_BUCKETS: u32 = 1024;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) failures: u32,
    pub(crate) successes: u32,
}

/// A ring of time buckets with running totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RollingWindow {
    buckets: Box<[Bucket]>,
    width_ns: u64,
    /// Absolute number of the newest bucket (`now / width`).
    head: u64,
    /// `head % buckets`, kept so that a record divides nothing.
    head_idx: usize,
    failures: u64,
    successes: u64,
}

impl RollingWindow {
    /// A window of `window` split into `buckets` buckets (clamped to `1..=MAX_BUCKETS`; a zero
    /// window becomes one nanosecond per bucket).
    pub fn new(window: Duration, buckets: u32) -> Self {
        let n = buckets.clamp(1, MAX_BUCKETS);
        let width_ns = to_nanos(window).div_ceil(u64::from(n)).max(1);
        RollingWindow {
            buckets: vec![Bucket::default(); n as usize].into_boxed_slice(),
            width_ns,
            head: 0,
            head_idx: 0,
            failures: 0,
            successes: 0,
        }
    }

    /// The number of buckets.
    pub fn bucket_count(&self) -> u32 {
        self.buckets.len() as u32
    }

    /// One bucket's span.
    pub fn bucket_width(&self) -> Duration {
        Duration::from_nanos(self.width_ns)
    }

    /// The span the window really covers: `buckets * width` (at least the configured window).
    pub fn span(&self) -> Duration {
        Duration::from_nanos(self.width_ns.saturating_mul(self.buckets.len() as u64))
    }

    /// Failures in the window as of the last [`advance`](Self::advance) or record.
    pub fn failures(&self) -> u64 {
        self.failures
    }

    /// Successes in the window as of the last advance or record.
    pub fn successes(&self) -> u64 {
        self.successes
    }

    /// Failures in the window at `now` (moves the window forward first).
    pub fn failures_at(&mut self, now: Duration) -> u64 {
        self.advance(now);
        self.failures
    }

    /// Moves the window to `now`, clearing the buckets that left it. O(1) when `now` is in the
    /// newest bucket; otherwise O(min(skipped buckets, buckets)).
    pub fn advance(&mut self, now: Duration) {
        let ns = to_nanos(now);
        // Still in the newest bucket (or an older reading): no division needed. The product
        // saturates only when `head` is beyond any reading's bucket, which is "no advance" too.
        let head_end = self.head.saturating_add(1).saturating_mul(self.width_ns);
        if ns < head_end {
            return;
        }
        let cur = ns / self.width_ns;
        if cur <= self.head {
            return;
        }
        let n = self.buckets.len() as u64;
        let gap = cur - self.head;
        if gap >= n {
            self.clear_counts();
        } else {
            for step in 1..=gap {
                let idx = ((self.head_idx as u64 + step) % n) as usize;
                let b = std::mem::take(&mut self.buckets[idx]);
                self.failures = self.failures.saturating_sub(u64::from(b.failures));
                self.successes = self.successes.saturating_sub(u64::from(b.successes));
            }
        }
        self.head = cur;
        self.head_idx = (cur % n) as usize;
    }

    /// Records one failure at `now`.
    pub fn record_failure(&mut self, now: Duration) {
        self.advance(now);
        let b = self.head_bucket();
        if b.failures < u32::MAX {
            b.failures += 1;
            self.failures += 1;
        }
    }

    /// Records one success at `now`.
    pub fn record_success(&mut self, now: Duration) {
        self.advance(now);
        let b = self.head_bucket();
        if b.successes < u32::MAX {
            b.successes += 1;
            self.successes += 1;
        }
    }

    /// Forgets every result (the position in time is kept).
    pub fn clear(&mut self) {
        self.clear_counts();
    }

    fn clear_counts(&mut self) {
        self.buckets.fill(Bucket::default());
        self.failures = 0;
        self.successes = 0;
    }

    fn head_bucket(&mut self) -> &mut Bucket {
        let n = self.buckets.len();
        &mut self.buckets[self.head_idx % n]
    }

    /// The buckets from oldest to newest, with the newest bucket's number (for persistence).
    pub(crate) fn export(&self) -> (u64, Vec<Bucket>) {
        let n = self.buckets.len() as u64;
        let out = (1..=n)
            .map(|i| self.buckets[((self.head_idx as u64 + i) % n) as usize])
            .collect();
        (self.head, out)
    }

    /// Restores what [`export`](Self::export) gave. `None` when the bucket count does not match.
    pub(crate) fn import(&mut self, head: u64, oldest_first: &[Bucket]) -> Option<()> {
        let n = self.buckets.len() as u64;
        if oldest_first.len() as u64 != n {
            return None;
        }
        self.head = head;
        self.head_idx = (head % n) as usize;
        self.failures = 0;
        self.successes = 0;
        for (i, b) in oldest_first.iter().enumerate() {
            self.buckets[((head % n + 1 + i as u64) % n) as usize] = *b;
            self.failures += u64::from(b.failures);
            self.successes += u64::from(b.successes);
        }
        Some(())
    }
}

/// Successes per bucket, counted without a lock, for the thread-safe breaker's closed path
/// (successes never change the state, so they need not wait for the lock that failures take).
///
/// Each slot is one `AtomicU64`: the low 32 bits of its bucket number, then its count. A slot
/// found holding an older bucket is restarted by compare-and-swap (its count moves to `retired`,
/// for the lifetime total), so rotation is lazy and lock-free like [`RollingWindow`]'s, and a
/// success costs one compare-and-swap. The ring has a power-of-two number of slots (at least the
/// window's bucket count) so that finding the slot is a mask, not a division; only the window's
/// buckets are summed. A reading older than a slot's bucket counts into it. The sums are for
/// display: a slot untouched for exactly 2^32 bucket widths would be counted again, and a count
/// saturates at 2^32 - 1 per bucket. The failure count, which decides the state, is kept exactly
/// by [`RollingWindow`].
#[derive(Debug)]
pub struct SuccessRing {
    slots: Box<[AtomicU64]>,
    mask: u64,
    window_buckets: u32,
    width_ns: u64,
    retired: AtomicU64,
    /// The newest bucket number seen: most calls land in it and skip the division.
    hint: AtomicU64,
}

impl SuccessRing {
    /// The same bucket layout as `RollingWindow::new(window, buckets)`.
    pub fn new(window: Duration, buckets: u32) -> Self {
        let n = buckets.clamp(1, MAX_BUCKETS);
        let slots = n.next_power_of_two();
        SuccessRing {
            slots: (0..slots).map(|_| AtomicU64::new(0)).collect(),
            mask: u64::from(slots - 1),
            window_buckets: n,
            width_ns: to_nanos(window).div_ceil(u64::from(n)).max(1),
            retired: AtomicU64::new(0),
            hint: AtomicU64::new(0),
        }
    }

    /// Counts one success at `now`.
    pub fn add(&self, now: Duration) {
        let ns = to_nanos(now);
        let h = self.hint.load(Ordering::Relaxed);
        let start = h.saturating_mul(self.width_ns);
        let b = if ns >= start && ns - start < self.width_ns {
            h
        } else {
            let b = ns / self.width_ns;
            if b > h {
                self.hint.store(b, Ordering::Relaxed);
            }
            b
        };
        let epoch = b as u32;
        let Some(slot) = self.slots.get((b & self.mask) as usize) else {
            return;
        };
        let mut v = slot.load(Ordering::Relaxed);
        loop {
            let (e, count) = ((v >> 32) as u32, v as u32);
            // Same bucket, or one a newer reading already restarted: add to it.
            let restart = e != epoch && (epoch.wrapping_sub(e) as i32) > 0;
            let new = if restart {
                (u64::from(epoch) << 32) | 1
            } else if count == u32::MAX {
                return;
            } else {
                v + 1
            };
            match slot.compare_exchange_weak(v, new, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => {
                    if restart && count > 0 {
                        self.retired.fetch_add(u64::from(count), Ordering::Relaxed);
                    }
                    return;
                }
                Err(seen) => v = seen,
            }
        }
    }

    /// Successes in the window at `now`.
    pub fn sum(&self, now: Duration) -> u64 {
        let cur = (to_nanos(now) / self.width_ns) as u32;
        self.slots
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed))
            .filter(|v| cur.wrapping_sub((v >> 32) as u32) < self.window_buckets)
            .map(|v| v & u64::from(u32::MAX))
            .sum()
    }

    /// Successes ever counted.
    pub fn total(&self) -> u64 {
        let live: u64 = self
            .slots
            .iter()
            .map(|slot| slot.load(Ordering::Relaxed) & u64::from(u32::MAX))
            .sum();
        self.retired.load(Ordering::Relaxed).saturating_add(live)
    }

    /// Empties the window (the lifetime total keeps the counts).
    pub fn clear(&self) {
        for slot in self.slots.iter() {
            let v = slot.swap(0, Ordering::Relaxed);
            self.retired
                .fetch_add(v & u64::from(u32::MAX), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_ring_counts_within_the_window_lock_free() {
        let r = SuccessRing::new(ms(1000), 10);
        r.add(ms(0));
        r.add(ms(50));
        r.add(ms(950));
        assert_eq!(r.sum(ms(999)), 3);
        assert_eq!(r.sum(ms(1000)), 1);
        assert_eq!(r.sum(ms(1950)), 0);
        // A slot reused a lap (16 slots) later restarts; an older reading of the same slot
        // counts into the newer bucket.
        r.add(ms(3200));
        r.add(ms(1600));
        assert_eq!(r.sum(ms(3200)), 2);
        assert_eq!(r.total(), 5);
        r.clear();
        assert_eq!(r.sum(ms(3200)), 0);
        assert_eq!(r.total(), 5);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..10_000 {
                        r.add(ms(5000));
                    }
                });
            }
        });
        assert_eq!(r.sum(ms(5000)), 40_000);
        assert_eq!(r.total(), 40_005);
        // Ten buckets live in sixteen slots; only the window's ten are summed.
        let r = SuccessRing::new(ms(1000), 10);
        for i in 0..16 {
            r.add(ms(i * 100));
        }
        assert_eq!(r.sum(ms(1500)), 10);
        assert_eq!(r.total(), 16);
        let big = SuccessRing::new(Duration::MAX, 0);
        big.add(Duration::MAX);
        assert_eq!(big.sum(Duration::MAX), 1);
    }

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn counts_within_the_window_and_forgets_after_it() {
        let mut w = RollingWindow::new(ms(1000), 10);
        assert_eq!(w.bucket_width(), ms(100));
        w.record_failure(ms(0));
        w.record_failure(ms(150));
        w.record_success(ms(950));
        assert_eq!((w.failures(), w.successes()), (2, 1));
        assert_eq!(w.failures_at(ms(999)), 2);
        // The failure at 0 leaves at exactly 1000; the one at 150 (bucket 100..200) at 1100.
        assert_eq!(w.failures_at(ms(1000)), 1);
        assert_eq!(w.failures_at(ms(1099)), 1);
        assert_eq!(w.failures_at(ms(1100)), 0);
        assert_eq!(w.successes(), 1);
        assert_eq!(w.failures_at(ms(1900)), 0);
        assert_eq!(w.successes(), 0);
    }

    #[test]
    fn an_error_expires_exactly_at_the_window_edge() {
        let mut w = RollingWindow::new(ms(2000), 4);
        w.record_failure(ms(500)); // at a bucket start
        assert_eq!(w.failures_at(ms(2500) - Duration::from_nanos(1)), 1);
        assert_eq!(w.failures_at(ms(2500)), 0);
    }

    #[test]
    fn idle_gap_longer_than_the_window_resets_everything_once() {
        let mut w = RollingWindow::new(ms(1000), 10);
        for i in 0..10 {
            w.record_failure(ms(i * 100));
            w.record_success(ms(i * 100 + 50));
        }
        assert_eq!((w.failures(), w.successes()), (10, 10));
        w.record_failure(ms(1_000_000));
        assert_eq!((w.failures(), w.successes()), (1, 0));
        let (head, buckets) = w.export();
        assert_eq!(head, 10_000);
        assert_eq!(buckets.iter().map(|b| b.failures).sum::<u32>(), 1);
    }

    #[test]
    fn partial_gap_clears_only_the_skipped_buckets() {
        let mut w = RollingWindow::new(ms(1000), 10);
        for i in 0..10 {
            w.record_failure(ms(i * 100));
        }
        w.advance(ms(1250)); // buckets 10, 11, 12 replace 0, 1, 2
        assert_eq!(w.failures(), 7);
    }

    #[test]
    fn clock_going_backwards_counts_into_the_newest_bucket() {
        let mut w = RollingWindow::new(ms(1000), 10);
        w.record_failure(ms(5000));
        w.record_failure(ms(10));
        assert_eq!(w.failures(), 2);
        assert_eq!(w.failures_at(ms(5999)), 2);
        assert_eq!(w.failures_at(ms(6000)), 0);
    }

    #[test]
    fn degenerate_configs_are_clamped_not_rejected() {
        let w = RollingWindow::new(Duration::ZERO, 0);
        assert_eq!(w.bucket_count(), 1);
        assert_eq!(w.bucket_width(), Duration::from_nanos(1));
        let w = RollingWindow::new(Duration::MAX, u32::MAX);
        assert_eq!(w.bucket_count(), MAX_BUCKETS);
        assert!(w.span() >= Duration::from_nanos(u64::MAX / 2));
        // An uneven split rounds the width up: the span is never shorter than asked.
        let w = RollingWindow::new(ms(1000), 3);
        assert_eq!(w.bucket_width(), Duration::from_nanos(333_333_334));
        assert!(w.span() >= ms(1000));
    }

    #[test]
    fn bucket_counters_saturate_without_breaking_totals() {
        let mut w = RollingWindow::new(ms(1000), 2);
        let (head, mut b) = w.export();
        b[1].failures = u32::MAX;
        w.import(head, &b).unwrap();
        w.record_failure(ms(0));
        assert_eq!(w.failures(), u64::from(u32::MAX));
        w.advance(ms(1000));
        assert_eq!(w.failures(), 0);
    }

    #[test]
    fn export_import_round_trips() {
        let mut w = RollingWindow::new(ms(1000), 10);
        w.record_failure(ms(120));
        w.record_success(ms(480));
        w.record_failure(ms(990));
        let (head, b) = w.export();
        let mut v = RollingWindow::new(ms(1000), 10);
        v.import(head, &b).unwrap();
        assert_eq!(v, w);
        assert!(v.import(head, &b[1..]).is_none());
    }
}
