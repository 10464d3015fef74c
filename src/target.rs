//! URLs as curl reads them: no scheme means http, default ports, IPv6 literals, IDN to punycode, user:pass@.

use crate::error::{Error, Label, Phase, Result};
use std::net::IpAddr;

/// A parsed request target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// What the user typed.
    pub input: String,
    /// The normalised URL (credentials removed).
    pub url: String,
    pub scheme: String,
    pub scheme_inferred: bool,
    /// The host as the user wrote it (Unicode for IDN), without brackets.
    pub host: String,
    /// The host as sent on the wire: punycode for IDN names, no brackets for IPv6.
    pub host_ascii: String,
    /// Set when the host is an IP literal.
    pub ip: Option<IpAddr>,
    pub port: u16,
    pub port_inferred: bool,
    /// Path and query, as sent in the request line.
    pub path_and_query: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

fn malformed(input: &str, why: impl std::fmt::Display) -> Error {
    Error::new(
        Phase::Url,
        Label::UrlMalformed,
        format!("URL rejected: {why}: {input:?}"),
    )
    .hint("write it as [http://]host[:port][/path], e.g. http://example.com/ or http://[::1]:8080/")
}

fn has_scheme(input: &str) -> bool {
    match input.find("://") {
        Some(i) => {
            let s = &input[..i];
            !s.is_empty()
                && s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        }
        None => false,
    }
}

/// The authority part of the input (between `scheme://` and the path), as typed.
fn typed_host(rest: &str) -> &str {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if let Some(stripped) = hostport.strip_prefix('[') {
        return stripped.split(']').next().unwrap_or(stripped);
    }
    hostport.rsplit_once(':').map_or(hostport, |(h, p)| {
        if p.chars().all(|c| c.is_ascii_digit()) {
            h
        } else {
            hostport
        }
    })
}

fn decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Parses a URL the way curl does.
pub fn parse(input: &str) -> Result<Target> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(malformed(input, "no URL given"));
    }
    if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(malformed(
            input,
            "it contains white space or control characters",
        ));
    }
    let scheme_inferred = !has_scheme(trimmed);
    let full = if scheme_inferred {
        format!("http://{trimmed}")
    } else {
        trimmed.to_string()
    };
    let scheme = full[..full.find("://").unwrap_or(0)].to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(Error::new(
            Phase::Url,
            Label::UnsupportedProtocol,
            format!("Protocol \"{scheme}\" not supported"),
        )
        .hint("wtcurl speaks http:// and https://"));
    }
    let typed = typed_host(&full[scheme.len() + 3..]).to_string();
    if typed.is_empty() {
        return Err(malformed(input, "no host name"));
    }
    let parsed = url::Url::parse(&full).map_err(|e| malformed(input, e))?;
    let host = parsed
        .host()
        .ok_or_else(|| malformed(input, "no host name"))?;
    let (host_ascii, ip) = match host {
        url::Host::Domain(d) => (d.to_string(), None),
        url::Host::Ipv4(a) => (a.to_string(), Some(IpAddr::V4(a))),
        url::Host::Ipv6(a) => (a.to_string(), Some(IpAddr::V6(a))),
    };
    let default_port = if scheme == "https" { 443 } else { 80 };
    let port = parsed.port().unwrap_or(default_port);
    let port_inferred = parsed.port().is_none();
    let mut path_and_query = parsed.path().to_string();
    if let Some(q) = parsed.query() {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    let user = (!parsed.username().is_empty()).then(|| decode(parsed.username()));
    let password = parsed.password().map(decode);
    let mut clean = parsed.clone();
    let _ = clean.set_username("");
    let _ = clean.set_password(None);
    clean.set_fragment(None);
    Ok(Target {
        input: input.to_string(),
        url: clean.to_string(),
        scheme,
        scheme_inferred,
        host: if ip.is_some() {
            host_ascii.clone()
        } else {
            typed.to_lowercase()
        },
        host_ascii,
        ip,
        port,
        port_inferred,
        path_and_query,
        user,
        password,
    })
}

