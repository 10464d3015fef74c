//! The exercise's shape: an HTTP client wrapped in a circuit breaker. `do_request(url)` returns the
//! response, the client's own error, or a [`CircuitOpenError`] saying when to try again — without
//! touching the network while the circuit is open. Any client fits behind [`HttpClient`]; wtcurl's
//! own engine does through [`EngineClient`].

use super::classify::{Classifier, DefaultClassifier, ResponseStatus};
use super::clock::BreakerClock;
use super::config::Config;
use super::event::{BreakerEvent, CircuitOpenError};
use super::shared::Breaker;
use crate::clock::RealClock;
use crate::engine;
use crate::event::{Event, Observer, Tracer};
use std::fmt;
use std::time::Duration;

/// Something that makes one request to a URL.
pub trait HttpClient {
    type Response;
    type Error;
    fn request(&self, url: &str) -> Result<Self::Response, Self::Error>;
}

impl<T: HttpClient + ?Sized> HttpClient for &T {
    type Response = T::Response;
    type Error = T::Error;
    fn request(&self, url: &str) -> Result<Self::Response, Self::Error> {
        (**self).request(url)
    }
}

impl<T: HttpClient + ?Sized> HttpClient for std::sync::Arc<T> {
    type Response = T::Response;
    type Error = T::Error;
    fn request(&self, url: &str) -> Result<Self::Response, Self::Error> {
        (**self).request(url)
    }
}

impl<T: HttpClient + ?Sized> HttpClient for Box<T> {
    type Response = T::Response;
    type Error = T::Error;
    fn request(&self, url: &str) -> Result<Self::Response, Self::Error> {
        (**self).request(url)
    }
}

/// Why a call through a breaker did not return a response.
#[derive(Debug, PartialEq, Eq)]
pub enum BreakerError<E> {
    /// Rejected without being made: the circuit is open.
    Open(CircuitOpenError),
    /// Made, and the client failed.
    Inner(E),
}

impl<E> BreakerError<E> {
    /// The rejection, if the call was not made.
    pub fn as_open(&self) -> Option<&CircuitOpenError> {
        match self {
            BreakerError::Open(e) => Some(e),
            BreakerError::Inner(_) => None,
        }
    }

    /// The client's error, if the call was made.
    pub fn into_inner(self) -> Option<E> {
        match self {
            BreakerError::Open(_) => None,
            BreakerError::Inner(e) => Some(e),
        }
    }
}

impl<E: fmt::Display> fmt::Display for BreakerError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BreakerError::Open(e) => e.fmt(f),
            BreakerError::Inner(e) => e.fmt(f),
        }
    }
}

impl<E: std::error::Error + 'static> std::error::Error for BreakerError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BreakerError::Open(e) => Some(e),
            BreakerError::Inner(e) => Some(e),
        }
    }
}

/// An HTTP client behind a circuit breaker.
pub struct CircuitBreaker<C, K = DefaultClassifier> {
    client: C,
    breaker: Breaker,
    classifier: K,
}

impl<C, K> fmt::Debug for CircuitBreaker<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<C> CircuitBreaker<C, DefaultClassifier> {
    /// Opens when more than `error_threshold` failures happen within `time_window`
    /// (`failures > error_threshold`); see [`Config`] for everything else.
    pub fn new(http_client: C, error_threshold: u32, time_window: Duration) -> Self {
        Self::with_config(http_client, Config::new(error_threshold, time_window))
    }

    pub fn with_config(http_client: C, config: Config) -> Self {
        CircuitBreaker {
            client: http_client,
            breaker: Breaker::new(config),
            classifier: DefaultClassifier,
        }
    }
}

impl<C, K> CircuitBreaker<C, K> {
    /// Decides what counts as a failure with `classifier` (a closure
    /// `Fn(&Result<Response, Error>) -> Outcome` will do).
    pub fn with_classifier<K2>(self, classifier: K2) -> CircuitBreaker<C, K2> {
        CircuitBreaker {
            client: self.client,
            breaker: self.breaker,
            classifier,
        }
    }

