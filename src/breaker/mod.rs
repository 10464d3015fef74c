//! A circuit breaker over a rolling time window: fail fast while a server keeps failing.
//!
//! When more than `error_threshold` calls fail within `time_window`, the circuit **opens**: calls
//! are refused at once with a [`CircuitOpenError`] that says when to retry, and never reach the
//! server. When the open period ends the circuit is **half-open**: a limited number of probe calls
//! go through; if they succeed it **closes** and calls flow again, if one fails it opens again for
//! a longer (exponentially backed-off, capped, jittered) period.
//!
//! Threshold semantics: the circuit opens when `failures in the window > error_threshold`.
//! Exactly `error_threshold` failures keep it closed. Successes do not offset failures. The
//! window's edge is exact to one bucket (see [`window`]).
//!
//! Three ways in:
//! - [`CircuitBreaker`]: `CircuitBreaker::new(client, 3, Duration::from_secs(2))` around any
//!   [`HttpClient`]; `do_request(url)` returns the response or a [`BreakerError`].
//! - [`Breaker`]: the permit API, `try_acquire()` then `permit.record(outcome)`, for callers that
//!   run the request themselves (wtcurl's CLI).
//! - [`state_file`]: the same state machine shared by processes through a locked JSON file, per
//!   origin, for a CLI that runs once per request.
//!
//! What counts as a failure is decided by a [`Classifier`]; see [`classify`].
//! Time comes from an injectable [`BreakerClock`]: [`MonotonicClock`] by default,
//! [`CoarseMonotonicClock`] to save most of the cost of a call (4 ms resolution), [`WallClock`]
//! for the state file; tests use [`ManualClock`] and never sleep.
//!
//! A CLI run, one request per process:
//!
//! ```no_run
//! use std::time::Duration;
//! use wtcurl::breaker::{Config, classify_wtcurl, state_file::{StateFile, origin_of}};
//! # fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let file = StateFile::open_default()?;
//! let origin = origin_of("http://127.0.0.1:8080/x")?;
//! let config = Config::new(3, Duration::from_secs(30));
//! let op = file.acquire(&origin, &config)?; // op.warnings: print; op.events: trace
//! match op.value {
//!     Err(open) => eprintln!("{open}"), // fail fast: the server is not contacted
//!     Ok(permit) => {
//!         let (status, error) = (Some(503), None); // ... run the engine ...
//!         file.record(permit, classify_wtcurl(status, error))?;
//!     }
//! }
//! # Ok(()) }
//! ```

pub mod classify;
pub mod client;
pub mod clock;
pub mod config;
pub mod event;
pub mod machine;
pub mod rng;
pub mod shared;
pub mod state_file;
pub mod window;

pub use classify::{
    Classifier, ClassifyError, DefaultClassifier, ErrorClass, Outcome, ResponseStatus,
    classify_status, classify_wtcurl,
};
pub use client::{BreakerError, CircuitBreaker, EngineClient, EngineResponse, HttpClient};
pub use clock::{BreakerClock, CoarseMonotonicClock, ManualClock, MonotonicClock, WallClock};
pub use config::{Backoff, Config, ConfigError};
pub use event::{BreakerEvent, CircuitOpenError, Reason, State};
pub use machine::{Counters, Snapshot};
pub use rng::XorShift64;
pub use shared::{Breaker, Observer, Permit};
pub use window::{RollingWindow, SuccessRing};
