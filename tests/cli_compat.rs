//! curl compatibility of the command line: URL spelling, exit codes, warnings and `-w`, each
//! checked by running the real binary against small servers on 127.0.0.1 that the test starts.
//!
//! The expected values come from curl 7.88.1 run against the same kind of loopback server (the
//! commands are in the comments). No test sends anything beyond loopback: every URL is an IP
//! literal, or its host name is pinned with --resolve, and a test that must not resolve a name
//! passes --dns-servers of a UDP socket it owns and asserts that nothing arrived there.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// How long a server runs at most, whatever happens.
const SERVER_LIFETIME: Duration = Duration::from_secs(30);

type Handler = dyn Fn(&str, u16) -> Vec<u8> + Send + Sync;

/// A loopback HTTP server: reads each request (head and a Content-Length body), records it,
/// answers with what the handler returns for (request line, own port), and closes.
struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start(handler: impl Fn(&str, u16) -> Vec<u8> + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::new(handler);
        let (reqs, halt) = (requests.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let until = Instant::now() + SERVER_LIFETIME;
            while !halt.load(Ordering::Relaxed) && Instant::now() < until {
                match listener.accept() {
                    Ok((conn, _)) => serve(conn, &reqs, &*handler, addr.port()),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Server {
            addr,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers every request with 200 and a small body.
    fn ok() -> Server {
        Server::start(|_, _| response("200 OK", &[("Content-Type", "text/plain")], b"hello\n"))
    }

    fn requests(&self) -> Vec<String> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .map(|r| String::from_utf8_lossy(r).into_owned())
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(mut conn: TcpStream, reqs: &Mutex<Vec<Vec<u8>>>, handler: &Handler, port: u16) {
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // Bounded: at most 64 KiB or 5 s of silence.
    while buf.len() < 64 * 1024 {
        let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n");
        if let Some(end) = head_end {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                break;
            }
        }
        match conn.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let line = String::from_utf8_lossy(&buf)
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    reqs.lock().unwrap().push(buf);
    let _ = conn.write_all(&handler(&line, port));
}

fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut r = format!("HTTP/1.1 {status}\r\n");
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut r = r.into_bytes();
    r.extend_from_slice(body);
    r
}

/// A UDP socket on loopback given to --dns-servers: it must receive nothing.
struct DnsTrap(UdpSocket);

impl DnsTrap {
    fn new() -> DnsTrap {
        let s = UdpSocket::bind("127.0.0.1:0").unwrap();
        s.set_nonblocking(true).unwrap();
        DnsTrap(s)
    }
    fn flag(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }
    fn assert_untouched(&self) {
        let mut b = [0u8; 512];
        assert!(
            self.0.recv_from(&mut b).is_err(),
            "a DNS query reached the trap: nothing should have been resolved"
        );
    }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn wtcurl(args: &[&str]) -> Run {
    let out = Command::cargo_bin("wtcurl")
        .unwrap()
        .args(args)
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// URLs
// ---------------------------------------------------------------------------------------------

/// curl 7.88.1: `curl 'htp:/127.0.0.1/'` → exit 1, "Protocol "htp" not supported or disabled in
/// libcurl"; `curl 'htp:127.0.0.1'` and `curl 'http:'` → exit 3. Neither resolves a name.
#[test]
fn a_mistyped_scheme_is_never_looked_up_as_a_host() {
    let trap = DnsTrap::new();
    let dns = trap.flag();
    for (url, code, needle) in [
        ("htp:/127.0.0.1/", 1, "Protocol \"htp\" not supported"),
        ("htp://127.0.0.1/", 1, "Protocol \"htp\" not supported"),
        ("htp:127.0.0.1", 3, "URL rejected"),
        ("http:", 3, "URL rejected"),
        ("http:/", 3, "URL rejected"),
        ("http:////127.0.0.1/", 3, "URL rejected"),
    ] {
        let r = wtcurl(&["--dns-servers", &dns, "--max-time", "5", url]);
        assert_eq!(r.code, code, "{url}: {}", r.stderr);
        assert!(
            r.stderr.contains(&format!("wtcurl: ({code}) [url] ")),
            "{url}: {}",
            r.stderr
        );
        assert!(r.stderr.contains(needle), "{url}: {}", r.stderr);
        assert!(r.stderr.contains("wtcurl: hint: "), "{url}: {}", r.stderr);
    }
    trap.assert_untouched();
}

/// curl 7.88.1 takes 1 to 3 slashes and any case: `curl http:/127.0.0.1:PORT/`,
/// `curl http:///127.0.0.1:PORT/` and `curl HTTP://127.0.0.1:PORT/` all fetch the page, exit 0,
/// url_effective http://127.0.0.1:PORT/; `http://127.0.0.1:/` is port 80.
#[test]
fn lenient_slashes_and_case_reach_the_server() {
    let s = Server::ok();
    let trap = DnsTrap::new();
    let port = s.addr.port();
    for url in [
        format!("http:/127.0.0.1:{port}/"),
        format!("http:///127.0.0.1:{port}/"),
        format!("HTTP://127.0.0.1:{port}/"),
    ] {
        let r = wtcurl(&[
            "--dns-servers",
            &trap.flag(),
            "-w",
            "%{url_effective}",
            &url,
        ]);
        assert_eq!(r.code, 0, "{url}: {}", r.stderr);
        assert_eq!(
            r.stdout,
            format!("hello\nhttp://127.0.0.1:{port}/"),
            "{url}"
        );
    }
    assert_eq!(s.requests().len(), 3);
    trap.assert_untouched();
}

// ---------------------------------------------------------------------------------------------
// Files named on the command line
// ---------------------------------------------------------------------------------------------

/// curl 7.88.1: `curl -w @/nonexistent URL` prints "Warning: Failed to read /nonexistent", no
/// -w output, exit 0; `curl --trace /nonexistent/x URL` goes on (the trace goes to stderr), exit
/// 0; `curl -o /nonexistent/dir/file URL` → exit 23 "Failure writing output to destination",
/// but exit 7 when the connect fails first (the file is only created on the first write).
/// The paths here are under /dev/null, which no one (not even root) can create anything under.
#[test]
fn unreadable_and_unwritable_files_are_warnings_or_exit_23_as_in_curl() {
    let s = Server::ok();
    let url = format!("http://{}/", s.addr);

    let r = wtcurl(&["-w", "@/dev/null/format", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "hello\n", "-w prints nothing");
    assert!(
        r.stderr
            .contains("wtcurl: warning: [setup] read_error: Failed to read the -w format file"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("wtcurl: hint: "), "{}", r.stderr);
    assert!(
        !r.stderr.contains("Error:"),
        "no anyhow error: {}",
        r.stderr
    );

    let r = wtcurl(&["--trace-json", "/dev/null/dir/x", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, "hello\n");
    assert!(
        r.stderr.contains(
            "wtcurl: warning: [output] write_error: cannot create the trace file /dev/null/dir/x"
        ),
        "{}",
        r.stderr
    );

    // -s hides warnings, as curl's -s does (and -S brings back errors only).
    for flags in [&["-s"][..], &["-sS"][..]] {
        let mut a = flags.to_vec();
        a.extend([
            "--trace-json",
            "/dev/null/dir/x",
            "-w",
            "@/dev/null/format",
            &url,
        ]);
        let r = wtcurl(&a);
        assert_eq!((r.code, r.stderr.as_str()), (0, ""), "{flags:?}");
    }

    let r = wtcurl(&["-o", "/dev/null/dir/file", "-w", "%{exitcode}", &url]);
    assert_eq!(r.code, 23, "{}", r.stderr);
    assert_eq!(r.stdout, "23");
    assert!(
        r.stderr
            .contains("wtcurl: (23) [output] Failure writing output to destination")
            && r.stderr.contains("/dev/null/dir/file"),
        "{}",
        r.stderr
    );
    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let r = wtcurl(&["-o", "/dev/null/dir/file", &refused]);
    assert_eq!(r.code, 7, "{}", r.stderr);
}

/// curl 7.88.1: `curl -d @missing-file URL` → "Warning: Couldn't read data from file
/// "missing-file", this makes an empty POST.", sends `Content-Length: 0`, exit 0 (the server's
/// answer decides); `-d @missing -d a=b` sends `&a=b`.
#[test]
fn a_missing_data_file_is_an_empty_post_with_a_warning() {
    let s = Server::ok();
    let url = format!("http://{}/", s.addr);
    let r = wtcurl(&["-d", "@/dev/null/data", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "wtcurl: warning: [setup] read_error: Couldn't read data from file \"/dev/null/data\""
        ),
        "{}",
        r.stderr
    );
    let r = wtcurl(&["-s", "-d", "@/dev/null/data", "-d", "a=b", &url]);
    assert_eq!((r.code, r.stderr.as_str()), (0, ""));
    let reqs = s.requests();
    assert!(reqs[0].starts_with("POST / HTTP/1.1\r\n"), "{}", reqs[0]);
    assert!(reqs[0].contains("\r\nContent-Length: 0\r\n"), "{}", reqs[0]);
    assert!(
        reqs[1].ends_with(
            "\r\nContent-Length: 4\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n&a=b"
        ),
        "{}",
        reqs[1]
    );
}

/// A port on 127.0.0.1 with nothing listening (bound a moment ago, then closed).
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------------

/// curl 7.88.1: `curl -6 http://127.0.0.1:PORT/` and `curl -4 http://[::1]:PORT/` → exit 7
/// "Couldn't connect to server" (no connection made); `curl -4 --resolve h:PORT:::1 http://h:PORT/`
/// → exit 6 "Could not resolve host: h".
#[test]
fn minus_4_and_6_against_a_literal_of_the_other_family_exit_7() {
    let s = Server::ok();
    let port = s.addr.port().to_string();
    let r = wtcurl(&[
        "-6",
        "-w",
        "%{num_connects}",
        &format!("http://127.0.0.1:{port}/"),
    ]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    assert_eq!(r.stdout, "0");
    assert!(
        r.stderr
            .contains("wtcurl: (7) [tcp] Couldn't connect to server"),
        "{}",
        r.stderr
    );
    let r = wtcurl(&["-4", &format!("http://[::1]:{port}/")]);
    assert_eq!(r.code, 7, "{}", r.stderr);
    let r = wtcurl(&[
        "-4",
        "--resolve",
        &format!("h.test:{port}:::1"),
        &format!("http://h.test:{port}/"),
    ]);
    assert_eq!(r.code, 6, "{}", r.stderr);
    assert!(s.requests().is_empty());
}

/// curl 7.88.1: `curl --tlsv1.3 --tls-max 1.2 https://127.0.0.1:PORT/` (openssl s_server) →
/// exit 35 "CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION" after the connect
/// (num_connects 1); over http:// the flags are never looked at: exit 0. `--tls-max 1.1` is
/// accepted (then 35 here: wtcurl speaks 1.2 and 1.3 only); `--tls-max 1.4` → exit 2.
#[test]
fn tls_version_flags_that_leave_nothing_fail_at_tls_with_35() {
    // A TCP server that never speaks: wtcurl must stop before sending a byte.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let https = format!("https://127.0.0.1:{}/", silent.local_addr().unwrap().port());
    for flags in [
        &["--tlsv1.3", "--tls-max", "1.2"][..],
        &["--tls-max", "1.1"][..],
    ] {
        let mut a = flags.to_vec();
        a.extend(["-w", "%{num_connects} %{exitcode}", &https]);
        let r = wtcurl(&a);
        assert_eq!(r.code, 35, "{flags:?}: {}", r.stderr);
        assert_eq!(r.stdout, "1 35", "{flags:?}");
        assert!(
            r.stderr
                .contains("wtcurl: (35) [tls] no TLS version left to offer"),
            "{}",
            r.stderr
        );
    }
    let s = Server::ok();
    let r = wtcurl(&[
        "--tlsv1.3",
        "--tls-max",
        "1.2",
        &format!("http://{}/", s.addr),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(wtcurl(&["--tls-max", "1.4", &https]).code, 2);
}

/// curl 7.88.1: `curl -X 'GE T' URL` sends "GE T / HTTP/1.1" and `curl -X '' URL` sends
/// " / HTTP/1.1"; the exit code is the server's business (0 with its 400). wtcurl does the same,
/// but still refuses CR, LF and NUL in the method (they would inject header lines): exit 2.
#[test]
fn odd_methods_are_sent_as_curl_sends_them() {
    let s = Server::start(|_, _| response("400 Bad Request", &[], b""));
    let url = format!("http://{}/", s.addr);
    let r = wtcurl(&["-X", "GE T", "-w", "%{http_code}", &url]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "400"), "{}", r.stderr);
    let r = wtcurl(&["-X", "", &url]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = wtcurl(&["-X", "GET / HTTP/1.1\r\nX-Injected: 1", &url]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let reqs = s.requests();
    assert_eq!(reqs.len(), 2, "the injection attempt sent nothing");
    assert!(reqs[0].starts_with("GE T / HTTP/1.1\r\n"), "{}", reqs[0]);
    assert!(reqs[1].starts_with(" / HTTP/1.1\r\n"), "{}", reqs[1]);
}

/// curl 7.88.1: `--max-redirs -1` is unlimited; `--max-redirs -2` → exit 2 "expected a proper
/// numerical parameter".
#[test]
fn max_redirs_minus_one_is_unlimited_and_below_is_a_usage_error() {
    // /0 → /1 → … → /60 → 200: more than the default 50.
    let s = Server::start(|line, _| {
        let n: u32 = line
            .split(' ')
            .nth(1)
            .and_then(|p| p.trim_start_matches('/').parse().ok())
            .unwrap_or(0);
        if n < 60 {
            response("302 Found", &[("Location", &format!("/{}", n + 1))], b"")
        } else {
            response("200 OK", &[], b"done\n")
        }
    });
    let url = format!("http://{}/0", s.addr);
    let r = wtcurl(&["-L", "--max-redirs", "-1", "-w", "%{num_redirects}", &url]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "done\n60"), "{}", r.stderr);
    let r = wtcurl(&["-L", "-w", "%{num_redirects}", &url]);
    assert_eq!(r.code, 47, "the default is 50: {}", r.stderr);
    let r = wtcurl(&["-L", "--max-redirs", "-2", &url]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("expected a proper numerical parameter"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// -w
// ---------------------------------------------------------------------------------------------

/// curl 7.88.1, `curl -sS -L -o /dev/null -w '…' http://127.0.0.1:8100/a` against a Python
/// server where /a waits 0.3 s then 302s to another port's /b, which waits 0.2 s:
/// `time_namelookup 0.000042 time_connect 0.000668 time_pretransfer 0.000723
/// time_starttransfer 0.507087 time_redirect 0.302497 time_total 0.507216`: per-hop timers
/// summed, not times since the start.
#[test]
fn write_out_times_with_redirects_are_curls() {
    let s = Server::start(|line, _| {
        if line.starts_with("GET /a ") {
            thread::sleep(Duration::from_millis(300));
            response("302 Found", &[("Location", "/b")], b"")
        } else {
            thread::sleep(Duration::from_millis(200));
            response("200 OK", &[], b"")
        }
    });
    let r = wtcurl(&[
        "-L",
        "-w",
        "%{time_connect} %{time_pretransfer} %{time_starttransfer} %{time_redirect} %{time_total}",
        &format!("http://{}/a", s.addr),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let t: Vec<f64> = r.stdout.split(' ').map(|x| x.parse().unwrap()).collect();
    let [connect, pretransfer, starttransfer, redirect, total] = t[..] else {
        panic!("{}", r.stdout)
    };
    assert!(
        connect < 0.1 && pretransfer < 0.1,
        "per hop, not since the start: {t:?}"
    );
    assert!(starttransfer >= 0.49, "both hops' waits: {t:?}");
    assert!((0.29..0.45).contains(&redirect), "{t:?}");
    assert!(total >= starttransfer && total >= 0.5, "{t:?}");
}

/// curl 7.88.1 against an HTTP/1.0 server: `%{http_version}` is `1`; `%{json}` has curl's field
/// names in curl's order and types (`errormsg` null without an error, `scheme` "HTTP", ports as
/// numbers); on a refused connect local_port and remote_port are 0 and scheme is null;
/// `a%{stderr}b%{stdout}c` writes a and c to stdout, b to stderr.
#[test]
fn write_out_variables_and_json_are_curls() {
    let s = Server::start(|_, _| {
        b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Dup: 1\r\nX-Dup: 2\r\nContent-Length: 3\r\n\r\nhi\n"
            .to_vec()
    });
    let url = format!("http://{}/x", s.addr);
    let r = wtcurl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_version} %{content_type} %{num_headers} %{method} %{scheme} %{filename_effective} [%{errormsg}] %header{x-dup}\\n%{header_json}\\n%{json}",
        &url,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut lines = r.stdout.lines();
    assert_eq!(lines.next(), Some("1 text/plain 4 GET HTTP /dev/null [] 1"));
    let rest: Vec<&str> = lines.collect();
    assert_eq!(
        rest[..4],
        [
            "{\"content-type\":[\"text/plain\"],",
            "\"x-dup\":[\"1\",\"2\"],",
            "\"content-length\":[\"3\"]",
            "}"
        ]
    );
    let json: Value = serde_json::from_str(rest[4]).unwrap();
    let keys: Vec<&str> = json
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(keys, sorted);
    assert_eq!(json["errormsg"], Value::Null);
    assert_eq!(json["http_version"], "1");
    assert_eq!(json["http_code"], 200);
    assert_eq!(json["response_code"], 200);
    assert_eq!(json["remote_port"], s.addr.port());
    assert_eq!(json["scheme"], "HTTP");
    assert_eq!(json["url"], url.as_str());
    assert!(
        rest[4].contains("\"time_appconnect\":0.000000,"),
        "{}",
        rest[4]
    );

    let refused = format!("http://127.0.0.1:{}/", closed_port());
    let r = wtcurl(&[
        "-s",
        "-w",
        "%{local_port} %{remote_port} %{http_code}|%{json}",
        &refused,
    ]);
    assert_eq!(r.code, 7);
    let (text, json) = r.stdout.split_once('|').unwrap();
    assert_eq!(text, "0 0 000");
    let json: Value = serde_json::from_str(json).unwrap();
    assert_eq!(json["scheme"], Value::Null);
    assert_eq!(json["local_port"], 0);
    assert_eq!(json["exitcode"], 7);

    let r = wtcurl(&["-o", "/dev/null", "-w", "a%{stderr}b%{stdout}c", &url]);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("ac", "b"));
}

// ---------------------------------------------------------------------------------------------
// --demo and --help
// ---------------------------------------------------------------------------------------------

/// `--demo` fetches its own URL; one given next to it was silently dropped. Now a usage error
/// (exit 2, like curl's for flags that cannot work together) with a hint, before any stand-in
/// starts or any packet is sent.
#[test]
fn demo_with_a_url_is_a_usage_error() {
    let s = Server::ok();
    let r = wtcurl(&["--demo", &format!("http://{}/", s.addr)]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("wtcurl: (2) [setup] --demo takes no URL"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("wtcurl: hint: run `wtcurl --demo` alone"),
        "{}",
        r.stderr
    );
    assert!(
        !r.stderr.contains("Stand-ins"),
        "no stand-in started: {}",
        r.stderr
    );
    assert!(s.requests().is_empty());
}

#[test]
fn help_documents_demo_explain_max_redirs_and_tls_max() {
    let r = wtcurl(&["--help"]);
    assert_eq!(r.code, 0);
    for needle in [
        "`wtcurl -L wetransfer.com --explain --kernel-view --ladder`",
        "(process start, URL, DNS, TCP, TLS, request, response, close)",
        "-1 means unlimited",
        "[default: 50]",
        "the default is TLS 1.3",
    ] {
        assert!(r.stdout.contains(needle), "--help lacks {needle:?}");
    }
}

/// README: "Every other error prints `wtcurl: (CODE) [phase] message`": --breaker-reset with a
/// state file that cannot be written printed anyhow's "Error:" and exited 1; it is
/// breaker_state_error, 121.
#[test]
fn breaker_admin_failures_are_typed() {
    let r = wtcurl(&[
        "--breaker-reset",
        "--breaker-state",
        "/proc/wtcurl-nope/b.json",
    ]);
    assert_eq!(r.code, 121, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("wtcurl: (121) [breaker] breaker state file:"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("wtcurl: hint: "), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// Option values as curl reads them (each run against curl too, when curl is installed)
// ---------------------------------------------------------------------------------------------

/// curl with `args` (no config file, no proxy), or None when curl is not installed.
fn curl(args: &[&str]) -> Option<Run> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let bin = std::env::split_paths(&path)
        .map(|d| d.join("curl"))
        .find(|p| p.is_file())?;
    let out = std::process::Command::new(bin)
        .arg("-q")
        .args(args)
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .unwrap();
    Some(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Runs wtcurl and (if installed) curl with the same arguments; both must exit `code`, print
/// `stdout`, and have `msg` in stderr.
#[track_caller]
fn both(args: &[&str], code: i32, stdout: &str, msg: &str) {
    let r = wtcurl(args);
    assert_eq!(
        (r.code, r.stdout.as_str()),
        (code, stdout),
        "wtcurl {args:?}: {}",
        r.stderr
    );
    assert!(r.stderr.contains(msg), "wtcurl {args:?}: {}", r.stderr);
    if let Some(c) = curl(args) {
        assert_eq!(
            (c.code, c.stdout.as_str()),
            (code, stdout),
            "curl {args:?}: {}",
            c.stderr
        );
        assert!(c.stderr.contains(msg), "curl {args:?}: {}", c.stderr);
    }
}

/// curl 7.88.1: `--resolve bad` → exit 49 "Couldn't parse CURLOPT_RESOLVE entry 'bad'" (also
/// `a:80`, `a:80:`, `a:99999:127.0.0.1`, an address that is not one); `-HOST:PORT` removes an entry
/// and an empty HOST is accepted (exit 0). `--connect-to` entries that cannot apply to the URL
/// (`a:b:c`, `bad`, PORT1 not a number: `127.0.0.1:PORTx::1`) are ignored, exit 0; one that
/// applies with a bad PORT2 → exit 49 "No valid port number in connect to host string (x)".
#[test]
fn resolve_and_connect_to_values_as_curl_reads_them() {
    let s = Server::ok();
    let trap = DnsTrap::new();
    let url = format!("http://{}/", s.addr);
    let port = s.addr.port();
    for bad in [
        "bad",
        "a:80",
        "a:80:",
        "a:99999:127.0.0.1",
        "a:80:127.0.0.1,bogus",
    ] {
        both(
            &["-sS", "--resolve", bad, &url],
            49,
            "",
            &format!("Couldn't parse CURLOPT_RESOLVE entry '{bad}'"),
        );
    }
    both(
        &["-sS", "--resolve", ":80:127.0.0.1", &url],
        0,
        "hello\n",
        "",
    );
    both(&["-sS", "--resolve", "-x.test:80", &url], 0, "hello\n", "");
    // A removed entry is not used: the name goes to DNS (our trap, which never answers).
    let pinned = format!("x.test:{port}:127.0.0.1");
    let r = wtcurl(&[
        "-sS",
        "--resolve",
        &pinned,
        "--resolve",
        &format!("-x.test:{port}"),
        "--dns-servers",
        &trap.flag(),
        "--connect-timeout",
        "1",
        &format!("http://x.test:{port}/"),
    ]);
    assert!(r.code == 6 || r.code == 28, "{}", r.stderr);
    let mut b = [0u8; 512];
    assert!(
        trap.0.recv_from(&mut b).is_ok(),
        "the removed --resolve entry was used: no DNS query reached the trap"
    );
    let never_applies = format!("127.0.0.1:{port}x::1");
    for ignored in ["a:b:c", "bad", "a:b", never_applies.as_str()] {
        both(&["-sS", "--connect-to", ignored, &url], 0, "hello\n", "");
    }
    let bad_port = format!("127.0.0.1:{port}:127.0.0.1:x");
    both(
        &["-sS", "--connect-to", &bad_port, &url],
        49,
        "",
        "No valid port number in connect to host string (x)",
    );
}

/// curl 7.88.1: `-H @FILE` adds each line of FILE as a header (lines split at CR and LF, empty
/// ones skipped, leading blanks kept); a missing FILE is "Warning: Failed to open FILE!" and exit
/// 0; a directory is "option -H: error encountered when reading a file", exit 26.
#[test]
fn header_file_adds_one_header_per_line_as_curl() {
    let s = Server::ok();
    let url = format!("http://{}/", s.addr);
    let dir = std::env::temp_dir().join(format!("wtcurl-hfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("hdrs.txt");
    std::fs::write(
        &file,
        "X-One: 1\r\nX-Two: 2\n\nX-Three:3\n  X-Four: 4  \nUser-Agent:\nX-Empty;\n",
    )
    .unwrap();
    let at = format!("@{}", file.display());
    both(&["-sS", "-H", &at, &url], 0, "hello\n", "");
    let missing = format!("@{}", dir.join("missing").display());
    let r = wtcurl(&["-H", &missing, &url]);
    assert_eq!((r.code, r.stdout.as_str()), (0, "hello\n"), "{}", r.stderr);
    assert!(r.stderr.contains("Failed to open"), "{}", r.stderr);
    let dir_arg = format!("@{}", dir.display());
    both(
        &["-sS", "-H", &dir_arg, &url],
        26,
        "",
        "error encountered when reading a file",
    );
    let reqs = s.requests();
    let want =
        "Accept: */*\r\nX-One: 1\r\nX-Two: 2\r\nX-Three:3\r\n  X-Four: 4  \r\nX-Empty:\r\n\r\n";
    assert!(reqs[0].ends_with(want), "{}", reqs[0]);
    assert!(!reqs[0].contains("User-Agent"), "{}", reqs[0]);
    if curl_installed() {
        // curl's request, made with the same file, is the same but for the Host port.
        assert!(reqs[1].ends_with(want), "curl sent {}", reqs[1]);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn curl_installed() -> bool {
    curl(&["--version"]).is_some()
}

/// curl 7.88.1: `curl -m -1 URL` → exit 2, "option -m: expected a positive numerical parameter"
/// (same for --connect-timeout). clap's "to pass '-1' as a value, use '-- -1'" would be wrong
/// advice: after `--`, -1 is the URL.
#[test]
fn negative_timeouts_are_usage_errors_with_curls_words() {
    let s = Server::ok();
    let url = format!("http://{}/", s.addr);
    for flag in ["-m", "--max-time", "--connect-timeout"] {
        both(
            &["-sS", flag, "-1", &url],
            2,
            "",
            "expected a positive numerical parameter",
        );
        let r = wtcurl(&[flag, "-1", &url]);
        assert!(!r.stderr.contains("'-- -1'"), "{}", r.stderr);
    }
    assert!(s.requests().is_empty());
}

/// curl 7.88.1: `curl 'http://[::1%25lo]:PORT/'` connects to ::1 with the scope of lo and sends
/// `Host: [::1]:PORT` (no zone); `[::1%lo]` and `[::1%251]` work too, and a zone that is no
/// interface (`%25nosuchif`) is only noted ("Invalid zoneid") and the scope left unset: exit 0.
#[test]
fn ipv6_zone_ids_pick_the_interface_and_are_not_sent() {
    let Ok(listener) = TcpListener::bind("[::1]:0") else {
        eprintln!("SKIP: no IPv6 loopback");
        return;
    };
    let port = listener.local_addr().unwrap().port();
    let urls: Vec<String> = ["%25lo", "%lo", "%251", "%25nosuchif"]
        .iter()
        .map(|z| format!("http://[::1{z}]:{port}/"))
        .collect();
    let runs = if curl_installed() { 2 } else { 1 } * urls.len() + 1;
    let server = thread::spawn(move || {
        let mut heads = Vec::new();
        for _ in 0..runs {
            let (mut c, _) = listener.accept().unwrap();
            c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match c.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            heads.push(String::from_utf8_lossy(&buf).into_owned());
            let _ = c.write_all(&response("200 OK", &[], b"hello\n"));
        }
        heads
    });
    for url in &urls {
        both(&["-sS", url], 0, "hello\n", "");
    }
    // The scope is in the connect(2) sockaddr: lo's index (read from sysfs) for %25lo.
    let trace = std::env::temp_dir().join(format!("wtcurl-zone-{}.json", std::process::id()));
    let r = wtcurl(&["-sS", "--trace-json", trace.to_str().unwrap(), &urls[0]]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lo = std::fs::read_to_string("/sys/class/net/lo/ifindex").unwrap_or_default();
    let want = format!("\"addr\":\"[::1%{}]:{port}\"", lo.trim());
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(t.contains(&want), "no connect to {want} in {t}");
    let _ = std::fs::remove_file(&trace);
    let heads = server.join().unwrap();
    for h in &heads {
        assert!(h.contains(&format!("\r\nHost: [::1]:{port}\r\n")), "{h}");
    }
}
