//! The thread-safe breaker: the state machine of [`super::machine`] behind a mutex, with lock-free
//! fast paths for the common case (asking permission while closed is one atomic load; a success
//! while closed is a clock read and one compare-and-swap), an injectable clock and an observer for
//! events. Shared by reference or `Arc` between threads.

use super::classify::Outcome;
use super::clock::{BreakerClock, MonotonicClock};
use super::config::Config;
use super::event::{BreakerEvent, CircuitOpenError, State};
use super::machine::{Events, Machine, Snapshot, Ticket};
use super::window::SuccessRing;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Receives every [`BreakerEvent`], after the breaker's lock is released (so it may call back
/// into the breaker). Events of concurrent calls can arrive out of order: order them by
/// generation.
pub type Observer = Arc<dyn Fn(&BreakerEvent) + Send + Sync>;

/// A circuit breaker without a client: ask [`try_acquire`](Self::try_acquire) before a call and
/// record its [`Outcome`] on the [`Permit`].
///
/// Closed-state successes and neutral results are counted without the lock (atomics); failures,
/// probes and every state change go through the mutex-protected [`Machine`].
pub struct Breaker {
    core: Mutex<Machine>,
    /// `generation << 2 | state code`, published under the lock when it changes. Read by every
    /// call: kept on its own cache line, away from the counters every call writes.
    fast: CacheLine<AtomicU64>,
    lock_free: CacheLine<LockFree>,
    successes: SuccessRing,
    clock: Arc<dyn BreakerClock>,
    observer: Option<Observer>,
}

/// Keeps a hot atomic from sharing a cache line (128 bytes: adjacent-line prefetch) with others.
#[repr(align(128))]
#[derive(Debug, Default)]
struct CacheLine<T>(T);

/// Closed-state results counted without the lock.
#[derive(Debug, Default)]
struct LockFree {
    neutral: AtomicU64,
    ignored_late: AtomicU64,
}

impl fmt::Debug for Breaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Breaker")
            .field("state", &self.state())
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

impl Breaker {
    /// A closed breaker on the monotonic clock, with no observer.
    pub fn new(config: Config) -> Self {
        let machine = Machine::new(config);
        let cfg = *machine.config();
        Breaker {
            core: Mutex::new(machine),
            fast: CacheLine::default(),
            lock_free: CacheLine::default(),
            successes: SuccessRing::new(cfg.time_window, cfg.buckets),
            clock: Arc::new(MonotonicClock::new()),
            observer: None,
        }
    }

    /// Uses `clock` instead of the monotonic clock (tests pass an `Arc<ManualClock>`).
    pub fn with_clock(mut self, clock: impl BreakerClock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Calls `observer` for every event.
    pub fn with_observer(
        mut self,
        observer: impl Fn(&BreakerEvent) + Send + Sync + 'static,
    ) -> Self {
        self.observer = Some(Arc::new(observer));
        self
    }

    /// The configuration in force (normalized).
    pub fn config(&self) -> Config {
        *self.lock().config()
    }

    /// The state as of the last change (an open circuit whose period has ended still says Open
    /// until a call asks; see [`snapshot`](Self::snapshot) for `retry_at`).
    pub fn state(&self) -> State {
        State::from_code(self.fast.0.load(Ordering::Acquire) & 3)
    }

    /// Asks to make a call. Closed: always granted, lock-free. Open: rejected with the time to
    /// retry, until the open period ends; then the first caller gets a probe permit. Half-open:
    /// granted while a probe slot is free.
    pub fn try_acquire(&self) -> Result<Permit<'_>, CircuitOpenError> {
        let word = self.fast.0.load(Ordering::Acquire);
        if State::from_code(word & 3) == State::Closed {
            return Ok(Permit {
                breaker: self,
                ticket: Ticket {
                    generation: word >> 2,
                    probe: false,
                },
                finished: false,
            });
        }
        let mut ev = Events::default();
        // The clock is read before locking, to keep the critical section short; a reading a
        // little older than another thread's is harmless (see `window`).
        let now = self.clock.now();
        let result = {
            let mut core = self.lock();
            let r = core.acquire(now, &mut ev);
            self.publish(&core, &ev);
            r
        };
        self.emit(&ev);
        result.map(|ticket| Permit {
            breaker: self,
            ticket,
            finished: false,
        })
    }

