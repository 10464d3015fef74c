//! `--packets` / `--pcap`: a capture around one run, fed by the event stream, reported as events.

use super::{Capture, CaptureSpec, Direction, FlowProto, FlowSeqs, tcpdump_line, write_pcap};
use crate::engine::Request;
use crate::event::{Event, Observer, Tracer};
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long `stop` waits for the last packets when a flow never finishes its FIN exchange.
const LINGER: Duration = Duration::from_millis(1000);

/// A capture for one run, or the reason there is none.
pub struct Session {
    /// The trace's wall-clock start, to place packets on the trace's time line.
    epoch_us: u64,
    /// Shared with the [`Feeder`]; taken out when the run ends.
    capture: Arc<Mutex<Option<Capture>>>,
    start_error: Option<(String, Option<&'static str>)>,
    hosts: Vec<IpAddr>,
    /// The DNS servers, added to the filter when the run reads resolv.conf (before any query).
    dns_servers: Vec<IpAddr>,
    pcap: Option<PathBuf>,
    /// `-m`'s deadline: waiting for the last packets never runs past it.
    deadline: Option<Instant>,
}

/// The DNS servers the run would ask: --dns-servers, else resolv.conf's (glibc's default when
/// it names none).
fn dns_servers(req: &Request) -> Vec<IpAddr> {
    match &req.resolver.servers_override {
        Some(servers) => servers.iter().map(|s| s.ip()).collect(),
        None => {
            let text = std::fs::read_to_string(&req.resolver.resolv_conf_path).unwrap_or_default();
            let conf = crate::dns::resolvconf::parse(&text);
            let mut ns: Vec<IpAddr> = conf.nameservers.iter().map(|s| s.ip()).collect();
            if ns.is_empty() {
                ns.push(crate::dns::resolvconf::default_nameserver().ip());
            }
            ns
        }
    }
}

/// Whether the first hop may ask DNS: its host (after --connect-to) is a name that --resolve does
/// not give. With -L a later hop may, so the DNS servers count as well.
fn may_use_dns(req: &Request) -> bool {
    let Ok(t) = crate::target::parse(&req.url) else {
        return true;
    };
    if req.follow {
        return true;
    }
    let (host, port) = req
        .connect_to
        .iter()
        .find(|c| c.applies(&t.host_ascii, t.port))
        .map_or((t.host_ascii.clone(), t.port), |c| {
            (
                c.to_host.clone().unwrap_or(t.host_ascii.clone()),
                c.to_port.unwrap_or(t.port),
            )
        });
    let literal = if host == t.host_ascii {
        t.ip.is_some()
    } else {
        host.parse::<IpAddr>().is_ok()
    };
    let given = req
        .resolve
        .iter()
        .any(|r| r.host.eq_ignore_ascii_case(&host) && r.port == port);
    !literal && !given
}

/// The addresses known before the run: the URL's literal, --resolve and --connect-to, and the DNS
/// servers only when the run may ask them (an IP literal needs no DNS, so its capture neither
/// names nor filters for the resolver).
fn initial_hosts(req: &Request) -> Vec<IpAddr> {
    let mut hosts: Vec<IpAddr> = if may_use_dns(req) {
        dns_servers(req)
    } else {
        Vec::new()
    };
    if let Ok(t) = crate::target::parse(&req.url)
        && let Some(ip) = t.ip
    {
        hosts.push(ip);
    }
    hosts.extend(req.resolve.iter().flat_map(|r| r.addrs.iter().copied()));
    hosts.extend(
        req.connect_to
            .iter()
            .filter_map(|c| c.to_host.as_deref()?.parse::<IpAddr>().ok()),
    );
    let mut seen = Vec::with_capacity(hosts.len());
    hosts.retain(|h| {
        let new = !seen.contains(h);
        seen.push(*h);
        new
    });
    hosts
}

impl Session {
    /// Starts capturing before anything is sent. Without privilege it carries on without packets.
    pub fn start(req: &Request, pcap: Option<PathBuf>, epoch_us: u64) -> Session {
        let hosts = initial_hosts(req);
        let dns_servers = dns_servers(req);
        let deadline = req.max_time.map(|d| Instant::now() + d);
        let spec = CaptureSpec {
            interface: None,
            hosts: hosts.clone(),
        };
        match Capture::start(&spec) {
            Ok(capture) => Session {
                epoch_us,
                capture: Arc::new(Mutex::new(Some(capture))),
                start_error: None,
                hosts,
                dns_servers,
                pcap,
                deadline,
            },
            Err(e) => Session {
                epoch_us,
                capture: Arc::new(Mutex::new(None)),
                start_error: Some((e.to_string(), e.hint())),
                hosts,
                dns_servers,
                pcap,
                deadline,
            },
        }
    }

