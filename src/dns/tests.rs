//! End-to-end tests of the resolver: DNS responders in threads on 127.0.0.1 and temp config files.
//!
//! Nothing here reads the machine's own resolv.conf, hosts or nsswitch.conf, and every packet goes
//! to a responder started by the test (the servers are given as `servers_override`, since
//! resolv.conf cannot name a port).

use super::*;
use crate::clock::RealClock;
use crate::event::{DnsRecord, Event, Recorder, Tracer};
use hickory_proto::op::{Message, OpCode, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

// ---------------------------------------------------------------- responder

/// One message the responder sends back.
enum Out {
    Bytes(Vec<u8>),
    /// Sent from another socket, so from a port that is not the server's.
    FromOther(Vec<u8>),
}

type Handler = dyn Fn(&Message, &str) -> Vec<Out> + Send + Sync;

/// A DNS server on 127.0.0.1, UDP and TCP on the same port, answering with a closure.
struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// (qname, qtype, transport) of every query received.
    log: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl Responder {
    fn start(handler: impl Fn(&Message, &str) -> Vec<Out> + Send + Sync + 'static) -> Responder {
        let (udp, tcp) = (0..50)
            .find_map(|_| {
                let udp = UdpSocket::bind("127.0.0.1:0").ok()?;
                let tcp = TcpListener::bind(udp.local_addr().ok()?).ok()?;
                Some((udp, tcp))
            })
            .expect("bind a UDP and a TCP socket on the same loopback port");
        let addr = udp.local_addr().unwrap();
        let handler: Arc<Handler> = Arc::new(handler);
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));

        udp.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (h, s, l) = (handler.clone(), stop.clone(), log.clone());
        let udp_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = udp.recv_from(&mut buf) else {
                    continue;
                };
                let Ok(q) = Message::from_vec(&buf[..n]) else {
                    continue;
                };
                record(&l, &q, "udp");
                for out in h(&q, "udp") {
                    let _ = match out {
                        Out::Bytes(b) => udp.send_to(&b, from),
                        Out::FromOther(b) => other.send_to(&b, from),
                    };
                }
            }
        });

        tcp.set_nonblocking(true).unwrap();
        let (h, s, l) = (handler, stop.clone(), log.clone());
        let tcp_thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let Ok((mut conn, _)) = tcp.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                let mut len = [0u8; 2];
                if conn.read_exact(&mut len).is_err() {
                    continue;
                }
                let mut msg = vec![0u8; usize::from(u16::from_be_bytes(len))];
                if conn.read_exact(&mut msg).is_err() {
                    continue;
                }
                let Ok(q) = Message::from_vec(&msg) else {
                    continue;
                };
                record(&l, &q, "tcp");
                for out in h(&q, "tcp") {
                    let (Out::Bytes(b) | Out::FromOther(b)) = out;
                    let mut framed = (b.len() as u16).to_be_bytes().to_vec();
                    framed.extend_from_slice(&b);
                    let _ = conn.write_all(&framed);
                }
            }
        });
        Responder {
            addr,
            stop,
            threads: vec![udp_thread, tcp_thread],
            log,
        }
    }

    fn queries(&self) -> Vec<(String, String, String)> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for th in self.threads.drain(..) {
            let _ = th.join();
        }
    }
}

fn record(log: &Mutex<Vec<(String, String, String)>>, q: &Message, transport: &str) {
    if let Some(question) = q.queries.first() {
        log.lock().unwrap().push((
            wire::name_to_string(question.name()).to_ascii_lowercase(),
            question.query_type().to_string(),
            transport.to_string(),
        ));
    }
}

fn qname(q: &Message) -> String {
    q.queries
        .first()
        .map(|x| wire::name_to_string(x.name()).to_ascii_lowercase())
        .unwrap_or_default()
}

fn qtype(q: &Message) -> RecordType {
    q.queries
        .first()
        .map(|x| x.query_type())
        .unwrap_or(RecordType::A)
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn rec_a(owner: &str, ip: [u8; 4], ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::from(ip))))
}

fn rec_aaaa(owner: &str, ip: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::AAAA(AAAA(ip.parse().unwrap())))
}

fn rec_cname(owner: &str, target: &str, ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::CNAME(CNAME(name(target))))
}

/// A response to `q` with `rcode` and `answers`, echoing the question.
fn reply(q: &Message, rcode: ResponseCode, answers: Vec<Record>) -> Vec<u8> {
    reply_with(q, rcode, answers, |_| {})
}

fn reply_with(
    q: &Message,
    rcode: ResponseCode,
    answers: Vec<Record>,
    edit: impl FnOnce(&mut Message),
) -> Vec<u8> {
    let mut m = Message::response(q.metadata.id, OpCode::Query);
    m.metadata.recursion_desired = q.metadata.recursion_desired;
    m.metadata.recursion_available = true;
    m.metadata.response_code = rcode;
    m.add_queries(q.queries.clone());
    m.add_answers(answers);
    edit(&mut m);
    m.to_vec().unwrap()
}

