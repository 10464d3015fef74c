//! Sending DNS queries and reading answers over UDP and TCP, every socket call through [`crate::sys`].
//!
//! UDP, as glibc's `send_dg`: one datagram socket per server exchange, `connect`ed to the server
//! (no packet is sent; the kernel records the peer), then all queries back to back with `sendto`
//! without an address (as glibc sends A and AAAA), then `poll` + `recvfrom` until every query has
//! its answer or the wait ends. Because the socket is connected, the kernel delivers only the
//! server's datagrams (it drops any other sender's), and an ICMP error that comes back for it
//! (port unreachable: nothing listens there) is reported on the next call as ECONNREFUSED
//! (`sendto` or `recvfrom` returns -1, `poll` says POLLERR): that ends the exchange at once with an
//! [`Event::DnsUnreachable`] instead of waiting for the timeout. Datagrams with an unknown id or a
//! question that is not ours are reported ([`Event::DnsIgnored`]) and the wait goes on; at most
//! [`MAX_STRAYS`] of them are read. A wait that ends with queries unanswered is an
//! [`Event::DnsTimeout`]; both say what the resolver does next ([`WaitPlan`]). TCP (after an
//! answer with TC set): connect, send the query with its 2-byte length prefix, read one
//! length-prefixed answer. Every socket is closed through [`sys::close`] on every path.

use super::wire::{self, Answer, Query, Reject};
use crate::event::{Event, Tracer};
use crate::sys::{self, Fd, Interest, Kind, Ready};
use nix::errno::Errno;
use std::net::SocketAddr;
use std::time::Instant;

/// Stray or unusable messages read before a wait is abandoned.
pub const MAX_STRAYS: usize = 100;
/// Upper bound on loop turns of one wait (poll wake-ups, EINTR, EAGAIN), beyond the time limit.
const MAX_TURNS: usize = 10_000;
/// The largest DNS message (UDP payload or TCP length prefix).
const MAX_MESSAGE: usize = 65_535;

/// Milliseconds left until `until`, rounded up (so poll never spins); `None` once it has passed.
pub fn remaining_ms(until: Instant) -> Option<u32> {
    let left = until.checked_duration_since(Instant::now())?;
    if left.is_zero() {
        return None;
    }
    let ms = left.as_micros().div_ceil(1000);
    Some(u32::try_from(ms).unwrap_or(u32::MAX))
}

fn errno_name(e: Errno) -> String {
    format!("{e:?}")
}

fn ignored(t: &mut Tracer, server: SocketAddr, reason: String) {
    let at_us = t.now_us();
    t.emit(Event::DnsIgnored {
        at_us,
        server,
        reason,
    });
}

fn emit_query(
    t: &mut Tracer,
    at_us: u64,
    server: SocketAddr,
    transport: &str,
    q: &Query,
    attempt: u32,
) {
    t.emit(Event::DnsQuery {
        at_us,
        server,
        transport: transport.into(),
        id: q.id,
        qname: q.qname.clone(),
        qtype: q.qtype.as_str().into(),
        flags: wire::QUERY_FLAGS.into(),
        size: q.bytes.len(),
        attempt,
    });
}

fn emit_answer(
    t: &mut Tracer,
    server: SocketAddr,
    transport: &str,
    q: &Query,
    a: &Answer,
    sent_us: u64,
) {
    let at_us = t.now_us();
    t.emit(Event::DnsAnswer {
        at_us,
        server,
        transport: transport.into(),
        id: a.header.id,
        qname: q.qname.clone(),
        qtype: q.qtype.as_str().into(),
        rcode: wire::rcode_name(a.header.rcode),
        flags: a.header.flags(),
        size: a.size,
        records: a.records.clone(),
        cname_chain: a.cname_chain.clone(),
        elapsed_us: at_us.saturating_sub(sent_us),
    });
}

