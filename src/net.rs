//! TCP over recorded syscalls: Happy Eyeballs connect, send and receive with deadlines, TCP_INFO.

use crate::error::{Error, Label, Phase, Result};
use crate::event::{Event, TcpInfoView, Tracer};
use crate::sys::{self, Fd, Interest, Kind};
use nix::errno::Errno;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// How long the first address family gets before the other one is tried in parallel (RFC 8305, curl).
pub const HAPPY_EYEBALLS_DELAY: Duration = Duration::from_millis(200);

/// An established TCP connection.
#[derive(Clone, Copy, Debug)]
pub struct Connection {
    pub fd: Fd,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    pub info: TcpInfoView,
}

/// Milliseconds left until `deadline`, for poll. `None` means no deadline.
pub fn remaining_ms(deadline: Option<Instant>) -> Option<u32> {
    deadline.map(|d| {
        let left = d.saturating_duration_since(Instant::now());
        // Round up so a poll never returns early just before the deadline.
        (left.as_micros().div_ceil(1000)).min(u32::MAX as u128) as u32
    })
}

/// A pending attempt closed because another address connected first.
pub const ABANDONED: &str = "abandoned: another address connected first";
/// A pending attempt closed because the deadline ran out and no address connected.
pub const TIMED_OUT: &str = "timed out: no answer to the SYN before the deadline (--connect-timeout or -m), and no other address connected";

struct Attempt {
    fd: Fd,
    addr: SocketAddr,
    /// The address connect() bound the socket to (getsockname right after connect()).
    local: Option<SocketAddr>,
    started_us: u64,
}

/// Orders addresses as curl does: the first family is IPv6 when there is any IPv6 address.
pub fn happy_eyeballs_order(addrs: &[IpAddr]) -> (Vec<IpAddr>, Vec<IpAddr>) {
    let v6: Vec<IpAddr> = addrs.iter().copied().filter(IpAddr::is_ipv6).collect();
    let v4: Vec<IpAddr> = addrs.iter().copied().filter(IpAddr::is_ipv4).collect();
    if v6.is_empty() { (v4, v6) } else { (v6, v4) }
}

fn errno_text(e: Errno) -> String {
    format!("{e:?} ({})", e.desc())
}

/// Starts one non-blocking connect. Returns the attempt if it is in progress or done.
///
/// The kernel binds the socket's local address and ephemeral port inside connect(), before the
/// SYN goes out (tcp_v4_connect → inet_hash_connect), so getsockname() right after a connect()
/// that returned 0 or EINPROGRESS already names the port every packet of this attempt uses,
/// a failed or timed-out one too. The `connect_attempt` event carries it (the capture registers
/// the flow from it), so it is emitted after those two calls.
fn start(
    t: &mut Tracer,
    addr: SocketAddr,
    failures: &mut Vec<(SocketAddr, Errno)>,
) -> Option<(Attempt, bool)> {
    let fd = match sys::socket(t, &addr, Kind::Stream) {
        Ok(fd) => fd,
        Err(e) => {
            failures.push((addr, e));
            return None;
        }
    };
    let started_us = t.now_us();
    let res = sys::connect(t, fd, &addr);
    // Only a connect() that got as far as sending the SYN has bound the socket.
    let local = match res {
        Ok(()) | Err(Errno::EINPROGRESS) => sys::getsockname(t, fd).ok().filter(|l| l.port() != 0),
        Err(_) => None,
    };
    let at = t.now_us();
    t.emit(Event::ConnectAttempt {
        at_us: at,
        fd: fd.0,
        addr,
        local,
    });
    let a = Attempt {
        fd,
        addr,
        local,
        started_us,
    };
    match res {
        Ok(()) => Some((a, true)),
        Err(Errno::EINPROGRESS) => Some((a, false)),
        Err(e) => {
            fail(t, a, e, failures);
            None
        }
    }
}

