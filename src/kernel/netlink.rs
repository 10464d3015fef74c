//! The few netlink messages `--kernel-view` sends and reads, built and parsed by hand.
//!
//! Three rtnetlink requests (a route lookup as `ip route get` makes, one link, the neighbour
//! table) and one sock_diag request (one TCP socket by its exact 4-tuple, as `ss` can ask). The
//! layouts are the kernel's stable ABI (linux/netlink.h, rtnetlink.h, neighbour.h,
//! inet_diag.h), in host byte order except where the ABI says network order.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

const NLMSG_HDR: usize = 16;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;

pub const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
pub const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
pub const RTM_NEWNEIGH: u16 = 28;
const RTM_GETNEIGH: u16 = 30;
pub const SOCK_DIAG_BY_FAMILY: u16 = 20;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PREFSRC: u16 = 7;
const RTA_TABLE: u16 = 15;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_OPERSTATE: u16 = 16;
const NDA_DST: u16 = 1;
const NDA_LLADDR: u16 = 2;

const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const IPPROTO_TCP: u8 = 6;

/// One netlink message: its type and its payload (after the 16-byte header).
#[derive(Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub kind: u16,
    pub seq: u32,
    pub payload: &'a [u8],
}

fn family(ip: &IpAddr) -> u8 {
    if ip.is_ipv4() { AF_INET } else { AF_INET6 }
}

fn ip_bytes(ip: &IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A message: header, fixed part, attributes (type, value).
fn message(kind: u16, flags: u16, seq: u32, fixed: &[u8], attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut body = fixed.to_vec();
    for (ty, value) in attrs {
        body.resize(align4(body.len()), 0);
        body.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        body.extend_from_slice(&ty.to_ne_bytes());
        body.extend_from_slice(value);
    }
    body.resize(align4(body.len()), 0);
    let mut out = Vec::with_capacity(NLMSG_HDR + body.len());
    out.extend_from_slice(&((NLMSG_HDR + body.len()) as u32).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&body);
    out
}

/// RTM_GETROUTE for one destination: the route the kernel would use, as `ip route get DST`.
pub fn route_request(seq: u32, dst: &IpAddr) -> Vec<u8> {
    let bits = if dst.is_ipv4() { 32 } else { 128 };
    // struct rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32).
    let rtmsg = [family(dst), bits, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    message(RTM_GETROUTE, 0, seq, &rtmsg, &[(RTA_DST, &ip_bytes(dst))])
}

/// RTM_GETLINK for one interface index.
pub fn link_request(seq: u32, ifindex: u32) -> Vec<u8> {
    // struct ifinfomsg: family, pad, type (u16), index (i32), flags (u32), change (u32).
    let mut ifinfo = vec![0u8; 16];
    ifinfo[4..8].copy_from_slice(&ifindex.to_ne_bytes());
    message(RTM_GETLINK, 0, seq, &ifinfo, &[])
}

/// RTM_GETNEIGH dump of one family's neighbour table (filtered here, not by the kernel).
pub fn neighbour_dump_request(seq: u32, of: &IpAddr) -> Vec<u8> {
    // struct ndmsg: family, pad1, pad2 (u16), ifindex (i32), state (u16), flags, type.
    let mut ndmsg = vec![0u8; 12];
    ndmsg[0] = family(of);
    message(RTM_GETNEIGH, NLM_F_DUMP, seq, &ndmsg, &[])
}

/// SOCK_DIAG_BY_FAMILY for one TCP socket by its exact 4-tuple (any state).
pub fn tcp_socket_request(seq: u32, local: &SocketAddr, peer: &SocketAddr) -> Vec<u8> {
    // struct inet_diag_req_v2: family, protocol, ext, pad, states (u32), then inet_diag_sockid.
    let mut req = vec![family(&local.ip()), IPPROTO_TCP, 0, 0];
    req.extend_from_slice(&u32::MAX.to_ne_bytes());
    req.extend_from_slice(&sockid(local, peer));
    message(SOCK_DIAG_BY_FAMILY, 0, seq, &req, &[])
}

/// struct inet_diag_sockid: ports and addresses in network order, interface 0, no cookie.
fn sockid(local: &SocketAddr, peer: &SocketAddr) -> [u8; 48] {
    let mut id = [0u8; 48];
    id[0..2].copy_from_slice(&local.port().to_be_bytes());
    id[2..4].copy_from_slice(&peer.port().to_be_bytes());
    let src = ip_bytes(&local.ip());
    let dst = ip_bytes(&peer.ip());
    id[4..4 + src.len()].copy_from_slice(&src);
    id[20..20 + dst.len()].copy_from_slice(&dst);
    // INET_DIAG_NOCOOKIE: match whatever socket has this 4-tuple.
    id[40..48].copy_from_slice(&[0xff; 8]);
    id
}

/// Splits a buffer from recv into messages. Stops at the first malformed header.
pub fn messages(buf: &[u8]) -> Vec<Message<'_>> {
    let mut out = Vec::new();
    let mut at = 0;
    while buf.len() >= at + NLMSG_HDR {
        let len = u32_at(buf, at) as usize;
        if len < NLMSG_HDR || at + len > buf.len() {
            break;
        }
        out.push(Message {
            kind: u16_at(buf, at + 4),
            seq: u32_at(buf, at + 8),
            payload: &buf[at + NLMSG_HDR..at + len],
        });
        at += align4(len);
    }
    out
}

/// The errno of an NLMSG_ERROR payload (0 is an ACK).
pub fn error_code(payload: &[u8]) -> i32 {
    if payload.len() < 4 {
        return -libc::EBADMSG;
    }
    i32::from_ne_bytes([payload[0], payload[1], payload[2], payload[3]])
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The attributes after a fixed part of `fixed` bytes: (type without flag bits, value).
fn attributes(payload: &[u8], fixed: usize) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    let mut at = fixed;
    while payload.len() >= at + 4 {
        let len = u16_at(payload, at) as usize;
        if len < 4 || at + len > payload.len() {
            break;
        }
        out.push((u16_at(payload, at + 2) & 0x3fff, &payload[at + 4..at + len]));
        at += align4(len);
    }
    out
}

fn ip_from(value: &[u8]) -> Option<IpAddr> {
    match value.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::new(
            value[0], value[1], value[2], value[3],
        ))),
        16 => {
            let mut o = [0u8; 16];
            o.copy_from_slice(value);
            Some(IpAddr::V6(Ipv6Addr::from(o)))
        }
        _ => None,
    }
}

