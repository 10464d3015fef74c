//! Checking a wtcurl trace against strace and a pcap of the same run: every mismatch, reported.
//!
//! `wtcurl-check --trace T.jsonl [--strace S.txt] [--pcap P.pcap] [--tolerance-ms 5]` compares:
//!
//! - **syscalls**: every `syscall` event of the trace against strace's log (`strace -f [-tt|-ttt]
//!   [-T] -e trace=`[`STRACE_TRACE_LIST`]` -o S.txt wtcurl …`): same order, name, fd, result and
//!   errno; for `socket`, the domain and type (and a netlink socket's protocol); for `ioctl`
//!   (wtcurl's FIONREAD before close), the request and the value the kernel wrote. The calls
//!   named in [`CHECKED_SYSCALLS`] count, on both sides, on two kinds of sockets: AF_INET/AF_INET6
//!   ones, and `--kernel-view`'s netlink sockets (the payloads of netlink messages are not
//!   compared: strace decodes them, the trace records only their lengths). On strace's side, the
//!   sockets wtcurl does not record are left out, with a count: the packet capture's AF_PACKET
//!   socket, libc's AF_UNIX ones and its netlink ones (getifaddrs'; blocking, where wtcurl's are
//!   always SOCK_NONBLOCK). A trace syscall of a kind the checker does not know is reported as
//!   `not compared: unknown syscall NAME` (exit status 3 when nothing else is wrong), never
//!   skipped in silence; the report counts the trace's syscalls per kind, compared and not.
//!   `ppoll` counts as `poll`. The two sides are walked in step by name and fd: where one has a
//!   call the other lacks, it is one `missing in strace` (or `in trace`) mismatch and the walk
//!   gets back in step (looking up to 8 calls ahead), not a mismatch for every later call.
//! - **packets**: the trace's `packet` events against the pcap's frames: same count, direction,
//!   source, destination, TCP flags, seq and ack (as tcpdump prints them: relative once the
//!   handshake is seen, replayed with [`FlowSeqs`]) and payload length.
//! - **timing**: each syscall's `start_us` against strace's timestamp (its entry), and `end_us`
//!   against the timestamp plus `-T`'s duration when present; each packet's `at_us` against the
//!   pcap's timestamp. Trace times are made absolute with `trace_start.epoch_us`; `-tt`'s time of
//!   day is local time, compared modulo a day. A time agrees when `|difference| <= tolerance`.
//!
//! A `--strace` file in which no line reads as strace's output is an input error (exit status 2),
//! as a `--pcap` file that is not a pcap is.
//!
//! [`run`] returns a [`Report`]: summary lines, one line per mismatch (`mismatch: syscall #7
//! (sendto) ret: trace 78, strace 77`), one per syscall not compared, and the final count.

use crate::capture::{Direction, FlowSeqs, Linktype, Packet, Proto, decode, tcpdump_line};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The syscalls compared (strace's `-e trace=` list in the documented invocation). Others in
/// strace's log (setsockopt, bind, shutdown…) are ignored; one in the trace is reported as not
/// compared (wtcurl records none of them).
pub const CHECKED_SYSCALLS: &[&str] = &[
    "socket",
    "connect",
    "ioctl",
    "sendto",
    "recvfrom",
    "sendmsg",
    "recvmsg",
    "poll",
    "ppoll",
    "getsockopt",
    "getsockname",
    "getpeername",
    "close",
];

/// strace's `-e trace=` list for a run to check: [`CHECKED_SYSCALLS`], comma-separated.
pub const STRACE_TRACE_LIST: &str = "socket,connect,ioctl,sendto,recvfrom,sendmsg,recvmsg,poll,ppoll,getsockopt,getsockname,getpeername,close";

/// Exit status: nothing disagreed and everything was compared.
pub const EXIT_CLEAN: i32 = 0;
/// Exit status: at least one mismatch.
pub const EXIT_MISMATCH: i32 = 1;
/// Exit status: a usage or input error (a file unreadable, or not what it should be).
pub const EXIT_INPUT: i32 = 2;
/// Exit status: no mismatch, but some of the trace's syscalls could not be compared.
pub const EXIT_NOT_COMPARED: i32 = 3;

/// The command line of `wtcurl-check`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "wtcurl-check",
    about = "Check a wtcurl --trace-json trace against strace's log and a pcap of the same run",
    after_help = "Exit status: 0 no mismatch, every trace syscall compared; 1 mismatches; \
                  2 usage or input error (a --strace file with no strace line in it, a --pcap \
                  file that is no pcap); 3 no mismatch, but some trace syscalls are of a kind \
                  wtcurl-check does not know (each reported as \"not compared: unknown syscall NAME\").\n\
                  strace: strace -f -tt -T -e trace=socket,connect,ioctl,sendto,recvfrom,sendmsg,\
                  recvmsg,poll,ppoll,getsockopt,getsockname,getpeername,close -o S.txt wtcurl \
                  --trace-json T.jsonl …"
)]
pub struct Args {
    /// The trace wtcurl wrote with --trace-json.
    #[arg(long, value_name = "T.jsonl")]
    pub trace: PathBuf,
    /// strace's log of the same run (-o); with -tt or -ttt, times are checked too.
    #[arg(long, value_name = "S.txt")]
    pub strace: Option<PathBuf>,
    /// The pcap of the same run (wtcurl's --pcap, or tcpdump -w).
    #[arg(long, value_name = "P.pcap")]
    pub pcap: Option<PathBuf>,
    /// How far apart a time in the trace and its counterpart may be, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5.0)]
    pub tolerance_ms: f64,
}

/// What a check found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    /// Summary lines (counts compared), then one line per mismatch or call not compared, in order.
    pub lines: Vec<String>,
    /// The mismatches alone (each also in `lines`).
    pub mismatches: Vec<String>,
    /// The trace's syscalls that could not be compared, alone (each also in `lines`).
    pub not_compared: Vec<String>,
}

impl Report {
    fn info(&mut self, s: String) {
        self.lines.push(s);
    }

    fn mismatch(&mut self, s: String) {
        let line = format!("mismatch: {s}");
        self.lines.push(line.clone());
        self.mismatches.push(line);
    }

    fn not_compared(&mut self, s: String) {
        let line = format!("not compared: {s}");
        self.lines.push(line.clone());
        self.not_compared.push(line);
    }