/// A responder answering every query with `rcode` and no records.
fn rcode_server(rcode: ResponseCode) -> Responder {
    Responder::start(move |q, _| vec![Out::Bytes(reply(q, rcode, vec![]))])
}

/// A UDP socket that reads nothing and answers nothing.
fn silent_server() -> (UdpSocket, SocketAddr) {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    let a = s.local_addr().unwrap();
    (s, a)
}

// ---------------------------------------------------------------- config files

/// A temp directory with hosts, resolv.conf and nsswitch.conf; removed on drop.
struct TempConf {
    dir: PathBuf,
    cfg: ResolverConfig,
}

impl TempConf {
    /// `None` for nsswitch leaves the file absent.
    fn new(hosts: &str, resolv: &str, nsswitch: Option<&str>) -> TempConf {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "wtcurl-dns-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("hosts"), hosts).unwrap();
        std::fs::write(dir.join("resolv.conf"), resolv).unwrap();
        if let Some(ns) = nsswitch {
            std::fs::write(dir.join("nsswitch.conf"), ns).unwrap();
        }
        let cfg = ResolverConfig {
            hosts_path: dir.join("hosts"),
            resolv_conf_path: dir.join("resolv.conf"),
            nsswitch_path: dir.join("nsswitch.conf"),
            servers_override: None,
            family: Family::Any,
        };
        TempConf { dir, cfg }
    }

    fn with(mut self, servers: &[SocketAddr], family: Family) -> TempConf {
        self.cfg.servers_override = Some(servers.to_vec());
        self.cfg.family = family;
        self
    }
}

impl Drop for TempConf {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const FILES_DNS: Option<&str> = Some("hosts: files dns\n");
const NO_HOSTS: &str = "127.0.0.1 localhost\n";

// ---------------------------------------------------------------- running and inspecting

fn run(
    cfg: &ResolverConfig,
    host: &str,
    deadline: Option<Instant>,
) -> (Result<Vec<IpAddr>>, Vec<Event>) {
    let clock = RealClock::new();
    let mut rec = Recorder::default();
    let res = {
        let mut t = Tracer::new(&clock, &mut rec);
        resolve(&mut t, cfg, host, deadline)
    };
    (res, rec.events)
}

fn syscall_names(events: &[Event]) -> Vec<&'static str> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) => Some(s.name),
            _ => None,
        })
        .collect()
}

/// Every fd returned by socket() is closed afterwards.
fn assert_all_closed(events: &[Event]) {
    let mut open: Vec<i64> = Vec::new();
    for e in events {
        if let Event::Syscall(s) = e {
            match s.name {
                "socket" if s.ret >= 0 => open.push(s.ret),
                "close" => open.retain(|fd| Some(*fd) != s.fd.map(i64::from)),
                _ => {}
            }
        }
    }
    assert!(open.is_empty(), "sockets left open: {open:?}");
}

/// (transport, qname, qtype, attempt) of each DnsQuery.
fn dns_queries(events: &[Event]) -> Vec<(String, String, String, u32)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DnsQuery {
                transport,
                qname,
                qtype,
                attempt,
                ..
            } => Some((transport.clone(), qname.clone(), qtype.clone(), *attempt)),
            _ => None,
        })
        .collect()
}

