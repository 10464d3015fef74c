//! Secrets given on the command line, masked as `****` wherever wtcurl shows or records them.
//!
//! The password of `-u user:password` and of a URL's `user:password@`, and the values of
//! `Authorization`, `Proxy-Authorization` and `Cookie` headers (from `-H`, or made from `-u`)
//! are masked where the data is collected: phase 0's argv, the `url` event's input, the request
//! head shown, error messages that quote a URL or a -H value. The bytes sent keep the real
//! values; `--explain` says once that what it shows is masked. `-w` prints `%{url}` and
//! `%{url_effective}` with the password, as curl 7.88 does (the user asked for those values).
//!
//! Pure functions on text: each returns the text borrowed when it holds no secret.

use std::borrow::Cow;

/// What a secret is replaced with.
pub const MASK: &str = "****";

/// Short flags that take a value (the rest of the argument, or the next one), as `cli.rs`
/// declares them; `tests::value_flags_match_the_cli` keeps this in step.
const SHORT_WITH_VALUE: &[char] = &['A', 'H', 'X', 'd', 'm', 'o', 'u', 'w'];

/// Long flags that take a value (`--flag VALUE` or `--flag=VALUE`).
const LONG_WITH_VALUE: &[&str] = &[
    "breaker",
    "breaker-state",
    "cacert",
    "capath",
    "connect-timeout",
    "connect-to",
    "data",
    "dns-servers",
    "header",
    "hosts-file",
    "interval",
    "max-redirs",
    "max-time",
    "nsswitch-conf",
    "output",
    "pcap",
    "repeat",
    "request",
    "resolv-conf",
    "resolve",
    "tls-max",
    "trace-json",
    "user",
    "user-agent",
    "write-out",
];

/// Where a URL's authority starts: after `scheme:` and its slashes (curl accepts 1 to 3), or
/// at 0 when there is no scheme (`user:pw@host` is a host with credentials, as in curl).
fn authority_start(s: &str) -> usize {
    let scheme_end = s.find(|c: char| !(c.is_ascii_alphanumeric() || "+-.".contains(c)));
    match scheme_end {
        Some(i) if i > 0 && s[i..].starts_with(":/") => {
            let after = &s[i + 1..];
            i + 1 + (after.len() - after.trim_start_matches('/').len())
        }
        _ => 0,
    }
}

/// The `user[:password]` part of a URL, as typed (percent-escapes kept), if it has one.
pub fn userinfo(url: &str) -> Option<&str> {
    let start = authority_start(url);
    let rest = &url[start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    authority.rfind('@').map(|at| &authority[..at])
}

/// A URL with the password in its userinfo masked: `http://bob:****@127.0.0.1/`. The split is
/// at the authority's last `@`, so a stray `@` in a password is masked too; a user without a
/// password, or an empty password, is left as it is.
pub fn url(s: &str) -> Cow<'_, str> {
    let start = authority_start(s);
    let Some(info) = userinfo(s) else {
        return Cow::Borrowed(s);
    };
    match info.find(':') {
        Some(colon) if colon + 1 < info.len() => {
            let pw_start = start + colon + 1;
            let pw_end = start + info.len();
            Cow::Owned(format!("{}{MASK}{}", &s[..pw_start], &s[pw_end..]))
        }
        _ => Cow::Borrowed(s),
    }
}

/// `-u user:password` as `user:****`; a value without a password stays as it is.
pub fn user(s: &str) -> Cow<'_, str> {
    match s.split_once(':') {
        Some((name, pw)) if !pw.is_empty() => Cow::Owned(format!("{name}:{MASK}")),
        _ => Cow::Borrowed(s),
    }
}

fn trim_blanks(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

/// A header line with a secret value masked: `Authorization: Basic ****`,
/// `Proxy-Authorization: Bearer ****` (the scheme kept), `Cookie: a=****; b=****` (the names
/// kept). Other headers, and these with an empty value, stay as they are.
pub fn header(line: &str) -> Cow<'_, str> {
    let Some((name, value)) = line.split_once(':') else {
        return Cow::Borrowed(line);
    };
    let n = trim_blanks(name);
    let v = trim_blanks(value);
    if v.is_empty() {
        return Cow::Borrowed(line);
    }
    if n.eq_ignore_ascii_case("Authorization") || n.eq_ignore_ascii_case("Proxy-Authorization") {
        return Cow::Owned(match v.split_once([' ', '\t']) {
            Some((scheme, _)) => format!("{name}: {scheme} {MASK}"),
            None => format!("{name}: {MASK}"),
        });
    }
    if n.eq_ignore_ascii_case("Cookie") {
        let pairs: Vec<String> = v
            .split(';')
            .map(trim_blanks)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, _)) => format!("{k}={MASK}"),
                None => MASK.to_string(),
            })
            .collect();
        return Cow::Owned(format!("{name}: {}", pairs.join("; ")));
    }
    Cow::Borrowed(line)
}

