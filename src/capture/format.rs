//! Printing captured packets the way `tcpdump -n -tt` does, relative sequence numbers included.
//!
//! tcpdump keeps, per TCP conversation, the base sequence number of each side: the first packet
//! with ACK set (or any packet with SYN and ACK) defines them — its own seq for the sender, its ack
//! minus one for the receiver — and is printed with absolute numbers, like every packet without
//! ACK (the first SYN). Later packets with ACK print seq and ack relative to those bases.
//! [`FlowSeqs`] replays exactly that over a capture, so lines match tcpdump's.

use super::Packet;
use super::decode::{Proto, TcpOption, TcpSegment};
use std::collections::HashMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Identifies one TCP packet of the capture the bases were computed from.
type PacketKey = (u64, SocketAddr, SocketAddr, u32, u32, u8);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Shown {
    seq: u32,
    ack: u32,
    /// Subtracted from SACK block edges (the receiver's base; 0 without ACK).
    sack_base: u32,
}

/// The sequence numbers tcpdump would print for each TCP packet of a capture.
#[derive(Clone, Debug, Default)]
pub struct FlowSeqs {
    shown: HashMap<PacketKey, Shown>,
}

fn key(p: &Packet, t: &TcpSegment) -> PacketKey {
    (
        p.ts_us_epoch,
        p.decoded.src,
        p.decoded.dst,
        t.seq,
        t.ack,
        t.flags.0,
    )
}

impl FlowSeqs {
    /// Replays tcpdump's bookkeeping over `packets` (in capture order).
    pub fn new(packets: &[Packet]) -> FlowSeqs {
        // Conversation (endpoints in a fixed order) -> base of each endpoint's sequence space.
        let mut bases: HashMap<(SocketAddr, SocketAddr), HashMap<SocketAddr, u32>> = HashMap::new();
        let mut shown = HashMap::new();
        for p in packets {
            let Proto::Tcp(t) = &p.decoded.proto else {
                continue;
            };
            let (src, dst) = (p.decoded.src, p.decoded.dst);
            let s = if !t.flags.has(super::TcpFlags::ACK) {
                Shown {
                    seq: t.seq,
                    ack: t.ack,
                    sack_base: 0,
                }
            } else {
                let conv = if src <= dst { (src, dst) } else { (dst, src) };
                match bases.get(&conv) {
                    Some(b) if !t.flags.has(super::TcpFlags::SYN) => {
                        let bs = b.get(&src).copied().unwrap_or(0);
                        let bd = b.get(&dst).copied().unwrap_or(0);
                        Shown {
                            seq: t.seq.wrapping_sub(bs),
                            ack: t.ack.wrapping_sub(bd),
                            sack_base: bd,
                        }
                    }
                    _ => {
                        let receiver_base = t.ack.wrapping_sub(1);
                        bases.insert(conv, HashMap::from([(src, t.seq), (dst, receiver_base)]));
                        Shown {
                            seq: t.seq,
                            ack: t.ack,
                            sack_base: receiver_base,
                        }
                    }
                }
            };
            shown.insert(key(p, t), s);
        }
        FlowSeqs { shown }
    }
}

fn endpoint(a: &SocketAddr, with_port: bool) -> String {
    if with_port {
        format!("{}.{}", a.ip(), a.port())
    } else {
        a.ip().to_string()
    }
}

/// One line like `tcpdump -n -tt`, then `: what` when the payload was recognized:
///
/// `1700000000.123456 IP 127.0.0.1.41234 > 127.0.0.1.8080: Flags [S], seq 3868724010, win 65495,
/// options [mss 65495,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0`
///
/// `first_seq` must have been built from the capture `p` belongs to ([`FlowSeqs::new`]); a packet
/// it does not know is printed with absolute numbers.
pub fn tcpdump_line(p: &Packet, first_seq: &FlowSeqs) -> String {
    let mut s = tcpdump_plain(p, first_seq);
    if !p.decoded.what.is_empty() {
        let _ = write!(s, ": {}", p.decoded.what);
    }
    s
}

