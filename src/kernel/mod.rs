//! `--kernel-view`: the kernel's own view of a connection's path and of its close, asked over netlink.
//!
//! After connect: the route the kernel picks for the peer (as `ip route get`), the interface and
//! its MTU, the next hop's neighbour (ARP/NDP) entry, and the ephemeral port range the local port
//! came from. After close: the state of the 4-tuple in the kernel's socket table (as `ss` reads
//! it), polled a few times until TIME_WAIT or gone. Every netlink syscall goes through
//! [`crate::sys`], so the trace has each one; a part the kernel will not give becomes an error
//! string in the event, never a failed request.

pub mod netlink;

use crate::event::{
    Event, KernelLink, KernelNeighbour, KernelRoute, PortRange, Seen, SocketStateSeen, Tracer,
};
use crate::sys::{self, Fd, Interest, Netlink};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// How long one netlink answer may take before wtcurl gives up on it.
const ANSWER_WAIT_MS: u32 = 1_000;
/// Receive calls per request, at most (a neighbour dump on a busy host takes a few).
const MAX_RECVS: usize = 64;
/// The pauses between looks at the closed socket: about 127 ms in all, then wtcurl stops.
const CLOSE_POLLS_MS: [u64; 8] = [0, 1, 2, 4, 8, 16, 32, 64];
const PORT_RANGE_FILE: &str = "/proc/sys/net/ipv4/ip_local_port_range";

/// Linux's TCP states (include/net/tcp_states.h).
pub fn tcp_state(state: u8) -> &'static str {
    match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        12 => "NEW_SYN_RECV",
        _ => "unknown",
    }
}

/// One netlink socket and the requests made on it, counting the syscalls.
struct Conversation {
    fd: Fd,
    seq: u32,
    calls: u32,
    buf: Vec<u8>,
}

impl Conversation {
    fn open(t: &mut Tracer, which: Netlink, calls: &mut u32) -> Result<Self, String> {
        *calls += 1;
        let fd = sys::netlink_socket(t, which).map_err(|e| format!("socket(AF_NETLINK): {e}"))?;
        Ok(Conversation {
            fd,
            seq: 0,
            calls: 0,
            buf: vec![0; 32 * 1024],
        })
    }

    /// Sends a request built for the next sequence number and collects the payloads of its
    /// answers: one message, or all of a dump until NLMSG_DONE. An error answer is Err.
    fn ask(
        &mut self,
        t: &mut Tracer,
        build: impl FnOnce(u32) -> Vec<u8>,
        dump: bool,
    ) -> Result<Vec<(u16, Vec<u8>)>, String> {
        self.seq += 1;
        let seq = self.seq;
        let req = build(seq);
        self.calls += 1;
        sys::sendto(t, self.fd, &req, None).map_err(|e| format!("sendto: {e}"))?;
        let mut got = Vec::new();
        for _ in 0..MAX_RECVS {
            self.calls += 1;
            let ready = sys::poll(t, &[(self.fd, Interest::Readable)], Some(ANSWER_WAIT_MS))
                .map_err(|e| format!("poll: {e}"))?;
            if !ready.first().is_some_and(|r| r.readable) {
                return Err(format!("no answer within {ANSWER_WAIT_MS} ms"));
            }
            self.calls += 1;
            let (n, _) = sys::recvfrom(t, self.fd, &mut self.buf, false)
                .map_err(|e| format!("recvfrom: {e}"))?;
            for m in netlink::messages(&self.buf[..n]) {
                if m.seq != seq {
                    continue;
                }
                match m.kind {
                    netlink::NLMSG_ERROR => {
                        let code = netlink::error_code(m.payload);
                        return if code == 0 {
                            Ok(got)
                        } else {
                            Err(nix::errno::Errno::from_raw(-code).desc().to_string())
                        };
                    }
                    netlink::NLMSG_DONE => return Ok(got),
                    kind => {
                        got.push((kind, m.payload.to_vec()));
                        if !dump {
                            return Ok(got);
                        }
                    }
                }
            }
        }
        Err(format!("no end of the answer after {MAX_RECVS} reads"))
    }

    fn close(self, t: &mut Tracer, calls: &mut u32) {
        *calls += self.calls + 1;
        let _ = sys::close(t, self.fd);
    }
}

/// The first answer of `kind`, parsed.
fn first<T>(
    answers: Result<Vec<(u16, Vec<u8>)>, String>,
    kind: u16,
    parse: impl Fn(&[u8]) -> Option<T>,
) -> Result<T, String> {
    answers?
        .iter()
        .find(|(k, _)| *k == kind)
        .and_then(|(_, p)| parse(p))
        .ok_or_else(|| "the kernel's answer could not be read".to_string())
}

fn port_range(local_port: u16) -> Result<PortRange, String> {
    let text =
        std::fs::read_to_string(PORT_RANGE_FILE).map_err(|e| format!("{PORT_RANGE_FILE}: {e}"))?;
    let mut parts = text.split_whitespace().map(str::parse::<u16>);
    match (parts.next(), parts.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Ok(PortRange {
            low,
            high,
            local_port,
            source: PORT_RANGE_FILE.into(),
        }),
        _ => Err(format!("{PORT_RANGE_FILE}: unexpected text {text:?}")),
    }
}

