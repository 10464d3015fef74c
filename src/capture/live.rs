//! The live capture: an `AF_PACKET` socket bound by pnet_datalink and read on a background thread.
//!
//! pnet_datalink finds the interface and binds the socket to it (its `channel`, given our socket
//! through `Config::socket_fd`). The thread reads that socket with `recvmsg` rather than pnet's
//! `DataLinkReceiver::next`, because `next` discards the `sockaddr_ll` and the control messages:
//! the packet type (needed to keep each loopback packet once, as libpcap does: `lo` shows every
//! packet twice, as PACKET_OUTGOING and again as PACKET_HOST), the kernel's receive timestamp and
//! the socket's drop counter. All of it is safe code: nix wraps the calls.

use super::decode::{self, Decoded, Linktype, Proto, TcpFlags};
use super::{CaptureError, CaptureReport, Direction, Packet};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    self, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockProtocol, SockType,
    SockaddrStorage, sockopt,
};
use std::collections::HashMap;
use std::io::IoSliceMut;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, IntoRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `sll_pkttype` of a packet this host sent.
const PACKET_OUTGOING: u8 = 4;
const ARPHRD_ETHER: u16 = 1;
const ARPHRD_LOOPBACK: u16 = 772;
const ARPHRD_NONE: u16 = 0xFFFE;
/// Large enough for a 64 KiB GSO super-frame on `lo` or a veth.
const READ_BUF: usize = 256 * 1024;
/// How long the thread blocks in poll before looking at the stop flag.
const POLL_MS: u16 = 20;
/// Frames read in one go before looking at the stop flag again (bounds `stop` under a flood).
const DRAIN_MAX: usize = 4096;
/// Memory bounds for the kept frames.
const MAX_PACKETS: usize = 200_000;
const MAX_BYTES: usize = 256 << 20;
/// Asked for with SO_RCVBUFFORCE (root) or SO_RCVBUF (capped by net.core.rmem_max).
const RCVBUF: usize = 8 << 20;

/// What to capture.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CaptureSpec {
    /// The interface (`lo`, `eth0`, or `any` for all of them). `None`: the one the route to the
    /// first of `hosts` goes through (`lo` for 127.0.0.0/8, ::1 and this host's own addresses);
    /// `any` if the hosts are reached through different interfaces.
    pub interface: Option<String>,
    /// The remote addresses (DNS servers, web server) whose packets are kept.
    pub hosts: Vec<IpAddr>,
}

/// The transport of a flow given to [`Capture::add_flow`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowProto {
    Tcp,
    Udp,
}

#[derive(Clone, Debug)]
struct Flow {
    proto: FlowProto,
    local: SocketAddr,
    remote: SocketAddr,
    /// Sequence number just past each side's FIN, once seen.
    fin_local: Option<u32>,
    fin_remote: Option<u32>,
    fin_local_acked: bool,
    fin_remote_acked: bool,
    reset: bool,
    /// The connect attempt failed, timed out or was abandoned: no close handshake will follow.
    ended: bool,
}

impl Flow {
    fn closed(&self) -> bool {
        self.ended || self.reset || (self.fin_local_acked && self.fin_remote_acked)
    }

    /// Follows the close handshake so that `stop` can return as soon as it is complete.
    fn observe(&mut self, d: &Decoded) {
        let Proto::Tcp(t) = &d.proto else { return };
        let from_local = d.src == self.local;
        if t.flags.has(TcpFlags::RST) {
            self.reset = true;
        }
        if t.flags.has(TcpFlags::FIN) {
            let end = t.seq.wrapping_add(t.payload_len as u32).wrapping_add(1);
            if from_local {
                self.fin_local = Some(end);
            } else {
                self.fin_remote = Some(end);
            }
        }
        if t.flags.has(TcpFlags::ACK) {
            let acks = |fin: Option<u32>| fin.is_some_and(|e| (t.ack.wrapping_sub(e) as i32) >= 0);
            if from_local && acks(self.fin_remote) {
                self.fin_remote_acked = true;
            }
            if !from_local && acks(self.fin_local) {
                self.fin_local_acked = true;
            }
        }
    }
}

#[derive(Default)]
struct Filter {
    hosts: Vec<IpAddr>,
    flows: Vec<Flow>,
}

