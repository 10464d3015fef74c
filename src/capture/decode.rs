//! Decoding one captured frame with pnet_packet (link layer, IPv4/IPv6, TCP/UDP/ICMP) and naming what
//! it carries: a DNS question or answer, TLS record types, an HTTP request or status line.
//!
//! [`decode`] looks at one frame alone. [`annotate_streams`] then follows each TCP direction over the
//! whole capture so that a segment in the middle of a TLS record says what record it continues.
//! Nothing here panics on a short or malformed frame: every length is checked before it is used.

use super::Packet;
use crate::dns::wire::{Header as DnsHeader, name_to_string, rcode_name, type_name};
use hickory_proto::op::Message;
use hickory_proto::rr::RData;
use pnet_packet::arp::ArpPacket;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ip::{IpNextHeaderProtocol, IpNextHeaderProtocols};
use pnet_packet::ipv4::Ipv4Packet;
use pnet_packet::ipv6::Ipv6Packet;
use pnet_packet::tcp::TcpPacket;
use pnet_packet::udp::UdpPacket;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Range;

/// The link-layer header type of captured frames (the pcap LINKTYPE).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Linktype {
    /// LINKTYPE_ETHERNET (1): Ethernet interfaces, and `lo`, whose frames carry a zeroed Ethernet
    /// header (tcpdump calls it EN10MB).
    Ethernet,
    /// LINKTYPE_RAW (101): IP packets with no link header (tun, WireGuard).
    RawIp,
    /// LINKTYPE_LINUX_SLL (113): Linux's 16-byte "cooked" header, as `tcpdump -i any` writes.
    LinuxSll,
}

impl Linktype {
    /// The LINKTYPE number in a pcap file header.
    pub fn pcap_number(self) -> u32 {
        match self {
            Linktype::Ethernet => 1,
            Linktype::RawIp => 101,
            Linktype::LinuxSll => 113,
        }
    }

    /// The name tcpdump prints (`link-type EN10MB`).
    pub fn name(self) -> &'static str {
        match self {
            Linktype::Ethernet => "EN10MB",
            Linktype::RawIp => "RAW",
            Linktype::LinuxSll => "LINUX_SLL",
        }
    }
}

/// The TCP flag byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// As tcpdump prints them inside `Flags [..]`: `S`, `S.`, `P.`, `F.`, `R`, or `none`.
    pub fn tcpdump(self) -> String {
        // tcpdump's tcp_flag_values order.
        const ORDER: [(u8, char); 8] = [
            (TcpFlags::FIN, 'F'),
            (TcpFlags::SYN, 'S'),
            (TcpFlags::RST, 'R'),
            (TcpFlags::PSH, 'P'),
            (TcpFlags::ACK, '.'),
            (TcpFlags::URG, 'U'),
            (TcpFlags::ECE, 'E'),
            (TcpFlags::CWR, 'W'),
        ];
        let s: String = ORDER
            .iter()
            .filter(|(bit, _)| self.has(*bit))
            .map(|(_, c)| *c)
            .collect();
        if s.is_empty() { "none".into() } else { s }
    }
}

/// One TCP option, in the order it appears in the header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TcpOption {
    Eol,
    Nop,
    Mss(u16),
    WindowScale(u8),
    SackPermitted,
    /// SACK blocks (left edge, right edge), absolute sequence numbers.
    Sack(Vec<(u32, u32)>),
    Timestamps {
        val: u32,
        ecr: u32,
    },
    /// TCP Fast Open cookie (kind 34).
    FastOpen(Vec<u8>),
    Unknown {
        kind: u8,
        data: Vec<u8>,
    },
    /// An option whose length runs past the header or is below 2: parsing stopped there.
    Bad {
        kind: u8,
    },
}