fn ignored_reasons(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DnsIgnored { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect()
}

fn ips(list: &[&str]) -> Vec<IpAddr> {
    list.iter().map(|s| s.parse().unwrap()).collect()
}

fn resolved_source(events: &[Event]) -> Option<AddressSource> {
    events.iter().find_map(|e| match e {
        Event::Resolved { source, .. } => Some(*source),
        _ => None,
    })
}

// ---------------------------------------------------------------- tests

#[test]
fn a_and_aaaa_with_cname_chain_over_udp() {
    let server = Responder::start(|q, _| {
        let chain = vec![
            rec_cname("www.example.test.", "web.example.test.", 300),
            rec_cname("web.example.test.", "edge.cdn.test.", 60),
        ];
        let mut answers = chain;
        match qtype(q) {
            RecordType::A => answers.push(rec_a("edge.cdn.test.", [192, 0, 2, 10], 30)),
            _ => answers.push(rec_aaaa("edge.cdn.test.", "2001:db8::10", 20)),
        }
        vec![Out::Bytes(reply(q, ResponseCode::NoError, answers))]
    });
    let conf =
        TempConf::new(NO_HOSTS, "options timeout:2\n", FILES_DNS).with(&[server.addr], Family::Any);
    let (res, events) = run(&conf.cfg, "www.example.test", None);
    assert_eq!(res.unwrap(), ips(&["2001:db8::10", "192.0.2.10"]));

    // The steps, in order.
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Nsswitch { .. } => Some("nsswitch"),
            Event::HostsLookup { .. } => Some("hosts"),
            Event::ResolvConf { .. } => Some("resolv.conf"),
            Event::Resolved { .. } => Some("resolved"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["nsswitch", "hosts", "resolv.conf", "resolved"]);
    let ns = events.iter().find_map(|e| match e {
        Event::Nsswitch {
            consulted, found, ..
        } => Some((consulted.clone(), *found)),
        _ => None,
    });
    assert_eq!(
        ns,
        Some((vec!["files".to_string(), "dns".to_string()], true))
    );
    let rc = events.iter().find_map(|e| match e {
        Event::ResolvConf {
            overridden_by,
            timeout_s,
            nameservers,
            ..
        } => Some((overridden_by.clone(), *timeout_s, nameservers.clone())),
        _ => None,
    });
    assert_eq!(
        rc,
        Some((
            Some("--dns-servers".to_string()),
            2,
            vec!["127.0.0.1:53".parse().unwrap()]
        ))
    );

    // Both queries on one socket connected to the server (as glibc's send_dg), sent back to
    // back, without an address, before any read.
    let names = syscall_names(&events);
    let first_send = names.iter().position(|n| *n == "sendto").unwrap();
    assert_eq!(names[first_send - 2..first_send], ["socket", "connect"]);
    assert_eq!(names[first_send + 1], "sendto");
    let udp_calls: Vec<&crate::event::SyscallRecord> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if matches!(s.name, "connect" | "sendto") => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        serde_json::to_value(&udp_calls[0].args).unwrap(),
        serde_json::json!({"addr": server.addr.to_string()})
    );
    assert_eq!(udp_calls[0].ret, 0, "a UDP connect returns 0 at once");
    for send in &udp_calls[1..] {
        assert_eq!(
            serde_json::to_value(&send.args).unwrap()["to"],
            serde_json::Value::Null
        );
    }
    assert_eq!(names.iter().filter(|n| **n == "socket").count(), 1);
    assert_all_closed(&events);

    let queries: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::DnsQuery {
                server,
                transport,
                qname,
                qtype,
                flags,
                size,
                attempt,
                ..
            } => Some((
                *server,
                transport.clone(),
                qname.clone(),
                qtype.clone(),
                flags.clone(),
                *size,
                *attempt,
            )),
            _ => None,
        })
        .collect();
    let q = |t: &str| {
        (
            server.addr,
            "udp".to_string(),
            "www.example.test.".to_string(),
            t.to_string(),
            "rd".to_string(),
            34usize,
            1u32,
        )
    };
    assert_eq!(queries, [q("A"), q("AAAA")]);

    let mut answers: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            Event::DnsAnswer {
                qtype,
                rcode,
                flags,
                records,
                cname_chain,
                transport,
                ..
            } => Some((
                qtype.clone(),
                rcode.clone(),
                flags.clone(),
                records.clone(),
                cname_chain.clone(),
                transport.clone(),
            )),
            _ => None,
        })
        .collect();
    answers.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(answers.len(), 2);
    let (qt, rcode, flags, records, chain, transport) = &answers[0];
    assert_eq!(
        (
            qt.as_str(),
            rcode.as_str(),
            flags.as_str(),
            transport.as_str()
        ),
        ("A", "NOERROR", "qr rd ra", "udp")
    );
    assert_eq!(chain, &["web.example.test.", "edge.cdn.test."]);
    assert_eq!(
        records,
        &[
            DnsRecord {
                name: "www.example.test.".into(),
                rtype: "CNAME".into(),
                ttl: 300,
                data: "web.example.test.".into()
            },
            DnsRecord {
                name: "web.example.test.".into(),
                rtype: "CNAME".into(),
                ttl: 60,
                data: "edge.cdn.test.".into()
            },
            DnsRecord {
                name: "edge.cdn.test.".into(),
                rtype: "A".into(),
                ttl: 30,
                data: "192.0.2.10".into()
            },
        ]
    );
    assert_eq!(answers[1].3[2].data, "2001:db8::10");
    assert_eq!(answers[1].3[2].ttl, 20);
    assert_eq!(resolved_source(&events), Some(AddressSource::Dns));
    assert_eq!(server.queries().len(), 2);
}

#[test]
fn truncated_udp_answer_is_asked_again_over_tcp() {
    let server = Responder::start(|q, transport| {
        if transport == "udp" {
            vec![Out::Bytes(reply_with(
                q,
                ResponseCode::NoError,
                vec![],
                |m| {
                    m.metadata.truncation = true;
                },
            ))]
        } else {
            vec![Out::Bytes(reply(
                q,
                ResponseCode::NoError,
                vec![rec_a("big.example.test.", [192, 0, 2, 20], 5)],
            ))]
        }
    });
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "big.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.20"]));
    let transports: Vec<String> = dns_queries(&events).into_iter().map(|q| q.0).collect();
    assert_eq!(transports, ["udp", "tcp"]);
    let flags: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match e {
            Event::DnsAnswer {
                transport, flags, ..
            } => Some((transport.clone(), flags.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        flags,
        [
            ("udp".into(), "qr tc rd ra".into()),
            ("tcp".into(), "qr rd ra".into())
        ]
    );
    let names = syscall_names(&events);
    assert!(names.contains(&"connect"));
    assert!(names.contains(&"getsockopt"));
    assert_eq!(names.iter().filter(|n| **n == "socket").count(), 2);
    assert_all_closed(&events);
    let log = server.queries();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].2, "tcp");
}

