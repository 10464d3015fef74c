//! Checking a wtcurl trace against strace and a pcap of the same run: every mismatch, reported.
//!
//! `wtcurl-check --trace T.jsonl [--strace S.txt] [--pcap P.pcap] [--tolerance-ms 5]` compares:
//!
//! - **syscalls**: the trace's `syscall` events against strace's log (`strace -f [-tt|-ttt] [-T]
//!   -e trace=socket,connect,… -o S.txt wtcurl …`): same order, name, fd, result and errno. Only the
//!   calls named in [`CHECKED_SYSCALLS`] count, on both sides; on strace's side only those on
//!   AF_INET/AF_INET6 sockets (fds tracked from `socket()` to `close()`; the packet capture's
//!   AF_PACKET socket and libc's netlink sockets are not the request's), and polls that involve one;
//!   on the trace's side, `--kernel-view`'s netlink sockets are left out the same way.
//!   `ppoll` counts as `poll`.
//! - **packets**: the trace's `packet` events against the pcap's frames: same count, direction,
//!   source, destination, TCP flags, seq and ack (as tcpdump prints them: relative once the
//!   handshake is seen, replayed with [`FlowSeqs`]) and payload length.
//! - **timing**: each syscall's `start_us` against strace's timestamp (its entry), and `end_us`
//!   against the timestamp plus `-T`'s duration when present; each packet's `at_us` against the
//!   pcap's timestamp. Trace times are made absolute with `trace_start.epoch_us`; `-tt`'s time of
//!   day is local time, compared modulo a day. A time agrees when `|difference| <= tolerance`.
//!
//! [`run`] returns a [`Report`]: summary lines, one line per mismatch (`mismatch: syscall #7
//! (sendto) ret: trace 78, strace 77`) and the final count.

