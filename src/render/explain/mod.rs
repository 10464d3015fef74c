//! `--explain`: the numbered, timed, human story of the run, streamed to stderr as events arrive.

use crate::error::Phase;
use crate::event::{Event, FinEvidence, Observer};
use crate::render::fmt::{Escaped, Maybe, StackText, SyscallLine, Thousands, Us};
use crate::render::palette::Palette;
use crate::render::waterfall::{self, HopTimes};
use std::fmt;
use std::io::Write;

mod dns;
mod kernel;
mod packets;
mod process;
mod syscall_ladder;
mod tls;

/// Linux's TCP_ESTABLISHED state number (include/net/tcp_states.h).
const TCP_ESTABLISHED: u8 = 1;

/// Syscalls shown per body before the rest are summarised (the JSON trace keeps every one).
const BODY_SYSCALLS_SHOWN: u32 = 4;

/// How a connection's close went, as the `closed` event said.
#[derive(Clone, Copy, Debug, Default)]
struct LastClose {
    /// The server's FIN came first.
    server_fin_first: bool,
    /// No FIN from the server had arrived at close(): the Close phase said wtcurl's went first.
    client_fin_first: bool,
    /// close() found bytes unread, so the kernel sent RST.
    reset: bool,
    /// The response body was not read to its end.
    body_unread: bool,
}

/// What the close phase of the current connection showed before the `closed` event.
#[derive(Clone, Copy, Debug, Default)]
struct Closing {
    close_notify_sent: bool,
    /// TCP state in TCP_INFO at the end of the transfer.
    state_at_end: Option<u8>,
    /// TCP state in TCP_INFO just before close().
    state_before_close: Option<u8>,
}

/// A count with its noun, singular for 1: `1 recvfrom call`, `2,048 bytes`; no allocation.
pub(crate) struct Count<'a>(pub u64, pub &'a str, pub &'a str);

impl fmt::Display for Count<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0 == 1 { self.1 } else { self.2 };
        write!(f, "{} {noun}", Thousands(self.0))
    }
}

/// `, 3 chunks` after a chunked body's byte counts; nothing for other framings.
struct Chunks(u64);

impl fmt::Display for Chunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 > 0 {
            write!(f, ", {}", Count(self.0, "chunk", "chunks"))
        } else {
            Ok(())
        }
    }
}

/// What undoing a Content-Encoding is called: `gunzip`, `inflate`, or `decoding` for a list.
fn decoding_verb(encoding: &str) -> &'static str {
    let e = encoding.trim();
    if e.eq_ignore_ascii_case("gzip") || e.eq_ignore_ascii_case("x-gzip") {
        "gunzip"
    } else if e.eq_ignore_ascii_case("deflate") {
        "inflate"
    } else {
        "decoding"
    }
}

/// A signed count of days, singular for 1 and -1: `1 day`, `88 days`, `-3 days`.
pub(crate) struct Days(pub i64);

impl fmt::Display for Days {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.0.abs() == 1 { "day" } else { "days" };
        write!(f, "{} {noun}", self.0)
    }
}

/// The streaming explanation renderer.
pub struct Explain<W: Write> {
    out: W,
    p: Palette,
    hop: u32,
    step: u32,
    in_body: bool,
    body_syscalls: u32,
    hidden_syscalls: u64,
    hops: Vec<HopTimes>,
    last_status: Option<u16>,
    /// Start of the phase being shown, to print its duration when it ends.
    phase_start: Option<(u64, Phase)>,
    /// Application-data record bytes sent in the current request phase (TLS overhead).
    request_record_bytes: usize,
    /// Captured packets kept for the ladder diagram (bounded).
    packets: Vec<packets::Seen>,
    /// The local address of each of wtcurl's connect attempts (from `connect_attempt`): the
    /// packet ladder draws TCP conversations from these only.
    own_tcp: Vec<std::net::SocketAddr>,
    /// Open netlink sockets of --kernel-view: their syscalls are counted, not listed.
    netlink_fds: Vec<i32>,
    /// TCP_INFO after connect, to compare with the end under --kernel-view.
    tcp_after_connect: Option<crate::event::TcpInfoView>,
    /// A --kernel-view path was shown for this connection.
    kernel_view: bool,
    /// What the last `closed` event said of how the connection ended (for --kernel-view's verdict).
    last_close: Option<LastClose>,
    /// When the run's own last event happened (not counting the packet capture's report, which
    /// comes after the run): where the last phase ends.
    last_at: u64,
    /// The close phase so far: close_notify sent, the TCP states read at the end and just
    /// before close() (to say when the server's FIN arrived).
    closing: Closing,
    /// `--ladder` without a capture: the ladder built from syscalls.
    syscall_ladder: Option<syscall_ladder::SyscallLadder>,
    /// `-v` writes to the same stderr: flush after each event it prints, so its lines follow
    /// the explanation of the same event.
    interleave_verbose: bool,
    /// The newest UDP socket (the DNS one), to explain its connect().
    udp_fd: Option<i32>,
    /// What a UDP connect() does was said (once per run).
    udp_connect_said: bool,
    /// The response's Content-Encoding, to say at the body's end whether it was decoded.
    head_encoding: Option<String>,
    /// That secrets are shown masked was said (once per run, where the first one shows).
    masked_said: bool,
}

