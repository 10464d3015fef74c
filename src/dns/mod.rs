//! Name resolution done by wtcurl itself: nsswitch order, hosts file, resolv.conf, DNS over its own sockets.
//!
//! curl resolves with glibc's `getaddrinfo`; wtcurl does the same steps itself so that each one can
//! be shown: [`nsswitch`] says which sources to ask and in which order, [`hosts`] is the `files`
//! source, [`resolvconf`] configures the `dns` source, whose messages are built and checked by
//! [`wire`] and carried by [`transport`] (every socket call recorded by [`crate::sys`]).
//!
//! What follows glibc, and how closely:
//! - Sources: only `files` and `dns` are consulted; any other source (`mdns4_minimal`, `resolve`,
//!   `myhostname`, ...) is listed as not consulted and skipped. Action groups such as
//!   `[NOTFOUND=return]` are honoured for `files` and `dns` (those of skipped sources have no
//!   effect). The status of `files` is SUCCESS, NOTFOUND, or UNAVAIL when the file cannot be read;
//!   of `dns`: SUCCESS, NOTFOUND (NXDOMAIN, no address, REFUSED, bad answers), TRYAGAIN (SERVFAIL)
//!   or UNAVAIL (no answer at all). If the `hosts:` line names neither `files` nor `dns`, wtcurl
//!   consults `files` then `dns` anyway, and the [`Event::Nsswitch`] says so.
//! - Family [`Family::Any`] sends A then AAAA back to back on one UDP socket; answers may come in
//!   any order. Addresses are returned AAAA first, then A.
//! - The UDP socket is `connect`ed to the server, as glibc's `send_dg` does: the kernel passes on
//!   only that server's datagrams, and an ICMP port unreachable (nothing listens there) comes back
//!   as ECONNREFUSED on the next call, so the next server is asked at once instead of after the
//!   timeout. If no wait ran to its timeout and every server failed so, the lookup fails with
//!   `dns_unreachable` (glibc: ECONNREFUSED when no server "got somewhere"), else it is a timeout.
//! - Retries: for each attempt, each server in turn (a random start with `rotate`, as glibc 2.26+),
//!   waiting `timeout` seconds (at least 1) but never past the deadline; a query already answered
//!   with NOERROR/NXDOMAIN is not asked again. SERVFAIL, REFUSED or another error code moves on to
//!   the next server; when every server of an attempt answered (even with errors) no further
//!   attempt is made. TC=1 repeats that query over TCP to the same server.
//! - Search list as resolv.conf(5): a name ending in `.` is tried alone; with at least `ndots`
//!   dots it is tried as is first, then with each search domain; otherwise the search domains come
//!   first. NXDOMAIN, NOERROR without address and SERVFAIL go on to the next name; REFUSED, bad
//!   answers and silence stop the search (as glibc's `res_search`). The final error prefers "no
//!   address" over SERVFAIL over NXDOMAIN, as glibc's `got_nodata`/`got_servfail`.

pub mod hosts;
pub mod nsswitch;
pub mod resolvconf;
pub mod transport;
pub mod wire;

#[cfg(test)]
mod tests;

use crate::error::{Error, Label, Phase, Result};
use crate::event::{AddressSource, Event, Tracer};
use nsswitch::{Action, Status};
use resolvconf::ResolvConf;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::Read;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use wire::{Answer, NOERROR, NXDOMAIN, QType, REFUSED, SERVFAIL};

/// Which address families to ask for (`-4` / `-6`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Family {
    #[default]
    Any,
    V4,
    V6,
}

/// Where the resolver reads its configuration, and what the command line overrides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolverConfig {
    /// Default `/etc/hosts`.
    pub hosts_path: PathBuf,
    /// Default `/etc/resolv.conf`.
    pub resolv_conf_path: PathBuf,
    /// Default `/etc/nsswitch.conf`.
    pub nsswitch_path: PathBuf,
    /// `--dns-servers`: replaces resolv.conf's name servers (its other settings still apply).
    pub servers_override: Option<Vec<SocketAddr>>,
    pub family: Family,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            hosts_path: PathBuf::from("/etc/hosts"),
            resolv_conf_path: PathBuf::from("/etc/resolv.conf"),
            nsswitch_path: PathBuf::from("/etc/nsswitch.conf"),
            servers_override: None,
            family: Family::Any,
        }
    }
}