    /// The printed report, ending with `0 mismatches` or `N mismatches` (and `, M trace syscalls
    /// not compared` when some were not).
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        let n = self.mismatches.len();
        let _ = write!(out, "{n} mismatch{}", if n == 1 { "" } else { "es" });
        let k = self.not_compared.len();
        if k > 0 {
            let _ = write!(
                out,
                ", {k} trace syscall{} not compared",
                if k == 1 { "" } else { "s" }
            );
        }
        out.push('\n');
        out
    }

    /// [`EXIT_MISMATCH`] with mismatches, else [`EXIT_NOT_COMPARED`] when a trace syscall could
    /// not be compared, else [`EXIT_CLEAN`].
    pub fn exit_code(&self) -> i32 {
        if !self.mismatches.is_empty() {
            EXIT_MISMATCH
        } else if !self.not_compared.is_empty() {
            EXIT_NOT_COMPARED
        } else {
            EXIT_CLEAN
        }
    }
}

/// A usage or input error (exit status 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CheckError(pub String);

fn err(s: impl Into<String>) -> CheckError {
    CheckError(s.into())
}

/// Runs the checker: prints the report (or the error) and returns the exit status.
pub fn main(args: &Args) -> i32 {
    match run(args) {
        Ok(report) => {
            print!("{}", report.render());
            report.exit_code()
        }
        Err(e) => {
            eprintln!("wtcurl-check: {e}");
            EXIT_INPUT
        }
    }
}

/// Reads the files named in `args` and compares them.
pub fn run(args: &Args) -> Result<Report, CheckError> {
    if args.strace.is_none() && args.pcap.is_none() {
        return Err(err("nothing to check against: give --strace and/or --pcap"));
    }
    if !(args.tolerance_ms.is_finite() && args.tolerance_ms >= 0.0) {
        return Err(err("--tolerance-ms must be a non-negative number"));
    }
    let tolerance_us = (args.tolerance_ms * 1000.0).round() as i64;
    let read = |p: &Path| {
        std::fs::read_to_string(p).map_err(|e| err(format!("cannot read {}: {e}", p.display())))
    };
    let trace = parse_trace(&read(&args.trace)?)?;
    // Both inputs are read before anything is reported: a bad one is an error, not a report.
    let strace = match &args.strace {
        Some(p) => {
            let log = read_strace(&read(p)?);
            if log.lines.is_empty() && log.markers == 0 {
                let what = match log.unreadable.first() {
                    None => "the file is empty".to_string(),
                    Some((n, l)) => format!(
                        "none of its {} lines reads as strace -o's \
                         `[PID] [TIME] name(args) = result` (line {n}: {:?})",
                        log.unreadable.len(),
                        shorten(l, 60)
                    ),
                };
                return Err(err(format!("{}: not an strace log: {what}", p.display())));
            }
            Some(log)
        }
        None => None,
    };
    let frames = match &args.pcap {
        Some(p) => Some(read_pcap(p)?),
        None => None,
    };
    let mut report = Report::default();
    report.info(format!(
        "trace: {} syscalls, {} packets, epoch_us {}; tolerance {} ms",
        trace.syscall_events,
        trace.packets.len(),
        trace.epoch_us,
        args.tolerance_ms
    ));
    match &strace {
        Some(log) => {
            let selected = select_calls(log);
            compare_syscalls(&trace, &selected, tolerance_us, &mut report);
        }
        None => summarize_syscalls(&trace, None, &mut report),
    }
    if let Some(frames) = &frames {
        compare_packets(&trace, frames, tolerance_us, &mut report);
    }
    Ok(report)
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

// ---------------------------------------------------------------------------------------------
// The kinds of syscalls compared.

/// The kinds of syscalls the report counts apart: each has its own line, with how many were
/// compared and how many not, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallKind {
    /// On an AF_INET/AF_INET6 socket (DNS over UDP/TCP, the HTTP connection), ioctl aside.
    Inet,
    /// ioctl(2) (wtcurl's FIONREAD before a close).
    Ioctl,
    /// On one of `--kernel-view`'s netlink sockets (rtnetlink, sock_diag).
    Netlink,
}

impl CallKind {
    const ALL: [CallKind; 3] = [CallKind::Inet, CallKind::Ioctl, CallKind::Netlink];

    fn label(self) -> &'static str {
        match self {
            CallKind::Inet => "on AF_INET/AF_INET6 sockets",
            CallKind::Ioctl => "ioctl (FIONREAD)",
            CallKind::Netlink => "on --kernel-view's netlink sockets",
        }
    }

    /// What is compared for this kind, and what is not.
    fn fields(self) -> &'static str {
        match self {
            CallKind::Inet => "name, fd, result, errno, order, times; socket's domain and type",
            CallKind::Ioctl => "fd, request, the value written, result, errno, order, times",
            CallKind::Netlink => {
                "name, fd, result, errno, order, times; socket's domain, type and protocol; \
                 not the netlink messages (strace decodes them, the trace records their lengths)"
            }
        }
    }
}

/// A socket(2) type as a set: `SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK` in a fixed order.
fn socket_type(s: &str) -> String {
    let mut parts: Vec<&str> = s.split('|').map(str::trim).collect();
    parts.sort_unstable();
    parts.join("|")
}

// ---------------------------------------------------------------------------------------------
// The trace.

/// One syscall event of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceCall {
    pub name: String,
    pub kind: CallKind,
    pub fd: Option<i64>,
    pub ret: i64,
    pub errno: Option<String>,
    /// Arguments compared by name (`domain`, `type`, `protocol`, `request`, `value`).
    pub details: Vec<(&'static str, String)>,
    pub start_us: u64,
    pub end_us: u64,
}

/// A syscall event of the trace of a kind the checker does not know.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownCall {
    /// Its place among the trace's syscall events, from 0.
    pub event: usize,
    pub name: String,
    pub fd: Option<i64>,
}

/// One packet event of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TracePacket {
    pub at_us: u64,
    pub direction: String,
    pub src: String,
    pub dst: String,
    pub flags: Option<String>,
    pub payload_len: u64,
    pub line: String,
}

/// What the checker uses of a trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    pub epoch_us: u64,
    /// How many `syscall` events the trace has: `calls` and `unknown` together.
    pub syscall_events: usize,
    /// The syscalls named in [`CHECKED_SYSCALLS`], in order.
    pub calls: Vec<TraceCall>,
    /// The others, in order: reported as not compared.
    pub unknown: Vec<UnknownCall>,
    pub packets: Vec<TracePacket>,
}

fn json_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "none".into(),
        other => other.to_string(),
    }
}