/// A decoded TCP header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TcpSegment {
    pub flags: TcpFlags,
    /// Absolute sequence and acknowledgment numbers, as on the wire.
    pub seq: u32,
    pub ack: u32,
    /// The raw window field (not scaled).
    pub window: u16,
    pub urgent: u16,
    pub options: Vec<TcpOption>,
    /// Payload bytes on the wire (from the IP length, not the captured length).
    pub payload_len: usize,
}

impl TcpSegment {
    pub fn mss(&self) -> Option<u16> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Mss(v) => Some(*v),
            _ => None,
        })
    }

    pub fn sack_permitted(&self) -> bool {
        self.options.contains(&TcpOption::SackPermitted)
    }

    pub fn sack(&self) -> Option<&[(u32, u32)]> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Sack(b) => Some(b.as_slice()),
            _ => None,
        })
    }

    pub fn wscale(&self) -> Option<u8> {
        self.options.iter().find_map(|o| match o {
            TcpOption::WindowScale(v) => Some(*v),
            _ => None,
        })
    }

    /// (TSval, TSecr).
    pub fn timestamps(&self) -> Option<(u32, u32)> {
        self.options.iter().find_map(|o| match o {
            TcpOption::Timestamps { val, ecr } => Some((*val, *ecr)),
            _ => None,
        })
    }
}

/// The transport layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Proto {
    Tcp(TcpSegment),
    Udp {
        /// UDP length field minus the 8-byte header.
        payload_len: usize,
    },
    /// ARP (IPv4 over Ethernet): `src`/`dst` are the sender's and target's IPv4 addresses;
    /// `summary` is tcpdump's text (`ARP, Request who-has 192.0.2.1 tell 192.0.2.2, length 28`).
    Arp {
        operation: u16,
        summary: String,
    },
    /// ICMP, ICMPv6, an IP fragment or another protocol; `summary` is tcpdump's text for it.
    Other {
        protocol: u8,
        payload_len: usize,
        summary: String,
    },
}

/// A frame decoded down to the transport layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// Source and destination; port 0 for protocols without ports.
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub proto: Proto,
    /// What the payload is, in words (`DNS query A wetransfer.com id 0x1234`, `TLS ClientHello`,
    /// `HTTP request GET / HTTP/1.1`); empty when there is nothing to say.
    pub what: String,
    /// Where the transport payload's captured bytes are in the frame.
    pub payload: Range<usize>,
}

impl Decoded {
    /// The transport payload's captured bytes.
    pub fn payload_bytes<'a>(&self, raw: &'a [u8]) -> &'a [u8] {
        raw.get(self.payload.clone()).unwrap_or(&[])
    }

    pub fn tcp(&self) -> Option<&TcpSegment> {
        match &self.proto {
            Proto::Tcp(t) => Some(t),
            _ => None,
        }
    }
}

const ETHERTYPE_VLAN: u16 = 0x8100;

/// Decodes one frame. `None` for anything that is not IPv4, IPv6 or ARP (LLDP, …) or too short to
/// hold its header.
pub fn decode(linktype: Linktype, raw: &[u8]) -> Option<Decoded> {
    let (ethertype, l3) = match linktype {
        Linktype::Ethernet => {
            let eth = EthernetPacket::new(raw)?;
            let mut ethertype = eth.get_ethertype().0;
            let mut off = 14;
            // One 802.1Q tag (the kernel usually strips it into metadata, but not always).
            if ethertype == ETHERTYPE_VLAN {
                let b = raw.get(16..18)?;
                ethertype = u16::from_be_bytes([b[0], b[1]]);
                off = 18;
            }
            (ethertype, off)
        }
        Linktype::LinuxSll => {
            let b = raw.get(14..16)?;
            (u16::from_be_bytes([b[0], b[1]]), 16)
        }
        Linktype::RawIp => match raw.first()? >> 4 {
            4 => (EtherTypes::Ipv4.0, 0),
            6 => (EtherTypes::Ipv6.0, 0),
            _ => return None,
        },
    };
    let ip = raw.get(l3..)?;
    if ethertype == EtherTypes::Ipv4.0 {
        decode_ipv4(raw, l3, ip)
    } else if ethertype == EtherTypes::Ipv6.0 {
        decode_ipv6(raw, l3, ip)
    } else if ethertype == EtherTypes::Arp.0 {
        decode_arp(raw.len() - l3, ip)
    } else {
        None
    }
}

