//! Failed runs, explained as they happened: the real binary against loopback (a closed port, a
//! listener that never answers the SYN, a DNS server that never answers), checking that the
//! explanation, the syscall ladder and the waterfall say what happened and nothing that did not.

mod common;

use common::wtcurl;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;

/// The explanation (stderr) of `wtcurl --explain --ladder ARGS`, and the exit code.
fn explain(args: &[&str]) -> (i32, String) {
    let out = wtcurl()
        .args(["--explain", "--ladder"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The waterfall's lines, after its heading, through the `total` line.
fn waterfall(text: &str) -> Vec<&str> {
    let start = text.find("── Waterfall").expect("a waterfall");
    let mut lines: Vec<&str> = Vec::new();
    for l in text[start..].lines().skip(1) {
        lines.push(l);
        if l.starts_with("   total ") {
            break;
        }
    }
    lines
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs.
/// Keep the returned values alive for as long as the port should stay a black hole.
fn black_hole() -> (TcpListener, TcpStream, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket we own, with a backlog of 0.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let port = l.local_addr().unwrap().port();
    let filler = TcpStream::connect(("127.0.0.1", port)).unwrap();
    (l, filler, port)
}

#[test]
fn a_refused_connect_draws_the_rst_and_no_fin_and_the_waterfall_stops_at_tcp() {
    let port = closed_port();
    let (code, text) = explain(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, 7, "{text}");
    assert!(
        text.contains(
            "│◀───────────────────────────────────── RST ─┤  inferred: SO_ERROR said ECONNREFUSED"
        ),
        "{text}"
    );
    assert!(
        !text.contains("FIN"),
        "no connection existed: no FIN\n{text}"
    );
    let w = waterfall(&text);
    assert!(w[0].starts_with("   DNS "), "{w:#?}");
    assert!(
        w[1].starts_with("   TCP connect ")
            && w[1].ends_with("✗ failed here: tcp [connect_refused]"),
        "{w:#?}"
    );
    assert!(w[2].starts_with("   total "), "{w:#?}");
}

#[test]
fn a_connect_timeout_on_the_only_address_says_timed_out_not_abandoned() {
    let (_l, _filler, port) = black_hole();
    let (code, text) = explain(&[
        "--connect-timeout",
        "0.3",
        &format!("http://127.0.0.1:{port}/"),
    ]);
    assert_eq!(code, 28, "{text}");
    assert!(!text.contains("abandoned"), "{text}");
    assert!(!text.contains("another address"), "{text}");
    assert!(
        text.contains("timed out: no answer to the SYN before the deadline (--connect-timeout or -m), and no other address connected"),
        "{text}"
    );
    assert!(text.contains("(no answer)"), "{text}");
    assert!(!text.contains("FIN") && !text.contains("RST"), "{text}");
    let w = waterfall(&text);
    assert!(
        w[1].ends_with("✗ failed here: tcp [operation_timedout]"),
        "{w:#?}"
    );
    assert!(w.iter().all(|l| !l.contains("transfer")), "{w:#?}");
}

#[test]
fn a_dns_failure_lists_no_later_phase_in_the_waterfall() {
    // A DNS server that answers nothing: --connect-timeout ends the run in DNS (exit 28, as
    // curl's "Resolving timed out").
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server: SocketAddr = silent.local_addr().unwrap();
    let (code, text) = explain(&[
        "--dns-servers",
        &server.to_string(),
        "--connect-timeout",
        "0.4",
        "http://nothing.test/",
    ]);
    assert_eq!(code, 28, "{text}");
    let w = waterfall(&text);
    assert_eq!(w.len(), 2, "DNS and the total: {w:#?}");
    assert!(
        w[0].starts_with("   DNS ") && w[0].ends_with("✗ failed here: dns [operation_timedout]"),
        "{w:#?}"
    );
    for later in ["TCP connect", "TLS", "request sent", "waiting", "transfer"] {
        assert!(w.iter().all(|l| !l.contains(later)), "{later}: {w:#?}");
    }
}

#[test]
fn a_dns_server_that_never_answers_is_a_timeout_then_the_next_try_then_the_failure() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let server: SocketAddr = silent.local_addr().unwrap();
    let dir = common::TempDir::new("dnswait");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:2\n",
    )
    .unwrap();
    let (code, text) = explain(&[
        "--resolv-conf",
        resolv.to_str().unwrap(),
        "--dns-servers",
        &server.to_string(),
        "-4",
        "http://nothing.test/",
    ]);
    assert_eq!(code, 6, "{text}");
    // Nothing was received, so nothing was "ignored".
    assert!(!text.contains("ignored a message"), "{text}");
    let waits: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("✗ no answer from"))
        .collect();
    assert_eq!(waits.len(), 2, "{text}");
    assert!(
        waits[0].contains(&format!("✗ no answer from {server} to A (id 0x"))
            && waits[0].contains("): poll() returned 0 after 1,0")
            && waits[0].ends_with("ms, the receive queue stayed empty (try 1 of 2)"),
        "{text}"
    );
    assert!(waits[1].ends_with("(try 2 of 2)"), "{text}");
    assert!(
        text.contains(&format!(
            "next, as resolv.conf says (attempts 2): try 2 of 2, from {server}"
        )),
        "{text}"
    );
    assert!(
        text.contains(
            "no try left (resolv.conf: attempts 2, every nameserver asked): the lookup fails"
        ),
        "{text}"
    );
    assert!(text.contains("✗ failed in dns [dns_timeout]"), "{text}");
    // The ladder shows the wait that got nothing, between the rails.
    assert_eq!(text.matches("(no answer)").count(), 2, "{text}");
}