/// Parses a `--trace-json` file.
pub fn parse_trace(text: &str) -> Result<Trace, CheckError> {
    let mut epoch_us = None;
    let mut calls = Vec::new();
    let mut unknown = Vec::new();
    let mut syscall_events = 0;
    let mut packets = Vec::new();
    // --kernel-view's netlink sockets, from socket() to close().
    let mut netlink_fds: HashSet<i64> = HashSet::new();
    for (i, l) in text.lines().enumerate() {
        if l.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(l)
            .map_err(|e| err(format!("trace line {}: not JSON: {e}", i + 1)))?;
        let bad = |what: &str| err(format!("trace line {}: {what}", i + 1));
        match v["type"].as_str() {
            Some("trace_start") => {
                epoch_us = Some(v["epoch_us"].as_u64().ok_or_else(|| bad("no epoch_us"))?);
            }
            Some("syscall") => {
                let raw = v["name"]
                    .as_str()
                    .ok_or_else(|| bad("syscall without name"))?;
                let event = syscall_events;
                syscall_events += 1;
                let fd = v["fd"].as_i64();
                let name = if raw == "ppoll" { "poll" } else { raw };
                if !CHECKED_SYSCALLS.contains(&name) {
                    unknown.push(UnknownCall {
                        event,
                        name: raw.to_string(),
                        fd,
                    });
                    continue;
                }
                let ret = v["ret"]
                    .as_i64()
                    .ok_or_else(|| bad("syscall without ret"))?;
                let args = &v["args"];
                let mut details = Vec::new();
                let kind = match name {
                    "ioctl" => {
                        details.push(("request", json_text(&args["request"])));
                        details.push(("value", json_text(&args["value"])));
                        CallKind::Ioctl
                    }
                    "socket" => {
                        let domain = json_text(&args["domain"]);
                        details.push(("type", socket_type(&json_text(&args["type"]))));
                        let netlink = domain == "AF_NETLINK";
                        if netlink {
                            details.push(("protocol", json_text(&args["protocol"])));
                            if ret >= 0 {
                                netlink_fds.insert(ret);
                            }
                        }
                        details.insert(0, ("domain", domain));
                        if netlink {
                            CallKind::Netlink
                        } else {
                            CallKind::Inet
                        }
                    }
                    "poll" => {
                        let fds: Vec<i64> = match args["fds"].as_array() {
                            Some(a) => a.iter().filter_map(|f| f["fd"].as_i64()).collect(),
                            None => fd.into_iter().collect(),
                        };
                        if !fds.is_empty() && fds.iter().all(|f| netlink_fds.contains(f)) {
                            CallKind::Netlink
                        } else {
                            CallKind::Inet
                        }
                    }
                    _ => match fd {
                        Some(f) if netlink_fds.contains(&f) => {
                            if name == "close" {
                                netlink_fds.remove(&f);
                            }
                            CallKind::Netlink
                        }
                        _ => CallKind::Inet,
                    },
                };
                calls.push(TraceCall {
                    name: name.to_string(),
                    kind,
                    fd,
                    ret,
                    errno: v["errno"].as_str().map(str::to_string),
                    details,
                    start_us: v["start_us"].as_u64().ok_or_else(|| bad("no start_us"))?,
                    end_us: v["end_us"].as_u64().ok_or_else(|| bad("no end_us"))?,
                });
            }
            Some("packet") => packets.push(TracePacket {
                at_us: v["at_us"]
                    .as_u64()
                    .ok_or_else(|| bad("packet without at_us"))?,
                direction: v["direction"].as_str().unwrap_or("").to_string(),
                src: v["src"].as_str().unwrap_or("").to_string(),
                dst: v["dst"].as_str().unwrap_or("").to_string(),
                flags: v["flags"].as_str().map(str::to_string),
                payload_len: v["payload_len"].as_u64().unwrap_or(0),
                line: v["line"].as_str().unwrap_or("").to_string(),
            }),
            _ => {}
        }
    }
    let epoch_us = epoch_us.ok_or_else(|| err("the trace has no trace_start line"))?;
    Ok(Trace {
        epoch_us,
        syscall_events,
        calls,
        unknown,
        packets,
    })
}

// ---------------------------------------------------------------------------------------------
// strace.

/// A strace timestamp: `-ttt` (µs since the epoch) or `-tt`/`-t` (µs since local midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StraceTime {
    Epoch(u64),
    TimeOfDay(u64),
}

/// One syscall line of strace's log (`<unfinished ...>`/`resumed>` pairs joined).
#[derive(Debug, Clone, PartialEq)]
pub struct StraceLine {
    pub name: String,
    pub args: String,
    pub ret: i64,
    pub errno: Option<String>,
    /// When the call was entered (the timestamp of its first line).
    pub time: Option<StraceTime>,
    /// `-T`'s duration.
    pub duration_us: Option<u64>,
}

/// strace's log, read: its syscall lines and what was not one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StraceLog {
    pub lines: Vec<StraceLine>,
    /// `+++ exited with 0 +++` and `--- SIGCHLD {…} ---` lines.
    pub markers: usize,
    /// Lines that read as nothing strace writes: (line number from 1, the line).
    pub unreadable: Vec<(usize, String)>,
}

/// One network syscall on a socket, as strace saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct StraceCall {
    pub name: String,
    pub kind: CallKind,
    pub fd: Option<i64>,
    pub ret: i64,
    pub errno: Option<String>,
    /// Arguments compared by name, as in [`TraceCall::details`].
    pub details: Vec<(&'static str, String)>,
    pub time: Option<StraceTime>,
    pub duration_us: Option<u64>,
}

/// The calls of strace's log that are compared, and what was left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StraceCalls {
    /// The checked syscalls on wtcurl's kinds of sockets, in order.
    pub calls: Vec<StraceCall>,
    /// Checked syscalls on sockets wtcurl does not record (AF_PACKET, AF_UNIX, blocking netlink).
    pub other_sockets: usize,
    /// Checked syscalls on fds that are no socket (files, the terminal).
    pub not_sockets: usize,
    /// Every syscall name in the log, checked or not.
    pub names: HashSet<String>,
}
fn first_int(s: &str) -> Option<i64> {
    let digits: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .collect();
    digits.parse().ok()
}

