//! What a breaker reports: its states, why it moved between them, the error a rejected call gets,
//! and the events an observer sees (the CLI maps them into wtcurl's own event stream).
//!
//! Times are [`Duration`]s on the breaker's clock (see [`super::clock`]): since the clock's origin
//! for a monotonic clock, since the Unix epoch for the state file's wall clock.

use super::classify::Outcome;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

/// The three states of a circuit breaker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Calls flow; results are counted in the window.
    Closed,
    /// Calls are rejected at once until the open period ends.
    Open,
    /// A limited number of probe calls test the server; the rest are rejected.
    HalfOpen,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        }
    }

    pub(crate) fn code(self) -> u64 {
        match self {
            State::Closed => 0,
            State::Open => 1,
            State::HalfOpen => 2,
        }
    }

    pub(crate) fn from_code(c: u64) -> State {
        match c {
            0 => State::Closed,
            1 => State::Open,
            _ => State::HalfOpen,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why the breaker changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// Closed -> Open: the failures in the window exceeded the threshold.
    FailureThreshold {
        failures: u64,
        threshold: u32,
        window: Duration,
    },
    /// Open -> HalfOpen: the open period ended; the next call probes.
    OpenPeriodElapsed,
    /// HalfOpen -> Closed: enough probes succeeded.
    ProbesSucceeded { successes: u32 },
    /// HalfOpen -> Open: a probe failed.
    ProbeFailed,
    /// Any -> Closed: [`reset`](super::Breaker::reset) was called.
    ManualReset,
    /// Any -> Open: [`force_open`](super::Breaker::force_open) was called.
    ForcedOpen,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::FailureThreshold {
                failures,
                threshold,
                window,
            } => write!(
                f,
                "{failures} failure{} in the last {} exceed{} the threshold of {threshold}",
                if *failures == 1 { "" } else { "s" },
                fmt_duration(*window),
                if *failures == 1 { "s" } else { "" }
            ),
            Reason::OpenPeriodElapsed => f.write_str("the open period ended; probing"),
            Reason::ProbesSucceeded { successes } => {
                let s = if *successes == 1 { "" } else { "s" };
                write!(f, "{successes} probe{s} succeeded")
            }
            Reason::ProbeFailed => f.write_str("a probe failed"),
            Reason::ManualReset => f.write_str("reset by hand"),
            Reason::ForcedOpen => f.write_str("forced open by hand"),
        }
    }
}

/// One thing the breaker did, for an observer. No allocation: every variant is `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerEvent {
    /// A state change. `generation` is the new state's generation; results of permits from an
    /// earlier generation are ignored from now on.
    Transition {
        at: Duration,
        from: State,
        to: State,
        reason: Reason,
        generation: u64,
        /// When a transition to Open will allow a probe.
        retry_at: Option<Duration>,
    },
    /// A call was refused without being made.
    Rejected {
        at: Duration,
        state: State,
        retry_at: Duration,
        retry_after: Duration,
    },
    /// A half-open probe finished.
    ProbeResult {
        at: Duration,
        outcome: Outcome,
        generation: u64,
    },
    /// A probe permit was dropped without a result: its slot is free again.
    ProbeReleased { at: Duration, generation: u64 },
    /// Probes held their slots longer than the probe timeout; their slots were freed (and their
    /// results, should they come, will be ignored).
    ProbesExpired {
        at: Duration,
        expired: u32,
        generation: u64,
    },
    /// A result arrived for a permit from an earlier generation and was not counted.
    LateResultIgnored {
        at: Duration,
        outcome: Outcome,
        permit_generation: u64,
        generation: u64,
    },
}

impl BreakerEvent {
    /// When it happened, on the breaker's clock.
    pub fn at(&self) -> Duration {
        match self {
            BreakerEvent::Transition { at, .. }
            | BreakerEvent::Rejected { at, .. }
            | BreakerEvent::ProbeResult { at, .. }
            | BreakerEvent::ProbeReleased { at, .. }
            | BreakerEvent::ProbesExpired { at, .. }
            | BreakerEvent::LateResultIgnored { at, .. } => *at,
        }
    }
}