impl Filter {
    fn flow_of(&mut self, d: &Decoded) -> Option<&mut Flow> {
        let proto = match d.proto {
            Proto::Tcp(_) => FlowProto::Tcp,
            Proto::Udp { .. } => FlowProto::Udp,
            Proto::Other { .. } | Proto::Arp { .. } => return None,
        };
        self.flows.iter_mut().find(|f| {
            f.proto == proto
                && ((d.src == f.local && d.dst == f.remote)
                    || (d.src == f.remote && d.dst == f.local))
        })
    }

    /// Kept while capturing: to or from a host, or on a registered flow.
    fn keeps(&mut self, d: &Decoded) -> bool {
        if let Some(f) = self.flow_of(d) {
            f.observe(d);
            return true;
        }
        self.hosts.contains(&d.src.ip()) || self.hosts.contains(&d.dst.ip())
    }
}

struct Shared {
    stop: AtomicBool,
    filter: Mutex<Filter>,
}

impl Shared {
    fn filter(&self) -> MutexGuard<'_, Filter> {
        // A panic while holding the lock leaves plain data behind: keep using it.
        self.filter.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One kept frame, before directions are assigned.
struct Captured {
    ts_us: u64,
    pkttype: u8,
    hatype: u16,
    raw: Vec<u8>,
    orig_len: u32,
    decoded: Decoded,
}

#[derive(Default)]
struct ThreadOut {
    packets: Vec<Captured>,
    /// The socket's drop counter (SO_RXQ_OVFL), as of the last frame read.
    drops: u64,
    notes: Vec<String>,
}

/// Where the socket is bound.
#[derive(Clone, Copy, Debug)]
enum Bound {
    Any,
    Iface { index: u32 },
}

/// A running capture; [`Capture::stop`] ends it.
pub struct Capture {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<ThreadOut>>,
    interface: String,
    linktype: Linktype,
    drops_known: bool,
    notes: Mutex<Vec<String>>,
    /// The interfaces as they were at start: enumerating them (getifaddrs and netlink) costs about
    /// 400 µs here, too much to repeat for each resolved address between DNS and connect.
    ifaces: Vec<pnet_datalink::NetworkInterface>,
}

fn os_err(step: &str, e: impl std::fmt::Display) -> CaptureError {
    CaptureError::Other(format!("{step}: {e}"))
}

impl Capture {
    /// Opens the capture socket and starts the reader thread. Packets sent after this returns are
    /// captured.
    pub fn start(spec: &CaptureSpec) -> Result<Capture, CaptureError> {
        let ifaces = pnet_datalink::interfaces();
        let name = match &spec.interface {
            Some(n) => n.clone(),
            None => {
                let mut names: Vec<String> = Vec::new();
                for ip in &spec.hosts {
                    let n = route_interface(*ip, &ifaces).ok_or_else(|| {
                        CaptureError::NoInterface(format!("no interface routes to {ip}"))
                    })?;
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                match names.as_slice() {
                    [] => {
                        return Err(CaptureError::NoInterface(
                            "no interface given and no address to find one from".into(),
                        ));
                    }
                    [one] => one.clone(),
                    _ => "any".into(),
                }
            }
        };
        let iface =
            if name == "any" {
                None
            } else {
                Some(ifaces.iter().find(|i| i.name == name).ok_or_else(|| {
                    CaptureError::NoInterface(format!("no interface named {name:?}"))
                })?)
            };
        let hatype = iface.and_then(|i| hardware_type(&i.name));
        // Ethernet-framed interfaces (and lo) are captured whole; IP-only ones as they are; the
        // rest, and `any`, in Linux cooked form: the kernel strips the link header and the
        // sockaddr_ll gives what the 16-byte SLL header needs.
        let (sock_type, linktype) = match (iface, hatype) {
            (Some(_), Some(ARPHRD_ETHER | ARPHRD_LOOPBACK)) => (SockType::Raw, Linktype::Ethernet),
            (Some(_), Some(ARPHRD_NONE)) => (SockType::Raw, Linktype::RawIp),
            _ => (SockType::Datagram, Linktype::LinuxSll),
        };
        let fd = socket::socket(
            AddressFamily::Packet,
            sock_type,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            SockProtocol::EthAll,
        )
        .map_err(|e| match e {
            Errno::EPERM | Errno::EACCES => CaptureError::NoPermission {
                errno: format!("{e:?}"),
            },
            e => os_err("socket(AF_PACKET)", e),
        })?;
        socket::setsockopt(&fd, sockopt::ReceiveTimestampns, &true)
            .map_err(|e| os_err("setsockopt(SO_TIMESTAMPNS)", e))?;
        let drops_known = socket::setsockopt(&fd, sockopt::RxqOvfl, &1).is_ok();
        if socket::setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
            // Best effort: the default buffer works, it just drops sooner under load.
            let _ = socket::setsockopt(&fd, sockopt::RcvBuf, &RCVBUF);
        }
        let bound = match iface {
            None => Bound::Any,
            Some(i) => {
                // pnet binds the socket (sockaddr_ll, ETH_P_ALL) and sets O_NONBLOCK. It gets a
                // duplicate, which it owns and closes when the channel is dropped right here;
                // the binding stays with the socket.
                let dup = fd.try_clone().map_err(|e| os_err("dup", e))?;
                // Not promiscuous: only this host's own traffic is wanted. (No read timeout:
                // pnet's receiver is not used; the thread polls with its own.)
                let config = pnet_datalink::Config {
                    promiscuous: false,
                    socket_fd: Some(dup.into_raw_fd()),
                    ..Default::default()
                };
                match pnet_datalink::channel(i, config) {
                    Ok(_channel) => {}
                    Err(e) if matches!(e.raw_os_error(), Some(libc::EPERM | libc::EACCES)) => {
                        return Err(CaptureError::NoPermission {
                            errno: e.to_string(),
                        });
                    }
                    Err(e) => return Err(os_err(&format!("bind to {}", i.name), e)),
                }
                Bound::Iface { index: i.index }
            }
        };
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            filter: Mutex::new(Filter {
                hosts: spec.hosts.clone(),
                flows: Vec::new(),
            }),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("wtcurl-capture".into())
            .spawn(move || read_loop(fd, &thread_shared, bound, linktype))
            .map_err(|e| os_err("spawning the capture thread", e))?;
        Ok(Capture {
            shared,
            thread: Some(thread),
            interface: name,
            linktype,
            drops_known,
            notes: Mutex::new(Vec::new()),
            ifaces,
        })
    }