/// `12:34:56.123456` → µs since midnight; `1700000000.123456` → µs since the epoch.
fn parse_time(tok: &str) -> Option<StraceTime> {
    let (whole, frac) = tok.split_once('.').unwrap_or((tok, ""));
    if !frac.chars().all(|c| c.is_ascii_digit()) || frac.len() > 9 {
        return None;
    }
    let frac_us = if frac.is_empty() {
        0
    } else {
        let padded = format!("{frac:0<9}");
        padded.parse::<u64>().ok()? / 1000
    };
    if whole.contains(':') {
        let parts: Vec<u64> = whole
            .split(':')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<_>>()?;
        let [h, m, s] = parts[..] else { return None };
        Some(StraceTime::TimeOfDay(
            ((h * 60 + m) * 60 + s) * 1_000_000 + frac_us,
        ))
    } else if !frac.is_empty() && whole.chars().all(|c| c.is_ascii_digit()) {
        Some(StraceTime::Epoch(
            whole.parse::<u64>().ok()? * 1_000_000 + frac_us,
        ))
    } else {
        None
    }
}

/// Splits `[PID] [TIME] rest` into (pid, time, rest).
fn split_prefix(raw: &str) -> (String, Option<StraceTime>, &str) {
    let mut rest = raw.trim_start();
    let mut pid = String::new();
    if let Some(r) = rest.strip_prefix("[pid") {
        if let Some((p, r)) = r.split_once(']') {
            pid = p.trim().to_string();
            rest = r.trim_start();
        }
    } else if let Some((tok, r)) = rest.split_once(' ')
        && !tok.is_empty()
        && tok.chars().all(|c| c.is_ascii_digit())
    {
        pid = tok.to_string();
        rest = r.trim_start();
    }
    let mut time = None;
    if let Some((tok, r)) = rest.split_once(' ')
        && let Some(t) = parse_time(tok)
    {
        time = Some(t);
        rest = r.trim_start();
    }
    (pid, time, rest)
}

/// Strips a trailing `-T` duration, ` <0.000123>`.
fn split_duration(line: &str) -> (&str, Option<u64>) {
    let t = line.trim_end();
    if let Some(body) = t.strip_suffix('>')
        && let Some(open) = body.rfind(" <")
        && let Some(StraceTime::Epoch(us)) = parse_time(&body[open + 2..])
    {
        return (&t[..open], Some(us));
    }
    (t, None)
}

/// Reads strace's log: `[PID] [TIME] name(args) = ret [ERRNO (text)] [<duration>]`, joining
/// `<unfinished ...>` / `<... name resumed>` pairs (the entry's time is kept).
pub fn read_strace(text: &str) -> StraceLog {
    let mut pending: HashMap<String, (String, Option<StraceTime>)> = HashMap::new();
    let mut log = StraceLog::default();
    for (n, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        let unreadable = |log: &mut StraceLog| log.unreadable.push((n + 1, raw.to_string()));
        let (pid, time, rest) = split_prefix(raw);
        let (line, time) = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            if is_call_head(head) {
                pending.insert(pid, (head.to_string(), time));
            } else {
                unreadable(&mut log);
            }
            continue;
        } else if rest.starts_with("<... ") && rest.contains(" resumed>") {
            let tail = rest.split_once("resumed>").map(|x| x.1).unwrap_or("");
            let (head, t0) = pending.remove(&pid).unwrap_or_default();
            (format!("{head}{tail}"), t0.or(time))
        } else {
            (rest.to_string(), time)
        };
        if (line.starts_with("+++ ") && line.ends_with(" +++"))
            || (line.starts_with("--- ") && line.ends_with(" ---"))
        {
            log.markers += 1;
            continue;
        }
        let (line, duration_us) = split_duration(&line);
        let (Some(open), Some(eq)) = (line.find('('), line.rfind(" = ")) else {
            unreadable(&mut log);
            continue;
        };
        if eq < open || !is_call_head(&line[..=open]) {
            unreadable(&mut log);
            continue;
        }
        let name = line[..open].to_string();
        let args = line[open + 1..eq]
            .trim_end()
            .trim_end_matches(')')
            .to_string();
        let result = &line[eq + 3..];
        let ret = first_int(result).unwrap_or(i64::MIN);
        let errno = (ret == -1).then(|| result.split_whitespace().nth(1).unwrap_or("").to_string());
        log.lines.push(StraceLine {
            name,
            args,
            ret,
            errno,
            time,
            duration_us,
        });
    }
    log
}

