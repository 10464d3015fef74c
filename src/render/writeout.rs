//! `-w/--write-out`: curl's variables, computed from the event stream.

use crate::error::Phase;
use crate::event::{Event, Observer};
use crate::render::fmt::secs;
use serde_json::{Map, Value, json};
use std::net::SocketAddr;

/// The numbers behind curl's -w variables. Times are µs from the start of the run, so with -L they
/// include the redirects before the last hop (time_redirect says how much).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub namelookup_us: u64,
    pub connect_us: u64,
    pub appconnect_us: u64,
    pub pretransfer_us: u64,
    pub starttransfer_us: u64,
    pub redirect_us: u64,
    pub total_us: u64,
    pub http_code: u16,
    pub http_version: String,
    pub remote: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub num_redirects: u32,
    pub num_connects: u32,
    pub size_download: u64,
    pub size_header: u64,
    pub size_request: u64,
    pub url_effective: String,
    pub exit_code: u8,
    pub errormsg: String,
    /// 0 when the last TLS hop's chain verified, 1 when it did not (curl prints OpenSSL's X509 code).
    pub ssl_verify_result: u8,
    /// The certificates the last TLS hop's server sent, as `%{certs}` prints them.
    pub certs: Vec<String>,
}

impl Observer for Metrics {
    fn wants_syscalls(&self) -> bool {
        false
    }

    fn on_event(&mut self, event: &Event) {
        match event {
            Event::Url { url, .. } => {
                self.url_effective = url.clone();
                // curl's time_appconnect is 0 for a transfer without TLS; the TLS facts are per hop.
                self.appconnect_us = 0;
                self.certs.clear();
                self.ssl_verify_result = 0;
            }
            Event::Redirect {
                at_us,
                followed: true,
                ..
            } => {
                self.num_redirects += 1;
                self.redirect_us = *at_us;
            }
            Event::Resolved { at_us, .. } => self.namelookup_us = *at_us,
            Event::ConnectResult {
                at_us,
                ok: true,
                addr,
                local,
                ..
            } => {
                self.connect_us = *at_us;
                self.remote = Some(*addr);
                self.local = *local;
                self.num_connects += 1;
            }
            Event::Phase {
                at_us,
                phase: Phase::Request,
                ..
            } => self.pretransfer_us = *at_us,
            Event::TlsDone { at_us, .. } => self.appconnect_us = *at_us,
            Event::TlsVerified { ok, .. } => self.ssl_verify_result = u8::from(!ok),
            Event::TlsCertificate {
                subject,
                issuer,
                sans,
                not_before,
                not_after,
                key,
                signature,
                sha256,
                ..
            } => {
                self.certs.push(format!(
                    "Subject:{subject}\nIssuer:{issuer}\nStart date:{not_before}\nExpire date:{not_after}\nSignature Algorithm:{signature}\nPublic Key Algorithm:{key}\nX509v3 Subject Alternative Name:{}\nSHA-256 fingerprint:{sha256}\n",
                    sans.join(", ")
                ));
            }
            Event::RequestWritten {
                head_bytes,
                body_bytes,
                ..
            } => self.size_request += (*head_bytes + *body_bytes) as u64,
            Event::FirstByte { at_us } => self.starttransfer_us = *at_us,
            Event::ResponseHead {
                status,
                version,
                head_bytes,
                ..
            } => {
                self.http_code = *status;
                self.http_version = version.trim_start_matches("HTTP/").to_string();
                self.size_header += *head_bytes as u64;
                self.size_download = 0;
            }
            Event::BodyDone { body_bytes, .. } => self.size_download = *body_bytes,
            Event::Error { message, .. } => self.errormsg = message.clone(),
            Event::Done { at_us, exit_code } => {
                self.total_us = *at_us;
                self.exit_code = *exit_code;
            }
            _ => {}
        }
    }
}

impl Metrics {
    /// Bytes per second over the whole run, as curl's speed_download.
    pub fn speed_download(&self) -> u64 {
        (self.size_download * 1_000_000)
            .checked_div(self.total_us)
            .unwrap_or(0)
    }

    /// The value of one -w variable, or None if wtcurl does not know it.
    pub fn var(&self, name: &str) -> Option<Value> {
        let t = |us: u64| Value::String(secs(us));
        Some(match name {
            "time_namelookup" => t(self.namelookup_us),
            "time_connect" => t(self.connect_us),
            "time_appconnect" => t(self.appconnect_us),
            "time_pretransfer" => t(self.pretransfer_us),
            "time_starttransfer" => t(self.starttransfer_us),
            "time_redirect" => t(self.redirect_us),
            "time_total" => t(self.total_us),
            "http_code" | "response_code" => json!(format!("{:03}", self.http_code)),
            "http_version" => json!(if self.http_version.is_empty() {
                "0"
            } else {
                &self.http_version
            }),
            "remote_ip" => json!(self.remote.map(|a| a.ip().to_string()).unwrap_or_default()),
            "remote_port" => json!(
                self.remote
                    .map(|a| a.port().to_string())
                    .unwrap_or_default()
            ),
            "local_ip" => json!(self.local.map(|a| a.ip().to_string()).unwrap_or_default()),
            "local_port" => json!(self.local.map(|a| a.port().to_string()).unwrap_or_default()),
            "num_redirects" => json!(self.num_redirects.to_string()),
            "num_connects" => json!(self.num_connects.to_string()),
            "size_download" => json!(self.size_download.to_string()),
            "size_header" => json!(self.size_header.to_string()),
            "size_request" => json!(self.size_request.to_string()),
            "speed_download" => json!(self.speed_download().to_string()),
            "url_effective" => json!(self.url_effective),
            "exitcode" => json!(self.exit_code.to_string()),
            "errormsg" => json!(self.errormsg),
            "ssl_verify_result" => json!(self.ssl_verify_result.to_string()),
            "num_certs" => json!(self.certs.len().to_string()),
            "certs" => json!(self.certs.join("\n")),
            _ => return None,
        })
    }

