//! Shows the circuit breaker at work against a real, local, flaky HTTP server: requests through
//! wtcurl's engine, the circuit opening after the errors, requests refused without reaching the
//! server, the wait, a failed probe doubling the wait, a good probe closing the circuit, and
//! traffic flowing again. `cargo run --example breaker_demo` (about 10 s; loopback only).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wtcurl::breaker::event::fmt_duration;
use wtcurl::breaker::{
    Backoff, BreakerError, CircuitBreaker, Config, EngineClient, EngineResponse, XorShift64,
};

const HEALTHY: u8 = 0;
const FAILING: u8 = 1;
const RANDOM: u8 = 2;

/// An HTTP server on 127.0.0.1 that answers 200, or 500 on demand or at a seeded random rate,
/// and counts the connections that reach it.
struct FlakyServer {
    port: u16,
    mode: Arc<AtomicU8>,
    /// Percentage of 500s in RANDOM mode.
    rate: Arc<AtomicU8>,
    connections: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FlakyServer {
    fn start(seed: u64) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let mode = Arc::new(AtomicU8::new(HEALTHY));
        let rate = Arc::new(AtomicU8::new(0));
        let connections = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let rng = Mutex::new(XorShift64::new(seed));
        let (m, r, c, s) = (
            mode.clone(),
            rate.clone(),
            connections.clone(),
            stop.clone(),
        );
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut conn) = conn else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                let fail = match m.load(Ordering::SeqCst) {
                    FAILING => true,
                    RANDOM => {
                        let roll = rng.lock().map(|mut g| g.below_or_eq(99)).unwrap_or(0);
                        roll < u64::from(r.load(Ordering::SeqCst))
                    }
                    _ => false,
                };
                answer(&mut conn, fail);
            }
        });
        Ok(FlakyServer {
            port,
            mode,
            rate,
            connections,
            stop,
            thread: Some(thread),
        })
    }

    fn set(&self, mode: u8, rate: u8) {
        self.rate.store(rate, Ordering::SeqCst);
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FlakyServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(conn: &mut TcpStream, fail: bool) {
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let (status, body) = if fail {
        ("500 Internal Server Error", "failing\n")
    } else {
        ("200 OK", "fine\n")
    };
    let _ = write!(
        conn,
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

struct Demo {
    cb: CircuitBreaker<EngineClient>,
    server: FlakyServer,
    url: String,
    start: Instant,
    n: u32,
}

impl Demo {
    /// One request, one line: what happened, the breaker's state, the server's connection count.
    /// Returns how long to wait before the circuit allows a probe, when it refused.
    fn request(&mut self) -> Option<Duration> {
        self.n += 1;
        let before = self.server.connections();
        let result = self.cb.do_request(&self.url);
        let after = self.server.connections();
        let s = self.cb.breaker().snapshot();
        let (what, wait) = match &result {
            Ok(EngineResponse { status, .. }) => (format!("HTTP {status}"), None),
            Err(BreakerError::Inner(e)) => (format!("error: {e}"), None),
            Err(BreakerError::Open(e)) => (
                format!("REFUSED, retry in {}", fmt_duration(e.retry_after)),
                Some(e.retry_after),
            ),
        };
        let reached = if after > before {
            "reached server"
        } else {
            "did not reach server"
        };
        println!(
            "t={:>5.2}s  #{:<2} {:<26} circuit {:<9} {} {} in the last {} (opens above {})  server connections {:>2} ({reached})",
            self.start.elapsed().as_secs_f64(),
            self.n,
            what,
            s.state.to_string(),
            s.failures_in_window,
            plural(s.failures_in_window, "failure", "failures"),
            fmt_duration(s.window),
            s.threshold,
            after,
        );
        wait
    }

    fn pause(&self, d: Duration) {
        println!("          ... waiting {} ...", fmt_duration(d));
        std::thread::sleep(d);
    }
}

fn main() -> std::io::Result<()> {
    let server = FlakyServer::start(2024)?;
    let url = format!("http://127.0.0.1:{}/", server.port);

    // The exercise's numbers: more than 3 errors within 2 s open the circuit. It stays open for
    // 2 s (the window) the first time, twice that after a failed probe; jitter off so the output
    // reads the same every run.
    let mut config = Config::new(3, Duration::from_secs(2));
    config.backoff = Backoff {
        base: None,
        multiplier: 2,
        max: Some(Duration::from_secs(8)),
        jitter_percent: 0,
    };
    let mut client = EngineClient::new();
    client.template.max_time = Some(Duration::from_secs(5));
    let cb =
        CircuitBreaker::with_config(client, config).with_observer(|e| println!("          >> {e}"));
    let mut d = Demo {
        cb,
        server,
        url,
        start: Instant::now(),
        n: 0,
    };
    println!(
        "breaker: opens when more than {} requests fail within {} (5xx, refused connections and timeouts count)",
        3,
        fmt_duration(Duration::from_secs(2))
    );
    println!("server: {} (in this process)\n", d.url);

    println!("-- the server is healthy");
    for _ in 0..3 {
        d.request();
    }

    println!("\n-- the server starts failing every request");
    d.server.set(FAILING, 0);
    for _ in 0..4 {
        d.request();
    }
    println!("\n-- the circuit is open: requests fail fast and the server sees none of them");
    let mut wait = None;
    for _ in 0..3 {
        wait = d.request().or(wait);
    }

    d.pause(wait.unwrap_or(Duration::from_secs(2)));
    println!("\n-- the open period is over: the next request is a probe; the server still fails");
    d.request();
    let wait = d.request();
    println!("   (the failed probe reopened the circuit for twice as long)");

    d.pause(wait.unwrap_or(Duration::from_secs(4)));
    println!("\n-- the server has recovered; the next request probes it");
    d.server.set(HEALTHY, 0);
    d.request();
    println!("\n-- the circuit is closed: requests flow again");
    for _ in 0..3 {
        d.request();
    }

    println!(
        "\n-- background noise: 10% of requests fail at random (seeded); errors stay under the threshold"
    );
    d.server.set(RANDOM, 10);
    for _ in 0..10 {
        d.request();
        std::thread::sleep(Duration::from_millis(100));
    }

    let s = d.cb.breaker().snapshot();
    println!(
        "\nsummary: {} requests, {} reached the server, {} refused by the open circuit; opened {} {}",
        d.n,
        d.server.connections(),
        s.counters.rejected,
        s.counters.opened,
        plural(s.counters.opened, "time", "times")
    );
    Ok(())
}

/// "1 failure", "2 failures": the word for a count.
fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