/// Whether `s` starts like a call strace prints: a syscall name, then `(`.
fn is_call_head(s: &str) -> bool {
    s.split_once('(').is_some_and(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// Parses strace's log's syscall lines (see [`read_strace`]).
pub fn parse_strace(text: &str) -> Vec<StraceLine> {
    read_strace(text).lines
}

/// What the checker knows of a socket strace saw created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Socket {
    /// wtcurl's: AF_INET/AF_INET6, or a non-blocking AF_NETLINK one (`--kernel-view`'s).
    Checked(CallKind),
    /// Someone else's (the capture's AF_PACKET, libc's AF_UNIX and blocking netlink sockets).
    Other,
}

/// The checked syscalls on wtcurl's kinds of sockets, as strace saw them.
pub fn strace_calls(text: &str) -> Vec<StraceCall> {
    select_calls(&read_strace(text)).calls
}

/// The checked syscalls of `log` on wtcurl's kinds of sockets (fds followed from `socket()` to
/// `close()`), and counts of those left out.
pub fn select_calls(log: &StraceLog) -> StraceCalls {
    let mut sockets: HashMap<i64, Socket> = HashMap::new();
    let mut out = StraceCalls::default();
    for l in &log.lines {
        out.names.insert(l.name.clone());
        let name = if l.name == "ppoll" {
            "poll".to_string()
        } else {
            l.name.clone()
        };
        if !CHECKED_SYSCALLS.contains(&name.as_str()) {
            continue;
        }
        let call =
            |kind: CallKind, fd: Option<i64>, details: Vec<(&'static str, String)>| StraceCall {
                name: name.clone(),
                kind,
                fd,
                ret: l.ret,
                errno: l.errno.clone(),
                details,
                time: l.time,
                duration_us: l.duration_us,
            };
        let args: Vec<&str> = l.args.splitn(3, ',').map(str::trim).collect();
        match name.as_str() {
            "socket" => {
                let domain = args[0];
                let ty = args.get(1).copied().unwrap_or("");
                let socket = match domain {
                    "AF_INET" | "AF_INET6" => Socket::Checked(CallKind::Inet),
                    "AF_NETLINK" if ty.split('|').any(|f| f.trim() == "SOCK_NONBLOCK") => {
                        Socket::Checked(CallKind::Netlink)
                    }
                    _ => Socket::Other,
                };
                if l.ret >= 0 {
                    sockets.insert(l.ret, socket);
                }
                let Socket::Checked(kind) = socket else {
                    out.other_sockets += 1;
                    continue;
                };
                let mut details = vec![("domain", domain.to_string()), ("type", socket_type(ty))];
                if kind == CallKind::Netlink {
                    details.push(("protocol", args.get(2).copied().unwrap_or("").to_string()));
                }
                out.calls
                    .push(call(kind, (l.ret >= 0).then_some(l.ret), details));
            }
            "poll" => {
                let fds: Vec<i64> = l.args.split("fd=").skip(1).filter_map(first_int).collect();
                let kinds: Vec<CallKind> = fds
                    .iter()
                    .filter_map(|f| match sockets.get(f) {
                        Some(Socket::Checked(k)) => Some(*k),
                        _ => None,
                    })
                    .collect();
                if kinds.is_empty() {
                    if fds.iter().any(|f| sockets.contains_key(f)) {
                        out.other_sockets += 1;
                    } else {
                        out.not_sockets += 1;
                    }
                    continue;
                }
                let kind =
                    if kinds.len() == fds.len() && kinds.iter().all(|k| *k == CallKind::Netlink) {
                        CallKind::Netlink
                    } else {
                        CallKind::Inet
                    };
                out.calls
                    .push(call(kind, (fds.len() == 1).then(|| fds[0]), Vec::new()));
            }
            _ => {
                let Some(fd) = first_int(args[0]) else {
                    out.not_sockets += 1;
                    continue;
                };
                let socket = if name == "close" {
                    sockets.remove(&fd)
                } else {
                    sockets.get(&fd).copied()
                };
                let kind = match socket {
                    Some(Socket::Checked(k)) => k,
                    Some(Socket::Other) => {
                        out.other_sockets += 1;
                        continue;
                    }
                    None => {
                        out.not_sockets += 1;
                        continue;
                    }
                };
                if name == "ioctl" {
                    let value = args
                        .get(2)
                        .and_then(|v| v.strip_prefix('[')?.strip_suffix(']'))
                        .and_then(first_int)
                        .map_or("none".to_string(), |v| v.to_string());
                    let details = vec![
                        ("request", args.get(1).copied().unwrap_or("").to_string()),
                        ("value", value),
                    ];
                    out.calls.push(call(CallKind::Ioctl, Some(fd), details));
                } else {
                    out.calls.push(call(kind, Some(fd), Vec::new()));
                }
            }
        }
    }
    out
}

const DAY_US: i64 = 86_400_000_000;

/// strace's time minus the trace's (absolute, µs) time.
fn time_diff_us(strace: StraceTime, trace_epoch_us: u64) -> i64 {
    match strace {
        StraceTime::Epoch(us) => us as i64 - trace_epoch_us as i64,
        StraceTime::TimeOfDay(us) => {
            let off = crate::sys::utc_offset_s((trace_epoch_us / 1_000_000) as i64) * 1_000_000;
            let local_tod = (trace_epoch_us as i64 + off).rem_euclid(DAY_US);
            let d = (us as i64 - local_tod).rem_euclid(DAY_US);
            if d > DAY_US / 2 { d - DAY_US } else { d }
        }
    }
}

fn add_us(t: StraceTime, us: u64) -> StraceTime {
    match t {
        StraceTime::Epoch(x) => StraceTime::Epoch(x + us),
        StraceTime::TimeOfDay(x) => StraceTime::TimeOfDay(x + us),
    }
}

fn ms(us: i64) -> String {
    format!("{:.3} ms", us as f64 / 1000.0)
}

fn opt<T: std::fmt::Debug>(v: &Option<T>) -> String {
    match v {
        Some(x) => format!("{x:?}").trim_matches('"').to_string(),
        None => "none".into(),
    }
}

/// The per-kind lines: every syscall event of the trace, compared or not, and why not. `compared`
/// is how many of the trace's calls had a counterpart in strace's log (None: no --strace).
/// `compared[i]`: whether the trace's call `i` was paired with one in strace's log (None: no log).
fn summarize_syscalls(trace: &Trace, compared: Option<&[bool]>, r: &mut Report) {
    if compared.is_none() {
        r.info(format!(
            "syscalls: {} in trace, not compared (no --strace given)",
            trace.syscall_events
        ));
    }
    for kind in CallKind::ALL {
        let of_kind = || {
            trace
                .calls
                .iter()
                .enumerate()
                .filter(|(_, c)| c.kind == kind)
        };
        let total = of_kind().count();
        let line = match compared {
            None => format!("  {}: {total} in trace, 0 compared", kind.label()),
            Some(paired) => {
                let done = of_kind()
                    .filter(|(i, _)| paired.get(*i).copied().unwrap_or(false))
                    .count();
                let missing = total - done;
                let why = if missing > 0 {
                    " (missing in strace's log: each a mismatch below)"
                } else {
                    ""
                };
                let fields = if total > 0 {
                    format!("; compared: {}", kind.fields())
                } else {
                    String::new()
                };
                format!(
                    "  {}: {total} in trace, {done} compared, {missing} not compared{why}{fields}",
                    kind.label(),
                )
            }
        };
        r.info(line);
    }
    let k = trace.unknown.len();
    let mut names: Vec<&str> = trace.unknown.iter().map(|u| u.name.as_str()).collect();
    names.dedup();
    r.info(if k == 0 {
        "  of a kind wtcurl-check does not know: 0 in trace".to_string()
    } else {
        format!(
            "  of a kind wtcurl-check does not know: {k} in trace, 0 compared, {k} not compared \
             (unknown syscall {})",
            names.join(", ")
        )
    });
}

/// `syscall #7 (close) missing in trace: strace has fd 3 ret 0`.
fn missing(i: usize, name: &str, fd: Option<i64>, ret: i64, from: &str, has: &str) -> String {
    format!(
        "syscall #{i} ({name}) missing in {from}: {has} has fd {} ret {ret}",
        opt(&fd)
    )
}

/// How far ahead [`align`] looks for the call that puts the two sides back in step.
const RESYNC: usize = 8;

/// One step of walking the trace's calls and strace's side by side.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// The same call on both sides (then compared field by field).
    Pair(usize, usize),
    /// A trace call strace's log does not have.
    OnlyTrace(usize),
    /// A strace call the trace does not have.
    OnlyStrace(usize),
}