    pub fn with_clock(mut self, clock: impl BreakerClock + 'static) -> Self {
        self.breaker = self.breaker.with_clock(clock);
        self
    }

    pub fn with_observer(
        mut self,
        observer: impl Fn(&BreakerEvent) + Send + Sync + 'static,
    ) -> Self {
        self.breaker = self.breaker.with_observer(observer);
        self
    }

    /// The breaker itself: state, snapshot, reset, force_open, and the permit API.
    pub fn breaker(&self) -> &Breaker {
        &self.breaker
    }

    pub fn client(&self) -> &C {
        &self.client
    }
}

impl<C: HttpClient, K: Classifier<C::Response, C::Error>> CircuitBreaker<C, K> {
    /// Makes the request unless the circuit is open, and counts its result.
    pub fn do_request(&self, url: &str) -> Result<C::Response, BreakerError<C::Error>> {
        // If the client panics, the permit is dropped while unwinding: a probe's slot comes back.
        let permit = self.breaker.try_acquire().map_err(BreakerError::Open)?;
        let result = self.client.request(url);
        permit.record(self.classifier.classify(&result));
        result.map_err(BreakerError::Inner)
    }
}

/// wtcurl's engine as an [`HttpClient`]: one transfer per call, body collected in memory.
#[derive(Clone, Debug)]
pub struct EngineClient {
    /// Every setting but the URL, which each call replaces.
    pub template: engine::Request,
}

impl EngineClient {
    pub fn new() -> Self {
        EngineClient {
            template: engine::Request::new(""),
        }
    }
}

impl Default for EngineClient {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`EngineClient`] returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineResponse {
    /// The final response's status (0 if the engine reported none).
    pub status: u16,
    pub body: Vec<u8>,
}

impl ResponseStatus for EngineResponse {
    fn status(&self) -> u16 {
        self.status
    }
}

/// Keeps only the last response status; asks for no syscall events.
#[derive(Default)]
struct StatusOnly {
    status: Option<u16>,
}

impl Observer for StatusOnly {
    fn on_event(&mut self, event: &Event) {
        if let Event::ResponseHead { status, .. } = event {
            self.status = Some(*status);
        }
    }
    fn wants_syscalls(&self) -> bool {
        false
    }
}

impl HttpClient for EngineClient {
    type Response = EngineResponse;
    type Error = crate::error::Error;

