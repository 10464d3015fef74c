//! A recorded plain-HTTP run (DNS over UDP, connect, 301, close) as events, for snapshot tests.

use crate::error::{Label, Phase};
use crate::event::{AddressSource, DnsRecord, Event, FinEvidence, SyscallRecord, TcpInfoView};
use serde_json::json;

fn sys(
    name: &'static str,
    fd: i32,
    ret: i64,
    errno: Option<&str>,
    t: u64,
    args: serde_json::Value,
) -> Event {
    Event::Syscall(SyscallRecord {
        name,
        fd: Some(fd),
        ret,
        errno: errno.map(str::to_string),
        start_us: t,
        end_us: t + 7,
        args: crate::event::SyscallArgs::from_json(args),
    })
}

/// `wtcurl wetransfer.com` against the demo stand-ins, as a fixed event list.
pub fn plain_http_301() -> Vec<Event> {
    let dns: std::net::SocketAddr = "127.0.0.1:5353".parse().unwrap();
    let web: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:43210".parse().unwrap();
    let info = TcpInfoView {
        state: 1,
        rtt_us: 45,
        rttvar_us: 22,
        snd_mss: 32768,
        rcv_mss: 536,
        snd_cwnd: 10,
        ..Default::default()
    };
    vec![
        Event::TraceStart { schema: 1, epoch_us: 1_700_000_000_000_000, pid: 4242 },
        Event::Phase { at_us: 10, hop: 0, phase: Phase::Url },
        Event::Url {
            at_us: 20,
            input: "wetransfer.com".into(),
            input_masked: false,
            url: "http://wetransfer.com/".into(),
            scheme: "http".into(),
            scheme_inferred: true,
            host: "wetransfer.com".into(),
            host_ascii: "wetransfer.com".into(),
            port: 80,
            port_inferred: true,
            target: "/".into(),
            basic_auth_user: None,
        },
        Event::Phase { at_us: 30, hop: 0, phase: Phase::Dns },
        Event::Nsswitch {
            at_us: 40,
            path: "/etc/nsswitch.conf".into(),
            found: true,
            sources: vec!["files".into(), "mdns4_minimal".into(), "dns".into()],
            consulted: vec!["files".into(), "dns".into()],
            not_consulted: vec!["mdns4_minimal".into()],
        },
        Event::HostsLookup { at_us: 50, path: "/etc/hosts".into(), name: "wetransfer.com".into(), addresses: vec![], line: None },
        Event::ResolvConf {
            at_us: 60,
            path: "/etc/resolv.conf".into(),
            found: true,
            nameservers: vec![dns],
            search: vec![],
            ndots: 1,
            timeout_s: 5,
            attempts: 2,
            rotate: false,
            overridden_by: Some("--dns-servers".into()),
        },
        sys("socket", 3, 3, None, 64, json!({"domain": "AF_INET", "type": "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0})),
        sys("connect", 3, 0, None, 72, json!({"addr": "127.0.0.1:5353"})),
        sys("sendto", 3, 32, None, 80, json!({"len": 32, "flags": "MSG_NOSIGNAL", "to": null})),
        Event::DnsQuery {
            at_us: 90,
            server: dns,
            transport: "udp".into(),
            id: 0xbeef,
            qname: "wetransfer.com.".into(),
            qtype: "A".into(),
            flags: "rd".into(),
            size: 32,
            attempt: 1,
        },
        sys("poll", 3, 1, None, 100, json!({"fds": [{"fd": 3, "events": "POLLIN", "revents": "POLLIN"}], "timeout_ms": 5000})),
        sys("recvfrom", 3, 48, None, 300, json!({"len": 65535, "from": "127.0.0.1:5353"})),
        Event::DnsAnswer {
            at_us: 310,
            server: dns,
            transport: "udp".into(),
            id: 0xbeef,
            qname: "wetransfer.com.".into(),
            qtype: "A".into(),
            rcode: "NOERROR".into(),
            flags: "qr aa rd ra".into(),
            size: 48,
            records: vec![DnsRecord { name: "wetransfer.com.".into(), rtype: "A".into(), ttl: 60, data: "127.0.0.1".into() }],
            cname_chain: vec![],
            elapsed_us: 220,
        },
        sys("close", 3, 0, None, 320, json!({})),
        Event::Resolved { at_us: 330, host: "wetransfer.com".into(), source: AddressSource::Dns, addresses: vec!["127.0.0.1".parse().unwrap()], elapsed_us: 300 },
        Event::Phase { at_us: 340, hop: 0, phase: Phase::Tcp },
        sys("socket", 3, 3, None, 350, json!({"domain": "AF_INET", "type": "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0})),
        sys("connect", 3, -1, Some("EINPROGRESS"), 360, json!({"addr": "127.0.0.1:8080"})),
        sys("getsockname", 3, 0, None, 367, json!({"addr": "127.0.0.1:43210"})),
        Event::ConnectAttempt { at_us: 370, fd: 3, addr: web, local: Some(local) },
        sys("poll", 3, 1, None, 380, json!({"fds": [{"fd": 3, "events": "POLLOUT", "revents": "POLLOUT"}], "timeout_ms": -1})),
        sys("getsockopt", 3, 0, None, 390, json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 0})),
        sys("getpeername", 3, 0, None, 410, json!({"addr": "127.0.0.1:8080"})),
        sys("getsockopt", 3, 0, None, 420, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 232})),
        Event::ConnectResult { at_us: 430, fd: 3, addr: web, ok: true, error: None, local: Some(local), elapsed_us: 70 },
        Event::TcpInfo { at_us: 440, fd: 3, when: "after_connect".into(), info },
        Event::Phase { at_us: 450, hop: 0, phase: Phase::Request },
        sys("sendto", 3, 78, None, 460, json!({"len": 78, "flags": "MSG_NOSIGNAL", "to": null})),
        Event::RequestWritten {
            at_us: 470,
            fd: 3,
            head: "GET / HTTP/1.1\r\nHost: wetransfer.com\r\nUser-Agent: wtcurl/0.1.0\r\nAccept: */*\r\n".into(),
            head_masked: false,
            head_bytes: 78,
            body_bytes: 0,
        },
        Event::Phase { at_us: 480, hop: 0, phase: Phase::Response },
        sys("poll", 3, 1, None, 490, json!({"fds": [{"fd": 3, "events": "POLLIN", "revents": "POLLIN"}], "timeout_ms": -1})),
        sys("recvfrom", 3, 300, None, 600, json!({"len": 65536, "from": null})),
        Event::FirstByte { at_us: 610 },
        Event::ResponseHead {
            at_us: 620,
            version: "HTTP/1.1".into(),
            status: 301,
            reason: "Moved Permanently".into(),
            headers: vec![("Content-Length".into(), "138".into()), ("Location".into(), "https://wetransfer.com/".into())],
            head_bytes: 162,
            framing: "content-length".into(),
            content_length: Some(138),
            encoding: None,
        },
        Event::BodyDone { at_us: 630, wire_bytes: 138, body_bytes: 138, recv_calls: 1, chunks: 0, trailers: vec![], decoded: None, written: true },
        Event::Redirect {
            at_us: 640,
            hop: 0,
            status: 301,
            location: "https://wetransfer.com/".into(),
            to: "https://wetransfer.com/".into(),
            method: "GET".into(),
            followed: false,
        },
        Event::Phase { at_us: 650, hop: 0, phase: Phase::Close },
        sys("getsockopt", 3, 0, None, 660, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 232})),
        Event::TcpInfo { at_us: 670, fd: 3, when: "end".into(), info },
        sys("ioctl", 3, 0, None, 671, json!({"request": "FIONREAD", "value": 0})),
        sys("getsockopt", 3, 0, None, 672, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 232})),
        Event::TcpInfo { at_us: 679, fd: 3, when: "before_close".into(), info },
        sys("close", 3, 0, None, 680, json!({})),
        Event::Closed { at_us: 690, fd: 3, first_fin: "client".into(), fin_evidence: FinEvidence::NoFinBeforeClose, unread_bytes: Some(0), body_unread: false },
        Event::Done { at_us: 700, exit_code: 0 },
    ]
}