impl fmt::Display for BreakerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerEvent::Transition {
                from,
                to,
                reason,
                retry_at,
                at,
                ..
            } => {
                write!(f, "circuit {from} -> {to}: {reason}")?;
                if let Some(r) = retry_at {
                    write!(f, "; probing in {}", fmt_duration(r.saturating_sub(*at)))?;
                }
                Ok(())
            }
            BreakerEvent::Rejected {
                state, retry_after, ..
            } => write!(
                f,
                "call rejected, circuit {state}; retry in {}",
                fmt_duration(*retry_after)
            ),
            BreakerEvent::ProbeResult { outcome, .. } => write!(f, "probe result: {outcome}"),
            BreakerEvent::ProbeReleased { .. } => {
                f.write_str("probe gave its slot back without a result")
            }
            BreakerEvent::ProbesExpired { expired, .. } => {
                if *expired == 1 {
                    f.write_str("1 probe timed out; its slot is free")
                } else {
                    write!(f, "{expired} probes timed out; their slots are free")
                }
            }
            BreakerEvent::LateResultIgnored {
                outcome,
                permit_generation,
                generation,
                ..
            } => write!(
                f,
                "late {outcome} from generation {permit_generation} ignored (now {generation})"
            ),
        }
    }
}

/// A call refused because the circuit is open (or half-open with every probe slot taken).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CircuitOpenError {
    /// `Open`, or `HalfOpen` when every probe slot is taken.
    pub state: State,
    /// When a call may be tried again (on the breaker's clock).
    pub retry_at: Duration,
    /// How long from the rejection until `retry_at`.
    pub retry_after: Duration,
    /// When the circuit opened.
    pub opened_at: Duration,
    /// Why it opened.
    pub reason: Reason,
    pub generation: u64,
}

impl fmt::Display for CircuitOpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.state {
            State::HalfOpen => write!(
                f,
                "circuit half-open and its probe is in flight; retry in {}",
                fmt_duration(self.retry_after)
            ),
            _ => write!(
                f,
                "circuit open ({}); retry in {}",
                self.reason,
                fmt_duration(self.retry_after)
            ),
        }
    }
}

impl std::error::Error for CircuitOpenError {}

/// `1.5s`, `250ms`, `3m20s`: short and exact enough for humans.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1 && !d.is_zero() {
        return format!("{}µs", d.as_micros());
    }
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let secs = d.as_secs();
    if secs < 60 {
        let tenths = (ms % 1000) / 100;
        return if tenths == 0 {
            format!("{secs}s")
        } else {
            format!("{secs}.{tenths}s")
        };
    }
    if secs < 3600 {
        return format!("{}m{:02}s", secs / 60, secs % 60);
    }
    format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(fmt_duration(Duration::ZERO), "0ms");
        assert_eq!(fmt_duration(Duration::from_micros(40)), "40µs");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(fmt_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(fmt_duration(Duration::from_secs(2)), "2s");
        assert_eq!(fmt_duration(Duration::from_secs(200)), "3m20s");
        assert_eq!(fmt_duration(Duration::from_secs(7300)), "2h01m");
        assert!(!fmt_duration(Duration::MAX).is_empty());
    }

    #[test]
    fn open_error_says_why_and_when() {
        let e = CircuitOpenError {
            state: State::Open,
            retry_at: Duration::from_secs(12),
            retry_after: Duration::from_millis(1500),
            opened_at: Duration::from_secs(10),
            reason: Reason::FailureThreshold {
                failures: 4,
                threshold: 3,
                window: Duration::from_secs(2),
            },
            generation: 1,
        };
        assert_eq!(
            e.to_string(),
            "circuit open (4 failures in the last 2s exceed the threshold of 3); retry in 1.5s"
        );
        for s in [State::Closed, State::Open, State::HalfOpen] {
            assert_eq!(State::from_code(s.code()), s);
        }
    }
}