/// ARP for IPv4 over Ethernet, printed as tcpdump -n does. `len` is the bytes after the link header.
fn decode_arp(len: usize, b: &[u8]) -> Option<Decoded> {
    let a = ArpPacket::new(b)?;
    if a.get_hw_addr_len() != 6 || a.get_proto_addr_len() != 4 {
        return None;
    }
    let (spa, tpa) = (a.get_sender_proto_addr(), a.get_target_proto_addr());
    let op = a.get_operation().0;
    let what = match op {
        1 => {
            let tha = a.get_target_hw_addr();
            let known = if tha.octets() == [0; 6] {
                String::new()
            } else {
                format!(" ({tha})")
            };
            format!("Request who-has {tpa}{known} tell {spa}")
        }
        2 => format!("Reply {spa} is-at {}", a.get_sender_hw_addr()),
        n => format!("op-#{n} {spa} > {tpa}"),
    };
    Some(Decoded {
        src: SocketAddr::new(IpAddr::V4(spa), 0),
        dst: SocketAddr::new(IpAddr::V4(tpa), 0),
        proto: Proto::Arp {
            operation: op,
            summary: format!("ARP, {what}, length {len}"),
        },
        what: String::new(),
        payload: 0..0,
    })
}

/// The network layer, reduced to what the transport decoder needs.
struct L3 {
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    /// Offset of the transport header in the frame.
    l4: usize,
    /// Transport bytes on the wire (header included), from the IP length fields.
    l4_wire_len: usize,
    /// A non-first fragment: no transport header here.
    later_fragment: bool,
}

fn decode_ipv4(raw: &[u8], l3: usize, ip: &[u8]) -> Option<Decoded> {
    let p = Ipv4Packet::new(ip)?;
    if p.get_version() != 4 {
        return None;
    }
    let ihl = usize::from(p.get_header_length()) * 4;
    if ihl < 20 {
        return None;
    }
    let total = usize::from(p.get_total_length());
    let l = L3 {
        src: IpAddr::V4(p.get_source()),
        dst: IpAddr::V4(p.get_destination()),
        protocol: p.get_next_level_protocol().0,
        l4: l3 + ihl,
        l4_wire_len: total.saturating_sub(ihl),
        later_fragment: p.get_fragment_offset() != 0,
    };
    decode_l4(raw, l)
}

fn decode_ipv6(raw: &[u8], l3: usize, ip: &[u8]) -> Option<Decoded> {
    let p = Ipv6Packet::new(ip)?;
    if p.get_version() != 6 {
        return None;
    }
    let mut next = p.get_next_header().0;
    let mut off = 40;
    let mut later_fragment = false;
    let payload_len = usize::from(p.get_payload_length());
    // Walk the extension headers wtcurl can meet: hop-by-hop, routing, destination options,
    // fragment. Bounded: each one moves `off` forward.
    for _ in 0..8 {
        match next {
            0 | 43 | 60 => {
                let Some(h) = ip.get(off..off + 2) else { break };
                next = h[0];
                off += (usize::from(h[1]) + 1) * 8;
            }
            44 => {
                let Some(h) = ip.get(off..off + 4) else { break };
                next = h[0];
                later_fragment = u16::from_be_bytes([h[2], h[3]]) >> 3 != 0;
                off += 8;
            }
            _ => break,
        }
    }
    let l = L3 {
        src: IpAddr::V6(p.get_source()),
        dst: IpAddr::V6(p.get_destination()),
        protocol: next,
        l4: l3 + off,
        l4_wire_len: (40 + payload_len).saturating_sub(off),
        later_fragment,
    };
    decode_l4(raw, l)
}

