//! The typed event stream: everything the engine did, in order, for renderers and the JSON trace.
//!
//! The engine never formats text. It emits [`Event`]s through a [`Tracer`]; each renderer is an
//! [`Observer`]. Times are microseconds since `trace_start` (see [`crate::clock`]).

use crate::clock::Clock;
use crate::error::{Label, Phase};
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// Version of the JSON trace schema (README documents it).
pub const SCHEMA_VERSION: u32 = 1;

/// One recorded system call.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SyscallRecord {
    /// The kernel's name for the call, as strace prints it.
    pub name: &'static str,
    pub fd: Option<i32>,
    /// The raw return value (-1 on error).
    pub ret: i64,
    /// The errno name on error (`EINPROGRESS`), as strace prints it.
    pub errno: Option<String>,
    pub start_us: u64,
    pub end_us: u64,
    pub args: SyscallArgs,
}

/// A syscall's arguments, typed so that recording costs no maps or strings; serialized as the
/// JSON object the trace documents (keys in alphabetical order, as before).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(untagged)]
pub enum SyscallArgs {
    /// socket(2).
    Socket {
        domain: &'static str,
        protocol: i32,
        #[serde(rename = "type")]
        kind: &'static str,
    },
    /// socket(2) for a netlink socket: the protocol by name, as strace shows it.
    NetlinkSocket {
        domain: &'static str,
        protocol: &'static str,
        #[serde(rename = "type")]
        kind: &'static str,
    },
    /// connect(2), getsockname(2), getpeername(2): the address (null when the kernel gave none).
    Addr { addr: Option<SocketAddr> },
    /// poll(2).
    Poll { fds: Vec<PollArg>, timeout_ms: i64 },
    /// getsockopt(2) SO_ERROR: the pending error and its errno name.
    SoError {
        level: &'static str,
        optname: &'static str,
        value: Option<i32>,
        value_name: Option<String>,
    },
    /// getsockopt(2) of a structure (TCP_INFO): its length.
    SockoptLen {
        len: u32,
        level: &'static str,
        optname: &'static str,
    },
    /// sendto(2); `to` is null on a connected socket.
    Sendto {
        flags: &'static str,
        len: usize,
        to: Option<SocketAddr>,
    },
    /// recvfrom(2): the buffer size and, for UDP, the sender.
    Recvfrom {
        from: Option<SocketAddr>,
        len: usize,
    },
    /// ioctl(2): the request by name (FIONREAD) and the value the kernel wrote.
    Ioctl {
        request: &'static str,
        value: Option<u64>,
    },
    /// Anything else, as JSON.
    Json(serde_json::Value),
    /// No arguments beyond the fd (close).
    Empty {},
}

#[cfg(test)]
impl SyscallArgs {
    /// Test fixtures written as the trace's JSON: the typed arguments of that shape (strings are
    /// leaked, which is fine in a test), or `Json` for any other shape.
    pub fn from_json(v: serde_json::Value) -> Self {
        use serde_json::Value;
        let text = |k: &str| -> &'static str {
            v.get(k)
                .and_then(Value::as_str)
                .map_or("", |s| String::leak(s.to_string()))
        };
        let addr = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
        };
        let num = |k: &str| v.get(k).and_then(Value::as_i64).unwrap_or(0);
        let has = |k: &str| v.get(k).is_some();
        if has("domain") {
            SyscallArgs::Socket {
                domain: text("domain"),
                protocol: num("protocol") as i32,
                kind: text("type"),
            }
        } else if has("fds") {
            let fds = v["fds"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| PollArg {
                    events: p["events"]
                        .as_str()
                        .map_or("", |s| String::leak(s.to_string())),
                    fd: p["fd"].as_i64().unwrap_or(-1) as i32,
                    revents: p["revents"].as_str().unwrap_or("").to_string(),
                })
                .collect();
            SyscallArgs::Poll {
                fds,
                timeout_ms: num("timeout_ms"),
            }
        } else if text("optname") == "SO_ERROR" {
            SyscallArgs::SoError {
                level: text("level"),
                optname: "SO_ERROR",
                value: v.get("value").and_then(Value::as_i64).map(|n| n as i32),
                value_name: v
                    .get("value_name")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            }
        } else if has("optname") {
            SyscallArgs::SockoptLen {
                len: num("len") as u32,
                level: text("level"),
                optname: text("optname"),
            }
        } else if has("request") {
            SyscallArgs::Ioctl {
                request: text("request"),
                value: v.get("value").and_then(Value::as_u64),
            }
        } else if has("flags") {
            SyscallArgs::Sendto {
                flags: text("flags"),
                len: num("len") as usize,
                to: addr("to"),
            }
        } else if has("len")
            && v.as_object()
                .is_some_and(|o| o.len() == 2 && o.contains_key("from"))
        {
            SyscallArgs::Recvfrom {
                from: addr("from"),
                len: num("len") as usize,
            }
        } else if has("addr") && v.as_object().is_some_and(|o| o.len() == 1) {
            SyscallArgs::Addr { addr: addr("addr") }
        } else if v.as_object().is_some_and(|o| o.is_empty()) {
            SyscallArgs::Empty {}
        } else {
            SyscallArgs::Json(v)
        }
    }
}