/// What the resolver does if a wait ends without every answer (for the [`Event::DnsTimeout`] and
/// [`Event::DnsUnreachable`]).
#[derive(Clone, Debug)]
pub struct WaitPlan {
    /// resolv.conf's `attempts` (at least 1).
    pub attempts: u32,
    /// resolv.conf's `timeout` in seconds (at least 1).
    pub timeout_s: u32,
    /// The wait ends at the --connect-timeout / -m deadline, before resolv.conf's timeout.
    pub cut_by_deadline: bool,
    /// `next_server`, `next_attempt` or `give_up`.
    pub next: &'static str,
    pub next_server: Option<SocketAddr>,
}

/// What one UDP exchange with one server produced.
#[derive(Debug, Default)]
pub struct UdpOutcome {
    /// One entry per query, in the order given: the accepted answer, if any.
    pub answers: Vec<Option<Answer>>,
    /// The last message from the server that looked like an answer but could not be used.
    pub malformed: Option<String>,
    /// A socket call that failed (socket, connect, sendto, poll, recvfrom), with its errno.
    pub failure: Option<String>,
    /// How many queries were actually sent.
    pub sent: usize,
    /// The kernel reported an ICMP error (or no route) for the connected socket: the errno.
    pub unreachable: Option<Errno>,
    /// The wait ran to its end (resolv.conf's timeout or the deadline) with queries unanswered.
    pub timed_out: bool,
}

/// Errors that say the server cannot be reached at all (glibc's `send_dg` moves on to the next
/// server on them): ECONNREFUSED is an ICMP port unreachable, EHOSTUNREACH an ICMP host
/// unreachable (or no ARP/NDP answer), ENETUNREACH no route (from connect) or an ICMP net
/// unreachable.
pub fn is_unreachable(e: Errno) -> bool {
    matches!(
        e,
        Errno::ECONNREFUSED | Errno::EHOSTUNREACH | Errno::ENETUNREACH
    )
}

/// `A (id 0x5a09)` for each query sent and not answered.
fn unanswered(
    queries: &[&Query],
    answers: &[Option<Answer>],
    sent_us: &[Option<u64>],
) -> Vec<String> {
    queries
        .iter()
        .zip(answers)
        .zip(sent_us)
        .filter(|((_, a), s)| a.is_none() && s.is_some())
        .map(|((q, _), _)| format!("{} (id 0x{:04x})", q.qtype.as_str(), q.id))
        .collect()
}

/// Sends `queries` to `server` over UDP and collects their answers until `until`; if some stay
/// unanswered, says so with what `plan` does next.
pub fn udp_exchange(
    t: &mut Tracer,
    server: SocketAddr,
    queries: &[&Query],
    attempt: u32,
    until: Instant,
    plan: &WaitPlan,
) -> UdpOutcome {
    let mut out = UdpOutcome {
        answers: vec![None; queries.len()],
        ..UdpOutcome::default()
    };
    let fd = match sys::socket(t, &server, Kind::Datagram) {
        Ok(fd) => fd,
        Err(e) => {
            out.failure = Some(format!("socket() for {server}: {}", errno_name(e)));
            return out;
        }
    };
    udp_on_socket(t, fd, server, queries, attempt, until, plan, &mut out);
    let _ = sys::close(t, fd);
    out
}

/// Says that `server` cannot be reached: `syscall` returned `e` (see [`is_unreachable`]).
fn emit_unreachable(
    t: &mut Tracer,
    server: SocketAddr,
    attempt: u32,
    plan: &WaitPlan,
    (syscall, e): (&str, Errno),
    unanswered: Vec<String>,
    since_us: u64,
) {
    let at_us = t.now_us();
    t.emit(Event::DnsUnreachable {
        at_us,
        server,
        transport: "udp".into(),
        attempt,
        attempts: plan.attempts,
        syscall: syscall.into(),
        errno: errno_name(e),
        unanswered,
        after_us: at_us.saturating_sub(since_us),
        timeout_s: plan.timeout_s,
        next: plan.next.into(),
        next_server: plan.next_server,
    });
}

