//! What the circuit breaker costs: time per call (uncontended and with 2 threads), its memory and
//! that memory's independence from the request rate, next to the `failsafe` crate doing the same.
//! Run with `cargo bench --bench breaker`; BENCHMARKS.md has the numbers.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};
use wtcurl::breaker::machine::Machine;
use wtcurl::breaker::{
    Breaker, CircuitBreaker, CoarseMonotonicClock, Config, HttpClient, ManualClock, MonotonicClock,
    Outcome, RollingWindow,
};

/// Never opens: every call is counted in the window (the common, closed path).
fn closed_breaker() -> Breaker {
    Breaker::new(Config::new(u32::MAX, Duration::from_secs(30)))
}

/// A client that does nothing, to measure the wrapper alone.
struct Noop;

impl HttpClient for Noop {
    type Response = u16;
    type Error = std::io::Error;
    fn request(&self, _url: &str) -> Result<u16, std::io::Error> {
        Ok(200)
    }
}

fn failsafe_window() -> impl failsafe::CircuitBreaker + Sync {
    use failsafe::{backoff, failure_policy};
    let policy = failure_policy::success_rate_over_time_window(
        0.5,
        u32::MAX,
        Duration::from_secs(30),
        backoff::constant(Duration::from_secs(2)),
    );
    failsafe::Config::new().failure_policy(policy).build()
}

fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4
}

/// Sizes, and RSS before/after millions of calls at full speed: memory is fixed by the bucket
/// count, whatever the request rate.
fn report_memory() {
    use std::mem::size_of;
    println!("== memory ==");
    println!(
        "size_of: Breaker {} B, its state machine (Machine) {} B, RollingWindow {} B; \
         plus heap: 8 B per window bucket (failures and successes under the lock) and 8 B per \
         lock-free success slot (buckets rounded up to a power of two): 208 B for the default 10",
        size_of::<Breaker>(),
        size_of::<Machine>(),
        size_of::<RollingWindow>()
    );
    for buckets in [10u32, 100, 1024] {
        let mut cfg = Config::new(u32::MAX, Duration::from_secs(30));
        cfg.buckets = buckets;
        let b = Breaker::new(cfg);
        let calls = 5_000_000u64;
        let before = resident_kib();
        let t = Instant::now();
        for i in 0..calls {
            if let Ok(p) = b.try_acquire() {
                p.record(if i % 3 == 0 {
                    Outcome::Failure
                } else {
                    Outcome::Success
                });
            }
        }
        let rate = calls as f64 / t.elapsed().as_secs_f64();
        let after = resident_kib();
        let s = b.snapshot();
        println!(
            "{buckets:>5} buckets: heap {:>5} B; {calls} calls at {:.1} M calls/s; RSS {} -> {} KiB \
             ({:+} KiB); window holds {} results",
            buckets * 8 + buckets.next_power_of_two() * 8,
            rate / 1e6,
            before,
            after,
            after as i64 - before as i64,
            s.failures_in_window + s.successes_in_window
        );
    }
    println!(
        "failsafe StateMachine: size_of {} B (an Arc; its windowed policy keeps 5 slices)",
        size_of::<failsafe::StateMachine<(), ()>>()
    );
}

