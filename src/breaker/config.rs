//! A breaker's settings: the threshold and window of the exercise, plus half-open probing and the
//! open period's backoff. Every value is accepted (clamped to something that works); [`Config::validate`]
//! says what a command line should refuse instead.

use super::rng::XorShift64;
use super::window::MAX_BUCKETS;
use std::fmt;
use std::time::Duration;

/// The default number of window buckets: the window's far edge is exact to 10%.
pub const DEFAULT_BUCKETS: u32 = 10;

/// How long the circuit stays open, growing while probes keep failing.
///
/// The n-th consecutive opening (n = 0 for the first since the circuit was last closed) lasts
/// `min(base * multiplier^n, max)`, then minus a random part of up to `jitter_percent` percent of
/// that, so the period never exceeds `max` and processes that opened together spread their probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first open period. `None`: the time window (the time it takes for the failures that
    /// opened the circuit to leave the window).
    pub base: Option<Duration>,
    /// Growth per consecutive opening (1 = constant). Default 2.
    pub multiplier: u32,
    /// The longest open period. `None`: 16 times the base.
    pub max: Option<Duration>,
    /// Up to this percentage of the period is taken off at random (0..=100). Default 10.
    pub jitter_percent: u8,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: None,
            multiplier: 2,
            max: None,
            jitter_percent: 10,
        }
    }
}

impl Backoff {
    /// No growth and no jitter: every open period is `base`.
    pub fn constant(base: Duration) -> Self {
        Backoff {
            base: Some(base),
            multiplier: 1,
            max: Some(base),
            jitter_percent: 0,
        }
    }

    /// The open period for the `level`-th consecutive opening, before jitter.
    pub fn period(&self, window: Duration, level: u32) -> Duration {
        let base = self.base.unwrap_or(window);
        let max = self.max.unwrap_or_else(|| base.saturating_mul(16));
        let mut d = base;
        let mult = self.multiplier.max(1);
        for _ in 0..level.min(64) {
            if d >= max || mult == 1 {
                break;
            }
            d = d.saturating_mul(mult);
        }
        d.min(max)
    }

    /// The open period for the `level`-th consecutive opening, jitter included.
    pub fn jittered(&self, window: Duration, level: u32, rng: &mut XorShift64) -> Duration {
        let d = self.period(window, level);
        let pct = u128::from(self.jitter_percent.min(100));
        if pct == 0 {
            return d;
        }
        let span = d.as_nanos() * pct / 100;
        let span = u64::try_from(span).unwrap_or(u64::MAX);
        d.saturating_sub(Duration::from_nanos(rng.below_or_eq(span)))
    }
}

/// Everything a breaker needs to know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// The circuit opens when the failures in the window **exceed** this: `failures > threshold`.
    /// Exactly `threshold` failures keep it closed; 0 opens on the first failure.
    pub error_threshold: u32,
    /// How far back failures count (see [`super::window`] for the exact edge).
    pub time_window: Duration,
    /// Buckets the window is cut into (1..=1024). Memory: 8 bytes per bucket, plus 8 per
    /// lock-free success slot (the count rounded up to a power of two) in a [`super::Breaker`].
    pub buckets: u32,
    /// How many probe calls may be in flight at once while half-open. Default 1.
    pub half_open_probes: u32,
    /// Successful probes needed to close the circuit. Default 1.
    pub probes_to_close: u32,
    /// A probe without a result after this long gives its slot back (a crashed or hung caller
    /// must not wedge the breaker half-open). `None`: the time window.
    pub probe_timeout: Option<Duration>,
    pub backoff: Backoff,
    /// Seed of the jitter generator. `None`: seeded from the clock and the process id.
    pub seed: Option<u64>,
}

impl Config {
    /// The exercise's two numbers; everything else default.
    pub fn new(error_threshold: u32, time_window: Duration) -> Self {
        Config {
            error_threshold,
            time_window,
            buckets: DEFAULT_BUCKETS,
            half_open_probes: 1,
            probes_to_close: 1,
            probe_timeout: None,
            backoff: Backoff::default(),
            seed: None,
        }
    }