    /// The interface captured on.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// Keeps the packets to and from `ip` from now on (an address learnt from DNS). Notes it in
    /// the report if its route does not go through the captured interface.
    pub fn add_host(&self, ip: IpAddr) {
        {
            let mut f = self.shared.filter();
            if f.hosts.contains(&ip) {
                return;
            }
            f.hosts.push(ip);
        }
        if self.interface != "any"
            && let Some(via) = route_interface(ip, &self.ifaces)
            && via != self.interface
        {
            self.notes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(format!(
                    "{ip} is reached through {via}, not {}: its packets are not captured",
                    self.interface
                ));
        }
    }

    /// Registers one of wtcurl's own flows (known once connect() has bound the socket). Once a
    /// flow of a transport is registered, the report keeps only registered flows of that
    /// transport (other connections to the same hosts are left out), and `stop` returns as soon
    /// as every registered TCP flow has closed.
    pub fn add_flow(&self, proto: FlowProto, local: SocketAddr, remote: SocketAddr) {
        let mut f = self.shared.filter();
        if !f
            .flows
            .iter()
            .any(|x| x.proto == proto && x.local == local && x.remote == remote)
        {
            f.flows.push(Flow {
                proto,
                local,
                remote,
                fin_local: None,
                fin_remote: None,
                fin_local_acked: false,
                fin_remote_acked: false,
                reset: false,
                ended: false,
            });
        }
    }

    /// Marks a registered flow as over without a close handshake (its connect attempt failed,
    /// timed out or was abandoned), so that `stop` does not wait for its FINs. Its packets stay
    /// in the report.
    pub fn end_flow(&self, proto: FlowProto, local: SocketAddr, remote: SocketAddr) {
        let mut f = self.shared.filter();
        for x in f
            .flows
            .iter_mut()
            .filter(|x| x.proto == proto && x.local == local && x.remote == remote)
        {
            x.ended = true;
        }
    }