/// One fd in a poll(2) call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PollArg {
    pub events: &'static str,
    pub fd: i32,
    /// What happened, as `POLLIN|POLLHUP` (empty when nothing did).
    pub revents: String,
}

/// One DNS resource record, decoded.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DnsRecord {
    pub name: String,
    pub rtype: String,
    pub ttl: u32,
    pub data: String,
}

/// The kernel's TCP_INFO, the fields wtcurl explains.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TcpInfoView {
    pub state: u8,
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub snd_mss: u32,
    pub rcv_mss: u32,
    pub snd_cwnd: u32,
    pub retransmits: u8,
    pub total_retrans: u32,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub segs_out: u32,
    pub segs_in: u32,
}

/// What the kernel answered, or why it would not: in JSON, the object or `{"error": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Seen<T> {
    Found(T),
    Failed { error: String },
}

impl<T> Seen<T> {
    pub fn ok(&self) -> Option<&T> {
        match self {
            Seen::Found(t) => Some(t),
            Seen::Failed { .. } => None,
        }
    }
}

impl<T> From<Result<T, String>> for Seen<T> {
    fn from(r: Result<T, String>) -> Self {
        match r {
            Ok(t) => Seen::Found(t),
            Err(error) => Seen::Failed { error },
        }
    }
}

/// The route the kernel picks for a destination (netlink RTM_GETROUTE, as `ip route get`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelRoute {
    /// `unicast`, `local` (delivered inside this host), `unreachable`, ….
    pub kind: String,
    /// `main`, `local`, or the table number.
    pub table: String,
    pub dev: String,
    pub ifindex: u32,
    /// The gateway, when the destination is not on-link.
    pub gateway: Option<IpAddr>,
    /// The source address the route prefers (RTA_PREFSRC).
    pub prefsrc: Option<IpAddr>,
    pub source: String,
}

/// The interface a route leaves by (netlink RTM_GETLINK).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelLink {
    pub name: String,
    pub ifindex: u32,
    pub mtu: u32,
    /// The hardware address, e.g. `02:00:00:00:00:01`, when it has one.
    pub mac: Option<String>,
    /// `loopback`, `ether`, or the ARPHRD number.
    pub link_type: String,
    /// `UP`, `DOWN`, `UNKNOWN` (loopback reports this), ….
    pub operstate: String,
    pub source: String,
}

/// The neighbour (ARP or NDP) entry of the next hop (netlink RTM_GETNEIGH).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KernelNeighbour {
    /// The gateway, or the peer itself when it is on-link.
    pub next_hop: IpAddr,
    /// `ARP` or `NDP`.
    pub protocol: String,
    /// None when the kernel has no entry for it.
    pub mac: Option<String>,
    /// NUD state names, e.g. `REACHABLE`, `STALE|…`; empty when there is no entry.
    pub state: String,
    pub source: String,
}

/// The ephemeral port range and where the kernel's pick falls in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub low: u16,
    pub high: u16,
    pub local_port: u16,
    pub source: String,
}

/// One state the kernel reported for a socket, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SocketStateSeen {
    /// µs after close() returned.
    pub after_close_us: u64,
    /// Linux's name: `FIN_WAIT1`, `FIN_WAIT2`, `TIME_WAIT`, `LAST_ACK`, …, or `gone`.
    pub state: String,
    /// The running timer's remaining time (TIME_WAIT's, say), in ms.
    pub timer_ms: Option<u32>,
}

