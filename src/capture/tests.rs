//! Tests of the capture module: byte-level decoder fixtures, tcpdump formatting and relative
//! sequence numbers, pcap round trips through `tcpdump -r`, and live loopback captures compared
//! with a `tcpdump -i lo` running at the same time.
//!
//! Live tests need root (CAP_NET_RAW) and tcpdump: without them they print SKIP, except under
//! `CI=true`, where they fail.

use super::decode::{annotate_streams, describe_dns};
use super::format::tcpdump_plain;
use super::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------------------------------------
// Fixtures
// ------------------------------------------------------------------------------------------------

/// Ethernet (zeroed MACs, as on lo) + IPv4 127.0.0.1 -> 127.0.0.1 + TCP SYN 41234 -> 8080 with
/// Linux's SYN options, byte by byte.
const SYN_FRAME: &[u8] = &[
    // Ethernet: dst, src, type IPv4
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00, //
    // IPv4: version 4 IHL 5, TOS 0, total length 60
    0x45, 0x00, 0x00, 0x3c, //
    // id 0x1234, DF
    0x12, 0x34, 0x40, 0x00, //
    // TTL 64, protocol 6 (TCP), header checksum
    0x40, 0x06, 0x2a, 0x86, //
    127, 0, 0, 1, // source
    127, 0, 0, 1, // destination
    // TCP: source port 41234, destination port 8080
    0xa1, 0x12, 0x1f, 0x90, //
    // sequence number 3869322026
    0xe6, 0xa1, 0x2b, 0x2a, //
    // acknowledgment number 0
    0x00, 0x00, 0x00, 0x00, //
    // data offset 10 (40 bytes), flags SYN, window 65495
    0xa0, 0x02, 0xff, 0xd7, //
    // checksum, urgent pointer
    0xfe, 0x30, 0x00, 0x00, //
    // options: MSS 65495
    0x02, 0x04, 0xff, 0xd7, //
    // SACK permitted
    0x04, 0x02, //
    // timestamps val 1 ecr 0
    0x08, 0x0a, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, //
    // NOP, window scale 7
    0x01, 0x03, 0x03, 0x07,
];

/// The DNS query `wetransfer.com. IN A`, id 0x1234, RD set.
const DNS_QUERY: &[u8] = &[
    0x12, 0x34, // id
    0x01, 0x00, // QR=0 opcode 0 RD=1
    0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, // QD 1, AN 0, NS 0, AR 0
    10, b'w', b'e', b't', b'r', b'a', b'n', b's', b'f', b'e', b'r', //
    3, b'c', b'o', b'm', 0, //
    0x00, 0x01, // type A
    0x00, 0x01, // class IN
];

/// Ethernet + IPv6 2001:db8::2 -> 2001:db8::1 + UDP 40000 -> 53 + [`DNS_QUERY`].
fn ipv6_dns_frame() -> Vec<u8> {
    let mut f = vec![
        0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02, 0x86, 0xdd, // Ethernet, type IPv6
        0x60, 0x00, 0x00, 0x00, // version 6, traffic class 0, flow label 0
        0x00, 0x28, // payload length 40 (8 UDP + 32 DNS)
        17,   // next header UDP
        64,   // hop limit
    ];
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
    f.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&[0x9c, 0x40, 0x00, 0x35, 0x00, 0x28, 0x00, 0x00]); // UDP 40000 -> 53, len 40
    f.extend_from_slice(DNS_QUERY);
    f
}

/// The answer to [`DNS_QUERY`]: one A record 192.0.2.1, TTL 60.
fn dns_answer() -> Vec<u8> {
    let mut m = DNS_QUERY.to_vec();
    m[2] = 0x81; // QR=1, RD=1
    m[3] = 0x80; // RA=1, NOERROR
    m[7] = 1; // ANCOUNT 1
    m.extend_from_slice(&[
        0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1,
    ]);
    m
}

fn ip_checksum(h: &[u8]) -> u16 {
    let mut sum: u32 = h
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A TCP segment between two IPv4 endpoints, in an Ethernet frame with zeroed MACs.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let (IpAddr::V4(s), IpAddr::V4(d)) = (src.ip(), dst.ip()) else {
        panic!("IPv4 only")
    };
    assert_eq!(options.len() % 4, 0);
    let tcp_len = 20 + options.len();
    let total = (20 + tcp_len + payload.len()) as u16;
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let mut ip = vec![0x45, 0x00];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0x00, 0x01, 0x40, 0x00, 64, 6, 0, 0]);
    ip.extend_from_slice(&s.octets());
    ip.extend_from_slice(&d.octets());
    let cs = ip_checksum(&ip);
    ip[10..12].copy_from_slice(&cs.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&src.port().to_be_bytes());
    f.extend_from_slice(&dst.port().to_be_bytes());
    f.extend_from_slice(&seq.to_be_bytes());
    f.extend_from_slice(&ack.to_be_bytes());
    f.push(((tcp_len / 4) as u8) << 4);
    f.push(flags);
    f.extend_from_slice(&window.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]);
    f.extend_from_slice(options);
    f.extend_from_slice(payload);
    f
}