#[allow(clippy::too_many_arguments)]
fn udp_on_socket(
    t: &mut Tracer,
    fd: Fd,
    server: SocketAddr,
    queries: &[&Query],
    attempt: u32,
    until: Instant,
    plan: &WaitPlan,
    out: &mut UdpOutcome,
) {
    let started = Instant::now();
    let connect_us = t.now_us();
    // A UDP connect sends nothing and returns at once; it fails only without a route.
    if let Err(e) = sys::connect(t, fd, &server) {
        out.failure = Some(format!("connect to {server}: {}", errno_name(e)));
        if is_unreachable(e) {
            out.unreachable = Some(e);
            emit_unreachable(
                t,
                server,
                attempt,
                plan,
                ("connect", e),
                Vec::new(),
                connect_us,
            );
        }
        return;
    }
    let mut sent_us: Vec<Option<u64>> = vec![None; queries.len()];
    let mut first_sent_us: Option<u64> = None;
    // The queries go out back to back, as glibc sends them; what each one was is told after the
    // last is sent (at its own send time), so that nothing, an observer's output included, runs
    // between the sends.
    let mut sent: Vec<(u64, &Query)> = Vec::with_capacity(queries.len());
    for (i, q) in queries.iter().enumerate() {
        let send_start = t.now_us();
        match sys::sendto(t, fd, &q.bytes, None) {
            Ok(_) => {
                first_sent_us.get_or_insert(send_start);
                let at = t.now_us();
                sent.push((at, q));
                sent_us[i] = Some(at);
                out.sent += 1;
            }
            // An ICMP error for an earlier query of this socket came back already.
            Err(e) if is_unreachable(e) => {
                for (at, q) in sent.drain(..) {
                    emit_query(t, at, server, "udp", q, attempt);
                }
                out.failure = Some(format!("sendto {server}: {}", errno_name(e)));
                out.unreachable = Some(e);
                // This query and the rest are not sent: only those sent are unanswered.
                let left = unanswered(queries, &out.answers, &sent_us);
                let since = first_sent_us.unwrap_or(connect_us);
                emit_unreachable(t, server, attempt, plan, ("sendto", e), left, since);
                return;
            }
            Err(e) => {
                out.failure = Some(format!("sendto {server}: {}", errno_name(e)));
            }
        }
    }
    for (at, q) in sent {
        emit_query(t, at, server, "udp", q, attempt);
    }
    let waiting = |answers: &[Option<Answer>]| {
        sent_us
            .iter()
            .zip(answers)
            .any(|(s, a)| s.is_some() && a.is_none())
    };
    let mut buf = vec![0u8; MAX_MESSAGE];
    let mut strays = 0usize;
    let mut turns = 0usize;
    while waiting(&out.answers) {
        turns += 1;
        if turns > MAX_TURNS {
            break;
        }
        if strays >= MAX_STRAYS {
            ignored(
                t,
                server,
                format!("stopped waiting after {MAX_STRAYS} unusable datagrams"),
            );
            return;
        }
        let Some(ms) = remaining_ms(until) else { break };
        // POLLERR: an ICMP error is pending; recvfrom below reads it as its errno.
        match sys::poll(t, &[(fd, Interest::Readable)], Some(ms)) {
            Ok(r) if r.first().is_some_and(|r| r.readable || r.error) => {}
            Ok(_) | Err(Errno::EINTR) => continue,
            Err(e) => {
                out.failure = Some(format!("poll: {}", errno_name(e)));
                return;
            }
        }
        // The socket is connected: the kernel delivers only the server's datagrams.
        let n = match sys::recvfrom(t, fd, &mut buf, true) {
            Ok((n, _)) => n,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            Err(e) if is_unreachable(e) => {
                out.failure = Some(format!("recvfrom {server}: {}", errno_name(e)));
                out.unreachable = Some(e);
                let left = unanswered(queries, &out.answers, &sent_us);
                let since = first_sent_us.unwrap_or(connect_us);
                emit_unreachable(t, server, attempt, plan, ("recvfrom", e), left, since);
                return;
            }
            Err(e) => {
                out.failure = Some(format!("recvfrom {server}: {}", errno_name(e)));
                ignored(t, server, format!("recvfrom failed with {}", errno_name(e)));
                return;
            }
        };
        let data = &buf[..n.min(buf.len())];
        let Some(header) = wire::Header::read(data) else {
            strays += 1;
            let reason = format!("{n}-byte datagram is shorter than a DNS header");
            out.malformed = Some(reason.clone());
            ignored(t, server, reason);
            continue;
        };
        let Some(i) = queries.iter().position(|q| q.id == header.id) else {
            strays += 1;
            let ids: Vec<String> = queries.iter().map(|q| q.id.to_string()).collect();
            ignored(
                t,
                server,
                format!(
                    "id {} matches no query sent (ids {})",
                    header.id,
                    ids.join(", ")
                ),
            );
            continue;
        };
        if out.answers[i].is_some() || sent_us[i].is_none() {
            strays += 1;
            ignored(
                t,
                server,
                format!("id {}: a second answer to the same query", header.id),
            );
            continue;
        }
        match wire::check_answer(queries[i], data) {
            Ok(a) => {
                emit_answer(t, server, "udp", queries[i], &a, sent_us[i].unwrap_or(0));
                out.answers[i] = Some(a);
            }
            Err(r) => {
                strays += 1;
                if let Reject::Malformed(m) = &r {
                    out.malformed = Some(m.clone());
                }
                ignored(t, server, r.to_string());
            }
        }
    }
    // The time ran out (or the loop's bound): no datagram (more) arrived in the wait.
    if waiting(&out.answers) && out.sent > 0 {
        out.timed_out = true;
        let unanswered = unanswered(queries, &out.answers, &sent_us);
        let at_us = t.now_us();
        t.emit(Event::DnsTimeout {
            at_us,
            server,
            transport: "udp".into(),
            attempt,
            attempts: plan.attempts,
            unanswered,
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            timeout_s: plan.timeout_s,
            cut_by_deadline: plan.cut_by_deadline,
            next: plan.next.into(),
            next_server: plan.next_server,
        });
    }
}