fn u32_value(value: &[u8]) -> Option<u32> {
    (value.len() >= 4).then(|| u32_at(value, 0))
}

/// A hardware address as `aa:bb:cc:dd:ee:ff`.
pub fn mac_text(value: &[u8]) -> String {
    let mut s = String::with_capacity(value.len() * 3);
    for (i, b) in value.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// What RTM_NEWROUTE says about the lookup.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Route {
    pub kind: u8,
    pub table: u32,
    pub oif: Option<u32>,
    pub gateway: Option<IpAddr>,
    pub prefsrc: Option<IpAddr>,
}

pub fn parse_route(payload: &[u8]) -> Option<Route> {
    if payload.len() < 12 {
        return None;
    }
    let mut r = Route {
        kind: payload[7],
        table: u32::from(payload[4]),
        ..Route::default()
    };
    for (ty, v) in attributes(payload, 12) {
        match ty {
            RTA_TABLE => r.table = u32_value(v).unwrap_or(r.table),
            RTA_OIF => r.oif = u32_value(v),
            RTA_GATEWAY => r.gateway = ip_from(v),
            RTA_PREFSRC => r.prefsrc = ip_from(v),
            _ => {}
        }
    }
    Some(r)
}

/// Linux's route types (rtnetlink.h RTN_*).
pub fn route_kind_name(kind: u8) -> String {
    match kind {
        1 => "unicast".into(),
        2 => "local".into(),
        3 => "broadcast".into(),
        4 => "anycast".into(),
        5 => "multicast".into(),
        6 => "blackhole".into(),
        7 => "unreachable".into(),
        8 => "prohibit".into(),
        9 => "throw".into(),
        other => format!("type {other}"),
    }
}

