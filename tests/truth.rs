//! The truthfulness test: every network syscall wtcurl's --trace-json reports is in strace's log, in
//! the same order, with the same fd and result, and vice versa.

mod common;

use common::{Dnsmasq, Nginx, TempDir, require_tool, tool_path};
use serde_json::Value;
use std::collections::HashSet;
use std::process::Command;

/// One network syscall: (name, fd, return value, errno).
type Call = (String, Option<i64>, i64, Option<String>);

const TRACED: &str = "socket,connect,ioctl,sendto,recvfrom,sendmsg,recvmsg,sendmmsg,recvmmsg,poll,ppoll,getsockopt,setsockopt,getsockname,getpeername,close,shutdown,bind";

fn first_int(s: &str) -> Option<i64> {
    let digits: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// Parses `PID name(args) = ret [ERRNO (text)]`, joining `<unfinished ...>` / `resumed>` pairs.
fn parse_strace(text: &str) -> Vec<(String, String, i64, Option<String>)> {
    let mut pending: std::collections::HashMap<String, String> = Default::default();
    let mut out = Vec::new();
    for raw in text.lines() {
        let (pid, rest) = raw.split_once(' ').unwrap_or(("", raw));
        let rest = rest.trim_start();
        let line = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid.to_string(), head.to_string());
            continue;
        } else if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map(|x| x.1).unwrap_or("");
            format!("{}{}", pending.remove(pid).unwrap_or_default(), tail)
        } else {
            rest.to_string()
        };
        if line.starts_with("+++") || line.starts_with("---") {
            continue;
        }
        let Some(open) = line.find('(') else { continue };
        let name = line[..open].to_string();
        // strace pads short calls: `close(4)            = 0`.
        let Some(eq) = line.rfind(" = ") else {
            continue;
        };
        let args = line[open + 1..eq]
            .trim_end()
            .trim_end_matches(')')
            .to_string();
        let result = &line[eq + 3..];
        let ret = first_int(result).unwrap_or(i64::MIN);
        let errno = (ret == -1).then(|| result.split_whitespace().nth(1).unwrap_or("").to_string());
        out.push((name, args, ret, errno));
    }
    out
}

/// The network syscalls on sockets, as strace saw them.
fn strace_calls(text: &str) -> Vec<Call> {
    let mut sockets: HashSet<i64> = HashSet::new();
    let mut calls = Vec::new();
    for (name, args, ret, errno) in parse_strace(text) {
        match name.as_str() {
            "socket" => {
                if ret >= 0 {
                    sockets.insert(ret);
                }
                calls.push((name, (ret >= 0).then_some(ret), ret, errno));
            }
            "poll" | "ppoll" => {
                // Only polls on sockets (Rust's runtime polls fds 0-2 at start-up).
                let fds: Vec<i64> = args.split("fd=").skip(1).filter_map(first_int).collect();
                if fds.iter().any(|f| sockets.contains(f)) {
                    let fd = (fds.len() == 1).then(|| fds[0]);
                    calls.push(("poll".into(), fd, ret, errno));
                }
            }
            _ => {
                let Some(fd) = first_int(&args) else { continue };
                if !sockets.contains(&fd) {
                    continue;
                }
                if name == "close" {
                    sockets.remove(&fd);
                }
                calls.push((name, Some(fd), ret, errno));
            }
        }
    }
    calls
}

