//! The one place that touches the kernel: every network syscall goes through here and is recorded.
//!
//! Each function makes exactly one system call, times it, and emits an [`Event::Syscall`] with the
//! name strace would print, the fd, the arguments, the raw return value and errno. Sockets are always
//! non-blocking and close-on-exec. [`Fd`] has no `Drop`: closing is an explicit, recorded call.

use crate::event::{Event, PollArg, SyscallArgs, SyscallRecord, TcpInfoView, Tracer};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{self, AddressFamily, MsgFlags, SockFlag, SockType, SockaddrStorage};
use std::net::SocketAddr;
use std::os::fd::{BorrowedFd, IntoRawFd, RawFd};

/// A socket file descriptor owned by the engine. Close it with [`close`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Fd(pub RawFd);

/// Stream (TCP) or datagram (UDP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Stream,
    Datagram,
}

fn family_of(addr: &SocketAddr) -> AddressFamily {
    if addr.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    }
}

fn record(
    t: &mut Tracer,
    name: &'static str,
    fd: Option<RawFd>,
    start_us: u64,
    result: Result<i64, Errno>,
    args: impl FnOnce() -> SyscallArgs,
) {
    let end_us = t.now_us();
    if !t.wants_syscalls() {
        return;
    }
    let args = args();
    let (ret, errno) = match result {
        Ok(v) => (v, None),
        Err(e) => (-1, Some(format!("{e:?}"))),
    };
    t.emit(Event::Syscall(SyscallRecord {
        name,
        fd,
        ret,
        errno,
        start_us,
        end_us,
        args,
    }));
}

/// socket(2): a non-blocking, close-on-exec socket of the address's family.
pub fn socket(t: &mut Tracer, for_addr: &SocketAddr, kind: Kind) -> Result<Fd, Errno> {
    let family = family_of(for_addr);
    let ty = match kind {
        Kind::Stream => SockType::Stream,
        Kind::Datagram => SockType::Datagram,
    };
    let start = t.now_us();
    let res = socket::socket(
        family,
        ty,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map(|owned| owned.into_raw_fd());
    let args = || SyscallArgs::Socket {
        domain: if family == AddressFamily::Inet {
            "AF_INET"
        } else {
            "AF_INET6"
        },
        kind: if kind == Kind::Stream {
            "SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"
        } else {
            "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK"
        },
        protocol: 0,
    };
    let fd = res.as_ref().ok().copied();
    record(t, "socket", fd, start, res.map(i64::from), args);
    res.map(Fd)
}

/// Which kernel service a netlink socket talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Netlink {
    /// rtnetlink: routes, links, neighbours.
    Route,
    /// sock_diag: the kernel's table of sockets, as `ss` reads it.
    SockDiag,
}

/// socket(2) AF_NETLINK: a non-blocking, close-on-exec socket for asking the kernel. Requests go
/// out with [`sendto`] (no address: the kernel) and answers come back with [`recvfrom`].
pub fn netlink_socket(t: &mut Tracer, which: Netlink) -> Result<Fd, Errno> {
    let (protocol, name) = match which {
        Netlink::Route => (socket::SockProtocol::NetlinkRoute, "NETLINK_ROUTE"),
        Netlink::SockDiag => (socket::SockProtocol::NetlinkSockDiag, "NETLINK_SOCK_DIAG"),
    };
    let start = t.now_us();
    let res = socket::socket(
        AddressFamily::Netlink,
        SockType::Raw,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        protocol,
    )
    .map(|owned| owned.into_raw_fd());
    let fd = res.as_ref().ok().copied();
    record(t, "socket", fd, start, res.map(i64::from), || {
        SyscallArgs::NetlinkSocket {
            domain: "AF_NETLINK",
            protocol: name,
            kind: "SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK",
        }
    });
    res.map(Fd)
}