/// A run that fails in DNS with NXDOMAIN.
pub fn nxdomain() -> Vec<Event> {
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 30,
            hop: 0,
            phase: Phase::Dns,
        },
        Event::Error {
            at_us: 900,
            phase: Phase::Dns,
            label: Label::DnsNxdomain,
            message: "Could not resolve host: nope.example (NXDOMAIN from 127.0.0.1:5353)".into(),
            hint: Some("check the spelling".into()),
            exit_code: 6,
        },
        Event::Done {
            at_us: 910,
            exit_code: 6,
        },
    ]
}

/// The TLS part of an https hop (TLS 1.3, one certificate), between connect and request.
pub fn tls13_handshake() -> Vec<Event> {
    let rec = |at_us: u64, direction: &str, content_type: &str, length: usize, encrypted: bool| {
        Event::TlsRecord {
            at_us,
            direction: direction.into(),
            content_type: content_type.into(),
            version: "TLS 1.2".into(),
            length,
            encrypted,
        }
    };
    let msg = |at_us: u64,
               direction: &str,
               name: &str,
               length: usize,
               encrypted: bool,
               detail: serde_json::Value| {
        Event::TlsMessage {
            at_us,
            direction: direction.into(),
            name: name.into(),
            length,
            encrypted,
            source: if encrypted {
                "decrypted by wtcurl with the traffic secret rustls logged"
            } else {
                "read from the record"
            }
            .into(),
            detail,
        }
    };
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 100,
            hop: 1,
            phase: Phase::Tls,
        },
        Event::TlsStart {
            at_us: 150,
            fd: 3,
            server_name: Some("wetransfer.com".into()),
            versions: vec!["TLS 1.3".into(), "TLS 1.2".into()],
            alpn_offered: vec!["http/1.1".into()],
            trust: "the demo CA".into(),
        },
        sys(
            "sendto",
            3,
            256,
            None,
            160,
            json!({"len": 256, "flags": "MSG_NOSIGNAL", "to": null}),
        ),
        rec(170, "sent", "handshake", 251, false),
        msg(
            171,
            "sent",
            "ClientHello",
            247,
            false,
            json!({"server_name": "wetransfer.com", "supported_versions": ["TLS 1.3", "TLS 1.2"]}),
        ),
        rec(300, "received", "handshake", 122, false),
        msg(
            301,
            "received",
            "ServerHello",
            118,
            false,
            json!({"version": "TLS 1.3", "cipher_suite": "TLS_AES_256_GCM_SHA384"}),
        ),
        rec(302, "received", "application_data", 617, true),
        msg(
            303,
            "received",
            "Certificate",
            560,
            true,
            json!({"certificates": 1}),
        ),
        Event::TlsCertificate {
            at_us: 304,
            index: 0,
            subject: "CN=wetransfer.com".into(),
            issuer: "CN=wtcurl demo CA".into(),
            sans: vec!["DNS:wetransfer.com".into()],
            not_before: "2026-11-23 00:00:00 UTC".into(),
            not_after: "2027-02-21 00:00:00 UTC".into(),
            days_left: 88,
            key: "ECDSA P-256".into(),
            signature: "ecdsa-with-SHA256".into(),
            sha256: "AB:CD".into(),
        },
        Event::TlsVerified {
            at_us: 305,
            ok: true,
            anchor: Some("CN=wtcurl demo CA (the demo CA)".into()),
            matched_name: Some("DNS:wetransfer.com".into()),
            detail: String::new(),
        },
        Event::TlsDone {
            at_us: 400,
            version: "TLS 1.3".into(),
            cipher_suite: "TLS_AES_256_GCM_SHA384".into(),
            key_exchange: Some("x25519".into()),
            alpn: Some("http/1.1".into()),
            round_trips: 1,
            session_tickets: 0,
        },
        Event::Done {
            at_us: 410,
            exit_code: 0,
        },
    ]
}

/// Phase 0 as /proc showed it for `wtcurl wetransfer.com` typed in bash.
pub fn process_phase() -> Vec<Event> {
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Process {
            at_us: 5,
            process: crate::process::ProcessView {
                pid: 4242,
                ppid: 4000,
                parent: "bash".into(),
                exe: "/usr/local/bin/wtcurl".into(),
                execfn: Some("/usr/local/bin/wtcurl".into()),
                argv: vec!["wtcurl".into(), "wetransfer.com".into(), "--explain".into()],
                argv_masked: false,
                path_entry: Some((2, "/usr/local/bin".into())),
                loader: Some("/lib64/ld-linux-x86-64.so.2".into()),
                libraries: vec![
                    "/lib/x86_64-linux-gnu/libgcc_s.so.1".into(),
                    "/lib/x86_64-linux-gnu/libc.so.6".into(),
                ],
                cpu_before_main_us: Some(1_200),
                minor_faults_before_main: Some(140),
                major_faults_before_main: Some(0),
            },
        },
        Event::Done {
            at_us: 10,
            exit_code: 0,
        },
    ]
}

/// `--kernel-view` in the netns lab: a unicast route over a veth to an on-link server, its ARP
/// entry, and a close where wtcurl's FIN goes first (so wtcurl's side holds TIME_WAIT).
pub fn kernel_view_lab() -> Vec<Event> {
    use crate::event::{
        KernelLink, KernelNeighbour, KernelRoute, PortRange, Seen, SocketStateSeen,
    };
    let local: std::net::SocketAddr = "192.0.2.2:43210".parse().unwrap();
    let peer: std::net::SocketAddr = "192.0.2.1:80".parse().unwrap();
    let info = |segs_out, segs_in, acked, received| TcpInfoView {
        state: 1,
        rtt_us: 80,
        rttvar_us: 40,
        snd_mss: 1448,
        rcv_mss: 536,
        snd_cwnd: 10,
        bytes_acked: acked,
        bytes_received: received,
        segs_out,
        segs_in,
        ..Default::default()
    };
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 10,
            hop: 0,
            phase: Phase::Tcp,
        },
        Event::TcpInfo {
            at_us: 200,
            fd: 3,
            when: "after_connect".into(),
            info: info(2, 1, 1, 0),
        },
        Event::KernelPath {
            at_us: 260,
            fd: 3,
            local,
            peer,
            route: Box::new(Seen::Found(KernelRoute {
                kind: "unicast".into(),
                table: "main".into(),
                dev: "wtc-cli0".into(),
                ifindex: 2,
                gateway: None,
                prefsrc: Some("192.0.2.2".parse().unwrap()),
                source: "netlink RTM_GETROUTE (as `ip route get 192.0.2.1`)".into(),
            })),
            link: Some(Box::new(Seen::Found(KernelLink {
                name: "wtc-cli0".into(),
                ifindex: 2,
                mtu: 1500,
                mac: Some("02:00:00:00:00:02".into()),
                link_type: "ether".into(),
                operstate: "UP".into(),
                source: "netlink RTM_GETLINK (as `ip link show`)".into(),
            }))),
            neighbour: Some(Box::new(Seen::Found(KernelNeighbour {
                next_hop: "192.0.2.1".parse().unwrap(),
                protocol: "ARP".into(),
                mac: Some("02:00:00:00:00:01".into()),
                state: "REACHABLE".into(),
                source: "netlink RTM_GETNEIGH (as `ip neigh show`)".into(),
            }))),
            port_range: Box::new(Seen::Found(PortRange {
                low: 32768,
                high: 60999,
                local_port: 43210,
                source: "/proc/sys/net/ipv4/ip_local_port_range".into(),
            })),
            syscalls: 11,
        },
        Event::Phase {
            at_us: 300,
            hop: 0,
            phase: Phase::Close,
        },
        Event::TcpInfo {
            at_us: 900,
            fd: 3,
            when: "end".into(),
            info: info(5, 4, 79, 860),
        },
        Event::TcpInfo {
            at_us: 920,
            fd: 3,
            when: "before_close".into(),
            info: info(5, 4, 79, 860),
        },
        Event::Closed {
            at_us: 950,
            fd: 3,
            first_fin: "client".into(),
            fin_evidence: FinEvidence::NoFinBeforeClose,
            unread_bytes: Some(0),
            body_unread: false,
        },
        Event::KernelClose {
            at_us: 1_400,
            fd: 3,
            local,
            peer,
            client: vec![
                SocketStateSeen {
                    after_close_us: 20,
                    state: "FIN_WAIT2".into(),
                    timer_ms: None,
                },
                SocketStateSeen {
                    after_close_us: 1_150,
                    state: "TIME_WAIT".into(),
                    timer_ms: Some(59_999),
                },
            ],
            server: vec![],
            source: "netlink sock_diag, the exact 4-tuple (as `ss -tan`), 20 syscalls".into(),
            error: None,
        },
        Event::Done {
            at_us: 1_500,
            exit_code: 0,
        },
    ]
}