/// Parses `ADDR[:PORT][,ADDR[:PORT]...]` for `--dns-servers`. IPv6 is written `[::1]:53`, `[::1]`
/// or bare `::1` (then without a port); the port defaults to 53.
pub fn parse_server_list(s: &str) -> std::result::Result<Vec<SocketAddr>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            return Err(format!(
                "empty entry in DNS server list {s:?} (expected ADDR[:PORT][,ADDR[:PORT]...])"
            ));
        }
        out.push(parse_server(item)?);
    }
    Ok(out)
}

fn parse_server(item: &str) -> std::result::Result<SocketAddr, String> {
    if let Ok(sa) = item.parse::<SocketAddr>() {
        return if sa.port() == 0 {
            Err(format!("DNS server {item:?}: port 0 is not usable"))
        } else {
            Ok(sa)
        };
    }
    if let Ok(ip) = item.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    if let Some(inner) = item.strip_prefix('[').and_then(|r| r.strip_suffix(']'))
        && let Ok(ip) = inner.parse::<Ipv6Addr>()
    {
        return Ok(SocketAddr::new(IpAddr::V6(ip), 53));
    }
    if let Some((addr, port)) = item.rsplit_once(':')
        && addr.parse::<std::net::Ipv4Addr>().is_ok()
    {
        return Err(format!(
            "DNS server {item:?}: {port:?} is not a port number (1-65535)"
        ));
    }
    Err(format!(
        "DNS server {item:?} is not an IP address (expected 192.0.2.1, 192.0.2.1:5353, ::1 or [::1]:5353)"
    ))
}

/// Largest configuration file read (bigger ones are read up to this size).
const MAX_FILE: u64 = 64 * 1024 * 1024;

fn read_text(path: &Path) -> std::io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE)
        .read_to_end(&mut bytes)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn random_u64(salt: u64) -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u64(salt);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    h.write_u32(nanos);
    h.finish()
}

