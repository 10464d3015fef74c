//! `--ladder` without `--packets`: the ladder diagram built from syscalls, and saying so.
//!
//! Each arrow is a syscall wtcurl made on a socket (connect, sendto, recvfrom, close) with the
//! bytes it moved, and what those bytes carried as later events name it (TLS messages, the request
//! line, the response status). The segments the kernel sends or receives on its own (the SYN-ACK,
//! the handshake's last ACK, the server's FIN, an ICMP port unreachable for a DNS socket) are
//! drawn too, marked inferred. A UDP socket's connect() sends nothing: it is drawn between the
//! rails. `--packets` draws
//! the real segments. Memory is bounded: at most [`STEPS_MAX`] arrows, the rest counted.

use super::Explain;
use super::packets::arrow;
use crate::error::Phase;
use crate::event::{Event, FinEvidence, SyscallArgs, SyscallRecord};
use crate::render::fmt::Thousands;
use std::io::Write;
use std::net::SocketAddr;

/// Linux's TCP_CLOSE_WAIT state number: the peer's FIN has arrived.
const TCP_CLOSE_WAIT: u8 = 8;

/// Arrows kept in all; a longer run is summarised.
const STEPS_MAX: usize = 300;

/// One arrow.
#[derive(Clone, Debug)]
struct Step {
    at_us: u64,
    out: bool,
    /// Inside the arrow (short).
    label: String,
    /// After the arrow: the syscall behind it, or why it is inferred.
    note: String,
    /// What the bytes carried, from later events (TLS messages, the request line, the status).
    carried: Vec<String>,
    /// A sendto or recvfrom that moved bytes (TLS messages and the response head attach to these).
    data: bool,
    /// Nothing crossed the wire: drawn between the rails with no arrowhead.
    bare: bool,
}

/// Names kept per arrow (a repeat of the last one is counted, not stored).
const CARRIED_MAX: usize = 16;

impl Step {
    fn new(at_us: u64, out: bool, label: String, note: String, data: bool) -> Step {
        Step {
            at_us,
            out,
            label,
            note,
            carried: Vec::new(),
            data,
            bare: false,
        }
    }

    /// Adds what the bytes carried; a repeat of the previous name becomes `name ×2`, `×3`, ….
    fn carry(&mut self, what: &str) {
        if let Some(last) = self.carried.last_mut() {
            let (name, n) = match last.rsplit_once(" ×") {
                Some((name, n)) => (name, n.parse::<u32>().unwrap_or(1)),
                None => (last.as_str(), 1),
            };
            if name == what {
                *last = format!("{what} ×{}", n.saturating_add(1));
                return;
            }
        }
        if self.carried.len() < CARRIED_MAX {
            self.carried.push(what.to_string());
        }
    }

    /// The text after the arrow: the syscall (or why it is inferred), then what it carried.
    fn text(&self) -> String {
        if self.carried.is_empty() {
            self.note.clone()
        } else {
            format!("{}: {}", self.note, self.carried.join(", "))
        }
    }
}

/// One socket's exchange with one peer.
#[derive(Clone, Debug)]
struct Conversation {
    fd: i32,
    stream: bool,
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    steps: Vec<Step>,
    tls: bool,
    /// connect() is under way: a poll that says writable is the SYN-ACK's arrival.
    connecting: bool,
    /// When poll() said the connecting socket was writable.
    writable_us: Option<u64>,
    /// The connect succeeded (only then does close() send a FIN).
    connected: bool,
    /// recvfrom returned 0: the server's FIN came first.
    peer_closed: bool,
    open: bool,
}

/// The ladder's state while events stream by.
#[derive(Debug, Default)]
pub(super) struct SyscallLadder {
    convs: Vec<Conversation>,
    phase: Option<Phase>,
    steps: usize,
    omitted: usize,
    tls_fd: Option<i32>,
    /// When TCP_INFO said CLOSE_WAIT (the server's FIN had arrived) on the closing socket.
    close_wait_seen_us: Option<u64>,
}

impl SyscallLadder {
    fn conv(&mut self, fd: i32) -> Option<&mut Conversation> {
        self.convs.iter_mut().rev().find(|c| c.fd == fd && c.open)
    }