fn decode_l4(raw: &[u8], l: L3) -> Option<Decoded> {
    // The transport bytes that were captured: bounded by the IP length (drops Ethernet padding)
    // and by the frame (a cut frame).
    let end = (l.l4 + l.l4_wire_len).min(raw.len());
    let l4 = raw.get(l.l4..end).unwrap_or(&[]);
    let other = |summary: String| {
        Some(Decoded {
            src: SocketAddr::new(l.src, 0),
            dst: SocketAddr::new(l.dst, 0),
            proto: Proto::Other {
                protocol: l.protocol,
                payload_len: l.l4_wire_len,
                summary,
            },
            what: String::new(),
            payload: end..end,
        })
    };
    if l.later_fragment {
        return other(format!("ip-proto-{} (fragment)", l.protocol));
    }
    let proto = IpNextHeaderProtocol(l.protocol);
    if proto == IpNextHeaderProtocols::Tcp {
        let Some(t) = TcpPacket::new(l4) else {
            return other("tcp (truncated header)".into());
        };
        let hlen = usize::from(t.get_data_offset()) * 4;
        if hlen < 20 || hlen > l.l4_wire_len {
            return other(format!("tcp (bad header length {hlen})"));
        }
        let options = parse_tcp_options(l4.get(20..hlen.min(l4.len())).unwrap_or(&[]));
        let payload = (l.l4 + hlen).min(end)..end;
        let seg = TcpSegment {
            flags: TcpFlags(t.get_flags()),
            seq: t.get_sequence(),
            ack: t.get_acknowledgement(),
            window: t.get_window(),
            urgent: t.get_urgent_ptr(),
            options,
            payload_len: l.l4_wire_len - hlen,
        };
        let (sport, dport) = (t.get_source(), t.get_destination());
        let bytes = raw.get(payload.clone()).unwrap_or(&[]);
        let what = describe_tcp_payload(sport, dport, bytes);
        Some(Decoded {
            src: SocketAddr::new(l.src, sport),
            dst: SocketAddr::new(l.dst, dport),
            proto: Proto::Tcp(seg),
            what,
            payload,
        })
    } else if proto == IpNextHeaderProtocols::Udp {
        let Some(u) = UdpPacket::new(l4) else {
            return other("udp (truncated header)".into());
        };
        let ulen = usize::from(u.get_length());
        let payload_len = ulen.saturating_sub(8);
        let start = (l.l4 + 8).min(end);
        let payload = start..(l.l4 + 8 + payload_len).min(end).max(start);
        let (sport, dport) = (u.get_source(), u.get_destination());
        let bytes = raw.get(payload.clone()).unwrap_or(&[]);
        let what = if sport == 53 || dport == 53 || sport == 5353 || dport == 5353 {
            describe_dns(bytes)
        } else {
            String::new()
        };
        Some(Decoded {
            src: SocketAddr::new(l.src, sport),
            dst: SocketAddr::new(l.dst, dport),
            proto: Proto::Udp { payload_len },
            what,
            payload,
        })
    } else if proto == IpNextHeaderProtocols::Icmp {
        other(icmp_summary(l4, l.l4_wire_len))
    } else if proto == IpNextHeaderProtocols::Icmpv6 {
        other(icmp6_summary(l4, l.l4_wire_len))
    } else {
        other(format!("ip-proto-{} {}", l.protocol, l.l4_wire_len))
    }
}

