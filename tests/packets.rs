//! `--packets` and `--pcap` against a real nginx on loopback, checked with tcpdump run alongside.

mod common;

use common::{Nginx, TempDir, require_root, require_tool, tool_path, wtcurl};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn flags_of(line: &str) -> Option<String> {
    let i = line.find("Flags [")? + 7;
    Some(line[i..].split(']').next()?.to_string())
}

#[test]
fn packets_match_tcpdump_and_the_pcap_round_trips() {
    if !(require_root() && require_tool("tcpdump") && require_tool("nginx")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let dir = TempDir::new("packets");
    let pcap = dir.path().join("run.pcap");
    let trace = dir.path().join("trace.jsonl");

    // tcpdump first, and only once it listens.
    let mut dump = Command::new(tool_path("tcpdump").unwrap())
        .args([
            "-i",
            "lo",
            "-n",
            "-tt",
            "-l",
            "--immediate-mode",
            "-c",
            "64",
        ])
        .arg(format!("tcp port {}", web.port))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = BufReader::new(dump.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = String::new();
    while !buf.contains("listening on") && Instant::now() < deadline {
        let mut l = String::new();
        if err.read_line(&mut l).unwrap_or(0) == 0 {
            break;
        }
        buf.push_str(&l);
    }
    assert!(buf.contains("listening on"), "tcpdump did not start: {buf}");

    let out = wtcurl()
        .args([
            "-s",
            "--packets",
            "--explain",
            "--dns-servers",
            "127.0.0.1:9",
        ])
        .arg("--pcap")
        .arg(&pcap)
        .arg("--trace-json")
        .arg(&trace)
        .arg(web.url("/hello.txt"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let explain = String::from_utf8_lossy(&out.stderr);
    assert!(explain.contains("Ladder"), "{explain}");
    assert!(explain.contains("SYN-ACK"), "{explain}");

    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-INT", &dump.id().to_string()])
        .status();
    let dumped = dump.wait_with_output().unwrap();
    let tcpdump_lines: Vec<String> = String::from_utf8_lossy(&dumped.stdout)
        .lines()
        .map(str::to_string)
        .collect();

    let events: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ours: Vec<&Value> = events.iter().filter(|e| e["type"] == "packet").collect();
    let done = events
        .iter()
        .find(|e| e["type"] == "capture_done")
        .expect("capture_done event");
    assert_eq!(done["packets"].as_u64().unwrap() as usize, ours.len());

    // Same packets, same flags, same order as tcpdump saw them.
    let our_flags: Vec<String> = ours
        .iter()
        .filter_map(|p| p["flags"].as_str().map(str::to_string))
        .collect();
    let their_flags: Vec<String> = tcpdump_lines.iter().filter_map(|l| flags_of(l)).collect();
    assert_eq!(
        our_flags, their_flags,
        "ours: {ours:?}\ntcpdump: {tcpdump_lines:#?}"
    );
    assert_eq!(
        &our_flags[..3],
        ["S", "S.", "."],
        "the handshake opens the capture"
    );
    assert!(
        our_flags.iter().filter(|f| f.contains('F')).count() == 2,
        "both FINs: {our_flags:?}"
    );
    let http = ours
        .iter()
        .find(|p| {
            p["what"]
                .as_str()
                .unwrap_or("")
                .starts_with("HTTP request GET /hello.txt")
        })
        .is_some();
    assert!(http, "the request is named: {ours:?}");

    // The pcap reads back in tcpdump with the same packets.
    let read = Command::new(tool_path("tcpdump").unwrap())
        .args(["-n", "-tt", "-r"])
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    let from_file: Vec<String> = String::from_utf8_lossy(&read.stdout)
        .lines()
        .filter_map(flags_of)
        .collect();
    assert_eq!(from_file, our_flags);
}

#[test]
fn without_privilege_it_says_how_and_carries_on() {
    // As root the capture works; this checks the no-privilege path by dropping to nobody via setpriv.
    if !(require_root() && require_tool("setpriv") && require_tool("nginx")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let out = Command::new(tool_path("setpriv").unwrap())
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "--bounding-set=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_wtcurl"))
        .args([
            "-s",
            "--packets",
            "--explain",
            "--dns-servers",
            "127.0.0.1:9",
        ])
        .arg(web.url("/hello.txt"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), common::HELLO_BODY);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no capture"), "{err}");
    assert!(err.contains("setcap cap_net_raw"), "{err}");
    // No packets, so the ladder is built from syscalls, and says so.
    assert!(err.contains("── Ladder, built from syscalls"), "{err}");
    assert!(
        err.contains("not packets: each arrow is a syscall"),
        "{err}"
    );
    assert!(
        err.contains("connect() = -1 EINPROGRESS; the kernel sends the SYN"),
        "{err}"
    );
}

/// The capture names and filters for the DNS servers only when DNS can happen: an IP literal
/// asks none, so its capture is for the server alone; a name asked through DNS still has its
/// DNS packets in the capture.
#[test]
fn the_resolver_is_in_the_capture_only_when_dns_is_asked() {
    if !(require_root() && require_tool("nginx") && require_tool("dnsmasq")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx starts");
    let dns = common::Dnsmasq::start(&[("pk.test", "127.0.0.1")]).expect("dnsmasq starts");
    let dns_server = format!("127.0.0.2:{}", dns.port);
    let run = |url: &str, server: &str| {
        let dir = TempDir::new("packets-dns");
        let trace = dir.path().join("trace.jsonl");
        let out = wtcurl()
            .args(["-s", "-o", "/dev/null", "--packets", "--explain"])
            .args(["--dns-servers", server, "--trace-json"])
            .arg(&trace)
            .arg(url)
            .output()
            .unwrap();
        let events: Vec<Value> = std::fs::read_to_string(&trace)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        (out, events)
    };
    // An IP literal: 127.0.0.2 (the --dns-servers address) is neither named nor filtered for.
    let (out, events) = run(&web.url("/hello.txt"), &dns_server);
    let explain = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{explain}");
    let start = events
        .iter()
        .find(|e| e["type"] == "capture_start")
        .unwrap();
    assert_eq!(
        start["hosts"],
        serde_json::json!(["127.0.0.1"]),
        "{explain}"
    );
    let line = explain
        .lines()
        .find(|l| l.contains("--packets: capturing on"))
        .unwrap_or_default();
    assert!(
        line.contains("for 127.0.0.1") && !line.contains("127.0.0.2"),
        "{explain}"
    );
    // A name through DNS: the queries to the DNS server are captured.
    let server = format!("127.0.0.1:{}", dns.port);
    let (out, events) = run(&format!("http://pk.test:{}/hello.txt", web.port), &server);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dns_packets = events
        .iter()
        .filter(|e| e["type"] == "packet")
        .filter(|e| {
            e["dst"].as_str() == Some(server.as_str()) || e["src"].as_str() == Some(server.as_str())
        })
        .count();
    assert!(
        dns_packets >= 2,
        "the DNS query and answer are captured: {events:?}"
    );
}

/// `-m` bounds the whole run even with `--packets`: the capture's wait for the last packets stops
/// at the deadline (and says so), and `done` (curl's time_total) is the transfer's end, not the
/// capture's. Against a listener that accepts and never answers.
#[test]
fn max_time_bounds_the_capture_and_time_total_leaves_it_out() {
    if !require_root() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accept and hold the connections (never answer) until the test ends.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().take(4).flatten() {
            held.push(c);
        }
        std::thread::sleep(Duration::from_secs(10));
    });
    let dir = TempDir::new("packets-max-time");
    let trace = dir.path().join("trace.jsonl");
    let out = wtcurl()
        .args([
            "-m",
            "0.5",
            "--packets",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{time_total}",
        ])
        .arg("--trace-json")
        .arg(&trace)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(28), "{out:?}");
    let events: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let of = |ty: &str| {
        events
            .iter()
            .find(|e| e["type"] == ty)
            .unwrap_or_else(|| panic!("no {ty} event"))
            .clone()
    };
    let done = of("done")["at_us"].as_u64().unwrap();
    let captured = of("capture_done");
    let capture_end = captured["at_us"].as_u64().unwrap();
    // The run stops at -m (0.5 s, with the slack of one poll), the capture right after it.
    assert!((450_000..700_000).contains(&done), "done at {done} µs");
    assert!(capture_end < 750_000, "capture_done at {capture_end} µs");
    let notes = captured["notes"].to_string();
    assert!(notes.contains("-m's deadline"), "{notes}");
    // time_total is the transfer's end, in seconds, as `done` says.
    let total: f64 = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
    assert!(
        (total * 1e6 - done as f64).abs() < 1_000.0,
        "{total} vs {done}"
    );
}

/// The reviewer's case: a listener (backlog 1) whose accept queue other clients have filled, so
/// wtcurl's SYN goes unanswered while those clients keep sending (data on the two connections the
/// kernel completed, SYNs and their retransmits from the ones it did not). Every packet in the
/// trace is wtcurl's own connection, known by the local port from `connect_attempt` (getsockname
/// right after connect()); the other clients' ports never appear, in the trace or the ladder.
#[test]
fn a_failed_connect_to_a_busy_port_keeps_only_its_own_packets() {
    use nix::sys::socket::{
        AddressFamily, SockFlag, SockType, SockaddrIn, SockaddrStorage, connect, getsockname,
        socket,
    };
    use std::io::Write;
    use std::os::fd::{AsRawFd, OwnedFd};

    if !require_root() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket this test owns, with a backlog of 1.
    assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 1) }, 0);
    let port = listener.local_addr().unwrap().port();
    let server = SockaddrIn::new(127, 0, 0, 1, port);
    // A client whose connect() is left pending: the kernel retransmits its SYN on its own.
    let pending_client = move || -> (OwnedFd, u16) {
        let fd = socket(
            AddressFamily::Inet,
            SockType::Stream,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )
        .unwrap();
        let _ = connect(fd.as_raw_fd(), &server);
        let local: SockaddrStorage = getsockname(fd.as_raw_fd()).unwrap();
        (fd, local.as_sockaddr_in().unwrap().port())
    };
    // Backlog 1 takes two completed connections; the third client's SYN is dropped.
    let mut established: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", port)).unwrap())
        .collect();
    let mut others: Vec<u16> = established
        .iter()
        .map(|s| s.local_addr().unwrap().port())
        .collect();
    let mut pending = vec![pending_client()];
    others.push(pending[0].1);

    // While wtcurl runs: data from the established clients, and a new pending client every
    // 150 ms (their SYNs to the same port), until the run is over.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let noise = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut ports = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for s in &mut established {
                    let _ = s.write_all(b"other client's data\n");
                }
                let c = pending_client();
                ports.push(c.1);
                pending.push(c);
                std::thread::sleep(Duration::from_millis(150));
            }
            (ports, established, pending)
        })
    };

    let dir = TempDir::new("packets-busy-port");
    let trace = dir.path().join("trace.jsonl");
    let out = wtcurl()
        .args(["-s", "--packets", "--explain", "--connect-timeout", "1"])
        .arg("--trace-json")
        .arg(&trace)
        .arg(format!("http://127.0.0.1:{port}/"))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ports, _established, _pending) = noise.join().unwrap();
    others.extend(ports);
    let explain = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(28), "{explain}");

    let events: Vec<Value> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let attempts: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "connect_attempt")
        .collect();
    assert_eq!(attempts.len(), 1, "{events:?}");
    let ours: std::net::SocketAddr = attempts[0]["local"]
        .as_str()
        .expect("connect_attempt names its local address")
        .parse()
        .unwrap();
    assert_ne!(ours.port(), 0);
    assert!(!others.contains(&ours.port()), "{ours} vs {others:?}");
    let result = events
        .iter()
        .find(|e| e["type"] == "connect_result")
        .unwrap();
    assert_eq!(result["ok"], false);
    assert_eq!(result["local"].as_str(), Some(ours.to_string().as_str()));

    let packets: Vec<&Value> = events.iter().filter(|e| e["type"] == "packet").collect();
    assert!(
        !packets.is_empty(),
        "wtcurl's own SYN is captured: {events:?}"
    );
    let server = format!("127.0.0.1:{port}");
    for p in &packets {
        let (src, dst) = (p["src"].as_str().unwrap(), p["dst"].as_str().unwrap());
        assert!(
            (src == ours.to_string() && dst == server)
                || (src == server && dst == ours.to_string()),
            "a packet not on wtcurl's own connection {ours}: {p}"
        );
        for o in &others {
            let o = format!("127.0.0.1:{o}");
            assert!(src != o && dst != o, "another client's packet: {p}");
        }
    }
    assert_eq!(packets[0]["flags"], "S", "{packets:?}");
    // The ladder draws one conversation: wtcurl's.
    assert_eq!(explain.matches("wtcurl 127.0.0.1:").count(), 1, "{explain}");
    assert!(explain.contains(&format!("wtcurl {ours}")), "{explain}");
    assert!(
        explain.contains(&format!(
            "the kernel picked local port {} when connect() bound the socket; getsockname shows it",
            ours.port()
        )),
        "{explain}"
    );
}