/// `--kernel-view` on loopback against a server that closes first (HTTP/1.0): the route is
/// local, and the server's side, visible on this host, holds TIME_WAIT.
pub fn kernel_view_server_closes_first() -> Vec<Event> {
    use crate::event::{KernelLink, KernelRoute, Seen, SocketStateSeen};
    let local: std::net::SocketAddr = "127.0.0.1:49432".parse().unwrap();
    let peer: std::net::SocketAddr = "127.0.0.1:8000".parse().unwrap();
    vec![
        Event::KernelPath {
            at_us: 260,
            fd: 3,
            local,
            peer,
            route: Box::new(Seen::Found(KernelRoute {
                kind: "local".into(),
                table: "main".into(),
                dev: "lo".into(),
                ifindex: 1,
                gateway: None,
                prefsrc: Some("127.0.0.1".parse().unwrap()),
                source: "netlink RTM_GETROUTE (as `ip route get 127.0.0.1`)".into(),
            })),
            link: Some(Box::new(Seen::Found(KernelLink {
                name: "lo".into(),
                ifindex: 1,
                mtu: 65536,
                mac: None,
                link_type: "loopback".into(),
                operstate: "UNKNOWN".into(),
                source: "netlink RTM_GETLINK (as `ip link show`)".into(),
            }))),
            neighbour: None,
            port_range: Box::new(Seen::Failed {
                error:
                    "/proc/sys/net/ipv4/ip_local_port_range: No such file or directory (os error 2)"
                        .into(),
            }),
            syscalls: 8,
        },
        Event::Closed {
            at_us: 950,
            fd: 3,
            first_fin: "server".into(),
            fin_evidence: FinEvidence::RecvfromEof,
            unread_bytes: Some(0),
            body_unread: false,
        },
        Event::KernelClose {
            at_us: 1_000,
            fd: 3,
            local,
            peer,
            client: vec![SocketStateSeen {
                after_close_us: 26,
                state: "gone".into(),
                timer_ms: None,
            }],
            server: vec![SocketStateSeen {
                after_close_us: 26,
                state: "TIME_WAIT".into(),
                timer_ms: Some(60_000),
            }],
            source: "netlink sock_diag, the exact 4-tuple (as `ss -tan`), 8 syscalls".into(),
            error: None,
        },
    ]
}

/// `--packets` on loopback for a plain-HTTP request: the capture as the ladder sees it.
pub fn packets_plain_http() -> Vec<Event> {
    let c: std::net::SocketAddr = "127.0.0.1:43210".parse().unwrap();
    let w: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let pkt = |at_us: u64, out: bool, flags: &str, seq: &str, len: usize, what: &str| {
        let (src, dst) = if out { (c, w) } else { (w, c) };
        Event::Packet {
            at_us,
            direction: if out { "out" } else { "in" }.into(),
            src,
            dst,
            flags: Some(flags.into()),
            payload_len: len,
            what: what.into(),
            line: format!(
                "1700000000.{at_us:06} lo    {} IP {src} > {dst}: Flags [{flags}], {seq}, length {len}",
                if out { "Out" } else { "In " }
            ),
        }
    };
    vec![
        Event::CaptureStart {
            at_us: 5,
            interface: Some("lo".into()),
            hosts: vec!["127.0.0.1".parse().unwrap()],
            error: None,
            hint: None,
        },
        pkt(100, true, "S", "seq 1000", 0, ""),
        pkt(110, false, "S.", "seq 2000, ack 1001", 0, ""),
        pkt(115, true, ".", "ack 1", 0, ""),
        pkt(
            200,
            true,
            "P.",
            "seq 1:79, ack 1",
            78,
            "HTTP request GET / HTTP/1.1",
        ),
        pkt(205, false, ".", "ack 79", 0, ""),
        pkt(
            400,
            false,
            "P.",
            "seq 1:301, ack 79",
            300,
            "HTTP response HTTP/1.1 301 Moved Permanently",
        ),
        pkt(405, true, ".", "ack 301", 0, ""),
        pkt(500, true, "F.", "seq 79, ack 301", 0, ""),
        pkt(510, false, "F.", "seq 301, ack 80", 0, ""),
        pkt(515, true, ".", "ack 302", 0, ""),
        Event::CaptureDone {
            at_us: 600,
            interface: "lo".into(),
            linktype: "loopback".into(),
            packets: 10,
            dropped: 0,
            dropped_known: true,
            notes: vec![],
            pcap: None,
        },
    ]
}