/// The part of [`tcpdump_line`] that tcpdump itself prints (for ports it does not decode).
pub(crate) fn tcpdump_plain(p: &Packet, first_seq: &FlowSeqs) -> String {
    let d = &p.decoded;
    let mut s = format!(
        "{}.{:06} ",
        p.ts_us_epoch / 1_000_000,
        p.ts_us_epoch % 1_000_000
    );
    if let Proto::Arp { summary, .. } = &d.proto {
        s.push_str(summary);
        return s;
    }
    s.push_str(if d.src.is_ipv4() { "IP " } else { "IP6 " });
    let ports = matches!(d.proto, Proto::Tcp(_) | Proto::Udp { .. });
    let _ = write!(
        s,
        "{} > {}: ",
        endpoint(&d.src, ports),
        endpoint(&d.dst, ports)
    );
    match &d.proto {
        Proto::Tcp(t) => {
            let shown = first_seq.shown.get(&key(p, t)).copied().unwrap_or(Shown {
                seq: t.seq,
                ack: t.ack,
                sack_base: 0,
            });
            write_tcp(&mut s, t, shown);
        }
        Proto::Udp { payload_len } => {
            let _ = write!(s, "UDP, length {payload_len}");
        }
        Proto::Other { summary, .. } | Proto::Arp { summary, .. } => s.push_str(summary),
    }
    s
}

fn write_tcp(s: &mut String, t: &TcpSegment, shown: Shown) {
    use super::TcpFlags;
    let _ = write!(s, "Flags [{}]", t.flags.tcpdump());
    let len = t.payload_len as u32;
    if len > 0 || t.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) != 0 {
        let _ = write!(s, ", seq {}", shown.seq);
        if len > 0 {
            let _ = write!(s, ":{}", shown.seq.wrapping_add(len));
        }
    }
    if t.flags.has(TcpFlags::ACK) {
        let _ = write!(s, ", ack {}", shown.ack);
    }
    let _ = write!(s, ", win {}", t.window);
    if t.flags.has(TcpFlags::URG) {
        let _ = write!(s, ", urg {}", t.urgent);
    }
    if !t.options.is_empty() {
        let opts: Vec<String> = t
            .options
            .iter()
            .map(|o| option_text(o, shown.sack_base))
            .collect();
        let _ = write!(s, ", options [{}]", opts.join(","));
    }
    let _ = write!(s, ", length {}", t.payload_len);
}

fn hex(d: &[u8]) -> String {
    d.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn option_text(o: &TcpOption, sack_base: u32) -> String {
    match o {
        TcpOption::Eol => "eol".into(),
        TcpOption::Nop => "nop".into(),
        TcpOption::Mss(v) => format!("mss {v}"),
        TcpOption::WindowScale(v) => format!("wscale {v}"),
        TcpOption::SackPermitted => "sackOK".into(),
        TcpOption::Sack(blocks) => {
            let mut s = format!("sack {} ", blocks.len());
            for (l, r) in blocks {
                let _ = write!(
                    s,
                    "{{{}:{}}}",
                    l.wrapping_sub(sack_base),
                    r.wrapping_sub(sack_base)
                );
            }
            s
        }
        TcpOption::Timestamps { val, ecr } => format!("TS val {val} ecr {ecr}"),
        TcpOption::FastOpen(c) if c.is_empty() => "tfo  cookiereq".into(),
        TcpOption::FastOpen(c) => format!("tfo  cookie {}", hex(c)),
        TcpOption::Unknown { kind, data } if data.is_empty() => format!("unknown-{kind}"),
        TcpOption::Unknown { kind, data } => format!("unknown-{kind} 0x{}", hex(data)),
        TcpOption::Bad { .. } => "[bad opt]".into(),
    }
}
