//! The binary against an in-process DNS responder on loopback: truncation, wrong id, SERVFAIL,
//! NXDOMAIN, REFUSED and silence, each with curl's exit code and the reason in the explanation.

mod common;

use common::{TempDir, wtcurl};
use hickory_proto::op::{Message, MessageType, OpCode, ResponseCode};
use hickory_proto::rr::{RData, Record, RecordType, rdata::A};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Normal,
    Truncate,
    WrongIdFirst,
    Rcode(ResponseCode),
    Silent,
}

fn answer(
    q: &Message,
    truncated: bool,
    rcode: ResponseCode,
    id: u16,
    web_port_ip: Ipv4Addr,
) -> Vec<u8> {
    let mut r = Message::new(id, MessageType::Response, OpCode::Query);
    r.metadata.recursion_desired = true;
    r.metadata.recursion_available = true;
    r.metadata.response_code = rcode;
    r.metadata.truncation = truncated;
    let question = q.queries[0].clone();
    r.add_query(question.clone());
    if !truncated && rcode == ResponseCode::NoError && question.query_type() == RecordType::A {
        r.add_answer(Record::from_rdata(
            question.name().clone(),
            42,
            RData::A(A(web_port_ip)),
        ));
    }
    r.to_vec().unwrap()
}

/// A responder on one UDP+TCP port; counts the UDP queries it received.
struct Responder {
    port: u16,
    udp_queries: Arc<AtomicUsize>,
    tcp_queries: Arc<AtomicUsize>,
}

fn responder(mode: Mode) -> Responder {
    // The same port number for UDP and TCP; retry when another test holds the TCP side.
    let (udp, tcp, port) = (0..50)
        .find_map(|_| {
            let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
            let port = udp.local_addr().ok()?.port();
            let tcp = TcpListener::bind(("127.0.0.1", port)).ok()?;
            Some((udp, tcp, port))
        })
        .expect("a UDP+TCP port pair on 127.0.0.1");
    let udp_queries = Arc::new(AtomicUsize::new(0));
    let tcp_queries = Arc::new(AtomicUsize::new(0));
    let uq = udp_queries.clone();
    udp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while let Ok((n, from)) = udp.recv_from(&mut buf) {
            uq.fetch_add(1, Ordering::SeqCst);
            let Ok(q) = Message::from_vec(&buf[..n]) else {
                continue;
            };
            let id = q.metadata.id;
            let ip = Ipv4Addr::LOCALHOST;
            match mode {
                Mode::Silent => {}
                Mode::Normal => {
                    drop(udp.send_to(&answer(&q, false, ResponseCode::NoError, id, ip), from))
                }
                Mode::Truncate => {
                    drop(udp.send_to(&answer(&q, true, ResponseCode::NoError, id, ip), from))
                }
                Mode::WrongIdFirst => {
                    let _ = udp.send_to(
                        &answer(&q, false, ResponseCode::NoError, id.wrapping_add(1), ip),
                        from,
                    );
                    let _ = udp.send_to(&answer(&q, false, ResponseCode::NoError, id, ip), from);
                }
                Mode::Rcode(rc) => drop(udp.send_to(&answer(&q, false, rc, id, ip), from)),
            }
        }
    });
    let tq = tcp_queries.clone();
    std::thread::spawn(move || {
        for s in tcp.incoming().take(8) {
            let Ok(mut s) = s else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            // Several length-prefixed queries may come on one connection.
            loop {
                let mut len = [0u8; 2];
                if s.read_exact(&mut len).is_err() {
                    break;
                }
                let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                if s.read_exact(&mut q).is_err() {
                    break;
                }
                tq.fetch_add(1, Ordering::SeqCst);
                let Ok(q) = Message::from_vec(&q) else { break };
                let a = answer(
                    &q,
                    false,
                    ResponseCode::NoError,
                    q.metadata.id,
                    Ipv4Addr::LOCALHOST,
                );
                let _ = s.write_all(&(a.len() as u16).to_be_bytes());
                let _ = s.write_all(&a);
            }
        }
    });
    Responder {
        port,
        udp_queries,
        tcp_queries,
    }
}

/// A tiny web server answering every request with 200 "ok\n".
fn web() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming().take(4) {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n");
        }
    });
    port
}