/// The routing table's name as `ip route` prints it.
pub fn table_name(table: u32) -> String {
    match table {
        253 => "default".into(),
        254 => "main".into(),
        255 => "local".into(),
        other => other.to_string(),
    }
}

/// What RTM_NEWLINK says about an interface.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Link {
    pub ifindex: u32,
    pub link_type: u16,
    pub name: String,
    pub mtu: u32,
    pub mac: Option<String>,
    pub operstate: u8,
}

pub fn parse_link(payload: &[u8]) -> Option<Link> {
    if payload.len() < 16 {
        return None;
    }
    let mut l = Link {
        link_type: u16_at(payload, 2),
        ifindex: u32_at(payload, 4),
        ..Link::default()
    };
    for (ty, v) in attributes(payload, 16) {
        match ty {
            IFLA_IFNAME => {
                let name = v.split(|&b| b == 0).next().unwrap_or_default();
                l.name = String::from_utf8_lossy(name).into_owned();
            }
            IFLA_MTU => l.mtu = u32_value(v).unwrap_or(0),
            IFLA_ADDRESS if !v.is_empty() && v.iter().any(|&b| b != 0) => {
                l.mac = Some(mac_text(v));
            }
            IFLA_OPERSTATE => l.operstate = v.first().copied().unwrap_or(0),
            _ => {}
        }
    }
    Some(l)
}

/// RFC 2863 operational states (if.h IF_OPER_*).
pub fn operstate_name(state: u8) -> &'static str {
    match state {
        1 => "NOTPRESENT",
        2 => "DOWN",
        3 => "LOWERLAYERDOWN",
        4 => "TESTING",
        5 => "DORMANT",
        6 => "UP",
        _ => "UNKNOWN",
    }
}

/// ARPHRD_* names for the link types wtcurl meets.
pub fn link_type_name(t: u16) -> String {
    match t {
        1 => "ether".into(),
        772 => "loopback".into(),
        65534 => "none (tun)".into(),
        other => format!("ARPHRD {other}"),
    }
}

/// One entry of RTM_NEWNEIGH.
#[derive(Debug, PartialEq, Eq)]
pub struct Neighbour {
    pub ifindex: u32,
    pub state: u16,
    pub dst: Option<IpAddr>,
    pub mac: Option<String>,
}

pub fn parse_neighbour(payload: &[u8]) -> Option<Neighbour> {
    if payload.len() < 12 {
        return None;
    }
    let mut n = Neighbour {
        ifindex: u32_at(payload, 4),
        state: u16_at(payload, 8),
        dst: None,
        mac: None,
    };
    for (ty, v) in attributes(payload, 12) {
        match ty {
            NDA_DST => n.dst = ip_from(v),
            NDA_LLADDR => n.mac = Some(mac_text(v)),
            _ => {}
        }
    }
    Some(n)
}