/// connect(2). On a non-blocking TCP socket this normally fails with `EINPROGRESS`; on a UDP
/// socket it sends nothing and returns 0 at once (it fails only when there is no route): the kernel
/// records the peer, delivers only its datagrams, and reports ICMP errors for it (ECONNREFUSED).
pub fn connect(t: &mut Tracer, fd: Fd, addr: &SocketAddr) -> Result<(), Errno> {
    let sa = SockaddrStorage::from(*addr);
    let start = t.now_us();
    let res = socket::connect(fd.0, &sa);
    record(t, "connect", Some(fd.0), start, res.map(|_| 0), || {
        SyscallArgs::Addr { addr: Some(*addr) }
    });
    res
}

/// The index of the network interface `name` (libc's if_nametoindex: an ioctl(SIOCGIFINDEX) on a
/// throwaway socket inside libc, so it is not recorded as one of wtcurl's syscalls), or None.
pub fn if_nametoindex(name: &str) -> Option<u32> {
    nix::net::if_::if_nametoindex(name).ok()
}

/// What to wait for in [`poll`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    Readable,
    Writable,
}

/// What poll reported for one fd.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    pub readable: bool,
    pub writable: bool,
    pub error: bool,
    pub hangup: bool,
}

impl Ready {
    pub fn any(&self) -> bool {
        self.readable || self.writable || self.error || self.hangup
    }
}

fn flag_names(f: PollFlags) -> String {
    let mut names = Vec::new();
    for (flag, name) in [
        (PollFlags::POLLIN, "POLLIN"),
        (PollFlags::POLLOUT, "POLLOUT"),
        (PollFlags::POLLERR, "POLLERR"),
        (PollFlags::POLLHUP, "POLLHUP"),
        (PollFlags::POLLNVAL, "POLLNVAL"),
    ] {
        if f.contains(flag) {
            names.push(name);
        }
    }
    names.join("|")
}

/// poll(2) on several fds. `timeout_ms` of `None` waits forever. Returns one [`Ready`] per fd.
pub fn poll(
    t: &mut Tracer,
    fds: &[(Fd, Interest)],
    timeout_ms: Option<u32>,
) -> Result<Vec<Ready>, Errno> {
    // SAFETY: the engine owns every Fd until it calls `close`, so each raw fd is open for this call.
    let borrowed: Vec<BorrowedFd> = fds
        .iter()
        .map(|(fd, _)| unsafe { BorrowedFd::borrow_raw(fd.0) })
        .collect();
    let mut pfds: Vec<PollFd> = borrowed
        .iter()
        .zip(fds)
        .map(|(b, (_, interest))| {
            let ev = match interest {
                Interest::Readable => PollFlags::POLLIN,
                Interest::Writable => PollFlags::POLLOUT,
            };
            PollFd::new(*b, ev)
        })
        .collect();
    let timeout = match timeout_ms {
        None => PollTimeout::NONE,
        Some(ms) => PollTimeout::try_from(ms.min(i32::MAX as u32)).unwrap_or(PollTimeout::MAX),
    };
    let start = t.now_us();
    let res = nix::poll::poll(&mut pfds, timeout);
    let mut ready = Vec::with_capacity(fds.len());
    let mut revents = Vec::with_capacity(fds.len());
    for p in &pfds {
        let r = p.revents().unwrap_or(PollFlags::empty());
        revents.push(r);
        ready.push(Ready {
            readable: r.contains(PollFlags::POLLIN),
            writable: r.contains(PollFlags::POLLOUT),
            error: r.contains(PollFlags::POLLERR) || r.contains(PollFlags::POLLNVAL),
            hangup: r.contains(PollFlags::POLLHUP),
        });
    }
    let fd = if fds.len() == 1 {
        Some(fds[0].0.0)
    } else {
        None
    };
    let args = || {
        let fds = fds
            .iter()
            .zip(&revents)
            .map(|((fd, interest), r)| PollArg {
                fd: fd.0,
                events: if *interest == Interest::Readable {
                    "POLLIN"
                } else {
                    "POLLOUT"
                },
                revents: flag_names(*r),
            })
            .collect();
        SyscallArgs::Poll {
            fds,
            timeout_ms: timeout_ms.map(i64::from).unwrap_or(-1),
        }
    };
    record(t, "poll", fd, start, res.map(i64::from), args);
    res.map(|_| ready)
}