/// Resolves `host` (a non-literal name, already ASCII/punycode) as glibc's `getaddrinfo` would,
/// emitting every step. `deadline` bounds the whole resolution in real time.
pub fn resolve(
    t: &mut Tracer,
    cfg: &ResolverConfig,
    host: &str,
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>> {
    let start_us = t.now_us();
    let ns_path = cfg.nsswitch_path.display().to_string();
    let (found, sources) = match read_text(&cfg.nsswitch_path) {
        Ok(text) => (
            true,
            nsswitch::parse(&text).unwrap_or_else(nsswitch::default_sources),
        ),
        Err(_) => (false, nsswitch::default_sources()),
    };
    let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
    let mut plan: Vec<nsswitch::Source> = Vec::new();
    for s in &sources {
        if (s.name == "files" || s.name == "dns") && !plan.iter().any(|p| p.name == s.name) {
            plan.push(s.clone());
        }
    }
    let fallback = plan.is_empty();
    if fallback {
        plan = vec![
            nsswitch::Source {
                name: "files".into(),
                criteria: Vec::new(),
            },
            nsswitch::Source {
                name: "dns".into(),
                criteria: Vec::new(),
            },
        ];
    }
    let at_us = t.now_us();
    t.emit(Event::Nsswitch {
        at_us,
        path: ns_path.clone(),
        found,
        sources: names.clone(),
        consulted: plan.iter().map(|s| s.name.clone()).collect(),
        not_consulted: names
            .iter()
            .filter(|n| *n != "files" && *n != "dns")
            .cloned()
            .collect(),
    });

    let mut dns_error: Option<Error> = None;
    let mut files_note: Option<String> = None;
    let mut stopped: Option<String> = None;
    for (idx, source) in plan.iter().enumerate() {
        let status = if source.name == "files" {
            let path = cfg.hosts_path.display().to_string();
            let (status, found) = match read_text(&cfg.hosts_path) {
                Ok(text) => {
                    let f = hosts::lookup(&hosts::parse(&text), host, cfg.family);
                    files_note = Some(format!("{host} is not in {path}"));
                    let status = if f.addresses.is_empty() {
                        Status::NotFound
                    } else {
                        Status::Success
                    };
                    (status, f)
                }
                Err(e) => {
                    files_note = Some(format!("{path} could not be read ({e})"));
                    (Status::Unavail, hosts::Found::default())
                }
            };
            let at_us = t.now_us();
            t.emit(Event::HostsLookup {
                at_us,
                path,
                name: host.to_string(),
                addresses: found.addresses.clone(),
                line: found.line,
            });
            if status == Status::Success {
                let addrs = found.addresses;
                return Ok(resolved(t, host, AddressSource::Hosts, addrs, start_us));
            }
            status
        } else {
            match dns_source(t, cfg, host, deadline) {
                Ok(addrs) => return Ok(resolved(t, host, AddressSource::Dns, addrs, start_us)),
                Err((status, e)) => {
                    let out_of_time = e.label == Label::Timeout;
                    dns_error = Some(e);
                    if out_of_time {
                        break;
                    }
                    status
                }
            }
        };
        if source.action_for(status) == Action::Return {
            if idx + 1 < plan.len() {
                stopped = Some(format!(
                    "{ns_path} says [{status}=return] after {}",
                    source.name
                ));
            }
            break;
        }
    }
    let mut err = match dns_error {
        Some(e) => e,
        None => {
            let mut msg = format!(
                "could not resolve {host}: {}",
                files_note.unwrap_or_else(|| "no source answered".into())
            );
            if stopped.is_none() && !plan.iter().any(|s| s.name == "dns") {
                msg.push_str(&format!(" and {ns_path} lists no dns source"));
            }
            Error::new(Phase::Dns, Label::DnsNxdomain, msg).hint(format!(
                "add the name to {} or list dns on the hosts: line of {ns_path}",
                cfg.hosts_path.display()
            ))
        }
    };
    if let Some(s) = stopped {
        err.message
            .push_str(&format!("; {s}, so no other source was asked"));
    }
    Err(err)
}

fn resolved(
    t: &mut Tracer,
    host: &str,
    source: AddressSource,
    addresses: Vec<IpAddr>,
    start_us: u64,
) -> Vec<IpAddr> {
    let at_us = t.now_us();
    t.emit(Event::Resolved {
        at_us,
        host: host.to_string(),
        source,
        addresses: addresses.clone(),
        elapsed_us: at_us.saturating_sub(start_us),
    });
    addresses
}

/// The `dns` source: reads resolv.conf, emits it, runs the search. On failure, the NSS status.
fn dns_source(
    t: &mut Tracer,
    cfg: &ResolverConfig,
    host: &str,
    deadline: Option<Instant>,
) -> std::result::Result<Vec<IpAddr>, (Status, Error)> {
    let (found, rc) = match read_text(&cfg.resolv_conf_path) {
        Ok(text) => (true, resolvconf::parse(&text)),
        Err(_) => (false, ResolvConf::default()),
    };
    let from_file = if rc.nameservers.is_empty() {
        vec![resolvconf::default_nameserver()]
    } else {
        rc.nameservers.clone()
    };
    let servers = match &cfg.servers_override {
        Some(list) if !list.is_empty() => list.clone(),
        _ => from_file.clone(),
    };
    let at_us = t.now_us();
    t.emit(Event::ResolvConf {
        at_us,
        path: cfg.resolv_conf_path.display().to_string(),
        found,
        nameservers: from_file,
        search: rc.search.clone(),
        ndots: rc.ndots,
        timeout_s: rc.timeout_s,
        attempts: rc.attempts,
        rotate: rc.rotate,
        overridden_by: cfg
            .servers_override
            .as_ref()
            .filter(|l| !l.is_empty())
            .map(|_| "--dns-servers".to_string()),
    });
    let mut run = Run {
        host,
        cfg,
        rc: &rc,
        servers,
        deadline,
        asked: Vec::new(),
        tried: Vec::new(),
        rcodes: Vec::new(),
        bad: None,
        failures: Vec::new(),
        unreachable: Vec::new(),
        deadline_hit: false,
        salt: 0,
    };
    run.search(t)
}

/// How one name (one candidate of the search list) fared.
#[derive(Debug)]
enum NameOutcome {
    Found(Vec<IpAddr>),
    NxDomain,
    NoData,
    ServFail,
    /// REFUSED or another error RCODE.
    Rcode(u8),
    Bad,
    Silence,
    /// Every server's socket reported an ICMP error (or had no route); none timed out.
    Unreachable,
    Deadline,
    /// Not encodable as a DNS name; nothing sent.
    Invalid(String),
}

/// State of one `dns` lookup, for the queries and for the final message.
struct Run<'a> {
    host: &'a str,
    cfg: &'a ResolverConfig,
    rc: &'a ResolvConf,
    servers: Vec<SocketAddr>,
    deadline: Option<Instant>,
    /// Servers a query was sent to, in order, once each.
    asked: Vec<SocketAddr>,
    /// Names queried (absolute).
    tried: Vec<String>,
    /// Error RCODEs received: (server, rcode).
    rcodes: Vec<(SocketAddr, u8)>,
    bad: Option<String>,
    failures: Vec<String>,
    /// Servers the kernel said cannot be reached, once each, with the errno (ECONNREFUSED, …).
    unreachable: Vec<(SocketAddr, String)>,
    deadline_hit: bool,
    salt: u64,
}