impl Target {
    /// The Host header value: host, plus the port when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let h = match self.ip {
            Some(IpAddr::V6(_)) => format!("[{}]", self.host_ascii),
            _ => self.host_ascii.clone(),
        };
        let default_port = if self.scheme == "https" { 443 } else { 80 };
        if self.port == default_port {
            h
        } else {
            format!("{h}:{}", self.port)
        }
    }

    /// Whether the host was an internationalised name converted to punycode.
    pub fn is_idn(&self) -> bool {
        self.ip.is_none() && self.host != self.host_ascii
    }

    /// Resolves a redirect's Location against this URL, as curl does.
    pub fn join(&self, location: &str) -> Result<Target> {
        let base = url::Url::parse(&self.url).map_err(|e| malformed(&self.url, e))?;
        let next = base.join(location.trim()).map_err(|e| {
            Error::new(
                Phase::Response,
                Label::WeirdReply,
                format!("Location {location:?} is not a URL: {e}"),
            )
        })?;
        parse(next.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scheme_means_http_port_80() {
        let t = parse("wetransfer.com").unwrap();
        assert_eq!(t.scheme, "http");
        assert!(t.scheme_inferred);
        assert_eq!(t.port, 80);
        assert!(t.port_inferred);
        assert_eq!(t.path_and_query, "/");
        assert_eq!(t.url, "http://wetransfer.com/");
        assert_eq!(t.host_header(), "wetransfer.com");
    }

    #[test]
    fn ipv6_literal_with_port() {
        let t = parse("http://[::1]:8080/a?b=c#frag").unwrap();
        assert_eq!(t.host_ascii, "::1");
        assert_eq!(t.ip, Some("::1".parse().unwrap()));
        assert_eq!(t.port, 8080);
        assert_eq!(t.path_and_query, "/a?b=c");
        assert_eq!(t.host_header(), "[::1]:8080");
        assert_eq!(t.url, "http://[::1]:8080/a?b=c");
    }

    #[test]
    fn idn_becomes_punycode() {
        let t = parse("http://bücher.example/").unwrap();
        assert_eq!(t.host, "bücher.example");
        assert_eq!(t.host_ascii, "xn--bcher-kva.example");
        assert!(t.is_idn());
        assert_eq!(t.host_header(), "xn--bcher-kva.example");
    }

    #[test]
    fn credentials_become_basic_auth_and_leave_the_url() {
        let t = parse("http://al%40ice:p%3Ass@example.com:81/x").unwrap();
        assert_eq!(t.user.as_deref(), Some("al@ice"));
        assert_eq!(t.password.as_deref(), Some("p:ss"));
        assert_eq!(t.url, "http://example.com:81/x");
        assert_eq!(t.host_header(), "example.com:81");
    }

    #[test]
    fn malformed_urls_exit_3() {
        for bad in [
            "",
            "http://",
            "http://exa mple.com/",
            "http://[::1/",
            "http://host:99999/",
            "http://a\nb",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{bad:?}: {e}");
            assert_eq!(e.phase, Phase::Url);
        }
    }

    #[test]
    fn unknown_scheme_exits_1() {
        assert_eq!(parse("gopher://x/").unwrap_err().exit_code(), 1);
    }

    #[test]
    fn https_default_port_443() {
        let t = parse("https://wetransfer.com/").unwrap();
        assert_eq!(t.port, 443);
        assert_eq!(t.host_header(), "wetransfer.com");
    }

    #[test]
    fn relative_location_is_resolved() {
        let t = parse("http://example.com:8080/a/b").unwrap();
        assert_eq!(t.join("c").unwrap().url, "http://example.com:8080/a/c");
        assert_eq!(t.join("/d").unwrap().url, "http://example.com:8080/d");
        assert_eq!(t.join("https://wetransfer.com/").unwrap().port, 443);
    }
}