/// getsockopt(2) SO_ERROR: the outcome of a non-blocking connect. Returns the pending error (0 = none).
pub fn so_error(t: &mut Tracer, fd: Fd) -> Result<i32, Errno> {
    // SAFETY: see `poll`; the fd is open while the engine holds it.
    let b = unsafe { BorrowedFd::borrow_raw(fd.0) };
    let start = t.now_us();
    let res = socket::getsockopt(&b, socket::sockopt::SocketError);
    let pending = res.as_ref().ok().copied();
    let args = || SyscallArgs::SoError {
        level: "SOL_SOCKET",
        optname: "SO_ERROR",
        value: pending,
        value_name: pending
            .filter(|v| *v != 0)
            .map(|v| format!("{:?}", Errno::from_raw(v))),
    };
    record(t, "getsockopt", Some(fd.0), start, res.map(|_| 0), args);
    res
}

fn to_socket_addr(s: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = s.as_sockaddr_in() {
        return Some(SocketAddr::from((v4.ip(), v4.port())));
    }
    s.as_sockaddr_in6()
        .map(|v6| SocketAddr::from((v6.ip(), v6.port())))
}

/// getsockname(2): the local address and the ephemeral port the kernel chose.
pub fn getsockname(t: &mut Tracer, fd: Fd) -> Result<SocketAddr, Errno> {
    let start = t.now_us();
    let res = socket::getsockname::<SockaddrStorage>(fd.0).map(|s| to_socket_addr(&s));
    let addr = res.as_ref().ok().copied().flatten();
    record(t, "getsockname", Some(fd.0), start, res.map(|_| 0), || {
        SyscallArgs::Addr { addr }
    });
    res.and_then(|a| a.ok_or(Errno::EAFNOSUPPORT))
}

/// getpeername(2): the address the socket is connected to, as the kernel has it.
pub fn getpeername(t: &mut Tracer, fd: Fd) -> Result<SocketAddr, Errno> {
    let start = t.now_us();
    let res = socket::getpeername::<SockaddrStorage>(fd.0).map(|s| to_socket_addr(&s));
    let addr = res.as_ref().ok().copied().flatten();
    record(t, "getpeername", Some(fd.0), start, res.map(|_| 0), || {
        SyscallArgs::Addr { addr }
    });
    res.and_then(|a| a.ok_or(Errno::EAFNOSUPPORT))
}