/// Parses TCP options the way tcpdump walks them: EOL and NOP are one byte, every other option
/// has a length byte; a bad length ends the walk.
fn parse_tcp_options(b: &[u8]) -> Vec<TcpOption> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let kind = b[i];
        match kind {
            0 => {
                // tcpdump stops at EOL too.
                out.push(TcpOption::Eol);
                break;
            }
            1 => {
                out.push(TcpOption::Nop);
                i += 1;
                continue;
            }
            _ => {}
        }
        let Some(&len) = b.get(i + 1) else {
            out.push(TcpOption::Bad { kind });
            break;
        };
        let len = usize::from(len);
        if len < 2 || i + len > b.len() {
            out.push(TcpOption::Bad { kind });
            break;
        }
        let d = &b[i + 2..i + len];
        let be32 = |x: &[u8]| u32::from_be_bytes([x[0], x[1], x[2], x[3]]);
        let opt = match (kind, d.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([d[0], d[1]])),
            (3, 1) => TcpOption::WindowScale(d[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 => TcpOption::Sack(
                d.chunks(8)
                    .map(|c| (be32(&c[..4]), be32(&c[4..])))
                    .collect(),
            ),
            (8, 8) => TcpOption::Timestamps {
                val: be32(&d[..4]),
                ecr: be32(&d[4..]),
            },
            (34, _) => TcpOption::FastOpen(d.to_vec()),
            _ => TcpOption::Unknown {
                kind,
                data: d.to_vec(),
            },
        };
        out.push(opt);
        i += len;
    }
    out
}

fn icmp_summary(b: &[u8], wire_len: usize) -> String {
    let (Some(&ty), Some(&code)) = (b.first(), b.get(1)) else {
        return format!("ICMP (truncated), length {wire_len}");
    };
    let be16 = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    match ty {
        0 | 8 => format!(
            "ICMP echo {}, id {}, seq {}, length {wire_len}",
            if ty == 8 { "request" } else { "reply" },
            be16(4).unwrap_or(0),
            be16(6).unwrap_or(0)
        ),
        3 => {
            // The quoted datagram: its IPv4 header, then its first 8 transport bytes.
            let inner = b.get(8..).unwrap_or(&[]);
            let ihl = inner.first().map_or(0, |v| usize::from(v & 0x0f) * 4);
            let dst = inner
                .get(16..20)
                .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string())
                .unwrap_or_else(|| "?".into());
            let proto = inner.get(9).copied().unwrap_or(0);
            let port = inner
                .get(ihl + 2..ihl + 4)
                .map(|p| u16::from_be_bytes([p[0], p[1]]));
            let what = match (code, proto, port) {
                (0, ..) => format!("net {dst} unreachable"),
                (1, ..) => format!("host {dst} unreachable"),
                (2, ..) => format!("{dst} protocol {proto} unreachable"),
                (3, 6 | 17, Some(port)) => {
                    let p = if proto == 6 { "tcp" } else { "udp" };
                    format!("{dst} {p} port {port} unreachable")
                }
                (3, ..) => format!("{dst} port unreachable"),
                (13, ..) => format!("host {dst} unreachable - admin prohibited filter"),
                (c, ..) => format!("{dst} unreachable - code {c}"),
            };
            format!("ICMP {what}, length {wire_len}")
        }
        11 => format!("ICMP time exceeded in-transit, length {wire_len}"),
        _ => format!("ICMP type-#{ty}, length {wire_len}"),
    }
}

fn icmp6_summary(b: &[u8], wire_len: usize) -> String {
    let Some(&ty) = b.first() else {
        return format!("ICMP6 (truncated), length {wire_len}");
    };
    let be16 = |i: usize| b.get(i..i + 2).map(|x| u16::from_be_bytes([x[0], x[1]]));
    let target = || {
        b.get(8..24)
            .and_then(|a| <[u8; 16]>::try_from(a).ok())
            .map(|a| Ipv6Addr::from(a).to_string())
            .unwrap_or_else(|| "?".into())
    };
    let name = match ty {
        1 => "destination unreachable".to_string(),
        2 => "packet too big".into(),
        3 => "time exceeded in-transit".into(),
        128 | 129 => format!(
            "echo {}, id {}, seq {}",
            if ty == 128 { "request" } else { "reply" },
            be16(4).unwrap_or(0),
            be16(6).unwrap_or(0)
        ),
        133 => "router solicitation".into(),
        134 => "router advertisement".into(),
        135 => format!("neighbor solicitation, who has {}", target()),
        136 => format!("neighbor advertisement, tgt is {}", target()),
        t => format!("type-#{t}"),
    };
    format!("ICMP6, {name}, length {wire_len}")
}