fn run(r: &Responder, extra: &[&str]) -> (Option<i32>, String, String) {
    run_with_hosts(r, "127.0.0.1 localhost\n", extra)
}

fn run_with_hosts(
    r: &Responder,
    hosts_text: &str,
    extra: &[&str],
) -> (Option<i32>, String, String) {
    let dir = TempDir::new("dnsedge");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n",
    )
    .unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, hosts_text).unwrap();
    let port = web();
    let out = wtcurl()
        .args([
            "--explain",
            "-4",
            "--dns-servers",
            &format!("127.0.0.1:{}", r.port),
        ])
        .arg("--resolv-conf")
        .arg(&resolv)
        .arg("--hosts-file")
        .arg(&hosts)
        .args(extra)
        .arg(format!("http://edge.test:{port}/"))
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn normal_answer_resolves() {
    let r = responder(Mode::Normal);
    let (code, body, err) = run(&r, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body, "ok\n");
    assert!(err.contains("edge.test.  TTL 42  A  127.0.0.1"), "{err}");
}

#[test]
fn truncated_answer_falls_back_to_tcp() {
    let r = responder(Mode::Truncate);
    let (code, body, err) = run(&r, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body, "ok\n");
    assert!(r.tcp_queries.load(Ordering::SeqCst) >= 1);
    assert!(err.contains("over tcp"), "{err}");
}

#[test]
fn wrong_id_is_ignored_then_right_one_used() {
    let r = responder(Mode::WrongIdFirst);
    let (code, body, err) = run(&r, &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body, "ok\n");
    assert!(err.contains("ignored a message from"), "{err}");
}

#[test]
fn servfail_exits_6() {
    let r = responder(Mode::Rcode(ResponseCode::ServFail));
    let (code, _, err) = run(&r, &[]);
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("dns_servfail"), "{err}");
}

#[test]
fn nxdomain_exits_6() {
    let r = responder(Mode::Rcode(ResponseCode::NXDomain));
    let (code, _, err) = run(&r, &[]);
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("dns_nxdomain"), "{err}");
}

#[test]
fn refused_exits_6() {
    let r = responder(Mode::Rcode(ResponseCode::Refused));
    let (code, _, err) = run(&r, &[]);
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("dns_refused"), "{err}");
}