    fn push(&mut self, fd: i32, step: Step) {
        if self.conv(fd).is_none() {
            return;
        }
        if self.steps >= STEPS_MAX {
            self.omitted += 1;
            return;
        }
        if let Some(c) = self.conv(fd) {
            c.steps.push(step);
            self.steps += 1;
        }
    }

    /// The newest arrow of one direction that moved bytes on `fd`.
    fn last_data(&mut self, fd: i32, out: bool) -> Option<&mut Step> {
        self.conv(fd)
            .and_then(|c| c.steps.iter_mut().rev().find(|s| s.out == out && s.data))
    }

    /// Takes in one event (before it is rendered).
    pub(super) fn on_event(&mut self, event: &Event) {
        match event {
            Event::Phase { phase, .. } => self.phase = Some(*phase),
            Event::Syscall(s) => self.syscall(s),
            Event::KernelClose {
                fd, client, server, ..
            } => {
                // --kernel-view saw the server's FIN come first although TCP_INFO just before
                // close() showed none: it arrived while close() ran. Redraw in that order.
                let ends_in = |h: &[crate::event::SocketStateSeen], state: &str| {
                    h.last().is_some_and(|s| s.state == state)
                };
                let server_first = (ends_in(server, "TIME_WAIT") && !ends_in(client, "TIME_WAIT"))
                    || client.iter().any(|s| s.state == "LAST_ACK");
                if server_first
                    && let Some(c) = self
                        .convs
                        .iter_mut()
                        .rev()
                        .find(|c| c.fd == *fd && c.stream)
                    && let Some(ours) = c.steps.iter().rposition(|s| s.out && s.label == "FIN")
                    && let Some(theirs) = c.steps.iter().rposition(|s| {
                        !s.out
                            && s.label == "FIN"
                            && s.note.starts_with("inferred: the server's FIN, after ours")
                    })
                    && theirs > ours
                {
                    let mut step = c.steps.remove(theirs);
                    step.at_us = c.steps[ours].at_us;
                    step.note = "inferred from what --kernel-view saw (the server holds TIME_WAIT): the server's FIN came first; it arrived after the last TCP_INFO, before close() took effect".into();
                    c.steps[ours].note =
                        "close(); the kernel answers the server's FIN with its own".into();
                    c.steps.insert(ours, step);
                }
            }
            Event::TcpInfo { at_us, info, .. } if info.state == TCP_CLOSE_WAIT => {
                self.close_wait_seen_us.get_or_insert(*at_us);
            }
            Event::ConnectResult {
                at_us,
                fd,
                ok,
                error,
                local,
                ..
            } => {
                let mut at = *at_us;
                if let Some(c) = self.conv(*fd) {
                    c.connecting = false;
                    c.connected = *ok;
                    // connect() bound the socket: failed attempts have their local port too.
                    if local.is_some() {
                        c.local = *local;
                    }
                    at = c.writable_us.unwrap_or(at);
                }
                if *ok {
                    self.push(
                        *fd,
                        Step::new(
                            at,
                            false,
                            "SYN-ACK".into(),
                            "inferred: poll() said writable and SO_ERROR was 0".into(),
                            false,
                        ),
                    );
                    self.push(
                        *fd,
                        Step::new(
                            at,
                            true,
                            "ACK".into(),
                            "inferred: the kernel completes the handshake itself".into(),
                            false,
                        ),
                    );
                } else {
                    let error = error.as_deref().unwrap_or("?");
                    let step = if error.starts_with("ECONNREFUSED") {
                        Step::new(
                            *at_us,
                            false,
                            "RST".into(),
                            format!(
                                "inferred: SO_ERROR said {error}: the SYN was answered with RST; no connection, so close() sends nothing"
                            ),
                            false,
                        )
                    } else if error.starts_with("timed out") || error.starts_with("abandoned") {
                        // Nothing came back: no arrow from the server, only what wtcurl did.
                        let mut s = Step::new(
                            *at_us,
                            false,
                            "no answer".into(),
                            format!("{error}; close() of a socket still in SYN_SENT sends nothing"),
                            false,
                        );
                        s.bare = true;
                        s
                    } else {
                        Step::new(
                            *at_us,
                            false,
                            "no connection".into(),
                            format!("the connect failed: {error}; close() sends nothing"),
                            false,
                        )
                    };
                    self.push(*fd, step);
                }
            }
            Event::DnsTimeout {
                at_us,
                server,
                waited_ms,
                unanswered,
                ..
            } => {
                if let Some(c) = self
                    .convs
                    .iter()
                    .rev()
                    .find(|c| c.open && !c.stream && c.remote == Some(*server))
                {
                    let fd = c.fd;
                    let mut step = Step::new(
                        *at_us,
                        false,
                        "no answer".into(),
                        format!(
                            "poll() returned 0 after {}; unanswered: {}",
                            super::Count(*waited_ms, "ms", "ms"),
                            unanswered.join(", ")
                        ),
                        false,
                    );
                    step.bare = true;
                    self.push(fd, step);
                }
            }
            Event::DnsUnreachable {
                at_us,
                server,
                syscall,
                errno,
                ..
            } => {
                if let Some(c) = self
                    .convs
                    .iter()
                    .rev()
                    .find(|c| c.open && !c.stream && c.remote == Some(*server))
                {
                    let fd = c.fd;
                    let what = match errno.as_str() {
                        "ECONNREFUSED" => Some("ICMP port unreachable"),
                        "EHOSTUNREACH" if syscall != "connect" => Some("ICMP host unreachable"),
                        "ENETUNREACH" if syscall != "connect" => Some("ICMP net unreachable"),
                        _ => None,
                    };
                    let step = match what {
                        Some(what) => Step::new(
                            *at_us,
                            false,
                            what.into(),
                            format!(
                                "inferred from {syscall}() = -1 {errno}: the kernel received it for this socket"
                            ),
                            false,
                        ),
                        None => {
                            let mut s = Step::new(
                                *at_us,
                                false,
                                "not sent".into(),
                                format!("{syscall}() = -1 {errno}"),
                                false,
                            );
                            s.bare = true;
                            s
                        }
                    };
                    self.push(fd, step);
                }
            }
            Event::TlsStart { fd, .. } => {
                self.tls_fd = Some(*fd);
                if let Some(c) = self.conv(*fd) {
                    c.tls = true;
                }
            }
            Event::TlsMessage {
                direction, name, ..
            } => self.tls_detail(direction == "sent", name),
            Event::TlsAlert {
                direction,
                description,
                ..
            } => self.tls_detail(direction == "sent", &format!("alert {description}")),
            Event::RequestWritten { fd, head, .. } => {
                let line = head.lines().next().unwrap_or("").trim_end();
                if let Some(step) = self.last_data(*fd, true) {
                    step.carry(line);
                }
            }
            Event::ResponseHead {
                version,
                status,
                reason,
                ..
            } => {
                if let Some(step) = self
                    .convs
                    .iter_mut()
                    .rev()
                    .find(|c| c.open && c.stream)
                    .and_then(|c| c.steps.iter_mut().rev().find(|s| !s.out && s.data))
                {
                    step.carry(&format!("{version} {status} {reason}"));
                }
            }
            Event::Closed {
                at_us,
                fd,
                first_fin,
                fin_evidence,
                unread_bytes,
                body_unread,
            } => {
                let unread = unread_bytes.unwrap_or(0);
                if *fin_evidence == FinEvidence::CloseWait {
                    // No recvfrom saw the server's FIN, but TCP_INFO said CLOSE_WAIT before
                    // close(): draw it before wtcurl's, at the time of that read.
                    let seen_at = self.close_wait_seen_us.unwrap_or(*at_us);
                    let room = self.steps < STEPS_MAX;
                    let mut added = false;
                    if let Some(c) = self.conv(*fd)
                        && let Some(i) = c.steps.iter().rposition(|s| s.out && s.label == "FIN")
                    {
                        c.steps[i].note =
                            "close(); the kernel answers the server's FIN with its own".into();
                        let step = Step::new(
                            seen_at.min(c.steps[i].at_us),
                            false,
                            "FIN".into(),
                            "inferred: the server's FIN; no syscall read it, but TCP_INFO said CLOSE_WAIT here, so it had arrived by then".into(),
                            false,
                        );
                        if room {
                            c.steps.insert(i, step);
                        }
                        added = true;
                    }
                    match (added, room) {
                        (true, true) => self.steps += 1,
                        (true, false) => self.omitted += 1,
                        _ => {}
                    }
                }
                self.close_wait_seen_us = None;
                if unread > 0 {
                    // close() found bytes unread: Linux sent RST, not the FIN drawn at close().
                    if let Some(step) = self
                        .conv(*fd)
                        .and_then(|c| c.steps.iter_mut().rev().find(|s| s.out && s.label == "FIN"))
                    {
                        step.label = "RST".into();
                        step.note = format!(
                            "close() with {} unread: the kernel sends RST, not FIN (Linux's rule; inferred)",
                            super::Count(unread, "byte", "bytes")
                        );
                    }
                } else if first_fin == "client" && *body_unread {
                    self.push(
                        *fd,
                        Step::new(
                            *at_us,
                            true,
                            "RST".into(),
                            "inferred: more of the unread body arrives after close(), and the kernel answers it with RST".into(),
                            false,
                        ),
                    );
                } else if first_fin == "client" {
                    let note = if *fin_evidence == FinEvidence::NoFinBeforeClose {
                        "inferred: the server's FIN, after ours (TCP_INFO just before close() showed none yet; it may have crossed ours)"
                    } else {
                        "inferred: the server's FIN; no syscall sees it, nor whether it came before or after ours"
                    };
                    self.push(
                        *fd,
                        Step::new(*at_us, false, "FIN".into(), note.into(), false),
                    );
                }
                if let Some(c) = self.conv(*fd) {
                    c.open = false;
                }
            }
            _ => {}
        }
    }