/// How wtcurl knows whose FIN went first, in the `closed` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FinEvidence {
    /// Observed: a recvfrom() returned 0, the server's FIN had arrived.
    RecvfromEof,
    /// Observed: TCP_INFO before close() said CLOSE_WAIT, the kernel had received the server's FIN.
    CloseWait,
    /// Observed: TCP_INFO just before close() (after close_notify and FIONREAD) said no FIN
    /// had arrived, so close() sent the first one; the server's may have been in flight (then
    /// both FINs cross: a simultaneous close).
    NoFinBeforeClose,
    /// Only TCP_INFO at the end of the transfer (before close_notify) was read: no observer
    /// wanted syscalls, so the check just before close() was skipped. A weaker guess.
    NoFinAtEnd,
}

impl FinEvidence {
    /// The server's FIN was seen before close().
    pub fn server_first(self) -> bool {
        matches!(self, FinEvidence::RecvfromEof | FinEvidence::CloseWait)
    }
}

/// What `--compressed` made of a response body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decoded {
    /// The Content-Encoding that was decoded, as the header lists it (`gzip`, `deflate`, …).
    pub encoding: String,
    /// The bytes the decoding gave: what was written out.
    pub bytes: u64,
}

/// Where a name's addresses came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressSource {
    /// The URL's host was already an IP address.
    Literal,
    /// `--resolve HOST:PORT:ADDR`.
    ResolveFlag,
    /// The hosts file.
    Hosts,
    /// A DNS server.
    Dns,
}