/// Pairs the two sides in order. Where the calls at hand differ in name or fd, the walk looks
/// up to [`RESYNC`] calls ahead on each side for the nearest point where they agree again, and
/// reports what it skips as missing on the other side: one call left out is one mismatch, not a
/// mismatch for every call after it. With no such point, the two calls are paired and compared.
fn align(a: &[TraceCall], b: &[StraceCall]) -> Vec<Step> {
    let same = |i: usize, j: usize| a[i].name == b[j].name && a[i].fd == b[j].fd;
    let (mut i, mut j, mut steps) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        if same(i, j) {
            steps.push(Step::Pair(i, j));
            (i, j) = (i + 1, j + 1);
            continue;
        }
        // The fewest calls to skip, on either side, so that the next pair agrees.
        let skip_trace = (1..=RESYNC).find(|&k| i + k < a.len() && same(i + k, j));
        let skip_strace = (1..=RESYNC).find(|&k| j + k < b.len() && same(i, j + k));
        match (skip_trace, skip_strace) {
            (Some(k), s) if s.is_none_or(|s| k <= s) => {
                steps.extend((i..i + k).map(Step::OnlyTrace));
                i += k;
            }
            (_, Some(k)) => {
                steps.extend((j..j + k).map(Step::OnlyStrace));
                j += k;
            }
            _ => {
                steps.push(Step::Pair(i, j));
                (i, j) = (i + 1, j + 1);
            }
        }
    }
    steps.extend((i..a.len()).map(Step::OnlyTrace));
    steps.extend((j..b.len()).map(Step::OnlyStrace));
    steps
}