    /// Runs `call` if permitted and records how `classify` counts its result.
    pub fn call<T, E>(
        &self,
        call: impl FnOnce() -> Result<T, E>,
        classify: impl FnOnce(&Result<T, E>) -> Outcome,
    ) -> Result<T, super::BreakerError<E>> {
        let permit = self.try_acquire().map_err(super::BreakerError::Open)?;
        let result = call();
        permit.record(classify(&result));
        result.map_err(super::BreakerError::Inner)
    }

    /// Back to Closed: empty window, no backoff, and results of calls in flight are ignored.
    pub fn reset(&self) {
        self.mutate(|core, now, ev| core.reset(now, ev));
    }

    /// Opens now for the next backoff period (as if the threshold had been exceeded).
    pub fn force_open(&self) {
        self.mutate(|core, now, ev| core.force_open(now, None, ev));
    }

    /// Opens now for exactly `period`.
    pub fn force_open_for(&self, period: Duration) {
        self.mutate(|core, now, ev| core.force_open(now, Some(period), ev));
    }

    /// Counts, state and timing as of now.
    pub fn snapshot(&self) -> Snapshot {
        let now = self.clock.now();
        let mut s = self.lock().snapshot(now);
        let lf = &self.lock_free.0;
        let c = &mut s.counters;
        c.successes = c.successes.saturating_add(self.successes.total());
        c.neutral = c.neutral.saturating_add(lf.neutral.load(Ordering::Relaxed));
        c.ignored_late = c
            .ignored_late
            .saturating_add(lf.ignored_late.load(Ordering::Relaxed));
        s.successes_in_window = s
            .successes_in_window
            .saturating_add(self.successes.sum(now));
        s
    }

    /// The breaker's clock reading now.
    pub fn now(&self) -> Duration {
        self.clock.now()
    }