/// What a TCP exchange produced.
#[derive(Debug)]
pub enum TcpOutcome {
    Answer(Answer),
    Failed {
        reason: String,
        /// The server sent something that is not a usable DNS answer.
        malformed: bool,
    },
}

/// Asks `q` again over TCP (RFC 1035 4.2.2: a 2-byte length, then the message), until `until`.
pub fn tcp_exchange(
    t: &mut Tracer,
    server: SocketAddr,
    q: &Query,
    attempt: u32,
    until: Instant,
) -> TcpOutcome {
    let out = match sys::socket(t, &server, Kind::Stream) {
        Ok(fd) => {
            let out = tcp_on_socket(t, fd, server, q, attempt, until);
            let _ = sys::close(t, fd);
            out
        }
        Err(e) => TcpOutcome::Failed {
            reason: format!("socket() for {server}: {}", errno_name(e)),
            malformed: false,
        },
    };
    if let TcpOutcome::Failed { reason, .. } = &out {
        ignored(t, server, format!("tcp: {reason}"));
    }
    out
}

fn failed(reason: String) -> TcpOutcome {
    TcpOutcome::Failed {
        reason,
        malformed: false,
    }
}

/// Waits until `fd` is ready for `interest`; `Err` with the reason when it is not in time.
fn wait_for(t: &mut Tracer, fd: Fd, interest: Interest, until: Instant) -> Result<(), String> {
    for _ in 0..MAX_TURNS {
        let Some(ms) = remaining_ms(until) else {
            break;
        };
        match sys::poll(t, &[(fd, interest)], Some(ms)) {
            Ok(r) if r.first().is_some_and(Ready::any) => return Ok(()),
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(format!("poll: {}", errno_name(e))),
        }
    }
    Err(match interest {
        Interest::Writable => "timed out connecting".into(),
        Interest::Readable => "timed out waiting for the answer".into(),
    })
}