    /// A TLS message name goes on the newest arrow of its direction on the TLS socket.
    fn tls_detail(&mut self, out: bool, name: &str) {
        let Some(fd) = self.tls_fd else {
            return;
        };
        if let Some(step) = self.last_data(fd, out) {
            step.carry(name);
        }
    }

    fn syscall(&mut self, s: &SyscallRecord) {
        let Some(fd) = s.fd else {
            return;
        };
        match (&s.args, s.name) {
            (SyscallArgs::Socket { domain, kind, .. }, _)
                if s.ret >= 0 && domain.starts_with("AF_INET") =>
            {
                self.convs.push(Conversation {
                    fd: s.ret as i32,
                    stream: kind.starts_with("SOCK_STREAM"),
                    local: None,
                    remote: None,
                    steps: Vec::new(),
                    tls: false,
                    connecting: false,
                    writable_us: None,
                    connected: false,
                    peer_closed: false,
                    open: true,
                });
            }
            (SyscallArgs::Addr { addr }, "connect") => {
                let Some(c) = self.conv(fd) else {
                    return;
                };
                c.remote = *addr;
                c.connecting = c.stream;
                let result = match &s.errno {
                    Some(e) => format!("-1 {e}"),
                    None => s.ret.to_string(),
                };
                if !c.stream {
                    let mut step = Step::new(
                        s.end_us,
                        true,
                        "connect, no packet".into(),
                        format!(
                            "connect() = {result}: UDP sends nothing; the kernel records the peer"
                        ),
                        false,
                    );
                    step.bare = true;
                    self.push(fd, step);
                    return;
                }
                self.push(
                    fd,
                    Step::new(
                        s.end_us,
                        true,
                        "SYN".into(),
                        format!("connect() = {result}; the kernel sends the SYN"),
                        false,
                    ),
                );
            }
            (SyscallArgs::Poll { fds, .. }, _) => {
                for p in fds {
                    if p.revents.contains("POLLOUT")
                        && let Some(c) = self.conv(p.fd)
                        && c.connecting
                        && c.writable_us.is_none()
                    {
                        c.writable_us = Some(s.end_us);
                    }
                }
            }
            (SyscallArgs::Sendto { to, .. }, _) if s.ret > 0 => {
                let phase = self.phase;
                let Some(c) = self.conv(fd) else {
                    return;
                };
                if c.remote.is_none() {
                    c.remote = *to;
                }
                let what = match (c.stream, c.tls, phase) {
                    (false, _, _) => "DNS query",
                    (true, true, Some(Phase::Tls)) => "TLS handshake",
                    (true, true, Some(Phase::Request)) => "HTTP request, encrypted",
                    (true, true, _) => "TLS",
                    (true, false, Some(Phase::Request)) => "HTTP request",
                    (true, false, _) => "data",
                };
                self.push(
                    fd,
                    Step::new(
                        s.end_us,
                        true,
                        format!("{what} ({} B)", Thousands(s.ret as u64)),
                        format!("sendto() = {}", s.ret),
                        true,
                    ),
                );
            }
            (SyscallArgs::Recvfrom { from, .. }, _) if s.ret >= 0 => {
                let phase = self.phase;
                let Some(c) = self.conv(fd) else {
                    return;
                };
                if c.remote.is_none() {
                    c.remote = *from;
                }
                if s.ret == 0 {
                    c.peer_closed = true;
                    self.push(
                        fd,
                        Step::new(
                            s.end_us,
                            false,
                            "FIN".into(),
                            "recvfrom() = 0: the server closed its side (its FIN arrived)".into(),
                            false,
                        ),
                    );
                    return;
                }
                let what = match (c.stream, c.tls, phase) {
                    (false, _, _) => "DNS answer",
                    (true, true, Some(Phase::Tls)) => "TLS handshake",
                    (true, true, Some(Phase::Response)) => "HTTP response, encrypted",
                    (true, true, _) => "TLS",
                    (true, false, _) => "HTTP response",
                };
                self.push(
                    fd,
                    Step::new(
                        s.end_us,
                        false,
                        format!("{what} ({} B)", Thousands(s.ret as u64)),
                        format!("recvfrom() = {}", s.ret),
                        true,
                    ),
                );
            }
            (_, "close") => {
                let Some(c) = self.conv(fd) else {
                    return;
                };
                if !c.stream || !c.connected {
                    // Closing a UDP socket sends nothing; nor does closing one that never connected.
                    c.open = false;
                    return;
                }
                let note = if c.peer_closed {
                    "close(); the kernel answers the server's FIN with its own"
                } else {
                    "close(); the kernel sends the FIN"
                };
                self.push(
                    fd,
                    Step::new(s.end_us, true, "FIN".into(), note.into(), false),
                );
            }
            _ => {}
        }
    }
}

