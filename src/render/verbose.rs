//! `-v`: a compact, curl-like verbose view (`*` notes, `>` request, `<` response).
//!
//! The layout follows curl 7.88.1's `-v` where curl has one: nothing about resolving an IP
//! literal, `Added HOST:PORT:ADDR to DNS cache` and `Hostname HOST was found in DNS cache` for
//! `--resolve`, `Connected to HOST (ADDR) port PORT (#N)`, `> ` and `< ` closing the heads,
//! `HTTP 1.0, assume close after body`, the error as a `*` line before `Closing connection N`.
//! A name resolved by the hosts file or DNS gets curl 8's `Host HOST:PORT was resolved.` lines
//! (curl 7.88.1 prints none). The one-line `wtcurl: (N) …` error is printed by main, as curl
//! prints `curl: (N) …`, so this view does not repeat it with its exit code.

use crate::event::{AddressSource, Event, Observer};
use std::io::Write;

/// Prints the run as `curl -v` would.
pub struct Verbose<W: Write> {
    out: W,
    host: String,
    port: u16,
    connects: u32,
    /// A connection closed after an error status: curl says so after the error line -f may
    /// bring, so it waits for the next event.
    closing: Option<u32>,
    /// The last response status.
    status: Option<u16>,
    /// The `< ` that ends an error status's head: curl -f stops before printing it, so it waits
    /// until the body is read (no -f) or the -f error comes (dropped).
    head_end: bool,
}

impl<W: Write> Verbose<W> {
    pub fn new(out: W) -> Self {
        Verbose {
            out,
            host: String::new(),
            port: 0,
            connects: 0,
            closing: None,
            status: None,
            head_end: false,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn flush_closing(&mut self) -> std::io::Result<()> {
        match self.closing.take() {
            Some(n) => writeln!(self.out, "* Closing connection {n}"),
            None => Ok(()),
        }
    }
}

/// The text of an errno as `ECONNREFUSED (Connection refused)`: the part in parentheses, as curl
/// prints strerror; any other reason as it is.
fn reason(error: &str) -> &str {
    match (error.find(" ("), error.ends_with(')')) {
        (Some(i), true) if error[..i].starts_with('E') && !error[..i].contains(' ') => {
            &error[i + 2..error.len() - 1]
        }
        _ => error,
    }
}

impl<W: Write> Observer for Verbose<W> {
    fn wants_syscalls(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event) {
        match event {
            // -f stopped at the error status: no `< `, as curl.
            Event::Error {
                label: crate::error::Label::HttpError,
                ..
            } => self.head_end = false,
            Event::Error { .. }
            | Event::BodyDone { .. }
            | Event::Redirect { .. }
            | Event::Phase {
                phase: crate::error::Phase::Url,
                ..
            }
            | Event::Done { .. }
                if std::mem::take(&mut self.head_end) =>
            {
                let _ = writeln!(self.out, "< ");
            }
            _ => {}
        }
        // The error line goes before "Closing connection", as curl prints them.
        if let Event::Error { message, .. } = event {
            let _ = writeln!(self.out, "* {message}");
        }
        // What may come between the close and the -f error: its syscalls, --kernel-view's look at
        // the socket table, captured packets.
        if !matches!(
            event,
            Event::Syscall(_) | Event::KernelClose { .. } | Event::Packet { .. }
        ) {
            let _ = self.flush_closing();
        }
        let o = &mut self.out;
        let _ = match event {
            Event::Url {
                host_ascii, port, ..
            } => {
                self.host = host_ascii.clone();
                self.port = *port;
                Ok(())
            }
            Event::Resolved {
                host,
                source: AddressSource::ResolveFlag,
                addresses,
                ..
            } => {
                let list: Vec<String> = addresses.iter().map(|a| a.to_string()).collect();
                writeln!(
                    o,
                    "* Added {host}:{}:{} to DNS cache",
                    self.port,
                    list.join(",")
                )
                .and_then(|_| writeln!(o, "* Hostname {host} was found in DNS cache"))
            }
            // curl resolves nothing for an IP literal, and says nothing.
            Event::Resolved {
                source: AddressSource::Literal,
                ..
            } => Ok(()),
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
                    "* Connected to {} ({}) port {} (#{})",
                    self.host,
                    addr.ip(),
                    addr.port(),
                    self.connects - 1
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
                    reason(error.as_deref().unwrap_or_default())
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
                r.and_then(|_| writeln!(o, "> "))
            }
            Event::Interim { status, reason, .. } => writeln!(o, "< HTTP/1.1 {status} {reason}"),
            Event::ResponseHead {
                version,
                status,
                reason,
                headers,
                ..
            } => {
                self.status = Some(*status);
                let mut r = if version == "HTTP/1.0" {
                    writeln!(o, "* HTTP 1.0, assume close after body")
                } else {
                    Ok(())
                };
                r = r.and_then(|_| writeln!(o, "< {version} {status} {reason}"));
                for (k, v) in headers {
                    r = r.and_then(|_| writeln!(o, "< {k}: {v}"));
                }
                if *status >= 400 {
                    self.head_end = true;
                    r
                } else {
                    r.and_then(|_| writeln!(o, "< "))
                }
            }
            Event::Redirect {
                to, followed: true, ..
            } => writeln!(o, "* Issue another request to this URL: '{to}'"),
            Event::Closed { .. } => {
                let n = self.connects.saturating_sub(1);
                if self.status.is_some_and(|s| s >= 400) {
                    self.closing = Some(n);
                    Ok(())
                } else {
                    writeln!(o, "* Closing connection {n}")
                }
            }
            Event::Done { .. } => o.flush(),
            _ => Ok(()),
        };
    }
}