#[test]
fn answer_with_wrong_id_is_ignored_and_the_right_one_accepted() {
    let server = Responder::start(|q, _| {
        let good = reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("id.example.test.", [192, 0, 2, 30], 60)],
        );
        let mut bad = good.clone();
        bad[1] ^= 0x01; // another id
        vec![Out::Bytes(bad), Out::Bytes(good)]
    });
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "id.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.30"]));
    let reasons = ignored_reasons(&events);
    assert_eq!(reasons.len(), 1, "{reasons:?}");
    assert!(reasons[0].contains("matches no query sent"), "{reasons:?}");
    let ignored_at = events
        .iter()
        .position(|e| matches!(e, Event::DnsIgnored { .. }))
        .unwrap();
    let answer_at = events
        .iter()
        .position(|e| matches!(e, Event::DnsAnswer { .. }))
        .unwrap();
    assert!(ignored_at < answer_at);
    assert_eq!(
        syscall_names(&events)
            .iter()
            .filter(|n| **n == "recvfrom")
            .count(),
        2
    );
    assert_all_closed(&events);
}

/// The socket is connected to the server, so the kernel drops a datagram from another port (here
/// a well-formed answer with the right id and question, which wtcurl would otherwise accept):
/// wtcurl never reads it, and nothing is reported as ignored.
#[test]
fn datagram_from_another_port_is_dropped_by_the_kernel() {
    let server = Responder::start(|q, _| {
        let good = reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("src.example.test.", [192, 0, 2, 31], 60)],
        );
        let spoof = reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("src.example.test.", [203, 0, 113, 66], 60)],
        );
        vec![Out::FromOther(spoof), Out::Bytes(good)]
    });
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "src.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.31"]));
    assert!(ignored_reasons(&events).is_empty(), "{events:?}");
    let froms: Vec<Option<SocketAddr>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) if s.name == "recvfrom" => match &s.args {
                crate::event::SyscallArgs::Recvfrom { from, .. } => Some(*from),
                _ => None,
            },
            _ => None,
        })
        .collect();
    assert_eq!(
        froms,
        [Some(server.addr)],
        "only the server's datagram is read"
    );
}

/// A UDP port on 127.0.0.1 where nothing listens (bound, then closed): a datagram sent there
/// gets an ICMP port unreachable back.
fn closed_udp_port() -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.local_addr().unwrap()
}

fn unreachable_events(events: &[Event]) -> Vec<(SocketAddr, u32, String, String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::DnsUnreachable {
                server,
                attempt,
                syscall,
                errno,
                next,
                ..
            } => Some((
                *server,
                *attempt,
                syscall.clone(),
                errno.clone(),
                next.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// The polls that timed out (returned 0): a wait that ran to resolv.conf's timeout.
fn polls_timed_out(events: &[Event]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Event::Syscall(s) if s.name == "poll" && s.ret == 0))
        .count()
}

#[test]
fn nothing_listening_is_dns_unreachable_without_waiting() {
    let closed = closed_udp_port();
    let conf = TempConf::new(NO_HOSTS, "options timeout:5 attempts:2\n", FILES_DNS)
        .with(&[closed], Family::Any);
    let (res, events) = run(&conf.cfg, "down.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsUnreachable);
    assert_eq!(err.phase, Phase::Dns);
    assert_eq!(err.exit_code(), 6);
    assert!(err.message.contains(&closed.to_string()), "{}", err.message);
    assert!(err.message.contains("ECONNREFUSED"), "{}", err.message);
    let hint = err.hint.unwrap();
    assert!(
        hint.contains("--dns-servers") && hint.contains("resolv.conf"),
        "{hint}"
    );
    // Each try learnt it at once: no poll ran to its timeout, no dns_timeout.
    assert_eq!(polls_timed_out(&events), 0, "{events:?}");
    assert!(!events.iter().any(|e| matches!(e, Event::DnsTimeout { .. })));
    // attempts:2 as glibc: the server is asked again, and refuses again.
    let seen = unreachable_events(&events);
    assert_eq!(seen.len(), 2, "{seen:?}");
    for (i, (server, attempt, syscall, errno, next)) in seen.iter().enumerate() {
        assert_eq!((*server, *attempt), (closed, i as u32 + 1));
        assert_eq!(errno, "ECONNREFUSED");
        // The second sendto or the recvfrom after poll's POLLERR reports it, whichever comes
        // after the ICMP.
        assert!(syscall == "sendto" || syscall == "recvfrom", "{syscall}");
        assert_eq!(next, if i == 0 { "next_attempt" } else { "give_up" });
    }
    // The failing call is in the trace, with the errno.
    let refused = events
        .iter()
        .filter(|e| matches!(e, Event::Syscall(s) if s.errno.as_deref() == Some("ECONNREFUSED")))
        .count();
    assert_eq!(refused, 2);
    assert_all_closed(&events);
}

#[test]
fn a_closed_first_server_hands_over_at_once() {
    let closed = closed_udp_port();
    let good = Responder::start(|q, _| {
        vec![Out::Bytes(reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("up.example.test.", [192, 0, 2, 41], 60)],
        ))]
    });
    let conf = TempConf::new(NO_HOSTS, "options timeout:5 attempts:2\n", FILES_DNS)
        .with(&[closed, good.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "up.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.41"]));
    assert_eq!(
        unreachable_events(&events),
        [(
            closed,
            1,
            "recvfrom".into(),
            "ECONNREFUSED".into(),
            "next_server".into()
        )]
    );
    // The first socket: connect, one query, then poll says POLLERR (not 0: no timeout), and
    // recvfrom reads the error.
    let first: Vec<&crate::event::SyscallRecord> = events
        .iter()
        .filter_map(|e| match e {
            Event::Syscall(s) => Some(s),
            _ => None,
        })
        .take_while(|s| s.name != "close")
        .collect();
    let names: Vec<&str> = first.iter().map(|s| s.name).collect();
    assert_eq!(names, ["socket", "connect", "sendto", "poll", "recvfrom"]);
    let poll = serde_json::to_value(&first[3].args).unwrap();
    assert_eq!(first[3].ret, 1);
    assert_eq!(poll["fds"][0]["revents"], "POLLERR", "{poll}");
    assert_eq!(first[4].errno.as_deref(), Some("ECONNREFUSED"));
    assert_eq!(polls_timed_out(&events), 0);
    assert_eq!(good.queries().len(), 1);
    assert_all_closed(&events);
}