/// Which secret a flag's value is.
#[derive(Clone, Copy)]
enum Value {
    User,
    Header,
    Other,
}

fn short_value(c: char) -> Option<Value> {
    SHORT_WITH_VALUE.contains(&c).then_some(match c {
        'u' => Value::User,
        'H' => Value::Header,
        _ => Value::Other,
    })
}

fn long_value(name: &str) -> Option<Value> {
    LONG_WITH_VALUE.contains(&name).then_some(match name {
        "user" => Value::User,
        "header" => Value::Header,
        _ => Value::Other,
    })
}

fn mask_value(kind: Value, v: &str) -> Cow<'_, str> {
    match kind {
        Value::User => user(v),
        Value::Header => header(v),
        Value::Other => Cow::Borrowed(v),
    }
}

/// A command line with its secrets masked, read as clap reads wtcurl's flags: `-u V`, `-uV`,
/// `-su V`, `--user V`, `--user=V`, the same for `-H`, and every URL (positional, or after
/// `--`). Returns the masked argv and whether anything was masked. argv[0] is kept.
pub fn argv(args: &[String]) -> (Vec<String>, bool) {
    let mut out = Vec::with_capacity(args.len());
    let mut masked = false;
    let mut push = |s: Cow<'_, str>, out: &mut Vec<String>| {
        masked |= matches!(s, Cow::Owned(_));
        out.push(s.into_owned());
    };
    let mut pending: Option<Value> = None;
    let mut positional_only = false;
    for (i, a) in args.iter().enumerate() {
        if i == 0 {
            out.push(a.clone());
            continue;
        }
        if let Some(kind) = pending.take() {
            push(mask_value(kind, a), &mut out);
            continue;
        }
        if positional_only || a == "-" || !a.starts_with('-') {
            push(url(a), &mut out);
            continue;
        }
        if a == "--" {
            positional_only = true;
            out.push(a.clone());
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            match long.split_once('=') {
                Some((name, v)) => match long_value(name) {
                    Some(kind) => {
                        let m = mask_value(kind, v);
                        let changed = matches!(m, Cow::Owned(_));
                        push(
                            if changed {
                                Cow::Owned(format!("--{name}={m}"))
                            } else {
                                Cow::Borrowed(a.as_str())
                            },
                            &mut out,
                        );
                    }
                    None => out.push(a.clone()),
                },
                None => {
                    pending = long_value(long);
                    out.push(a.clone());
                }
            }
            continue;
        }
        // A cluster of short flags: the first one that takes a value takes the rest.
        let cluster = &a[1..];
        let mut done = false;
        for (j, c) in cluster.char_indices() {
            if let Some(kind) = short_value(c) {
                let rest = &cluster[j + c.len_utf8()..];
                if rest.is_empty() {
                    pending = Some(kind);
                    out.push(a.clone());
                } else {
                    let m = mask_value(kind, rest);
                    let changed = matches!(m, Cow::Owned(_));
                    let head = &a[..1 + j + c.len_utf8()];
                    push(
                        if changed {
                            Cow::Owned(format!("{head}{m}"))
                        } else {
                            Cow::Borrowed(a.as_str())
                        },
                        &mut out,
                    );
                }
                done = true;
                break;
            }
        }
        if !done {
            out.push(a.clone());
        }
    }
    (out, masked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(args: &[&str]) -> Vec<String> {
        args.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn url_passwords_are_masked_and_nothing_else() {
        for (input, want) in [
            (
                "http://bob:pw123@127.0.0.1:8000/",
                "http://bob:****@127.0.0.1:8000/",
            ),
            ("https://b%40b:p%3Aw@h/x?y@z", "https://b%40b:****@h/x?y@z"),
            ("bob:pw123@127.0.0.1:8000/", "bob:****@127.0.0.1:8000/"),
            ("http:/bob:pw@h", "http:/bob:****@h"),
            ("HTTP:///bob:pw@h/", "HTTP:///bob:****@h/"),
            ("http://u:p@ss@h/", "http://u:****@h/"),
            ("http://bob:pw 1@h/", "http://bob:****@h/"),
        ] {
            assert_eq!(url(input), want, "{input}");
        }
        for same in [
            "http://127.0.0.1:8000/",
            "http://bob@h/",
            "http://bob:@h/",
            "http://h/path?email=a@b.c",
            "http://h:8080/x@y",
            "wetransfer.com",
            "",
        ] {
            assert!(matches!(url(same), Cow::Borrowed(_)), "{same}");
        }
        assert_eq!(userinfo("http://bob:pw@h/"), Some("bob:pw"));
        assert_eq!(userinfo("http://h/a@b"), None);
    }

    #[test]
    fn user_and_header_values_are_masked() {
        assert_eq!(user("alice:secret"), "alice:****");
        assert_eq!(user("alice:a:b"), "alice:****");
        assert!(matches!(user("alice"), Cow::Borrowed(_)));
        assert!(matches!(user("alice:"), Cow::Borrowed(_)));
        assert_eq!(
            header("Authorization: Bearer abc.def"),
            "Authorization: Bearer ****"
        );
        assert_eq!(header("authorization:token"), "authorization: ****");
        assert_eq!(
            header("Proxy-Authorization: Basic dTpw"),
            "Proxy-Authorization: Basic ****"
        );
        assert_eq!(
            header("Cookie: sid=s3cret; theme=dark"),
            "Cookie: sid=****; theme=****"
        );
        assert_eq!(header("cookie: justavalue"), "cookie: ****");
        for same in [
            "Accept: */*",
            "Authorization:",
            "Cookie:  ",
            "Authorization;",
            "X-Note",
        ] {
            assert!(matches!(header(same), Cow::Borrowed(_)), "{same}");
        }
    }

    #[test]
    fn argv_masks_every_way_clap_takes_a_secret() {
        let (out, masked) = argv(&v(&[
            "wtcurl",
            "-u",
            "alice:secret",
            "--explain",
            "--user=al:pw2",
            "-sualice:pw3",
            "-H",
            "Authorization: Bearer tok1",
            "--header",
            "Cookie: sid=tok2",
            "--header=Proxy-Authorization: Basic tok3",
            "-HAuthorization: Bearer tok4",
            "-d",
            "a:b@c",
            "-w",
            "%{url}",
            "http://bob:pw4@127.0.0.1:1/",
            "--",
            "x:pw5@h",
        ]));
        assert!(masked);
        assert_eq!(
            out,
            v(&[
                "wtcurl",
                "-u",
                "alice:****",
                "--explain",
                "--user=al:****",
                "-sualice:****",
                "-H",
                "Authorization: Bearer ****",
                "--header",
                "Cookie: sid=****",
                "--header=Proxy-Authorization: Basic ****",
                "-HAuthorization: Bearer ****",
                "-d",
                "a:b@c",
                "-w",
                "%{url}",
                "http://bob:****@127.0.0.1:1/",
                "--",
                "x:****@h",
            ])
        );
        for secret in [
            "secret", "pw2", "pw3", "tok1", "tok2", "tok3", "tok4", "pw4", "pw5",
        ] {
            assert!(!out.iter().any(|a| a.contains(secret)), "{secret}");
        }
        let plain = v(&["wtcurl", "--explain", "-H", "Accept: x", "http://h/"]);
        assert_eq!(argv(&plain), (plain.clone(), false));
    }

    #[test]
    fn value_flags_match_the_cli() {
        use clap::CommandFactory;
        let mut cmd = crate::cli::Args::command();
        cmd.build();
        let mut shorts = Vec::new();
        let mut longs = Vec::new();
        for a in cmd.get_arguments() {
            let takes = a.get_action().takes_values()
                && a.get_num_args().is_some_and(|n| n.min_values() > 0);
            if !takes || a.is_positional() {
                continue;
            }
            shorts.extend(a.get_short());
            longs.extend(a.get_long());
        }
        shorts.sort_unstable();
        longs.sort_unstable();
        assert_eq!(shorts, SHORT_WITH_VALUE);
        assert_eq!(longs, LONG_WITH_VALUE);
    }
}