/// Every event of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    TraceStart {
        schema: u32,
        epoch_us: u64,
        pid: u32,
    },
    /// Phase 0: the process itself, as /proc shows it (what the shell did is inferred by renderers).
    Process {
        at_us: u64,
        process: crate::process::ProcessView,
    },
    /// --breaker: the decision taken before any network.
    Breaker {
        at_us: u64,
        origin: String,
        /// `allowed`, `probe` (half-open trial) or `rejected`.
        decision: String,
        /// `closed`, `open` or `half_open`, before the request.
        state: String,
        failures_in_window: u32,
        threshold: u32,
        window_ms: u64,
        /// When rejected: how long until the breaker lets a probe through.
        retry_in_ms: Option<u64>,
        state_file: Option<String>,
        /// Problems found in the state file and repaired (a corrupt file is replaced).
        warnings: Vec<String>,
    },
    /// --breaker: how this run's outcome was counted, and any state change it caused.
    BreakerOutcome {
        at_us: u64,
        origin: String,
        /// `success`, `failure` or `neutral`.
        outcome: String,
        reason: String,
        state_after: String,
        transition: Option<String>,
    },
    /// `--packets`: the capture started (or could not).
    CaptureStart {
        at_us: u64,
        interface: Option<String>,
        hosts: Vec<IpAddr>,
        error: Option<String>,
        hint: Option<String>,
    },
    /// One captured packet (times are the kernel's capture timestamps, relative to trace start).
    Packet {
        at_us: u64,
        /// `out` (sent by this host) or `in`.
        direction: String,
        src: SocketAddr,
        dst: SocketAddr,
        /// TCP flags as tcpdump prints them (`S`, `S.`, `.`, `P.`, `F.`), None for UDP.
        flags: Option<String>,
        payload_len: usize,
        /// What the payload carries (DNS question, TLS ClientHello, HTTP request line, …).
        what: String,
        /// The packet as `tcpdump -n -tt` prints it.
        line: String,
    },
    /// `--packets`: the capture stopped.
    CaptureDone {
        at_us: u64,
        interface: String,
        linktype: String,
        packets: usize,
        dropped: u64,
        dropped_known: bool,
        notes: Vec<String>,
        pcap: Option<String>,
    },
    /// A numbered phase of one hop begins.
    Phase {
        at_us: u64,
        hop: u32,
        phase: Phase,
    },
    /// How the command line's URL was understood.
    Url {
        at_us: u64,
        /// The URL as given, its password masked (`http://bob:****@host/`).
        input: String,
        /// `input` had a password, now masked.
        input_masked: bool,
        url: String,
        scheme: String,
        scheme_inferred: bool,
        host: String,
        /// The host as sent on the wire (punycode for IDN names).
        host_ascii: String,
        port: u16,
        port_inferred: bool,
        target: String,
        basic_auth_user: Option<String>,
    },
    Syscall(SyscallRecord),
    /// The `hosts:` line of nsswitch.conf and what wtcurl does with each source.
    Nsswitch {
        at_us: u64,
        path: String,
        found: bool,
        sources: Vec<String>,
        consulted: Vec<String>,
        not_consulted: Vec<String>,
    },
    /// The hosts file was read for the name.
    HostsLookup {
        at_us: u64,
        path: String,
        name: String,
        addresses: Vec<IpAddr>,
        line: Option<usize>,
    },
    /// resolv.conf as read, and what overrides it.
    ResolvConf {
        at_us: u64,
        path: String,
        found: bool,
        nameservers: Vec<SocketAddr>,
        search: Vec<String>,
        ndots: u8,
        timeout_s: u32,
        attempts: u32,
        rotate: bool,
        overridden_by: Option<String>,
    },
    DnsQuery {
        at_us: u64,
        server: SocketAddr,
        transport: String,
        id: u16,
        qname: String,
        qtype: String,
        flags: String,
        size: usize,
        attempt: u32,
    },
    DnsAnswer {
        at_us: u64,
        server: SocketAddr,
        transport: String,
        id: u16,
        qname: String,
        qtype: String,
        rcode: String,
        flags: String,
        size: usize,
        records: Vec<DnsRecord>,
        cname_chain: Vec<String>,
        elapsed_us: u64,
    },
    /// A DNS message was discarded (wrong id, wrong question, a second answer), or DNS over TCP
    /// failed (the reason starts with `tcp: `). A datagram from another address never gets here:
    /// the UDP socket is connected to the server, so the kernel drops it.
    DnsIgnored {
        at_us: u64,
        server: SocketAddr,
        reason: String,
    },
    /// A wait for DNS answers ended with queries unanswered: poll() timed out, nothing (more)
    /// arrived. What the resolver does next follows resolv.conf's `attempts` and server list.
    DnsTimeout {
        at_us: u64,
        server: SocketAddr,
        transport: String,
        /// This try (1-based) and how many resolv.conf allows (`attempts`).
        attempt: u32,
        attempts: u32,
        /// The queries left without an answer, e.g. `A (id 0x5a09)`.
        unanswered: Vec<String>,
        /// How long wtcurl waited after sending, in ms.
        waited_ms: u64,
        /// resolv.conf's `timeout`, in seconds (at least 1).
        timeout_s: u32,
        /// The wait was cut short by --connect-timeout or -m: no further try follows.
        cut_by_deadline: bool,
        /// `next_server`, `next_attempt` or `give_up` (resolv.conf's servers and attempts used up).
        next: String,
        /// The server asked next, for `next_server` and `next_attempt`.
        next_server: Option<SocketAddr>,
    },
    /// The kernel reported an error on the DNS server's connected UDP socket instead of an
    /// answer: ECONNREFUSED (an ICMP port unreachable came back: nothing listens there),
    /// EHOSTUNREACH or ENETUNREACH. The resolver moves on at once, without waiting for
    /// resolv.conf's timeout (glibc's `send_dg` does the same).
    DnsUnreachable {
        at_us: u64,
        server: SocketAddr,
        transport: String,
        /// This try (1-based) and how many resolv.conf allows (`attempts`).
        attempt: u32,
        attempts: u32,
        /// The call that reported the error: `connect`, `sendto` or `recvfrom`.
        syscall: String,
        /// Its errno: `ECONNREFUSED`, `EHOSTUNREACH`, `ENETUNREACH`.
        errno: String,
        /// The queries sent and left without an answer, e.g. `A (id 0x5a09)` (those not sent
        /// because the error came first are not listed; after a failed connect, none).
        unanswered: Vec<String>,
        /// µs from the first query sent (or from connect, when none was) to the error.
        after_us: u64,
        /// resolv.conf's `timeout`, in seconds (at least 1): the wait that was not needed.
        timeout_s: u32,
        /// `next_server`, `next_attempt` or `give_up`, as for `dns_timeout`.
        next: String,
        next_server: Option<SocketAddr>,
    },
    /// Name resolution finished.
    Resolved {
        at_us: u64,
        host: String,
        source: AddressSource,
        addresses: Vec<IpAddr>,
        elapsed_us: u64,
    },
    /// A connect() started: emitted after connect() and the getsockname() right after it.
    ConnectAttempt {
        at_us: u64,
        fd: i32,
        addr: SocketAddr,
        /// The local address and ephemeral port connect() bound the socket to, before the SYN
        /// went out (getsockname right after connect); null when connect() failed at once.
        local: Option<SocketAddr>,
    },
    ConnectResult {
        at_us: u64,
        fd: i32,
        addr: SocketAddr,
        ok: bool,
        error: Option<String>,
        /// The local address the attempt used (from `connect_attempt`), failed ones too.
        local: Option<SocketAddr>,
        elapsed_us: u64,
    },
    TcpInfo {
        at_us: u64,
        fd: i32,
        when: String,
        info: TcpInfoView,
    },
    /// The TLS handshake begins on a connected socket.
    TlsStart {
        at_us: u64,
        fd: i32,
        /// The SNI sent (None for an IP literal: SNI carries names only).
        server_name: Option<String>,
        versions: Vec<String>,
        alpn_offered: Vec<String>,
        /// What the certificate is checked against: `built-in Mozilla roots (webpki-roots: …)`,
        /// `--cacert FILE`, `CURL_CA_BUNDLE=FILE`, `SSL_CERT_DIR=DIR`, `insecure (-k): …`, ….
        trust: String,
    },
    /// One TLS record sent or received, as seen on the wire (header decoded, payload maybe encrypted).
    TlsRecord {
        at_us: u64,
        /// `sent` or `received`.
        direction: String,
        /// `handshake`, `change_cipher_spec`, `alert`, `application_data`.
        content_type: String,
        /// The record-layer version field, e.g. `TLS 1.2` (TLS 1.3 records say 1.2 there).
        version: String,
        /// Payload length in bytes (the 5-byte header not included).
        length: usize,
        /// The payload is encrypted (its content cannot be read off the wire).
        encrypted: bool,
    },
    /// One handshake message, decoded.
    TlsMessage {
        at_us: u64,
        direction: String,
        /// `ClientHello`, `ServerHello`, `HelloRetryRequest`, `EncryptedExtensions`, `Certificate`, ….
        name: String,
        length: usize,
        /// It travelled encrypted (TLS 1.3 after ServerHello).
        encrypted: bool,
        /// How wtcurl knows: `read from the record` or `from rustls after decryption`.
        source: String,
        /// The decoded fields, per message.
        detail: serde_json::Value,
    },
    TlsAlert {
        at_us: u64,
        direction: String,
        level: String,
        description: String,
    },
    /// One certificate of the chain the server sent (index 0 is the server's own).
    TlsCertificate {
        at_us: u64,
        index: usize,
        subject: String,
        issuer: String,
        sans: Vec<String>,
        not_before: String,
        not_after: String,
        days_left: i64,
        key: String,
        signature: String,
        sha256: String,
    },
    /// The verification verdict.
    TlsVerified {
        at_us: u64,
        ok: bool,
        /// The trust anchor the chain ended at.
        anchor: Option<String>,
        /// The SAN that matched the host.
        matched_name: Option<String>,
        detail: String,
    },
    /// The handshake finished: what was negotiated.
    TlsDone {
        at_us: u64,
        version: String,
        cipher_suite: String,
        key_exchange: Option<String>,
        alpn: Option<String>,
        round_trips: u32,
        session_tickets: u32,
    },
    RequestWritten {
        at_us: u64,
        fd: i32,
        /// The request head as sent (credentials shown masked).
        head: String,
        /// Some value in `head` was masked (Authorization, Proxy-Authorization, Cookie).
        head_masked: bool,
        head_bytes: usize,
        body_bytes: usize,
    },
    /// A 1xx interim response was read and skipped.
    Interim {
        at_us: u64,
        status: u16,
        reason: String,
    },
    /// The first byte of the response arrived.
    FirstByte {
        at_us: u64,
    },
    ResponseHead {
        at_us: u64,
        version: String,
        status: u16,
        reason: String,
        headers: Vec<(String, String)>,
        head_bytes: usize,
        /// How the body is delimited: `none`, `content-length`, `chunked` or `close`.
        framing: String,
        content_length: Option<u64>,
        encoding: Option<String>,
    },
    BodyDone {
        at_us: u64,
        /// Bytes read off the connection for the body, framing (chunk sizes, trailers) included.
        wire_bytes: u64,
        /// The body without its framing, still content-encoded (curl's size_download).
        body_bytes: u64,
        recv_calls: u64,
        chunks: u64,
        trailers: Vec<(String, String)>,
        /// `--compressed` decoded the body: the Content-Encoding and the bytes it gave. None when
        /// the body passed through as it came.
        decoded: Option<Decoded>,
        /// The body went to the output (stdout or -o); false when it was read and dropped (a
        /// redirect being followed).
        written: bool,
    },
    Redirect {
        at_us: u64,
        hop: u32,
        status: u16,
        location: String,
        to: String,
        method: String,
        followed: bool,
    },
    Closed {
        at_us: u64,
        fd: i32,
        /// `server` when the server's FIN arrived before close() (EOF read, or CLOSE_WAIT),
        /// `client` when no FIN from the server had arrived at close(), so wtcurl's close() sent
        /// the first FIN (the server's may have crossed it), `none` when close() sent RST (bytes
        /// left unread) before any FIN.
        first_fin: String,
        /// How `first_fin` is known.
        fin_evidence: FinEvidence,
        /// Bytes waiting unread in the receive queue just before close() (ioctl FIONREAD); None
        /// when the kernel would not say. More than 0 means Linux sends RST, not FIN.
        unread_bytes: Option<u64>,
        /// The response body was not read to its end (-f on an error status stops before it):
        /// whatever more of it arrives after close() is answered with RST.
        body_unread: bool,
    },
    /// `--kernel-view`, after connect: the kernel's own view of the path to the peer, each part
    /// with where it was read from. A part the kernel would not give is None, with its error.
    KernelPath {
        at_us: u64,
        fd: i32,
        local: SocketAddr,
        peer: SocketAddr,
        route: Box<Seen<KernelRoute>>,
        /// None when there is no route to look further from.
        link: Option<Box<Seen<KernelLink>>>,
        /// None when the route needs no neighbour (local delivery, or no route).
        neighbour: Option<Box<Seen<KernelNeighbour>>>,
        port_range: Box<Seen<PortRange>>,
        /// Netlink and /proc syscalls made to read all this (each is in the trace).
        syscalls: u32,
    },
    /// `--kernel-view`, after close: what the kernel showed of the connection's 4-tuple, polled
    /// until TIME_WAIT or gone (bounded), on wtcurl's side and, if visible here, the server's.
    KernelClose {
        at_us: u64,
        fd: i32,
        local: SocketAddr,
        peer: SocketAddr,
        /// wtcurl's socket, as the kernel reported it at each poll (state changes only).
        client: Vec<SocketStateSeen>,
        /// The server's socket (the reversed 4-tuple), when it lives in this network namespace.
        server: Vec<SocketStateSeen>,
        /// How the 4-tuple was asked for.
        source: String,
        error: Option<String>,
    },
    Error {
        at_us: u64,
        phase: Phase,
        label: Label,
        message: String,
        hint: Option<String>,
        exit_code: u8,
    },
    Done {
        at_us: u64,
        exit_code: u8,
    },
}

