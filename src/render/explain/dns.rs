//! The DNS part of `--explain`: nsswitch, hosts, resolv.conf, queries and answers, the result.

use super::Explain;
use crate::event::AddressSource;
use crate::event::Event;
use crate::render::fmt::us;
use std::io::Write;

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
                    self.line(&format!("   {path}: hosts: {}", sources.join(" ")));
                } else {
                    self.line(&format!(
                        "   {path}: not found; glibc's default order applies: {}",
                        sources.join(" ")
                    ));
                }
                self.note(&format!("wtcurl consults: {}", consulted.join(", ")));
                if !not_consulted.is_empty() {
                    self.note(&format!(
                        "not consulted by wtcurl (glibc would ask these modules): {}",
                        not_consulted.join(", ")
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
                (true, _) => self.line(&format!("   {path}: no entry for {name}")),
                (false, Some(l)) => {
                    self.line(&format!("   {path}:{l}: {name} → {}", join_ips(addresses)))
                }
                (false, None) => self.line(&format!("   {path}: {name} → {}", join_ips(addresses))),
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
                let ns: Vec<String> = nameservers.iter().map(|s| s.to_string()).collect();
                let state = if *found {
                    ""
                } else {
                    " (not found: glibc defaults)"
                };
                self.line(&format!("   {path}{state}: nameservers {}", ns.join(", ")));
                let search = if search.is_empty() {
                    "none".to_string()
                } else {
                    search.join(" ")
                };
                self.note(&format!(
                    "search {search}; ndots {ndots}; timeout {timeout_s} s; attempts {attempts}{}",
                    if *rotate { "; rotate" } else { "" }
                ));
                if let Some(by) = overridden_by {
                    self.note(&format!("the nameservers are replaced by {by}"));
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
                let t = self.p.paint(self.p.wire_out, "→ query ");
                self.line(&format!(
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
                let t = self.p.paint(self.p.wire_in, "← answer");
                self.line(&format!(
                    "   {t} id 0x{id:04x}  {qtype} {rcode}  flags [{flags}]  {size} bytes over {transport}, {} after the query",
                    us(*elapsed_us)
                ));
                for r in records {
                    self.line(&format!(
                        "              {}  TTL {}  {}  {}",
                        r.name, r.ttl, r.rtype, r.data
                    ));
                }
                if cname_chain.len() > 1 {
                    self.note(&format!("CNAME chain: {}", cname_chain.join(" → ")));
                }
            }
            Event::DnsIgnored { server, reason, .. } => {
                self.say(
                    self.p.bad,
                    &format!("ignored a message from {server}: {reason}"),
                );
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
                let ok = self
                    .p
                    .paint(self.p.ok, &format!("= {host} → {}", join_ips(addresses)));
                self.line(&format!("   {ok}  (from {from}) in {}", us(*elapsed_us)));
                if addresses.iter().any(|a| a.is_ipv6()) && addresses.iter().any(|a| a.is_ipv4()) {
                    self.note("both families: like curl, IPv6 goes first, and IPv4 starts in parallel if IPv6 has not connected within 200 ms (Happy Eyeballs)");
                }
            }
            _ => {}
        }
    }
}

fn join_ips(a: &[std::net::IpAddr]) -> String {
    a.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
