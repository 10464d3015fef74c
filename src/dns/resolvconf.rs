//! resolv.conf (resolv.conf(5)) as glibc reads it: name servers, search list and options.
//!
//! Implemented like glibc's `res_init`: a keyword is only recognised at the start of a line and
//! followed by a space or tab; lines starting with `#` or `;` are comments. `nameserver` takes
//! the first word of its line, at most 3 are kept (MAXNS), always port 53; IPv6 with a numeric
//! `%scope` is accepted, a named scope is not (resolving an interface name would need an
//! unrecorded socket). `domain` and `search` replace each other, the last one wins. Options:
//! `ndots:N` (capped at 15), `timeout:N` (capped at 30), `attempts:N` (capped at 5), `rotate`;
//! numbers are read like `atoi`. Other options (`edns0`, `single-request`, `use-vc`, `no-aaaa`,
//! `trust-ad`...) are ignored, and so are the `LOCALDOMAIN`/`RES_OPTIONS` environment variables and
//! the search domain glibc derives from the host name when no `search`/`domain` line exists.
//! No `nameserver` line means 127.0.0.1:53, as glibc.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

/// glibc's MAXNS.
pub const MAX_NAMESERVERS: usize = 3;
/// Bound on the search list (glibc has none since 2.26; this only bounds the work).
pub const MAX_SEARCH: usize = 32;

/// The resolver configuration, with glibc's defaults for what the file does not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvConf {
    pub nameservers: Vec<SocketAddr>,
    pub search: Vec<String>,
    pub ndots: u8,
    pub timeout_s: u32,
    pub attempts: u32,
    pub rotate: bool,
}

impl Default for ResolvConf {
    fn default() -> Self {
        ResolvConf {
            nameservers: Vec::new(),
            search: Vec::new(),
            ndots: 1,
            timeout_s: 5,
            attempts: 2,
            rotate: false,
        }
    }
}

/// The server glibc uses when resolv.conf names none.
pub fn default_nameserver() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 53))
}

/// `atoi`: optional sign, then leading digits; anything else reads as 0. Saturates.
fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes().take_while(u8::is_ascii_digit) {
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg { -n } else { n }
}

/// Like glibc's MATCH(line, keyword): the keyword at the start, then a space or tab.
fn keyword<'a>(line: &'a str, kw: &str) -> Option<&'a str> {
    let rest = line.strip_prefix(kw)?;
    if rest.starts_with([' ', '\t']) {
        Some(rest)
    } else {
        None
    }
}

fn parse_nameserver(word: &str) -> Option<SocketAddr> {
    if let Ok(ip) = word.parse::<IpAddr>() {
        return Some(SocketAddr::new(ip, 53));
    }
    let (addr, scope) = word.split_once('%')?;
    let ip = addr.parse::<Ipv6Addr>().ok()?;
    let scope = scope.parse::<u32>().ok()?;
    Some(SocketAddr::V6(SocketAddrV6::new(ip, 53, 0, scope)))
}

/// Parses resolv.conf text. Never fails: unknown or malformed lines are skipped, as glibc does.
pub fn parse(text: &str) -> ResolvConf {
    let mut rc = ResolvConf::default();
    for line in text.lines() {
        if line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(rest) = keyword(line, "domain") {
            if let Some(d) = rest.split_whitespace().next() {
                rc.search = vec![d.to_string()];
            }
        } else if let Some(rest) = keyword(line, "search") {
            let list: Vec<String> = rest
                .split_whitespace()
                .take(MAX_SEARCH)
                .map(str::to_string)
                .collect();
            if !list.is_empty() {
                rc.search = list;
            }
        } else if let Some(rest) = keyword(line, "nameserver") {
            if rc.nameservers.len() < MAX_NAMESERVERS
                && let Some(ns) = rest.split_whitespace().next().and_then(parse_nameserver)
            {
                rc.nameservers.push(ns);
            }
        } else if let Some(rest) = keyword(line, "options") {
            for opt in rest.split_whitespace() {
                if let Some(v) = opt.strip_prefix("ndots:") {
                    rc.ndots = atoi(v).clamp(0, 15) as u8;
                } else if let Some(v) = opt.strip_prefix("timeout:") {
                    rc.timeout_s = atoi(v).clamp(0, 30) as u32;
                } else if let Some(v) = opt.strip_prefix("attempts:") {
                    rc.attempts = atoi(v).clamp(0, 5) as u32;
                } else if opt == "rotate" {
                    rc.rotate = true;
                }
            }
        }
    }
    rc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let rc = parse("");
        assert_eq!(rc, ResolvConf::default());
        assert_eq!((rc.ndots, rc.timeout_s, rc.attempts), (1, 5, 2));
        assert!(rc.nameservers.is_empty());
        assert_eq!(default_nameserver().to_string(), "127.0.0.1:53");
    }

    #[test]
    fn typical_file() {
        let rc = parse(
            "# generated\n; also a comment\nnameserver 127.0.0.53 # stub\nnameserver ::1\n\
             nameserver fe80::1%2\nnameserver 10.0.0.1\noptions edns0 trust-ad ndots:2 timeout:1 attempts:3 rotate\n\
             search corp.example lab.example\n",
        );
        assert_eq!(
            rc.nameservers,
            [
                "127.0.0.53:53".parse::<SocketAddr>().unwrap(),
                "[::1]:53".parse().unwrap(),
                "[fe80::1%2]:53".parse().unwrap(),
            ]
        );
        assert_eq!(rc.search, ["corp.example", "lab.example"]);
        assert_eq!(
            (rc.ndots, rc.timeout_s, rc.attempts, rc.rotate),
            (2, 1, 3, true)
        );
    }

    #[test]
    fn domain_and_search_replace_each_other() {
        assert_eq!(parse("search a b\ndomain c\n").search, ["c"]);
        assert_eq!(parse("domain c\nsearch a b\n").search, ["a", "b"]);
        assert_eq!(parse("domain c\nsearch\n").search, ["c"]);
    }

    #[test]
    fn options_are_capped_and_read_like_atoi() {
        let rc = parse("options ndots:99 timeout:1000 attempts:9\n");
        assert_eq!((rc.ndots, rc.timeout_s, rc.attempts), (15, 30, 5));
        let rc = parse("options ndots:x timeout:-3 attempts:2abc\n");
        assert_eq!((rc.ndots, rc.timeout_s, rc.attempts), (0, 0, 2));
        let rc = parse("options ndots:99999999999999999999999999\n");
        assert_eq!(rc.ndots, 15);
    }

    #[test]
    fn keywords_need_line_start_and_blank() {
        let rc = parse(
            " nameserver 10.0.0.1\nnameserver\t10.0.0.2\nnameservers 10.0.0.3\nnameserver bogus\nnameserver fe80::1%eth0\nnameserver\n",
        );
        assert_eq!(
            rc.nameservers,
            ["10.0.0.2:53".parse::<SocketAddr>().unwrap()]
        );
    }

    #[test]
    fn garbage_does_not_crash() {
        for text in [
            "\0",
            "options",
            "options :::: ndots: timeout: attempts:",
            "search",
            "domain",
            "nameserver %",
            "nameserver ::%",
            "options ndots:-",
            "\u{feff}nameserver 1.2.3.4",
        ] {
            let _ = parse(text);
        }
    }
}