fn fail(t: &mut Tracer, a: Attempt, e: Errno, failures: &mut Vec<(SocketAddr, Errno)>) {
    let at = t.now_us();
    t.emit(Event::ConnectResult {
        at_us: at,
        fd: a.fd.0,
        addr: a.addr,
        ok: false,
        error: Some(errno_text(e)),
        local: a.local,
        elapsed_us: at - a.started_us,
    });
    let _ = sys::close(t, a.fd);
    failures.push((a.addr, e));
}

fn connect_error(
    host: &str,
    port: u16,
    failures: &[(SocketAddr, Errno)],
    elapsed: Duration,
) -> Error {
    let ms = elapsed.as_millis();
    let Some((addr, e)) = failures.last() else {
        return Error::new(
            Phase::Tcp,
            Label::ConnectFailed,
            format!("no address to connect to for {host}"),
        );
    };
    let tried: Vec<String> = failures
        .iter()
        .map(|(a, e)| format!("{a}: {e:?}"))
        .collect();
    let (label, hint) = match e {
        Errno::ECONNREFUSED => (
            Label::ConnectRefused,
            "nothing listens on that port: the kernel at the other end answered the SYN with RST",
        ),
        Errno::ENETUNREACH | Errno::EHOSTUNREACH | Errno::EADDRNOTAVAIL => (
            Label::ConnectUnreachable,
            "no route to that address: check `ip route get ADDR`, or try -4 / -6",
        ),
        _ => (
            Label::ConnectFailed,
            "see the errno; `ss -tn` shows the kernel's sockets",
        ),
    };
    Error::new(
        Phase::Tcp,
        label,
        format!(
            "Failed to connect to {host} port {port} after {ms} ms: {} (last: {addr}; tried {})",
            e.desc(),
            tried.join(", ")
        ),
    )
    .hint(hint)
}

/// Connects to one of `addrs` on `port`, Happy Eyeballs style; every attempt is an event.
pub fn connect(
    t: &mut Tracer,
    host: &str,
    addrs: &[IpAddr],
    port: u16,
    deadline: Option<Instant>,
) -> Result<Connection> {
    connect_scoped(t, host, addrs, port, 0, deadline)
}

