//! `--breaker THRESHOLD/WINDOW` around one run: ask the shared state file before any network,
//! record how the run went after it, and put both in the event stream.

use crate::breaker::state_file::{FilePermit, StateFile, origin_of};
use crate::breaker::{BreakerEvent, Config, State, classify_wtcurl};
use crate::engine::{Hooks, Request};
use crate::error::{Error, Label, Phase, Result};
use crate::event::{Event, Tracer};
use std::path::PathBuf;
use std::time::Duration;

/// Parses `3/30s`: open when more than 3 failures fall in a 30-second window.
pub fn parse_spec(spec: &str) -> std::result::Result<(u32, Duration), String> {
    let (n, w) = spec
        .split_once('/')
        .ok_or("expected THRESHOLD/WINDOW, e.g. 3/30s")?;
    let threshold: u32 = n
        .trim()
        .parse()
        .map_err(|_| format!("{n:?} is not a whole number"))?;
    Ok((threshold, parse_duration(w)?))
}

/// `500ms`, `30s`, `2m`, or a plain number of seconds (`1.5`).
pub fn parse_duration(s: &str) -> std::result::Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(v) = s.strip_suffix("ms") {
        (v, 0.001)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (500ms, 30s, 2m)"))?;
    if !(0.0..=1e7).contains(&v) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

fn state_name(s: State) -> String {
    s.as_str().to_string()
}

/// A state-file failure as the typed error (`breaker_state_error`, exit 121).
pub fn state_error(e: impl std::fmt::Display) -> Error {
    Error::new(Phase::Breaker, Label::BreakerState, format!("breaker state file: {e}"))
        .hint("check $XDG_STATE_HOME (or ~/.local/state)/wtcurl, or point --breaker-state at a writable file")
}

/// The circuit breaker as engine hooks.
pub struct BreakerGuard {
    file: StateFile,
    config: Config,
    permit: Option<FilePermit>,
    /// The circuit's state after this run, for `--repeat`'s one-line summary.
    pub state_after: Option<String>,
}

impl BreakerGuard {
    pub fn new(spec: &str, state_file: Option<PathBuf>) -> Result<Self> {
        let usage = |m: String| {
            Error::new(
                Phase::Setup,
                Label::BadUsage,
                format!("--breaker {spec}: {m}"),
            )
        };
        let (threshold, window) = parse_spec(spec).map_err(usage)?;
        let config = Config::new(threshold, window);
        config.validate().map_err(|e| usage(e.to_string()))?;
        let file = match state_file {
            Some(p) => StateFile::at(p),
            None => StateFile::open_default().map_err(state_error)?,
        };
        Ok(BreakerGuard {
            file,
            config,
            permit: None,
            state_after: None,
        })
    }

    /// The state file in use.
    pub fn file(&self) -> &StateFile {
        &self.file
    }
}

fn transitions(events: &[BreakerEvent]) -> Option<String> {
    let list: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            BreakerEvent::Transition {
                from, to, reason, ..
            } => Some(format!("{} → {}: {reason}", from.as_str(), to.as_str())),
            _ => None,
        })
        .collect();
    (!list.is_empty()).then(|| list.join("; "))
}

impl Hooks for BreakerGuard {
    fn before(&mut self, t: &mut Tracer, req: &Request) -> Result<()> {
        let at = t.now_us();
        t.emit(Event::Phase {
            at_us: at,
            hop: 0,
            phase: Phase::Breaker,
        });
        let origin = origin_of(&req.url)?;
        let op = self
            .file
            .acquire(&origin, &self.config)
            .map_err(state_error)?;
        let warnings: Vec<String> = op.warnings.iter().map(|w| w.to_string()).collect();
        let snapshot = self
            .file
            .show()
            .ok()
            .and_then(|r| r.value.origins.into_iter().find(|o| o.origin == origin));
        let failures = snapshot.as_ref().map_or(0, |o| o.failures_in_window as u32);
        let state_before = snapshot
            .as_ref()
            .map_or("closed".to_string(), |o| state_name(o.state));
        let (decision, retry_in_ms) = match &op.value {
            Ok(p) if p.is_probe() => ("probe", None),
            Ok(_) => ("allowed", None),
            Err(open) => ("rejected", Some(open.retry_after.as_millis() as u64)),
        };
        let at = t.now_us();
        t.emit(Event::Breaker {
            at_us: at,
            origin: origin.clone(),
            decision: decision.into(),
            state: state_before,
            failures_in_window: failures,
            threshold: self.config.error_threshold,
            window_ms: self.config.time_window.as_millis() as u64,
            retry_in_ms,
            state_file: Some(self.file.path().display().to_string()),
            warnings,
        });
        match op.value {
            Ok(permit) => {
                self.permit = Some(permit);
                Ok(())
            }
            Err(open) => {
                self.state_after = Some(state_name(open.state));
                Err(Error::new(
                    Phase::Breaker,
                    Label::CircuitOpen,
                    format!("{origin}: {open}"),
                )
                .hint("the server failed too often lately; wait, or reset it with --breaker-reset"))
            }
        }
    }

    fn after(&mut self, t: &mut Tracer, status: Option<u16>, error: Option<&Error>) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        let origin = permit.origin().to_string();
        let outcome = classify_wtcurl(status, error);
        let reason = match (error, status) {
            (Some(e), _) => format!("{} ({})", e.label.as_str(), e.phase.as_str()),
            (None, Some(s)) => format!("HTTP {s}"),
            (None, None) => "no response".into(),
        };
        let (state_after, transition) = match self.file.record(permit, outcome) {
            Ok(op) => (state_name(op.value.state), transitions(&op.events)),
            Err(e) => ("unknown".into(), Some(format!("not recorded: {e}"))),
        };
        self.state_after = Some(state_after.clone());
        let at = t.now_us();
        t.emit(Event::BreakerOutcome {
            at_us: at,
            origin,
            outcome: outcome.as_str().into(),
            reason,
            state_after,
            transition,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_durations_parse() {
        assert_eq!(parse_spec("3/30s"), Ok((3, Duration::from_secs(30))));
        assert_eq!(parse_spec("0/500ms"), Ok((0, Duration::from_millis(500))));
        assert_eq!(parse_spec("5/2m"), Ok((5, Duration::from_secs(120))));
        assert_eq!(parse_spec("5/1.5"), Ok((5, Duration::from_millis(1500))));
        assert!(parse_spec("x/30s").is_err());
        assert!(parse_spec("3").is_err());
        assert!(parse_duration("-1s").is_err());
    }
}