impl Event {
    /// The time an event happened (the end, for syscalls).
    pub fn at_us(&self) -> u64 {
        use Event::*;
        match self {
            TraceStart { .. } => 0,
            Syscall(s) => s.end_us,
            Phase { at_us, .. }
            | Process { at_us, .. }
            | Breaker { at_us, .. }
            | CaptureStart { at_us, .. }
            | Packet { at_us, .. }
            | CaptureDone { at_us, .. }
            | BreakerOutcome { at_us, .. }
            | Url { at_us, .. }
            | Nsswitch { at_us, .. }
            | HostsLookup { at_us, .. }
            | ResolvConf { at_us, .. }
            | DnsQuery { at_us, .. }
            | DnsAnswer { at_us, .. }
            | DnsIgnored { at_us, .. }
            | DnsTimeout { at_us, .. }
            | DnsUnreachable { at_us, .. }
            | Resolved { at_us, .. }
            | ConnectAttempt { at_us, .. }
            | ConnectResult { at_us, .. }
            | TcpInfo { at_us, .. }
            | TlsStart { at_us, .. }
            | TlsRecord { at_us, .. }
            | TlsMessage { at_us, .. }
            | TlsAlert { at_us, .. }
            | TlsCertificate { at_us, .. }
            | TlsVerified { at_us, .. }
            | TlsDone { at_us, .. }
            | RequestWritten { at_us, .. }
            | Interim { at_us, .. }
            | FirstByte { at_us }
            | ResponseHead { at_us, .. }
            | BodyDone { at_us, .. }
            | Redirect { at_us, .. }
            | Closed { at_us, .. }
            | KernelPath { at_us, .. }
            | KernelClose { at_us, .. }
            | Error { at_us, .. }
            | Done { at_us, .. } => *at_us,
        }
    }
}