/// `wtcurl https://wetransfer.com/ --packets` in the lab: the TLS connection's packets as the
/// ladder sees them (lines and payload descriptions from captures/wtcurl-follow, times made up).
pub fn packets_https() -> Vec<Event> {
    let c: std::net::SocketAddr = "[2001:db8::2]:54154".parse().unwrap();
    let w: std::net::SocketAddr = "[2001:db8::1]:443".parse().unwrap();
    let pkt = |at_us: u64, out: bool, flags: &str, len: usize, what: &str, rest: &str| {
        let (src, dst) = if out { (c, w) } else { (w, c) };
        Event::Packet {
            at_us,
            direction: if out { "out" } else { "in" }.into(),
            src,
            dst,
            flags: Some(flags.into()),
            payload_len: len,
            what: what.into(),
            line: format!("1700000000.{at_us:06} {rest}"),
        }
    };
    vec![
        Event::CaptureStart {
            at_us: 5,
            interface: Some("wtc-c".into()),
            hosts: vec!["2001:db8::1".parse().unwrap()],
            error: None,
            hint: None,
        },
        pkt(
            100,
            true,
            "S",
            0,
            "",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [S], seq 1660361026, win 64800, options [mss 1440,sackOK,TS val 1466126158 ecr 0,nop,wscale 10], length 0",
        ),
        pkt(
            131,
            false,
            "S.",
            0,
            "",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [S.], seq 1892009485, ack 1660361027, win 64260, options [mss 1440,sackOK,TS val 3253463459 ecr 1466126158,nop,wscale 10], length 0",
        ),
        pkt(
            139,
            true,
            ".",
            0,
            "",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [.], ack 1, win 64, options [nop,nop,TS val 1466126158 ecr 3253463459], length 0",
        ),
        pkt(
            1333,
            true,
            "P.",
            256,
            "TLS ClientHello",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [P.], seq 1:257, ack 1, win 64, options [nop,nop,TS val 1466126159 ecr 3253463459], length 256: TLS ClientHello",
        ),
        pkt(
            1366,
            false,
            ".",
            0,
            "",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [.], ack 257, win 63, options [nop,nop,TS val 3253463460 ecr 1466126159], length 0",
        ),
        pkt(
            1869,
            false,
            "P.",
            888,
            "TLS ServerHello, ChangeCipherSpec, application data x4",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [P.], seq 1:889, ack 257, win 63, options [nop,nop,TS val 3253463460 ecr 1466126159], length 888: TLS ServerHello, ChangeCipherSpec, application data x4",
        ),
        pkt(
            1876,
            true,
            ".",
            0,
            "",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [.], ack 889, win 66, options [nop,nop,TS val 1466126159 ecr 3253463460], length 0",
        ),
        pkt(
            2922,
            true,
            "P.",
            80,
            "TLS ChangeCipherSpec, application data",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [P.], seq 257:337, ack 889, win 66, options [nop,nop,TS val 1466126160 ecr 3253463460], length 80: TLS ChangeCipherSpec, application data",
        ),
        pkt(
            3128,
            false,
            "P.",
            303,
            "TLS application data",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [P.], seq 889:1192, ack 337, win 63, options [nop,nop,TS val 3253463462 ecr 1466126160], length 303: TLS application data",
        ),
        pkt(
            3193,
            false,
            "P.",
            303,
            "TLS application data",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [P.], seq 1192:1495, ack 337, win 63, options [nop,nop,TS val 3253463462 ecr 1466126160], length 303: TLS application data",
        ),
        pkt(
            3511,
            true,
            "P.",
            101,
            "TLS application data",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [P.], seq 337:438, ack 1495, win 66, options [nop,nop,TS val 1466126161 ecr 3253463462], length 101: TLS application data",
        ),
        pkt(
            3614,
            false,
            "P.",
            297,
            "TLS application data",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [P.], seq 1495:1792, ack 438, win 63, options [nop,nop,TS val 3253463462 ecr 1466126161], length 297: TLS application data",
        ),
        pkt(
            4515,
            true,
            "P.",
            24,
            "TLS application data",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [P.], seq 438:462, ack 1792, win 66, options [nop,nop,TS val 1466126162 ecr 3253463462], length 24: TLS application data",
        ),
        pkt(
            4619,
            false,
            "F.",
            0,
            "",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [F.], seq 1792, ack 462, win 63, options [nop,nop,TS val 3253463463 ecr 1466126162], length 0",
        ),
        pkt(
            4814,
            true,
            "F.",
            0,
            "",
            "IP6 2001:db8::2.54154 > 2001:db8::1.443: Flags [F.], seq 462, ack 1793, win 66, options [nop,nop,TS val 1466126162 ecr 3253463463], length 0",
        ),
        pkt(
            4844,
            false,
            ".",
            0,
            "",
            "IP6 2001:db8::1.443 > 2001:db8::2.54154: Flags [.], ack 463, win 63, options [nop,nop,TS val 3253463463 ecr 1466126162], length 0",
        ),
        Event::CaptureDone {
            at_us: 6000,
            interface: "wtc-c".into(),
            linktype: "EN10MB".into(),
            packets: 16,
            dropped: 0,
            dropped_known: true,
            notes: vec![],
            pcap: None,
        },
    ]
}

/// `wtcurl https://wetransfer.com/` over TLS 1.3 against the demo stand-in (DNS left out): the
/// socket, connect, handshake, request, response and close, as the syscall ladder needs them.
pub fn https_200() -> Vec<Event> {
    let web: std::net::SocketAddr = "127.0.0.1:8443".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:43211".parse().unwrap();
    let rec = |at_us: u64, direction: &str, content_type: &str, length: usize, encrypted: bool| {
        Event::TlsRecord {
            at_us,
            direction: direction.into(),
            content_type: content_type.into(),
            version: "TLS 1.2".into(),
            length,
            encrypted,
        }
    };
    let msg = |at_us: u64, direction: &str, name: &str, length: usize, encrypted: bool| {
        Event::TlsMessage {
            at_us,
            direction: direction.into(),
            name: name.into(),
            length,
            encrypted,
            source: if encrypted {
                "decrypted by wtcurl with the traffic secret rustls logged"
            } else {
                "read from the record"
            }
            .into(),
            detail: json!({}),
        }
    };
    let poll = |t: u64, events: &str| {
        sys(
            "poll",
            3,
            1,
            None,
            t,
            json!({"fds": [{"fd": 3, "events": events, "revents": events}], "timeout_ms": -1}),
        )
    };
    let send = |t: u64, n: i64| {
        sys(
            "sendto",
            3,
            n,
            None,
            t,
            json!({"len": n, "flags": "MSG_NOSIGNAL", "to": null}),
        )
    };
    let recv = |t: u64, n: i64| {
        sys(
            "recvfrom",
            3,
            n,
            None,
            t,
            json!({"len": 16645, "from": null}),
        )
    };
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 100,
            hop: 0,
            phase: Phase::Tcp,
        },
        sys(
            "socket",
            3,
            3,
            None,
            110,
            json!({"domain": "AF_INET", "type": "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0}),
        ),
        sys(
            "connect",
            3,
            -1,
            Some("EINPROGRESS"),
            120,
            json!({"addr": "127.0.0.1:8443"}),
        ),
        sys(
            "getsockname",
            3,
            0,
            None,
            127,
            json!({"addr": "127.0.0.1:43211"}),
        ),
        Event::ConnectAttempt {
            at_us: 130,
            fd: 3,
            addr: web,
            local: Some(local),
        },
        poll(140, "POLLOUT"),
        sys(
            "getsockopt",
            3,
            0,
            None,
            150,
            json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 0}),
        ),
        Event::ConnectResult {
            at_us: 170,
            fd: 3,
            addr: web,
            ok: true,
            error: None,
            local: Some(local),
            elapsed_us: 40,
        },
        Event::Phase {
            at_us: 200,
            hop: 0,
            phase: Phase::Tls,
        },
        Event::TlsStart {
            at_us: 210,
            fd: 3,
            server_name: Some("wetransfer.com".into()),
            versions: vec!["TLS 1.3".into(), "TLS 1.2".into()],
            alpn_offered: vec!["http/1.1".into()],
            trust: "the demo CA".into(),
        },
        send(220, 256),
        rec(230, "sent", "handshake", 251, false),
        msg(231, "sent", "ClientHello", 247, false),
        poll(240, "POLLIN"),
        recv(500, 753),
        rec(510, "received", "handshake", 122, false),
        msg(511, "received", "ServerHello", 118, false),
        rec(512, "received", "change_cipher_spec", 1, false),
        msg(513, "received", "ChangeCipherSpec", 1, false),
        rec(514, "received", "application_data", 615, true),
        msg(515, "received", "EncryptedExtensions", 21, true),
        msg(516, "received", "Certificate", 438, true),
        Event::TlsVerified {
            at_us: 517,
            ok: true,
            anchor: Some("CN=wtcurl demo CA (the demo CA)".into()),
            matched_name: Some("DNS:wetransfer.com".into()),
            detail: String::new(),
        },
        msg(518, "received", "CertificateVerify", 75, true),
        msg(519, "received", "Finished", 48, true),
        send(600, 80),
        rec(610, "sent", "change_cipher_spec", 1, false),
        msg(611, "sent", "ChangeCipherSpec", 1, false),
        rec(612, "sent", "application_data", 69, true),
        msg(613, "sent", "Finished", 48, true),
        Event::TlsDone {
            at_us: 620,
            version: "TLS 1.3".into(),
            cipher_suite: "TLS_AES_256_GCM_SHA384".into(),
            key_exchange: Some("x25519".into()),
            alpn: Some("http/1.1".into()),
            round_trips: 1,
            session_tickets: 0,
        },
        Event::Phase {
            at_us: 630,
            hop: 0,
            phase: Phase::Request,
        },
        send(640, 101),
        rec(650, "sent", "application_data", 96, true),
        Event::RequestWritten {
            at_us: 660,
            fd: 3,
            head: "GET / HTTP/1.1\r\nHost: wetransfer.com\r\nUser-Agent: wtcurl/0.1.0\r\nAccept: */*\r\n"
                .into(),
            head_masked: false,
            head_bytes: 79,
            body_bytes: 0,
        },
        Event::Phase {
            at_us: 670,
            hop: 0,
            phase: Phase::Response,
        },
        poll(680, "POLLIN"),
        recv(900, 525),
        rec(910, "received", "application_data", 179, true),
        msg(911, "received", "NewSessionTicket", 77, true),
        msg(912, "received", "NewSessionTicket", 77, true),
        rec(913, "received", "application_data", 336, true),
        Event::FirstByte { at_us: 920 },
        Event::ResponseHead {
            at_us: 930,
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "OK".into(),
            headers: vec![("Content-Length".into(), "209".into())],
            head_bytes: 110,
            framing: "content-length".into(),
            content_length: Some(209),
            encoding: None,
        },
        Event::BodyDone {
            at_us: 940,
            wire_bytes: 209,
            body_bytes: 209,
            recv_calls: 1,
            chunks: 0,
            trailers: vec![],
            decoded: None,
            written: true,
        },
        Event::Phase {
            at_us: 950,
            hop: 0,
            phase: Phase::Close,
        },
        send(960, 24),
        Event::TlsAlert {
            at_us: 970,
            direction: "sent".into(),
            level: "warning".into(),
            description: "close_notify".into(),
        },
        sys("ioctl", 3, 0, None, 971, json!({"request": "FIONREAD", "value": 0})),
        sys("getsockopt", 3, 0, None, 972, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 232})),
        Event::TcpInfo {
            at_us: 979,
            fd: 3,
            when: "before_close".into(),
            info: TcpInfoView { state: 1, ..Default::default() },
        },
        sys("close", 3, 0, None, 980, json!({})),
        Event::Closed {
            at_us: 990,
            fd: 3,
            first_fin: "client".into(),
            fin_evidence: FinEvidence::NoFinBeforeClose,
            unread_bytes: Some(0),
            body_unread: false,
        },
        Event::Done {
            at_us: 1000,
            exit_code: 0,
        },
    ]
}