    /// Waits up to `linger` for the last packets (returning early once every registered TCP flow
    /// has exchanged and acknowledged both FINs, or was reset), stops the reader and returns what
    /// was captured. Bounded: `linger` plus one poll interval and one bounded drain.
    pub fn stop(mut self, linger: Duration) -> CaptureReport {
        let deadline = Instant::now() + linger;
        loop {
            let all_closed = {
                let f = self.shared.filter();
                let mut tcp = f.flows.iter().filter(|x| x.proto == FlowProto::Tcp);
                let mut any = false;
                let all = tcp.all(|x| {
                    any = true;
                    x.closed()
                });
                any && all
            };
            let now = Instant::now();
            if all_closed || now >= deadline {
                break;
            }
            std::thread::sleep((deadline - now).min(Duration::from_millis(5)));
        }
        let out = self.finish();
        let filter = std::mem::take(&mut *self.shared.filter());
        let mut notes = std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()));
        notes.extend(out.notes);
        let packets = assemble(out.packets, &filter.flows);
        CaptureReport {
            packets,
            dropped: out.drops,
            dropped_known: self.drops_known,
            interface: self.interface.clone(),
            linktype: self.linktype,
            notes,
        }
    }

    fn finish(&mut self) -> ThreadOut {
        self.shared.stop.store(true, Ordering::Release);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(out)) => out,
            Some(Err(_)) => ThreadOut {
                notes: vec!["the capture thread panicked: its packets are lost".into()],
                ..ThreadOut::default()
            },
            None => ThreadOut::default(),
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if self.thread.is_some() {
            self.finish();
        }
    }
}

/// The interface the kernel would send a packet to `ip` through.
pub(crate) fn route_interface(
    ip: IpAddr,
    ifaces: &[pnet_datalink::NetworkInterface],
) -> Option<String> {
    let loopback = || {
        ifaces
            .iter()
            .find(|i| i.is_loopback())
            .map(|i| i.name.clone())
    };
    // This host's own addresses are reached through lo, whatever interface holds them.
    if ip.is_loopback() || ifaces.iter().any(|i| i.ips.iter().any(|n| n.ip() == ip)) {
        return loopback();
    }
    // The kernel's routing table, read from /proc (no socket, so nothing outside the trace):
    // the longest matching prefix, then the lowest metric.
    let path = if ip.is_ipv4() {
        "/proc/net/route"
    } else {
        "/proc/net/ipv6_route"
    };
    let text = std::fs::read_to_string(path).ok()?;
    let name = best_route(ip, &text)?;
    ifaces
        .iter()
        .find(|i| i.name == name)
        .map(|i| i.name.clone())
        .or(Some(name))
}

/// The interface of the longest-prefix route to `ip` in /proc/net/route or /proc/net/ipv6_route text.
pub(crate) fn best_route(ip: IpAddr, table: &str) -> Option<String> {
    let mut best: Option<(u32, u32, String)> = None; // (prefix length, metric, interface)
    for line in table.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (prefix, metric, iface, matches) = match ip {
            IpAddr::V4(v4) => {
                // Iface Destination Gateway Flags RefCnt Use Metric Mask …; hex in host (little-endian) order.
                if f.len() < 8 || f[0] == "Iface" {
                    continue;
                }
                let (Ok(dest), Ok(mask), Ok(metric)) = (
                    u32::from_str_radix(f[1], 16),
                    u32::from_str_radix(f[7], 16),
                    f[6].parse::<u32>(),
                ) else {
                    continue;
                };
                // The kernel prints the network-order word as a host integer.
                let (dest, mask) = (
                    u32::from_be_bytes(dest.to_ne_bytes()),
                    u32::from_be_bytes(mask.to_ne_bytes()),
                );
                let addr = u32::from(v4);
                (mask.count_ones(), metric, f[0], addr & mask == dest & mask)
            }
            IpAddr::V6(v6) => {
                // dest prefix_len src src_len next_hop metric refcnt use flags iface
                if f.len() < 10 {
                    continue;
                }
                let (Ok(dest), Ok(len), Ok(metric)) = (
                    u128::from_str_radix(f[0], 16),
                    u32::from_str_radix(f[1], 16),
                    u32::from_str_radix(f[5], 16),
                ) else {
                    continue;
                };
                if len > 128 {
                    continue;
                }
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                (len, metric, f[9], u128::from(v6) & mask == dest & mask)
            }
        };
        if !matches {
            continue;
        }
        let better = best
            .as_ref()
            .is_none_or(|(p, m, _)| prefix > *p || (prefix == *p && metric < *m));
        if better {
            best = Some((prefix, metric, iface.to_string()));
        }
    }
    best.map(|(_, _, i)| i)
}