/// The syscalls wtcurl recorded in its trace.
fn trace_calls(text: &str) -> Vec<Call> {
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("trace line is JSON"))
        .filter(|v| v["type"] == "syscall")
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["fd"].as_i64(),
                v["ret"].as_i64().unwrap(),
                v["errno"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// Runs wtcurl under strace and compares; returns (exit code, number of calls compared).
fn run_and_compare(args: &[&str]) -> (i32, usize) {
    let (code, n, _) = run_and_compare_in(args);
    (code, n)
}

/// Same, also returning the directory holding `trace.jsonl` and `strace.txt`.
fn run_and_compare_in(args: &[&str]) -> (i32, usize, TempDir) {
    let dir = TempDir::new("truth");
    let strace_log = dir.path().join("strace.txt");
    let trace = dir.path().join("trace.jsonl");
    let out = Command::new(tool_path("strace").unwrap())
        .args(["-f", "-qq", "-e", &format!("trace={TRACED}"), "-o"])
        .arg(&strace_log)
        .arg(env!("CARGO_BIN_EXE_wtcurl"))
        .arg("--trace-json")
        .arg(&trace)
        .args(["-s", "-o", "/dev/null"])
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("strace runs");
    let s_text = std::fs::read_to_string(&strace_log).unwrap();
    let t_text = std::fs::read_to_string(&trace).unwrap();
    let from_strace = strace_calls(&s_text);
    let from_trace = trace_calls(&t_text);
    let show = |v: &[Call]| {
        v.iter()
            .map(|c| format!("  {c:?}"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert!(!from_trace.is_empty(), "the trace recorded no syscalls");
    assert_eq!(
        from_trace,
        from_strace,
        "trace and strace disagree\n--- trace ---\n{}\n--- strace ---\n{}\n--- raw strace ---\n{s_text}",
        show(&from_trace),
        show(&from_strace)
    );
    (out.status.code().unwrap_or(-1), from_trace.len(), dir)
}

#[test]
fn dns_and_http_syscalls_match_strace() {
    if !(require_tool("strace") && require_tool("dnsmasq") && require_tool("nginx")) {
        return;
    }
    let dns = Dnsmasq::start(&[("truth.test", "127.0.0.1")]).expect("dnsmasq starts");
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let url = format!("http://truth.test:{}/hello.txt", web.port);
    let server = format!("127.0.0.1:{}", dns.port);
    let (code, n) = run_and_compare(&["--dns-servers", &server, &url]);
    assert_eq!(code, 0);
    assert!(n >= 15, "expected DNS and TCP syscalls, got {n}");
}

/// `--kernel-view` with DNS: the netlink sockets' calls and FIONREAD are in strace's log as in the
/// trace, and wtcurl-check, given the same log (strace's -e trace= list above is a superset of
/// the documented one), compares every syscall event of the trace: none left out, 0 mismatches.
#[test]
fn kernel_view_syscalls_match_strace_and_wtcurl_check_compares_them_all() {
    if !(require_tool("strace") && require_tool("dnsmasq") && require_tool("nginx")) {
        return;
    }
    assert!(
        TRACED.split(',').collect::<HashSet<_>>().is_superset(
            &wtcurl::check::STRACE_TRACE_LIST
                .split(',')
                .collect::<HashSet<_>>()
        ),
        "this test's strace list holds the documented one"
    );
    let dns = Dnsmasq::start(&[("truth.test", "127.0.0.1")]).expect("dnsmasq starts");
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let url = format!("http://truth.test:{}/hello.txt", web.port);
    let server = format!("127.0.0.1:{}", dns.port);
    let (code, n, dir) = run_and_compare_in(&["--kernel-view", "--dns-servers", &server, &url]);
    assert_eq!(code, 0);
    let trace = std::fs::read_to_string(dir.path().join("trace.jsonl")).unwrap();
    let names: Vec<String> = trace_calls(&trace).into_iter().map(|c| c.0).collect();
    assert!(names.iter().any(|n| n == "ioctl"), "{names:?}");
    assert!(
        trace.contains("\"domain\":\"AF_NETLINK\""),
        "--kernel-view's netlink sockets are in the trace"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_wtcurl-check"))
        .arg("--trace")
        .arg(dir.path().join("trace.jsonl"))
        .arg("--strace")
        .arg(dir.path().join("strace.txt"))
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert!(
        report.contains(&format!(
            "syscalls: {n} in trace, {n} in strace, {n} compared"
        )),
        "{report}"
    );
    let kinds: Vec<&str> = report.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(kinds.len(), 4, "inet, ioctl, netlink, unknown: {report}");
    assert!(
        kinds[..3].iter().all(|l| l.contains(" 0 not compared")),
        "{report}"
    );
    assert!(kinds[3].ends_with(": 0 in trace"), "{report}");
    assert!(
        !report.contains("\nnot compared: ") && report.ends_with("\n0 mismatches\n"),
        "{report}"
    );
}

/// The first DNS server's port is closed: wtcurl's connected UDP socket learns it from an ICMP
/// port unreachable (poll's POLLERR, recvfrom's ECONNREFUSED) and asks dnsmasq next. Every call,
/// the UDP connects and the failed recvfrom included, is in strace's log as in the trace.
#[test]
fn unreachable_first_dns_server_syscalls_match_strace() {
    if !(require_tool("strace") && require_tool("dnsmasq") && require_tool("nginx")) {
        return;
    }
    let closed = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let dns = Dnsmasq::start(&[("truth.test", "127.0.0.1")]).expect("dnsmasq starts");
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let url = format!("http://truth.test:{}/hello.txt", web.port);
    let servers = format!("{closed},127.0.0.1:{}", dns.port);
    let (code, n) = run_and_compare(&["-4", "--dns-servers", &servers, &url]);
    assert_eq!(code, 0);
    // socket, connect, sendto, poll, recvfrom, close for each DNS server, then the HTTP part.
    assert!(
        n >= 20,
        "expected both DNS sockets and TCP syscalls, got {n}"
    );
}

#[test]
fn redirect_chain_syscalls_match_strace() {
    if !(require_tool("strace") && require_tool("nginx")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let (code, _) = run_and_compare(&["-L", &format!("http://127.0.0.1:{}/r/3", web.port)]);
    assert_eq!(code, 0);
}

#[test]
fn refused_connect_syscalls_match_strace() {
    if !require_tool("strace") {
        return;
    }
    let port = common::free_port();
    let (code, _) = run_and_compare(&[&format!("http://127.0.0.1:{port}/")]);
    assert_eq!(code, 7);
}

#[test]
fn strace_parser_reads_errno_and_resumed_lines() {
    let text = "1 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 5\n\
                1 connect(5, {sa_family=AF_INET, sin_port=htons(80)}, 16) = -1 EINPROGRESS (Operation now in progress)\n\
                1 poll([{fd=0, events=0}], 1, 0) = 0 (Timeout)\n\
                1 poll([{fd=5, events=POLLOUT}], 1, -1 <unfinished ...>\n\
                1 <... poll resumed>) = 1 ([{fd=5, revents=POLLOUT}])\n\
                1 close(4) = 0\n\
                1 close(5)                          = 0\n";
    assert_eq!(
        strace_calls(text),
        vec![
            ("socket".into(), Some(5), 5, None),
            ("connect".into(), Some(5), -1, Some("EINPROGRESS".into())),
            ("poll".into(), Some(5), 1, None),
            ("close".into(), Some(5), 0, None),
        ]
    );
}

/// `openssl s_server -www` on a free loopback port, killed on drop.
struct SServer(std::process::Child, u16);

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn s_server(leaf: &std::path::Path, key: &std::path::Path) -> SServer {
    for _ in 0..20 {
        let port = common::free_port();
        let child = Command::new(tool_path("openssl").unwrap())
            .args([
                "s_server",
                "-quiet",
                "-www",
                "-accept",
                &format!("127.0.0.1:{port}"),
                "-cert",
            ])
            .arg(leaf)
            .arg("-key")
            .arg(key)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let server = SServer(child, port);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::time::Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return server;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
    panic!("openssl s_server did not start");
}

#[test]
fn https_syscalls_match_strace() {
    if !(require_tool("strace") && require_tool("openssl")) {
        return;
    }
    let Some(pki) = common::TestPki::new(&["tls.test"]) else {
        return;
    };
    let (ca, server) = (pki.ca.clone(), s_server(&pki.cert, &pki.key));
    let resolve = format!("tls.test:{}:127.0.0.1", server.1);
    let url = format!("https://tls.test:{}/", server.1);
    let (code, n) = run_and_compare(&[
        "--cacert",
        ca.to_str().unwrap(),
        "--resolve",
        &resolve,
        &url,
    ]);
    assert_eq!(code, 0);
    assert!(n >= 10, "expected connect and TLS syscalls, got {n}");
}