/// Like [`sys`], with the start and end times as recorded.
fn sys_at(
    name: &'static str,
    fd: i32,
    ret: i64,
    (start_us, end_us): (u64, u64),
    args: serde_json::Value,
) -> Event {
    Event::Syscall(SyscallRecord {
        name,
        fd: Some(fd),
        ret,
        errno: None,
        start_us,
        end_us,
        args: crate::event::SyscallArgs::from_json(args),
    })
}

/// [`https_200`] whose close went the other way, as recorded from `wtcurl --demo --trace-json`
/// (hop 2; times shifted to this fixture, fd and addresses renamed, the kernel view's netlink
/// syscalls left out): TCP_INFO said ESTABLISHED at the end, wtcurl sent close_notify, the
/// stand-in answered it by closing, and TCP_INFO just before close() said CLOSE_WAIT (one more
/// byte and segment received: the FIN). The server's FIN came first, and the kernel view shows
/// the server holding TIME_WAIT.
pub fn https_server_closes_after_close_notify() -> Vec<Event> {
    use crate::event::SocketStateSeen;
    let web: std::net::SocketAddr = "127.0.0.1:8443".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:43211".parse().unwrap();
    let mut events: Vec<Event> = https_200()
        .into_iter()
        .take_while(|e| {
            !matches!(
                e,
                Event::Phase {
                    phase: Phase::Close,
                    ..
                }
            )
        })
        .collect();
    let info =
        |state, rttvar_us, snd_cwnd, bytes_acked, bytes_received, segs_out, segs_in| TcpInfoView {
            state,
            rtt_us: 47,
            rttvar_us,
            snd_mss: 32768,
            rcv_mss: 756,
            snd_cwnd,
            retransmits: 0,
            total_retrans: 0,
            bytes_acked,
            bytes_received,
            segs_out,
            segs_in,
        };
    let tcp_info = json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 280});
    events.extend([
        Event::Phase {
            at_us: 950,
            hop: 0,
            phase: Phase::Close,
        },
        sys_at("getsockopt", 3, 0, (962, 969), tcp_info.clone()),
        Event::TcpInfo {
            at_us: 981,
            fd: 3,
            when: "end".into(),
            info: info(1, 59, 13, 438, 1_281, 6, 5),
        },
        sys_at(
            "sendto",
            3,
            24,
            (1_016, 1_097),
            json!({"len": 24, "flags": "MSG_NOSIGNAL", "to": null}),
        ),
        Event::TlsRecord {
            at_us: 1_114,
            direction: "sent".into(),
            content_type: "application_data".into(),
            version: "TLS 1.2".into(),
            length: 19,
            encrypted: true,
        },
        Event::TlsAlert {
            at_us: 1_171,
            direction: "sent".into(),
            level: "warning".into(),
            description: "close_notify".into(),
        },
        sys_at(
            "ioctl",
            3,
            0,
            (1_181, 1_185),
            json!({"request": "FIONREAD", "value": 0}),
        ),
        sys_at("getsockopt", 3, 0, (1_202, 1_203), tcp_info),
        Event::TcpInfo {
            at_us: 1_212,
            fd: 3,
            when: "before_close".into(),
            info: info(8, 44, 14, 462, 1_282, 7, 6),
        },
        sys_at("close", 3, 0, (1_224, 1_258), json!({})),
        Event::Closed {
            at_us: 1_265,
            fd: 3,
            first_fin: "server".into(),
            fin_evidence: FinEvidence::CloseWait,
            unread_bytes: Some(0),
            body_unread: false,
        },
        Event::KernelClose {
            at_us: 1_420,
            fd: 3,
            local,
            peer: web,
            client: vec![SocketStateSeen {
                after_close_us: 24,
                state: "gone".into(),
                timer_ms: None,
            }],
            server: vec![SocketStateSeen {
                after_close_us: 24,
                state: "TIME_WAIT".into(),
                timer_ms: Some(60_000),
            }],
            source: "netlink sock_diag, the exact 4-tuple (as `ss -tan`), 8 syscalls".into(),
            error: None,
        },
        Event::Done {
            at_us: 1_557,
            exit_code: 0,
        },
    ]);
    events
}