    /// Every variable, as `%{json}` prints them (numbers as numbers, like curl).
    pub fn json(&self) -> String {
        let mut m = Map::new();
        for name in VARIABLES {
            if let Some(Value::String(v)) = self.var(name) {
                let numeric = !matches!(
                    *name,
                    "http_version"
                        | "remote_ip"
                        | "local_ip"
                        | "url_effective"
                        | "errormsg"
                        | "certs"
                );
                let value = match (numeric, v.parse::<u64>(), v.parse::<f64>()) {
                    (true, Ok(n), _) => json!(n),
                    (true, _, Ok(f)) => serde_json::Number::from_f64(f)
                        .map(Value::Number)
                        .unwrap_or(Value::String(v)),
                    _ => Value::String(v),
                };
                m.insert((*name).to_string(), value);
            }
        }
        Value::Object(m).to_string()
    }

    /// Expands a -w template: `%{var}`, `%{json}`, `%%`, `\n`, `\r`, `\t`, `\\`.
    pub fn expand(&self, template: &str) -> String {
        let mut out = String::new();
        let mut chars = template.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '%' if chars.peek() == Some(&'%') => {
                    chars.next();
                    out.push('%');
                }
                '%' if chars.peek() == Some(&'{') => {
                    chars.next();
                    let name: String = chars.by_ref().take_while(|&c| c != '}').collect();
                    if name == "json" {
                        out.push_str(&self.json());
                    } else if let Some(v) = self.var(&name) {
                        out.push_str(v.as_str().unwrap_or_default());
                    } else {
                        // curl prints unknown variables as an error on stderr and nothing in place.
                        eprintln!("wtcurl: unknown --write-out variable: '{name}'");
                    }
                }
                '\\' => match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('r') => out.push('\r'),
                    Some('t') => out.push('\t'),
                    Some('\\') => out.push('\\'),
                    Some(other) => {
                        out.push('\\');
                        out.push(other);
                    }
                    None => out.push('\\'),
                },
                c => out.push(c),
            }
        }
        out
    }
}

/// The variables wtcurl supports, in the order `%{json}` lists them.
pub const VARIABLES: &[&str] = &[
    "time_namelookup",
    "time_connect",
    "time_appconnect",
    "time_pretransfer",
    "time_starttransfer",
    "time_redirect",
    "time_total",
    "http_code",
    "response_code",
    "http_version",
    "remote_ip",
    "remote_port",
    "local_ip",
    "local_port",
    "num_redirects",
    "num_connects",
    "size_download",
    "size_header",
    "size_request",
    "speed_download",
    "url_effective",
    "exitcode",
    "errormsg",
    "ssl_verify_result",
    "num_certs",
    "certs",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Metrics {
        let mut m = Metrics::default();
        let events = [
            Event::Url {
                at_us: 1,
                input: "x".into(),
                url: "http://x/".into(),
                scheme: "http".into(),
                scheme_inferred: true,
                host: "x".into(),
                host_ascii: "x".into(),
                port: 80,
                port_inferred: true,
                target: "/".into(),
                basic_auth_user: None,
            },
            Event::Resolved {
                at_us: 1000,
                host: "x".into(),
                source: crate::event::AddressSource::Dns,
                addresses: vec![],
                elapsed_us: 999,
            },
            Event::ConnectResult {
                at_us: 2000,
                fd: 3,
                addr: "127.0.0.1:80".parse().unwrap(),
                ok: true,
                error: None,
                local: Some("127.0.0.1:5000".parse().unwrap()),
                elapsed_us: 1000,
            },
            Event::Phase {
                at_us: 2100,
                hop: 0,
                phase: Phase::Request,
            },
            Event::RequestWritten {
                at_us: 2200,
                fd: 3,
                head: String::new(),
                head_bytes: 70,
                body_bytes: 0,
            },
            Event::FirstByte { at_us: 3000 },
            Event::ResponseHead {
                at_us: 3001,
                version: "HTTP/1.1".into(),
                status: 301,
                reason: "Moved".into(),
                headers: vec![],
                head_bytes: 120,
                framing: "content-length".into(),
                content_length: Some(10),
                encoding: None,
            },
            Event::BodyDone {
                at_us: 3500,
                wire_bytes: 10,
                body_bytes: 10,
                recv_calls: 1,
                chunks: 0,
                trailers: vec![],
            },
            Event::Done {
                at_us: 4000,
                exit_code: 0,
            },
        ];
        for e in &events {
            m.on_event(e);
        }
        m
    }

    #[test]
    fn variables_follow_the_events() {
        let m = sample();
        assert_eq!(
            m.expand("%{http_code} %{time_namelookup} %{time_connect} %{time_starttransfer} %{time_total}\\n"),
            "301 0.001000 0.002000 0.003000 0.004000\n"
        );
        assert_eq!(
            m.expand(
                "%{remote_ip}:%{remote_port} %{local_port} %{size_download} %{size_request} %%"
            ),
            "127.0.0.1:80 5000 10 70 %"
        );
        assert_eq!(m.expand("%{speed_download}"), "2500");
    }

    #[test]
    fn json_has_every_variable() {
        let v: Value = serde_json::from_str(&sample().json()).unwrap();
        for name in VARIABLES {
            assert!(v.get(name).is_some(), "{name} missing");
        }
        assert_eq!(v["http_code"], json!(301));
        assert_eq!(v["time_total"], json!(0.004));
        assert_eq!(v["url_effective"], json!("http://x/"));
    }
}