/// Anything that consumes the event stream: renderers, the JSON trace, metrics, tests.
pub trait Observer {
    fn on_event(&mut self, event: &Event);
    /// Whether this observer looks at syscall events. When no observer does, the syscall layer
    /// skips building them (the body loop of a large download makes tens of thousands).
    fn wants_syscalls(&self) -> bool {
        true
    }
}

/// Records every event; for tests and snapshot fixtures.
#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Event>,
}

impl Observer for Recorder {
    fn on_event(&mut self, event: &Event) {
        self.events.push(event.clone());
    }
}

/// Fans one event out to several observers.
#[derive(Default)]
pub struct Fanout<'a> {
    pub observers: Vec<&'a mut dyn Observer>,
}

impl Observer for Fanout<'_> {
    fn on_event(&mut self, event: &Event) {
        for o in self.observers.iter_mut() {
            o.on_event(event);
        }
    }
    fn wants_syscalls(&self) -> bool {
        self.observers.iter().any(|o| o.wants_syscalls())
    }
}

/// The engine's handle on time and on the event stream. Every module that acts takes `&mut Tracer`.
pub struct Tracer<'a> {
    clock: &'a dyn Clock,
    observer: &'a mut dyn Observer,
    wants_syscalls: bool,
}

impl<'a> Tracer<'a> {
    /// Starts a trace: emits `trace_start` first.
    pub fn new(clock: &'a dyn Clock, observer: &'a mut dyn Observer) -> Self {
        let wants_syscalls = observer.wants_syscalls();
        let mut t = Tracer {
            clock,
            observer,
            wants_syscalls,
        };
        let ev = Event::TraceStart {
            schema: SCHEMA_VERSION,
            epoch_us: clock.epoch_us(),
            pid: std::process::id(),
        };
        t.emit(ev);
        t
    }