/// The ARPHRD_* type of an interface, from its AF_PACKET entry in getifaddrs.
fn hardware_type(name: &str) -> Option<u16> {
    nix::ifaddrs::getifaddrs().ok()?.find_map(|a| {
        if a.interface_name != name {
            return None;
        }
        a.address?.as_link_addr().map(|l| l.hatype())
    })
}

/// The reader thread: poll, drain, decode, filter; until `stop` is set.
fn read_loop(fd: OwnedFd, shared: &Shared, bound: Bound, linktype: Linktype) -> ThreadOut {
    let mut out = ThreadOut::default();
    let mut buf = vec![0u8; READ_BUF];
    let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec, u32);
    let mut kept_bytes = 0usize;
    let mut over_limit = 0u64;
    loop {
        let stopping = shared.stop.load(Ordering::Acquire);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(
            &mut fds,
            PollTimeout::from(if stopping { 0 } else { POLL_MS }),
        ) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                out.notes.push(format!("capture stopped early: poll: {e}"));
                break;
            }
        }
        for _ in 0..DRAIN_MAX {
            let (len, addr, ts, drops) = {
                let mut iov = [IoSliceMut::new(&mut buf)];
                let r = socket::recvmsg::<SockaddrStorage>(
                    fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
                );
                let msg = match r {
                    Ok(m) => m,
                    Err(Errno::EAGAIN) => break,
                    Err(Errno::EINTR) => continue,
                    Err(e) => {
                        out.notes
                            .push(format!("capture stopped early: recvmsg: {e}"));
                        return finish_out(out, over_limit);
                    }
                };
                let mut ts = None;
                let mut drops = None;
                if let Ok(cmsgs) = msg.cmsgs() {
                    for c in cmsgs {
                        match c {
                            ControlMessageOwned::ScmTimestampns(t) => {
                                ts = Some(t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000)
                            }
                            ControlMessageOwned::RxqOvfl(n) => drops = Some(u64::from(n)),
                            _ => {}
                        }
                    }
                }
                (msg.bytes, msg.address, ts, drops)
            };
            if let Some(d) = drops {
                out.drops = out.drops.max(d);
            }
            let Some(link) = addr.as_ref().and_then(|a| a.as_link_addr()) else {
                continue;
            };
            if let Bound::Iface { index } = bound
                && link.ifindex() != index as usize
            {
                // Read before the bind took effect, from another interface.
                continue;
            }
            // lo hands every packet to packet sockets twice: as it leaves (PACKET_OUTGOING) and
            // as it arrives (PACKET_HOST). libpcap keeps the arrival only; so do we.
            if link.hatype() == ARPHRD_LOOPBACK && link.pkttype() == PACKET_OUTGOING {
                continue;
            }
            let captured = &buf[..len.min(buf.len())];
            let frame = if linktype == Linktype::LinuxSll {
                sll_frame(link, captured)
            } else {
                captured.to_vec()
            };
            let Some(decoded) = decode::decode(linktype, &frame) else {
                continue;
            };
            if !shared.filter().keeps(&decoded) {
                continue;
            }
            if out.packets.len() >= MAX_PACKETS || kept_bytes + frame.len() > MAX_BYTES {
                over_limit += 1;
                continue;
            }
            kept_bytes += frame.len();
            let orig_len = (len + frame.len() - captured.len()) as u32;
            let ts_us = ts.unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_micros() as u64)
                    .unwrap_or(0)
            });
            out.packets.push(Captured {
                ts_us,
                pkttype: link.pkttype(),
                hatype: link.hatype(),
                raw: frame,
                orig_len,
                decoded,
            });
        }
        if stopping {
            break;
        }
    }
    finish_out(out, over_limit)
}