/// [`connect`], with `scope_id` (0 for none), the interface of an IPv6 literal's zone
/// (`[fe80::1%25eth0]`), put into each IPv6 sockaddr's sin6_scope_id.
pub fn connect_scoped(
    t: &mut Tracer,
    host: &str,
    addrs: &[IpAddr],
    port: u16,
    scope_id: u32,
    deadline: Option<Instant>,
) -> Result<Connection> {
    let began = Instant::now();
    let (primary, secondary) = happy_eyeballs_order(addrs);
    let sockaddr = |ip: IpAddr| match ip {
        IpAddr::V6(v6) if scope_id != 0 => {
            SocketAddr::V6(std::net::SocketAddrV6::new(v6, port, 0, scope_id))
        }
        _ => SocketAddr::new(ip, port),
    };
    let mut primary = primary.into_iter().map(sockaddr);
    let mut secondary = secondary.into_iter().map(sockaddr).peekable();
    let mut second_family_at = secondary.peek().map(|_| began + HAPPY_EYEBALLS_DELAY);
    let mut pending: Vec<Attempt> = Vec::new();
    let mut failures = Vec::new();
    let mut winner: Option<Attempt> = None;

    // Bounded: each iteration either starts an attempt, ends one, or waits on a timer or deadline.
    'outer: loop {
        if pending.is_empty() {
            let next = primary.next().or_else(|| {
                second_family_at = None;
                secondary.next()
            });
            match next {
                Some(addr) => {
                    if let Some((a, done)) = start(t, addr, &mut failures) {
                        if done {
                            winner = Some(a);
                            break 'outer;
                        }
                        pending.push(a);
                    }
                    continue;
                }
                None => break 'outer,
            }
        }
        if let Some(at) = second_family_at
            && Instant::now() >= at
        {
            second_family_at = None;
            if let Some(addr) = secondary.next()
                && let Some((a, done)) = start(t, addr, &mut failures)
            {
                if done {
                    winner = Some(a);
                    break 'outer;
                }
                pending.push(a);
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break 'outer;
        }
        let mut wait = remaining_ms(deadline);
        if let Some(at) = second_family_at {
            let until = remaining_ms(Some(at)).unwrap_or(0);
            wait = Some(wait.map_or(until, |w| w.min(until)));
        }
        let set: Vec<(Fd, Interest)> = pending.iter().map(|a| (a.fd, Interest::Writable)).collect();
        let ready = match sys::poll(t, &set, wait) {
            Ok(r) => r,
            Err(Errno::EINTR) => continue,
            Err(e) => {
                for a in pending.drain(..) {
                    fail(t, a, e, &mut failures);
                }
                continue;
            }
        };
        let mut still = Vec::new();
        for (a, r) in pending.drain(..).zip(ready) {
            if winner.is_some() || !r.any() {
                still.push(a);
                continue;
            }
            match sys::so_error(t, a.fd) {
                Ok(0) => winner = Some(a),
                Ok(code) => fail(t, a, Errno::from_raw(code), &mut failures),
                Err(e) => fail(t, a, e, &mut failures),
            }
        }
        pending = still;
        if winner.is_some() {
            break;
        }
        // An attempt that failed frees its family to try its next address.
        if pending.is_empty() && second_family_at.is_some() {
            continue;
        }
    }

    // Attempts still pending are closed, each recorded: losers of the race when another address
    // connected, or attempts that ran out of time when none did.
    for a in pending.drain(..) {
        let at = t.now_us();
        let why = if winner.is_some() {
            ABANDONED
        } else {
            TIMED_OUT
        };
        t.emit(Event::ConnectResult {
            at_us: at,
            fd: a.fd.0,
            addr: a.addr,
            ok: false,
            error: Some(why.into()),
            local: a.local,
            elapsed_us: at - a.started_us,
        });
        let _ = sys::close(t, a.fd);
    }
    let Some(a) = winner else {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(Error::new(
                Phase::Tcp,
                Label::Timeout,
                format!("Connection timed out after {} ms connecting to {host} port {port}", began.elapsed().as_millis()),
            )
            .hint("the SYN got no answer in time: a firewall may drop it; raise --connect-timeout or check the route"));
        }
        return Err(connect_error(host, port, &failures, began.elapsed()));
    };
    // getsockname ran right after connect() (see `start`).
    let local = a
        .local
        .unwrap_or(SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0));
    let peer = sys::getpeername(t, a.fd).unwrap_or(a.addr);
    let info = sys::tcp_info(t, a.fd).unwrap_or_default();
    let at = t.now_us();
    t.emit(Event::ConnectResult {
        at_us: at,
        fd: a.fd.0,
        addr: a.addr,
        ok: true,
        error: None,
        local: Some(local),
        elapsed_us: at - a.started_us,
    });
    t.emit(Event::TcpInfo {
        at_us: t.now_us(),
        fd: a.fd.0,
        when: "after_connect".into(),
        info,
    });
    Ok(Connection {
        fd: a.fd,
        peer,
        local,
        info,
    })
}

/// A byte stream the HTTP exchange runs over: plain TCP, or TLS on top of it.
pub trait Transport {
    /// The socket underneath.
    fn fd(&self) -> Fd;
    /// Sends all of `data` (for TLS: as application data, encrypted).
    fn send_all(&mut self, t: &mut Tracer, data: &[u8], deadline: Option<Instant>) -> Result<()>;
    /// Receives some bytes (for TLS: decrypted application data). 0 means the peer closed.
    fn recv(
        &mut self,
        t: &mut Tracer,
        buf: &mut [u8],
        deadline: Option<Instant>,
        received: u64,
    ) -> Result<usize>;
}

/// Plain TCP: the bytes go to the socket as they are.
pub struct PlainTcp(pub Fd);

impl Transport for PlainTcp {
    fn fd(&self) -> Fd {
        self.0
    }
    fn send_all(&mut self, t: &mut Tracer, data: &[u8], deadline: Option<Instant>) -> Result<()> {
        send_all(t, self.0, data, deadline)
    }
    fn recv(
        &mut self,
        t: &mut Tracer,
        buf: &mut [u8],
        deadline: Option<Instant>,
        received: u64,
    ) -> Result<usize> {
        recv(t, self.0, buf, deadline, received)
    }
}