/// `wtcurl -f --kernel-view http://127.0.0.1:18404/` against a server that answers 404 with a
/// 2 MB body: -f stops after the head, close() finds 62,464 bytes unread, and Linux resets the
/// connection (tcpdump on lo showed `Flags [R.]` and no FIN from wtcurl's side).
pub fn closed_with_unread_body() -> Vec<Event> {
    use crate::event::{KernelLink, KernelRoute, Seen, SocketStateSeen};
    let web: std::net::SocketAddr = "127.0.0.1:18404".parse().unwrap();
    let local: std::net::SocketAddr = "127.0.0.1:52502".parse().unwrap();
    let info = |segs_out, segs_in, acked, received| TcpInfoView {
        state: 1,
        rtt_us: 51,
        rttvar_us: 28,
        snd_mss: 32768,
        rcv_mss: 47616,
        snd_cwnd: 11,
        bytes_acked: acked,
        bytes_received: received,
        segs_out,
        segs_in,
        ..Default::default()
    };
    vec![
        Event::TraceStart { schema: 1, epoch_us: 1_700_000_000_000_000, pid: 4242 },
        Event::Phase { at_us: 10, hop: 0, phase: Phase::Url },
        Event::Url {
            at_us: 20,
            input: "http://127.0.0.1:18404/".into(),
            input_masked: false,
            url: "http://127.0.0.1:18404/".into(),
            scheme: "http".into(),
            scheme_inferred: false,
            host: "127.0.0.1".into(),
            host_ascii: "127.0.0.1".into(),
            port: 18404,
            port_inferred: false,
            target: "/".into(),
            basic_auth_user: None,
        },
        Event::Phase { at_us: 30, hop: 0, phase: Phase::Dns },
        Event::Resolved { at_us: 40, host: "127.0.0.1".into(), source: AddressSource::Literal, addresses: vec![web.ip()], elapsed_us: 1 },
        Event::Phase { at_us: 50, hop: 0, phase: Phase::Tcp },
        sys("socket", 5, 5, None, 60, json!({"domain": "AF_INET", "type": "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0})),
        sys("connect", 5, -1, Some("EINPROGRESS"), 70, json!({"addr": "127.0.0.1:18404"})),
        sys("getsockname", 5, 0, None, 77, json!({"addr": "127.0.0.1:52502"})),
        Event::ConnectAttempt { at_us: 80, fd: 5, addr: web, local: Some(local) },
        sys("poll", 5, 1, None, 90, json!({"fds": [{"fd": 5, "events": "POLLOUT", "revents": "POLLOUT"}], "timeout_ms": -1})),
        sys("getsockopt", 5, 0, None, 100, json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 0})),
        sys("getpeername", 5, 0, None, 120, json!({"addr": "127.0.0.1:18404"})),
        sys("getsockopt", 5, 0, None, 130, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 280})),
        Event::ConnectResult { at_us: 140, fd: 5, addr: web, ok: true, error: None, local: Some(local), elapsed_us: 70 },
        Event::TcpInfo { at_us: 150, fd: 5, when: "after_connect".into(), info: info(2, 1, 1, 0) },
        Event::KernelPath {
            at_us: 260,
            fd: 5,
            local,
            peer: web,
            route: Box::new(Seen::Found(KernelRoute {
                kind: "local".into(),
                table: "main".into(),
                dev: "lo".into(),
                ifindex: 1,
                gateway: None,
                prefsrc: Some("127.0.0.1".parse().unwrap()),
                source: "netlink RTM_GETROUTE (as `ip route get 127.0.0.1`)".into(),
            })),
            link: Some(Box::new(Seen::Found(KernelLink {
                name: "lo".into(),
                ifindex: 1,
                mtu: 65536,
                mac: None,
                link_type: "loopback".into(),
                operstate: "UNKNOWN".into(),
                source: "netlink RTM_GETLINK (as `ip link show`)".into(),
            }))),
            neighbour: None,
            port_range: Box::new(Seen::Found(crate::event::PortRange {
                low: 32768,
                high: 60999,
                local_port: 52502,
                source: "/proc/sys/net/ipv4/ip_local_port_range".into(),
            })),
            syscalls: 8,
        },
        Event::Phase { at_us: 300, hop: 0, phase: Phase::Request },
        sys("sendto", 5, 80, None, 310, json!({"len": 80, "flags": "MSG_NOSIGNAL", "to": null})),
        Event::RequestWritten {
            at_us: 320,
            fd: 5,
            head: "GET / HTTP/1.1\r\nHost: 127.0.0.1:18404\r\nUser-Agent: wtcurl/0.1.0\r\nAccept: */*\r\n".into(),
            head_masked: false,
            head_bytes: 80,
            body_bytes: 0,
        },
        Event::Phase { at_us: 330, hop: 0, phase: Phase::Response },
        sys("poll", 5, 1, None, 340, json!({"fds": [{"fd": 5, "events": "POLLIN", "revents": "POLLIN"}], "timeout_ms": -1})),
        sys("recvfrom", 5, 65536, None, 800, json!({"len": 262144, "from": null})),
        Event::FirstByte { at_us: 810 },
        Event::ResponseHead {
            at_us: 820,
            version: "HTTP/1.1".into(),
            status: 404,
            reason: "Not Found".into(),
            headers: vec![("Content-Length".into(), "2097152".into())],
            head_bytes: 51,
            framing: "content-length".into(),
            content_length: Some(2_097_152),
            encoding: None,
        },
        Event::Phase { at_us: 830, hop: 0, phase: Phase::Close },
        sys("getsockopt", 5, 0, None, 840, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 280})),
        Event::TcpInfo { at_us: 850, fd: 5, when: "end".into(), info: info(5, 6, 81, 128_000) },
        sys("ioctl", 5, 0, None, 855, json!({"request": "FIONREAD", "value": 62464})),
        sys("getsockopt", 5, 0, None, 861, json!({"level": "SOL_TCP", "optname": "TCP_INFO", "len": 280})),
        Event::TcpInfo { at_us: 869, fd: 5, when: "before_close".into(), info: info(5, 6, 81, 128_000) },
        sys("close", 5, 0, None, 870, json!({})),
        Event::Closed { at_us: 880, fd: 5, first_fin: "none".into(), fin_evidence: FinEvidence::NoFinBeforeClose, unread_bytes: Some(62_464), body_unread: true },
        Event::KernelClose {
            at_us: 990,
            fd: 5,
            local,
            peer: web,
            client: vec![SocketStateSeen { after_close_us: 15, state: "gone".into(), timer_ms: None }],
            server: vec![],
            source: "netlink sock_diag, the exact 4-tuple (as `ss -tan`), 8 syscalls".into(),
            error: None,
        },
        Event::Error {
            at_us: 1_000,
            phase: Phase::Response,
            label: Label::HttpError,
            message: "The requested URL returned error: 404".into(),
            hint: Some("-f turns HTTP error statuses into exit code 22; drop -f to see the error body".into()),
            exit_code: 22,
        },
        Event::Done { at_us: 1_010, exit_code: 22 },
    ]
}

/// URL and DNS (an IP literal) of `http://127.0.0.1:PORT/`, then the TCP phase's socket and
/// non-blocking connect: the start of the failed-connect fixtures.
fn literal_until_connect(port: u16) -> Vec<Event> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let url = format!("http://{addr}/");
    vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 10,
            hop: 0,
            phase: Phase::Url,
        },
        Event::Url {
            at_us: 20,
            input: url.clone(),
            input_masked: false,
            url,
            scheme: "http".into(),
            scheme_inferred: false,
            host: "127.0.0.1".into(),
            host_ascii: "127.0.0.1".into(),
            port,
            port_inferred: false,
            target: "/".into(),
            basic_auth_user: None,
        },
        Event::Phase {
            at_us: 30,
            hop: 0,
            phase: Phase::Dns,
        },
        Event::Resolved {
            at_us: 40,
            host: "127.0.0.1".into(),
            source: AddressSource::Literal,
            addresses: vec![addr.ip()],
            elapsed_us: 1,
        },
        Event::Phase {
            at_us: 50,
            hop: 0,
            phase: Phase::Tcp,
        },
        sys(
            "socket",
            4,
            4,
            None,
            60,
            json!({"domain": "AF_INET", "type": "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0}),
        ),
        sys(
            "connect",
            4,
            -1,
            Some("EINPROGRESS"),
            70,
            json!({"addr": addr.to_string()}),
        ),
        sys(
            "getsockname",
            4,
            0,
            None,
            77,
            json!({"addr": "127.0.0.1:51000"}),
        ),
        Event::ConnectAttempt {
            at_us: 80,
            fd: 4,
            addr,
            local: Some("127.0.0.1:51000".parse().unwrap()),
        },
    ]
}