    pub fn now_us(&self) -> u64 {
        self.clock.now_us()
    }

    /// Whether any observer wants syscall events (decided once, at the start).
    pub fn wants_syscalls(&self) -> bool {
        self.wants_syscalls
    }

    pub fn emit(&mut self, event: Event) {
        self.observer.on_event(&event);
    }

    /// Emits an error event for `err`.
    pub fn emit_error(&mut self, err: &crate::error::Error) {
        let ev = Event::Error {
            at_us: self.now_us(),
            phase: err.phase,
            label: err.label,
            message: err.message.clone(),
            hint: err.hint.clone(),
            exit_code: err.exit_code(),
        };
        self.emit(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FakeClock;

    #[test]
    fn trace_starts_with_trace_start_and_serializes_with_type_tag() {
        let clock = FakeClock::new(1);
        let mut rec = Recorder::default();
        {
            let mut t = Tracer::new(&clock, &mut rec);
            let at = t.now_us();
            t.emit(Event::FirstByte { at_us: at });
        }
        let first = serde_json::to_value(&rec.events[0]).unwrap();
        assert_eq!(first["type"], "trace_start");
        assert_eq!(first["schema"], 1);
        let second = serde_json::to_string(&rec.events[1]).unwrap();
        assert_eq!(second, r#"{"type":"first_byte","at_us":1}"#);
    }

    #[test]
    fn syscall_serializes_flat() {
        let ev = Event::Syscall(SyscallRecord {
            name: "connect",
            fd: Some(5),
            ret: -1,
            errno: Some("EINPROGRESS".into()),
            start_us: 10,
            end_us: 12,
            args: SyscallArgs::Addr {
                addr: Some("127.0.0.1:80".parse().unwrap()),
            },
        });
        assert_eq!(
            serde_json::to_string(&ev).unwrap(),
            r#"{"type":"syscall","name":"connect","fd":5,"ret":-1,"errno":"EINPROGRESS","start_us":10,"end_us":12,"args":{"addr":"127.0.0.1:80"}}"#
        );
    }
}