    fn request(&self, url: &str) -> Result<EngineResponse, crate::error::Error> {
        let mut req = self.template.clone();
        req.url = url.to_string();
        let clock = RealClock::new();
        let mut obs = StatusOnly::default();
        let mut body = Vec::new();
        {
            let mut t = Tracer::new(&clock, &mut obs);
            engine::run(&mut t, &req, &mut body)?;
        }
        Ok(EngineResponse {
            status: obs.status.unwrap_or(0),
            body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::classify::Outcome;
    use crate::breaker::clock::ManualClock;
    use crate::breaker::config::Backoff;
    use crate::breaker::event::State;
    use std::cell::Cell;
    use std::io::{Read, Write};
    use std::net::TcpListener;
    use std::sync::Arc;

    /// Returns the scripted statuses in turn and counts the calls that reached it.
    struct Stub {
        statuses: Vec<Result<u16, std::io::ErrorKind>>,
        calls: Cell<usize>,
    }

    impl HttpClient for Stub {
        type Response = u16;
        type Error = std::io::Error;
        fn request(&self, _url: &str) -> Result<u16, std::io::Error> {
            let i = self.calls.get();
            self.calls.set(i + 1);
            match self.statuses.get(i).copied().unwrap_or(Ok(200)) {
                Ok(s) => Ok(s),
                Err(k) => Err(std::io::Error::new(k, "stub")),
            }
        }
    }

    #[test]
    fn do_request_opens_fails_fast_and_recovers() {
        use std::io::ErrorKind as K;
        let clock = Arc::new(ManualClock::new(Duration::ZERO));
        let stub = Stub {
            statuses: vec![
                Ok(200),
                Ok(503),
                Err(K::ConnectionRefused),
                Ok(404), // neutral: does not count
                Err(K::TimedOut),
                Ok(500),
                Ok(200), // the probe
            ],
            calls: Cell::new(0),
        };
        let mut cfg = Config::new(3, Duration::from_secs(2));
        cfg.backoff = Backoff::constant(Duration::from_secs(2));
        let cb = CircuitBreaker::with_config(stub, cfg).with_clock(clock.clone());
        for _ in 0..6 {
            let _ = cb.do_request("http://x/");
        }
        assert_eq!(cb.breaker().state(), State::Open);
        assert_eq!(cb.client().calls.get(), 6);
        let e = cb.do_request("http://x/").unwrap_err();
        assert_eq!(e.as_open().unwrap().retry_after, Duration::from_secs(2));
        assert_eq!(cb.client().calls.get(), 6, "rejected without a call");
        clock.advance(Duration::from_secs(2));
        assert_eq!(cb.do_request("http://x/").unwrap(), 200);
        assert_eq!(cb.breaker().state(), State::Closed);
        let s = cb.breaker().snapshot();
        assert_eq!(
            (s.counters.failures, s.counters.neutral, s.counters.rejected),
            (4, 1, 1)
        );
    }

    #[test]
    fn a_custom_classifier_decides() {
        let stub = Stub {
            statuses: vec![Ok(404), Ok(404)],
            calls: Cell::new(0),
        };
        let cb = CircuitBreaker::new(stub, 1, Duration::from_secs(10)).with_classifier(
            |r: &Result<u16, std::io::Error>| match r {
                Ok(404) => Outcome::Failure,
                _ => Outcome::Success,
            },
        );
        let _ = cb.do_request("u");
        assert_eq!(cb.breaker().state(), State::Closed);
        let _ = cb.do_request("u");
        assert_eq!(cb.breaker().state(), State::Open);
    }

    /// A one-thread HTTP server answering `statuses` in turn, one connection each.
    fn serve(statuses: Vec<u16>) -> (u16, std::thread::JoinHandle<usize>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let h = std::thread::spawn(move || {
            let mut served = 0;
            for status in statuses {
                let Ok((mut s, _)) = l.accept() else { break };
                let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = [0u8; 2048];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!("status {status}\n");
                let _ = write!(
                    s,
                    "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                served += 1;
            }
            served
        });
        (port, h)
    }

    #[test]
    fn wraps_wtcurl_engine() {
        let (port, server) = serve(vec![503, 503, 200]);
        let url = format!("http://127.0.0.1:{port}/");
        let mut client = EngineClient::new();
        client.template.max_time = Some(Duration::from_secs(10));
        let mut cfg = Config::new(1, Duration::from_secs(60));
        cfg.backoff = Backoff::constant(Duration::ZERO);
        let cb = CircuitBreaker::with_config(client, cfg);
        assert_eq!(cb.do_request(&url).unwrap().status, 503);
        assert_eq!(cb.breaker().state(), State::Closed);
        assert_eq!(cb.do_request(&url).unwrap().status, 503);
        assert_eq!(cb.breaker().state(), State::Open);
        // Zero open period: the next call is the probe.
        let r = cb.do_request(&url).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (200, &b"status 200\n"[..]));
        assert_eq!(cb.breaker().state(), State::Closed);
        assert_eq!(server.join().unwrap(), 3);
        // Nothing listens any more: connection refused is a failure.
        let _ = cb.do_request(&url);
        let _ = cb.do_request(&url);
        assert_eq!(cb.breaker().state(), State::Open);
    }
}