/// One server refuses, the other is silent: the lookup waited, so it is a timeout (as glibc's
/// ETIMEDOUT once any server "got somewhere"), and the message names the refusal too.
#[test]
fn a_closed_and_a_silent_server_is_a_timeout() {
    let closed = closed_udp_port();
    let (_sock, silent) = silent_server();
    let conf = TempConf::new(NO_HOSTS, "options timeout:1 attempts:1\n", FILES_DNS)
        .with(&[closed, silent], Family::V4);
    let (res, events) = run(&conf.cfg, "half.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsTimeout);
    assert!(err.message.contains("ECONNREFUSED"), "{}", err.message);
    assert_eq!(unreachable_events(&events).len(), 1);
    assert_eq!(polls_timed_out(&events), 1);
}

#[test]
fn answer_to_another_question_is_ignored() {
    let server = Responder::start(|q, _| {
        let good = reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("q.example.test.", [192, 0, 2, 32], 60)],
        );
        let other = reply_with(q, ResponseCode::NoError, vec![], |m| {
            m.queries[0].set_name(Name::from_ascii("evil.example.test.").unwrap());
        });
        vec![Out::Bytes(other), Out::Bytes(good)]
    });
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "q.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.32"]));
    let reasons = ignored_reasons(&events);
    assert!(
        reasons.iter().any(|r| r.contains("evil.example.test.")),
        "{reasons:?}"
    );
}

#[test]
fn servfail_is_dns_servfail_and_not_retried_when_every_server_answered() {
    let server = rcode_server(ResponseCode::ServFail);
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "broken.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsServfail);
    assert_eq!(err.phase, Phase::Dns);
    assert!(
        err.message.contains(&server.addr.to_string()),
        "{}",
        err.message
    );
    assert!(err.message.contains("SERVFAIL"));
    assert!(err.hint.as_deref().unwrap_or("").contains("--dns-servers"));
    assert_eq!(server.queries().len(), 1);
    assert_all_closed(&events);
}

#[test]
fn servfail_moves_on_to_the_next_server() {
    let bad = rcode_server(ResponseCode::ServFail);
    let good = Responder::start(|q, _| {
        vec![Out::Bytes(reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("n.example.test.", [192, 0, 2, 40], 1)],
        ))]
    });
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[bad.addr, good.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "n.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.40"]));
    let servers: Vec<SocketAddr> = events
        .iter()
        .filter_map(|e| match e {
            Event::DnsQuery { server, .. } => Some(*server),
            _ => None,
        })
        .collect();
    assert_eq!(servers, [bad.addr, good.addr]);
}

#[test]
fn nxdomain_is_dns_nxdomain() {
    let server = rcode_server(ResponseCode::NXDomain);
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::Any);
    let (res, events) = run(&conf.cfg, "nope.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsNxdomain);
    assert!(
        err.message.contains("nope.example.test."),
        "{}",
        err.message
    );
    assert!(err.message.contains("NXDOMAIN"));
    assert_eq!(dns_queries(&events).len(), 2);
    assert!(resolved_source(&events).is_none());
    assert_all_closed(&events);
}

#[test]
fn refused_is_dns_refused() {
    let server = rcode_server(ResponseCode::Refused);
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V4);
    let (res, _) = run(&conf.cfg, "closed.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsRefused);
    assert!(err.message.contains("REFUSED"));
}

#[test]
fn noerror_without_address_is_dns_no_address() {
    let server = rcode_server(ResponseCode::NoError);
    let conf = TempConf::new(NO_HOSTS, "", FILES_DNS).with(&[server.addr], Family::V6);
    let (res, events) = run(&conf.cfg, "v4only.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsNoAddress);
    assert!(err.hint.as_deref().unwrap_or("").contains("-6"));
    let q = dns_queries(&events);
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].2, "AAAA");
}