fn packet(ts_us_epoch: u64, raw: Vec<u8>) -> Packet {
    let decoded = decode(Linktype::Ethernet, &raw).expect("fixture decodes");
    Packet {
        ts_us_epoch,
        direction: Direction::Out,
        orig_len: raw.len() as u32,
        raw,
        decoded,
    }
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const ACK: u8 = TcpFlags::ACK;
const PSH_ACK: u8 = TcpFlags::PSH | TcpFlags::ACK;
const FIN_ACK: u8 = TcpFlags::FIN | TcpFlags::ACK;

/// A whole connection: handshake, 5 bytes up, 6 bytes down, client closes first.
fn exchange() -> Vec<Packet> {
    let (c, s) = (sa("127.0.0.1:41234"), sa("127.0.0.1:7777"));
    let frames = vec![
        tcp_frame(c, s, 1000, 0, TcpFlags::SYN, 65495, &[], &[]),
        tcp_frame(s, c, 5000, 1001, TcpFlags::SYN | ACK, 65483, &[], &[]),
        tcp_frame(c, s, 1001, 5001, ACK, 512, &[], &[]),
        tcp_frame(c, s, 1001, 5001, PSH_ACK, 512, &[], b"hello"),
        tcp_frame(s, c, 5001, 1006, ACK, 512, &[], &[]),
        tcp_frame(s, c, 5001, 1006, PSH_ACK, 512, &[], b"world!"),
        tcp_frame(c, s, 1006, 5007, FIN_ACK, 512, &[], &[]),
        tcp_frame(s, c, 5007, 1007, FIN_ACK, 512, &[], &[]),
        tcp_frame(c, s, 1007, 5008, ACK, 512, &[], &[]),
    ];
    frames
        .into_iter()
        .enumerate()
        .map(|(i, f)| packet(1_700_000_000_000_000 + i as u64 * 10, f))
        .collect()
}

fn report_of(packets: Vec<Packet>) -> CaptureReport {
    CaptureReport {
        packets,
        dropped: 0,
        dropped_known: true,
        interface: "lo".into(),
        linktype: Linktype::Ethernet,
        notes: Vec::new(),
    }
}

// ------------------------------------------------------------------------------------------------
// Decoders
// ------------------------------------------------------------------------------------------------

#[test]
fn decodes_ethernet_ipv4_tcp_syn_with_options() {
    let d = decode(Linktype::Ethernet, SYN_FRAME).unwrap();
    assert_eq!(d.src, sa("127.0.0.1:41234"));
    assert_eq!(d.dst, sa("127.0.0.1:8080"));
    let t = d.tcp().unwrap();
    assert_eq!(t.flags, TcpFlags(TcpFlags::SYN));
    assert_eq!(t.flags.tcpdump(), "S");
    assert_eq!(t.seq, 3_869_322_026);
    assert_eq!(t.ack, 0);
    assert_eq!(t.window, 65495);
    assert_eq!(t.payload_len, 0);
    assert_eq!(t.mss(), Some(65495));
    assert!(t.sack_permitted());
    assert_eq!(t.timestamps(), Some((1, 0)));
    assert_eq!(t.wscale(), Some(7));
    assert_eq!(
        t.options,
        vec![
            TcpOption::Mss(65495),
            TcpOption::SackPermitted,
            TcpOption::Timestamps { val: 1, ecr: 0 },
            TcpOption::Nop,
            TcpOption::WindowScale(7),
        ]
    );
    assert_eq!(d.what, "");
    let p = packet(1_700_000_000_000_001, SYN_FRAME.to_vec());
    assert_eq!(
        tcpdump_line(&p, &FlowSeqs::new(std::slice::from_ref(&p))),
        "1700000000.000001 IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [S], seq 3869322026, \
         win 65495, options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0"
    );
}

#[test]
fn ethernet_padding_is_not_payload() {
    // A bare ACK on Ethernet is padded to 60 bytes: the IP length, not the frame, counts.
    let mut f = tcp_frame(
        sa("192.0.2.2:40000"),
        sa("192.0.2.1:80"),
        1,
        2,
        ACK,
        501,
        &[],
        &[],
    );
    f.resize(60, 0);
    let d = decode(Linktype::Ethernet, &f).unwrap();
    assert_eq!(d.tcp().unwrap().payload_len, 0);
    assert!(d.payload.is_empty());
}

#[test]
fn decodes_ipv6_udp_dns_query() {
    let f = ipv6_dns_frame();
    let d = decode(Linktype::Ethernet, &f).unwrap();
    assert_eq!(d.src, sa("[2001:db8::2]:40000"));
    assert_eq!(d.dst, sa("[2001:db8::1]:53"));
    assert_eq!(d.proto, Proto::Udp { payload_len: 32 });
    assert_eq!(d.payload_bytes(&f), DNS_QUERY);
    assert_eq!(d.what, "DNS query A wetransfer.com id 0x1234");
    let p = packet(1_700_000_000_500_000, f);
    assert_eq!(
        tcpdump_line(&p, &FlowSeqs::default()),
        "1700000000.500000 IP6 2001:db8::2.40000 > 2001:db8::1.53: UDP, length 32: \
         DNS query A wetransfer.com id 0x1234"
    );
}

#[test]
fn decodes_dns_answers() {
    assert_eq!(
        describe_dns(&dns_answer()),
        "DNS answer A wetransfer.com id 0x1234 NOERROR: A 192.0.2.1"
    );
    let mut nx = DNS_QUERY.to_vec();
    nx[2] = 0x81;
    nx[3] = 0x83; // NXDOMAIN
    assert_eq!(
        describe_dns(&nx),
        "DNS answer A wetransfer.com id 0x1234 NXDOMAIN, no answer records"
    );
    assert_eq!(describe_dns(&[1, 2, 3]), "DNS (malformed: 3 bytes)");
}

#[test]
fn decodes_tls_client_hello_header() {
    // A ClientHello record header and the start of the message; the rest of the hello is not
    // needed to name it.
    let mut hello = vec![
        0x16, 0x03, 0x01, 0x00, 0xc8, 0x01, 0x00, 0x00, 0xc4, 0x03, 0x03,
    ];
    hello.extend_from_slice(&[0xab; 32]);
    let f = tcp_frame(
        sa("192.0.2.2:40000"),
        sa("192.0.2.1:443"),
        7,
        9,
        PSH_ACK,
        502,
        &[],
        &hello,
    );
    let d = decode(Linktype::Ethernet, &f).unwrap();
    assert_eq!(d.what, "TLS ClientHello");
    assert_eq!(d.tcp().unwrap().payload_len, hello.len());

    // A server flight: ServerHello, ChangeCipherSpec and two encrypted records in one segment.
    let mut flight = vec![
        0x16, 0x03, 0x03, 0x00, 0x08, 0x02, 0x00, 0x00, 0x04, 0x03, 0x03, 0, 0,
    ];
    flight.extend_from_slice(&[0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
    for _ in 0..2 {
        flight.extend_from_slice(&[0x17, 0x03, 0x03, 0x00, 0x03, 1, 2, 3]);
    }
    let f = tcp_frame(
        sa("192.0.2.1:443"),
        sa("192.0.2.2:40000"),
        9,
        7,
        PSH_ACK,
        502,
        &[],
        &flight,
    );
    let d = decode(Linktype::Ethernet, &f).unwrap();
    assert_eq!(
        d.what,
        "TLS ServerHello, ChangeCipherSpec, application data x2"
    );
    // A fatal alert before encryption.
    let alert = [0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28];
    let f = tcp_frame(
        sa("192.0.2.1:443"),
        sa("192.0.2.2:40000"),
        9,
        7,
        PSH_ACK,
        502,
        &[],
        &alert,
    );
    assert_eq!(
        decode(Linktype::Ethernet, &f).unwrap().what,
        "TLS alert fatal handshake_failure"
    );
}

#[test]
fn decodes_http_request_and_response_lines() {
    let req = b"GET / HTTP/1.1\r\nHost: wetransfer.com\r\nUser-Agent: wtcurl\r\n\r\n";
    let f = tcp_frame(
        sa("192.0.2.2:40000"),
        sa("192.0.2.1:80"),
        1,
        1,
        PSH_ACK,
        502,
        &[],
        req,
    );
    assert_eq!(
        decode(Linktype::Ethernet, &f).unwrap().what,
        "HTTP request GET / HTTP/1.1"
    );
    let resp = b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://wetransfer.com/\r\n\r\n";
    let f = tcp_frame(
        sa("192.0.2.1:80"),
        sa("192.0.2.2:40000"),
        1,
        1,
        PSH_ACK,
        502,
        &[],
        resp,
    );
    assert_eq!(
        decode(Linktype::Ethernet, &f).unwrap().what,
        "HTTP response HTTP/1.1 301 Moved Permanently"
    );
    // Not HTTP: nothing said.
    let f = tcp_frame(
        sa("192.0.2.1:80"),
        sa("192.0.2.2:40000"),
        1,
        1,
        PSH_ACK,
        502,
        &[],
        b"hello",
    );
    assert_eq!(decode(Linktype::Ethernet, &f).unwrap().what, "");
}

#[test]
fn decodes_cooked_and_raw_ip_link_types() {
    let eth = ipv6_dns_frame();
    let ip = &eth[14..];
    let raw = decode(Linktype::RawIp, ip).unwrap();
    assert_eq!(raw.what, "DNS query A wetransfer.com id 0x1234");
    let mut sll = vec![0, 4, 0, 1, 0, 6, 2, 0, 0, 0, 0, 2, 0, 0, 0x86, 0xdd];
    sll.extend_from_slice(ip);
    let cooked = decode(Linktype::LinuxSll, &sll).unwrap();
    assert_eq!(cooked.src, raw.src);
    assert_eq!(cooked.proto, raw.proto);
    // Neither IP nor ARP (LLDP): not decoded.
    let mut lldp = vec![0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 2, 0x88, 0xcc];
    lldp.extend_from_slice(&[0; 32]);
    assert_eq!(decode(Linktype::Ethernet, &lldp), None);
}

#[test]
fn decodes_icmp_errors_like_tcpdump() {
    // 192.0.2.1 -> 192.0.2.2: port unreachable, quoting the UDP datagram 192.0.2.2:40000 -> :9.
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[
        0x45, 0xc0, 0x00, 59, 0, 1, 0, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
    ]);
    f.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
    f.extend_from_slice(&[
        0x45, 0, 0, 31, 0, 2, 0x40, 0, 64, 17, 0, 0, 192, 0, 2, 2, 192, 0, 2, 1,
    ]);
    f.extend_from_slice(&[0x9c, 0x40, 0, 9, 0, 11, 0, 0, b'h', b'i', b'\n']);
    let p = packet(1_700_000_000_000_000, f);
    assert_eq!(p.decoded.src, sa("192.0.2.1:0"));
    assert_eq!(
        tcpdump_line(&p, &FlowSeqs::default()),
        "1700000000.000000 IP 192.0.2.1 > 192.0.2.2: ICMP 192.0.2.1 udp port 9 unreachable, \
         length 39"
    );
}

#[test]
fn decodes_arp_like_tcpdump() {
    // Ethernet broadcast, type ARP; request: Ethernet/IPv4, op 1, who-has 192.0.2.1 tell 192.0.2.2.
    let mut req = vec![
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 2, 0x08, 0x06,
    ];
    req.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]);
    req.extend_from_slice(&[2, 0, 0, 0, 0, 2, 192, 0, 2, 2]);
    req.extend_from_slice(&[0, 0, 0, 0, 0, 0, 192, 0, 2, 1]);
    let p = packet(1_700_000_000_000_000, req.clone());
    assert_eq!(p.decoded.src.ip(), "192.0.2.2".parse::<IpAddr>().unwrap());
    assert_eq!(p.decoded.dst.ip(), "192.0.2.1".parse::<IpAddr>().unwrap());
    assert_eq!(
        tcpdump_line(&p, &FlowSeqs::default()),
        "1700000000.000000 ARP, Request who-has 192.0.2.1 tell 192.0.2.2, length 28"
    );
    // The reply, padded to Ethernet's 60-byte minimum: tcpdump counts the padding.
    let mut rep = vec![
        2, 0, 0, 0, 0, 2, 0x82, 0x1d, 0x3b, 0x46, 0xfd, 0x98, 0x08, 0x06,
    ];
    rep.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x02]);
    rep.extend_from_slice(&[0x82, 0x1d, 0x3b, 0x46, 0xfd, 0x98, 192, 0, 2, 1]);
    rep.extend_from_slice(&[2, 0, 0, 0, 0, 2, 192, 0, 2, 2]);
    rep.resize(60, 0);
    let p = packet(1_700_000_000_000_000, rep);
    assert_eq!(
        tcpdump_line(&p, &FlowSeqs::default()),
        "1700000000.000000 ARP, Reply 192.0.2.1 is-at 82:1d:3b:46:fd:98, length 46"
    );
}

