//! The TLS part of `--explain`: records, handshake messages, certificates, the verdict.

use super::{Count, Days, Explain};
use crate::error::Phase;
use crate::event::Event;
use crate::render::fmt::{Joined, Us};
use std::io::Write;

impl<W: Write> Explain<W> {
    pub(super) fn tls(&mut self, event: &Event) {
        match event {
            Event::TlsStart {
                at_us,
                fd,
                server_name,
                versions,
                alpn_offered,
                trust,
            } => {
                if let Some((start, _)) = self.phase_start {
                    // Like curl's time_appconnect, the TLS phase includes reading the trust store.
                    self.note(format_args!(
                        "setting up rustls (versions, trust store) took {} before the first byte of TLS",
                        Us(at_us.saturating_sub(start))
                    ));
                }
                let (sni, name) = match server_name.as_deref() {
                    Some(n) => ("SNI ", n),
                    None => ("no SNI (the host is an IP address)", ""),
                };
                self.linef(format_args!(
                    "   TLS on fd {fd}: {sni}{name}; offering {}; ALPN {}",
                    Joined(versions, ", "),
                    Joined(alpn_offered, ", ")
                ));
                self.note(format_args!(
                    "the server's certificate will be checked against: {trust}"
                ));
            }
            Event::TlsRecord {
                direction,
                content_type,
                version,
                length,
                encrypted,
                ..
            } => {
                if direction == "sent"
                    && content_type == "application_data"
                    && matches!(self.phase_start, Some((_, Phase::Request)))
                {
                    self.request_record_bytes += length + 5;
                }
                let arrow = if direction == "sent" { "→" } else { "←" };
                let enc = if *encrypted { ", encrypted" } else { "" };
                let style = if direction == "sent" {
                    self.p.wire_out
                } else {
                    self.p.wire_in
                };
                let p = self.p;
                self.linef(format_args!(
                    "   {}",
                    p.show(
                        style,
                        format_args!(
                            "{arrow} record {content_type} ({version} in the header), {}{enc}",
                            Count(*length as u64, "byte", "bytes")
                        )
                    )
                ));
            }
            Event::TlsMessage {
                direction,
                name,
                length,
                encrypted,
                source,
                detail,
                ..
            } => {
                let arrow = if direction == "sent" { "→" } else { "←" };
                let enc = if *encrypted { "encrypted; " } else { "" };
                let style = if direction == "sent" {
                    self.p.wire_out
                } else {
                    self.p.wire_in
                };
                let p = self.p;
                self.linef(format_args!(
                    "      {}",
                    p.show(
                        style,
                        format_args!(
                            "{arrow} {name}, {} ({enc}{source})",
                            Count(*length as u64, "byte", "bytes")
                        )
                    )
                ));
                if let serde_json::Value::Object(fields) = detail {
                    for (k, v) in fields {
                        self.linef(format_args!("          {k}: {}", JsonText(v)));
                    }
                }
            }
            Event::TlsAlert {
                direction,
                level,
                description,
                ..
            } => {
                if direction == "sent" && description == "close_notify" {
                    self.closing.close_notify_sent = true;
                }
                self.say(
                    self.p.bad,
                    format_args!("alert {level} {description} ({direction})"),
                );
            }
            Event::TlsCertificate {
                index,
                subject,
                issuer,
                sans,
                not_before,
                not_after,
                days_left,
                key,
                signature,
                sha256,
                ..
            } => {
                self.linef(format_args!("   certificate #{index}: {subject}"));
                self.linef(format_args!("      issuer: {issuer}"));
                if !sans.is_empty() {
                    self.linef(format_args!("      names (SAN): {}", sans.join(", ")));
                }
                self.linef(format_args!(
                    "      valid {not_before} → {not_after} ({} left)",
                    Days(*days_left)
                ));
                self.linef(format_args!("      key {key}; signed with {signature}"));
                self.linef(format_args!("      SHA-256 {sha256}"));
            }
            Event::TlsVerified {
                ok,
                anchor,
                matched_name,
                detail,
                ..
            } => {
                if *ok {
                    let t = self.p.show(self.p.ok, "✓ certificate verified");
                    let anchor = anchor
                        .as_deref()
                        .map(|a| format!("; chains to {a}"))
                        .unwrap_or_default();
                    let name = matched_name
                        .as_deref()
                        .map(|n| format!("; {n} matches the host"))
                        .unwrap_or_default();
                    self.linef(format_args!("   {t}{anchor}{name}"));
                } else {
                    let t = self.p.show(self.p.bad, "✗ certificate not verified");
                    self.linef(format_args!("   {t}"));
                }
                if !detail.is_empty() {
                    self.note(detail);
                }
            }
            Event::TlsDone {
                at_us,
                version,
                cipher_suite,
                key_exchange,
                alpn,
                round_trips,
                session_tickets,
            } => {
                if let Some(h) = self.hop_mut() {
                    h.tls_done = Some(*at_us);
                    h.tls13 = version == "TLS 1.3";
                }
                let kx = key_exchange
                    .as_deref()
                    .map(|k| format!(", key exchange {k}"))
                    .unwrap_or_default();
                let alpn = alpn
                    .as_deref()
                    .map_or("no ALPN".to_string(), |a| format!("ALPN {a}"));
                let t = self.p.show(
                    self.p.ok,
                    format!("= {version}, {cipher_suite}{kx}, {alpn}"),
                );
                self.linef(format_args!(
                    "   {t}; {round_trips} round trip{}, {session_tickets} session ticket{}",
                    if *round_trips == 1 { "" } else { "s" },
                    if *session_tickets == 1 { "" } else { "s" }
                ));
            }
            _ => {}
        }
    }
}

/// A JSON value as short text: strings bare, arrays joined with commas.
struct JsonText<'a>(&'a serde_json::Value);

impl std::fmt::Display for JsonText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            serde_json::Value::String(s) => f.write_str(s),
            serde_json::Value::Array(a) => {
                for (i, item) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    JsonText(item).fmt(f)?;
                }
                Ok(())
            }
            other => other.fmt(f),
        }
    }
}