#[test]
fn silence_times_out_after_the_resolv_conf_timeout() {
    let (_sock, addr) = silent_server();
    let conf = TempConf::new(NO_HOSTS, "options timeout:1 attempts:1\n", FILES_DNS)
        .with(&[addr], Family::Any);
    let t0 = Instant::now();
    let (res, events) = run(&conf.cfg, "quiet.example.test", None);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(950), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsTimeout);
    assert!(err.message.contains(&addr.to_string()), "{}", err.message);
    assert!(err.message.contains("timeout 1 s"), "{}", err.message);
    let hint = err.hint.unwrap();
    assert!(
        hint.contains("--dns-servers") && hint.contains("resolv.conf"),
        "{hint}"
    );
    // Nothing was received: the wait is a timeout, not an ignored message.
    assert!(ignored_reasons(&events).is_empty(), "{events:?}");
    let timeouts: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::DnsTimeout { .. }))
        .collect();
    assert_eq!(timeouts.len(), 1, "{timeouts:?}");
    let Event::DnsTimeout {
        server,
        attempt,
        attempts,
        unanswered,
        waited_ms,
        timeout_s,
        cut_by_deadline,
        next,
        next_server,
        ..
    } = timeouts[0]
    else {
        unreachable!()
    };
    assert_eq!((*server, *attempt, *attempts, *timeout_s), (addr, 1, 1, 1));
    assert_eq!(unanswered.len(), 2, "{unanswered:?}");
    assert!(unanswered[0].starts_with("A (id 0x"), "{unanswered:?}");
    assert!(unanswered[1].starts_with("AAAA (id 0x"), "{unanswered:?}");
    assert!((950..3000).contains(waited_ms), "{waited_ms}");
    assert!(!cut_by_deadline);
    assert_eq!((next.as_str(), *next_server), ("give_up", None));
    assert_eq!(dns_queries(&events).len(), 2);
    assert_all_closed(&events);
}

#[test]
fn deadline_cuts_the_wait_short() {
    let (_sock, addr) = silent_server();
    let conf = TempConf::new(NO_HOSTS, "options timeout:5 attempts:2\n", FILES_DNS)
        .with(&[addr], Family::V4);
    let t0 = Instant::now();
    let (res, events) = run(
        &conf.cfg,
        "slow.example.test",
        Some(t0 + Duration::from_millis(300)),
    );
    let took = t0.elapsed();
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert!(took >= Duration::from_millis(250), "{took:?}");
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::Timeout);
    assert_eq!(err.phase, Phase::Dns);
    let cut = events.iter().find_map(|e| match e {
        Event::DnsTimeout {
            cut_by_deadline,
            next,
            next_server,
            ..
        } => Some((*cut_by_deadline, next.clone(), *next_server)),
        _ => None,
    });
    // resolv.conf would try again (attempts 2), but the deadline ends the wait first.
    assert_eq!(cut, Some((true, "next_attempt".into(), Some(addr))));
    assert_all_closed(&events);
}

#[test]
fn a_silent_first_server_hands_over_to_the_next_then_the_next_try() {
    let (_a, first) = silent_server();
    let (_b, second) = silent_server();
    let conf = TempConf::new(NO_HOSTS, "options timeout:1 attempts:2\n", FILES_DNS)
        .with(&[first, second], Family::V4);
    let (res, events) = run(&conf.cfg, "quiet.example.test", None);
    assert_eq!(res.unwrap_err().label, Label::DnsTimeout);
    let plan: Vec<(SocketAddr, u32, String, Option<SocketAddr>)> = events
        .iter()
        .filter_map(|e| match e {
            Event::DnsTimeout {
                server,
                attempt,
                next,
                next_server,
                ..
            } => Some((*server, *attempt, next.clone(), *next_server)),
            _ => None,
        })
        .collect();
    assert_eq!(
        plan,
        vec![
            (first, 1, "next_server".into(), Some(second)),
            (second, 1, "next_attempt".into(), Some(first)),
            (first, 2, "next_server".into(), Some(second)),
            (second, 2, "give_up".into(), None),
        ]
    );
}

#[test]
fn hosts_file_hit_sends_no_query() {
    let server = Responder::start(|q, _| vec![Out::Bytes(reply(q, ResponseCode::NoError, vec![]))]);
    let hosts = "# test\n192.0.2.77 app.example.test app\n2001:db8::77 APP.example.test\n";
    let conf = TempConf::new(hosts, "", FILES_DNS).with(&[server.addr], Family::Any);
    let (res, events) = run(&conf.cfg, "app.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.77", "2001:db8::77"]));
    let names = syscall_names(&events);
    assert!(!names.contains(&"sendto"), "{names:?}");
    assert!(!names.contains(&"socket"), "{names:?}");
    assert!(server.queries().is_empty());
    let lookup = events.iter().find_map(|e| match e {
        Event::HostsLookup {
            line,
            addresses,
            name,
            ..
        } => Some((*line, addresses.clone(), name.clone())),
        _ => None,
    });
    assert_eq!(
        lookup,
        Some((
            Some(2),
            ips(&["192.0.2.77", "2001:db8::77"]),
            "app.example.test".into()
        ))
    );
    assert!(!events.iter().any(|e| matches!(e, Event::ResolvConf { .. })));
    assert_eq!(resolved_source(&events), Some(AddressSource::Hosts));
}