/// What a TCP segment's payload starts with, looking at this segment alone.
fn describe_tcp_payload(sport: u16, dport: u16, p: &[u8]) -> String {
    if p.is_empty() {
        return String::new();
    }
    if sport == 53 || dport == 53 {
        // DNS over TCP: a two-byte length prefix, then the message.
        if let Some(len) = p
            .get(..2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            && len + 2 <= p.len()
        {
            return describe_dns(&p[2..2 + len]);
        }
        return "DNS over TCP (part of a message)".into();
    }
    if looks_like_tls(p) {
        let walk = walk_tls(p, 0, false);
        return format!("TLS {}", walk.parts.join(", "));
    }
    describe_http(p).unwrap_or_default()
}

/// A DNS message in one line: `DNS query A wetransfer.com id 0x1234`, `DNS answer A
/// wetransfer.com id 0x1234 NOERROR: A 192.0.2.1`.
pub(crate) fn describe_dns(b: &[u8]) -> String {
    let Some(h) = DnsHeader::read(b) else {
        return format!("DNS (malformed: {} bytes)", b.len());
    };
    let kind = if h.qr { "answer" } else { "query" };
    let msg = match Message::from_vec(b) {
        Ok(m) => m,
        Err(_) => return format!("DNS {kind} id 0x{:04x} (cannot be decoded)", h.id),
    };
    let bare = |n: String| match n.strip_suffix('.') {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => n,
    };
    let mut s = format!("DNS {kind}");
    if let Some(q) = msg.queries.first() {
        let _ = write!(
            s,
            " {} {}",
            type_name(q.query_type()),
            bare(name_to_string(q.name()))
        );
    }
    let _ = write!(s, " id 0x{:04x}", h.id);
    if h.qr {
        let _ = write!(s, " {}", rcode_name(h.rcode));
        if h.tc {
            s.push_str(" (truncated: TC set)");
        }
        let records: Vec<String> = msg
            .answers
            .iter()
            .map(|r| match &r.data {
                RData::A(a) => format!("A {}", a.0),
                RData::AAAA(a) => format!("AAAA {}", a.0),
                RData::CNAME(n) => format!("CNAME {}", bare(name_to_string(n))),
                _ => type_name(r.record_type()),
            })
            .collect();
        if records.is_empty() {
            s.push_str(", no answer records");
        } else {
            let _ = write!(s, ": {}", records.join(", "));
        }
    }
    s
}

/// The request line or status line at the start of an HTTP/1.x message.
pub(crate) fn describe_http(p: &[u8]) -> Option<String> {
    let head = &p[..p.len().min(4096)];
    let end = head
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(head.len());
    let line = std::str::from_utf8(&head[..end]).ok()?;
    let shown: String = line.chars().take(200).collect();
    if let Some(rest) = line.strip_prefix("HTTP/") {
        let mut it = rest.splitn(2, ' ');
        let version = it.next()?;
        let status = it.next()?.get(..3)?;
        if version.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()) {
            return Some(format!("HTTP response {shown}"));
        }
        return None;
    }
    let mut it = line.split(' ');
    let (method, target, version) = (it.next()?, it.next()?, it.next()?);
    let method_ok = !method.is_empty()
        && method.len() <= 20
        && method.bytes().all(|b| b.is_ascii_uppercase() || b == b'-');
    if method_ok && !target.is_empty() && version.starts_with("HTTP/") && it.next().is_none() {
        return Some(format!("HTTP request {shown}"));
    }
    None
}

/// A TLS record header: content type 20..=24, major version 3.
pub(crate) fn looks_like_tls(p: &[u8]) -> bool {
    matches!(p, [20..=24, 3, 0..=4, ..])
}