/// After connect: asks the kernel about the path to `peer` and emits [`Event::KernelPath`].
pub fn path_view(t: &mut Tracer, conn_fd: Fd, local: SocketAddr, peer: SocketAddr) {
    let mut calls = 0;
    let port_range = port_range(local.port());
    let (route, link, neighbour) = match Conversation::open(t, Netlink::Route, &mut calls) {
        Err(e) => (Err(e), None, None),
        Ok(mut c) => {
            let parts = ask_path(t, &mut c, peer.ip());
            c.close(t, &mut calls);
            parts
        }
    };
    let at_us = t.now_us();
    t.emit(Event::KernelPath {
        at_us,
        fd: conn_fd.0,
        local,
        peer,
        route: Box::new(route.into()),
        link: link.map(|l| Box::new(Seen::from(l))),
        neighbour: neighbour.map(|n| Box::new(Seen::from(n))),
        port_range: Box::new(port_range.into()),
        syscalls: calls,
    });
}

type PathParts = (
    Result<KernelRoute, String>,
    Option<Result<KernelLink, String>>,
    Option<Result<KernelNeighbour, String>>,
);

fn ask_path(t: &mut Tracer, c: &mut Conversation, dst: IpAddr) -> PathParts {
    let route = first(
        c.ask(t, |seq| netlink::route_request(seq, &dst), false),
        netlink::RTM_NEWROUTE,
        netlink::parse_route,
    );
    let route = match route {
        Ok(r) => r,
        Err(e) => return (Err(e), None, None),
    };
    let ifindex = route.oif.unwrap_or(0);
    let link = (ifindex != 0).then(|| {
        first(
            c.ask(t, |seq| netlink::link_request(seq, ifindex), false),
            netlink::RTM_NEWLINK,
            netlink::parse_link,
        )
    });
    let dev = match &link {
        Some(Ok(l)) => l.name.clone(),
        _ => format!("if{ifindex}"),
    };
    // Only a unicast route sends frames to a next hop; a local one loops back inside the host.
    let neighbour = (route.kind == 1).then(|| {
        let next_hop = route.gateway.unwrap_or(dst);
        let answers = c.ask(
            t,
            |seq| netlink::neighbour_dump_request(seq, &next_hop),
            true,
        )?;
        let entry = answers
            .iter()
            .filter(|(k, _)| *k == netlink::RTM_NEWNEIGH)
            .filter_map(|(_, p)| netlink::parse_neighbour(p))
            .find(|n| n.ifindex == ifindex && n.dst == Some(next_hop));
        Ok(KernelNeighbour {
            next_hop,
            protocol: if next_hop.is_ipv4() { "ARP" } else { "NDP" }.into(),
            mac: entry.as_ref().and_then(|n| n.mac.clone()),
            state: entry
                .map(|n| netlink::nud_state_names(n.state))
                .unwrap_or_default(),
            source: "netlink RTM_GETNEIGH (as `ip neigh show`)".into(),
        })
    });
    let link = link.map(|l| {
        l.map(|l| KernelLink {
            link_type: netlink::link_type_name(l.link_type),
            operstate: netlink::operstate_name(l.operstate).into(),
            name: l.name,
            ifindex: l.ifindex,
            mtu: l.mtu,
            mac: l.mac,
            source: "netlink RTM_GETLINK (as `ip link show`)".into(),
        })
    });
    let route = KernelRoute {
        kind: netlink::route_kind_name(route.kind),
        table: netlink::table_name(route.table),
        dev,
        ifindex,
        gateway: route.gateway,
        prefsrc: route.prefsrc,
        source: format!("netlink RTM_GETROUTE (as `ip route get {dst}`)"),
    };
    (Ok(route), link, neighbour)
}

/// What one look at the socket table found for a 4-tuple.
fn look(t: &mut Tracer, c: &mut Conversation, local: &SocketAddr, peer: &SocketAddr) -> Look {
    match c.ask(
        t,
        |seq| netlink::tcp_socket_request(seq, local, peer),
        false,
    ) {
        Ok(answers) => answers
            .iter()
            .filter(|(k, _)| *k == netlink::SOCK_DIAG_BY_FAMILY)
            .filter_map(|(_, p)| netlink::parse_diag(p))
            // The kernel falls back to a listener on the local port: only the exact 4-tuple counts.
            .find(|d| d.local == *local && d.peer == *peer)
            .map_or(Look::Gone, |d| Look::Seen(d.state, d.expires_ms)),
        // ENOENT: no socket has this 4-tuple (any more, or here).
        Err(e) if e == nix::errno::Errno::ENOENT.desc() => Look::Gone,
        Err(e) => Look::Failed(e),
    }
}

enum Look {
    Seen(u8, u32),
    Gone,
    Failed(String),
}