/// `wtcurl --compressed http://127.0.0.1:40100/` against a server that sends 650 bytes of text
/// gzip-compressed to 40 bytes in 2 chunks of 20 (`14\r\n` + 20 + `\r\n` each, then `0\r\n\r\n`: 57 bytes): the body line gives the wire
/// bytes (with the chunk framing), the encoded body and the decoded bytes written out.
pub fn compressed_gzip_chunked() -> Vec<Event> {
    let addr: std::net::SocketAddr = "127.0.0.1:40100".parse().unwrap();
    let mut v = literal_until_connect(addr.port());
    v.extend([
        sys("poll", 4, 1, None, 90, json!({"fds": [{"fd": 4, "events": "POLLOUT", "revents": "POLLOUT"}], "timeout_ms": -1})),
        sys("getsockopt", 4, 0, None, 100, json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 0, "value_name": null})),
        Event::ConnectResult { at_us: 110, fd: 4, addr, ok: true, error: None, local: Some("127.0.0.1:51000".parse().unwrap()), elapsed_us: 40 },
        Event::Phase { at_us: 120, hop: 0, phase: Phase::Request },
        sys("sendto", 4, 112, None, 130, json!({"len": 112, "flags": "MSG_NOSIGNAL", "to": null})),
        Event::RequestWritten {
            at_us: 140,
            fd: 4,
            head: "GET / HTTP/1.1\r\nHost: 127.0.0.1:40100\r\nUser-Agent: wtcurl/0.1.0\r\nAccept: */*\r\nAccept-Encoding: deflate, gzip\r\n".into(),
            head_masked: false,
            head_bytes: 112,
            body_bytes: 0,
        },
        Event::Phase { at_us: 150, hop: 0, phase: Phase::Response },
        sys("poll", 4, 1, None, 160, json!({"fds": [{"fd": 4, "events": "POLLIN", "revents": "POLLIN"}], "timeout_ms": -1})),
        sys("recvfrom", 4, 155, None, 170, json!({"len": 262144, "from": null})),
        Event::FirstByte { at_us: 175 },
        Event::ResponseHead {
            at_us: 180,
            version: "HTTP/1.1".into(),
            status: 200,
            reason: "OK".into(),
            headers: vec![("Content-Encoding".into(), "gzip".into()), ("Transfer-Encoding".into(), "chunked".into())],
            head_bytes: 98,
            framing: "chunked".into(),
            content_length: None,
            encoding: Some("gzip".into()),
        },
        Event::BodyDone {
            at_us: 190,
            wire_bytes: 57,
            body_bytes: 40,
            recv_calls: 1,
            chunks: 2,
            trailers: vec![],
            decoded: Some(crate::event::Decoded { encoding: "gzip".into(), bytes: 650 }),
            written: true,
        },
        Event::Phase { at_us: 200, hop: 0, phase: Phase::Close },
        sys("close", 4, 0, None, 210, json!({})),
        Event::Closed { at_us: 220, fd: 4, first_fin: "client".into(), fin_evidence: FinEvidence::NoFinBeforeClose, unread_bytes: Some(0), body_unread: false },
        Event::Done { at_us: 230, exit_code: 0 },
    ]);
    v
}

/// `wtcurl http://127.0.0.1:48623/` with nothing listening: the SYN is answered with RST
/// (tcpdump on lo: `Flags [S]`, then `Flags [R.]`), SO_ERROR says ECONNREFUSED, exit 7.
pub fn refused_connect() -> Vec<Event> {
    let addr: std::net::SocketAddr = "127.0.0.1:48623".parse().unwrap();
    let mut v = literal_until_connect(addr.port());
    v.extend([
        sys("poll", 4, 1, None, 90, json!({"fds": [{"fd": 4, "events": "POLLOUT", "revents": "POLLOUT|POLLERR|POLLHUP"}], "timeout_ms": -1})),
        sys("getsockopt", 4, 0, None, 100, json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 111, "value_name": "ECONNREFUSED"})),
        Event::ConnectResult { at_us: 110, fd: 4, addr, ok: false, error: Some("ECONNREFUSED (Connection refused)".into()), local: Some("127.0.0.1:51000".parse().unwrap()), elapsed_us: 40 },
        sys("close", 4, 0, None, 120, json!({})),
        Event::Error {
            at_us: 140,
            phase: Phase::Tcp,
            label: Label::ConnectRefused,
            message: "Failed to connect to 127.0.0.1 port 48623 after 0 ms: Connection refused (last: 127.0.0.1:48623; tried 127.0.0.1:48623: ECONNREFUSED)".into(),
            hint: Some("nothing listens on that port: the kernel at the other end answered the SYN with RST".into()),
            exit_code: 7,
        },
        Event::Done { at_us: 150, exit_code: 7 },
    ]);
    v
}

/// `wtcurl --connect-timeout 0.3 http://127.0.0.1:18500/` against a listener whose accept queue
/// is full: the SYN gets no answer (tcpdump: `Flags [S]` only), poll() times out, exit 28. The
/// one address timed out; nothing else connected.
pub fn connect_timeout() -> Vec<Event> {
    let addr: std::net::SocketAddr = "127.0.0.1:18500".parse().unwrap();
    let mut v = literal_until_connect(addr.port());
    v.extend([
        // poll() waited the whole 300 ms.
        Event::Syscall(SyscallRecord {
            name: "poll",
            fd: Some(4),
            ret: 0,
            errno: None,
            start_us: 95,
            end_us: 300_087,
            args: crate::event::SyscallArgs::from_json(
                json!({"fds": [{"fd": 4, "events": "POLLOUT", "revents": ""}], "timeout_ms": 300}),
            ),
        }),
        Event::ConnectResult {
            at_us: 300_100,
            fd: 4,
            addr,
            ok: false,
            error: Some(crate::net::TIMED_OUT.into()),
            local: Some("127.0.0.1:51000".parse().unwrap()),
            elapsed_us: 300_030,
        },
        sys("close", 4, 0, None, 300_110, json!({})),
        Event::Error {
            at_us: 300_130,
            phase: Phase::Tcp,
            label: Label::Timeout,
            message: "Connection timed out after 300 ms connecting to 127.0.0.1 port 18500".into(),
            hint: Some("--connect-timeout ran out before the TCP handshake finished".into()),
            exit_code: 28,
        },
        Event::Done {
            at_us: 300_140,
            exit_code: 28,
        },
    ]);
    v
}