/// The names to query for `host`, in order (resolv.conf(5) search and ndots rules).
pub fn candidates(host: &str, search: &[String], ndots: u8) -> Vec<String> {
    if host.ends_with('.') {
        return vec![host.to_string()];
    }
    let dots = host.matches('.').count();
    let searched = search.iter().map(|d| d.trim_end_matches('.')).map(|d| {
        if d.is_empty() {
            host.to_string()
        } else {
            format!("{host}.{d}")
        }
    });
    let mut list: Vec<String> = Vec::new();
    if dots >= usize::from(ndots) {
        list.push(host.to_string());
        list.extend(searched);
    } else {
        list.extend(searched);
        list.push(host.to_string());
    }
    let mut out: Vec<String> = Vec::new();
    for c in list {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&c)) {
            out.push(c);
        }
    }
    out
}

impl Run<'_> {
    fn search(&mut self, t: &mut Tracer) -> std::result::Result<Vec<IpAddr>, (Status, Error)> {
        let (mut nodata, mut servfail, mut nx, mut invalid) = (false, false, false, None);
        for name in candidates(self.host, &self.rc.search, self.rc.ndots) {
            match self.query_name(t, &name) {
                NameOutcome::Found(a) => return Ok(a),
                NameOutcome::NxDomain => nx = true,
                NameOutcome::NoData => nodata = true,
                NameOutcome::ServFail => servfail = true,
                NameOutcome::Invalid(r) => invalid = Some(r),
                NameOutcome::Rcode(rc) => return Err((Status::NotFound, self.rcode_error(rc))),
                NameOutcome::Bad => return Err((Status::NotFound, self.bad_error())),
                NameOutcome::Silence => return Err((Status::Unavail, self.silence_error())),
                NameOutcome::Unreachable => {
                    return Err((Status::Unavail, self.unreachable_error()));
                }
                NameOutcome::Deadline => return Err((Status::Unavail, self.deadline_error())),
            }
        }
        if nodata {
            Err((Status::NotFound, self.nodata_error()))
        } else if servfail {
            Err((Status::TryAgain, self.rcode_error(SERVFAIL)))
        } else if nx {
            Err((Status::NotFound, self.nx_error()))
        } else {
            let reason = invalid.unwrap_or_else(|| "no name to query".into());
            Err((
                Status::NotFound,
                Error::new(
                    Phase::Dns,
                    Label::DnsNxdomain,
                    format!("cannot resolve {}: {reason}; no query was sent", self.host),
                )
                .hint("check the host name in the URL"),
            ))
        }
    }

    fn new_id(&mut self) -> u16 {
        self.salt = self.salt.wrapping_add(1);
        random_u64(self.salt) as u16
    }

    fn query_name(&mut self, t: &mut Tracer, name: &str) -> NameOutcome {
        let qtypes: &[QType] = match self.cfg.family {
            Family::Any => &[QType::A, QType::Aaaa],
            Family::V4 => &[QType::A],
            Family::V6 => &[QType::Aaaa],
        };
        let mut queries = Vec::new();
        for &qt in qtypes {
            let mut id = self.new_id();
            while queries.iter().any(|q: &wire::Query| q.id == id) {
                id = self.new_id();
            }
            match wire::build_query(id, name, qt) {
                Ok(q) => queries.push(q),
                Err(e) => return NameOutcome::Invalid(e),
            }
        }
        if let Some(q) = queries.first() {
            self.tried.push(q.qname.clone());
        }
        let n = queries.len();
        let mut done: Vec<Option<Answer>> = vec![None; n];
        let mut errors: Vec<Option<u8>> = vec![None; n];
        let timeout = Duration::from_secs(u64::from(self.rc.timeout_s.max(1)));
        let nservers = self.servers.len();
        let start = if self.rc.rotate && nservers > 1 {
            (random_u64(self.salt) % nservers as u64) as usize
        } else {
            0
        };
        let mut bad_here = false;
        // As glibc's `gotsomewhere`: some wait ran to its timeout (else every server was
        // unreachable, and the lookup fails as such).
        let (mut timed_out, mut unreachable) = (false, false);
        'attempts: for attempt in 1..=self.rc.attempts.max(1) {
            let mut silent = false;
            for k in 0..nservers {
                let server = self.servers[(start + k) % nservers];
                let pending: Vec<usize> = (0..n).filter(|&i| done[i].is_none()).collect();
                if pending.is_empty() {
                    break 'attempts;
                }
                let Some(until) = self.wait_until(timeout) else {
                    break 'attempts;
                };
                let qs: Vec<&wire::Query> = pending.iter().map(|&i| &queries[i]).collect();
                // If this server stays silent: the next one, else the next try, else give up.
                let attempts = self.rc.attempts.max(1);
                let (next, next_server) = if k + 1 < nservers {
                    (
                        "next_server",
                        Some(self.servers[(start + k + 1) % nservers]),
                    )
                } else if attempt < attempts {
                    ("next_attempt", Some(self.servers[start % nservers]))
                } else {
                    ("give_up", None)
                };
                let plan = transport::WaitPlan {
                    attempts,
                    timeout_s: self.rc.timeout_s.max(1),
                    cut_by_deadline: self.deadline == Some(until),
                    next,
                    next_server,
                };
                let out = transport::udp_exchange(t, server, &qs, attempt, until, &plan);
                if out.sent > 0 && !self.asked.contains(&server) {
                    self.asked.push(server);
                }
                if let Some(m) = out.malformed {
                    self.bad = Some(format!("{server}: {m}"));
                    bad_here = true;
                }
                if let Some(f) = out.failure {
                    self.failures.push(f);
                }
                timed_out |= out.timed_out;
                if let Some(e) = out.unreachable {
                    unreachable = true;
                    if !self.unreachable.iter().any(|(s, _)| *s == server) {
                        self.unreachable.push((server, format!("{e:?}")));
                    }
                }
                for (j, &i) in pending.iter().enumerate() {
                    let mut answer = out.answers.get(j).cloned().flatten();
                    if answer.as_ref().is_some_and(|a| a.header.tc) {
                        answer = None;
                        if let Some(until) = self.wait_until(timeout) {
                            match transport::tcp_exchange(t, server, &queries[i], attempt, until) {
                                transport::TcpOutcome::Answer(a) => answer = Some(a),
                                transport::TcpOutcome::Failed { reason, malformed } => {
                                    if malformed {
                                        self.bad = Some(format!("{server} (tcp): {reason}"));
                                        bad_here = true;
                                    } else {
                                        self.failures.push(format!("{server} (tcp): {reason}"));
                                    }
                                }
                            }
                        }
                    }
                    match answer {
                        Some(a) if a.rcode() == NOERROR || a.rcode() == NXDOMAIN => {
                            done[i] = Some(a);
                        }
                        Some(a) => {
                            errors[i] = Some(a.rcode());
                            self.rcodes.push((server, a.rcode()));
                        }
                        None => silent = true,
                    }
                }
            }
            if !silent {
                break;
            }
        }

        // AAAA first, then A.
        let mut addrs: Vec<IpAddr> = Vec::new();
        for want_v6 in [true, false] {
            for a in done.iter().flatten() {
                if a.rcode() != NOERROR {
                    continue;
                }
                for ip in &a.addresses {
                    if ip.is_ipv6() == want_v6 && !addrs.contains(ip) {
                        addrs.push(*ip);
                    }
                }
            }
        }
        if !addrs.is_empty() {
            NameOutcome::Found(addrs)
        } else if done.iter().flatten().any(|a| a.rcode() == NXDOMAIN) {
            NameOutcome::NxDomain
        } else if done.iter().flatten().any(|a| a.rcode() == NOERROR) {
            NameOutcome::NoData
        } else if errors.contains(&Some(SERVFAIL)) {
            NameOutcome::ServFail
        } else if let Some(rc) = errors.iter().flatten().next() {
            NameOutcome::Rcode(*rc)
        } else if bad_here {
            NameOutcome::Bad
        } else if self.deadline_hit || self.deadline.is_some_and(|d| Instant::now() >= d) {
            NameOutcome::Deadline
        } else if unreachable && !timed_out {
            NameOutcome::Unreachable
        } else {
            NameOutcome::Silence
        }
    }

    /// `now + timeout`, cut at the deadline; `None` (and `deadline_hit`) once the deadline passed.
    fn wait_until(&mut self, timeout: Duration) -> Option<Instant> {
        let now = Instant::now();
        let mut until = now + timeout;
        if let Some(d) = self.deadline {
            if now >= d {
                self.deadline_hit = true;
                return None;
            }
            if d < until {
                until = d;
            }
        }
        Some(until)
    }

    fn servers_text(&self) -> String {
        let list = if self.asked.is_empty() {
            &self.servers
        } else {
            &self.asked
        };
        list.iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn tried_text(&self) -> String {
        self.tried.join(", ")
    }

    fn server_hint(&self) -> String {
        format!(
            "ask another server with --dns-servers ADDR[:PORT], or fix the nameserver lines of {}",
            self.cfg.resolv_conf_path.display()
        )
    }

    fn wanted(&self) -> &'static str {
        match self.cfg.family {
            Family::Any => "A or AAAA",
            Family::V4 => "A (IPv4)",
            Family::V6 => "AAAA (IPv6)",
        }
    }

    fn nx_error(&self) -> Error {
        let mut hint = "check the spelling of the host name".to_string();
        if self.tried.len() > 1 {
            hint.push_str(&format!(
                "; the search list of {} was applied (ndots:{})",
                self.cfg.resolv_conf_path.display(),
                self.rc.ndots
            ));
        }
        Error::new(
            Phase::Dns,
            Label::DnsNxdomain,
            format!(
                "{} does not exist: {} answered NXDOMAIN (names tried: {})",
                self.host,
                self.servers_text(),
                self.tried_text()
            ),
        )
        .hint(hint)
    }

    fn nodata_error(&self) -> Error {
        let hint = match self.cfg.family {
            Family::V4 => "the name may have only IPv6 addresses: try without -4",
            Family::V6 => "the name may have only IPv4 addresses: try without -6",
            Family::Any => "the name exists but has no address records; check its DNS zone",
        };
        Error::new(
            Phase::Dns,
            Label::DnsNoAddress,
            format!(
                "{} has no {} record: {} answered NOERROR without an address (names tried: {})",
                self.host,
                self.wanted(),
                self.servers_text(),
                self.tried_text()
            ),
        )
        .hint(hint)
    }

    fn rcode_error(&self, rcode: u8) -> Error {
        let who: Vec<String> = {
            let mut v: Vec<String> = Vec::new();
            for (s, r) in &self.rcodes {
                let s = s.to_string();
                if *r == rcode && !v.contains(&s) {
                    v.push(s);
                }
            }
            v
        };
        let who = if who.is_empty() {
            self.servers_text()
        } else {
            who.join(", ")
        };
        let name = wire::rcode_name(rcode);
        let (label, hint) = match rcode {
            SERVFAIL => (
                Label::DnsServfail,
                format!(
                    "the server could not get an answer (its upstream may be unreachable, or DNSSEC validation failed); {}",
                    self.server_hint()
                ),
            ),
            REFUSED => (
                Label::DnsRefused,
                format!(
                    "the server does not resolve names for this client; {}",
                    self.server_hint()
                ),
            ),
            _ => (
                Label::DnsBadResponse,
                format!(
                    "the server cannot handle this query; {}",
                    self.server_hint()
                ),
            ),
        };
        Error::new(
            Phase::Dns,
            label,
            format!(
                "{who} answered {name} for {} (names tried: {})",
                self.host,
                self.tried_text()
            ),
        )
        .hint(hint)
    }

    fn bad_error(&self) -> Error {
        Error::new(
            Phase::Dns,
            Label::DnsBadResponse,
            format!(
                "the answers for {} from {} could not be used: {}",
                self.host,
                self.servers_text(),
                self.bad.as_deref().unwrap_or("malformed")
            ),
        )
        .hint(format!(
            "the server (or something on the way) sends malformed DNS messages; {}",
            self.server_hint()
        ))
    }

    fn silence_error(&self) -> Error {
        let mut msg = format!(
            "no answer for {} from {} ({} attempt{}, timeout {} s each)",
            self.host,
            self.servers_text(),
            self.rc.attempts.max(1),
            if self.rc.attempts.max(1) == 1 {
                ""
            } else {
                "s"
            },
            self.rc.timeout_s.max(1)
        );
        if !self.failures.is_empty() {
            msg.push_str(&format!("; errors: {}", self.failures.join("; ")));
        }
        Error::new(Phase::Dns, Label::DnsTimeout, msg).hint(format!(
            "is a DNS server listening there? {}",
            self.server_hint()
        ))
    }

    fn unreachable_error(&self) -> Error {
        let mut who = String::new();
        for (i, (server, errno)) in self.unreachable.iter().enumerate() {
            if i > 0 {
                who.push_str(", ");
            }
            let why = match errno.as_str() {
                "ECONNREFUSED" => "ECONNREFUSED: ICMP port unreachable, nothing listens there",
                "EHOSTUNREACH" => "EHOSTUNREACH: the host cannot be reached",
                "ENETUNREACH" => "ENETUNREACH: no route to it",
                other => other,
            };
            who.push_str(&format!("{server} ({why})"));
        }
        let mut msg = format!(
            "cannot resolve {}: no DNS server could be reached: {who} (names tried: {})",
            self.host,
            self.tried_text()
        );
        let others: Vec<&String> = self
            .failures
            .iter()
            .filter(|f| {
                !self
                    .unreachable
                    .iter()
                    .any(|(_, e)| f.ends_with(e.as_str()))
            })
            .collect();
        if !others.is_empty() {
            let others: Vec<&str> = others.iter().map(|s| s.as_str()).collect();
            msg.push_str(&format!("; other errors: {}", others.join("; ")));
        }
        Error::new(Phase::Dns, Label::DnsUnreachable, msg).hint(format!(
            "is the DNS server running, and on that address and port? check --dns-servers, or the nameserver lines of {}",
            self.cfg.resolv_conf_path.display()
        ))
    }

    fn deadline_error(&self) -> Error {
        Error::new(
            Phase::Dns,
            Label::Timeout,
            format!(
                "resolving {} did not finish before the time limit (asked {}; names tried: {})",
                self.host,
                self.servers_text(),
                self.tried_text()
            ),
        )
        .hint("raise --connect-timeout / --max-time, or ask a faster DNS server with --dns-servers")
    }
}