fn why(phase: Phase) -> &'static str {
    match phase {
        Phase::Url => {
            "the URL says which protocol, host, port and path to use; wtcurl reads it the way curl does."
        }
        Phase::Dns => {
            "the kernel connects to addresses, not names: wtcurl asks the same sources, in the same order, as glibc's getaddrinfo would for curl."
        }
        Phase::Tcp => {
            "HTTP runs over TCP. connect() on a non-blocking socket makes the kernel send a SYN and return at once; poll() waits for the SYN-ACK, and SO_ERROR says how it ended."
        }
        Phase::Tls => {
            "https:// means TLS: before any HTTP, client and server agree on keys and the server proves who it is with a certificate chain; wtcurl drives rustls over its own socket and decodes every record it sends and receives."
        }
        Phase::Request => {
            "HTTP/1.1 is text: a request line, header lines, and an empty line. wtcurl writes it with sendto()."
        }
        Phase::Response => {
            "the server's answer arrives as bytes in the socket's receive queue; poll() waits for them and recvfrom() copies them out."
        }
        Phase::Close => {
            "the transfer is over; close() releases the socket and the kernel ends the TCP connection with a FIN (with RST instead, if received bytes are left unread)."
        }
        Phase::Breaker => {
            "--breaker keeps a count of recent failures per origin; while the circuit is open, wtcurl fails fast instead of calling a server that keeps failing."
        }
        Phase::Setup | Phase::Output => "",
    }
}

fn title(phase: Phase) -> &'static str {
    match phase {
        Phase::Url => "URL",
        Phase::Dns => "DNS: from name to address",
        Phase::Tcp => "TCP: connect",
        Phase::Tls => "TLS",
        Phase::Request => "HTTP request",
        Phase::Response => "HTTP response",
        Phase::Close => "Close",
        Phase::Setup => "Setup",
        Phase::Output => "Output",
        Phase::Breaker => "Circuit breaker",
    }
}

impl<W: Write> Explain<W> {
    pub fn new(out: W, palette: Palette) -> Self {
        Explain {
            out,
            p: palette,
            hop: 0,
            step: 0,
            in_body: false,
            body_syscalls: 0,
            hidden_syscalls: 0,
            hops: Vec::new(),
            last_status: None,
            phase_start: None,
            request_record_bytes: 0,
            packets: Vec::new(),
            own_tcp: Vec::new(),
            netlink_fds: Vec::new(),
            tcp_after_connect: None,
            kernel_view: false,
            last_close: None,
            last_at: 0,
            closing: Closing::default(),
            syscall_ladder: None,
            interleave_verbose: false,
            udp_fd: None,
            udp_connect_said: false,
            head_encoding: None,
            masked_said: false,
        }
    }

    /// `-v` is on too and writes to the same stderr: flush wherever it prints, so the two views
    /// interleave event by event. Without it, fewer flushes (each is a write(2)).
    pub fn interleaved_with_verbose(mut self) -> Self {
        self.interleave_verbose = true;
        self
    }

