//! The DNS part of `--explain`: nsswitch, hosts, resolv.conf, queries and answers, the result.

use super::Count;
use super::Explain;
use crate::event::AddressSource;
use crate::event::{Event, SyscallArgs, SyscallRecord};
use crate::render::fmt::{Joined, Maybe, Us};
use std::io::Write;
use std::net::SocketAddr;

impl<W: Write> Explain<W> {
    pub(super) fn dns(&mut self, event: &Event) {
        match event {
            Event::Nsswitch {
                path,
                found,
                sources,
                consulted,
                not_consulted,
                ..
            } => {
                if *found {
                    self.linef(format_args!("   {path}: hosts: {}", Joined(sources, " ")));
                } else {
                    self.linef(format_args!(
                        "   {path}: not found; glibc's default order applies: {}",
                        Joined(sources, " ")
                    ));
                }
                self.note(format_args!("wtcurl consults: {}", Joined(consulted, ", ")));
                if !not_consulted.is_empty() {
                    self.note(format_args!(
                        "not consulted by wtcurl (glibc would ask these modules): {}",
                        Joined(not_consulted, ", ")
                    ));
                }
            }
            Event::HostsLookup {
                path,
                name,
                addresses,
                line,
                ..
            } => match (addresses.is_empty(), line) {
                (true, _) => self.linef(format_args!("   {path}: no entry for {name}")),
                (false, Some(l)) => self.linef(format_args!(
                    "   {path}:{l}: {name} → {}",
                    Joined(addresses, ", ")
                )),
                (false, None) => self.linef(format_args!(
                    "   {path}: {name} → {}",
                    Joined(addresses, ", ")
                )),
            },
            Event::ResolvConf {
                path,
                found,
                nameservers,
                search,
                ndots,
                timeout_s,
                attempts,
                rotate,
                overridden_by,
                ..
            } => {
                let state = if *found {
                    ""
                } else {
                    " (not found: glibc defaults)"
                };
                self.linef(format_args!(
                    "   {path}{state}: nameservers {}",
                    Joined(nameservers, ", ")
                ));
                let none: &[String] = &["none".to_string()];
                let search = Joined(if search.is_empty() { none } else { search }, " ");
                self.note(format_args!(
                    "search {search}; ndots {ndots}; timeout {timeout_s} s; attempts {attempts}{}",
                    if *rotate { "; rotate" } else { "" }
                ));
                if let Some(by) = overridden_by {
                    self.note(format_args!("the nameservers are replaced by {by}"));
                }
            }
            Event::DnsQuery {
                server,
                transport,
                id,
                qname,
                qtype,
                flags,
                size,
                attempt,
                ..
            } => {
                let t = self.p.show(self.p.wire_out, "→ query ");
                self.linef(format_args!(
                    "   {t} id 0x{id:04x}  {qtype} {qname}  flags [{flags}]  {size} bytes to {server} over {transport} (try {attempt})"
                ));
            }
            Event::DnsAnswer {
                transport,
                id,
                qtype,
                rcode,
                flags,
                size,
                records,
                cname_chain,
                elapsed_us,
                ..
            } => {
                let t = self.p.show(self.p.wire_in, "← answer");
                self.linef(format_args!(
                    "   {t} id 0x{id:04x}  {qtype} {rcode}  flags [{flags}]  {size} bytes over {transport}, {} after the query",
                    Us(*elapsed_us)
                ));
                for r in records {
                    self.linef(format_args!(
                        "              {}  TTL {}  {}  {}",
                        r.name, r.ttl, r.rtype, r.data
                    ));
                }
                if cname_chain.len() > 1 {
                    self.note(format_args!("CNAME chain: {}", Joined(cname_chain, " → ")));
                }
            }
            Event::DnsIgnored { server, reason, .. } => match reason.strip_prefix("tcp: ") {
                Some(why) => self.say(
                    self.p.bad,
                    format_args!("DNS over TCP with {server} failed: {why}"),
                ),
                None => self.say(
                    self.p.bad,
                    format_args!("ignored a message from {server}: {reason}"),
                ),
            },
            Event::DnsTimeout {
                server,
                attempt,
                attempts,
                unanswered,
                waited_ms,
                timeout_s,
                cut_by_deadline,
                next,
                next_server,
                ..
            } => {
                self.say(
                    self.p.bad,
                    format_args!(
                        "✗ no answer from {server} to {}: poll() returned 0 after {}, the receive queue stayed empty (try {attempt} of {attempts})",
                        Joined(unanswered, " and "),
                        Count(*waited_ms, "ms", "ms")
                    ),
                );
                if *cut_by_deadline {
                    self.note(format_args!(
                        "the wait was cut short by the --connect-timeout / -m deadline (resolv.conf's timeout is {}): no further try",
                        Count(u64::from(*timeout_s), "second", "seconds")
                    ));
                } else {
                    self.note(format_args!(
                        "resolv.conf's timeout is {}: that is how long a try waits",
                        Count(u64::from(*timeout_s), "second", "seconds")
                    ));
                    self.dns_next(next, next_server, *attempt, *attempts);
                }
            }
            Event::DnsUnreachable {
                server,
                attempt,
                attempts,
                syscall,
                errno,
                unanswered,
                after_us,
                timeout_s,
                next,
                next_server,
                ..
            } => {
                let ip = server.ip();
                if syscall == "connect" {
                    self.say(
                        self.p.bad,
                        format_args!(
                            "✗ {server} cannot be reached: connect() = -1 {errno}, nothing was sent (try {attempt} of {attempts})"
                        ),
                    );
                } else {
                    self.say(
                        self.p.bad,
                        format_args!(
                            "✗ {server} cannot be reached: {syscall}() = -1 {errno}, {} after the first query (try {attempt} of {attempts})",
                            Us(*after_us),
                        ),
                    );
                    if !unanswered.is_empty() {
                        self.note(format_args!(
                            "left without an answer: {}",
                            Joined(unanswered, " and ")
                        ));
                    }
                }
                match (errno.as_str(), syscall.as_str()) {
                    ("ECONNREFUSED", _) => self.note(format_args!(
                        "the kernel received an ICMP port unreachable for {server} on this socket and reports it as ECONNREFUSED: no DNS server listens there"
                    )),
                    ("EHOSTUNREACH", _) => self.note(format_args!(
                        "the kernel reports EHOSTUNREACH for this socket: an ICMP host unreachable came back, or {ip} did not answer ARP / neighbour discovery"
                    )),
                    ("ENETUNREACH", "connect") => self.note(format_args!(
                        "the kernel has no route to {ip}: connect() on a UDP socket looks the route up, and there is none"
                    )),
                    ("ENETUNREACH", _) => self.note(format_args!(
                        "the kernel received an ICMP network unreachable for {server} on this socket and reports it as ENETUNREACH"
                    )),
                    _ => self.note(format_args!(
                        "the kernel reports {errno} for this socket"
                    )),
                }
                self.note(format_args!(
                    "no wait for resolv.conf's timeout ({}): the socket is connected to {server}, so the kernel reports the error at once, as it does for glibc's resolver",
                    Count(u64::from(*timeout_s), "second", "seconds")
                ));
                self.dns_next(next, next_server, *attempt, *attempts);
            }
            Event::Resolved {
                at_us,
                host,
                source,
                addresses,
                elapsed_us,
            } => {
                if let Some(h) = self.hop_mut() {
                    h.resolved = Some(*at_us);
                }
                let from = match source {
                    AddressSource::Literal => {
                        "the URL: it is already an address, nothing to resolve"
                    }
                    AddressSource::ResolveFlag => "--resolve: no lookup made",
                    AddressSource::Hosts => "the hosts file",
                    AddressSource::Dns => "DNS",
                };
                let p = self.p;
                self.linef(format_args!(
                    "   {}  (from {from}) in {}",
                    p.show(p.ok, format_args!("= {host} → {}", Joined(addresses, ", "))),
                    Us(*elapsed_us)
                ));
                if addresses.iter().any(|a| a.is_ipv6()) && addresses.iter().any(|a| a.is_ipv4()) {
                    self.note("both families: like curl, IPv6 goes first, and IPv4 starts in parallel if IPv6 has not connected within 200 ms (Happy Eyeballs)");
                }
            }
            _ => {}
        }
    }