fn tcp_on_socket(
    t: &mut Tracer,
    fd: Fd,
    server: SocketAddr,
    q: &Query,
    attempt: u32,
    until: Instant,
) -> TcpOutcome {
    match sys::connect(t, fd, &server) {
        Ok(()) | Err(Errno::EINPROGRESS) => {}
        Err(e) => return failed(format!("connect to {server}: {}", errno_name(e))),
    }
    if let Err(r) = wait_for(t, fd, Interest::Writable, until) {
        return failed(r);
    }
    match sys::so_error(t, fd) {
        Ok(0) => {}
        Ok(e) => {
            return failed(format!(
                "connect to {server}: {}",
                errno_name(Errno::from_raw(e))
            ));
        }
        Err(e) => return failed(format!("getsockopt(SO_ERROR): {}", errno_name(e))),
    }
    let Ok(len) = u16::try_from(q.bytes.len()) else {
        return failed("query longer than 65535 bytes".into());
    };
    let mut msg = Vec::with_capacity(q.bytes.len() + 2);
    msg.extend_from_slice(&len.to_be_bytes());
    msg.extend_from_slice(&q.bytes);
    let mut off = 0usize;
    let mut turns = 0usize;
    while off < msg.len() {
        turns += 1;
        if turns > MAX_TURNS {
            return failed("could not send the query".into());
        }
        match sys::sendto(t, fd, &msg[off..], None) {
            Ok(n) => off += n,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {
                if let Err(r) = wait_for(t, fd, Interest::Writable, until) {
                    return failed(r);
                }
            }
            Err(e) => return failed(format!("send: {}", errno_name(e))),
        }
    }
    let sent_us = t.now_us();
    emit_query(t, sent_us, server, "tcp", q, attempt);

    let mut stream: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut total = 0usize;
    let mut strays = 0usize;
    for _ in 0..MAX_TURNS {
        // A complete message buffered?
        if let [hi, lo, ..] = stream[..] {
            let need = 2 + usize::from(u16::from_be_bytes([hi, lo]));
            if stream.len() >= need {
                let message: Vec<u8> = stream.drain(..need).skip(2).collect();
                match wire::check_answer(q, &message) {
                    Ok(a) => {
                        emit_answer(t, server, "tcp", q, &a, sent_us);
                        return TcpOutcome::Answer(a);
                    }
                    Err(Reject::Mismatch(r)) => {
                        ignored(t, server, format!("tcp: {r}"));
                        strays += 1;
                        if strays >= MAX_STRAYS {
                            return failed(format!("{MAX_STRAYS} answers that are not ours"));
                        }
                        continue;
                    }
                    Err(Reject::Malformed(r)) => {
                        return TcpOutcome::Failed {
                            reason: r,
                            malformed: true,
                        };
                    }
                }
            }
        }
        if let Err(r) = wait_for(t, fd, Interest::Readable, until) {
            return failed(format!("{r} ({total} bytes received)"));
        }
        match sys::recvfrom(t, fd, &mut chunk, false) {
            Ok((0, _)) => {
                return TcpOutcome::Failed {
                    reason: format!("the server closed the connection after {total} bytes"),
                    malformed: total > 0,
                };
            }
            Ok((n, _)) => {
                let n = n.min(chunk.len());
                total += n;
                stream.extend_from_slice(&chunk[..n]);
            }
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => {}
            Err(e) => return failed(format!("recv: {}", errno_name(e))),
        }
    }
    failed("gave up reading the answer".into())
}