#[test]
fn never_panics_on_cut_or_corrupted_frames() {
    let mut fixtures = vec![SYN_FRAME.to_vec(), ipv6_dns_frame()];
    fixtures.extend(exchange().into_iter().map(|p| p.raw));
    let mut state: u32 = 0x1234_5678;
    for f in &fixtures {
        for n in 0..=f.len() {
            for lt in [Linktype::Ethernet, Linktype::RawIp, Linktype::LinuxSll] {
                let _ = decode(lt, &f[..n]);
            }
        }
        for _ in 0..2000 {
            let mut g = f.clone();
            for _ in 0..3 {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let i = (state >> 8) as usize % g.len();
                g[i] = (state >> 24) as u8;
            }
            if let Some(d) = decode(Linktype::Ethernet, &g) {
                let p = Packet {
                    ts_us_epoch: 1,
                    direction: Direction::In,
                    orig_len: g.len() as u32,
                    raw: g,
                    decoded: d,
                };
                let _ = tcpdump_line(&p, &FlowSeqs::new(std::slice::from_ref(&p)));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// tcpdump lines and relative sequence numbers
// ------------------------------------------------------------------------------------------------

#[test]
fn relative_sequence_numbers_like_tcpdump() {
    let packets = exchange();
    let seqs = FlowSeqs::new(&packets);
    let lines: Vec<String> = packets
        .iter()
        .map(|p| {
            tcpdump_line(p, &seqs)
                .split_once(" IP ")
                .unwrap()
                .1
                .to_string()
        })
        .collect();
    let want = [
        "127.0.0.1.41234 > 127.0.0.1.7777: Flags [S], seq 1000, win 65495, length 0",
        "127.0.0.1.7777 > 127.0.0.1.41234: Flags [S.], seq 5000, ack 1001, win 65483, length 0",
        "127.0.0.1.41234 > 127.0.0.1.7777: Flags [.], ack 1, win 512, length 0",
        "127.0.0.1.41234 > 127.0.0.1.7777: Flags [P.], seq 1:6, ack 1, win 512, length 5",
        "127.0.0.1.7777 > 127.0.0.1.41234: Flags [.], ack 6, win 512, length 0",
        "127.0.0.1.7777 > 127.0.0.1.41234: Flags [P.], seq 1:7, ack 6, win 512, length 6",
        "127.0.0.1.41234 > 127.0.0.1.7777: Flags [F.], seq 6, ack 7, win 512, length 0",
        "127.0.0.1.7777 > 127.0.0.1.41234: Flags [F.], seq 7, ack 7, win 512, length 0",
        "127.0.0.1.41234 > 127.0.0.1.7777: Flags [.], ack 8, win 512, length 0",
    ];
    assert_eq!(lines, want);
    assert!(tcpdump_line(&packets[0], &seqs).starts_with("1700000000.000000 IP "));
    assert!(tcpdump_line(&packets[3], &seqs).starts_with("1700000000.000030 IP "));
    // A packet unknown to the FlowSeqs is printed with absolute numbers.
    assert!(tcpdump_line(&packets[3], &FlowSeqs::default()).contains("seq 1001:1006, ack 5001"));
}

#[test]
fn relative_numbers_when_the_capture_starts_mid_connection() {
    // tcpdump: the first packet with ACK sets the bases and is printed absolute.
    let (c, s) = (sa("10.0.0.1:5000"), sa("10.0.0.2:443"));
    let packets: Vec<Packet> = [
        tcp_frame(c, s, 0xffff_fff0, 77, PSH_ACK, 100, &[], &[0u8; 32]),
        tcp_frame(s, c, 77, 0x0000_0010, ACK, 100, &[], &[]),
    ]
    .into_iter()
    .map(|f| packet(5, f))
    .collect();
    let seqs = FlowSeqs::new(&packets);
    let l0 = tcpdump_line(&packets[0], &seqs);
    let l1 = tcpdump_line(&packets[1], &seqs);
    assert!(l0.contains("seq 4294967280:16, ack 77,"), "{l0}");
    // Wrapped around 2^32: relative ack 32.
    assert!(l1.contains(", ack 32, win 100"), "{l1}");
}

#[test]
fn sack_blocks_are_relative_to_the_receiver() {
    let (c, s) = (sa("10.0.0.1:5000"), sa("10.0.0.2:443"));
    let mut sack = vec![1, 1, 5, 10];
    sack.extend_from_slice(&7010u32.to_be_bytes());
    sack.extend_from_slice(&7020u32.to_be_bytes());
    let packets: Vec<Packet> = [
        tcp_frame(c, s, 100, 0, TcpFlags::SYN, 100, &[], &[]),
        tcp_frame(s, c, 7000, 101, TcpFlags::SYN | ACK, 100, &[], &[]),
        tcp_frame(c, s, 101, 7001, ACK, 100, &sack, &[]),
    ]
    .into_iter()
    .map(|f| packet(5, f))
    .collect();
    let seqs = FlowSeqs::new(&packets);
    let l = tcpdump_line(&packets[2], &seqs);
    assert!(l.contains("options [nop,nop,sack 1 {10:20}]"), "{l}");
}

#[test]
fn tls_segments_are_named_across_the_stream() {
    let (c, s) = (sa("192.0.2.2:40000"), sa("192.0.2.1:443"));
    // Server: ServerHello + the first 10 bytes of a 30-byte Certificate record; then the other
    // 20 bytes + ServerHelloDone; then the same segment again (a retransmission).
    let mut seg1 = vec![
        0x16, 0x03, 0x03, 0x00, 0x08, 0x02, 0x00, 0x00, 0x04, 0x03, 0x03, 0, 0,
    ];
    seg1.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 30, 0x0b, 0x00, 0x00, 26, 0, 0]);
    seg1.extend_from_slice(&[0; 4]);
    let mut seg2 = vec![0; 20];
    seg2.extend_from_slice(&[0x16, 0x03, 0x03, 0x00, 0x04, 0x0e, 0x00, 0x00, 0x00]);
    let seg3 = vec![0x17, 0x03, 0x03, 0x00, 0x30];
    let s1 = 5001u32;
    let s2 = s1 + seg1.len() as u32;
    let s3 = s2 + seg2.len() as u32;
    let mut packets: Vec<Packet> = [
        tcp_frame(s, c, s1, 1, PSH_ACK, 100, &[], &seg1),
        tcp_frame(s, c, s2, 1, PSH_ACK, 100, &[], &seg2),
        tcp_frame(s, c, s2, 1, PSH_ACK, 100, &[], &seg2),
        tcp_frame(s, c, s3, 1, PSH_ACK, 100, &[], &seg3),
        tcp_frame(s, c, s3 + 5, 1, PSH_ACK, 100, &[], &[0; 16]),
    ]
    .into_iter()
    .map(|f| packet(5, f))
    .collect();
    // Alone, the second segment looks like nothing.
    assert_eq!(packets[1].decoded.what, "");
    annotate_streams(&mut packets);
    let what: Vec<&str> = packets.iter().map(|p| p.decoded.what.as_str()).collect();
    assert_eq!(
        what,
        [
            "TLS ServerHello, Certificate",
            "TLS end of Certificate, ServerHelloDone",
            "retransmission",
            "TLS application data",
            "TLS application data (continued)",
        ]
    );
}

// ------------------------------------------------------------------------------------------------
// pcap files
// ------------------------------------------------------------------------------------------------

fn temp_path(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "wtcurl-capture-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

#[test]
fn pcap_header_and_records_are_standard() {
    let report = report_of(exchange());
    let path = temp_path("records.pcap");
    write_pcap(&path, &report).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    // Native-endian classic pcap: magic, version 2.4, snaplen, LINKTYPE_ETHERNET.
    let u32_at = |i: usize| u32::from_ne_bytes(bytes[i..i + 4].try_into().unwrap());
    assert_eq!(u32_at(0), 0xa1b2_c3d4);
    assert_eq!(
        &bytes[4..8],
        &[2u16.to_ne_bytes(), 4u16.to_ne_bytes()].concat()[..]
    );
    assert_eq!(u32_at(16), 262_144);
    assert_eq!(u32_at(20), 1);
    // Records back with the crate's reader: same timestamps and bytes.
    let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut n = 0;
    while let Some(rec) = r.next_packet() {
        let rec = rec.unwrap();
        let p = &report.packets[n];
        assert_eq!(rec.timestamp.as_micros() as u64, p.ts_us_epoch);
        assert_eq!(&rec.data[..], &p.raw[..]);
        assert_eq!(rec.orig_len, p.orig_len);
        n += 1;
    }
    assert_eq!(n, report.packets.len());
}

#[test]
fn pcap_round_trip_through_tcpdump() {
    let Some(tcpdump) = tool("tcpdump") else {
        return;
    };
    let mut packets = exchange();
    packets.insert(0, packet(1_699_999_999_999_999, ipv6_dns_frame()));
    packets.insert(1, packet(1_699_999_999_999_999, SYN_FRAME.to_vec()));
    let report = report_of(packets);
    let path = temp_path("roundtrip.pcap");
    write_pcap(&path, &report).unwrap();
    let out = Command::new(&tcpdump)
        .args(["-r"])
        .arg(&path)
        .args(["-n", "-tt"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let seqs = FlowSeqs::new(&report.packets);
    assert_eq!(got.len(), report.packets.len(), "{got:#?}");
    // TCP lines are identical to tcpdump's; the DNS line (tcpdump decodes port 53) shares the
    // time and the addresses.
    for (p, line) in report.packets.iter().zip(&got) {
        let ours = tcpdump_plain(p, &seqs);
        if matches!(p.decoded.proto, Proto::Tcp(_)) {
            assert_eq!(&ours, line);
        } else {
            let head = "1699999999.999999 IP6 2001:db8::2.40000 > 2001:db8::1.53: ";
            assert!(
                ours.starts_with(head) && line.starts_with(head),
                "{ours}\n{line}"
            );
            assert!(line.contains("A? wetransfer.com."), "{line}");
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Errors and interface choice
// ------------------------------------------------------------------------------------------------

#[test]
fn no_permission_error_says_what_to_do() {
    let e = CaptureError::NoPermission {
        errno: "EPERM".into(),
    };
    let text = e.to_string();
    assert!(
        text.contains("EPERM") && text.contains("CAP_NET_RAW"),
        "{text}"
    );
    assert!(
        text.contains("sudo setcap cap_net_raw+ep $(which wtcurl)"),
        "{text}"
    );
    assert_eq!(e.hint(), Some(NO_PERMISSION_HINT));
}

#[test]
fn loopback_addresses_route_through_lo() {
    let ifaces = pnet_datalink::interfaces();
    let lo = ifaces
        .iter()
        .find(|i| i.is_loopback())
        .expect("a loopback interface");
    for ip in ["127.0.0.1", "127.1.2.3", "::1"] {
        assert_eq!(
            live::route_interface(ip.parse().unwrap(), &ifaces).as_deref(),
            Some(lo.name.as_str()),
            "{ip}"
        );
    }
}

#[test]
fn start_without_interface_or_hosts_is_an_error() {
    let e = Capture::start(&CaptureSpec::default())
        .err()
        .expect("an error");
    // Unprivileged, the interface choice fails first all the same.
    assert!(matches!(e, CaptureError::NoInterface(_)), "{e}");
    let e = Capture::start(&CaptureSpec {
        interface: Some("wtc-no-such-if0".into()),
        hosts: vec![],
    })
    .err()
    .expect("an error");
    assert!(matches!(e, CaptureError::NoInterface(_)), "{e}");
    if euid() != Some(0) {
        // Without CAP_NET_RAW the socket is refused: the error says how to get the capability.
        let e = Capture::start(&CaptureSpec {
            interface: Some("lo".into()),
            hosts: vec![],
        })
        .err()
        .expect("refused without CAP_NET_RAW");
        assert!(matches!(e, CaptureError::NoPermission { .. }), "{e}");
    }
}

// ------------------------------------------------------------------------------------------------
// Live captures (root)
// ------------------------------------------------------------------------------------------------

fn is_ci() -> bool {
    matches!(
        std::env::var("CI").as_deref(),
        Ok("true" | "TRUE" | "True" | "1")
    )
}

/// The effective uid, from /proc/self/status.
fn euid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// True if root; otherwise SKIP (or fail under CI).
fn need_root(test: &str) -> bool {
    if euid() == Some(0) {
        return true;
    }
    assert!(
        !is_ci(),
        "{test} needs root (CAP_NET_RAW); CI=true forbids skipping"
    );
    eprintln!("SKIP: {test}: needs root (CAP_NET_RAW)");
    false
}

/// The tool's path; `None` with a SKIP line if missing (a failure under CI).
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/bin"])
        .map(|d| PathBuf::from(d).join(name))
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            !is_ci(),
            "`{name}` is not installed; CI=true forbids skipping"
        );
        eprintln!("SKIP: `{name}` is not installed");
    }
    found
}

/// A `tcpdump -i lo` running with a filter, started and ready.
struct Tcpdump {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tcpdump {
    fn start(tcpdump: &PathBuf, filter: &str) -> Tcpdump {
        let mut child = Command::new(tcpdump)
            .args([
                "-i",
                "lo",
                "-n",
                "-tt",
                "-l",
                "--immediate-mode",
                "-c",
                "64",
                filter,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tcpdump runs");
        let (ready_tx, ready_rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("listening on") {
                    let _ = ready_tx.send(());
                }
            }
        });
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("tcpdump says `listening on` within 10 s");
        Tcpdump { child, lines }
    }

    /// Waits for `n` lines (at most 5 s), a little more for stragglers, then stops tcpdump.
    fn finish(mut self, n: usize) -> Vec<String> {
        let mut got = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => got.push(l),
                Err(_) => break,
            }
        }
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(300)) {
            got.push(l);
        }
        // SIGINT: tcpdump flushes and exits.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        got.extend(self.lines.try_iter());
        // tcpdump ends its output with an empty line when interrupted.
        got.retain(|l| !l.is_empty());
        got
    }
}

/// The part of a tcpdump line after the timestamp.
fn after_time(l: &str) -> &str {
    l.split_once(' ').map_or(l, |x| x.1)
}

#[test]
fn live_loopback_tcp_matches_tcpdump() {
    if !need_root("live_loopback_tcp_matches_tcpdump") {
        return;
    }
    let Some(tcpdump) = tool("tcpdump") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let server_addr = listener.local_addr().unwrap();
    let dump = Tcpdump::start(&tcpdump, &format!("tcp port {}", server_addr.port()));
    let cap = Capture::start(&CaptureSpec {
        interface: None,
        hosts: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    })
    .expect("capture starts as root");
    assert_eq!(cap.interface(), "lo");

    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 5];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"hello");
        s.write_all(b"world!").unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).unwrap();
        // Dropping `s` sends the server's FIN.
    });
    let mut c = TcpStream::connect(server_addr).unwrap();
    let client_addr = c.local_addr().unwrap();
    cap.add_flow(FlowProto::Tcp, client_addr, server_addr);
    c.write_all(b"hello").unwrap();
    let mut buf = [0u8; 6];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"world!");
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    c.read_to_end(&mut rest).unwrap();
    drop(c);
    server.join().unwrap();

    let t0 = Instant::now();
    let mut report = cap.stop(Duration::from_secs(3));
    // Only a TCP flow was registered: other tests' UDP on lo to 127.0.0.1 may be in the report.
    report
        .packets
        .retain(|p| matches!(p.decoded.proto, Proto::Tcp(_)));
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "stop returns once the close is complete, took {:?}",
        t0.elapsed()
    );
    let theirs = dump.finish(report.packets.len());
    assert_eq!(report.interface, "lo");
    assert_eq!(report.linktype, Linktype::Ethernet);
    assert!(report.dropped_known);
    assert_eq!(report.dropped, 0);

    let seqs = FlowSeqs::new(&report.packets);
    let ours: Vec<String> = report
        .packets
        .iter()
        .map(|p| tcpdump_plain(p, &seqs))
        .collect();
    eprintln!("ours:\n{}\ntcpdump:\n{theirs:#?}", ours.join("\n"));
    assert_eq!(ours.len(), theirs.len(), "same packet count as tcpdump");
    for (o, t) in ours.iter().zip(&theirs) {
        // Same line, word for word, after the timestamp. The times are the kernel's for each
        // socket: each packet socket stamps the packet as it is handed to it (TCP's skb->tstamp
        // is a departure time, cleared on delivery), so tcpdump's differ by a µs or two.
        assert_eq!(after_time(o), after_time(t));
        let us = |l: &str| -> i64 {
            l.split(' ')
                .next()
                .unwrap()
                .replace('.', "")
                .parse()
                .unwrap()
        };
        assert!(
            (us(o) - us(t)).abs() <= 2000,
            "timestamps far apart:\n{o}\n{t}"
        );
    }

    // The exchange itself, in order: flags, payload lengths, directions.
    let summary: Vec<(String, usize, Direction)> = report
        .packets
        .iter()
        .map(|p| {
            let t = p.decoded.tcp().expect("TCP");
            (t.flags.tcpdump(), t.payload_len, p.direction)
        })
        .collect();
    let find = |flags: &str, len: usize, dir: Direction| {
        summary
            .iter()
            .position(|(f, l, d)| f == flags && *l == len && *d == dir)
            .unwrap_or_else(|| panic!("no [{flags}] length {len} {dir:?} in {summary:?}"))
    };
    let syn = find("S", 0, Direction::Out);
    let syn_ack = find("S.", 0, Direction::In);
    let ack = find(".", 0, Direction::Out);
    let hello = find("P.", 5, Direction::Out);
    let world = find("P.", 6, Direction::In);
    let fin_out = find("F.", 0, Direction::Out);
    let fin_in = find("F.", 0, Direction::In);
    assert_eq!((syn, syn_ack, ack, hello), (0, 1, 2, 3), "{summary:?}");
    assert!(
        world > hello && fin_out > world && fin_in > fin_out,
        "{summary:?}"
    );
    let last = summary.last().unwrap();
    assert_eq!((last.0.as_str(), last.1, last.2), (".", 0, Direction::Out));
    let t = report.packets[0].decoded.tcp().unwrap();
    assert!(t.mss().is_some() && t.sack_permitted() && t.wscale().is_some());

    // The pcap file reads back in tcpdump as the same lines, timestamps included.
    let path = temp_path("live.pcap");
    write_pcap(&path, &report).unwrap();
    let out = Command::new(&tcpdump)
        .arg("-r")
        .arg(&path)
        .args(["-n", "-tt"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read_back: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(read_back, ours);
}

#[test]
fn live_loopback_udp_is_seen_once_per_packet() {
    if !need_root("live_loopback_udp_is_seen_once_per_packet") {
        return;
    }
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (s_addr, c_addr) = (server.local_addr().unwrap(), client.local_addr().unwrap());
    let cap = Capture::start(&CaptureSpec {
        interface: Some("lo".into()),
        hosts: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    })
    .expect("capture starts as root");
    cap.add_flow(FlowProto::Udp, c_addr, s_addr);
    client.send_to(b"ping?", s_addr).unwrap();
    let mut buf = [0u8; 16];
    let (n, from) = server.recv_from(&mut buf).unwrap();
    server.send_to(&buf[..n], from).unwrap();
    client.recv_from(&mut buf).unwrap();
    let t0 = Instant::now();
    let mut report = cap.stop(Duration::from_millis(300));
    assert!(t0.elapsed() < Duration::from_secs(1), "bounded stop");
    // Only a UDP flow was registered: other tests' TCP on lo to 127.0.0.1 may be in the report.
    report
        .packets
        .retain(|p| matches!(p.decoded.proto, Proto::Udp { .. }));
    let got: Vec<(SocketAddr, SocketAddr, Direction)> = report
        .packets
        .iter()
        .map(|p| (p.decoded.src, p.decoded.dst, p.direction))
        .collect();
    assert_eq!(
        got,
        vec![
            (c_addr, s_addr, Direction::Out),
            (s_addr, c_addr, Direction::In)
        ]
    );
    for p in &report.packets {
        assert_eq!(p.decoded.proto, Proto::Udp { payload_len: 5 });
        // Kernel timestamps: within a few seconds of now.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64;
        assert!(p.ts_us_epoch <= now && now - p.ts_us_epoch < 10_000_000);
    }
}

#[test]
fn live_any_interface_writes_cooked_pcap() {
    if !need_root("live_any_interface_writes_cooked_pcap") {
        return;
    }
    let Some(tcpdump) = tool("tcpdump") else {
        return;
    };
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let client = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (s_addr, c_addr) = (server.local_addr().unwrap(), client.local_addr().unwrap());
    let cap = Capture::start(&CaptureSpec {
        interface: Some("any".into()),
        hosts: vec![IpAddr::V4(Ipv4Addr::LOCALHOST)],
    })
    .expect("capture starts as root");
    cap.add_flow(FlowProto::Udp, c_addr, s_addr);
    client.send_to(b"0123456789", s_addr).unwrap();
    server.recv_from(&mut [0u8; 16]).unwrap();
    let mut report = cap.stop(Duration::from_millis(200));
    assert_eq!(report.linktype, Linktype::LinuxSll);
    // TCP is not narrowed to flows here: other tests' loopback connections may be in it.
    report
        .packets
        .retain(|p| matches!(p.decoded.proto, Proto::Udp { .. }));
    assert_eq!(report.packets.len(), 1, "{:?}", report.packets);
    assert_eq!(report.packets[0].decoded.src, c_addr);
    let path = temp_path("any.pcap");
    write_pcap(&path, &report).unwrap();
    let out = Command::new(&tcpdump)
        .arg("-r")
        .arg(&path)
        .args(["-n", "-tt"])
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let want = format!(
        "IP {}.{} > {}.{}: UDP, length 10",
        c_addr.ip(),
        c_addr.port(),
        s_addr.ip(),
        s_addr.port()
    );
    assert!(text.trim_end().ends_with(&want), "{text}");
}

#[test]
fn routes_come_from_the_kernel_table_by_longest_prefix() {
    let v4 = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
veth1\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n";
    assert_eq!(
        live::best_route("192.0.2.7".parse().unwrap(), v4).as_deref(),
        Some("veth1")
    );
    assert_eq!(
        live::best_route("198.51.100.1".parse().unwrap(), v4).as_deref(),
        Some("eth0")
    );
    let v6 = "20010db8000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001     veth1\n\
00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0\n";
    assert_eq!(
        live::best_route("2001:db8::1".parse().unwrap(), v6).as_deref(),
        Some("veth1")
    );
    assert_eq!(
        live::best_route("2001:db9::1".parse().unwrap(), v6).as_deref(),
        Some("eth0")
    );
    assert_eq!(
        live::best_route("2001:db8::1".parse().unwrap(), "garbage\n"),
        None
    );
}