fn uncontended(c: &mut Criterion) {
    report_memory();
    let mut g = c.benchmark_group("uncontended");
    g.throughput(Throughput::Elements(1));

    let b = closed_breaker();
    g.bench_function("wtcurl: acquire + record success (closed)", |bch| {
        bch.iter(|| {
            if let Ok(p) = b.try_acquire() {
                p.success();
            }
        })
    });
    let b = closed_breaker();
    g.bench_function("wtcurl: acquire + record failure (closed)", |bch| {
        bch.iter(|| {
            if let Ok(p) = b.try_acquire() {
                p.failure();
            }
        })
    });
    let b = closed_breaker();
    b.force_open_for(Duration::from_secs(3600));
    g.bench_function("wtcurl: rejected (open)", |bch| {
        bch.iter(|| black_box(b.try_acquire().is_err()))
    });
    let cb = CircuitBreaker::with_config(Noop, Config::new(u32::MAX, Duration::from_secs(30)));
    g.bench_function("wtcurl: CircuitBreaker::do_request, no-op client", |bch| {
        bch.iter(|| black_box(cb.do_request(black_box("http://x/")).is_ok()))
    });
    let manual = Arc::new(ManualClock::new(Duration::from_secs(1)));
    let b = closed_breaker().with_clock(manual.clone());
    g.bench_function("wtcurl: acquire + record success, manual clock", |bch| {
        bch.iter(|| {
            if let Ok(p) = b.try_acquire() {
                p.success();
            }
        })
    });
    let b = closed_breaker().with_clock(CoarseMonotonicClock::new());
    g.bench_function("wtcurl: acquire + record success, coarse clock", |bch| {
        bch.iter(|| {
            if let Ok(p) = b.try_acquire() {
                p.success();
            }
        })
    });
    let clock = MonotonicClock::new();
    g.bench_function("MonotonicClock::now alone (Instant::now)", |bch| {
        use wtcurl::breaker::BreakerClock;
        bch.iter(|| black_box(clock.now()))
    });
    let mut w = RollingWindow::new(Duration::from_secs(30), 10);
    g.bench_function("wtcurl: RollingWindow::record_success alone", |bch| {
        use wtcurl::breaker::BreakerClock;
        bch.iter(|| w.record_success(clock.now()))
    });

    let f = failsafe::Config::new().build();
    g.bench_function("failsafe 1.3: call Ok (default policy)", |bch| {
        use failsafe::CircuitBreaker as _;
        bch.iter(|| black_box(f.call(|| Ok::<(), ()>(())).is_ok()))
    });
    let f = failsafe_window();
    g.bench_function("failsafe 1.3: call Ok (success rate over 30 s)", |bch| {
        use failsafe::CircuitBreaker as _;
        bch.iter(|| black_box(f.call(|| Ok::<(), ()>(())).is_ok()))
    });
    g.finish();
}

/// Both threads make `iters` calls at once; the time reported is per pair of calls.
fn two_threads(iters: u64, call: &(dyn Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(3);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                barrier.wait();
                for _ in 0..iters {
                    call();
                }
            });
        }
        barrier.wait();
        let t = Instant::now();
        // The scope joins both threads before returning.
        t
    })
    .elapsed()
}

fn contended(c: &mut Criterion) {
    let mut g = c.benchmark_group("2 threads");
    g.throughput(Throughput::Elements(2));
    let b = closed_breaker();
    g.bench_function("wtcurl: acquire + record success (closed)", |bch| {
        bch.iter_custom(|iters| {
            two_threads(iters, &|| {
                if let Ok(p) = b.try_acquire() {
                    p.success();
                }
            })
        })
    });
    let b = closed_breaker();
    g.bench_function("wtcurl: acquire + record failure (closed)", |bch| {
        bch.iter_custom(|iters| {
            two_threads(iters, &|| {
                if let Ok(p) = b.try_acquire() {
                    p.failure();
                }
            })
        })
    });
    let b = closed_breaker();
    b.force_open_for(Duration::from_secs(3600));
    g.bench_function("wtcurl: rejected (open)", |bch| {
        bch.iter_custom(|iters| {
            two_threads(iters, &|| {
                black_box(b.try_acquire().is_err());
            })
        })
    });
    let f = failsafe_window();
    g.bench_function("failsafe 1.3: call Ok (success rate over 30 s)", |bch| {
        use failsafe::CircuitBreaker as _;
        bch.iter_custom(|iters| {
            two_threads(iters, &|| {
                black_box(f.call(|| Ok::<(), ()>(())).is_ok());
            })
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = uncontended, contended
}
criterion_main!(benches);