fn both_sources_server() -> Responder {
    Responder::start(|q, _| {
        if qname(q) == "both.example.test." && qtype(q) == RecordType::A {
            vec![Out::Bytes(reply(
                q,
                ResponseCode::NoError,
                vec![rec_a("both.example.test.", [192, 0, 2, 2], 60)],
            ))]
        } else {
            vec![Out::Bytes(reply(q, ResponseCode::NXDomain, vec![]))]
        }
    })
}

const BOTH_HOSTS: &str = "192.0.2.1 both.example.test\n192.0.2.1 hostsonly.example.test\n";

#[test]
fn nsswitch_dns_files_asks_dns_first() {
    let server = both_sources_server();
    let conf =
        TempConf::new(BOTH_HOSTS, "", Some("hosts: dns files\n")).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "both.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.2"]));
    assert_eq!(resolved_source(&events), Some(AddressSource::Dns));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::HostsLookup { .. }))
    );

    // NXDOMAIN from dns: on to files (no action group).
    let (res, events) = run(&conf.cfg, "hostsonly.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.1"]));
    assert_eq!(resolved_source(&events), Some(AddressSource::Hosts));
    let rc_at = events
        .iter()
        .position(|e| matches!(e, Event::ResolvConf { .. }))
        .unwrap();
    let hosts_at = events
        .iter()
        .position(|e| matches!(e, Event::HostsLookup { .. }))
        .unwrap();
    assert!(rc_at < hosts_at);
}

#[test]
fn nsswitch_files_dns_asks_files_first() {
    let server = both_sources_server();
    let conf = TempConf::new(
        BOTH_HOSTS,
        "",
        Some("hosts: files mdns4_minimal [NOTFOUND=return] dns myhostname\n"),
    )
    .with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "both.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.1"]));
    assert_eq!(resolved_source(&events), Some(AddressSource::Hosts));
    assert!(dns_queries(&events).is_empty());
    let ns = events.iter().find_map(|e| match e {
        Event::Nsswitch {
            sources,
            consulted,
            not_consulted,
            ..
        } => Some((sources.clone(), consulted.clone(), not_consulted.clone())),
        _ => None,
    });
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        ns,
        Some((
            v(&["files", "mdns4_minimal", "dns", "myhostname"]),
            v(&["files", "dns"]),
            v(&["mdns4_minimal", "myhostname"])
        ))
    );
}

#[test]
fn notfound_return_after_files_stops_before_dns() {
    let server = both_sources_server();
    let conf = TempConf::new(NO_HOSTS, "", Some("hosts: files [NOTFOUND=return] dns\n"))
        .with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "both.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsNxdomain);
    assert!(err.message.contains("[NOTFOUND=return]"), "{}", err.message);
    assert!(dns_queries(&events).is_empty());
}

#[test]
fn missing_nsswitch_uses_glibc_default_dns_then_files_only_if_unavail() {
    let server = both_sources_server();
    let conf = TempConf::new(BOTH_HOSTS, "", None).with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "hostsonly.example.test", None);
    // dns [!UNAVAIL=return] files: NXDOMAIN is NOTFOUND, so files is not asked.
    assert_eq!(res.unwrap_err().label, Label::DnsNxdomain);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::HostsLookup { .. }))
    );
    let ns = events.iter().find_map(|e| match e {
        Event::Nsswitch { found, sources, .. } => Some((*found, sources.clone())),
        _ => None,
    });
    assert_eq!(
        ns,
        Some((false, vec!["dns".to_string(), "files".to_string()]))
    );

    // No answer at all is UNAVAIL: files is asked.
    let (_sock, quiet) = silent_server();
    let conf = TempConf::new(BOTH_HOSTS, "options timeout:1 attempts:1\n", None)
        .with(&[quiet], Family::V4);
    let (res, events) = run(&conf.cfg, "hostsonly.example.test", None);
    assert_eq!(res.unwrap(), ips(&["192.0.2.1"]));
    assert_eq!(resolved_source(&events), Some(AddressSource::Hosts));
}