/// `wtcurl --dns-servers 127.0.0.1:48623 http://nope.test/` with a DNS server that never answers
/// (resolv.conf: timeout 5, attempts 2): two tries of A and AAAA, each poll() times out after
/// 5 s with nothing received, then the lookup fails (exit 6).
pub fn dns_timeout() -> Vec<Event> {
    let dns: std::net::SocketAddr = "127.0.0.1:48623".parse().unwrap();
    let poll_timeout = |start: u64, end: u64| {
        Event::Syscall(SyscallRecord {
            name: "poll",
            fd: Some(4),
            ret: 0,
            errno: None,
            start_us: start,
            end_us: end,
            args: crate::event::SyscallArgs::from_json(
                json!({"fds": [{"fd": 4, "events": "POLLIN", "revents": ""}], "timeout_ms": 5000}),
            ),
        })
    };
    let query = |at_us: u64, id: u16, qtype: &str, attempt: u32| Event::DnsQuery {
        at_us,
        server: dns,
        transport: "udp".into(),
        id,
        qname: "nope.test.".into(),
        qtype: qtype.into(),
        flags: "rd".into(),
        size: 27,
        attempt,
    };
    let timeout = |at_us: u64, attempt: u32, next: &str, next_server| Event::DnsTimeout {
        at_us,
        server: dns,
        transport: "udp".into(),
        attempt,
        attempts: 2,
        unanswered: vec!["A (id 0x5a09)".into(), "AAAA (id 0x03a3)".into()],
        waited_ms: 5_000,
        timeout_s: 5,
        cut_by_deadline: false,
        next: next.into(),
        next_server,
    };
    let try_once = |base: u64, attempt: u32, next: &str, next_server| {
        vec![
            sys(
                "socket",
                4,
                4,
                None,
                base,
                json!({"domain": "AF_INET", "type": "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0}),
            ),
            sys(
                "connect",
                4,
                0,
                None,
                base + 8,
                json!({"addr": "127.0.0.1:48623"}),
            ),
            sys(
                "sendto",
                4,
                27,
                None,
                base + 16,
                json!({"len": 27, "flags": "MSG_NOSIGNAL", "to": null}),
            ),
            query(base + 24, 0x5a09, "A", attempt),
            sys(
                "sendto",
                4,
                27,
                None,
                base + 32,
                json!({"len": 27, "flags": "MSG_NOSIGNAL", "to": null}),
            ),
            query(base + 40, 0x03a3, "AAAA", attempt),
            poll_timeout(base + 50, base + 5_000_050),
            timeout(base + 5_000_060, attempt, next, next_server),
            sys("close", 4, 0, None, base + 5_000_070, json!({})),
        ]
    };
    let mut v = vec![
        Event::TraceStart {
            schema: 1,
            epoch_us: 1_700_000_000_000_000,
            pid: 4242,
        },
        Event::Phase {
            at_us: 10,
            hop: 0,
            phase: Phase::Url,
        },
        Event::Url {
            at_us: 20,
            input: "http://nope.test/".into(),
            input_masked: false,
            url: "http://nope.test/".into(),
            scheme: "http".into(),
            scheme_inferred: false,
            host: "nope.test".into(),
            host_ascii: "nope.test".into(),
            port: 80,
            port_inferred: true,
            target: "/".into(),
            basic_auth_user: None,
        },
        Event::Phase {
            at_us: 30,
            hop: 0,
            phase: Phase::Dns,
        },
        Event::ResolvConf {
            at_us: 60,
            path: "/etc/resolv.conf".into(),
            found: true,
            nameservers: vec![dns],
            search: vec![],
            ndots: 1,
            timeout_s: 5,
            attempts: 2,
            rotate: false,
            overridden_by: Some("--dns-servers".into()),
        },
    ];
    v.extend(try_once(100, 1, "next_attempt", Some(dns)));
    v.extend(try_once(5_000_200, 2, "give_up", None));
    v.extend([
        Event::Error {
            at_us: 10_000_300,
            phase: Phase::Dns,
            label: Label::DnsTimeout,
            message: "no answer for nope.test from 127.0.0.1:48623 (2 attempts, timeout 5 s each)".into(),
            hint: Some("is a DNS server listening there? ask another server with --dns-servers ADDR[:PORT], or fix the nameserver lines of /etc/resolv.conf".into()),
            exit_code: 6,
        },
        Event::Done { at_us: 10_000_310, exit_code: 6 },
    ]);
    v
}

/// `--dns-servers 127.0.0.1:1,127.0.0.1:2`, nothing listening on either: each socket is
/// connect()ed, the kernel gets an ICMP port unreachable back at once and reports ECONNREFUSED
/// (first through poll's POLLERR and recvfrom, then on the second sendto), so the lookup fails in
/// microseconds with `dns_unreachable`, no wait for the timeout.
pub fn dns_unreachable() -> Vec<Event> {
    let first: std::net::SocketAddr = "127.0.0.1:1".parse().unwrap();
    let second: std::net::SocketAddr = "127.0.0.1:2".parse().unwrap();
    let socket = |t: u64| {
        sys(
            "socket",
            4,
            4,
            None,
            t,
            json!({"domain": "AF_INET", "type": "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0}),
        )
    };
    let connect = |t: u64, to: &str| sys("connect", 4, 0, None, t, json!({"addr": to}));
    let send = |t: u64, ok: bool| {
        let (ret, errno) = if ok {
            (27, None)
        } else {
            (-1, Some("ECONNREFUSED"))
        };
        sys(
            "sendto",
            4,
            ret,
            errno,
            t,
            json!({"len": 27, "flags": "MSG_NOSIGNAL", "to": null}),
        )
    };
    let query = |at_us: u64, server, id: u16, qtype: &str| Event::DnsQuery {
        at_us,
        server,
        transport: "udp".into(),
        id,
        qname: "nope.test.".into(),
        qtype: qtype.into(),
        flags: "rd".into(),
        size: 27,
        attempt: 1,
    };
    let unreachable = |at_us: u64,
                       sent_us: u64,
                       server,
                       syscall: &str,
                       unanswered: &[&str],
                       next: &str,
                       next_server| {
        Event::DnsUnreachable {
            at_us,
            server,
            transport: "udp".into(),
            attempt: 1,
            attempts: 1,
            syscall: syscall.into(),
            errno: "ECONNREFUSED".into(),
            unanswered: unanswered.iter().map(|s| s.to_string()).collect(),
            after_us: at_us - sent_us,
            timeout_s: 5,
            next: next.into(),
            next_server,
        }
    };
    vec![
        Event::TraceStart { schema: 1, epoch_us: 1_700_000_000_000_000, pid: 4242 },
        Event::Phase { at_us: 10, hop: 0, phase: Phase::Url },
        Event::Url {
            at_us: 20,
            input: "http://nope.test/".into(),
            input_masked: false,
            url: "http://nope.test/".into(),
            scheme: "http".into(),
            scheme_inferred: false,
            host: "nope.test".into(),
            host_ascii: "nope.test".into(),
            port: 80,
            port_inferred: true,
            target: "/".into(),
            basic_auth_user: None,
        },
        Event::Phase { at_us: 30, hop: 0, phase: Phase::Dns },
        Event::ResolvConf {
            at_us: 60,
            path: "/etc/resolv.conf".into(),
            found: true,
            nameservers: vec!["192.0.2.53:53".parse().unwrap()],
            search: vec![],
            ndots: 1,
            timeout_s: 5,
            attempts: 1,
            rotate: false,
            overridden_by: Some("--dns-servers".into()),
        },
        socket(100),
        connect(108, "127.0.0.1:1"),
        send(116, true),
        query(124, first, 0x5a09, "A"),
        send(132, true),
        query(140, first, 0x03a3, "AAAA"),
        sys("poll", 4, 1, None, 148, json!({"fds": [{"fd": 4, "events": "POLLIN", "revents": "POLLERR"}], "timeout_ms": 5000})),
        sys("recvfrom", 4, -1, Some("ECONNREFUSED"), 156, json!({"len": 65535, "from": null})),
        unreachable(170, 116, first, "recvfrom", &["A (id 0x5a09)", "AAAA (id 0x03a3)"], "next_server", Some(second)),
        sys("close", 4, 0, None, 180, json!({})),
        socket(200),
        connect(208, "127.0.0.1:2"),
        send(216, true),
        query(224, second, 0x5a09, "A"),
        send(232, false),
        unreachable(248, 216, second, "sendto", &["A (id 0x5a09)"], "give_up", None),
        sys("close", 4, 0, None, 256, json!({})),
        Event::Error {
            at_us: 300,
            phase: Phase::Dns,
            label: Label::DnsUnreachable,
            message: "cannot resolve nope.test: no DNS server could be reached: 127.0.0.1:1 (ECONNREFUSED: ICMP port unreachable, nothing listens there), 127.0.0.1:2 (ECONNREFUSED: ICMP port unreachable, nothing listens there) (names tried: nope.test.)".into(),
            hint: Some("is the DNS server running, and on that address and port? check --dns-servers, or the nameserver lines of /etc/resolv.conf".into()),
            exit_code: 6,
        },
        Event::Done { at_us: 310, exit_code: 6 },
    ]
}
