//! `-v`: a compact, curl-like verbose view (`*` notes, `>` request, `<` response).

use crate::event::{Event, Observer};
use std::io::Write;

/// Prints the run as `curl -v` would.
pub struct Verbose<W: Write> {
    out: W,
    host: String,
    port: u16,
    connects: u32,
}

impl<W: Write> Verbose<W> {
    pub fn new(out: W) -> Self {
        Verbose {
            out,
            host: String::new(),
            port: 0,
            connects: 0,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Observer for Verbose<W> {
    fn wants_syscalls(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event) {
        let o = &mut self.out;
        let _ = match event {
            Event::Url {
                host_ascii, port, ..
            } => {
                self.host = host_ascii.clone();
                self.port = *port;
                Ok(())
            }
            Event::Resolved { addresses, .. } => {
                let v6: Vec<String> = addresses
                    .iter()
                    .filter(|a| a.is_ipv6())
                    .map(|a| a.to_string())
                    .collect();
                let v4: Vec<String> = addresses
                    .iter()
                    .filter(|a| a.is_ipv4())
                    .map(|a| a.to_string())
                    .collect();
                let none = || "(none)".to_string();
                writeln!(o, "* Host {}:{} was resolved.", self.host, self.port)
                    .and_then(|_| {
                        writeln!(
                            o,
                            "* IPv6: {}",
                            if v6.is_empty() { none() } else { v6.join(", ") }
                        )
                    })
                    .and_then(|_| {
                        writeln!(
                            o,
                            "* IPv4: {}",
                            if v4.is_empty() { none() } else { v4.join(", ") }
                        )
                    })
            }
            Event::ConnectAttempt { addr, .. } => writeln!(o, "*   Trying {addr}..."),
            Event::ConnectResult { ok: true, addr, .. } => {
                self.connects += 1;
                writeln!(
                    o,
                    "* Connected to {} ({}) port {}",
                    self.host,
                    addr.ip(),
                    addr.port()
                )
            }
            Event::ConnectResult {
                ok: false,
                addr,
                error,
                ..
            } => {
                writeln!(
                    o,
                    "* connect to {} port {} failed: {}",
                    addr.ip(),
                    addr.port(),
                    error.clone().unwrap_or_default()
                )
            }
            Event::TlsStart { server_name, .. } => {
                let alpn = writeln!(o, "* ALPN: wtcurl offers http/1.1");
                match server_name {
                    Some(_) => alpn,
                    None => alpn.and_then(|_| writeln!(o, "* no SNI: the host is an IP address")),
                }
            }
            Event::TlsDone {
                version,
                cipher_suite,
                alpn,
                ..
            } => writeln!(o, "* SSL connection using {version} / {cipher_suite}").and_then(|_| {
                match alpn {
                    Some(a) => writeln!(o, "* ALPN: server accepted {a}"),
                    None => writeln!(
                        o,
                        "* ALPN: server did not agree on a protocol. Uses default."
                    ),
                }
            }),
            Event::TlsCertificate {
                index: 0,
                subject,
                issuer,
                sans,
                not_before,
                not_after,
                ..
            } => writeln!(o, "* Server certificate:")
                .and_then(|_| writeln!(o, "*  subject: {subject}"))
                .and_then(|_| writeln!(o, "*  start date: {not_before}"))
                .and_then(|_| writeln!(o, "*  expire date: {not_after}"))
                .and_then(|_| writeln!(o, "*  subjectAltName: {}", sans.join(", ")))
                .and_then(|_| writeln!(o, "*  issuer: {issuer}")),
            Event::TlsVerified { ok, detail, .. } => {
                if *ok {
                    writeln!(o, "*  SSL certificate verify ok.")
                } else {
                    writeln!(o, "*  SSL certificate verify result: {detail}")
                }
            }
            Event::TlsAlert {
                direction,
                level,
                description,
                ..
            } => {
                writeln!(o, "* TLS alert {level} {description} ({direction})")
            }
            Event::RequestWritten { head, .. } => {
                let mut r = Ok(());
                for l in head.lines() {
                    r = r.and_then(|_| writeln!(o, "> {l}"));
                }
                r.and_then(|_| writeln!(o, ">"))
            }
            Event::Interim { status, reason, .. } => writeln!(o, "< HTTP/1.1 {status} {reason}"),
            Event::ResponseHead {
                version,
                status,
                reason,
                headers,
                ..
            } => {
                let mut r = writeln!(o, "< {version} {status} {reason}");
                for (k, v) in headers {
                    r = r.and_then(|_| writeln!(o, "< {k}: {v}"));
                }
                r.and_then(|_| writeln!(o, "<"))
            }
            Event::Redirect {
                to, followed: true, ..
            } => writeln!(o, "* Issue another request to this URL: '{to}'"),
            Event::Closed { first_fin, .. } => {
                let n = self.connects.saturating_sub(1);
                if first_fin == "server" {
                    writeln!(o, "* shutting down connection #{n}")
                } else {
                    writeln!(o, "* Closing connection #{n} to host {}", self.host)
                }
            }
            Event::Error {
                exit_code, message, ..
            } => writeln!(o, "* wtcurl: ({exit_code}) {message}"),
            Event::Done { .. } => o.flush(),
            _ => Ok(()),
        };
    }
}