fn content_type_name(t: u8) -> &'static str {
    match t {
        20 => "ChangeCipherSpec",
        21 => "alert",
        22 => "handshake",
        23 => "application data",
        24 => "heartbeat",
        _ => "record",
    }
}

fn handshake_name(t: u8) -> Option<&'static str> {
    crate::tls::names::handshake_name(t)
}

fn alert_name(level: u8, desc: u8) -> String {
    let level = match level {
        1 => "warning",
        2 => "fatal",
        _ => "level?",
    };
    let desc = match desc {
        0 => "close_notify".to_string(),
        10 => "unexpected_message".into(),
        20 => "bad_record_mac".into(),
        40 => "handshake_failure".into(),
        42 => "bad_certificate".into(),
        45 => "certificate_expired".into(),
        46 => "certificate_unknown".into(),
        48 => "unknown_ca".into(),
        70 => "protocol_version".into(),
        80 => "internal_error".into(),
        112 => "unrecognized_name".into(),
        120 => "no_application_protocol".into(),
        d => format!("description {d}"),
    };
    format!("alert {level} {desc}")
}

/// The TLS records that start in one segment.
pub(crate) struct TlsWalk {
    /// One description per record (handshake records: the messages in them), repeats collapsed.
    pub parts: Vec<String>,
    /// Offset (from the segment start) of the next record header; `None` if a header was cut.
    pub next: Option<usize>,
    /// Content type of the last record that started.
    pub last: String,
    pub saw_ccs: bool,
}

/// Walks the records starting at `start` in `p`. After ChangeCipherSpec (`encrypted_hs`), a
/// handshake record's body is ciphertext: it is named "encrypted handshake message".
pub(crate) fn walk_tls(p: &[u8], start: usize, mut encrypted_hs: bool) -> TlsWalk {
    let mut raw_parts: Vec<String> = Vec::new();
    let mut off = start;
    let mut next = Some(start);
    let mut saw_ccs = false;
    while off < p.len() {
        let Some(h) = p.get(off..off + 5) else {
            raw_parts.push("record header (cut by the segment end)".into());
            next = None;
            break;
        };
        let ty = h[0];
        let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
        let body = p.get(off + 5..(off + 5 + len).min(p.len())).unwrap_or(&[]);
        let desc = match ty {
            22 if !encrypted_hs => {
                let names = handshake_messages(body, len);
                if names.is_empty() {
                    "handshake".to_string()
                } else {
                    names.join(", ")
                }
            }
            22 => "encrypted handshake message".into(),
            21 if !encrypted_hs && len == 2 && body.len() == 2 => alert_name(body[0], body[1]),
            21 => "encrypted alert".into(),
            20 => {
                saw_ccs = true;
                encrypted_hs = true;
                "ChangeCipherSpec".into()
            }
            t => content_type_name(t).into(),
        };
        raw_parts.push(desc);
        off += 5 + len;
        next = Some(off);
    }
    let last = raw_parts.last().cloned().unwrap_or_default();
    TlsWalk {
        parts: collapse(raw_parts),
        next,
        last,
        saw_ccs,
    }
}

/// The handshake messages whose headers are inside `body` (the captured part of one record).
fn handshake_messages(body: &[u8], record_len: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 4 <= body.len().min(record_len) {
        let Some(name) = handshake_name(body[off]) else {
            break;
        };
        out.push(name.to_string());
        let len = (usize::from(body[off + 1]) << 16)
            | (usize::from(body[off + 2]) << 8)
            | usize::from(body[off + 3]);
        off += 4 + len;
    }
    out
}

/// `["application data", "application data"]` -> `["application data x2"]`.
fn collapse(parts: Vec<String>) -> Vec<String> {
    let mut out: Vec<(String, usize)> = Vec::new();
    for p in parts {
        match out.last_mut() {
            Some((last, n)) if *last == p => *n += 1,
            _ => out.push((p, 1)),
        }
    }
    out.into_iter()
        .map(|(p, n)| if n > 1 { format!("{p} x{n}") } else { p })
        .collect()
}

