//! `-w/--write-out`: curl's variables, computed from the event stream.

use crate::error::Phase;
use crate::event::{Event, Observer};
use crate::render::fmt::secs;
use std::io::Write;
use std::net::SocketAddr;

/// The numbers behind curl's -w variables.
///
/// Times follow curl 7.88's progress timers: `time_total` and `time_redirect` are from the start
/// of the run, while `time_namelookup`, `time_connect`, `time_appconnect`, `time_pretransfer` and
/// `time_starttransfer` are, for each hop, the time from that hop's start, summed over the hops
/// (so with -L `time_connect` is small, and `time_starttransfer` adds up every hop's wait).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    pub namelookup_us: u64,
    pub connect_us: u64,
    pub appconnect_us: u64,
    pub pretransfer_us: u64,
    pub starttransfer_us: u64,
    pub redirect_us: u64,
    pub total_us: u64,
    /// When the current hop started (0 for the first; the next hop's URL phase after a redirect).
    pub hop_start_us: u64,
    /// curl counts a hop's first response byte once (not again for a final after a 1xx).
    pub starttransfer_seen: bool,
    pub http_code: u16,
    pub http_version: String,
    pub remote: Option<SocketAddr>,
    pub local: Option<SocketAddr>,
    pub num_redirects: u32,
    pub num_connects: u32,
    pub size_download: u64,
    pub size_header: u64,
    pub size_request: u64,
    /// The request body bytes of the last hop, as curl's size_upload.
    pub size_upload: u64,
    /// The URL as given on the command line (`%{url}`).
    pub url: String,
    pub url_effective: String,
    /// The `user:password` of the URL given, as typed: curl 7.88 keeps it in `%{url_effective}`
    /// and `%{redirect_url}` (events carry URLs without it, or masked).
    pub userinfo: Option<String>,
    /// The current hop's URL still carries that userinfo (a relative redirect keeps it).
    pub hop_has_userinfo: bool,
    /// The method of the last request (the first hop's before any is sent).
    pub method: String,
    /// The current hop's scheme, and the one `%{scheme}` shows once a connection is made.
    pub hop_scheme: String,
    pub scheme: Option<String>,
    /// The last response's headers in order, as received.
    pub headers: Vec<(String, String)>,
    /// `-o`'s file name; None when the body goes to stdout.
    pub filename_effective: Option<String>,
    /// Where the last response redirects to when it was not followed.
    pub redirect_url: Option<String>,
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
            Event::Phase {
                at_us,
                hop,
                phase: Phase::Url,
            } if *hop > 0 => {
                self.hop_start_us = *at_us;
                self.starttransfer_seen = false;
            }
            Event::Url { url, scheme, .. } => {
                self.url_effective = self.with_userinfo(url, self.hop_has_userinfo);
                self.hop_scheme = scheme.clone();
                // The TLS facts are the last TLS hop's.
                self.certs.clear();
                self.ssl_verify_result = 0;
            }
            Event::Redirect {
                at_us,
                followed,
                location,
                to,
                method,
                ..
            } => {
                // curl resolves a relative Location against the URL with its userinfo (an empty
                // password then loses its ':').
                let keeps = self.hop_has_userinfo && is_relative(location);
                if keeps
                    && let Some(u) = self.userinfo.as_mut()
                    && u.ends_with(':')
                {
                    u.pop();
                }
                if *followed {
                    self.num_redirects += 1;
                    self.redirect_us = *at_us;
                    self.method = method.clone();
                    self.redirect_url = None;
                    self.hop_has_userinfo = keeps;
                } else {
                    self.redirect_url = Some(self.with_userinfo(to, keeps));
                }
            }
            Event::Resolved { at_us, .. } => self.namelookup_us += self.since_hop(*at_us),
            Event::ConnectResult {
                at_us,
                ok: true,
                addr,
                local,
                ..
            } => {
                self.connect_us += self.since_hop(*at_us);
                self.remote = Some(*addr);
                self.local = *local;
                self.num_connects += 1;
                self.scheme = Some(self.hop_scheme.to_ascii_uppercase());
            }
            Event::Phase {
                at_us,
                phase: Phase::Request,
                ..
            } => self.pretransfer_us += self.since_hop(*at_us),
            Event::TlsDone { at_us, .. } => self.appconnect_us += self.since_hop(*at_us),
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
            } => {
                self.size_request += (*head_bytes + *body_bytes) as u64;
                self.size_upload = *body_bytes as u64;
            }
            Event::FirstByte { at_us } if !self.starttransfer_seen => {
                self.starttransfer_seen = true;
                self.starttransfer_us += self.since_hop(*at_us);
            }
            Event::ResponseHead {
                status,
                version,
                head_bytes,
                headers,
                ..
            } => {
                self.http_code = *status;
                self.http_version = version.trim_start_matches("HTTP/").to_string();
                self.size_header += *head_bytes as u64;
                self.size_download = 0;
                self.headers = headers.clone();
                self.redirect_url = None;
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

/// One -w variable's value, typed as curl types it in `%{json}`.
#[derive(Clone, Debug, PartialEq)]
pub enum Var {
    /// A string (`""` when there is none).
    Str(String),
    /// A string that is `null` in JSON and empty in text when there is none.
    OptStr(Option<String>),
    Int(u64),
    /// µs, printed as seconds with 6 decimals (`0.000042`), a number in JSON.
    Time(u64),
    /// An HTTP status: `%03d` in text (`000` without a response), a number in JSON.
    Code(u16),
}

impl Var {
    /// As `%{name}` prints it.
    pub fn text(&self) -> String {
        match self {
            Var::Str(s) => s.clone(),
            Var::OptStr(s) => s.clone().unwrap_or_default(),
            Var::Int(n) => n.to_string(),
            Var::Time(us) => secs(*us),
            Var::Code(c) => format!("{c:03}"),
        }
    }

    /// As `%{json}` prints it.
    pub fn json(&self) -> String {
        match self {
            Var::Str(s) => json_string(s),
            Var::OptStr(Some(s)) => json_string(s),
            Var::OptStr(None) => "null".into(),
            Var::Int(n) => n.to_string(),
            Var::Time(us) => secs(*us),
            Var::Code(c) => c.to_string(),
        }
    }
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// A Location without a scheme or a `//` authority: resolved against the current URL.
fn is_relative(location: &str) -> bool {
    let l = location.trim();
    let scheme = l.find(':').is_some_and(|i| {
        i > 0
            && l[..i]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
            && l[..i].starts_with(|c: char| c.is_ascii_alphabetic())
    });
    !scheme && !l.starts_with("//")
}

/// Where -w output goes: curl's `%{stderr}` and `%{stdout}` switch between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Metrics {
    /// The metrics of a run that has not started: the URL as given, the first hop's method and
    /// `-o`'s file, which curl prints even when the transfer fails before any event.
    pub fn new(url: &str, method: &str, filename_effective: Option<String>) -> Metrics {
        let userinfo = crate::redact::userinfo(url).map(str::to_string);
        Metrics {
            url: url.to_string(),
            url_effective: url.to_string(),
            hop_has_userinfo: userinfo.is_some(),
            userinfo,
            method: method.to_string(),
            filename_effective,
            ..Metrics::default()
        }
    }

    /// `url` with the given URL's userinfo put back after `scheme://`, when `keep`.
    fn with_userinfo(&self, url: &str, keep: bool) -> String {
        match (&self.userinfo, url.find("://")) {
            (Some(info), Some(i)) if keep => {
                format!("{}{info}@{}", &url[..i + 3], &url[i + 3..])
            }
            _ => url.to_string(),
        }
    }

    fn since_hop(&self, at_us: u64) -> u64 {
        at_us.saturating_sub(self.hop_start_us)
    }

    /// Bytes per second over the whole run, as curl's speed_download.
    pub fn speed_download(&self) -> u64 {
        (self.size_download * 1_000_000)
            .checked_div(self.total_us)
            .unwrap_or(0)
    }

    /// Bytes per second over the whole run, as curl's speed_upload.
    pub fn speed_upload(&self) -> u64 {
        (self.size_upload * 1_000_000)
            .checked_div(self.total_us)
            .unwrap_or(0)
    }

    /// The first value of the last response's header `name` (any case), as `%header{name}`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The value of one -w variable (any case, as in curl), or None if wtcurl does not know it.
    pub fn var(&self, name: &str) -> Option<Var> {
        let port = |a: Option<SocketAddr>| Var::Int(a.map_or(0, |a| u64::from(a.port())));
        let ip =
            |a: Option<SocketAddr>| Var::Str(a.map(|a| a.ip().to_string()).unwrap_or_default());
        Some(match name.to_ascii_lowercase().as_str() {
            "certs" => Var::Str(self.certs.join("\n")),
            "content_type" => Var::OptStr(self.header("content-type").map(str::to_string)),
            "errormsg" => Var::OptStr((!self.errormsg.is_empty()).then(|| self.errormsg.clone())),
            "exitcode" => Var::Int(self.exit_code.into()),
            "filename_effective" => Var::OptStr(self.filename_effective.clone()),
            "http_code" | "response_code" => Var::Code(self.http_code),
            // curl 7.88 prints "1" for an HTTP/1.0 response, "1.1" for HTTP/1.1, "0" for none.
            "http_version" => Var::Str(match self.http_version.as_str() {
                "" => "0".into(),
                "1.0" => "1".into(),
                v => v.into(),
            }),
            "local_ip" => ip(self.local),
            "local_port" => port(self.local),
            "method" => Var::Str(self.method.clone()),
            "num_certs" => Var::Int(self.certs.len() as u64),
            "num_connects" => Var::Int(self.num_connects.into()),
            "num_headers" => Var::Int(self.headers.len() as u64),
            "num_redirects" => Var::Int(self.num_redirects.into()),
            "redirect_url" => Var::OptStr(self.redirect_url.clone()),
            "remote_ip" => ip(self.remote),
            "remote_port" => port(self.remote),
            "scheme" => Var::OptStr(self.scheme.clone()),
            "size_download" => Var::Int(self.size_download),
            "size_header" => Var::Int(self.size_header),
            "size_request" => Var::Int(self.size_request),
            "size_upload" => Var::Int(self.size_upload),
            "speed_download" => Var::Int(self.speed_download()),
            "speed_upload" => Var::Int(self.speed_upload()),
            "ssl_verify_result" => Var::Int(self.ssl_verify_result.into()),
            "time_appconnect" => Var::Time(self.appconnect_us),
            "time_connect" => Var::Time(self.connect_us),
            "time_namelookup" => Var::Time(self.namelookup_us),
            "time_pretransfer" => Var::Time(self.pretransfer_us),
            "time_redirect" => Var::Time(self.redirect_us),
            "time_starttransfer" => Var::Time(self.starttransfer_us),
            "time_total" => Var::Time(self.total_us),
            "url" => Var::Str(self.url.clone()),
            "url_effective" => Var::Str(self.url_effective.clone()),
            // One URL per run: always the first (0), as curl numbers them.
            "urlnum" => Var::Int(0),
            _ => return None,
        })
    }

    /// Every variable, as `%{json}` prints them: curl's names in curl's (alphabetical) order,
    /// numbers as numbers, times with 6 decimals, `null` for a string there is none of.
    pub fn json(&self) -> String {
        let fields: Vec<String> = VARIABLES
            .iter()
            .filter_map(|name| self.var(name).map(|v| format!("\"{name}\":{}", v.json())))
            .collect();
        format!("{{{}}}", fields.join(","))
    }

    /// The last response's headers as `%{header_json}` prints them (curl 7.88's layout: names in
    /// lower case in the order first seen, each with all its values, one name per line).
    pub fn header_json(&self) -> String {
        let mut names: Vec<(String, Vec<&str>)> = Vec::new();
        for (n, v) in &self.headers {
            let n = n.to_ascii_lowercase();
            match names.iter_mut().find(|(seen, _)| *seen == n) {
                Some((_, values)) => values.push(v),
                None => names.push((n, vec![v])),
            }
        }
        let lines: Vec<String> = names
            .iter()
            .map(|(n, values)| {
                let values: Vec<String> = values.iter().map(|v| json_string(v)).collect();
                format!("{}:[{}]", json_string(n), values.join(","))
            })
            .collect();
        format!("{{{}\n}}", lines.join(",\n"))
    }

    /// Expands a -w template into text for stdout and stderr, in order, as curl 7.88 does:
    /// `%{var}` (names in any case), `%header{name}`, `%{json}`, `%{header_json}`, `%{stderr}` and
    /// `%{stdout}` (switch the stream), `%{onerror}` (the rest only if the run failed), `%%`;
    /// `\n`, `\r`, `\t`; any other `\x` or `%x` is printed as is, and so is an unclosed `%{`.
    pub fn expand_parts(&self, template: &str) -> Vec<(Stream, String)> {
        let mut parts: Vec<(Stream, String)> = vec![(Stream::Stdout, String::new())];
        let push = |parts: &mut Vec<(Stream, String)>, s: &str| {
            if let Some(last) = parts.last_mut() {
                last.1.push_str(s);
            }
        };
        let mut rest = template;
        while let Some(c) = rest.chars().next() {
            let next = rest[c.len_utf8()..].chars().next();
            match (c, next) {
                ('%', Some('%')) => {
                    push(&mut parts, "%");
                    rest = &rest[2..];
                }
                ('%', Some('{')) => {
                    let Some(end) = rest.find('}') else {
                        push(&mut parts, "%{");
                        rest = &rest[2..];
                        continue;
                    };
                    let name = &rest[2..end];
                    rest = &rest[end + 1..];
                    match name.to_ascii_lowercase().as_str() {
                        "json" => push(&mut parts, &self.json()),
                        "header_json" => push(&mut parts, &self.header_json()),
                        "stdout" => parts.push((Stream::Stdout, String::new())),
                        "stderr" => parts.push((Stream::Stderr, String::new())),
                        "onerror" if self.exit_code == 0 => break,
                        "onerror" => {}
                        _ => match self.var(name) {
                            Some(v) => push(&mut parts, &v.text()),
                            // curl prints unknown variables as an error on stderr, nothing in place.
                            None => {
                                let current = parts.last().map_or(Stream::Stdout, |p| p.0);
                                parts.push((
                                    Stream::Stderr,
                                    format!("wtcurl: unknown --write-out variable: '{name}'\n"),
                                ));
                                parts.push((current, String::new()));
                            }
                        },
                    }
                }
                ('%', Some('h')) if rest[1..].starts_with("header{") => match rest.find('}') {
                    Some(end) => {
                        let name = &rest[8..end];
                        push(&mut parts, self.header(name).unwrap_or_default());
                        rest = &rest[end + 1..];
                    }
                    None => {
                        push(&mut parts, "%h");
                        rest = &rest[2..];
                    }
                },
                ('\\', Some(e)) => {
                    match e {
                        'n' => push(&mut parts, "\n"),
                        'r' => push(&mut parts, "\r"),
                        't' => push(&mut parts, "\t"),
                        other => {
                            push(&mut parts, "\\");
                            push(&mut parts, other.encode_utf8(&mut [0; 4]));
                        }
                    }
                    rest = &rest[1 + e.len_utf8()..];
                }
                (c, _) => {
                    push(&mut parts, c.encode_utf8(&mut [0; 4]));
                    rest = &rest[c.len_utf8()..];
                }
            }
        }
        parts.retain(|(_, s)| !s.is_empty());
        parts
    }

    /// The expansion as one string (both streams, in order): for tests and callers with one sink.
    pub fn expand(&self, template: &str) -> String {
        self.expand_parts(template)
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }

    /// Writes the expansion, each part to its stream.
    pub fn write(&self, template: &str, stdout: &mut dyn Write, stderr: &mut dyn Write) {
        for (stream, text) in self.expand_parts(template) {
            let w: &mut dyn Write = match stream {
                Stream::Stdout => stdout,
                Stream::Stderr => stderr,
            };
            let _ = w.write_all(text.as_bytes());
        }
        let _ = stdout.flush();
        let _ = stderr.flush();
    }
}

/// The variables wtcurl supports, in the order `%{json}` lists them (curl's: alphabetical).
pub const VARIABLES: &[&str] = &[
    "certs",
    "content_type",
    "errormsg",
    "exitcode",
    "filename_effective",
    "http_code",
    "http_version",
    "local_ip",
    "local_port",
    "method",
    "num_certs",
    "num_connects",
    "num_headers",
    "num_redirects",
    "redirect_url",
    "remote_ip",
    "remote_port",
    "response_code",
    "scheme",
    "size_download",
    "size_header",
    "size_request",
    "size_upload",
    "speed_download",
    "speed_upload",
    "ssl_verify_result",
    "time_appconnect",
    "time_connect",
    "time_namelookup",
    "time_pretransfer",
    "time_redirect",
    "time_starttransfer",
    "time_total",
    "url",
    "url_effective",
    "urlnum",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn sample() -> Metrics {
        let mut m = Metrics::default();
        let events = [
            Event::Url {
                at_us: 1,
                input: "x".into(),
                input_masked: false,
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
                head_masked: false,
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
                decoded: None,
                written: true,
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
        // curl's types: numbers, times with 6 decimals, null for a missing string.
        let text = sample().json();
        assert!(text.contains("\"time_total\":0.004000,"), "{text}");
        assert_eq!(v["errormsg"], Value::Null);
        assert_eq!(v["content_type"], Value::Null);
        assert_eq!(v["redirect_url"], Value::Null);
        assert_eq!(v["filename_effective"], Value::Null);
        assert_eq!(v["scheme"], json!("HTTP"));
        assert_eq!(v["method"], json!(""));
        assert_eq!(v["local_port"], json!(5000));
        assert_eq!(v["http_version"], json!("1.1"));
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "curl lists them alphabetically");
    }

    /// curl 7.88 keeps the URL's `user:password@` in %{url_effective} and %{redirect_url}, also
    /// after a relative redirect, and drops it after an absolute one.
    #[test]
    fn url_effective_keeps_the_userinfo_as_curl_does() {
        let redirect = |location: &str, to: &str, followed| Event::Redirect {
            at_us: 5,
            hop: 0,
            status: 301,
            location: location.into(),
            to: to.into(),
            method: "GET".into(),
            followed,
        };
        let mut m = Metrics::new("bob:pw@x/a", "GET", None);
        assert_eq!(m.url_effective, "bob:pw@x/a");
        m.on_event(&url_event(1, "http://x/a"));
        assert_eq!(m.url_effective, "http://bob:pw@x/a");
        m.on_event(&redirect("/b", "http://x/b", true));
        m.on_event(&url_event(6, "http://x/b"));
        assert_eq!(m.url_effective, "http://bob:pw@x/b");
        assert_eq!(m.var("url").map(|v| v.text()), Some("bob:pw@x/a".into()));
        m.on_event(&redirect("//y/c", "http://y/c", true));
        m.on_event(&url_event(7, "http://y/c"));
        assert_eq!(m.url_effective, "http://y/c");

        let mut m = Metrics::new("http://bob:@x/a", "GET", None);
        m.on_event(&url_event(1, "http://x/a"));
        assert_eq!(m.url_effective, "http://bob:@x/a");
        m.on_event(&redirect("b/", "http://x/b/", false));
        assert_eq!(m.redirect_url.as_deref(), Some("http://bob@x/b/"));
        assert!(is_relative("/x") && !is_relative("x:y/z") && !is_relative("HTTPS://h/"));
    }

    fn url_event(at_us: u64, url: &str) -> Event {
        Event::Url {
            at_us,
            input: url.into(),
            input_masked: false,
            url: url.into(),
            scheme: "http".into(),
            scheme_inferred: false,
            host: "x".into(),
            host_ascii: "x".into(),
            port: 80,
            port_inferred: true,
            target: "/".into(),
            basic_auth_user: None,
        }
    }

    fn connected(at_us: u64) -> Event {
        Event::ConnectResult {
            at_us,
            fd: 3,
            addr: "127.0.0.1:80".parse().unwrap(),
            ok: true,
            error: None,
            local: Some("127.0.0.1:5000".parse().unwrap()),
            elapsed_us: 10,
        }
    }

    fn head(at_us: u64, status: u16, headers: &[(&str, &str)]) -> Event {
        Event::ResponseHead {
            at_us,
            version: "HTTP/1.1".into(),
            status,
            reason: String::new(),
            headers: headers
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            head_bytes: 100,
            framing: "content-length".into(),
            content_length: Some(0),
            encoding: None,
        }
    }

    /// curl 7.88 with -L (a 302 after 0.3 s to another port, then a 200 after 0.2 s):
    /// time_connect 0.000668, time_starttransfer 0.507087, time_redirect 0.302497, time_total
    /// 0.507216: each hop's timers count from that hop's start and are summed.
    #[test]
    fn with_redirects_the_timers_are_summed_per_hop_as_curl_does() {
        let mut m = Metrics::new("http://x/a", "POST", Some("out".into()));
        let events = [
            url_event(1, "http://x/a"),
            Event::Resolved {
                at_us: 100,
                host: "x".into(),
                source: crate::event::AddressSource::Literal,
                addresses: vec![],
                elapsed_us: 99,
            },
            connected(400),
            Event::Phase {
                at_us: 450,
                hop: 0,
                phase: Phase::Request,
            },
            Event::FirstByte { at_us: 300_000 },
            head(300_001, 302, &[("Location", "/b")]),
            Event::Redirect {
                at_us: 300_100,
                hop: 0,
                status: 302,
                location: "/b".into(),
                to: "http://x/b".into(),
                method: "GET".into(),
                followed: true,
            },
            Event::Phase {
                at_us: 300_200,
                hop: 1,
                phase: Phase::Url,
            },
            url_event(300_201, "http://x/b"),
            Event::Resolved {
                at_us: 300_250,
                host: "x".into(),
                source: crate::event::AddressSource::Literal,
                addresses: vec![],
                elapsed_us: 49,
            },
            connected(300_500),
            Event::Phase {
                at_us: 300_600,
                hop: 1,
                phase: Phase::Request,
            },
            Event::FirstByte { at_us: 500_200 },
            // A second FirstByte in the same hop (a final response after a 1xx) is not counted.
            Event::FirstByte { at_us: 500_300 },
            head(
                500_300,
                200,
                &[("Content-Type", "text/plain"), ("X-A", "1"), ("x-a", "2")],
            ),
            Event::Done {
                at_us: 500_400,
                exit_code: 0,
            },
        ];
        for e in &events {
            m.on_event(e);
        }
        assert_eq!(m.namelookup_us, 100 + 50);
        assert_eq!(m.connect_us, 400 + 300);
        assert_eq!(m.pretransfer_us, 450 + 400);
        assert_eq!(m.starttransfer_us, 300_000 + 200_000);
        assert_eq!(m.redirect_us, 300_100);
        assert_eq!(
            m.expand("%{time_connect} %{time_redirect} %{time_total} %{num_redirects} %{method} %{scheme}"),
            "0.000700 0.300100 0.500400 1 GET HTTP"
        );
        assert_eq!(
            m.expand("%{content_type}|%{num_headers}|%header{x-a}|%{filename_effective}|%{url}|%{url_effective}|%{redirect_url}"),
            "text/plain|3|1|out|http://x/a|http://x/b|"
        );
        assert_eq!(
            m.header_json(),
            "{\"Content-Type\":[\"text/plain\"],\n\"x-a\":[\"1\",\"2\"]\n}"
                .replace("Content-Type", "content-type")
        );
    }

    /// curl 7.88 against a refused port: local_port 0, remote_port 0, http_code 000, scheme ""
    /// (null in JSON), method GET, num_headers 0, header_json "{\n}", url_effective as given.
    #[test]
    fn a_failed_run_prints_what_curl_prints() {
        let mut m = Metrics::new("http://127.0.0.1:1/", "GET", None);
        m.on_event(&Event::Error {
            at_us: 5,
            phase: Phase::Tcp,
            label: crate::error::Label::ConnectRefused,
            message: "Failed to connect".into(),
            hint: None,
            exit_code: 7,
        });
        m.on_event(&Event::Done {
            at_us: 6,
            exit_code: 7,
        });
        assert_eq!(
            m.expand("%{local_port} %{remote_port} %{http_code} [%{scheme}] %{method} %{num_headers} %{url_effective} %{http_version} [%{local_ip}]"),
            "0 0 000 [] GET 0 http://127.0.0.1:1/ 0 []"
        );
        assert_eq!(m.header_json(), "{\n}");
        let v: Value = serde_json::from_str(&m.json()).unwrap();
        assert_eq!(v["scheme"], Value::Null);
        assert_eq!(v["errormsg"], json!("Failed to connect"));
        assert_eq!(v["exitcode"], json!(7));
        // %{onerror}: the rest only when the run failed.
        assert_eq!(m.expand("a%{onerror}b"), "ab");
        assert_eq!(sample().expand("a%{onerror}b"), "a");
    }

    #[test]
    fn http_1_0_is_1_as_curl_7_88_prints_it() {
        let mut m = sample();
        m.http_version = "1.0".into();
        assert_eq!(m.expand("%{http_version}"), "1");
        assert_eq!(Metrics::default().expand("%{http_version}"), "0");
    }

    /// curl 7.88.1: -w 'x\ty\\z\q%q%%%{\n' prints "x<TAB>y\\z\q%q%%{<LF>"; '%{stderr}' and
    /// '%{stdout}' switch streams; names are case-insensitive; an unknown name prints nothing in
    /// place and a message on stderr.
    #[test]
    fn template_syntax_follows_curl() {
        let m = sample();
        assert_eq!(m.expand("x\\ty\\\\z\\q%q%%%{\\n"), "x\ty\\\\z\\q%q%%{\n");
        assert_eq!(m.expand("a\\"), "a\\");
        assert_eq!(m.expand("a%"), "a%");
        assert_eq!(m.expand("%{HTTP_Code}"), "301");
        assert_eq!(
            m.expand_parts("a%{stderr}b%{stdout}c"),
            vec![
                (Stream::Stdout, "a".to_string()),
                (Stream::Stderr, "b".to_string()),
                (Stream::Stdout, "c".to_string())
            ]
        );
        assert_eq!(
            m.expand_parts("%{stderr}x%{nope}y"),
            vec![
                (Stream::Stderr, "x".to_string()),
                (
                    Stream::Stderr,
                    "wtcurl: unknown --write-out variable: 'nope'\n".to_string()
                ),
                (Stream::Stderr, "y".to_string())
            ]
        );
    }
}