    /// Also draw a ladder diagram built from syscalls at the end (`--ladder` with no capture).
    pub fn with_syscall_ladder(mut self) -> Self {
        self.syscall_ladder = Some(syscall_ladder::SyscallLadder::default());
        self
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn line(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
        let _ = self.out.write_all(b"\n");
    }

    /// One line formatted straight into the output, with no String in between.
    fn linef(&mut self, text: fmt::Arguments<'_>) {
        let _ = self.out.write_fmt(text);
        let _ = self.out.write_all(b"\n");
    }

    /// One indented line in a style.
    fn say<T: fmt::Display>(&mut self, style: owo_colors::Style, text: T) {
        let t = self.p.show(style, text);
        let _ = writeln!(self.out, "   {t}");
    }

    fn note<T: fmt::Display>(&mut self, text: T) {
        self.say(self.p.note, text);
    }

    /// Plain text from the stack in a style; with the plain palette, its bytes as they are.
    fn put<const N: usize>(&mut self, style: owo_colors::Style, text: &StackText<N>) {
        if self.p.enabled {
            let _ = write!(self.out, "{}", style.style(text.as_str()));
        } else {
            let _ = self.out.write_all(text.as_bytes());
        }
    }

    /// `@ time (+duration)`, dimmed: when a step ended and how long it took.
    fn put_stamp(&mut self, at: u64, dur: Option<u64>) {
        let stamp = stamp(at, dur);
        self.put(self.p.dim, &stamp);
    }

    /// A phase heading: an empty line, then the ruled title and when the phase began.
    fn heading(&mut self, title: fmt::Arguments<'_>, at: u64) {
        let head = rule(title, 60);
        let _ = self.out.write_all(b"\n");
        self.put(self.p.heading, &head);
        let _ = self.out.write_all(b" ");
        self.put_stamp(at, None);
        let _ = self.out.write_all(b"\n");
    }

    fn hop_mut(&mut self) -> Option<&mut HopTimes> {
        self.hops.last_mut()
    }

    fn flush_hidden(&mut self) {
        if self.hidden_syscalls > 0 {
            let n = self.hidden_syscalls;
            self.hidden_syscalls = 0;
            self.say(
                self.p.dim,
                format_args!(
                    "… {} not listed (--trace-json has every one)",
                    Count(n, "more poll/recvfrom call", "more poll/recvfrom calls")
                ),
            );
        }
    }

    /// Closes the phase being shown with its duration.
    fn end_phase(&mut self, at: u64) {
        if let Some((start, phase)) = self.phase_start.take() {
            let name = title(phase).split(':').next().unwrap_or_default();
            self.say(
                self.p.dim,
                format_args!(
                    "{name} took {} (@ {} → @ {})",
                    Us(at.saturating_sub(start)),
                    Us(start),
                    Us(at)
                ),
            );
        }
    }

    fn phase(&mut self, at: u64, hop: u32, phase: Phase) {
        self.end_phase(at);
        self.phase_start = Some((at, phase));
        self.request_record_bytes = 0;
        if phase == Phase::Url {
            self.hops.push(HopTimes {
                start: at,
                ..Default::default()
            });
            if hop > 0 {
                self.line("");
                let h = self.p.show(
                    self.p.heading,
                    format!("════ hop {} (redirect {hop}) ════", hop + 1),
                );
                self.linef(format_args!("{h}"));
            }
        }
        if let Some(h) = self.hop_mut() {
            match phase {
                Phase::Request => h.request_start = Some(at),
                Phase::Close => h.close_start = Some(at),
                _ => {}
            }
        }
        if phase == Phase::Close {
            self.closing = Closing::default();
        }
        self.hop = hop;
        self.step += 1;
        let step = self.step;
        self.heading(format_args!("── {step}. {} ", title(phase)), at);
        self.note(format_args!("why: {}", why(phase)));
    }

    /// Says once, where the first masked secret shows, that what is printed is not what is sent.
    fn secrets_masked(&mut self) {
        if !std::mem::replace(&mut self.masked_said, true) {
            self.note("secrets are masked as **** here and in --trace-json (passwords; Authorization, Proxy-Authorization and Cookie values): the bytes sent carry the real ones");
        }
    }

    fn waterfall(&mut self, total: u64) {
        let _ = waterfall::write(&mut self.out, &self.hops, total, &self.p);
    }
}

impl<W: Write> Observer for Explain<W> {
    fn on_event(&mut self, event: &Event) {
        if let Some(ladder) = self.syscall_ladder.as_mut() {
            ladder.on_event(event);
        }
        self.render(event);
        // Stream: flush where wtcurl is about to wait (a query sent, a connect started, the
        // response awaited) and at the end, so a slow step shows as it happens, in few writes.
        // (The request is written just before the response phase starts: one flush covers both.)
        // With `-v` also after each event it prints (a few per hop, none per body chunk): -v
        // writes to the same stderr right after this renderer, so its lines follow the
        // explanation of the same event instead of jumping ahead of buffered text.
        let flush = match event {
            Event::Phase {
                phase: Phase::Response,
                ..
            }
            | Event::DnsQuery { .. }
            | Event::ConnectAttempt { .. }
            | Event::TlsStart { .. }
            | Event::Breaker { .. }
            | Event::CaptureStart { .. }
            | Event::Error { .. }
            | Event::Done { .. } => true,
            Event::TlsRecord { direction, .. } => direction == "sent",
            Event::RequestWritten { .. }
            | Event::Resolved { .. }
            | Event::ConnectResult { .. }
            | Event::TlsCertificate { index: 0, .. }
            | Event::TlsVerified { .. }
            | Event::TlsAlert { .. }
            | Event::TlsDone { .. }
            | Event::Interim { .. }
            | Event::ResponseHead { .. }
            | Event::Redirect { .. }
            | Event::Closed { .. } => self.interleave_verbose,
            _ => false,
        };
        if flush {
            let _ = self.out.flush();
        }
    }
}

impl<W: Write> Explain<W> {
    fn render(&mut self, event: &Event) {
        if !matches!(event, Event::Packet { .. } | Event::CaptureDone { .. }) {
            self.last_at = self.last_at.max(event.at_us());
        }
        match event {
            Event::TraceStart { pid, .. } => {
                let h = self.p.show(self.p.heading, "wtcurl --explain");
                self.linef(format_args!("{h}: what happened, step by step (pid {pid})"));
                self.note("every line is something wtcurl did or saw; @ is when it ended, in µs since start (on a heading, when the phase began); (+) how long it took.");
            }
            Event::Phase { at_us, hop, phase } => self.phase(*at_us, *hop, *phase),
            Event::Process { at_us, process } => self.process(*at_us, process),
            Event::CaptureStart { .. } | Event::Packet { .. } | Event::CaptureDone { .. } => {
                self.packets(event)
            }
            Event::Breaker {
                origin,
                decision,
                state,
                failures_in_window,
                threshold,
                window_ms,
                retry_in_ms,
                state_file,
                warnings,
                ..
            } => {
                self.linef(format_args!(
                    "   {origin}: circuit {state}, {} in the last {} s (opens above {threshold})",
                    Count(u64::from(*failures_in_window), "failure", "failures"),
                    *window_ms as f64 / 1000.0
                ));
                if let Some(f) = state_file {
                    self.note(format_args!("state shared through {f} (locked with flock)"));
                }
                for w in warnings {
                    self.say(self.p.bad, format_args!("state file: {w}"));
                }
                match (decision.as_str(), retry_in_ms) {
                    ("rejected", Some(ms)) => self.say(
                        self.p.bad,
                        format_args!("✗ rejected without touching the network; a probe is allowed in {ms} ms"),
                    ),
                    ("probe", _) => self.line("   allowed as a probe: half-open lets a limited number of trial requests through"),
                    _ => self.line("   allowed"),
                }
            }
            Event::BreakerOutcome {
                origin,
                outcome,
                reason,
                state_after,
                transition,
                ..
            } => {
                self.linef(format_args!("   breaker for {origin}: this run counts as {outcome} ({reason}); circuit now {state_after}"));
                if let Some(t) = transition {
                    self.say(self.p.heading, format_args!("circuit {t}"));
                }
            }
            Event::Url {
                input,
                input_masked,
                url,
                scheme_inferred,
                port,
                port_inferred,
                host,
                host_ascii,
                target,
                basic_auth_user,
                ..
            } => {
                if let Some(h) = self.hop_mut() {
                    h.url = url.clone();
                }
                self.linef(format_args!("   {input:?} → {url}"));
                if *input_masked {
                    self.secrets_masked();
                }
                if *scheme_inferred {
                    self.note("no scheme given: like curl, wtcurl assumes http://");
                }
                if *port_inferred {
                    self.note(format_args!(
                        "no port given: {port} is the scheme's default"
                    ));
                }
                if host != host_ascii {
                    self.note(format_args!("{host} is an internationalised name; DNS and the Host header use its punycode form {host_ascii}"));
                }
                if let Some(u) = basic_auth_user {
                    self.note(format_args!(
                        "credentials for user {u:?} become an Authorization: Basic header"
                    ));
                }
                self.linef(format_args!(
                    "   request target {target:?}, host {host_ascii}, port {port}"
                ));
            }
            Event::Syscall(s) => {
                if self.netlink_syscall(s) {
                    return;
                }
                if self.in_body {
                    self.body_syscalls += 1;
                    if self.body_syscalls > BODY_SYSCALLS_SHOWN {
                        self.hidden_syscalls += 1;
                        return;
                    }
                }
                let _ = self.out.write_all(b"   ");
                self.put_stamp(s.end_us, Some(s.end_us.saturating_sub(s.start_us)));
                let failed = s.errno.is_some() && s.errno.as_deref() != Some("EINPROGRESS");
                let style = if failed { self.p.bad } else { self.p.syscall };
                let call = self.p.show(style, SyscallLine(s));
                let _ = writeln!(self.out, "  {call}");
                self.udp_syscall(s);
            }
            Event::Nsswitch { .. }
            | Event::HostsLookup { .. }
            | Event::ResolvConf { .. }
            | Event::DnsQuery { .. }
            | Event::DnsAnswer { .. }
            | Event::DnsIgnored { .. }
            | Event::DnsTimeout { .. }
            | Event::DnsUnreachable { .. }
            | Event::Resolved { .. } => self.dns(event),
            Event::ConnectAttempt {
                fd, addr, local, ..
            } => {
                match local {
                    Some(l) => self.linef(format_args!("   trying {addr} on fd {fd} from {l}")),
                    None => self.linef(format_args!("   trying {addr} on fd {fd}")),
                }
                if let Some(l) = local {
                    self.own_tcp.push(*l);
                    self.note(format_args!(
                        "the kernel picked local port {} when connect() bound the socket; getsockname shows it",
                        l.port()
                    ));
                }
            }
            Event::ConnectResult {
                at_us,
                fd,
                addr,
                ok,
                error,
                local,
                elapsed_us,
            } => {
                if *ok {
                    if let Some(h) = self.hop_mut() {
                        h.connected = Some(*at_us);
                    }
                    let p = self.p;
                    self.linef(format_args!(
                        "   {} on fd {fd} in {} (from connect() until poll() said writable: the SYN, SYN-ACK, ACK round trip; on a path as fast as loopback, wtcurl's own steps in between count too, writing this explanation among them)",
                        p.show(
                            p.ok,
                            format_args!("= connected to {addr} from {}", Maybe(local))
                        ),
                        Us(*elapsed_us)
                    ));
                } else {
                    let p = self.p;
                    self.linef(format_args!(
                        "   {}",
                        p.show(
                            p.bad,
                            format_args!("✗ {addr} after {}: {}", Us(*elapsed_us), Maybe(error))
                        )
                    ));
                    if let Some(l) = local {
                        self.note(format_args!(
                            "this attempt used local port {}: its packets are the ones between {l} and {addr}",
                            l.port()
                        ));
                    }
                }
            }
            Event::TcpInfo { when, info, .. } if when == "before_close" => {
                self.closing.state_before_close = Some(info.state);
                self.linef(format_args!(
                    "   TCP state just before close(): {}",
                    tcp_state_name(info.state)
                ));
            }
            Event::TcpInfo { when, info, .. } => {
                if when == "end" {
                    self.closing.state_at_end = Some(info.state);
                }
                let w = if when == "end" {
                    "at the end"
                } else {
                    "after connect"
                };
                self.linef(format_args!(
                    "   TCP state {w}: {}",
                    tcp_state_name(info.state)
                ));
                self.linef(format_args!(
                    "   TCP_INFO {w}: rtt {} (var {}), mss send {} / recv {}, cwnd {}, retransmits {}, segments out {} in {}, bytes acked {} received {}",
                    Us(u64::from(info.rtt_us)),
                    Us(u64::from(info.rttvar_us)),
                    info.snd_mss,
                    info.rcv_mss,
                    Count(u64::from(info.snd_cwnd), "segment", "segments"),
                    info.total_retrans,
                    info.segs_out,
                    info.segs_in,
                    Thousands(info.bytes_acked),
                    Thousands(info.bytes_received)
                ));
                if when == "end" {
                    self.tcp_info_change(info);
                } else {
                    self.tcp_after_connect = Some(*info);
                }
            }
            Event::TlsStart { .. }
            | Event::TlsRecord { .. }
            | Event::TlsMessage { .. }
            | Event::TlsAlert { .. }
            | Event::TlsCertificate { .. }
            | Event::TlsVerified { .. }
            | Event::TlsDone { .. } => self.tls(event),
            Event::RequestWritten {
                at_us,
                head,
                head_masked,
                head_bytes,
                body_bytes,
                ..
            } => {
                if let Some(h) = self.hop_mut() {
                    h.request_written = Some(*at_us);
                }
                for l in head.lines() {
                    self.say(self.p.wire_out, format_args!("> {l}"));
                }
                if *head_masked {
                    self.secrets_masked();
                }
                let body_word = if *body_bytes == 1 { "byte" } else { "bytes" };
                let body = if *body_bytes > 0 {
                    format!(" + {body_bytes} {body_word} of body")
                } else {
                    String::new()
                };
                self.linef(format_args!(
                    "   request written: {} of head{body}",
                    Count(*head_bytes as u64, "byte", "bytes")
                ));
                let http = head_bytes + body_bytes;
                if self.request_record_bytes > http {
                    let why = if self.hops.last().is_some_and(|h| h.tls13) {
                        "per record a 5-byte header, the inner content-type byte and a 16-byte AEAD tag"
                    } else {
                        "per record a 5-byte header plus the cipher's nonce, tag or MAC"
                    };
                    let records = self.request_record_bytes;
                    self.note(format_args!(
                        "inside TLS: {http} bytes of HTTP left as {records} bytes of TLS records (+{}: {why})",
                        records - http
                    ));
                }
            }
            Event::FirstByte { at_us } => {
                if let Some(h) = self.hop_mut() {
                    h.first_byte = Some(*at_us);
                }
                let since = self
                    .hops
                    .last()
                    .and_then(|h| h.request_written)
                    .map(|w| at_us.saturating_sub(w))
                    .unwrap_or(0);
                self.linef(format_args!("   first response byte {} after the request was written (the server's think time plus one round trip; on a path as fast as loopback, writing this explanation in between counts too)", Us(since)));
            }
            Event::Interim { status, reason, .. } => {
                self.linef(format_args!(
                    "   < interim response {status} {reason}: skipped, the final response follows"
                ));
            }
            Event::ResponseHead {
                version,
                status,
                reason,
                headers,
                head_bytes,
                framing,
                content_length,
                encoding,
                ..
            } => {
                self.last_status = Some(*status);
                self.head_encoding = encoding
                    .as_deref()
                    .filter(|e| !e.trim().is_empty() && !e.trim().eq_ignore_ascii_case("identity"))
                    .map(str::to_string);
                let p = self.p;
                self.linef(format_args!(
                    "   {}",
                    p.show(p.wire_in, format_args!("< {version} {status} {reason}"))
                ));
                for (k, v) in headers {
                    self.say(
                        self.p.wire_in,
                        format_args!("< {k}: {}", Escaped(v.as_bytes(), 120)),
                    );
                }
                let how = match (framing.as_str(), content_length) {
                    ("content-length", Some(1)) => "Content-Length says 1 byte follows".into(),
                    ("content-length", Some(n)) => format!("Content-Length says {n} bytes follow"),
                    ("chunked", _) => {
                        "chunked: the body comes in size-prefixed chunks ending with a 0 chunk"
                            .into()
                    }
                    ("close", _) => {
                        "no length given: the body ends when the server closes the connection"
                            .into()
                    }
                    _ => "no body for this response (HEAD, 1xx, 204 or 304)".into(),
                };
                self.linef(format_args!(
                    "   head: {}; body: {how}",
                    Count(*head_bytes as u64, "byte", "bytes")
                ));
                self.in_body = true;
                self.body_syscalls = 0;
            }
            Event::BodyDone {
                wire_bytes,
                body_bytes,
                recv_calls,
                chunks,
                trailers,
                decoded,
                written,
                ..
            } => {
                self.flush_hidden();
                self.in_body = false;
                let chunks = Chunks(*chunks);
                let wire = Count(*wire_bytes, "byte", "bytes");
                let recvs = Count(*recv_calls, "recvfrom call", "recvfrom calls");
                match decoded {
                    Some(d) => {
                        let done = if *written {
                            "written"
                        } else {
                            "read and dropped"
                        };
                        self.linef(format_args!(
                            "   body: {} {done} after {} of {} (Content-Encoding: {}), from {wire} on the wire{chunks}; {recvs} for this response",
                            Count(d.bytes, "byte", "bytes"),
                            decoding_verb(&d.encoding),
                            Count(*body_bytes, "byte", "bytes"),
                            d.encoding,
                        ));
                        self.note("--compressed: wtcurl decoded the body as it streamed in; -w size_download counts the encoded bytes, as curl's does");
                    }
                    None => {
                        self.linef(format_args!(
                            "   body: {} delivered from {wire} on the wire{chunks}; {recvs} for this response",
                            Count(*body_bytes, "byte", "bytes"),
                        ));
                        if let Some(enc) = self.head_encoding.take() {
                            self.note(format_args!(
                                "Content-Encoding: {enc} left as it came (no --compressed, as in curl): the output holds the encoded bytes"
                            ));
                        }
                    }
                }
                self.head_encoding = None;
                for (k, v) in trailers {
                    self.linef(format_args!("   trailer {k}: {v}"));
                }
            }
            Event::Redirect {
                status,
                location,
                to,
                method,
                followed,
                ..
            } => {
                if *followed {
                    self.linef(format_args!("   {status} redirect: Location {location:?} → {to}; -L follows it with {method}"));
                } else {
                    self.linef(format_args!("   {status} redirect to {to}"));
                    self.note("curl does not follow redirects without -L, and neither does wtcurl: the 3xx response is the result");
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
                self.flush_hidden();
                self.in_body = false;
                if let Some(h) = self.hop_mut() {
                    h.end = Some(*at_us);
                }
                let server_first = first_fin == "server";
                let unread = unread_bytes.unwrap_or(0);
                self.last_close = Some(LastClose {
                    server_fin_first: server_first,
                    client_fin_first: first_fin == "client",
                    reset: unread > 0,
                    body_unread: *body_unread,
                });
                let closing = self.closing;
                // How the server's FIN was seen before close(), when it was.
                let fin_seen = match fin_evidence {
                    FinEvidence::RecvfromEof => "recvfrom returned 0",
                    FinEvidence::CloseWait
                        if closing.close_notify_sent
                            && closing.state_at_end == Some(TCP_ESTABLISHED) =>
                    {
                        "TCP_INFO said ESTABLISHED before wtcurl's close_notify and CLOSE_WAIT just before close(): the server's FIN arrived in between"
                    }
                    FinEvidence::CloseWait => "TCP_INFO said CLOSE_WAIT before close()",
                    FinEvidence::NoFinBeforeClose | FinEvidence::NoFinAtEnd => "",
                };
                if unread > 0 {
                    self.linef(format_args!(
                        "   fd {fd}: close() with {} in the receive queue: the kernel answers with RST, not FIN; no TIME_WAIT",
                        Count(unread, "unread byte", "unread bytes")
                    ));
                    self.note("observed: ioctl(FIONREAD) counted the unread bytes just before close(); inferred from Linux's rule (tcp_close, RFC 2525): data left unread at close() means RST, which leaves no TIME_WAIT on either side (--packets shows the RST)");
                    if server_first {
                        self.note(format_args!("observed: the server's FIN had already come ({fin_seen}); wtcurl's side answers it with RST instead of its own FIN"));
                    }
                    if *body_unread {
                        self.note("the response body was not read to its end: -f stops at an error status, as curl does");
                    }
                } else if server_first {
                    self.linef(format_args!(
                        "   fd {fd} closed; the server had already closed its side, its FIN came first"
                    ));
                    self.note(format_args!("observed: {fin_seen}; inferred from TCP's rules: the server, which closed first, holds TIME_WAIT; wtcurl's close() answers with its own FIN and this host keeps none"));
                } else if *body_unread {
                    self.linef(format_args!(
                        "   fd {fd} closed by wtcurl while the connection was still open and the response body was not read to its end (-f stops at an error status, as curl does)"
                    ));
                    self.note("observed: nothing was unread in the receive queue yet (ioctl FIONREAD = 0), so close() sends a FIN first; inferred from Linux's rules: whatever more of the body arrives after close() is answered with RST, so neither side is likely to keep TIME_WAIT");
                } else if *fin_evidence == FinEvidence::NoFinBeforeClose {
                    self.linef(format_args!(
                        "   fd {fd} closed by wtcurl while the connection was still open"
                    ));
                    let answering = if closing.close_notify_sent {
                        " (a server may answer close_notify by closing)"
                    } else {
                        ""
                    };
                    self.note(format_args!("observed: TCP_INFO just before close() showed no FIN from the server; inferred from TCP's rules: wtcurl's FIN most likely leaves first, so this host holds TIME_WAIT (60 s on Linux); a server FIN already in flight{answering} makes both sides pass through CLOSING and both hold TIME_WAIT (simultaneous close), one arriving before close() takes effect puts TIME_WAIT on the server"));
                } else {
                    self.linef(format_args!(
                        "   fd {fd} closed by wtcurl; at the end of the transfer the kernel had received no FIN from the server (TCP_INFO, not asked again just before close())"
                    ));
                    self.note("inferred from TCP's rules: wtcurl's FIN most likely goes first, so this host holds TIME_WAIT (60 s on Linux); a FIN from the server arriving after that read would put TIME_WAIT on the server instead");
                }
            }
            Event::Error {
                phase,
                label,
                message,
                hint,
                exit_code,
                ..
            } => {
                self.flush_hidden();
                self.end_phase(event.at_us());
                let at = event.at_us();
                if let Some(h) = self.hop_mut() {
                    h.failed = Some(waterfall::Failure {
                        phase: *phase,
                        label: *label,
                        at,
                    });
                }
                let t = self.p.show(
                    self.p.bad,
                    format!(
                        "✗ failed in {} [{}]: {message}",
                        phase.as_str(),
                        label.as_str()
                    ),
                );
                self.line("");
                self.linef(format_args!("   {t}"));
                if let Some(h) = hint {
                    self.note(format_args!("hint: {h}"));
                }
                let whose = if label.curl_name().starts_with("none") {
                    "wtcurl's own code: curl has no such failure"
                } else {
                    "curl's code for this failure"
                };
                self.linef(format_args!("   exit code {exit_code} ({whose})"));
            }
            Event::KernelPath { .. } | Event::KernelClose { .. } => self.kernel(event),
            Event::Done { at_us, exit_code } => {
                self.end_phase(*at_us);
                if let Some(h) = self.hop_mut()
                    && h.end.is_none()
                {
                    h.end = Some(*at_us);
                }
                self.syscall_ladder();
                self.waterfall(*at_us);
                let status = self
                    .last_status
                    .map(|s| format!("HTTP {s}, "))
                    .unwrap_or_default();
                self.linef(format_args!(
                    "   total {}: {status}exit {exit_code}",
                    Us(*at_us)
                ));
                let _ = self.out.flush();
            }
        }
    }
}

/// A heading padded with `─` to `width` characters.
pub(crate) fn rule(head: fmt::Arguments<'_>, width: usize) -> StackText<256> {
    use fmt::Write as _;
    let mut t = StackText::<256>::new();
    let _ = t.write_fmt(head);
    t.push_repeat("─", width.saturating_sub(t.chars()));
    t
}

/// `@ time` right-aligned, then `(+duration)` right-aligned, as every timed line starts.
fn stamp(at: u64, dur: Option<u64>) -> StackText<96> {
    let mut t = StackText::<96>::new();
    t.push_ascii("@ ");
    t.push_right(11, |x| x.push_us(at));
    if let Some(d) = dur {
        t.push_ascii(" ");
        t.push_right(13, |x| {
            x.push_ascii("(+");
            x.push_us(d);
            x.push_ascii(")");
        });
    }
    t
}

/// Linux's TCP state name, with what CLOSE_WAIT means for wtcurl.
pub fn tcp_state_name(state: u8) -> &'static str {
    match state {
        8 => "CLOSE_WAIT (the server has sent its FIN)",
        other => crate::kernel::tcp_state(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::palette::Palette;

    fn render(events: &[Event]) -> String {
        let mut e = Explain::new(Vec::new(), Palette::plain());
        for ev in events {
            e.on_event(ev);
        }
        String::from_utf8(e.into_inner()).unwrap()
    }

    #[test]
    fn masked_secrets_are_labelled_once() {
        let url = |masked| Event::Url {
            at_us: 1,
            input: "http://bob:****@127.0.0.1:1/".into(),
            input_masked: masked,
            url: "http://127.0.0.1:1/".into(),
            scheme: "http".into(),
            scheme_inferred: false,
            host: "127.0.0.1".into(),
            host_ascii: "127.0.0.1".into(),
            port: 1,
            port_inferred: false,
            target: "/".into(),
            basic_auth_user: Some("bob".into()),
        };
        let written = |masked| Event::RequestWritten {
            at_us: 2,
            fd: 3,
            head: "GET / HTTP/1.1\r\nAuthorization: Basic ****\r\n".into(),
            head_masked: masked,
            head_bytes: 40,
            body_bytes: 0,
        };
        let label = "secrets are masked as **** here and in --trace-json";
        let text = render(&[url(true), written(true), url(true), written(true)]);
        assert_eq!(text.matches(label).count(), 1, "{text}");
        // Right after the first masked line.
        assert!(
            text.contains("→ http://127.0.0.1:1/\n   secrets are masked"),
            "{text}"
        );
        let text = render(&[url(false), written(true)]);
        assert!(
            text.contains("Authorization: Basic ****\n   secrets are masked"),
            "{text}"
        );
        assert!(!render(&[url(false), written(false)]).contains(label));
    }

    #[test]
    fn counts_of_one_are_singular() {
        assert_eq!(Count(1, "byte", "bytes").to_string(), "1 byte");
        assert_eq!(Count(0, "byte", "bytes").to_string(), "0 bytes");
        assert_eq!(Count(1_234, "byte", "bytes").to_string(), "1,234 bytes");
        assert_eq!(Days(1).to_string(), "1 day");
        assert_eq!(Days(-1).to_string(), "-1 day");
        assert_eq!(Days(88).to_string(), "88 days");
        let text = render(&[
            Event::TlsRecord {
                at_us: 1,
                direction: "received".into(),
                content_type: "change_cipher_spec".into(),
                version: "TLS 1.2".into(),
                length: 1,
                encrypted: false,
            },
            Event::RequestWritten {
                at_us: 2,
                fd: 3,
                head: "GET / HTTP/1.1\r\n".into(),
                head_masked: false,
                head_bytes: 16,
                body_bytes: 1,
            },
            Event::BodyDone {
                at_us: 3,
                wire_bytes: 1,
                body_bytes: 1,
                recv_calls: 1,
                chunks: 1,
                trailers: vec![],
                decoded: None,
                written: true,
            },
        ]);
        assert!(
            text.contains("← record change_cipher_spec (TLS 1.2 in the header), 1 byte\n"),
            "{text}"
        );
        assert!(
            text.contains("request written: 16 bytes of head + 1 byte of body"),
            "{text}"
        );
        assert!(
            text.contains(
                "body: 1 byte delivered from 1 byte on the wire, 1 chunk; 1 recvfrom call for this response"
            ),
            "{text}"
        );
        assert!(
            !text.contains("1 bytes") && !text.contains("1 recvfrom calls"),
            "{text}"
        );
    }
}
