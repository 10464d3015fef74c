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