    /// The start as an event (call it first thing after the tracer exists).
    pub fn announce(&self, t: &mut Tracer) {
        let at = t.now_us();
        // Its own statement: the lock must be released before emit reaches the feeder.
        let interface = lock(&self.capture)
            .as_ref()
            .map(|c| c.interface().to_string());
        t.emit(Event::CaptureStart {
            at_us: at,
            interface,
            hosts: self.hosts.clone(),
            error: self.start_error.as_ref().map(|e| e.0.clone()),
            hint: self
                .start_error
                .as_ref()
                .and_then(|e| e.1.map(str::to_string)),
        });
    }

    /// The observer that tells the capture about addresses and connections as the run learns them.
    pub fn feeder(&self) -> Feeder {
        Feeder {
            capture: self.capture.clone(),
            dns_servers: self.dns_servers.clone(),
        }
    }

    /// Stops the capture and emits every packet, then the summary; writes the pcap if asked.
    fn report(&self, t: &mut Tracer, epoch_us: u64) {
        let taken = lock(&self.capture).take();
        let Some(capture) = taken else { return };
        // Up to LINGER for the last packets (the FINs after close), but never past -m.
        let left = self
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()));
        let linger = left.map_or(LINGER, |l| l.min(LINGER));
        let report = capture.stop(linger);
        let seqs = FlowSeqs::new(&report.packets);
        for p in &report.packets {
            let (flags, payload_len) = match p.decoded.tcp() {
                Some(seg) => (Some(seg.flags.tcpdump()), seg.payload_len),
                None => match &p.decoded.proto {
                    super::Proto::Udp { payload_len } => (None, *payload_len),
                    _ => (None, 0),
                },
            };
            t.emit(Event::Packet {
                at_us: p.ts_us_epoch.saturating_sub(epoch_us),
                direction: if p.direction == Direction::Out {
                    "out"
                } else {
                    "in"
                }
                .into(),
                src: p.decoded.src,
                dst: p.decoded.dst,
                flags,
                payload_len,
                what: p.decoded.what.clone(),
                line: tcpdump_line(p, &seqs),
            });
        }
        let mut notes = report.notes.clone();
        if linger < LINGER {
            notes.push(format!(
                "stopped waiting for the last packets after {} ms, at -m's deadline: packets after that (the closing FINs and ACKs) may be missing",
                linger.as_millis()
            ));
        }
        let pcap = self
            .pcap
            .as_ref()
            .map(|path| match write_pcap(path, &report) {
                Ok(()) => path.display().to_string(),
                Err(e) => {
                    notes.push(format!("writing {} failed: {e}", path.display()));
                    path.display().to_string()
                }
            });
        let at = t.now_us();
        t.emit(Event::CaptureDone {
            at_us: at,
            interface: report.interface.clone(),
            linktype: report.linktype.name().to_string(),
            packets: report.packets.len(),
            dropped: report.dropped,
            dropped_known: report.dropped_known,
            notes,
            pcap,
        });
    }
}

fn lock(m: &Mutex<Option<Capture>>) -> std::sync::MutexGuard<'_, Option<Capture>> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Feeds the capture from the event stream: resolved addresses before the SYN, each connect
/// attempt's flow as soon as connect() has bound its socket.
pub struct Feeder {
    capture: Arc<Mutex<Option<Capture>>>,
    dns_servers: Vec<IpAddr>,
}

impl Observer for Feeder {
    fn wants_syscalls(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event) {
        let guard = lock(&self.capture);
        let Some(c) = guard.as_ref() else { return };
        match event {
            // DNS is about to be asked (resolv.conf is read before any query is sent).
            Event::ResolvConf { .. } => self.dns_servers.iter().for_each(|a| c.add_host(*a)),
            Event::Resolved { addresses, .. } => addresses.iter().for_each(|a| c.add_host(*a)),
            // connect() has bound the socket: from here on, this attempt's packets (a failed or
            // timed-out one's SYNs, retransmits and RST too) are its flow's, and other
            // connections to the same address and port are not wtcurl's.
            Event::ConnectAttempt {
                addr,
                local: Some(local),
                ..
            } => c.add_flow(FlowProto::Tcp, *local, *addr),
            // A failed, abandoned or timed-out attempt is over: no FIN exchange will come, so
            // the capture's final wait does not wait for one.
            Event::ConnectResult {
                ok: false,
                addr,
                local: Some(local),
                ..
            } => c.end_flow(FlowProto::Tcp, *local, *addr),
            _ => {}
        }
    }
}

impl crate::engine::Hooks for Session {
    fn after(
        &mut self,
        t: &mut Tracer,
        _status: Option<u16>,
        _error: Option<&crate::error::Error>,
    ) {
        self.report(t, self.epoch_us);
    }
}
