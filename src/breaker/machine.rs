//! The breaker's state machine, single-threaded and clock-free: every operation is told the time.
//! [`super::Breaker`] wraps it in a mutex for threads; [`super::state_file`] loads and stores it
//! for processes. One implementation of the rules, whoever drives it.
//!
//! Rules:
//! - Closed: every call is permitted. A failure is counted in the window; when the failures in
//!   the window exceed the threshold (`failures > threshold`) the circuit opens.
//! - Open: calls are rejected until `open_until`; the first call after it moves to HalfOpen.
//! - HalfOpen: up to `half_open_probes` calls at once are permitted as probes, the rest rejected.
//!   A failed probe reopens (with a longer period); `probes_to_close` successes close (with an
//!   empty window); a neutral result or a dropped permit frees the slot. Slots held longer than
//!   the probe timeout are reclaimed.
//! - Every transition (and a reset) bumps the generation; a result carrying an older generation
//!   is ignored, so a slow call from before the circuit opened cannot close or reopen it.

use super::classify::Outcome;
use super::config::Config;
use super::event::{BreakerEvent, CircuitOpenError, Reason, State};
use super::rng::XorShift64;
use super::window::RollingWindow;
use std::time::Duration;

/// Generations wrap at 2^62: the thread-safe breaker packs one with the state in a `u64`.
pub const GENERATION_MASK: u64 = u64::MAX >> 2;

fn next_generation(g: u64) -> u64 {
    g.wrapping_add(1) & GENERATION_MASK
}

/// What a permitted call carries back with its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ticket {
    pub generation: u64,
    pub probe: bool,
}

/// Up to four events per operation, on the stack (no allocation per call).
#[derive(Default)]
pub struct Events {
    items: [Option<BreakerEvent>; 4],
    len: usize,
}