/// `a` is before `b` in sequence space.
fn seq_before(a: u32, b: u32) -> bool {
    (a.wrapping_sub(b) as i32) < 0
}

#[derive(Default)]
enum StreamKind {
    #[default]
    Unknown,
    Tls {
        /// Absolute sequence number of the next record header, if in sync.
        next_record: Option<u32>,
        after_ccs: bool,
        last: String,
    },
    Http,
    Other,
}

#[derive(Default)]
struct HalfFlow {
    next_seq: Option<u32>,
    kind: StreamKind,
}

/// Follows every TCP direction through the capture and rewrites `what` for segments that only a
/// stream view can name: retransmissions, and TLS or HTTP data that continues an earlier record or
/// message. Packets must be in capture order.
pub(crate) fn annotate_streams(packets: &mut [Packet]) {
    let mut flows: HashMap<(SocketAddr, SocketAddr), HalfFlow> = HashMap::new();
    for p in packets.iter_mut() {
        let Proto::Tcp(seg) = &p.decoded.proto else {
            continue;
        };
        if seg.payload_len == 0 {
            continue;
        }
        let (seq, len) = (seg.seq, seg.payload_len as u32);
        let seq = if seg.flags.has(TcpFlags::SYN) {
            seq.wrapping_add(1)
        } else {
            seq
        };
        let end = seq.wrapping_add(len);
        let bytes = p.decoded.payload_bytes(&p.raw);
        let half = flows.entry((p.decoded.src, p.decoded.dst)).or_default();
        if let Some(n) = half.next_seq
            && !seq_before(n, end)
        {
            // Every byte of it was seen before.
            p.decoded.what = if p.decoded.what.is_empty() {
                "retransmission".into()
            } else {
                format!("retransmission ({})", p.decoded.what)
            };
            continue;
        }
        half.next_seq = Some(match half.next_seq {
            Some(n) if seq_before(end, n) => n,
            _ => end,
        });
        if matches!(half.kind, StreamKind::Unknown) {
            half.kind = if looks_like_tls(bytes) && !p.decoded.what.starts_with("DNS") {
                StreamKind::Tls {
                    next_record: Some(seq),
                    after_ccs: false,
                    last: String::new(),
                }
            } else if p.decoded.what.starts_with("HTTP") {
                StreamKind::Http
            } else {
                StreamKind::Other
            };
        }
        match &mut half.kind {
            StreamKind::Tls {
                next_record,
                after_ccs,
                last,
            } => {
                let start = match *next_record {
                    Some(r) if !seq_before(r, seq) && seq_before(r, end) => {
                        Some(r.wrapping_sub(seq) as usize)
                    }
                    Some(r) if !seq_before(r, end) => {
                        // The record that started earlier goes on past this segment.
                        p.decoded.what = format!("TLS {last} (continued)");
                        continue;
                    }
                    // Out of sync (bytes missing from the capture): try this segment's start.
                    _ if looks_like_tls(bytes) => Some(0),
                    _ => None,
                };
                let Some(start) = start.filter(|&s| s < bytes.len()) else {
                    p.decoded.what = "TLS (record boundaries lost: bytes missing)".into();
                    *next_record = None;
                    continue;
                };
                let walk = walk_tls(bytes, start, *after_ccs);
                let mut parts = walk.parts;
                if start > 0 && !last.is_empty() {
                    parts.insert(0, format!("end of {last}"));
                }
                p.decoded.what = format!("TLS {}", parts.join(", "));
                *after_ccs |= walk.saw_ccs;
                *last = walk.last;
                *next_record = walk.next.map(|o| seq.wrapping_add(o as u32));
            }
            StreamKind::Http if p.decoded.what.is_empty() => {
                p.decoded.what = "HTTP data (continued)".into();
            }
            _ => {}
        }
    }
}