/// NUD_* state bits as names joined with `|`.
pub fn nud_state_names(state: u16) -> String {
    const NAMES: [(u16, &str); 8] = [
        (0x01, "INCOMPLETE"),
        (0x02, "REACHABLE"),
        (0x04, "STALE"),
        (0x08, "DELAY"),
        (0x10, "PROBE"),
        (0x20, "FAILED"),
        (0x40, "NOARP"),
        (0x80, "PERMANENT"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| state & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    if names.is_empty() {
        "NONE".into()
    } else {
        names.join("|")
    }
}

/// One socket of a sock_diag answer (struct inet_diag_msg).
#[derive(Debug, PartialEq, Eq)]
pub struct DiagSocket {
    pub state: u8,
    pub timer: u8,
    pub expires_ms: u32,
    pub local: SocketAddr,
    pub peer: SocketAddr,
}

pub fn parse_diag(payload: &[u8]) -> Option<DiagSocket> {
    if payload.len() < 72 {
        return None;
    }
    let fam = payload[0];
    let id = &payload[4..52];
    let addr = |at: usize, port_at: usize| -> Option<SocketAddr> {
        let port = u16::from_be_bytes([id[port_at], id[port_at + 1]]);
        let ip = if fam == AF_INET {
            ip_from(&id[at..at + 4])?
        } else {
            ip_from(&id[at..at + 16])?
        };
        Some(SocketAddr::new(ip, port))
    };
    Some(DiagSocket {
        state: payload[1],
        timer: payload[2],
        expires_ms: u32_at(payload, 52),
        local: addr(4, 0)?,
        peer: addr(20, 2)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_request_is_ip_route_get() {
        let dst: IpAddr = "192.0.2.1".parse().unwrap();
        let m = route_request(7, &dst);
        // nlmsghdr: len 36, type 26, flags REQUEST, seq 7, pid 0.
        assert_eq!(&m[0..4], &36u32.to_ne_bytes());
        assert_eq!(&m[4..6], &26u16.to_ne_bytes());
        assert_eq!(&m[6..8], &1u16.to_ne_bytes());
        assert_eq!(&m[8..12], &7u32.to_ne_bytes());
        // rtmsg: AF_INET, /32.
        assert_eq!(&m[16..18], &[2, 32]);
        // RTA_DST, 8 bytes, 192.0.2.1.
        assert_eq!(&m[28..30], &8u16.to_ne_bytes());
        assert_eq!(&m[30..32], &1u16.to_ne_bytes());
        assert_eq!(&m[32..36], &[192, 0, 2, 1]);
        let v6 = route_request(1, &"2001:db8::1".parse().unwrap());
        assert_eq!(v6.len(), 16 + 12 + 20);
        assert_eq!(&v6[16..18], &[10, 128]);
    }

    #[test]
    fn diag_request_names_the_exact_tuple() {
        let local: SocketAddr = "192.0.2.2:43210".parse().unwrap();
        let peer: SocketAddr = "192.0.2.1:80".parse().unwrap();
        let m = tcp_socket_request(3, &local, &peer);
        assert_eq!(m.len(), 16 + 56);
        assert_eq!(&m[4..6], &20u16.to_ne_bytes());
        assert_eq!(&m[16..20], &[2, 6, 0, 0]);
        assert_eq!(&m[20..24], &[0xff; 4]);
        assert_eq!(&m[24..26], &43210u16.to_be_bytes());
        assert_eq!(&m[26..28], &80u16.to_be_bytes());
        assert_eq!(&m[28..32], &[192, 0, 2, 2]);
        assert_eq!(&m[44..48], &[192, 0, 2, 1]);
        assert_eq!(&m[64..72], &[0xff; 8]);
    }

    /// An RTM_NEWROUTE answer as the kernel sends it for `ip route get 127.0.0.1`.
    fn loopback_route_answer() -> Vec<u8> {
        let rtmsg = [2u8, 32, 0, 0, 255, 0, 254, 2, 0, 0, 0x80, 0];
        let mut m = message(
            RTM_NEWROUTE,
            0,
            9,
            &rtmsg,
            &[
                (RTA_TABLE, &255u32.to_ne_bytes()),
                (RTA_DST, &[127, 0, 0, 1]),
                (RTA_OIF, &1u32.to_ne_bytes()),
                (RTA_PREFSRC, &[127, 0, 0, 1]),
            ],
        );
        // The kernel's answers carry no REQUEST flag.
        m[6] = 0;
        m
    }

    #[test]
    fn route_answers_parse() {
        let buf = loopback_route_answer();
        let msgs = messages(&buf);
        assert_eq!(msgs.len(), 1);
        assert_eq!((msgs[0].kind, msgs[0].seq), (RTM_NEWROUTE, 9));
        let r = parse_route(msgs[0].payload).unwrap();
        assert_eq!(route_kind_name(r.kind), "local");
        assert_eq!(table_name(r.table), "local");
        assert_eq!(r.oif, Some(1));
        assert_eq!(r.gateway, None);
        assert_eq!(r.prefsrc, Some("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn link_and_neighbour_answers_parse() {
        let mut ifinfo = vec![0u8; 16];
        ifinfo[2..4].copy_from_slice(&1u16.to_ne_bytes());
        ifinfo[4..8].copy_from_slice(&5u32.to_ne_bytes());
        let m = message(
            RTM_NEWLINK,
            0,
            2,
            &ifinfo,
            &[
                (IFLA_IFNAME, b"veth0\0"),
                (IFLA_MTU, &1500u32.to_ne_bytes()),
                (IFLA_ADDRESS, &[2, 0, 0, 0, 0, 1]),
                (IFLA_OPERSTATE, &[6]),
            ],
        );
        let l = parse_link(messages(&m)[0].payload).unwrap();
        assert_eq!(
            (l.ifindex, l.name.as_str(), l.mtu, l.mac.as_deref()),
            (5, "veth0", 1500, Some("02:00:00:00:00:01"))
        );
        assert_eq!(
            (
                link_type_name(l.link_type).as_str(),
                operstate_name(l.operstate)
            ),
            ("ether", "UP")
        );

        let mut ndmsg = vec![0u8; 12];
        ndmsg[0] = 2;
        ndmsg[4..8].copy_from_slice(&5u32.to_ne_bytes());
        ndmsg[8..10].copy_from_slice(&0x02u16.to_ne_bytes());
        let mut two = message(
            RTM_NEWNEIGH,
            0,
            3,
            &ndmsg,
            &[
                (NDA_DST, &[192, 0, 2, 1]),
                (NDA_LLADDR, &[2, 0, 0, 0, 0, 2]),
            ],
        );
        two.extend(message(NLMSG_DONE, 0, 3, &[0; 4], &[]));
        let msgs = messages(&two);
        assert_eq!(msgs.len(), 2);
        assert_eq!(msgs[1].kind, NLMSG_DONE);
        let n = parse_neighbour(msgs[0].payload).unwrap();
        assert_eq!(n.dst, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(n.mac.as_deref(), Some("02:00:00:00:00:02"));
        assert_eq!(nud_state_names(n.state), "REACHABLE");
        assert_eq!(nud_state_names(0x04 | 0x80), "STALE|PERMANENT");
        assert_eq!(nud_state_names(0), "NONE");
    }

    #[test]
    fn diag_answers_parse_and_errors_read() {
        let local: SocketAddr = "127.0.0.1:43210".parse().unwrap();
        let peer: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let mut msg = vec![2u8, 6, 3, 0];
        msg.extend_from_slice(&sockid(&local, &peer));
        msg.extend_from_slice(&59_998u32.to_ne_bytes());
        msg.extend_from_slice(&[0; 20]);
        let d = parse_diag(&msg).unwrap();
        assert_eq!((d.state, d.timer, d.expires_ms), (6, 3, 59_998));
        assert_eq!((d.local, d.peer), (local, peer));
        assert_eq!(parse_diag(&msg[..40]), None);
        assert_eq!(error_code(&(-2i32).to_ne_bytes()), -2);
        assert_eq!(error_code(&[1]), -libc::EBADMSG);
    }

    #[test]
    fn truncated_or_garbage_buffers_never_panic() {
        let buf = loopback_route_answer();
        for cut in 0..buf.len() {
            for m in messages(&buf[..cut]) {
                let _ = parse_route(m.payload);
                let _ = parse_link(m.payload);
                let _ = parse_neighbour(m.payload);
                let _ = parse_diag(m.payload);
            }
        }
        let garbage: Vec<u8> = (0..200u32).map(|i| (i * 37 % 251) as u8).collect();
        for m in messages(&garbage) {
            let _ = parse_route(m.payload);
        }
        assert!(messages(&[0xff; 15]).is_empty());
    }
}