#[test]
fn search_list_and_ndots_order_the_names() {
    let server = Responder::start(|q, _| {
        if qname(q) == "web.lab.test." {
            vec![Out::Bytes(reply(
                q,
                ResponseCode::NoError,
                vec![rec_a("web.lab.test.", [192, 0, 2, 50], 60)],
            ))]
        } else {
            vec![Out::Bytes(reply(q, ResponseCode::NXDomain, vec![]))]
        }
    });
    let names_asked = |resolv: &str, host: &str| {
        let conf = TempConf::new(NO_HOSTS, resolv, FILES_DNS).with(&[server.addr], Family::V4);
        let (res, events) = run(&conf.cfg, host, None);
        let names: Vec<String> = dns_queries(&events).into_iter().map(|q| q.1).collect();
        (res, names)
    };
    // No dot, ndots 1: search domains first; stops at the first that exists.
    let (res, names) = names_asked("search corp.test lab.test\n", "web");
    assert_eq!(res.unwrap(), ips(&["192.0.2.50"]));
    assert_eq!(names, ["web.corp.test.", "web.lab.test."]);

    // One dot, ndots 1: as is first.
    let (res, names) = names_asked("search corp.test lab.test\noptions ndots:1\n", "a.b");
    assert_eq!(res.unwrap_err().label, Label::DnsNxdomain);
    assert_eq!(names, ["a.b.", "a.b.corp.test.", "a.b.lab.test."]);

    // One dot, ndots 2: search domains first, as is last.
    let (_, names) = names_asked("domain lab.test\noptions ndots:2\n", "a.b");
    assert_eq!(names, ["a.b.lab.test.", "a.b."]);

    // Trailing dot: absolute, no search.
    let (err, names) = names_asked("search corp.test lab.test\n", "web.");
    assert_eq!(names, ["web."]);
    let err = err.unwrap_err();
    assert_eq!(err.label, Label::DnsNxdomain);
    assert!(err.message.contains("web."));
}

#[test]
fn malformed_answers_then_silence_is_bad_response() {
    let server = Responder::start(|q, _| {
        let mut junk = reply(
            q,
            ResponseCode::NoError,
            vec![rec_a("junk.example.test.", [192, 0, 2, 60], 60)],
        );
        junk[7] = 9; // ANCOUNT 9: the records run past the end
        vec![Out::Bytes(junk)]
    });
    let conf = TempConf::new(NO_HOSTS, "options timeout:1 attempts:1\n", FILES_DNS)
        .with(&[server.addr], Family::V4);
    let (res, events) = run(&conf.cfg, "junk.example.test", None);
    let err = res.unwrap_err();
    assert_eq!(err.label, Label::DnsBadResponse);
    assert!(err.message.contains("cannot be decoded"), "{}", err.message);
    assert!(
        ignored_reasons(&events)
            .iter()
            .any(|r| r.contains("cannot be decoded"))
    );
    assert_all_closed(&events);
}

#[test]
fn invalid_name_sends_nothing() {
    let conf =
        TempConf::new(NO_HOSTS, "", FILES_DNS).with(&["127.0.0.1:9".parse().unwrap()], Family::Any);
    let (res, events) = run(&conf.cfg, &format!("{}.example", "x".repeat(70)), None);
    assert_eq!(res.unwrap_err().label, Label::DnsNxdomain);
    assert!(!syscall_names(&events).contains(&"sendto"));
}

#[test]
fn server_list_parsing() {
    let p = |s: &str| parse_server_list(s);
    assert_eq!(
        p("192.0.2.1").unwrap(),
        ["192.0.2.1:53".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(
        p("127.0.0.1:5353, ::1,[::1]:54,[2001:db8::1]").unwrap(),
        [
            "127.0.0.1:5353".parse::<SocketAddr>().unwrap(),
            "[::1]:53".parse().unwrap(),
            "[::1]:54".parse().unwrap(),
            "[2001:db8::1]:53".parse().unwrap(),
        ]
    );
    for bad in [
        "",
        ",",
        "1.2.3.4,",
        "example.com",
        "1.2.3.4:x",
        "1.2.3.4:0",
        "1.2.3.4:99999",
        "[::1",
        "::1:53:zz",
    ] {
        assert!(p(bad).is_err(), "{bad:?} should be rejected");
    }
    assert!(p("1.2.3.4:x").unwrap_err().contains("port"));
}

#[test]
fn candidate_names() {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(
        candidates("web", &s(&["a.test", "b.test."]), 1),
        s(&["web.a.test", "web.b.test", "web"])
    );
    assert_eq!(
        candidates("w.x", &s(&["a.test"]), 1),
        s(&["w.x", "w.x.a.test"])
    );
    assert_eq!(
        candidates("w.x", &s(&["a.test"]), 2),
        s(&["w.x.a.test", "w.x"])
    );
    assert_eq!(candidates("w.x.", &s(&["a.test"]), 0), s(&["w.x."]));
    assert_eq!(candidates("web", &[], 1), s(&["web"]));
    assert_eq!(
        candidates("web", &s(&[".", "A.test", "a.test"]), 1),
        s(&["web", "web.A.test"])
    );
}

#[test]
fn default_config_points_at_the_system_files() {
    let d = ResolverConfig::default();
    assert_eq!(d.hosts_path, PathBuf::from("/etc/hosts"));
    assert_eq!(d.resolv_conf_path, PathBuf::from("/etc/resolv.conf"));
    assert_eq!(d.nsswitch_path, PathBuf::from("/etc/nsswitch.conf"));
    assert_eq!(d.servers_override, None);
    assert_eq!(d.family, Family::Any);
}