fn timeout_error(phase: Phase, what: &str, received: u64) -> Error {
    Error::new(
        phase,
        Label::Timeout,
        format!("Operation timed out while {what} ({received} bytes received)"),
    )
    .hint("raise -m/--max-time, or check why the server is slow")
}

/// Sends all of `data`, polling for writability when the socket buffer is full.
pub fn send_all(t: &mut Tracer, fd: Fd, mut data: &[u8], deadline: Option<Instant>) -> Result<()> {
    while !data.is_empty() {
        match sys::sendto(t, fd, data, None) {
            Ok(n) => data = &data[n..],
            Err(Errno::EAGAIN) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Err(timeout_error(Phase::Request, "sending the request", 0));
                }
                let _ = sys::poll(t, &[(fd, Interest::Writable)], remaining_ms(deadline));
            }
            Err(Errno::EINTR) => {}
            Err(e) => {
                return Err(Error::new(
                    Phase::Request,
                    Label::SendFailed,
                    format!("sendto failed: {}", errno_text(e)),
                )
                .hint("the peer reset or closed the connection before the request was sent"));
            }
        }
    }
    Ok(())
}

/// Waits for data and receives it: poll, then recvfrom. Returns 0 when the peer has closed.
pub fn recv(
    t: &mut Tracer,
    fd: Fd,
    buf: &mut [u8],
    deadline: Option<Instant>,
    received: u64,
) -> Result<usize> {
    loop {
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(timeout_error(
                Phase::Response,
                "waiting for the response",
                received,
            ));
        }
        match sys::poll(t, &[(fd, Interest::Readable)], remaining_ms(deadline)) {
            Ok(r) if !r[0].any() => continue,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(recv_error(e)),
        }
        match sys::recvfrom(t, fd, buf, false) {
            Ok((n, _)) => return Ok(n),
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            Err(e) => return Err(recv_error(e)),
        }
    }
}