#[test]
fn silence_times_out_and_exits_6() {
    let r = responder(Mode::Silent);
    let started = std::time::Instant::now();
    let (code, _, err) = run(&r, &[]);
    assert_eq!(code, Some(6), "{err}");
    assert!(err.contains("dns_timeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(r.udp_queries.load(Ordering::SeqCst) >= 1);
}

#[test]
fn hosts_file_answers_without_a_query() {
    let r = responder(Mode::Normal);
    let (code, body, err) = run_with_hosts(&r, "# test\n127.0.0.1 edge.test\n", &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(body, "ok\n");
    assert_eq!(
        r.udp_queries.load(Ordering::SeqCst),
        0,
        "no DNS query may be sent"
    );
    assert!(err.contains("(from the hosts file)"), "{err}");
}

#[test]
fn resolve_flag_skips_dns() {
    let r = responder(Mode::Normal);
    let port = web();
    let out = wtcurl()
        .args([
            "--explain",
            "--dns-servers",
            &format!("127.0.0.1:{}", r.port),
        ])
        .arg("--resolve")
        .arg(format!("edge.test:{port}:127.0.0.1"))
        .arg(format!("http://edge.test:{port}/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(r.udp_queries.load(Ordering::SeqCst), 0);
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resolve"));
}

/// A UDP port on 127.0.0.1 where nothing listens: bound to learn a free port, then closed.
fn closed_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs wtcurl with `--explain --trace-json` against `servers` (resolv.conf: timeout 5 s,
/// attempts 2); returns the exit code, stderr and the trace's events.
fn run_traced(servers: &str, family: &str) -> (Option<i32>, String, Vec<serde_json::Value>) {
    let dir = TempDir::new("dnsunreach");
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions timeout:5 attempts:2\n",
    )
    .unwrap();
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, "127.0.0.1 localhost\n").unwrap();
    let trace = dir.path().join("trace.jsonl");
    let port = web();
    let out = wtcurl()
        .args(["--explain", family, "--dns-servers", servers])
        .arg("--resolv-conf")
        .arg(&resolv)
        .arg("--hosts-file")
        .arg(&hosts)
        .arg("--trace-json")
        .arg(&trace)
        .arg(format!("http://edge.test:{port}/"))
        .output()
        .unwrap();
    let events = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into(),
        events,
    )
}

fn of_type<'a>(events: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// The polls that ran to their timeout (returned 0).
fn polls_timed_out(events: &[serde_json::Value]) -> usize {
    of_type(events, "syscall")
        .iter()
        .filter(|s| s["name"] == "poll" && s["ret"] == 0)
        .count()
}

#[test]
fn nothing_listening_on_the_dns_port_exits_6_at_once() {
    let port = closed_udp_port();
    let server = format!("127.0.0.1:{port}");
    let (code, err, events) = run_traced(&server, "-4");
    assert_eq!(code, Some(6), "{err}");
    let error = of_type(&events, "error");
    assert_eq!(error.len(), 1, "{error:?}");
    assert_eq!(error[0]["label"], "dns_unreachable");
    assert_eq!(error[0]["phase"], "dns");
    assert_eq!(error[0]["exit_code"], 6);
    assert!(
        error[0]["message"].as_str().unwrap().contains(&server),
        "{}",
        error[0]
    );
    assert!(
        error[0]["hint"].as_str().unwrap().contains("--dns-servers"),
        "{}",
        error[0]
    );
    // resolv.conf's attempts:2: asked twice, refused twice, no wait for the 5 s timeout.
    let unreachable = of_type(&events, "dns_unreachable");
    assert_eq!(unreachable.len(), 2, "{unreachable:?}");
    assert!(unreachable.iter().all(|u| u["errno"] == "ECONNREFUSED"));
    assert_eq!(polls_timed_out(&events), 0, "a poll waited for the timeout");
    assert!(of_type(&events, "dns_timeout").is_empty());
    let line = format!(
        "the kernel received an ICMP port unreachable for {server} on this socket and reports it as ECONNREFUSED: no DNS server listens there"
    );
    assert!(err.contains(&line), "{err}");
    assert!(err.contains("dns_unreachable"), "{err}");
    // Each socket was connected to the server before the query went out.
    let connects: Vec<&serde_json::Value> = of_type(&events, "syscall")
        .into_iter()
        .filter(|s| s["name"] == "connect")
        .collect();
    assert_eq!(connects.len(), 2);
    assert!(
        connects
            .iter()
            .all(|c| c["ret"] == 0 && c["args"]["addr"] == server.as_str())
    );
}

#[test]
fn a_closed_first_server_hands_over_to_the_next_at_once() {
    let closed = closed_udp_port();
    let r = responder(Mode::Normal);
    let servers = format!("127.0.0.1:{closed},127.0.0.1:{}", r.port);
    let (code, err, events) = run_traced(&servers, "-4");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(r.udp_queries.load(Ordering::SeqCst), 1);
    let unreachable = of_type(&events, "dns_unreachable");
    assert_eq!(unreachable.len(), 1, "{unreachable:?}");
    assert_eq!(unreachable[0]["server"], format!("127.0.0.1:{closed}"));
    assert_eq!(unreachable[0]["next"], "next_server");
    // The first socket's poll said POLLERR (it did not return 0 after the timeout).
    let calls = of_type(&events, "syscall");
    let first_fd = calls
        .iter()
        .find(|s| s["name"] == "socket")
        .and_then(|s| s["ret"].as_i64())
        .unwrap();
    let first_poll = calls
        .iter()
        .find(|s| s["name"] == "poll" && s["fd"].as_i64() == Some(first_fd))
        .expect("a poll on the first socket");
    assert_eq!(first_poll["ret"], 1, "{first_poll}");
    assert_eq!(
        first_poll["args"]["fds"][0]["revents"], "POLLERR",
        "{first_poll}"
    );
    assert_eq!(polls_timed_out(&events), 0);
    assert!(
        err.contains("next, as resolv.conf says: the next nameserver"),
        "{err}"
    );
}