use crate::capture::{Direction, FlowSeqs, Linktype, Packet, Proto, decode, tcpdump_line};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The syscalls compared (strace's `-e trace=` list in the documented invocation). Others in
/// either log (setsockopt, bind, shutdown…) are ignored on both sides.
pub const CHECKED_SYSCALLS: &[&str] = &[
    "socket",
    "connect",
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

/// The command line of `wtcurl-check`.
#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "wtcurl-check",
    about = "Check a wtcurl --trace-json trace against strace's log and a pcap of the same run",
    after_help = "Exit status: 0 no mismatch, 1 mismatches, 2 usage or I/O error.\n\
                  strace: strace -f -tt -T -e trace=socket,connect,sendto,recvfrom,sendmsg,recvmsg,\
                  poll,ppoll,getsockopt,getsockname,getpeername,close -o S.txt wtcurl --trace-json T.jsonl …"
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
    /// Summary lines (counts compared), then one line per mismatch, in order.
    pub lines: Vec<String>,
    /// The mismatches alone (each also in `lines`).
    pub mismatches: Vec<String>,
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

    /// The printed report, ending with `0 mismatches` or `N mismatches`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for l in &self.lines {
            out.push_str(l);
            out.push('\n');
        }
        let n = self.mismatches.len();
        let _ = writeln!(out, "{n} mismatch{}", if n == 1 { "" } else { "es" });
        out
    }

    /// 0 without mismatches, 1 with.
    pub fn exit_code(&self) -> i32 {
        if self.mismatches.is_empty() { 0 } else { 1 }
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
            2
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
    let mut report = Report::default();
    report.info(format!(
        "trace: {} syscalls, {} packets, epoch_us {}; tolerance {} ms",
        trace.calls.len(),
        trace.packets.len(),
        trace.epoch_us,
        args.tolerance_ms
    ));
    if let Some(p) = &args.strace {
        let calls = strace_calls(&read(p)?);
        compare_syscalls(&trace, &calls, tolerance_us, &mut report);
    }
    if let Some(p) = &args.pcap {
        let frames = read_pcap(p)?;
        compare_packets(&trace, &frames, tolerance_us, &mut report);
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// The trace.

/// One syscall event of the trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceCall {
    pub name: String,
    pub fd: Option<i64>,
    pub ret: i64,
    pub errno: Option<String>,
    pub start_us: u64,
    pub end_us: u64,
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
    /// The syscalls named in [`CHECKED_SYSCALLS`], in order.
    pub calls: Vec<TraceCall>,
    pub packets: Vec<TracePacket>,
}

/// Parses a `--trace-json` file.
pub fn parse_trace(text: &str) -> Result<Trace, CheckError> {
    let mut epoch_us = None;
    let mut calls = Vec::new();
    let mut packets = Vec::new();
    // --kernel-view's netlink sockets: like strace's side, only AF_INET/AF_INET6 sockets count.
    let mut netlink_fds: Vec<i64> = Vec::new();
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
                let name = v["name"]
                    .as_str()
                    .ok_or_else(|| bad("syscall without name"))?;
                let name = if name == "ppoll" { "poll" } else { name };
                if !CHECKED_SYSCALLS.contains(&name) {
                    continue;
                }
                if name == "socket" && v["args"]["domain"] == "AF_NETLINK" {
                    netlink_fds.extend(v["ret"].as_i64().filter(|fd| *fd >= 0));
                    continue;
                }
                if let Some(fd) = v["fd"].as_i64().filter(|fd| netlink_fds.contains(fd)) {
                    if name == "close" {
                        netlink_fds.retain(|f| *f != fd);
                    }
                    continue;
                }
                calls.push(TraceCall {
                    name: name.to_string(),
                    fd: v["fd"].as_i64(),
                    ret: v["ret"]
                        .as_i64()
                        .ok_or_else(|| bad("syscall without ret"))?,
                    errno: v["errno"].as_str().map(str::to_string),
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
        calls,
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

/// One network syscall on a socket, as strace saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct StraceCall {
    pub name: String,
    pub fd: Option<i64>,
    pub ret: i64,
    pub errno: Option<String>,
    pub time: Option<StraceTime>,
    pub duration_us: Option<u64>,
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

/// Parses strace's log: `[PID] [TIME] name(args) = ret [ERRNO (text)] [<duration>]`, joining
/// `<unfinished ...>` / `<... name resumed>` pairs (the entry's time is kept).
pub fn parse_strace(text: &str) -> Vec<StraceLine> {
    let mut pending: HashMap<String, (String, Option<StraceTime>)> = HashMap::new();
    let mut out = Vec::new();
    for raw in text.lines() {
        let (pid, time, rest) = split_prefix(raw);
        let (line, time) = if let Some(head) = rest.strip_suffix(" <unfinished ...>") {
            pending.insert(pid, (head.to_string(), time));
            continue;
        } else if rest.starts_with("<... ") {
            let tail = rest.split_once("resumed>").map(|x| x.1).unwrap_or("");
            let (head, t0) = pending.remove(&pid).unwrap_or_default();
            (format!("{head}{tail}"), t0.or(time))
        } else {
            (rest.to_string(), time)
        };
        if line.starts_with("+++") || line.starts_with("---") {
            continue;
        }
        let (line, duration_us) = split_duration(&line);
        let Some(open) = line.find('(') else { continue };
        let name = line[..open].to_string();
        let Some(eq) = line.rfind(" = ") else {
            continue;
        };
        if eq < open {
            continue;
        }
        let args = line[open + 1..eq]
            .trim_end()
            .trim_end_matches(')')
            .to_string();
        let result = &line[eq + 3..];
        let ret = first_int(result).unwrap_or(i64::MIN);
        let errno = (ret == -1).then(|| result.split_whitespace().nth(1).unwrap_or("").to_string());
        out.push(StraceLine {
            name,
            args,
            ret,
            errno,
            time,
            duration_us,
        });
    }
    out
}

/// The checked syscalls on AF_INET/AF_INET6 sockets, as strace saw them.
pub fn strace_calls(text: &str) -> Vec<StraceCall> {
    let mut sockets: HashSet<i64> = HashSet::new();
    let mut calls = Vec::new();
    for l in parse_strace(text) {
        let name = if l.name == "ppoll" {
            "poll".to_string()
        } else {
            l.name.clone()
        };
        if !CHECKED_SYSCALLS.contains(&name.as_str()) {
            continue;
        }
        let call = |fd: Option<i64>| StraceCall {
            name: name.clone(),
            fd,
            ret: l.ret,
            errno: l.errno.clone(),
            time: l.time,
            duration_us: l.duration_us,
        };
        match name.as_str() {
            "socket" => {
                let domain = l.args.split(',').next().unwrap_or("").trim();
                if domain != "AF_INET" && domain != "AF_INET6" {
                    continue;
                }
                if l.ret >= 0 {
                    sockets.insert(l.ret);
                }
                calls.push(call((l.ret >= 0).then_some(l.ret)));
            }
            "poll" => {
                let fds: Vec<i64> = l.args.split("fd=").skip(1).filter_map(first_int).collect();
                if fds.iter().any(|f| sockets.contains(f)) {
                    calls.push(call((fds.len() == 1).then(|| fds[0])));
                }
            }
            _ => {
                let Some(fd) = first_int(&l.args) else {
                    continue;
                };
                if !sockets.contains(&fd) {
                    continue;
                }
                if name == "close" {
                    sockets.remove(&fd);
                }
                calls.push(call(Some(fd)));
            }
        }
    }
    calls
}

/// The local time zone's offset from UTC at `epoch_s`, in seconds (what strace's `-tt` used).
fn utc_offset_s(epoch_s: i64) -> i64 {
    let t = epoch_s as libc::time_t;
    // SAFETY: localtime_r only writes the tm it is given.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe { !libc::localtime_r(&t, &mut tm).is_null() };
    if ok { tm.tm_gmtoff as i64 } else { 0 }
}

const DAY_US: i64 = 86_400_000_000;

/// strace's time minus the trace's (absolute, µs) time.
fn time_diff_us(strace: StraceTime, trace_epoch_us: u64) -> i64 {
    match strace {
        StraceTime::Epoch(us) => us as i64 - trace_epoch_us as i64,
        StraceTime::TimeOfDay(us) => {
            let off = utc_offset_s((trace_epoch_us / 1_000_000) as i64) * 1_000_000;
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

fn compare_syscalls(trace: &Trace, strace: &[StraceCall], tol_us: i64, r: &mut Report) {
    let (a, b) = (&trace.calls, strace);
    let n = a.len().min(b.len());
    r.info(format!(
        "syscalls: {} in trace, {} in strace, {n} compared",
        a.len(),
        b.len()
    ));
    let timed = b.iter().any(|c| c.time.is_some());
    let mut times = 0usize;
    let mut worst = 0i64;
    let mut worst_at = String::new();
    let mut found = Vec::new();
    for i in 0..n {
        let (t, s) = (&a[i], &b[i]);
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
    for (i, t) in a.iter().enumerate().skip(n) {
        found.push(format!(
            "syscall #{i} ({}) missing in strace: trace has fd {} ret {}",
            t.name,
            opt(&t.fd),
            t.ret
        ));
    }
    for (i, s) in b.iter().enumerate().skip(n) {
        found.push(format!(
            "syscall #{i} ({}) missing in trace: strace has fd {} ret {}",
            s.name,
            opt(&s.fd),
            s.ret
        ));
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