    /// Reports what does not make sense, for a command line to refuse.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.time_window.is_zero() {
            return Err(ConfigError("the time window must be longer than zero"));
        }
        if self.buckets == 0 || self.buckets > MAX_BUCKETS {
            return Err(ConfigError("the bucket count must be between 1 and 1024"));
        }
        if self.half_open_probes == 0 {
            return Err(ConfigError("at least one half-open probe is needed"));
        }
        if self.probes_to_close == 0 {
            return Err(ConfigError(
                "at least one successful probe is needed to close",
            ));
        }
        if self.backoff.multiplier == 0 {
            return Err(ConfigError("the backoff multiplier must be at least 1"));
        }
        if self.backoff.jitter_percent > 100 {
            return Err(ConfigError("jitter is a percentage: 0 to 100"));
        }
        if let (Some(b), Some(m)) = (self.backoff.base, self.backoff.max)
            && m < b
        {
            return Err(ConfigError(
                "the longest open period is shorter than the first",
            ));
        }
        Ok(())
    }

    /// The config with every value made usable: what the breaker really runs with.
    pub fn normalized(mut self) -> Self {
        self.buckets = self.buckets.clamp(1, MAX_BUCKETS);
        self.half_open_probes = self.half_open_probes.max(1);
        self.probes_to_close = self.probes_to_close.max(1);
        self.backoff.multiplier = self.backoff.multiplier.max(1);
        self.backoff.jitter_percent = self.backoff.jitter_percent.min(100);
        self
    }

    /// How long an unanswered probe holds its slot.
    pub fn probe_timeout(&self) -> Duration {
        self.probe_timeout.unwrap_or(self.time_window)
    }
}

/// A configuration a command line should refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigError(pub &'static str);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: u64) -> Duration {
        Duration::from_secs(v)
    }

    #[test]
    fn backoff_doubles_from_the_window_and_caps() {
        let b = Backoff {
            jitter_percent: 0,
            ..Backoff::default()
        };
        let w = s(2);
        let got: Vec<_> = (0..7).map(|l| b.period(w, l)).collect();
        assert_eq!(got, vec![s(2), s(4), s(8), s(16), s(32), s(32), s(32)]);
        assert_eq!(b.period(w, u32::MAX), s(32));
        let c = Backoff::constant(s(3));
        assert_eq!(c.period(w, 10), s(3));
    }

    #[test]
    fn backoff_never_overflows() {
        let b = Backoff {
            base: Some(Duration::MAX),
            multiplier: u32::MAX,
            max: Some(Duration::MAX),
            jitter_percent: 100,
        };
        let mut r = XorShift64::new(1);
        assert_eq!(b.period(s(1), u32::MAX), Duration::MAX);
        assert!(b.jittered(s(1), u32::MAX, &mut r) <= Duration::MAX);
    }

    #[test]
    fn jitter_only_shortens_within_its_percentage_and_is_seeded() {
        let b = Backoff {
            base: Some(s(10)),
            multiplier: 1,
            max: None,
            jitter_percent: 20,
        };
        let mut r1 = XorShift64::new(99);
        let mut r2 = XorShift64::new(99);
        let mut distinct = std::collections::HashSet::new();
        for _ in 0..200 {
            let d = b.jittered(s(1), 0, &mut r1);
            assert_eq!(d, b.jittered(s(1), 0, &mut r2));
            assert!(d <= s(10) && d >= s(8), "{d:?}");
            distinct.insert(d);
        }
        assert!(distinct.len() > 100);
    }

    #[test]
    fn validate_names_each_bad_value_and_normalized_fixes_it() {
        let good = Config::new(3, s(2));
        assert_eq!(good.validate(), Ok(()));
        let mut c = good;
        c.time_window = Duration::ZERO;
        assert!(c.validate().is_err());
        let mut c = good;
        c.buckets = 0;
        assert!(c.validate().is_err());
        assert_eq!(c.normalized().buckets, 1);
        let mut c = good;
        c.half_open_probes = 0;
        c.probes_to_close = 0;
        assert!(c.validate().is_err());
        let n = c.normalized();
        assert_eq!((n.half_open_probes, n.probes_to_close), (1, 1));
        let mut c = good;
        c.backoff.multiplier = 0;
        c.backoff.jitter_percent = 200;
        assert!(c.validate().is_err());
        let n = c.normalized();
        assert_eq!((n.backoff.multiplier, n.backoff.jitter_percent), (1, 100));
        let mut c = good;
        c.backoff.base = Some(s(10));
        c.backoff.max = Some(s(1));
        assert!(c.validate().is_err());
        assert_eq!(good.probe_timeout(), s(2));
    }
}
