//! `--ladder` without `--packets`: the ladder diagram built from syscalls, and saying so.
//!
//! Each arrow is a syscall wtcurl made on a socket (connect, sendto, recvfrom, close) with the
//! bytes it moved; the packets the kernel sends or receives on its own (the SYN-ACK, the final
//! ACK, the server's last FIN) are drawn too but marked inferred. `--packets` draws the real one.

use super::Explain;
use super::packets::arrow;
use crate::error::Phase;
use crate::event::{Event, SyscallArgs, SyscallRecord};
use crate::render::fmt::Thousands;
use std::io::Write;
use std::net::SocketAddr;

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
    /// A sendto or recvfrom that moved bytes (TLS messages and the response head attach to these).
    data: bool,
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
}

impl SyscallLadder {
    fn conv(&mut self, fd: i32) -> Option<&mut Conversation> {
        self.convs.iter_mut().rev().find(|c| c.fd == fd && c.open)
    }

    fn push(&mut self, fd: i32, step: Step) {
        if self.steps >= STEPS_MAX {
            self.omitted += 1;
            return;
        }
        if let Some(c) = self.conv(fd) {
            c.steps.push(step);
            self.steps += 1;
        }
    }

    /// Takes in one event (before it is rendered).
    pub(super) fn on_event(&mut self, event: &Event) {
        match event {
            Event::Phase { phase, .. } => self.phase = Some(*phase),
            Event::Syscall(s) => self.syscall(s),
            Event::ConnectResult {
                at_us,
                fd,
                ok,
                error,
                local,
                ..
            } => {
                if *ok {
                    if let Some(c) = self.conv(*fd) {
                        c.local = *local;
                    }
                    self.push(
                        *fd,
                        Step {
                            at_us: *at_us,
                            out: false,
                            label: "SYN-ACK".into(),
                            note: "inferred: poll() said writable and SO_ERROR was 0".into(),
                            data: false,
                        },
                    );
                    self.push(
                        *fd,
                        Step {
                            at_us: *at_us,
                            out: true,
                            label: "ACK".into(),
                            note: "inferred: the kernel completes the handshake itself".into(),
                            data: false,
                        },
                    );
                } else {
                    self.push(
                        *fd,
                        Step {
                            at_us: *at_us,
                            out: false,
                            label: "no connection".into(),
                            note: format!(
                                "the connect failed: {}",
                                error.as_deref().unwrap_or("?")
                            ),
                            data: false,
                        },
                    );
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
                    step.note
                        .push_str(&format!(": {version} {status} {reason}"));
                }
            }
            Event::Closed {
                at_us,
                fd,
                first_fin,
            } => {
                if first_fin == "client" {
                    self.push(
                        *fd,
                        Step {
                            at_us: *at_us,
                            out: false,
                            label: "FIN".into(),
                            note: "inferred: the server's answer to ours; no syscall sees it"
                                .into(),
                            data: false,
                        },
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
        let Some(step) = self
            .conv(fd)
            .and_then(|c| c.steps.iter_mut().rev().find(|s| s.out == out && s.data))
        else {
            return;
        };
        if !step.note.contains(':') {
            step.note.push(':');
        } else {
            step.note.push(',');
        }
        step.note.push(' ');
        step.note.push_str(name);
    }

    fn syscall(&mut self, s: &SyscallRecord) {
        let Some(fd) = s.fd else {
            return;
        };
        match (&s.args, s.name) {
            (SyscallArgs::Socket { kind, .. }, _) if s.ret >= 0 => {
                self.convs.push(Conversation {
                    fd: s.ret as i32,
                    stream: kind.starts_with("SOCK_STREAM"),
                    local: None,
                    remote: None,
                    steps: Vec::new(),
                    tls: false,
                    peer_closed: false,
                    open: true,
                });
            }
            (SyscallArgs::Addr { addr }, "connect") => {
                if let Some(c) = self.conv(fd) {
                    c.remote = *addr;
                }
                let result = match &s.errno {
                    Some(e) => format!("-1 {e}"),
                    None => s.ret.to_string(),
                };
                self.push(
                    fd,
                    Step {
                        at_us: s.end_us,
                        out: true,
                        label: "SYN".into(),
                        note: format!("connect() = {result}; the kernel sends the SYN"),
                        data: false,
                    },
                );
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
                    Step {
                        at_us: s.end_us,
                        out: true,
                        label: format!("{what} ({} B)", Thousands(s.ret as u64)),
                        note: format!("sendto() = {}", s.ret),
                        data: true,
                    },
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
                        Step {
                            at_us: s.end_us,
                            out: false,
                            label: "FIN".into(),
                            note: "recvfrom() = 0: the server closed its side".into(),
                            data: false,
                        },
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
                    Step {
                        at_us: s.end_us,
                        out: false,
                        label: format!("{what} ({} B)", Thousands(s.ret as u64)),
                        note: format!("recvfrom() = {}", s.ret),
                        data: true,
                    },
                );
            }
            (_, "close") => {
                let Some(c) = self.conv(fd) else {
                    return;
                };
                if !c.stream {
                    // Closing a UDP socket sends nothing.
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
                    Step {
                        at_us: s.end_us,
                        out: true,
                        label: "FIN".into(),
                        note: note.into(),
                        data: false,
                    },
                );
            }
            _ => {}
        }
    }
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
                self.linef(format_args!(
                    "   {stamp:>12}  {}  {}",
                    p.show(style, arrow(&s.label, s.out)),
                    p.show(p.dim, &s.note)
                ));
            }
        }
        if ladder.omitted > 0 {
            self.note(format_args!(
                "… {} more arrows not drawn (--trace-json has every syscall)",
                ladder.omitted
            ));
        }
    }
}
