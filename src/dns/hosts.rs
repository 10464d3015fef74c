//! The hosts file (hosts(5)): static name-to-address lines, the `files` source of nsswitch.
//!
//! Each line is `ADDRESS NAME [ALIAS...]`; `#` starts a comment. Names compare case-insensitively
//! and exactly (as glibc's `files` module does: `foo.` does not match `foo`). Like glibc (2.26 and
//! later), every matching line counts, so a name may get several addresses, IPv4 and IPv6.
//! Lines whose address does not parse (including IPv6 with a `%scope`, which glibc also skips)
//! are ignored.

use super::Family;
use std::net::IpAddr;

/// One usable line of the hosts file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// 1-based line number.
    pub line: usize,
    pub addr: IpAddr,
    /// The canonical name then the aliases, as written.
    pub names: Vec<String>,
}

/// Parses the whole file, keeping only lines with an address and at least one name.
pub fn parse(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let mut fields = line.split_whitespace();
        let Some(addr) = fields.next() else { continue };
        let Ok(addr) = addr.parse::<IpAddr>() else {
            continue;
        };
        let names: Vec<String> = fields.map(str::to_string).collect();
        if names.is_empty() {
            continue;
        }
        out.push(Entry {
            line: i + 1,
            addr,
            names,
        });
    }
    out
}

/// What the hosts file says about one name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Found {
    /// The addresses of the wanted family, in file order, without duplicates.
    pub addresses: Vec<IpAddr>,
    /// The line of the first address used.
    pub line: Option<usize>,
}

/// Looks `name` up among `entries`, keeping the addresses of `family`.
pub fn lookup(entries: &[Entry], name: &str, family: Family) -> Found {
    let mut found = Found::default();
    for e in entries {
        if !e.names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            continue;
        }
        let wanted = match family {
            Family::Any => true,
            Family::V4 => e.addr.is_ipv4(),
            Family::V6 => e.addr.is_ipv6(),
        };
        if !wanted || found.addresses.contains(&e.addr) {
            continue;
        }
        found.line.get_or_insert(e.line);
        found.addresses.push(e.addr);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "\
# The following lines are desirable for IPv4 capable hosts
127.0.0.1       localhost
127.0.1.1\tbox.example.test box   # this machine

::1     localhost ip6-localhost ip6-loopback
10.0.0.5 Web.Example.Test web
not-an-address web
fe80::1%eth0 web
10.0.0.6 web.example.test
2001:db8::5 web.example.test
10.0.0.5 web
   
10.9.9.9
";

    #[test]
    fn parses_lines_with_line_numbers() {
        let e = parse(HOSTS);
        assert_eq!(e.len(), 7);
        assert_eq!(e[0].line, 2);
        assert_eq!(e[0].names, ["localhost"]);
        assert_eq!(e[1].names, ["box.example.test", "box"]);
        assert_eq!(e[2].addr, "::1".parse::<IpAddr>().unwrap());
        assert_eq!(e[3].line, 6);
    }

    #[test]
    fn lookup_is_case_insensitive_merges_lines_and_filters_family() {
        let e = parse(HOSTS);
        let f = lookup(&e, "WEB.example.test", Family::Any);
        assert_eq!(
            f.addresses,
            ["10.0.0.5", "10.0.0.6", "2001:db8::5"]
                .map(|a| a.parse::<IpAddr>().unwrap())
                .to_vec()
        );
        assert_eq!(f.line, Some(6));
        let f = lookup(&e, "web.example.test", Family::V6);
        assert_eq!(f.addresses, ["2001:db8::5".parse::<IpAddr>().unwrap()]);
        assert_eq!(f.line, Some(10));
        let f = lookup(&e, "web", Family::V4);
        assert_eq!(f.addresses, ["10.0.0.5".parse::<IpAddr>().unwrap()]);
        assert_eq!(f.line, Some(6));
        assert_eq!(lookup(&e, "ip6-loopback", Family::V4), Found::default());
        assert_eq!(lookup(&e, "localhost", Family::Any).addresses.len(), 2);
        assert_eq!(lookup(&e, "web.", Family::Any), Found::default());
        assert_eq!(lookup(&e, "this", Family::Any), Found::default());
    }

    #[test]
    fn garbage_does_not_crash() {
        for text in [
            "",
            "\0\0\0",
            "#####",
            "1.2.3.4.5 x",
            "::::: y",
            "\u{feff}1.2.3.4 z",
        ] {
            let e = parse(text);
            let _ = lookup(&e, "x", Family::Any);
        }
    }
}
