//! The `--kernel-view` part of `--explain`: route, link, neighbour, port range, TCP_INFO, the close.

use super::{Count, Explain, LastClose};
use crate::event::{
    Event, KernelLink, KernelNeighbour, KernelRoute, Seen, SocketStateSeen, SyscallArgs,
    SyscallRecord, TcpInfoView,
};
use crate::render::fmt::{Thousands, Us};
use std::fmt;
use std::io::Write;
use std::net::SocketAddr;

/// A state history as `FIN_WAIT2 (+12 µs) → TIME_WAIT (+95 µs, timer 60,000 ms)`.
struct History<'a>(&'a [SocketStateSeen]);

impl fmt::Display for History<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, s) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(" → ")?;
            }
            write!(f, "{} (+{} after close", s.state, Us(s.after_close_us))?;
            if let Some(ms) = s.timer_ms {
                write!(f, ", timer {} ms", Thousands(u64::from(ms)))?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// Who holds TIME_WAIT, from the last state seen on each side ("" when a side was never seen),
/// whether wtcurl's side went through LAST_ACK, and how the close went (as the `closed` event
/// said). When what the kernel shows contradicts the Close phase, the verdict says so.
fn close_verdict(
    client: &str,
    client_last_ack: bool,
    server: &str,
    close: LastClose,
) -> &'static str {
    let server_fin_first = close.server_fin_first;
    if close.reset && matches!(client, "gone" | "") && server != "TIME_WAIT" {
        return "observed: no TIME_WAIT on wtcurl's side, as the RST predicts: close() found unread bytes, so the kernel reset the connection instead of sending a FIN";
    }
    if close.body_unread
        && client == "gone"
        && !server_fin_first
        && !client_last_ack
        && server != "TIME_WAIT"
    {
        return "wtcurl's socket was gone with no TIME_WAIT although wtcurl's FIN went first: inferred, more of the unread body arrived after close() and the kernel answered it with RST, which leaves no TIME_WAIT on either side (--packets shows the segments)";
    }
    match (client, server) {
        ("TIME_WAIT", "TIME_WAIT") => {
            "observed: both sides hold TIME_WAIT; by TCP's rules each FIN left before the other arrived: the FINs crossed (simultaneous close, both sides passed through CLOSING)"
        }
        ("TIME_WAIT", _) if server_fin_first => {
            "observed: this host (wtcurl's side) holds TIME_WAIT, which by TCP's rules means wtcurl's FIN went first; this contradicts the Close phase above, which saw the server's FIN before close()"
        }
        ("TIME_WAIT", _) => {
            "observed: this host (wtcurl's side) holds TIME_WAIT, because wtcurl sent the first FIN"
        }
        (_, "TIME_WAIT") if close.client_fin_first => {
            "observed: the server holds TIME_WAIT, so its FIN came first after all, not wtcurl's as the Close phase above inferred: inferred, it arrived after the last TCP_INFO, before close() took effect"
        }
        (_, "TIME_WAIT") => {
            "observed: the server holds TIME_WAIT, because its FIN came first; the side that closes second keeps no TIME_WAIT"
        }
        _ if client_last_ack && close.client_fin_first => {
            "observed: wtcurl's side went through LAST_ACK, which by TCP's rules means the server's FIN came first after all (so the server holds TIME_WAIT), not wtcurl's as the Close phase above inferred: inferred, it arrived after the last TCP_INFO, before close() took effect"
        }
        ("gone", "") if server_fin_first => {
            "wtcurl's socket left the table without TIME_WAIT: the server's FIN came first, so the server holds TIME_WAIT (inferred: it is not visible here)"
        }
        ("gone", _) if server_fin_first => {
            "wtcurl's socket left the table without TIME_WAIT, as it does when the server's FIN comes first, but the server's side shows no TIME_WAIT either: inferred, the connection ended with a reset (RST) (--packets shows the segments)"
        }
        ("gone", _) => {
            "wtcurl's socket was gone with no TIME_WAIT although the Close phase found no FIN from the server before close(): inferred, either the connection ended with a reset (RST), which leaves no TIME_WAIT on either side, or the server's FIN arrived just before close() and the server holds TIME_WAIT (--packets shows which)"
        }
        ("FIN_WAIT1", _) => {
            "no TIME_WAIT yet after the polls (about 127 ms): the server had not acknowledged wtcurl's FIN"
        }
        ("FIN_WAIT2", _) => {
            "no TIME_WAIT yet after the polls (about 127 ms): the server acknowledged wtcurl's FIN but had not sent its own (Linux gives up on FIN_WAIT2 after net.ipv4.tcp_fin_timeout, 60 s by default)"
        }
        ("CLOSING", _) => {
            "no TIME_WAIT yet after the polls (about 127 ms): the FINs crossed (simultaneous close) and wtcurl's was not acknowledged yet; both sides end in TIME_WAIT"
        }
        ("LAST_ACK", _) => {
            "no TIME_WAIT on wtcurl's side: the server's FIN came first, and wtcurl's own FIN was not acknowledged yet when the polls ended (about 127 ms)"
        }
        _ => "no TIME_WAIT seen within the polls (about 127 ms)",
    }
}