/// getsockopt(2) TCP_INFO: the kernel's view of the connection.
pub fn tcp_info(t: &mut Tracer, fd: Fd) -> Result<TcpInfoView, Errno> {
    // SAFETY: tcp_info is plain old data; all-zero is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    let start = t.now_us();
    // SAFETY: `info` is a valid, writable tcp_info of `len` bytes, and the kernel writes at most `len`
    // bytes and updates `len`; fd is an open socket owned by the engine.
    let rc = unsafe {
        libc::getsockopt(
            fd.0,
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    let res = Errno::result(rc);
    let view = TcpInfoView {
        state: info.tcpi_state,
        rtt_us: info.tcpi_rtt,
        rttvar_us: info.tcpi_rttvar,
        snd_mss: info.tcpi_snd_mss,
        rcv_mss: info.tcpi_rcv_mss,
        snd_cwnd: info.tcpi_snd_cwnd,
        retransmits: info.tcpi_retransmits,
        total_retrans: info.tcpi_total_retrans,
        bytes_acked: info.tcpi_bytes_acked,
        bytes_received: info.tcpi_bytes_received,
        segs_out: info.tcpi_segs_out,
        segs_in: info.tcpi_segs_in,
    };
    record(
        t,
        "getsockopt",
        Some(fd.0),
        start,
        res.map(i64::from),
        || SyscallArgs::SockoptLen {
            level: "SOL_TCP",
            optname: "TCP_INFO",
            len,
        },
    );
    res.map(|_| view)
}

/// sendto(2). With `to = None` the socket must be connected. TCP sends use MSG_NOSIGNAL, as curl does.
pub fn sendto(t: &mut Tracer, fd: Fd, buf: &[u8], to: Option<&SocketAddr>) -> Result<usize, Errno> {
    let start = t.now_us();
    let res = match to {
        Some(addr) => socket::sendto(fd.0, buf, &SockaddrStorage::from(*addr), MsgFlags::empty()),
        None => socket::send(fd.0, buf, MsgFlags::MSG_NOSIGNAL),
    };
    let args = || SyscallArgs::Sendto {
        len: buf.len(),
        flags: if to.is_some() { "0" } else { "MSG_NOSIGNAL" },
        to: to.copied(),
    };
    record(t, "sendto", Some(fd.0), start, res.map(|n| n as i64), args);
    res
}

/// recvfrom(2) into `buf`. Returns the byte count (0 means the peer closed) and the sender's address
/// when `want_from` is set (for UDP).
pub fn recvfrom(
    t: &mut Tracer,
    fd: Fd,
    buf: &mut [u8],
    want_from: bool,
) -> Result<(usize, Option<SocketAddr>), Errno> {
    let start = t.now_us();
    let res = if want_from {
        socket::recvfrom::<SockaddrStorage>(fd.0, buf)
            .map(|(n, from)| (n, from.as_ref().and_then(to_socket_addr)))
    } else {
        socket::recv(fd.0, buf, MsgFlags::empty()).map(|n| (n, None))
    };
    let from = res.as_ref().ok().and_then(|(_, f)| *f);
    let args = || SyscallArgs::Recvfrom {
        len: buf.len(),
        from,
    };
    record(
        t,
        "recvfrom",
        Some(fd.0),
        start,
        res.map(|(n, _)| n as i64),
        args,
    );
    res
}

/// ioctl(2) FIONREAD (Linux's SIOCINQ on a TCP socket): how many received bytes wait unread in
/// the socket's receive queue. Asked just before close(): with bytes left there, Linux's
/// tcp_close() sends RST instead of FIN.
pub fn unread_bytes(t: &mut Tracer, fd: Fd) -> Result<u64, Errno> {
    let mut n: libc::c_int = 0;
    let start = t.now_us();
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`, a valid,
    // writable c_int that outlives the call; fd is an open socket owned by the engine.
    let rc = unsafe { libc::ioctl(fd.0, libc::FIONREAD, &mut n as *mut libc::c_int) };
    let res = Errno::result(rc).map(|_| u64::try_from(n).unwrap_or(0));
    let value = res.as_ref().ok().copied();
    record(t, "ioctl", Some(fd.0), start, res.map(|_| 0), || {
        SyscallArgs::Ioctl {
            request: "FIONREAD",
            value,
        }
    });
    res
}

/// close(2).
pub fn close(t: &mut Tracer, fd: Fd) -> Result<(), Errno> {
    let start = t.now_us();
    let res = nix::unistd::close(fd.0);
    record(t, "close", Some(fd.0), start, res.map(|_| 0), || {
        SyscallArgs::Empty {}
    });
    res
}

/// The local time zone's offset from UTC at `epoch_s`, in seconds (0 if libc cannot tell): what
/// strace's `-tt` time of day used, for wtcurl-check. No syscall: localtime_r reads the zone glibc
/// loaded.
pub fn utc_offset_s(epoch_s: i64) -> i64 {
    let t = epoch_s as libc::time_t;
    // SAFETY: libc::tm is plain old data (integers and a pointer that may be null), so all-zero
    // is a valid value.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    // SAFETY: localtime_r reads `t` and writes only `tm`, both valid for the call's duration.
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok { tm.tm_gmtoff as i64 } else { 0 }
}

/// The path execve(2) was given for this process: AT_EXECFN in the auxiliary vector, which the
/// kernel writes on the new process's stack at execve. No syscall: glibc kept the vector.
pub fn exec_path() -> Option<String> {
    // SAFETY: getauxval has no preconditions and only reads the vector glibc saved at start-up.
    let addr = unsafe { libc::getauxval(libc::AT_EXECFN) };
    if addr == 0 {
        return None;
    }
    // SAFETY: for AT_EXECFN the kernel stores the address of a NUL-terminated string that it
    // copied onto the initial stack; nothing frees or moves it while the process lives.
    let path = unsafe { std::ffi::CStr::from_ptr(addr as *const libc::c_char) };
    Some(path.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;
    use crate::event::Recorder;
    use std::net::{TcpListener, UdpSocket};

    fn syscalls(rec: &Recorder) -> Vec<(&'static str, i64, Option<String>)> {
        rec.events
            .iter()
            .filter_map(|e| match e {
                Event::Syscall(s) => Some((s.name, s.ret, s.errno.clone())),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn tcp_connect_sequence_is_recorded_with_errno() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        {
            let mut t = Tracer::new(&clock, &mut rec);
            let fd = socket(&mut t, &addr, Kind::Stream).unwrap();
            let r = connect(&mut t, fd, &addr);
            assert!(r.is_ok() || r == Err(Errno::EINPROGRESS));
            let ready = poll(&mut t, &[(fd, Interest::Writable)], Some(1000)).unwrap();
            assert!(ready[0].writable);
            assert_eq!(so_error(&mut t, fd).unwrap(), 0);
            let local = getsockname(&mut t, fd).unwrap();
            assert_ne!(local.port(), 0);
            assert_eq!(getpeername(&mut t, fd).unwrap(), addr);
            let info = tcp_info(&mut t, fd).unwrap();
            assert_eq!(info.state, 1, "TCP_ESTABLISHED");
            close(&mut t, fd).unwrap();
        }
        let names: Vec<_> = syscalls(&rec).iter().map(|s| s.0).collect();
        assert_eq!(
            names,
            [
                "socket",
                "connect",
                "poll",
                "getsockopt",
                "getsockname",
                "getpeername",
                "getsockopt",
                "close"
            ]
        );
        let connect_rec = &syscalls(&rec)[1];
        assert_eq!(connect_rec.1, -1);
        assert_eq!(connect_rec.2.as_deref(), Some("EINPROGRESS"));
    }

    #[test]
    fn refused_connect_shows_econnrefused_in_so_error() {
        let addr = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let fd = socket(&mut t, &addr, Kind::Stream).unwrap();
        let _ = connect(&mut t, fd, &addr);
        poll(&mut t, &[(fd, Interest::Writable)], Some(1000)).unwrap();
        assert_eq!(so_error(&mut t, fd).unwrap(), libc::ECONNREFUSED);
        close(&mut t, fd).unwrap();
    }

    #[test]
    fn udp_sendto_and_recvfrom_report_peer() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let saddr = server.local_addr().unwrap();
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        let mut t = Tracer::new(&clock, &mut rec);
        let fd = socket(&mut t, &saddr, Kind::Datagram).unwrap();
        assert_eq!(sendto(&mut t, fd, b"ping", Some(&saddr)).unwrap(), 4);
        let mut buf = [0u8; 16];
        let (n, from) = server.recv_from(&mut buf).unwrap();
        server.send_to(&buf[..n], from).unwrap();
        poll(&mut t, &[(fd, Interest::Readable)], Some(1000)).unwrap();
        let (n, src) = recvfrom(&mut t, fd, &mut buf, true).unwrap();
        assert_eq!(&buf[..n], b"ping");
        assert_eq!(src, Some(saddr));
        close(&mut t, fd).unwrap();
    }

    /// What the DNS transport relies on: connect() on a UDP socket returns 0 at once, and the
    /// ICMP port unreachable that a datagram to a closed port draws makes poll() say POLLERR and
    /// recvfrom() fail with ECONNREFUSED.
    #[test]
    fn udp_connect_to_a_closed_port_reports_econnrefused() {
        let closed = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        {
            let mut t = Tracer::new(&clock, &mut rec);
            let fd = socket(&mut t, &closed, Kind::Datagram).unwrap();
            assert_eq!(connect(&mut t, fd, &closed), Ok(()));
            assert_eq!(sendto(&mut t, fd, b"ping", None), Ok(4));
            let ready = poll(&mut t, &[(fd, Interest::Readable)], Some(5000)).unwrap();
            assert!(ready[0].error && !ready[0].readable, "{ready:?}");
            let mut buf = [0u8; 16];
            assert_eq!(
                recvfrom(&mut t, fd, &mut buf, true),
                Err(Errno::ECONNREFUSED)
            );
            close(&mut t, fd).unwrap();
        }
        let got = syscalls(&rec);
        assert_eq!(got[1], ("connect", 0, None));
        assert_eq!(got[3].1, 1, "poll returned at once, not after 5 s");
        assert_eq!(got[4], ("recvfrom", -1, Some("ECONNREFUSED".into())));
    }

    #[test]
    fn fionread_counts_the_bytes_left_unread() {
        use std::io::Write as _;
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        let fd = {
            let mut t = Tracer::new(&clock, &mut rec);
            let fd = socket(&mut t, &addr, Kind::Stream).unwrap();
            let _ = connect(&mut t, fd, &addr);
            poll(&mut t, &[(fd, Interest::Writable)], Some(1000)).unwrap();
            let (mut server, _) = listener.accept().unwrap();
            assert_eq!(unread_bytes(&mut t, fd).unwrap(), 0);
            server.write_all(&[7u8; 1000]).unwrap();
            poll(&mut t, &[(fd, Interest::Readable)], Some(1000)).unwrap();
            assert_eq!(unread_bytes(&mut t, fd).unwrap(), 1000);
            close(&mut t, fd).unwrap();
            fd
        };
        let last_ioctl = rec.events.iter().rev().find_map(|e| match e {
            Event::Syscall(s) if s.name == "ioctl" => Some(s.clone()),
            _ => None,
        });
        let s = last_ioctl.expect("the ioctl is recorded");
        assert_eq!(s.fd, Some(fd.0));
        assert_eq!(
            serde_json::to_string(&s.args).unwrap(),
            r#"{"request":"FIONREAD","value":1000}"#
        );
    }

    /// An observer that counts events and does not want syscalls.
    struct NoSyscalls(usize);

    impl crate::event::Observer for NoSyscalls {
        fn on_event(&mut self, e: &Event) {
            assert!(
                !matches!(e, Event::Syscall(_)),
                "syscall events were built anyway"
            );
            self.0 += 1;
        }
        fn wants_syscalls(&self) -> bool {
            false
        }
    }

    #[test]
    fn syscall_events_are_skipped_when_nobody_wants_them() {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let clock = FakeClock::new(1);
        let mut obs = NoSyscalls(0);
        {
            let mut t = Tracer::new(&clock, &mut obs);
            let saddr = server.local_addr().unwrap();
            let fd = socket(&mut t, &saddr, Kind::Datagram).unwrap();
            sendto(&mut t, fd, b"x", Some(&saddr)).unwrap();
            close(&mut t, fd).unwrap();
        }
        assert_eq!(obs.0, 1, "only trace_start");
    }
}