fn finish_out(mut out: ThreadOut, over_limit: u64) -> ThreadOut {
    if over_limit > 0 {
        out.notes.push(format!(
            "{over_limit} matching packets were not kept: the capture holds at most \
             {MAX_PACKETS} packets and {} MiB",
            MAX_BYTES >> 20
        ));
    }
    out
}

/// The Linux cooked header (LINKTYPE_LINUX_SLL) followed by the network-layer packet.
fn sll_frame(link: &nix::sys::socket::LinkAddr, packet: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(16 + packet.len());
    f.extend_from_slice(&u16::from(link.pkttype()).to_be_bytes());
    f.extend_from_slice(&link.hatype().to_be_bytes());
    let halen = link.halen().min(8);
    f.extend_from_slice(&(halen as u16).to_be_bytes());
    let mut addr = [0u8; 8];
    if let Some(mac) = link.addr() {
        let n = halen.min(6);
        addr[..n].copy_from_slice(&mac[..n]);
    }
    f.extend_from_slice(&addr);
    // sll_protocol is stored in network byte order.
    f.extend_from_slice(&u16::from_be(link.protocol()).to_be_bytes());
    f.extend_from_slice(packet);
    f
}

/// Applies the flow filter, assigns directions, names stream continuations.
fn assemble(captured: Vec<Captured>, flows: &[Flow]) -> Vec<Packet> {
    let narrowed = |proto: FlowProto| flows.iter().any(|f| f.proto == proto);
    let (tcp_narrow, udp_narrow) = (narrowed(FlowProto::Tcp), narrowed(FlowProto::Udp));
    let on_flow = |d: &Decoded, proto: FlowProto| {
        flows.iter().find(|f| {
            f.proto == proto
                && ((d.src == f.local && d.dst == f.remote)
                    || (d.src == f.remote && d.dst == f.local))
        })
    };
    let kept: Vec<Captured> = captured
        .into_iter()
        .filter(|c| match c.decoded.proto {
            Proto::Tcp(_) => !tcp_narrow || on_flow(&c.decoded, FlowProto::Tcp).is_some(),
            Proto::Udp { .. } => !udp_narrow || on_flow(&c.decoded, FlowProto::Udp).is_some(),
            Proto::Other { .. } | Proto::Arp { .. } => true,
        })
        .collect();

    // On lo both ends are this host and the packet type says nothing: the side that opened the
    // conversation (sent the first SYN, or else the first packet) is wtcurl's.
    let conv = |d: &Decoded| {
        let tcp = matches!(d.proto, Proto::Tcp(_));
        if d.src <= d.dst {
            (tcp, d.src, d.dst)
        } else {
            (tcp, d.dst, d.src)
        }
    };
    let mut opener: HashMap<(bool, SocketAddr, SocketAddr), (SocketAddr, bool)> = HashMap::new();
    for c in &kept {
        let syn = c
            .decoded
            .tcp()
            .is_some_and(|t| t.flags.has(TcpFlags::SYN) && !t.flags.has(TcpFlags::ACK));
        let e = opener
            .entry(conv(&c.decoded))
            .or_insert((c.decoded.src, syn));
        if syn && !e.1 {
            *e = (c.decoded.src, true);
        }
    }
    let mut packets: Vec<Packet> = kept
        .into_iter()
        .map(|c| {
            let proto = match c.decoded.proto {
                Proto::Tcp(_) => Some(FlowProto::Tcp),
                Proto::Udp { .. } => Some(FlowProto::Udp),
                Proto::Other { .. } | Proto::Arp { .. } => None,
            };
            let direction = if let Some(f) = proto.and_then(|p| on_flow(&c.decoded, p)) {
                if c.decoded.src == f.local {
                    Direction::Out
                } else {
                    Direction::In
                }
            } else if c.hatype != ARPHRD_LOOPBACK {
                if c.pkttype == PACKET_OUTGOING {
                    Direction::Out
                } else {
                    Direction::In
                }
            } else if opener.get(&conv(&c.decoded)).map(|o| o.0) == Some(c.decoded.src) {
                Direction::Out
            } else {
                Direction::In
            };
            Packet {
                ts_us_epoch: c.ts_us,
                direction,
                raw: c.raw,
                orig_len: c.orig_len,
                decoded: c.decoded,
            }
        })
        .collect();
    decode::annotate_streams(&mut packets);
    packets
}