fn compare_syscalls(trace: &Trace, strace: &StraceCalls, tol_us: i64, r: &mut Report) {
    let (a, b) = (&trace.calls, &strace.calls);
    let steps = align(a, b);
    let mut paired = vec![false; a.len()];
    for step in &steps {
        if let Step::Pair(i, _) = step {
            paired[*i] = true;
        }
    }
    let n = paired.iter().filter(|p| **p).count();
    r.info(format!(
        "syscalls: {} in trace, {} in strace, {n} compared",
        trace.syscall_events,
        b.len()
    ));
    summarize_syscalls(trace, Some(&paired), r);
    r.info(format!(
        "strace: left out {} calls on sockets wtcurl does not record (the capture's AF_PACKET, \
         libc's AF_UNIX and blocking netlink sockets) and {} on fds that are no socket",
        strace.other_sockets, strace.not_sockets
    ));
    let mut hinted: Vec<&str> = Vec::new();
    for t in a {
        let name = t.name.as_str();
        let seen =
            strace.names.contains(name) || (name == "poll" && strace.names.contains("ppoll"));
        if !seen && !hinted.contains(&name) {
            hinted.push(name);
            r.info(format!(
                "note: strace's log has no {name} call at all: was it left out of strace's \
                 -e trace= list? (use -e trace={STRACE_TRACE_LIST})"
            ));
        }
    }
    let timed = b.iter().any(|c| c.time.is_some());
    let mut times = 0usize;
    let mut worst = 0i64;
    let mut worst_at = String::new();
    let mut found = Vec::new();
    for step in steps {
        let (i, j) = match step {
            Step::Pair(i, j) => (i, j),
            Step::OnlyTrace(i) => {
                found.push(missing(i, &a[i].name, a[i].fd, a[i].ret, "strace", "trace"));
                continue;
            }
            Step::OnlyStrace(j) => {
                found.push(missing(j, &b[j].name, b[j].fd, b[j].ret, "trace", "strace"));
                continue;
            }
        };
        let (t, s) = (&a[i], &b[j]);
        let id = format!("syscall #{i} ({})", t.name);
        if t.name != s.name {
            found.push(format!("{id} name: trace {}, strace {}", t.name, s.name));
        }
        if t.fd != s.fd {
            found.push(format!(
                "{id} fd: trace {}, strace {}",
                opt(&t.fd),
                opt(&s.fd)
            ));
        }
        if t.ret != s.ret {
            found.push(format!("{id} ret: trace {}, strace {}", t.ret, s.ret));
        }
        if t.errno != s.errno {
            found.push(format!(
                "{id} errno: trace {}, strace {}",
                opt(&t.errno),
                opt(&s.errno)
            ));
        }
        if t.name == s.name {
            // The arguments compared by name: the union of both sides' keys, trace's order first.
            let mut keys: Vec<&str> = t.details.iter().map(|(k, _)| *k).collect();
            for (k, _) in &s.details {
                if !keys.contains(k) {
                    keys.push(k);
                }
            }
            let get = |d: &[(&'static str, String)], k: &str| {
                d.iter()
                    .find(|(x, _)| *x == k)
                    .map_or("none".to_string(), |(_, v)| v.clone())
            };
            for k in keys {
                let (x, y) = (get(&t.details, k), get(&s.details, k));
                if x != y {
                    found.push(format!("{id} {k}: trace {x}, strace {y}"));
                }
            }
        }
        if let Some(st) = s.time {
            times += 1;
            let d = time_diff_us(st, trace.epoch_us + t.start_us);
            if d.abs() > worst {
                (worst, worst_at) = (d.abs(), format!(" at syscall #{i} start"));
            }
            if d.abs() > tol_us {
                found.push(format!(
                    "{id} start_us: strace is {} off the trace (tolerance {})",
                    ms(d),
                    ms(tol_us)
                ));
            }
            if let Some(dur) = s.duration_us {
                let d = time_diff_us(add_us(st, dur), trace.epoch_us + t.end_us);
                if d.abs() > worst {
                    (worst, worst_at) = (d.abs(), format!(" at syscall #{i} end"));
                }
                if d.abs() > tol_us {
                    found.push(format!(
                        "{id} end_us: strace (time + duration) is {} off the trace (tolerance {})",
                        ms(d),
                        ms(tol_us)
                    ));
                }
            }
        }
    }
    if timed {
        r.info(format!(
            "syscall times: {times} compared, largest difference {}{worst_at}",
            ms(worst)
        ));
    } else {
        r.info("syscall times: not compared (the strace log has no -tt/-ttt timestamps)".into());
    }
    for f in found {
        r.mismatch(f);
    }
    report_unknown(trace, r);
}

/// One `not compared` line per trace syscall of a kind the checker does not know.
fn report_unknown(trace: &Trace, r: &mut Report) {
    for u in &trace.unknown {
        r.not_compared(format!(
            "unknown syscall {} (the trace's syscall event #{}, fd {})",
            u.name,
            u.event,
            opt(&u.fd)
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// The pcap.

/// One frame of the pcap, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct PcapFrame {
    pub ts_us_epoch: u64,
    pub direction: String,
    pub src: String,
    pub dst: String,
    pub flags: Option<String>,
    pub payload_len: u64,
    /// tcpdump's line for it (relative seq/ack replayed over the whole capture).
    pub line: String,
}

fn linktype(n: u32) -> Option<Linktype> {
    [Linktype::Ethernet, Linktype::RawIp, Linktype::LinuxSll]
        .into_iter()
        .find(|l| l.pcap_number() == n)
}

/// Reads and decodes a pcap. Directions: the side that opened each conversation (sent the SYN
/// without ACK, or the first packet seen) is `out`, as wtcurl is always the client.
pub fn read_pcap(path: &Path) -> Result<Vec<PcapFrame>, CheckError> {
    let file = std::fs::File::open(path)
        .map_err(|e| err(format!("cannot read {}: {e}", path.display())))?;
    let mut reader = pcap_file::pcap::PcapReader::new(std::io::BufReader::new(file))
        .map_err(|e| err(format!("{}: not a pcap: {e}", path.display())))?;
    let number = u32::from(reader.header().datalink);
    let lt = linktype(number).ok_or_else(|| {
        err(format!(
            "{}: link type {number} is not supported",
            path.display()
        ))
    })?;
    let mut packets = Vec::new();
    let mut clients: HashMap<(SocketAddr, SocketAddr), SocketAddr> = HashMap::new();
    while let Some(p) = reader.next_packet() {
        let p = p.map_err(|e| err(format!("{}: {e}", path.display())))?;
        let Some(decoded) = decode(lt, &p.data) else {
            continue;
        };
        let (src, dst) = (decoded.src, decoded.dst);
        let conv = if src <= dst { (src, dst) } else { (dst, src) };
        let opens = matches!(&decoded.proto, Proto::Tcp(t) if t.flags.0 & 0x12 == 0x02);
        if opens {
            clients.insert(conv, src);
        } else {
            clients.entry(conv).or_insert(src);
        }
        let direction = if clients[&conv] == src {
            Direction::Out
        } else {
            Direction::In
        };
        packets.push(Packet {
            ts_us_epoch: p.timestamp.as_micros() as u64,
            direction,
            raw: p.data.to_vec(),
            orig_len: p.orig_len,
            decoded,
        });
    }
    let seqs = FlowSeqs::new(&packets);
    Ok(packets
        .iter()
        .map(|p| {
            let (flags, payload_len) = match &p.decoded.proto {
                Proto::Tcp(t) => (Some(t.flags.tcpdump()), t.payload_len as u64),
                Proto::Udp { payload_len } => (None, *payload_len as u64),
                _ => (None, 0),
            };
            PcapFrame {
                ts_us_epoch: p.ts_us_epoch,
                direction: if p.direction == Direction::Out {
                    "out"
                } else {
                    "in"
                }
                .into(),
                src: p.decoded.src.to_string(),
                dst: p.decoded.dst.to_string(),
                flags,
                payload_len,
                line: tcpdump_line(p, &seqs),
            }
        })
        .collect())
}

/// `seq 1:79` / `ack 80` as printed in a tcpdump line.
fn field<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let i = line.find(&format!(", {name} "))? + name.len() + 3;
    line[i..].split([',', ' ']).next()
}

fn compare_packets(trace: &Trace, frames: &[PcapFrame], tol_us: i64, r: &mut Report) {
    let (a, b) = (&trace.packets, frames);
    let n = a.len().min(b.len());
    r.info(format!(
        "packets: {} in trace, {} in pcap, {n} compared",
        a.len(),
        b.len()
    ));
    let mut found = Vec::new();
    let mut worst = 0i64;
    for i in 0..n {
        let (t, p) = (&a[i], &b[i]);
        let id = format!("packet #{i}");
        let mut diff = |what: &str, x: &str, y: &str| {
            if x != y {
                found.push(format!("{id} {what}: trace {x}, pcap {y}"));
            }
        };
        diff("direction", &t.direction, &p.direction);
        diff("src", &t.src, &p.src);
        diff("dst", &t.dst, &p.dst);
        diff("flags", &opt(&t.flags), &opt(&p.flags));
        diff(
            "seq",
            field(&t.line, "seq").unwrap_or("none"),
            field(&p.line, "seq").unwrap_or("none"),
        );
        diff(
            "ack",
            field(&t.line, "ack").unwrap_or("none"),
            field(&p.line, "ack").unwrap_or("none"),
        );
        diff(
            "payload_len",
            &t.payload_len.to_string(),
            &p.payload_len.to_string(),
        );
        let d = p.ts_us_epoch as i64 - (trace.epoch_us + t.at_us) as i64;
        worst = worst.max(d.abs());
        if d.abs() > tol_us {
            found.push(format!(
                "{id} at_us: pcap is {} off the trace (tolerance {})",
                ms(d),
                ms(tol_us)
            ));
        }
    }
    for (i, t) in a.iter().enumerate().skip(n) {
        found.push(format!("packet #{i} missing in pcap: trace has {}", t.line));
    }
    for (i, p) in b.iter().enumerate().skip(n) {
        found.push(format!("packet #{i} missing in trace: pcap has {}", p.line));
    }
    r.info(format!(
        "packet times: {n} compared, largest difference {}",
        ms(worst)
    ));
    for f in found {
        r.mismatch(f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn trace_call(name: &str, fd: i64) -> TraceCall {
        TraceCall {
            name: name.into(),
            kind: CallKind::Inet,
            fd: Some(fd),
            ret: 0,
            errno: None,
            details: Vec::new(),
            start_us: 0,
            end_us: 0,
        }
    }

    fn strace_call(name: &str, fd: i64) -> StraceCall {
        StraceCall {
            name: name.into(),
            kind: CallKind::Inet,
            fd: Some(fd),
            ret: 0,
            errno: None,
            details: Vec::new(),
            time: None,
            duration_us: None,
        }
    }

    #[test]
    fn one_call_left_out_is_one_mismatch_and_the_walk_gets_back_in_step() {
        let calls = [
            ("socket", 3),
            ("connect", 3),
            ("poll", 3),
            ("ioctl", 3),
            ("close", 3),
        ];
        let a: Vec<TraceCall> = calls.iter().map(|(n, f)| trace_call(n, *f)).collect();
        let all: Vec<StraceCall> = calls.iter().map(|(n, f)| strace_call(n, *f)).collect();
        use Step::*;
        // strace's log lacks the ioctl: one OnlyTrace, then in step again.
        let mut b = all
            .iter()
            .map(|c| strace_call(&c.name, 3))
            .collect::<Vec<_>>();
        b.remove(3);
        assert_eq!(
            align(&a, &b),
            [Pair(0, 0), Pair(1, 1), Pair(2, 2), OnlyTrace(3), Pair(4, 3)]
        );
        // strace has one call more: one OnlyStrace.
        let mut b = all
            .iter()
            .map(|c| strace_call(&c.name, 3))
            .collect::<Vec<_>>();
        b.insert(1, strace_call("getsockname", 3));
        assert_eq!(
            align(&a, &b),
            [
                Pair(0, 0),
                OnlyStrace(1),
                Pair(1, 2),
                Pair(2, 3),
                Pair(3, 4),
                Pair(4, 5)
            ]
        );
        // A different fd with nothing to get back in step with: paired, so compared and reported.
        let b: Vec<StraceCall> = calls.iter().map(|(n, _)| strace_call(n, 4)).collect();
        assert_eq!(align(&a, &b).len(), 5);
        assert!(align(&a, &b).iter().all(|s| matches!(s, Pair(..))));
    }

    #[test]
    fn the_documented_strace_list_is_the_checked_one() {
        assert_eq!(STRACE_TRACE_LIST, CHECKED_SYSCALLS.join(","));
        let help = Args::command()
            .get_after_help()
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(
            help.contains(&format!("trace={STRACE_TRACE_LIST} ")),
            "{help}"
        );
        assert!(help.contains("3 no mismatch, but"), "{help}");
    }

    #[test]
    fn ioctl_and_netlink_calls_are_selected_and_others_counted_out() {
        let log = read_strace(
            "\
            1 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC, NETLINK_ROUTE) = 5\n\
            1 sendto(5, [{nlmsg_len=20, nlmsg_type=RTM_GETLINK}], 20, 0, NULL, 0) = 20\n\
            1 ioctl(5, SIOCGIFINDEX, {ifr_name=\"lo\", ifr_ifindex=1}) = 0\n\
            1 close(5) = 0\n\
            1 ioctl(2, TCGETS, 0x7ffc569542d0) = -1 ENOTTY (Inappropriate ioctl for device)\n\
            1 socket(AF_NETLINK, SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK, NETLINK_SOCK_DIAG) = 5\n\
            1 recvfrom(5, [{nlmsg_len=92, nlmsg_type=NLMSG_ERROR, nlmsg_flags=0}], 32768, 0, NULL, NULL) = 92\n\
            1 close(5) = 0\n\
            1 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 4\n\
            1 ioctl(4, FIONREAD, [17]) = 0\n\
            1 ioctl(4, FIONREAD, 0x7ffc569542d0) = -1 EBADF (Bad file descriptor)\n\
            1 +++ exited with 0 +++\n",
        );
        assert_eq!((log.lines.len(), log.markers), (11, 1));
        assert!(log.unreadable.is_empty(), "{:?}", log.unreadable);
        let sel = select_calls(&log);
        let got: Vec<_> = sel
            .calls
            .iter()
            .map(|c| (c.name.as_str(), c.kind, c.fd, c.ret))
            .collect();
        assert_eq!(
            got,
            vec![
                ("socket", CallKind::Netlink, Some(5), 5),
                ("recvfrom", CallKind::Netlink, Some(5), 92),
                ("close", CallKind::Netlink, Some(5), 0),
                ("socket", CallKind::Inet, Some(4), 4),
                ("ioctl", CallKind::Ioctl, Some(4), 0),
                ("ioctl", CallKind::Ioctl, Some(4), -1),
            ]
        );
        assert_eq!(
            sel.calls[0].details,
            vec![
                ("domain", "AF_NETLINK".to_string()),
                ("type", "SOCK_CLOEXEC|SOCK_NONBLOCK|SOCK_RAW".to_string()),
                ("protocol", "NETLINK_SOCK_DIAG".to_string()),
            ]
        );
        assert_eq!(
            sel.calls[4].details,
            vec![
                ("request", "FIONREAD".to_string()),
                ("value", "17".to_string())
            ]
        );
        assert_eq!(sel.calls[5].details[1], ("value", "none".to_string()));
        // libc's blocking netlink socket: socket, sendto, ioctl, close; the terminal's ioctl.
        assert_eq!((sel.other_sockets, sel.not_sockets), (4, 1));
    }

    #[test]
    fn lines_strace_never_writes_are_unreadable() {
        let log = read_strace("myhost\n{\"type\":\"syscall\"}\nsome text (with parens) = 3\n\n");
        assert!(log.lines.is_empty() && log.markers == 0, "{log:?}");
        assert_eq!(log.unreadable.len(), 3);
        assert_eq!(log.unreadable[2].0, 3);
    }

    #[test]
    fn trace_syscalls_are_sorted_by_kind_and_unknown_ones_kept() {
        let trace = parse_trace(
            r#"{"type":"trace_start","epoch_us":1}
{"type":"syscall","name":"socket","fd":5,"ret":5,"start_us":1,"end_us":2,"args":{"domain":"AF_NETLINK","protocol":"NETLINK_ROUTE","type":"SOCK_RAW|SOCK_CLOEXEC|SOCK_NONBLOCK"}}
{"type":"syscall","name":"poll","fd":5,"ret":1,"start_us":3,"end_us":4,"args":{"fds":[{"fd":5,"events":"POLLIN"}],"timeout_ms":1000}}
{"type":"syscall","name":"splice","fd":5,"ret":0,"start_us":5,"end_us":6,"args":{}}
{"type":"syscall","name":"close","fd":5,"ret":0,"start_us":7,"end_us":8,"args":{}}
{"type":"syscall","name":"socket","fd":5,"ret":5,"start_us":9,"end_us":10,"args":{"domain":"AF_INET","protocol":0,"type":"SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK"}}
{"type":"syscall","name":"ioctl","fd":5,"ret":0,"start_us":11,"end_us":12,"args":{"request":"FIONREAD","value":0}}
{"type":"syscall","name":"close","fd":5,"ret":0,"start_us":13,"end_us":14,"args":{}}
"#,
        )
        .unwrap();
        assert_eq!(trace.syscall_events, 7);
        let kinds: Vec<_> = trace.calls.iter().map(|c| c.kind).collect();
        use CallKind::*;
        assert_eq!(kinds, vec![Netlink, Netlink, Netlink, Inet, Ioctl, Inet]);
        assert_eq!(
            trace.unknown,
            vec![UnknownCall {
                event: 2,
                name: "splice".into(),
                fd: Some(5)
            }]
        );
        assert_eq!(trace.calls[4].details[1], ("value", "0".to_string()));
    }
}