fn recv_error(e: Errno) -> Error {
    Error::new(
        Phase::Response,
        Label::RecvFailed,
        format!("Recv failure: {}", errno_text(e)),
    )
    .hint("the connection was reset: the server or a middlebox aborted it (RST)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RealClock;
    use crate::event::Recorder;
    use std::net::TcpListener;

    #[test]
    fn ipv6_goes_first_when_present() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        assert_eq!(happy_eyeballs_order(&[v4, v6]), (vec![v6], vec![v4]));
        assert_eq!(happy_eyeballs_order(&[v4]), (vec![v4], vec![]));
    }

    #[test]
    fn connects_and_reports_local_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let clock = RealClock::new();
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let c = connect(
            &mut t,
            "localhost",
            &["127.0.0.1".parse().unwrap()],
            port,
            None,
        )
        .unwrap();
        assert_eq!(c.peer.port(), port);
        assert_ne!(c.local.port(), 0);
        sys::close(&mut t, c.fd).unwrap();
    }

    #[test]
    fn refused_everywhere_exits_7() {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let clock = RealClock::new();
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let addrs: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "127.0.0.2".parse().unwrap()];
        let e = connect(&mut t, "h", &addrs, port, None).unwrap_err();
        assert_eq!(e.label, Label::ConnectRefused);
        assert_eq!(e.exit_code(), 7);
        let attempts = rec
            .events
            .iter()
            .filter(|e| matches!(e, Event::ConnectAttempt { .. }))
            .count();
        assert_eq!(attempts, 2, "both addresses tried");
    }

    #[test]
    fn falls_back_to_second_family_after_failure() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let clock = RealClock::new();
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        // ::1 on that port is (almost certainly) closed: refused, then IPv4 connects.
        let addrs: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let c = connect(&mut t, "h", &addrs, port, None).unwrap();
        assert!(c.peer.is_ipv4());
        sys::close(&mut t, c.fd).unwrap();
    }

    /// A listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs.
    fn black_hole(addr: &str) -> (std::os::fd::OwnedFd, std::net::TcpStream, u16) {
        use nix::sys::socket::{Backlog, SockaddrStorage, bind, getsockname, listen, socket};
        let sa: SocketAddr = addr.parse().unwrap();
        let family = if sa.is_ipv4() {
            nix::sys::socket::AddressFamily::Inet
        } else {
            nix::sys::socket::AddressFamily::Inet6
        };
        let fd = socket(
            family,
            nix::sys::socket::SockType::Stream,
            nix::sys::socket::SockFlag::empty(),
            None,
        )
        .unwrap();
        use std::os::fd::AsRawFd;
        bind(fd.as_raw_fd(), &SockaddrStorage::from(sa)).unwrap();
        listen(&fd, Backlog::new(0).unwrap()).unwrap();
        let local: SockaddrStorage = getsockname(fd.as_raw_fd()).unwrap();
        let port = local
            .as_sockaddr_in6()
            .map(|a| a.port())
            .or(local.as_sockaddr_in().map(|a| a.port()))
            .unwrap();
        // One connection fills a backlog of 0; nobody accepts it.
        let filler = std::net::TcpStream::connect(SocketAddr::new(sa.ip(), port)).unwrap();
        (fd, filler, port)
    }

    #[test]
    fn happy_eyeballs_starts_ipv4_after_200ms_when_ipv6_hangs() {
        if std::net::TcpListener::bind("[::1]:0").is_err() {
            assert!(std::env::var("CI").is_err(), "CI must have IPv6 loopback");
            eprintln!("SKIP: no IPv6 loopback here");
            return;
        }
        let (_hole, _filler, port) = black_hole("[::1]:0");
        // The same port number on IPv4, listening normally.
        let Ok(v4) = TcpListener::bind(("127.0.0.1", port)) else {
            eprintln!("SKIP: port {port} taken on IPv4");
            return;
        };
        let clock = RealClock::new();
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let addrs: Vec<IpAddr> = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()];
        let began = Instant::now();
        let c = connect(
            &mut t,
            "h",
            &addrs,
            port,
            Some(Instant::now() + Duration::from_secs(5)),
        )
        .unwrap();
        let took = began.elapsed();
        assert!(c.peer.is_ipv4(), "IPv4 wins the race");
        assert!(
            took >= HAPPY_EYEBALLS_DELAY,
            "IPv4 waited for the head start: {took:?}"
        );
        assert!(took < Duration::from_secs(2), "{took:?}");
        sys::close(&mut t, c.fd).unwrap();
        drop(v4);
        let attempts: Vec<SocketAddr> = rec
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ConnectAttempt { addr, .. } => Some(*addr),
                _ => None,
            })
            .collect();
        assert_eq!(attempts.len(), 2);
        assert!(attempts[0].is_ipv6(), "IPv6 goes first");
        let abandoned = rec.events.iter().any(|e| {
            matches!(e, Event::ConnectResult { ok: false, error: Some(err), addr, .. } if addr.is_ipv6() && err.contains("abandoned"))
        });
        assert!(abandoned, "the losing IPv6 attempt is shown as abandoned");
    }

    #[test]
    fn connect_deadline_gives_timeout_28() {
        let (_hole, _filler, port) = black_hole("127.0.0.1:0");
        let clock = RealClock::new();
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let began = Instant::now();
        let e = connect(
            &mut t,
            "h",
            &["127.0.0.1".parse().unwrap()],
            port,
            Some(Instant::now() + Duration::from_millis(300)),
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 28);
        assert!(began.elapsed() >= Duration::from_millis(300));
        assert!(began.elapsed() < Duration::from_secs(3));
        // The one attempt timed out; nothing else connected, so it was not "abandoned".
        let errors: Vec<&str> = rec
            .events
            .iter()
            .filter_map(|e| match e {
                Event::ConnectResult {
                    ok: false, error, ..
                } => error.as_deref(),
                _ => None,
            })
            .collect();
        assert_eq!(errors, [TIMED_OUT]);
    }
}