    /// What the resolver does after a try ended without every answer, as resolv.conf says.
    fn dns_next(
        &mut self,
        next: &str,
        next_server: &Option<SocketAddr>,
        attempt: u32,
        attempts: u32,
    ) {
        let next_server = Maybe(next_server);
        match next {
            "next_server" => self.note(format_args!(
                "next, as resolv.conf says: the next nameserver, {next_server}, in the same try"
            )),
            "next_attempt" => self.note(format_args!(
                "next, as resolv.conf says (attempts {attempts}): try {} of {attempts}, from {next_server}",
                attempt + 1
            )),
            _ => self.note(format_args!(
                "no try left (resolv.conf: attempts {attempts}, every nameserver asked): the lookup fails"
            )),
        }
    }

    /// After a syscall's line: what connect() on a UDP socket does, said once per run.
    pub(super) fn udp_syscall(&mut self, s: &SyscallRecord) {
        match (s.name, &s.args) {
            ("socket", SyscallArgs::Socket { kind, .. }) => {
                self.udp_fd =
                    (s.ret >= 0 && kind.starts_with("SOCK_DGRAM")).then_some(s.ret as i32);
            }
            ("connect", _)
                if s.errno.is_none()
                    && !self.udp_connect_said
                    && s.fd.is_some()
                    && s.fd == self.udp_fd =>
            {
                self.udp_connect_said = true;
                self.note("connect() on a UDP socket sends nothing: the kernel records the server as the socket's peer. It then hands wtcurl only that address's datagrams (it drops any other sender's), and an ICMP error that comes back for it (port unreachable) is reported on the next call as ECONNREFUSED. glibc's resolver connects its socket the same way.");
            }
            _ => {}
        }
    }
}