fn last_state(h: &[SocketStateSeen]) -> &str {
    h.last().map_or("", |s| s.state.as_str())
}

impl<W: Write> Explain<W> {
    /// True for a syscall on a --kernel-view netlink socket: counted in the kernel view's line,
    /// not listed one by one (--trace-json has each).
    pub(super) fn netlink_syscall(&mut self, s: &SyscallRecord) -> bool {
        if let SyscallArgs::NetlinkSocket { .. } = s.args {
            if s.ret >= 0 {
                self.netlink_fds.push(s.ret as i32);
            }
            return true;
        }
        let Some(fd) = s.fd.filter(|fd| self.netlink_fds.contains(fd)) else {
            return false;
        };
        if s.name == "close" {
            self.netlink_fds.retain(|f| *f != fd);
        }
        true
    }

    pub(super) fn kernel(&mut self, event: &Event) {
        match event {
            Event::KernelPath {
                local,
                peer,
                route,
                link,
                neighbour,
                port_range,
                syscalls,
                ..
            } => {
                self.kernel_view = true;
                self.linef(format_args!(
                    "   the kernel's view of the path (--kernel-view: {}, each in --trace-json):",
                    Count(u64::from(*syscalls), "netlink syscall", "netlink syscalls")
                ));
                match route.as_ref() {
                    Seen::Found(r) => self.route(r, local, peer),
                    Seen::Failed { error } => self.say(
                        self.p.bad,
                        format_args!("route: the kernel would not say: {error}"),
                    ),
                }
                if let Some(l) = link {
                    match l.as_ref() {
                        Seen::Found(l) => self.link(l),
                        Seen::Failed { error } => self.say(
                            self.p.bad,
                            format_args!("interface: the kernel would not say: {error}"),
                        ),
                    }
                }
                if let Some(n) = neighbour {
                    match n.as_ref() {
                        Seen::Found(n) => self.neighbour(n, peer),
                        Seen::Failed { error } => self.say(
                            self.p.bad,
                            format_args!("neighbour: the kernel would not say: {error}"),
                        ),
                    }
                }
                match port_range.as_ref() {
                    Seen::Found(r) => self.linef(format_args!(
                        "   local port {}: the kernel picked it from the ephemeral range {}–{} ({} ports)   [{}]",
                        r.local_port,
                        r.low,
                        r.high,
                        Thousands(u64::from(r.high.saturating_sub(r.low)) + 1),
                        r.source
                    )),
                    Seen::Failed { error } => {
                        self.say(self.p.bad, format_args!("port range: {error}"))
                    }
                }
            }
            Event::KernelClose {
                local,
                peer,
                client,
                server,
                source,
                error,
                ..
            } => {
                self.linef(format_args!(
                    "   after close(), the kernel's socket table for {local} → {peer}   [{source}]:"
                ));
                if let Some(e) = error {
                    self.say(self.p.bad, format_args!("could not ask: {e}"));
                }
                if !client.is_empty() {
                    self.linef(format_args!("   wtcurl's side: {}", History(client)));
                }
                if server.is_empty() {
                    self.linef(format_args!(
                        "   the server's side ({peer} → {local}): not in this host's table (already closed, or on another host or in another network namespace)"
                    ));
                } else {
                    self.linef(format_args!("   the server's side: {}", History(server)));
                }
                let close = self.last_close.take().unwrap_or_default();
                let last_ack = client.iter().any(|s| s.state == "LAST_ACK");
                let verdict =
                    close_verdict(last_state(client), last_ack, last_state(server), close);
                self.note(verdict);
            }
            _ => {}
        }
    }

    fn route(&mut self, r: &KernelRoute, local: &SocketAddr, peer: &SocketAddr) {
        let via = r.gateway.map(|g| format!(" via {g}")).unwrap_or_default();
        let src = r
            .prefsrc
            .map(|s| format!(", preferred source {s}"))
            .unwrap_or_default();
        self.linef(format_args!(
            "   route: {} {}{via} dev {}, table {}{src}   [{}]",
            r.kind,
            peer.ip(),
            r.dev,
            r.table,
            r.source
        ));
        match r.prefsrc {
            Some(p) if p == local.ip() => self.note(format_args!(
                "the source address {p} is the route's preferred source; getsockname showed the same"
            )),
            Some(p) => self.note(format_args!(
                "getsockname showed source {}, the route prefers {p}: the socket's address was chosen otherwise (a bind, or another route)",
                local.ip()
            )),
            None => {}
        }
        if r.kind == "local" {
            self.note("a local route: the packets never leave this host, so there is no next hop and no ARP/NDP lookup");
        }
    }