impl Events {
    pub fn push(&mut self, e: BreakerEvent) {
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = Some(e);
            self.len += 1;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &BreakerEvent> {
        self.items.iter().flatten()
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Totals since the breaker was created (or its state file entry).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Counters {
    pub successes: u64,
    pub failures: u64,
    pub neutral: u64,
    pub rejected: u64,
    pub ignored_late: u64,
    pub opened: u64,
}

/// A point-in-time view of a breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub state: State,
    pub generation: u64,
    pub failures_in_window: u64,
    pub successes_in_window: u64,
    pub threshold: u32,
    pub window: Duration,
    /// When an open circuit allows a probe (None unless Open).
    pub retry_at: Option<Duration>,
    pub opened_at: Option<Duration>,
    pub open_reason: Option<Reason>,
    /// Openings since the circuit was last closed (drives the backoff).
    pub consecutive_opens: u32,
    pub probes_in_flight: u32,
    pub probe_successes: u32,
    pub counters: Counters,
}

#[derive(Clone, Debug)]
pub struct Machine {
    pub(crate) cfg: Config,
    pub(crate) state: State,
    pub(crate) generation: u64,
    pub(crate) window: RollingWindow,
    pub(crate) opened_at: Duration,
    pub(crate) open_until: Duration,
    pub(crate) open_reason: Reason,
    pub(crate) consecutive_opens: u32,
    pub(crate) probes_in_flight: u32,
    pub(crate) probe_successes: u32,
    /// Probe slots held past this instant are reclaimed.
    pub(crate) probe_deadline: Duration,
    pub(crate) rng: XorShift64,
    pub(crate) counters: Counters,
}

impl Machine {
    pub fn new(cfg: Config) -> Self {
        let cfg = cfg.normalized();
        Machine {
            window: RollingWindow::new(cfg.time_window, cfg.buckets),
            rng: cfg
                .seed
                .map(XorShift64::new)
                .unwrap_or_else(XorShift64::from_entropy),
            cfg,
            state: State::Closed,
            generation: 0,
            opened_at: Duration::ZERO,
            open_until: Duration::ZERO,
            open_reason: Reason::ManualReset,
            consecutive_opens: 0,
            probes_in_flight: 0,
            probe_successes: 0,
            probe_deadline: Duration::ZERO,
            counters: Counters::default(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Asks to make a call at `now`.
    pub fn acquire(&mut self, now: Duration, ev: &mut Events) -> Result<Ticket, CircuitOpenError> {
        match self.state {
            State::Closed => Ok(Ticket {
                generation: self.generation,
                probe: false,
            }),
            State::Open => {
                if now < self.open_until {
                    return Err(self.reject(now, State::Open, self.open_until, ev));
                }
                self.transition(now, State::HalfOpen, Reason::OpenPeriodElapsed, None, ev);
                self.grant_probe(now, ev)
            }
            State::HalfOpen => self.grant_probe(now, ev),
        }
    }

    fn grant_probe(&mut self, now: Duration, ev: &mut Events) -> Result<Ticket, CircuitOpenError> {
        if self.probes_in_flight > 0 && now >= self.probe_deadline {
            let expired = self.probes_in_flight;
            self.probes_in_flight = 0;
            self.generation = next_generation(self.generation);
            ev.push(BreakerEvent::ProbesExpired {
                at: now,
                expired,
                generation: self.generation,
            });
        }
        if self.probes_in_flight >= self.cfg.half_open_probes {
            return Err(self.reject(now, State::HalfOpen, self.probe_deadline, ev));
        }
        self.probes_in_flight += 1;
        self.probe_deadline = now.saturating_add(self.cfg.probe_timeout());
        Ok(Ticket {
            generation: self.generation,
            probe: true,
        })
    }

    fn reject(
        &mut self,
        now: Duration,
        state: State,
        retry_at: Duration,
        ev: &mut Events,
    ) -> CircuitOpenError {
        self.counters.rejected = self.counters.rejected.saturating_add(1);
        let retry_after = retry_at.saturating_sub(now);
        ev.push(BreakerEvent::Rejected {
            at: now,
            state,
            retry_at,
            retry_after,
        });
        CircuitOpenError {
            state,
            retry_at,
            retry_after,
            opened_at: self.opened_at,
            reason: self.open_reason,
            generation: self.generation,
        }
    }

    /// The result of a permitted call.
    pub fn record(&mut self, t: Ticket, outcome: Outcome, now: Duration, ev: &mut Events) {
        if t.generation != self.generation || (self.state == State::HalfOpen) != t.probe {
            self.counters.ignored_late = self.counters.ignored_late.saturating_add(1);
            ev.push(BreakerEvent::LateResultIgnored {
                at: now,
                outcome,
                permit_generation: t.generation,
                generation: self.generation,
            });
            return;
        }
        self.count(outcome);
        match self.state {
            State::Closed => match outcome {
                Outcome::Success => self.window.record_success(now),
                Outcome::Failure => {
                    self.window.record_failure(now);
                    let failures = self.window.failures();
                    if failures > u64::from(self.cfg.error_threshold) {
                        let reason = Reason::FailureThreshold {
                            failures,
                            threshold: self.cfg.error_threshold,
                            window: self.cfg.time_window,
                        };
                        self.open(now, reason, None, ev);
                    }
                }
                Outcome::Neutral => {}
            },
            State::HalfOpen => {
                self.probes_in_flight = self.probes_in_flight.saturating_sub(1);
                ev.push(BreakerEvent::ProbeResult {
                    at: now,
                    outcome,
                    generation: self.generation,
                });
                match outcome {
                    Outcome::Success => {
                        self.probe_successes = self.probe_successes.saturating_add(1);
                        if self.probe_successes >= self.cfg.probes_to_close {
                            let successes = self.probe_successes;
                            self.close(now, Reason::ProbesSucceeded { successes }, ev);
                        }
                    }
                    Outcome::Failure => self.open(now, Reason::ProbeFailed, None, ev),
                    Outcome::Neutral => {}
                }
            }
            // No permit is ever issued in Open, so no generation matches it.
            State::Open => {}
        }
    }

    /// A permit ended without a result: a probe's slot is freed.
    pub fn release(&mut self, t: Ticket, now: Duration, ev: &mut Events) {
        if t.probe && t.generation == self.generation && self.state == State::HalfOpen {
            self.probes_in_flight = self.probes_in_flight.saturating_sub(1);
            ev.push(BreakerEvent::ProbeReleased {
                at: now,
                generation: self.generation,
            });
        }
    }

    /// Back to Closed with an empty window and no backoff.
    pub fn reset(&mut self, now: Duration, ev: &mut Events) {
        self.close(now, Reason::ManualReset, ev);
    }

    /// Opens now, for `period` or, when `None`, for the next backoff period.
    pub fn force_open(&mut self, now: Duration, period: Option<Duration>, ev: &mut Events) {
        self.open(now, Reason::ForcedOpen, period, ev);
    }

    fn count(&mut self, outcome: Outcome) {
        let c = match outcome {
            Outcome::Success => &mut self.counters.successes,
            Outcome::Failure => &mut self.counters.failures,
            Outcome::Neutral => &mut self.counters.neutral,
        };
        *c = c.saturating_add(1);
    }

    fn open(&mut self, now: Duration, reason: Reason, period: Option<Duration>, ev: &mut Events) {
        let period = period.unwrap_or_else(|| {
            self.cfg
                .backoff
                .jittered(self.cfg.time_window, self.consecutive_opens, &mut self.rng)
        });
        self.consecutive_opens = self.consecutive_opens.saturating_add(1);
        self.counters.opened = self.counters.opened.saturating_add(1);
        self.opened_at = now;
        self.open_until = now.saturating_add(period);
        self.open_reason = reason;
        let retry_at = Some(self.open_until);
        self.transition(now, State::Open, reason, retry_at, ev);
    }

    fn close(&mut self, now: Duration, reason: Reason, ev: &mut Events) {
        self.window.clear();
        self.consecutive_opens = 0;
        self.transition(now, State::Closed, reason, None, ev);
    }

    fn transition(
        &mut self,
        now: Duration,
        to: State,
        reason: Reason,
        retry_at: Option<Duration>,
        ev: &mut Events,
    ) {
        let from = self.state;
        self.state = to;
        self.generation = next_generation(self.generation);
        self.probes_in_flight = 0;
        self.probe_successes = 0;
        ev.push(BreakerEvent::Transition {
            at: now,
            from,
            to,
            reason,
            generation: self.generation,
            retry_at,
        });
    }

    /// The breaker as of `now` (moves the window forward; changes no state).
    pub fn snapshot(&mut self, now: Duration) -> Snapshot {
        self.window.advance(now);
        let open = self.state == State::Open;
        Snapshot {
            state: self.state,
            generation: self.generation,
            failures_in_window: self.window.failures(),
            successes_in_window: self.window.successes(),
            threshold: self.cfg.error_threshold,
            window: self.cfg.time_window,
            retry_at: open.then_some(self.open_until),
            opened_at: (self.state != State::Closed).then_some(self.opened_at),
            open_reason: (self.state != State::Closed).then_some(self.open_reason),
            consecutive_opens: self.consecutive_opens,
            probes_in_flight: self.probes_in_flight,
            probe_successes: self.probe_successes,
            counters: self.counters,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::config::Backoff;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// threshold 3, window 1 s in 10 buckets, open 2 s then 4 s, 8 s, no jitter.
    fn core() -> Machine {
        let mut c = Config::new(3, ms(1000));
        c.backoff = Backoff {
            base: Some(ms(2000)),
            multiplier: 2,
            max: Some(ms(8000)),
            jitter_percent: 0,
        };
        c.seed = Some(1);
        Machine::new(c)
    }

    fn call(c: &mut Machine, now: Duration, o: Outcome) -> Result<(), CircuitOpenError> {
        let mut ev = Events::default();
        let t = c.acquire(now, &mut ev)?;
        c.record(t, o, now, &mut ev);
        Ok(())
    }

    fn transitions(ev: &Events) -> Vec<(State, State)> {
        ev.iter()
            .filter_map(|e| match e {
                BreakerEvent::Transition { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn exactly_at_the_threshold_stays_closed_one_more_opens() {
        let mut c = core();
        for i in 0..3 {
            call(&mut c, ms(i * 10), Outcome::Failure).unwrap();
        }
        assert_eq!(c.state(), State::Closed);
        let mut ev = Events::default();
        let t = c.acquire(ms(40), &mut ev).unwrap();
        c.record(t, Outcome::Failure, ms(40), &mut ev);
        assert_eq!(c.state(), State::Open);
        assert_eq!(transitions(&ev), vec![(State::Closed, State::Open)]);
        match ev.iter().next() {
            Some(BreakerEvent::Transition {
                reason:
                    Reason::FailureThreshold {
                        failures: 4,
                        threshold: 3,
                        ..
                    },
                retry_at: Some(r),
                ..
            }) => assert_eq!(*r, ms(2040)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn successes_do_not_offset_failures() {
        let mut c = core();
        for i in 0..100 {
            call(&mut c, ms(i), Outcome::Success).unwrap();
        }
        for i in 0..4 {
            call(&mut c, ms(100 + i), Outcome::Failure).unwrap();
        }
        assert_eq!(c.state(), State::Open);
    }

    #[test]
    fn threshold_zero_opens_on_the_first_failure() {
        let mut c = Machine::new(Config::new(0, ms(1000)));
        call(&mut c, ms(5), Outcome::Success).unwrap();
        assert_eq!(c.state(), State::Closed);
        call(&mut c, ms(6), Outcome::Failure).unwrap();
        assert_eq!(c.state(), State::Open);
    }

    #[test]
    fn a_failure_expiring_exactly_at_the_window_edge_does_not_count() {
        let mut c = core();
        // Three failures; the first at t=0 (a bucket start) leaves the window at exactly 1000 ms.
        call(&mut c, ms(0), Outcome::Failure).unwrap();
        call(&mut c, ms(500), Outcome::Failure).unwrap();
        call(&mut c, ms(600), Outcome::Failure).unwrap();
        // A fourth at 1000 ms: the first has just left, so 3 in the window: still closed.
        call(&mut c, ms(1000), Outcome::Failure).unwrap();
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.snapshot(ms(1000)).failures_in_window, 3);
        // The same fourth one nanosecond earlier would have opened it.
        let mut d = core();
        call(&mut d, ms(0), Outcome::Failure).unwrap();
        call(&mut d, ms(500), Outcome::Failure).unwrap();
        call(&mut d, ms(600), Outcome::Failure).unwrap();
        call(&mut d, ms(1000) - Duration::from_nanos(1), Outcome::Failure).unwrap();
        assert_eq!(d.state(), State::Open);
    }

    #[test]
    fn idle_gap_longer_than_the_window_starts_afresh() {
        let mut c = core();
        for i in 0..3 {
            call(&mut c, ms(i), Outcome::Failure).unwrap();
        }
        call(&mut c, ms(3_600_000), Outcome::Failure).unwrap();
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.snapshot(ms(3_600_000)).failures_in_window, 1);
    }

    #[test]
    fn open_rejects_until_retry_at_then_one_probe_closes() {
        let mut c = core();
        for i in 0..4 {
            call(&mut c, ms(i), Outcome::Failure).unwrap();
        }
        // Opened at 3 ms for 2 s.
        let e = call(&mut c, ms(1000), Outcome::Success).unwrap_err();
        assert_eq!(e.state, State::Open);
        assert_eq!(e.retry_at, ms(2003));
        assert_eq!(e.retry_after, ms(1003));
        assert_eq!(e.opened_at, ms(3));
        assert!(call(&mut c, ms(2002), Outcome::Success).is_err());
        assert_eq!(c.counters.rejected, 2);

        let mut ev = Events::default();
        let probe = c.acquire(ms(2003), &mut ev).unwrap();
        assert!(probe.probe);
        assert_eq!(transitions(&ev), vec![(State::Open, State::HalfOpen)]);
        // The one probe slot is taken: others are rejected, retry when the probe times out.
        let e = c.acquire(ms(2004), &mut Events::default()).unwrap_err();
        assert_eq!(e.state, State::HalfOpen);
        assert_eq!(e.retry_at, ms(3003));
        let mut ev = Events::default();
        c.record(probe, Outcome::Success, ms(2100), &mut ev);
        assert_eq!(c.state(), State::Closed);
        assert_eq!(transitions(&ev), vec![(State::HalfOpen, State::Closed)]);
        assert!(matches!(
            ev.iter().next(),
            Some(BreakerEvent::ProbeResult {
                outcome: Outcome::Success,
                ..
            })
        ));
        // Closed with an empty window: it takes threshold+1 new failures to reopen.
        let s = c.snapshot(ms(2100));
        assert_eq!((s.failures_in_window, s.consecutive_opens), (0, 0));
        for i in 0..3 {
            call(&mut c, ms(2200 + i), Outcome::Failure).unwrap();
        }
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn a_failed_probe_reopens_with_a_longer_period_capped() {
        let mut c = core();
        for i in 0..4 {
            call(&mut c, ms(i), Outcome::Failure).unwrap();
        }
        let mut now = ms(3);
        let mut periods = vec![];
        for _ in 0..5 {
            let e = c.acquire(now, &mut Events::default()).unwrap_err();
            periods.push(e.retry_at - e.opened_at);
            now = e.retry_at;
            let mut ev = Events::default();
            let p = c.acquire(now, &mut ev).unwrap();
            c.record(p, Outcome::Failure, now, &mut ev);
            assert_eq!(
                transitions(&ev),
                vec![
                    (State::Open, State::HalfOpen),
                    (State::HalfOpen, State::Open)
                ]
            );
        }
        assert_eq!(
            periods,
            vec![ms(2000), ms(4000), ms(8000), ms(8000), ms(8000)]
        );
        // A success closes and resets the backoff.
        now += ms(8000);
        let p = c.acquire(now, &mut Events::default()).unwrap();
        c.record(p, Outcome::Success, now, &mut Events::default());
        assert_eq!(c.state(), State::Closed);
        for i in 0..4 {
            call(&mut c, now + ms(i), Outcome::Failure).unwrap();
        }
        let e = c.acquire(now + ms(10), &mut Events::default()).unwrap_err();
        assert_eq!(e.retry_at - e.opened_at, ms(2000));
    }

    #[test]
    fn a_dropped_or_neutral_probe_gives_its_slot_back() {
        let mut c = core();
        c.force_open(ms(0), Some(ms(10)), &mut Events::default());
        let p = c.acquire(ms(10), &mut Events::default()).unwrap();
        let mut ev = Events::default();
        c.release(p, ms(11), &mut ev);
        assert!(matches!(
            ev.iter().next(),
            Some(BreakerEvent::ProbeReleased { .. })
        ));
        assert_eq!(c.state(), State::HalfOpen);
        let p = c.acquire(ms(12), &mut Events::default()).unwrap();
        c.record(p, Outcome::Neutral, ms(13), &mut Events::default());
        assert_eq!(c.state(), State::HalfOpen);
        let p = c.acquire(ms(14), &mut Events::default()).unwrap();
        c.record(p, Outcome::Success, ms(15), &mut Events::default());
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn several_probes_and_several_successes_to_close() {
        let mut cfg = Config::new(0, ms(1000));
        cfg.half_open_probes = 2;
        cfg.probes_to_close = 3;
        cfg.backoff = Backoff::constant(ms(100));
        let mut c = Machine::new(cfg);
        call(&mut c, ms(0), Outcome::Failure).unwrap();
        let a = c.acquire(ms(100), &mut Events::default()).unwrap();
        let b = c.acquire(ms(100), &mut Events::default()).unwrap();
        assert!(c.acquire(ms(100), &mut Events::default()).is_err());
        c.record(a, Outcome::Success, ms(101), &mut Events::default());
        let d = c.acquire(ms(102), &mut Events::default()).unwrap();
        c.record(b, Outcome::Success, ms(103), &mut Events::default());
        assert_eq!(c.state(), State::HalfOpen);
        c.record(d, Outcome::Success, ms(104), &mut Events::default());
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn late_results_from_an_earlier_generation_are_ignored() {
        let mut c = core();
        let mut ev = Events::default();
        // Four calls start while closed.
        let slow: Vec<_> = (0..4).map(|_| c.acquire(ms(0), &mut ev).unwrap()).collect();
        for i in 0..4 {
            call(&mut c, ms(i), Outcome::Failure).unwrap();
        }
        assert_eq!(c.state(), State::Open);
        // Their results arrive while open: ignored.
        let mut ev = Events::default();
        c.record(slow[0], Outcome::Success, ms(10), &mut ev);
        assert!(matches!(
            ev.iter().next(),
            Some(BreakerEvent::LateResultIgnored {
                permit_generation: 0,
                generation: 1,
                ..
            })
        ));
        // A probe is in flight; a late closed-state success must not close the circuit.
        let probe = c.acquire(ms(2003), &mut Events::default()).unwrap();
        c.record(slow[1], Outcome::Success, ms(2004), &mut Events::default());
        assert_eq!(c.state(), State::HalfOpen);
        // Nor a late failure reopen it.
        c.record(slow[2], Outcome::Failure, ms(2004), &mut Events::default());
        assert_eq!(c.state(), State::HalfOpen);
        c.record(probe, Outcome::Success, ms(2005), &mut Events::default());
        assert_eq!(c.state(), State::Closed);
        // A stale probe ticket after closing: ignored too.
        c.record(probe, Outcome::Failure, ms(2006), &mut Events::default());
        c.release(slow[3], ms(2006), &mut Events::default());
        assert_eq!(c.state(), State::Closed);
        assert_eq!(c.counters.ignored_late, 4);
    }

    #[test]
    fn a_hung_probe_is_reclaimed_after_the_probe_timeout() {
        let mut c = core();
        c.force_open(ms(0), Some(ms(100)), &mut Events::default());
        let hung = c.acquire(ms(100), &mut Events::default()).unwrap();
        assert!(c.acquire(ms(1099), &mut Events::default()).is_err());
        let mut ev = Events::default();
        let p = c.acquire(ms(1100), &mut ev).unwrap();
        assert!(matches!(
            ev.iter().next(),
            Some(BreakerEvent::ProbesExpired { expired: 1, .. })
        ));
        // The hung probe's failure, arriving now, is ignored.
        c.record(hung, Outcome::Failure, ms(1101), &mut Events::default());
        assert_eq!(c.state(), State::HalfOpen);
        c.record(p, Outcome::Success, ms(1102), &mut Events::default());
        assert_eq!(c.state(), State::Closed);
    }

    #[test]
    fn reset_and_force_open() {
        let mut c = core();
        for i in 0..4 {
            call(&mut c, ms(i), Outcome::Failure).unwrap();
        }
        let mut ev = Events::default();
        c.reset(ms(5), &mut ev);
        assert_eq!(transitions(&ev), vec![(State::Open, State::Closed)]);
        assert_eq!(c.snapshot(ms(5)).failures_in_window, 0);
        call(&mut c, ms(6), Outcome::Success).unwrap();
        let mut ev = Events::default();
        c.force_open(ms(7), None, &mut ev);
        assert_eq!(c.state(), State::Open);
        let e = c.acquire(ms(8), &mut Events::default()).unwrap_err();
        assert_eq!(e.reason, Reason::ForcedOpen);
        assert_eq!(e.retry_at, ms(2007));
    }

    #[test]
    fn time_going_backwards_never_panics_or_opens_early() {
        let mut c = core();
        c.force_open(ms(5000), None, &mut Events::default());
        let e = c.acquire(ms(1), &mut Events::default()).unwrap_err();
        assert_eq!(e.retry_after, ms(6999));
        call(&mut c, Duration::MAX, Outcome::Failure).unwrap();
        assert_eq!(c.state(), State::Open);
        c.force_open(Duration::MAX, Some(Duration::MAX), &mut Events::default());
        assert!(c.acquire(Duration::MAX, &mut Events::default()).is_ok());
    }
}