    fn record(&self, ticket: Ticket, outcome: Outcome) {
        if !ticket.probe {
            let lf = &self.lock_free.0;
            match outcome {
                // Nothing to count in the window: no lock, no clock.
                Outcome::Neutral => {
                    lf.neutral.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                // A success changes no state: counted lock-free if the permit is current.
                Outcome::Success => {
                    let now = self.clock.now();
                    if self.fast.0.load(Ordering::Acquire) >> 2 == ticket.generation {
                        self.successes.add(now);
                    } else {
                        lf.ignored_late.fetch_add(1, Ordering::Relaxed);
                        let generation = self.fast.0.load(Ordering::Acquire) >> 2;
                        self.emit_one(&BreakerEvent::LateResultIgnored {
                            at: now,
                            outcome,
                            permit_generation: ticket.generation,
                            generation,
                        });
                    }
                    return;
                }
                Outcome::Failure => {}
            }
        }
        self.mutate(|core, now, ev| core.record(ticket, outcome, now, ev));
    }

    fn release(&self, ticket: Ticket) {
        if ticket.probe {
            self.mutate(|core, now, ev| core.release(ticket, now, ev));
        }
    }

    fn mutate(&self, f: impl FnOnce(&mut Machine, Duration, &mut Events)) {
        let mut ev = Events::default();
        let now = self.clock.now();
        {
            let mut core = self.lock();
            f(&mut core, now, &mut ev);
            self.publish(&core, &ev);
        }
        self.emit(&ev);
    }

    fn lock(&self) -> MutexGuard<'_, Machine> {
        // Nothing panics while the lock is held; should it ever, the state is still consistent.
        self.core.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a change visible to the lock-free paths (only when there is one: a store to a
    /// line every call reads would cost every other core a cache miss).
    fn publish(&self, core: &Machine, ev: &Events) {
        let word = (core.generation() << 2) | core.state().code();
        if self.fast.0.load(Ordering::Relaxed) != word {
            self.fast.0.store(word, Ordering::Release);
        }
        let closed = ev.iter().any(|e| {
            matches!(
                e,
                BreakerEvent::Transition {
                    to: State::Closed,
                    ..
                }
            )
        });
        if closed {
            // A closed circuit starts with an empty window (the machine cleared its failures).
            self.successes.clear();
        }
    }

    fn emit_one(&self, e: &BreakerEvent) {
        if let Some(o) = &self.observer {
            o(e);
        }
    }

    fn emit(&self, ev: &Events) {
        if let Some(o) = &self.observer {
            for e in ev.iter() {
                o(e);
            }
        }
    }
}

/// Permission for one call. Record its outcome with [`record`](Self::record); dropping it
/// without a result counts as neutral and gives a probe's slot back.
#[must_use = "record the call's outcome on the permit; dropping it counts as neutral"]
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a Breaker,
    ticket: Ticket,
    finished: bool,
}

impl Permit<'_> {
    /// This call is a half-open probe: its result decides whether the circuit closes.
    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }

    /// The breaker generation the permit belongs to.
    pub fn generation(&self) -> u64 {
        self.ticket.generation
    }

    /// Records how the call went.
    pub fn record(mut self, outcome: Outcome) {
        self.finished = true;
        self.breaker.record(self.ticket, outcome);
    }

    pub fn success(self) {
        self.record(Outcome::Success);
    }

    pub fn failure(self) {
        self.record(Outcome::Failure);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.breaker.release(self.ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::clock::ManualClock;
    use crate::breaker::config::Backoff;
    use crate::breaker::event::Reason;
    use std::sync::atomic::AtomicU32;
    use std::sync::mpsc;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    fn breaker(threshold: u32, clock: &Arc<ManualClock>) -> Breaker {
        let mut cfg = Config::new(threshold, ms(2000));
        cfg.backoff = Backoff::constant(ms(2000));
        Breaker::new(cfg).with_clock(clock.clone())
    }

    #[test]
    fn is_send_and_sync_and_small() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Breaker>();
        assert_send_sync::<BreakerEvent>();
        // Fixed, whatever the request rate: the Machine, two padded cache lines, pointers.
        assert!(std::mem::size_of::<Breaker>() <= 1024);
    }

    #[test]
    fn opens_rejects_probes_and_closes_with_events() {
        let clock = Arc::new(ManualClock::new(ms(1000)));
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let b = breaker(3, &clock).with_observer(move |e| {
            let _ = tx.lock().map(|t| t.send(*e));
        });
        for _ in 0..3 {
            b.try_acquire().unwrap().failure();
        }
        assert_eq!(b.state(), State::Closed);
        b.try_acquire().unwrap().failure();
        assert_eq!(b.state(), State::Open);
        clock.advance(ms(500));
        let e = b.try_acquire().unwrap_err();
        assert_eq!(e.retry_after, ms(1500));
        assert_eq!(e.retry_at, ms(3000));
        clock.advance(ms(1500));
        let p = b.try_acquire().unwrap();
        assert!(p.is_probe());
        assert!(b.try_acquire().is_err());
        p.success();
        assert_eq!(b.state(), State::Closed);
        let events: Vec<BreakerEvent> = rx.try_iter().collect();
        let kinds: Vec<String> = events.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            kinds,
            vec![
                "circuit closed -> open: 4 failures in the last 2s exceed the threshold of 3; probing in 2s",
                "call rejected, circuit open; retry in 1.5s",
                "circuit open -> half-open: the open period ended; probing",
                "call rejected, circuit half-open; retry in 2s",
                "probe result: success",
                "circuit half-open -> closed: 1 probe succeeded",
            ]
        );
    }

    #[test]
    fn a_dropped_probe_permit_frees_its_slot() {
        let clock = Arc::new(ManualClock::new(ms(0)));
        let b = breaker(0, &clock);
        b.try_acquire().unwrap().failure();
        clock.advance(ms(2000));
        {
            let _p = b.try_acquire().unwrap();
            assert!(b.try_acquire().is_err());
        }
        let p = b.try_acquire().unwrap();
        assert!(p.is_probe());
        drop(p);
        assert_eq!(b.state(), State::HalfOpen);
        // A closed-state permit dropped without a result counts as neutral: nothing changes.
        b.reset();
        drop(b.try_acquire().unwrap());
        assert_eq!(b.snapshot().counters.neutral, 0);
        b.try_acquire().unwrap().record(Outcome::Neutral);
        assert_eq!(b.snapshot().counters.neutral, 1);
    }

    #[test]
    fn a_late_success_is_ignored_lock_free_and_closing_empties_the_window() {
        let clock = Arc::new(ManualClock::new(ms(0)));
        let late = Arc::new(AtomicU32::new(0));
        let l2 = late.clone();
        let b = breaker(0, &clock).with_observer(move |e| {
            if matches!(e, BreakerEvent::LateResultIgnored { .. }) {
                l2.fetch_add(1, Ordering::SeqCst);
            }
        });
        let slow = b.try_acquire().unwrap();
        b.try_acquire().unwrap().success();
        b.try_acquire().unwrap().success();
        assert_eq!(b.snapshot().successes_in_window, 2);
        b.try_acquire().unwrap().failure();
        slow.success();
        let s = b.snapshot();
        assert_eq!((s.counters.successes, s.counters.ignored_late), (2, 1));
        assert_eq!(late.load(Ordering::SeqCst), 1);
        clock.advance(ms(2000));
        b.try_acquire().unwrap().success();
        let s = b.snapshot();
        assert_eq!(s.state, State::Closed);
        assert_eq!((s.successes_in_window, s.failures_in_window), (0, 0));
        assert_eq!(s.counters.successes, 3);
    }

    #[test]
    fn reset_force_open_and_snapshot() {
        let clock = Arc::new(ManualClock::new(ms(0)));
        let b = breaker(3, &clock);
        b.try_acquire().unwrap().failure();
        b.try_acquire().unwrap().success();
        let s = b.snapshot();
        assert_eq!((s.failures_in_window, s.successes_in_window), (1, 1));
        b.force_open_for(ms(100));
        let e = b.try_acquire().unwrap_err();
        assert_eq!((e.reason, e.retry_after), (Reason::ForcedOpen, ms(100)));
        assert_eq!(b.snapshot().retry_at, Some(ms(100)));
        b.reset();
        assert_eq!(b.state(), State::Closed);
        assert_eq!(b.snapshot().failures_in_window, 0);
        b.force_open();
        assert_eq!(b.try_acquire().unwrap_err().retry_after, ms(2000));
    }

    #[test]
    fn an_observer_may_call_back_into_the_breaker() {
        let clock = Arc::new(ManualClock::new(ms(0)));
        let slot: Arc<Mutex<Option<Arc<Breaker>>>> = Arc::default();
        let seen = Arc::new(AtomicU32::new(0));
        let (s2, seen2) = (slot.clone(), seen.clone());
        let b = Arc::new(breaker(0, &clock).with_observer(move |_| {
            if let Some(b) = s2.lock().unwrap().as_ref() {
                let _ = b.snapshot();
                seen2.fetch_add(1, Ordering::SeqCst);
            }
        }));
        *slot.lock().unwrap() = Some(b.clone());
        b.try_acquire().unwrap().failure();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        *slot.lock().unwrap() = None;
    }

    #[test]
    fn call_wraps_a_closure() {
        let clock = Arc::new(ManualClock::new(ms(0)));
        let b = breaker(0, &clock);
        let ok: Result<u32, super::super::BreakerError<&str>> =
            b.call(|| Ok(7), |_| Outcome::Success);
        assert_eq!(ok.unwrap(), 7);
        let err = b.call(|| Err::<u32, _>("boom"), |_| Outcome::Failure);
        assert!(matches!(
            err,
            Err(super::super::BreakerError::Inner("boom"))
        ));
        let open = b.call(|| Ok::<u32, &str>(1), |_| Outcome::Success);
        assert!(matches!(open, Err(super::super::BreakerError::Open(_))));
    }

    /// N threads record known outcomes concurrently; every count must come out exact.
    #[test]
    fn stress_counts_stay_exact_under_many_threads() {
        const THREADS: u64 = 8;
        const CALLS: u64 = 20_000;
        let clock = Arc::new(ManualClock::new(ms(0)));
        let b = Breaker::new(Config::new(u32::MAX, Duration::from_secs(3600)))
            .with_clock(clock.clone());
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let b = &b;
                let clock = &clock;
                s.spawn(move || {
                    for i in 0..CALLS {
                        let p = b.try_acquire().unwrap();
                        match (i + t) % 4 {
                            0 => p.failure(),
                            1 => p.record(Outcome::Neutral),
                            2 => drop(p),
                            _ => p.success(),
                        }
                        if i % 1000 == 0 {
                            clock.advance(Duration::from_micros(10));
                        }
                    }
                });
            }
        });
        let s = b.snapshot();
        let each = THREADS * CALLS / 4;
        assert_eq!(s.state, State::Closed);
        assert_eq!(s.failures_in_window, each);
        assert_eq!(s.successes_in_window, each);
        assert_eq!(s.counters.failures, each);
        assert_eq!(s.counters.successes, each);
        assert_eq!(s.counters.neutral, each);
        assert_eq!(s.counters.ignored_late, 0);
    }

    /// Threads hammer a breaker that opens and closes; the invariants hold throughout: never
    /// more probes in flight than allowed, every result accounted for exactly once, and the
    /// transitions, ordered by generation, form one unbroken chain.
    #[test]
    fn stress_transitions_stay_consistent_under_many_threads() {
        const THREADS: usize = 6;
        const CALLS: u64 = 5_000;
        let clock = Arc::new(ManualClock::new(ms(0)));
        let mut cfg = Config::new(5, ms(100));
        cfg.half_open_probes = 2;
        cfg.probe_timeout = Some(Duration::from_secs(3600));
        cfg.backoff = Backoff::constant(ms(1));
        let log: Arc<Mutex<Vec<BreakerEvent>>> = Arc::default();
        let log2 = log.clone();
        let b = Breaker::new(cfg)
            .with_clock(clock.clone())
            .with_observer(move |e| log2.lock().unwrap().push(*e));
        let live_probes = AtomicU32::new(0);
        let max_live = AtomicU32::new(0);
        let recorded = AtomicU64::new(0);
        let rejected = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..THREADS as u64 {
                let (b, clock, live_probes, max_live, recorded, rejected) =
                    (&b, &clock, &live_probes, &max_live, &recorded, &rejected);
                s.spawn(move || {
                    let mut x = crate::breaker::rng::XorShift64::new(t + 1);
                    for _ in 0..CALLS {
                        match b.try_acquire() {
                            Ok(p) => {
                                if p.is_probe() {
                                    let n = live_probes.fetch_add(1, Ordering::SeqCst) + 1;
                                    max_live.fetch_max(n, Ordering::SeqCst);
                                }
                                let probe = p.is_probe();
                                let o = match x.below_or_eq(9) {
                                    0..=3 => Outcome::Failure,
                                    4 => Outcome::Neutral,
                                    _ => Outcome::Success,
                                };
                                if probe {
                                    live_probes.fetch_sub(1, Ordering::SeqCst);
                                }
                                p.record(o);
                                recorded.fetch_add(1, Ordering::SeqCst);
                            }
                            Err(_) => {
                                rejected.fetch_add(1, Ordering::SeqCst);
                            }
                        }
                        if x.below_or_eq(7) == 0 {
                            clock.advance(Duration::from_micros(300));
                        }
                    }
                });
            }
        });
        let s = b.snapshot();
        let c = s.counters;
        assert!(max_live.load(Ordering::SeqCst) <= 2);
        assert_eq!(
            c.successes + c.failures + c.neutral + c.ignored_late,
            recorded.load(Ordering::SeqCst)
        );
        assert_eq!(c.rejected, rejected.load(Ordering::SeqCst));
        assert!(c.opened > 10, "the run should open the circuit many times");
        let mut transitions: Vec<(u64, State, State)> = log
            .lock()
            .unwrap()
            .iter()
            .filter_map(|e| match e {
                BreakerEvent::Transition {
                    generation,
                    from,
                    to,
                    ..
                } => Some((*generation, *from, *to)),
                _ => None,
            })
            .collect();
        transitions.sort_by_key(|t| t.0);
        assert_eq!(transitions.first().map(|t| t.1), Some(State::Closed));
        for w in transitions.windows(2) {
            assert_eq!(w[0].2, w[1].1, "broken chain at generation {}", w[1].0);
        }
        assert_eq!(transitions.last().map(|t| t.2), Some(s.state));
    }
}
