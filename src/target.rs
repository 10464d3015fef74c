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
    /// An IPv6 literal's zone (`http://[fe80::1%25eth0]/`: `eth0`), which picks the interface;
    /// never sent (the Host header has no zone, as in curl).
    pub zone: Option<String>,
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
        format!("URL rejected: {why}: {:?}", crate::redact::url(input)),
    )
    .hint("write it as [http://]host[:port][/path], e.g. http://example.com/ or http://[::1]:8080/")
}

/// The longest scheme curl's URL parser looks at.
const MAX_SCHEME_LEN: usize = 40;

/// The scheme as curl 7.88's URL parser finds it when it may guess one (the tool's
/// `CURLU_GUESS_SCHEME`): 1 to 40 of `[A-Za-z0-9+.-]` followed by `:/`. Returns the scheme as typed
/// and what follows the colon. Without the slash, `name:123` is a host and a port, as in curl.
fn split_scheme(input: &str) -> Option<(&str, &str)> {
    let i = input.find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)))?;
    if i == 0 || i > MAX_SCHEME_LEN {
        return None;
    }
    input[i..]
        .starts_with(":/")
        .then(|| (&input[..i], &input[i + 1..]))
}

/// Characters curl 7.88 refuses in a host name (`hostname_check` in lib/urlapi.c), `%` aside:
/// wtcurl lets the URL parser decode percent-escapes, as curl does before that check.
const BAD_HOST_CHARS: &str = " \r\n\t/:#?!@{}[]\\$'\"^`*<>=;,+&()";

/// The authority part (between the scheme's slashes and the path), checked as curl checks it.
struct Authority<'a> {
    /// The host as typed, without brackets.
    host: &'a str,
}

fn check_authority<'a>(input: &str, rest: &'a str, has_scheme: bool) -> Result<Authority<'a>> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..end];
    // curl splits the credentials at the first '@'; a second one makes the host invalid below.
    let hostport = authority.split_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
        let Some(close) = v6.find(']') else {
            return Err(malformed(
                input,
                format!("the IPv6 address [{v6} has no closing ]"),
            ));
        };
        let tail = &v6[close + 1..];
        let port = match tail.strip_prefix(':') {
            Some(p) => Some(p),
            None if tail.is_empty() => None,
            None => {
                return Err(malformed(
                    input,
                    format!("{tail:?} follows the IPv6 address's ] where only :PORT may"),
                ));
            }
        };
        (&v6[..close], port)
    } else {
        match hostport.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        }
    };
    if host.is_empty() {
        let e = malformed(input, "no host name");
        return Err(if has_scheme && rest.starts_with('/') {
            e.hint("after the scheme's slashes comes the host: write it as http://host/path")
        } else {
            e
        });
    }
    if authority.matches('@').count() > 1 {
        // Not quoted: what precedes the last '@' may be part of a password.
        return Err(malformed(
            input,
            "the credentials before the host contain a second '@' (write it as %40)",
        ));
    }
    if !hostport.starts_with('[')
        && let Some(bad) = host.chars().find(|c| BAD_HOST_CHARS.contains(*c))
    {
        return Err(malformed(
            input,
            format!(
                "the host name {host:?} contains {bad:?}, which curl does not allow in a host name"
            ),
        ));
    }
    match port {
        None => {}
        // Browsers and curl drop an empty port, but curl only when a scheme was given: "foo:"
        // must never become a request to the host foo.
        Some("") if has_scheme => {}
        Some("") => {
            return Err(malformed(
                input,
                format!("\"{host}:\" has no port number after the colon"),
            )
            .hint(format!(
                "if {host:?} is meant as the scheme, write {host}://host/; without a scheme, \
                 curl refuses an empty port so that a scheme is never taken for a host name"
            )));
        }
        Some(p) => {
            let digits = p.trim_start_matches('0');
            let ok = p.bytes().all(|b| b.is_ascii_digit())
                && digits.len() <= 5
                && digits.parse::<u32>().unwrap_or(0) <= u32::from(u16::MAX);
            if !ok {
                let e = malformed(
                    input,
                    format!("the port {p:?} is not a number from 0 to 65535"),
                );
                let looks_like_scheme = !has_scheme
                    && host
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
                return Err(if looks_like_scheme {
                    e.hint(format!(
                        "{host:?} was read as a host name and {p:?} as its port, because no \"/\" \
                         follows \"{host}:\"; if {host:?} is meant as the scheme, write {host}://host/"
                    ))
                } else {
                    e
                });
            }
        }
    }
    Ok(Authority { host })
}

