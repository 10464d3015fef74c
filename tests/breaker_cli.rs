//! `--breaker` end to end: a local flaky server that counts its connections, the shared state file,
//! the exit code of an open circuit, closing after the window, and concurrent processes.

mod common;

use common::{TempDir, wtcurl};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

/// A server that answers 503 while `failing` is set, else 200; counts connections.
struct Flaky {
    port: u16,
    connections: Arc<AtomicUsize>,
    failing: Arc<AtomicBool>,
}

fn flaky() -> Flaky {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let failing = Arc::new(AtomicBool::new(true));
    let (c, f) = (connections.clone(), failing.clone());
    std::thread::spawn(move || {
        for s in l.incoming().take(500) {
            let Ok(mut s) = s else { continue };
            c.fetch_add(1, Ordering::SeqCst);
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let reply: &[u8] = if f.load(Ordering::SeqCst) {
                b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfail\n"
            } else {
                b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
            };
            let _ = s.write_all(reply);
        }
    });
    Flaky {
        port,
        connections,
        failing,
    }
}

fn run(state: &std::path::Path, spec: &str, port: u16, extra: &[&str]) -> std::process::Output {
    wtcurl()
        .args(["-s", "--breaker", spec, "--breaker-state"])
        .arg(state)
        .args(extra)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap()
}

#[test]
fn opens_after_the_threshold_fails_fast_and_closes_after_the_window() {
    let server = flaky();
    let dir = TempDir::new("breaker");
    let state = dir.path().join("breaker.json");
    // Threshold 2: the third failure in the window opens the circuit.
    for _ in 0..3 {
        let out = run(&state, "2/1s", server.port, &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "503 is a response: exit 0 like curl"
        );
        assert_eq!(String::from_utf8_lossy(&out.stdout), "fail\n");
    }
    assert_eq!(server.connections.load(Ordering::SeqCst), 3);

    // Open: exit 120, and the server sees no connection.
    let out = run(&state, "2/1s", server.port, &["-S"]);
    assert_eq!(
        out.status.code(),
        Some(120),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("circuit open"));
    assert_eq!(
        server.connections.load(Ordering::SeqCst),
        3,
        "no connection while open"
    );

    // The server recovers; after the open period the next call probes and closes the circuit.
    server.failing.store(false, Ordering::SeqCst);
    std::thread::sleep(Duration::from_millis(2200));
    let out = run(&state, "2/1s", server.port, &["--explain"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("allowed as a probe"), "{err}");
    assert!(err.contains("circuit now closed"), "{err}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 4);
}

#[test]
fn repeat_prints_one_line_per_request_with_the_state() {
    let server = flaky();
    let dir = TempDir::new("breaker-repeat");
    let state = dir.path().join("b.json");
    let out = run(
        &state,
        "1/30s",
        server.port,
        &["--repeat", "4", "--interval", "10ms"],
    );
    assert_eq!(out.status.code(), Some(120));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.contains("request ")).collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert!(
        lines[0].contains("1/4: exit 0, HTTP 503") && lines[0].contains("breaker closed"),
        "{}",
        lines[0]
    );
    assert!(lines[1].contains("breaker open"), "{}", lines[1]);
    assert!(lines[2].contains("exit 120"), "{}", lines[2]);
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
}

#[test]
fn concurrent_processes_share_the_file_without_losing_counts() {
    let server = flaky();
    let dir = TempDir::new("breaker-conc");
    let state = dir.path().join("b.json");
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_wtcurl"))
            .args(["-s", "--breaker", "1000/60s", "--breaker-state"])
            .arg(&state)
            .args(["--repeat", "10", "-o", "/dev/null"])
            .arg(format!("http://127.0.0.1:{}/", server.port))
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let (mut a, mut b) = (spawn(), spawn());
    assert!(a.wait().unwrap().success());
    assert!(b.wait().unwrap().success());
    let show = wtcurl()
        .args(["--breaker-show", "--breaker-state"])
        .arg(&state)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&show.stdout);
    assert!(
        text.contains("20 failures"),
        "every one of the 20 failures counted: {text}"
    );
}

#[test]
fn a_corrupt_state_file_is_reported_and_replaced() {
    let server = flaky();
    server.failing.store(false, Ordering::SeqCst);
    let dir = TempDir::new("breaker-corrupt");
    let state = dir.path().join("b.json");
    std::fs::write(&state, b"{ not json \x00\xff").unwrap();
    let out = run(&state, "3/30s", server.port, &["--explain"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("state file:"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reset = wtcurl()
        .args(["--breaker-reset", "--breaker-state"])
        .arg(&state)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&reset.stdout).contains("reset 1 origin"));
}