    fn link(&mut self, l: &KernelLink) {
        let mac = l
            .mac
            .as_deref()
            .map(|m| format!(" {m}"))
            .unwrap_or_default();
        self.linef(format_args!(
            "   interface {} (index {}, {}{mac}): MTU {} bytes, state {}   [{}]",
            l.name,
            l.ifindex,
            l.link_type,
            Thousands(u64::from(l.mtu)),
            l.operstate,
            l.source
        ));
        self.note(
            "the MTU is the largest IP packet the interface sends; TCP's MSS (in TCP_INFO) is what is left after the IP and TCP headers",
        );
    }

    fn neighbour(&mut self, n: &KernelNeighbour, peer: &SocketAddr) {
        let hop = if n.next_hop == peer.ip() {
            format!("{} (the server itself: it is on the link)", n.next_hop)
        } else {
            format!("{} (the gateway)", n.next_hop)
        };
        match &n.mac {
            Some(mac) => self.linef(format_args!(
                "   next hop {hop}: {} entry {mac}, {}   [{}]",
                n.protocol, n.state, n.source
            )),
            None => self.linef(format_args!(
                "   next hop {hop}: no {} entry{}   [{}]",
                n.protocol,
                if n.state.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", n.state)
                },
                n.source
            )),
        }
    }

    /// Under --kernel-view, TCP_INFO at the end next to TCP_INFO after connect.
    pub(super) fn tcp_info_change(&mut self, end: &TcpInfoView) {
        let Some(start) = self.tcp_after_connect.take() else {
            return;
        };
        if !self.kernel_view {
            return;
        }
        self.linef(format_args!(
            "   TCP_INFO over the connection (after connect → end): segments out {} → {}, in {} → {}, bytes acked {} → {}, received {} → {}, rtt {} → {}, cwnd {} → {}, retransmits {} → {}   [getsockopt TCP_INFO]",
            start.segs_out,
            end.segs_out,
            start.segs_in,
            end.segs_in,
            Thousands(start.bytes_acked),
            Thousands(end.bytes_acked),
            Thousands(start.bytes_received),
            Thousands(end.bytes_received),
            Us(u64::from(start.rtt_us)),
            Us(u64::from(end.rtt_us)),
            start.snd_cwnd,
            end.snd_cwnd,
            start.total_retrans,
            end.total_retrans
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::close_verdict;
    use crate::render::explain::LastClose;

    #[test]
    fn the_verdict_names_who_holds_time_wait_or_why_nobody_does_yet() {
        let close = |server_fin_first: bool, reset: bool, body_unread: bool| LastClose {
            server_fin_first,
            client_fin_first: !server_fin_first && !reset,
            reset,
            body_unread,
        };
        let v = |client, server, close| close_verdict(client, false, server, close);
        let (client_first, server_first) = (close(false, false, false), close(true, false, false));
        assert!(v("TIME_WAIT", "", client_first).contains("wtcurl's side) holds TIME_WAIT"));
        assert!(v("gone", "TIME_WAIT", server_first).contains("the server holds TIME_WAIT"));
        assert!(v("gone", "", server_first).contains("so the server holds TIME_WAIT (inferred"));
        assert!(v("gone", "", client_first).contains("reset (RST)"));
        assert!(v("FIN_WAIT2", "", client_first).contains("had not sent its own"));
        assert!(v("FIN_WAIT1", "", client_first).contains("had not acknowledged"));
        assert!(v("LAST_ACK", "", server_first).contains("not acknowledged yet"));
        assert!(v("", "", client_first).starts_with("no TIME_WAIT"));
        assert!(v("gone", "", close(false, true, true)).contains("as the RST predicts"));
        assert!(
            v("gone", "gone", close(false, false, true))
                .contains("more of the unread body arrived after close()")
        );
        assert!(v("TIME_WAIT", "TIME_WAIT", client_first).contains("simultaneous close"));
        assert!(v("CLOSING", "", client_first).contains("FINs crossed"));
    }

    /// What the kernel shows after close() never silently disagrees with the Close phase.
    #[test]
    fn a_verdict_that_contradicts_the_close_phase_says_so() {
        let client_first = LastClose {
            client_fin_first: true,
            ..LastClose::default()
        };
        let server_first = LastClose {
            server_fin_first: true,
            ..LastClose::default()
        };
        for (client, last_ack, server) in [("gone", false, "TIME_WAIT"), ("gone", true, "")] {
            let v = close_verdict(client, last_ack, server, client_first);
            assert!(
                v.contains("not wtcurl's as the Close phase above inferred"),
                "{v}"
            );
            assert!(!v.contains("because wtcurl sent the first FIN"), "{v}");
        }
        let v = close_verdict("TIME_WAIT", false, "", server_first);
        assert!(v.contains("contradicts the Close phase"), "{v}");
        // Agreeing cases do not cry contradiction.
        for (client, server, close) in [
            ("TIME_WAIT", "", client_first),
            ("gone", "TIME_WAIT", server_first),
            ("gone", "", server_first),
        ] {
            let v = close_verdict(client, false, server, close);
            assert!(
                !v.contains("contradicts") && !v.contains("after all"),
                "{v}"
            );
        }
    }
}