/// Edit distance, to suggest http:// for a mistyped scheme.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn unsupported(scheme: &str) -> Error {
    let near = ["http", "https"]
        .into_iter()
        .min_by_key(|s| distance(scheme, s))
        .filter(|s| distance(scheme, s) <= 2);
    let hint = match near {
        Some(s) => format!("wtcurl speaks http:// and https://; did you mean {s}://?"),
        None => "wtcurl speaks http:// and https://".to_string(),
    };
    Error::new(
        Phase::Url,
        Label::UnsupportedProtocol,
        format!("Protocol \"{scheme}\" not supported"),
    )
    .hint(hint)
}

/// Takes the zone out of an IPv6 literal, as curl 7.88 does: `[ADDR%25ZONE]` (RFC 6874) or a bare
/// `[ADDR%ZONE]`; the zone is letters, digits and `-._~`. Returns the rest without the zone.
fn split_zone(input: &str, rest: &str) -> Result<(String, Option<String>)> {
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host_at = rest[..end].rfind('@').map_or(0, |i| i + 1);
    let Some(inner) = rest[host_at..end].strip_prefix('[') else {
        return Ok((rest.to_string(), None));
    };
    let Some(close) = inner.find(']') else {
        return Ok((rest.to_string(), None));
    };
    let Some(pct) = inner[..close].find('%') else {
        return Ok((rest.to_string(), None));
    };
    let raw = &inner[pct + 1..close];
    // curl takes `%25` as the escaped `%`, unless nothing follows it: then 25 is the zone.
    let zone = match raw.strip_prefix("25") {
        Some(z) if !z.is_empty() => z,
        _ => raw,
    };
    if zone.is_empty()
        || !zone
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._~".contains(c))
    {
        return Err(malformed(
            input,
            format!("the IPv6 zone {raw:?} is not letters, digits and -._~"),
        )
        .hint("write a zone as http://[fe80::1%25eth0]/ (%25 is the URL's spelling of %)"));
    }
    let start = host_at + 1;
    let without = format!("{}{}", &rest[..start + pct], &rest[start + close..]);
    Ok((without, Some(zone.to_string())))
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
    // As curl: "scheme:/" starts a scheme, then 1 to 3 slashes (curl is lenient about their
    // number); anything else is a host, maybe with a port, and the scheme is http.
    let (scheme, rest) = match split_scheme(trimmed) {
        Some((typed, after)) => {
            let slashes = after.bytes().take_while(|b| *b == b'/').count();
            if slashes > 3 {
                return Err(malformed(
                    input,
                    format!("\"{typed}:\" is followed by {slashes} slashes; curl accepts 1 to 3"),
                )
                .hint(format!(
                    "write it as {}://host/path",
                    typed.to_ascii_lowercase()
                )));
            }
            (Some(typed.to_ascii_lowercase()), &after[slashes..])
        }
        None => (None, trimmed),
    };
    let scheme_inferred = scheme.is_none();
    let (rest, zone) = split_zone(input, rest)?;
    let rest = rest.as_str();
    let authority = check_authority(input, rest, !scheme_inferred)?;
    let scheme = scheme.unwrap_or_else(|| "http".to_string());
    // Only a URL that parses gets this far, as in curl: "htp:/x" says the protocol, "htp:x" the port.
    if scheme != "http" && scheme != "https" {
        return Err(unsupported(&scheme));
    }
    let typed = authority.host.to_string();
    let full = format!("{scheme}://{rest}");
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
        zone: zone.filter(|_| matches!(ip, Some(IpAddr::V6(_)))),
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
    fn ipv6_zone_ids_are_taken_out_as_curl_does() {
        for (url, zone) in [
            ("http://[::1%25lo]:8080/x", "lo"),
            ("http://[::1%lo]:8080/x", "lo"),
            ("[fe80::1%251]/", "1"),
            ("http://u:p@[fe80::1%25eth0.5]/", "eth0.5"),
        ] {
            let t = parse(url).unwrap();
            assert_eq!(t.zone.as_deref(), Some(zone), "{url}");
            assert!(matches!(t.ip, Some(IpAddr::V6(_))), "{url}");
            assert!(!t.host_header().contains('%'), "{url}");
        }
        assert_eq!(
            parse("http://[::1%25lo]:8080/").unwrap().host_header(),
            "[::1]:8080"
        );
        assert_eq!(parse("http://[::1]/").unwrap().zone, None);
        assert_eq!(
            parse("http://[::1%25]/").unwrap().zone.as_deref(),
            Some("25")
        );
        for bad in [
            "http://[::1%]/",
            "http://[::1%25a/b]/",
            "http://[127.0.0.1%25lo]/",
        ] {
            assert_eq!(parse(bad).unwrap_err().exit_code(), 3, "{bad}");
        }
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
            "http://[::1]x/",
            "http://host:99999/",
            "http://127.0.0.1:65536/",
            "http://127.0.0.1:-1/",
            "http://127.0.0.1:+80/",
            "http://127.0.0.1:80a/",
            "http://a:1:2/",
            "http://a\nb",
            "http:",
            "http:/",
            "http:/?x",
            "http://?x",
            "http://:8000/",
            "http://user@:8000/",
            "http://u@a@127.0.0.1/",
            "http://a!b/",
            "http://a,b/",
            "http:\\\\127.0.0.1:8000/",
            "http:127.0.0.1:8000/",
            "http:////127.0.0.1/",
            "htp:////x",
            "htp:127.0.0.1",
            "htp:x/y",
            "foo:bar",
            "foo:",
            "localhost:",
            "127.0.0.1:/",
            "h:/",
            "a:/",
            "//127.0.0.1/",
            "/x",
            ":1",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 3, "{bad:?}: {e}");
            assert_eq!(e.phase, Phase::Url);
            assert_eq!(e.label, Label::UrlMalformed);
            assert!(e.hint.is_some(), "{bad:?}");
        }
    }

    #[test]
    fn unknown_scheme_exits_1() {
        assert_eq!(parse("gopher://x/").unwrap_err().exit_code(), 1);
        // curl 7.88: a scheme is letters, digits, + - . followed by ":/", with 1 to 3 slashes.
        for (url, scheme) in [
            ("htp:/127.0.0.1/", "htp"),
            ("htp://127.0.0.1/", "htp"),
            ("HTP:///127.0.0.1/", "htp"),
            ("localhost:/x", "localhost"),
            ("1htp:/x", "1htp"),
            ("h-t.p+s:/x", "h-t.p+s"),
            ("ftp://127.0.0.1:1/", "ftp"),
        ] {
            let e = parse(url).unwrap_err();
            assert_eq!(e.exit_code(), 1, "{url:?}: {e}");
            assert_eq!(e.label, Label::UnsupportedProtocol);
            assert_eq!(e.phase, Phase::Url);
            assert_eq!(e.message, format!("Protocol \"{scheme}\" not supported"));
        }
        let hint = |u: &str| parse(u).unwrap_err().hint.unwrap();
        assert!(hint("htp:/127.0.0.1/").contains("did you mean http://?"));
        assert!(hint("htps://x/").contains("did you mean https://?"));
        assert!(!hint("gopher://x/").contains("did you mean"));
    }

    #[test]
    fn scheme_names_are_never_taken_for_hosts() {
        // Each of these once went to DNS for a host named after the scheme.
        for url in [
            "htp:/127.0.0.1/",
            "http:/",
            "http:",
            "HTTP:/x:99999/",
            "http:\\\\x/",
        ] {
            assert!(parse(url).is_err(), "{url:?}");
        }
        let e = parse("htp:127.0.0.1").unwrap_err();
        assert!(e.message.contains("port \"127.0.0.1\""), "{}", e.message);
        assert!(e.hint.unwrap().contains("htp://"));
    }

    #[test]
    fn one_to_three_slashes_as_in_curl() {
        for url in [
            "http:/127.0.0.1:8000/",
            "http://127.0.0.1:8000/",
            "http:///127.0.0.1:8000/",
            "HTTP://127.0.0.1:8000/",
            "hTtP:///127.0.0.1:8000",
            "http:/127.0.0.1:8000",
        ] {
            let t = parse(url).unwrap();
            assert_eq!(t.url, "http://127.0.0.1:8000/", "{url:?}");
            assert_eq!(t.scheme, "http");
            assert!(!t.scheme_inferred);
            assert_eq!(t.ip, Some("127.0.0.1".parse().unwrap()));
        }
        assert_eq!(parse("https:/[::1]:1/").unwrap().host_ascii, "::1");
    }

    #[test]
    fn ports_as_in_curl() {
        // An empty port is the default one, when a scheme was given.
        let t = parse("http://127.0.0.1:/").unwrap();
        assert_eq!((t.port, t.port_inferred), (80, true));
        assert_eq!(t.url, "http://127.0.0.1/");
        assert_eq!(parse("http://[::1]:/").unwrap().port, 80);
        assert_eq!(parse("http://127.0.0.1:00008000/").unwrap().port, 8000);
        assert_eq!(parse("http://127.0.0.1:0/").unwrap().port, 0);
        assert_eq!(parse("localhost:8000").unwrap().port, 8000);
        assert_eq!(parse("http:80").unwrap().host, "http");
        assert_eq!(parse("http://a_b:1/").unwrap().host, "a_b");
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