/// A step where nothing crossed the wire: the text between the rails, no arrowhead.
fn bare(text: &str) -> String {
    let t: String = text.chars().take(super::packets::GAP - 6).collect();
    let width = super::packets::GAP - 2;
    format!("│{:^width$}│", format!("({t})"))
}

impl<W: Write> Explain<W> {
    /// Draws the ladder from syscalls, one per socket that talked, and says what it is.
    pub(super) fn syscall_ladder(&mut self) {
        let Some(ladder) = self.syscall_ladder.take() else {
            return;
        };
        let convs: Vec<&Conversation> = ladder
            .convs
            .iter()
            .filter(|c| !c.steps.is_empty())
            .collect();
        if convs.is_empty() {
            return;
        }
        let _ = self.out.write_all(b"\n");
        let head = super::rule(
            format_args!("── Ladder, built from syscalls (--ladder) "),
            61,
        );
        self.put(self.p.heading, &head);
        let _ = self.out.write_all(b"\n");
        self.note("not packets: each arrow is a syscall wtcurl made, with the bytes it moved; arrows marked inferred are segments the kernel sends or receives on its own, which no syscall shows. --packets draws the real segments.");
        for c in convs {
            let left = match c.local {
                Some(l) => format!("wtcurl {l}"),
                None => format!("wtcurl (fd {})", c.fd),
            };
            let right = c.remote.map_or("?".to_string(), |r| r.to_string());
            let proto = if c.stream { "TCP" } else { "UDP" };
            self.line("");
            self.linef(format_args!(
                "   {:>12}  {left:<w$}{right}  ({proto}, fd {})",
                "",
                c.fd,
                w = super::packets::GAP
            ));
            let t0 = c.steps.first().map_or(0, |s| s.at_us);
            for s in &c.steps {
                let style = if s.out {
                    self.p.wire_out
                } else {
                    self.p.wire_in
                };
                let p = self.p;
                let stamp = format!("+{} µs", Thousands(s.at_us.saturating_sub(t0)));
                let drawn = if s.bare {
                    bare(&s.label)
                } else {
                    arrow(&s.label, s.out)
                };
                self.linef(format_args!(
                    "   {stamp:>12}  {}  {}",
                    p.show(style, drawn),
                    p.show(p.dim, &s.text())
                ));
            }
        }
        if ladder.omitted > 0 {
            self.note(format_args!(
                "… {} not drawn (--trace-json has every syscall)",
                super::Count(ladder.omitted as u64, "more arrow", "more arrows")
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sys(
        name: &'static str,
        ret: i64,
        errno: Option<&str>,
        t: u64,
        args: serde_json::Value,
    ) -> Event {
        Event::Syscall(SyscallRecord {
            name,
            fd: Some(3),
            ret,
            errno: errno.map(str::to_string),
            start_us: t,
            end_us: t + 1,
            args: SyscallArgs::from_json(args),
        })
    }

    fn tcp_socket(t: u64) -> Event {
        sys(
            "socket",
            3,
            None,
            t,
            json!({"domain": "AF_INET", "type": "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK", "protocol": 0}),
        )
    }

    fn connected(l: &mut SyscallLadder) {
        l.on_event(&tcp_socket(1));
        l.on_event(&sys(
            "connect",
            -1,
            Some("EINPROGRESS"),
            2,
            json!({"addr": "127.0.0.1:80"}),
        ));
        l.on_event(&Event::ConnectResult {
            at_us: 5,
            fd: 3,
            addr: "127.0.0.1:80".parse().unwrap(),
            ok: true,
            error: None,
            local: Some("127.0.0.1:40000".parse().unwrap()),
            elapsed_us: 3,
        });
    }

    fn labels(l: &SyscallLadder) -> Vec<String> {
        l.convs
            .iter()
            .flat_map(|c| {
                c.steps
                    .iter()
                    .map(|s| format!("{} | {}", s.label, s.text()))
            })
            .collect()
    }

    /// socket, connect (EINPROGRESS) at 2 µs, a connect that ended in `error` at `end_us`, close.
    fn failed_connect(error: &str, end_us: u64) -> SyscallLadder {
        let mut l = SyscallLadder::default();
        l.on_event(&tcp_socket(1));
        l.on_event(&sys(
            "connect",
            -1,
            Some("EINPROGRESS"),
            2,
            json!({"addr": "127.0.0.1:80"}),
        ));
        l.on_event(&Event::ConnectResult {
            at_us: end_us,
            fd: 3,
            addr: "127.0.0.1:80".parse().unwrap(),
            ok: false,
            error: Some(error.into()),
            local: None,
            elapsed_us: end_us - 2,
        });
        l.on_event(&sys("close", 0, None, end_us + 1, json!({})));
        l
    }

    #[test]
    fn a_refused_connect_draws_no_fin() {
        let l = failed_connect("ECONNREFUSED", 5);
        let got = labels(&l);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[1].starts_with("RST | inferred: SO_ERROR said ECONNREFUSED"),
            "{got:?}"
        );
        assert!(l.convs[0].steps.iter().all(|s| s.label != "FIN"));
    }

    #[test]
    fn a_timed_out_connect_draws_no_answer_and_no_fin() {
        let l = failed_connect(crate::net::TIMED_OUT, 500_000);
        let got = labels(&l);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].starts_with("no answer | timed out"), "{got:?}");
        assert!(l.convs[0].steps[1].bare);
        assert!(!got[1].contains("another address"), "{got:?}");
    }

    #[test]
    fn the_servers_fin_first_is_seen_by_recvfrom_zero() {
        let mut l = SyscallLadder::default();
        connected(&mut l);
        l.on_event(&sys(
            "recvfrom",
            0,
            None,
            10,
            json!({"len": 100, "from": null}),
        ));
        l.on_event(&sys("close", 0, None, 11, json!({})));
        l.on_event(&Event::Closed {
            at_us: 12,
            fd: 3,
            first_fin: "server".into(),
            fin_evidence: crate::event::FinEvidence::RecvfromEof,
            unread_bytes: Some(0),
            body_unread: false,
        });
        let got = labels(&l);
        assert!(got[3].starts_with("FIN | recvfrom() = 0"), "{got:?}");
        assert!(got[4].contains("answers the server's FIN"), "{got:?}");
        // No inferred FIN: the server's is the one recvfrom saw.
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(
            got.iter()
                .all(|g| !g.contains("inferred: the server's FIN")),
            "{got:?}"
        );
    }

    /// No FIN from the server before close() (TCP_INFO), so ours is drawn first; when
    /// --kernel-view then sees the server holding TIME_WAIT, theirs is redrawn before ours.
    #[test]
    fn the_fins_follow_what_the_kernel_view_saw() {
        use crate::event::{FinEvidence, SocketStateSeen};
        let close = |l: &mut SyscallLadder| {
            connected(l);
            l.on_event(&sys("close", 0, None, 11, json!({})));
            l.on_event(&Event::Closed {
                at_us: 12,
                fd: 3,
                first_fin: "client".into(),
                fin_evidence: FinEvidence::NoFinBeforeClose,
                unread_bytes: Some(0),
                body_unread: false,
            });
        };
        let kernel_close = |server: &str| Event::KernelClose {
            at_us: 20,
            fd: 3,
            local: "127.0.0.1:40000".parse().unwrap(),
            peer: "127.0.0.1:80".parse().unwrap(),
            client: vec![SocketStateSeen {
                after_close_us: 5,
                state: if server == "TIME_WAIT" {
                    "gone"
                } else {
                    "TIME_WAIT"
                }
                .into(),
                timer_ms: None,
            }],
            server: vec![SocketStateSeen {
                after_close_us: 5,
                state: server.into(),
                timer_ms: None,
            }],
            source: String::new(),
            error: None,
        };
        let mut l = SyscallLadder::default();
        close(&mut l);
        l.on_event(&kernel_close("gone"));
        let got = labels(&l);
        assert!(
            got[3].starts_with("FIN | close(); the kernel sends the FIN"),
            "{got:?}"
        );
        assert!(
            got[4].starts_with("FIN | inferred: the server's FIN, after ours"),
            "{got:?}"
        );

        let mut l = SyscallLadder::default();
        close(&mut l);
        l.on_event(&kernel_close("TIME_WAIT"));
        let got = labels(&l);
        assert!(got[3].contains("the server's FIN came first"), "{got:?}");
        assert!(got[4].contains("answers the server's FIN"), "{got:?}");
        assert_eq!(got.len(), 5, "{got:?}");
    }

    #[test]
    fn a_close_with_unread_bytes_draws_rst_and_no_fin() {
        let mut l = SyscallLadder::default();
        connected(&mut l);
        l.on_event(&sys(
            "recvfrom",
            65536,
            None,
            10,
            json!({"len": 262144, "from": null}),
        ));
        l.on_event(&sys("close", 0, None, 11, json!({})));
        l.on_event(&Event::Closed {
            at_us: 12,
            fd: 3,
            first_fin: "none".into(),
            fin_evidence: crate::event::FinEvidence::NoFinBeforeClose,
            unread_bytes: Some(62464),
            body_unread: true,
        });
        let got = labels(&l);
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(
            got[4].starts_with("RST | close() with 62,464 bytes unread"),
            "{got:?}"
        );
        assert!(got.iter().all(|g| !g.starts_with("FIN")), "{got:?}");
    }

    #[test]
    fn repeated_messages_are_counted_and_arrows_are_capped() {
        let mut s = Step::new(0, false, "x".into(), "recvfrom() = 9".into(), true);
        s.carry("NewSessionTicket");
        s.carry("NewSessionTicket");
        s.carry("NewSessionTicket");
        s.carry("HTTP/1.1 200 OK");
        assert_eq!(
            s.text(),
            "recvfrom() = 9: NewSessionTicket ×3, HTTP/1.1 200 OK"
        );
        for i in 0..100 {
            s.carry(&format!("m{i}"));
        }
        assert_eq!(s.carried.len(), CARRIED_MAX);

        let mut l = SyscallLadder::default();
        connected(&mut l);
        for t in 0..(STEPS_MAX as u64 + 50) {
            l.on_event(&sys(
                "recvfrom",
                10,
                None,
                10 + t,
                json!({"len": 100, "from": null}),
            ));
        }
        assert_eq!(l.steps, STEPS_MAX);
        assert_eq!(l.omitted, 53);
        let mut out = Explain::new(Vec::new(), crate::render::palette::Palette::plain());
        out.syscall_ladder = Some(l);
        out.syscall_ladder();
        let text = String::from_utf8(out.into_inner()).unwrap();
        assert!(text.contains("… 53 more arrows not drawn"), "{text}");
    }
}