/// Appends a state to a history if it differs from the last one; true when the socket is done
/// (TIME_WAIT or gone).
fn note(history: &mut Vec<SocketStateSeen>, after_close_us: u64, state: &str, timer: Option<u32>) {
    if history.last().is_none_or(|h| h.state != state) {
        history.push(SocketStateSeen {
            after_close_us,
            state: state.into(),
            timer_ms: timer,
        });
    }
}

fn settled(history: &[SocketStateSeen]) -> bool {
    history
        .last()
        .is_none_or(|h| h.state == "TIME_WAIT" || h.state == "gone")
}

/// After close: watches the 4-tuple in the kernel's socket table and emits [`Event::KernelClose`].
pub fn close_view(t: &mut Tracer, conn_fd: Fd, local: SocketAddr, peer: SocketAddr) {
    let closed_at = t.now_us();
    let mut calls = 0;
    let mut client = Vec::new();
    let mut server = Vec::new();
    let mut error = None;
    match Conversation::open(t, Netlink::SockDiag, &mut calls) {
        Err(e) => error = Some(e),
        Ok(mut c) => {
            for pause in CLOSE_POLLS_MS {
                std::thread::sleep(Duration::from_millis(pause));
                let after = t.now_us().saturating_sub(closed_at);
                for (history, (a, b)) in [
                    (&mut client, (&local, &peer)),
                    (&mut server, (&peer, &local)),
                ] {
                    match look(t, &mut c, a, b) {
                        Look::Seen(state, expires) => {
                            let timer = (expires > 0).then_some(expires);
                            note(history, after, tcp_state(state), timer);
                        }
                        // The server's side is only "gone" once it was seen at all.
                        Look::Gone if history.is_empty() && a == &peer => {}
                        Look::Gone => note(history, after, "gone", None),
                        Look::Failed(e) => error = Some(e),
                    }
                }
                if error.is_some() || (settled(&client) && settled(&server)) {
                    break;
                }
            }
            c.close(t, &mut calls);
        }
    }
    let at_us = t.now_us();
    t.emit(Event::KernelClose {
        at_us,
        fd: conn_fd.0,
        local,
        peer,
        client,
        server,
        source: format!("netlink sock_diag, the exact 4-tuple (as `ss -tan`), {calls} syscalls"),
        error,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::event::Recorder;
    use std::net::TcpListener;

    #[test]
    fn state_histories_keep_changes_only() {
        let mut h = Vec::new();
        note(&mut h, 10, "FIN_WAIT2", None);
        note(&mut h, 20, "FIN_WAIT2", None);
        assert!(!settled(&h));
        note(&mut h, 30, "TIME_WAIT", Some(59_990));
        assert_eq!(h.len(), 2);
        assert!(settled(&h));
        assert!(settled(&[]));
        assert_eq!(tcp_state(6), "TIME_WAIT");
        assert_eq!(tcp_state(99), "unknown");
    }

    /// Against this machine's kernel: the loopback route is local, via lo, with no neighbour;
    /// after wtcurl's side closes first, its 4-tuple ends in TIME_WAIT.
    #[test]
    fn the_kernel_answers_for_a_loopback_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(peer).unwrap();
        let local = client.local_addr().unwrap();
        let (server_side, _) = listener.accept().unwrap();

        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        path_view(&mut t, Fd(-1), local, peer);
        // wtcurl's side closes first; the server answers the FIN with its own.
        drop(client);
        drop(server_side);
        close_view(&mut t, Fd(-1), local, peer);

        let path = rec
            .events
            .iter()
            .find_map(|e| match e {
                Event::KernelPath {
                    route,
                    link,
                    neighbour,
                    port_range,
                    syscalls,
                    ..
                } => Some((route, link, neighbour, port_range, *syscalls)),
                _ => None,
            })
            .expect("a kernel_path event");
        let route = path.0.ok().expect("a route");
        // The kernel names the table it found the route in: "local", or "main" while the local
        // and main tables are merged (no custom rules), as `ip -d route get` shows.
        assert_eq!(route.kind, "local");
        assert!(
            ["local", "main"].contains(&route.table.as_str()),
            "{route:?}"
        );
        assert_eq!(route.dev, "lo");
        let link = path.1.as_ref().and_then(|l| l.ok()).expect("the link");
        assert_eq!(link.link_type, "loopback");
        assert!(link.mtu >= 1500, "{link:?}");
        assert!(path.2.is_none(), "a local route has no next hop");
        let range = path.3.ok().expect("the port range");
        assert!(range.low <= local.port() && local.port() <= range.high);
        assert!(path.4 >= 6, "socket, 2 x (sendto, poll, recvfrom), close");

        let (client, error) = rec
            .events
            .iter()
            .find_map(|e| match e {
                Event::KernelClose { client, error, .. } => Some((client, error)),
                _ => None,
            })
            .expect("a kernel_close event");
        assert_eq!(error, &None);
        assert_eq!(
            client.last().map(|s| s.state.as_str()),
            Some("TIME_WAIT"),
            "{client:?}"
        );
    }
}
