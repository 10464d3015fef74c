//! The response head parser: status line and header fields, with curl's tolerance and limits.
//!
//! Tolerated as curl does: bare LF line ends, `HTTP/1.1 200` without a reason, extra white space
//! before the status code, obs-fold continuation lines (folded into the previous value with one
//! space). Rejected: anything that is not an HTTP/1.0 or HTTP/1.1 status line (exit 1 as in curl
//! 7.88.1, or 8 for an HTTP/2 one), a header line without a colon, NUL bytes, a CR that does not
//! end a line, and heads over the limits (exit 27 for a line, 56 for the head, as curl). Limits
//! and the first line's prefix are checked while the head is still incomplete, so a server that
//! speaks another protocol, or streams an endless header, is caught without waiting for it.

use serde::Serialize;

use super::{QUOTE_MAX, is_blank, name_eq, quote_bytes};
use crate::error::{Error, Label, Phase, Result};

/// A parsed response head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ResponseHead {
    /// "HTTP/1.0" or "HTTP/1.1".
    pub version: String,
    pub status: u16,
    /// The reason phrase, possibly empty.
    pub reason: String,
    /// Header fields in order; names as received, values with OWS trimmed and folds joined.
    pub headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// The first value of a header (name compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_all(name).next()
    }

    /// Every value of a header, in order.
    pub fn header_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .iter()
            .filter(move |(n, _)| name_eq(n, name))
            .map(|(_, v)| v.as_str())
    }
}

/// Bounds on what [`parse_head`] accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// A single line, line ending included, must be shorter than this (curl's
    /// CURL_MAX_HTTP_HEADER, 100 KiB: curl's line buffer also holds a NUL, so 102,399 bytes pass
    /// and 102,400 fail with "Out of memory", exit 27).
    pub max_line: usize,
    /// Most header fields (curl's MAX_HTTP_RESP_HEADER_COUNT, 5000).
    pub max_headers: usize,
    /// Largest head, status line through the blank line (curl's MAX_HTTP_RESP_HEADER_SIZE, 300 KiB).
    pub max_head_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line: 100 * 1024,
            max_headers: 5000,
            max_head_bytes: 300 * 1024,
        }
    }
}

fn weird(message: String, hint: &str) -> Error {
    Error::new(Phase::Response, Label::WeirdReply, message).hint(hint)
}

/// Guess what answered when the first line is not HTTP.
fn not_http_hint(first: &[u8]) -> &'static str {
    if first.starts_with(b"SSH-") {
        "an SSH server answered: this port does not speak HTTP; check the port in the URL"
    } else if matches!(first.first(), Some(0x15 | 0x16)) {
        "the reply looks like TLS: the server expects https://, not http://"
    } else if first.starts_with(b"220") {
        "an FTP or SMTP server answered (greeting 220): check the port and scheme"
    } else if first.starts_with(b"+OK") || first.starts_with(b"* OK") {
        "a mail server (POP3/IMAP) answered: check the port and scheme"
    } else if first.starts_with(b"HTTP/") {
        "the server does not speak HTTP/1.0 or HTTP/1.1 on this connection"
    } else {
        "the server did not start its reply with an HTTP/1.x status line \
         (an HTTP/0.9 reply, or another protocol); check the port and scheme"
    }
}

/// curl calls a reply without an HTTP/1.x status line HTTP/0.9, and refuses it with exit 1.
fn not_http(line: &[u8]) -> Error {
    Error::new(
        Phase::Response,
        Label::Http09,
        format!(
            "Received HTTP/0.9 when not allowed: the reply starts with {}",
            quote_bytes(line, QUOTE_MAX)
        ),
    )
    .hint(not_http_hint(line))
}

/// A status line that starts with `HTTP/` but that curl 7.88 refuses: exit 1, as curl's
/// "Unsupported HTTP version in response" and "Unsupported response code in HTTP response".
fn unsupported(what: String, line: &[u8], hint: &str) -> Error {
    Error::new(
        Phase::Response,
        Label::UnsupportedStatusLine,
        format!("{what}: status line {}", quote_bytes(line, QUOTE_MAX)),
    )
    .hint(hint)
}

/// What C's `%Nd` reads after skipping white space: an optional sign and digits, at most `width`
/// characters in all (the sign counts). Returns the value and the bytes used, or None.
fn scan_int(b: &[u8], width: usize) -> Option<(i64, usize)> {
    let skip = b
        .iter()
        .take_while(|c| matches!(c, b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r' | b'\n'))
        .count();
    let field = &b[skip..b.len().min(skip.saturating_add(width))];
    let (neg, signed) = match field.first() {
        Some(b'-') => (true, 1),
        Some(b'+') => (false, 1),
        _ => (false, 0),
    };
    let digits = field[signed..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count();
    if digits == 0 {
        return None;
    }
    let v = field[signed..signed + digits].iter().fold(0i64, |acc, d| {
        acc.saturating_mul(10).saturating_add(i64::from(d - b'0'))
    });
    Some((if neg { -v } else { v }, skip + signed + digits))
}

fn version_mismatch(major: u8, line: &[u8]) -> Error {
    weird(
        format!(
            "Version mismatch (from HTTP/1 to HTTP/{}): status line {}",
            major as char,
            quote_bytes(line, QUOTE_MAX)
        ),
        "the request was HTTP/1.1 but the server answered with an HTTP/2 status line, which \
         cannot happen on a plain HTTP/1.1 connection (curl 7.88.1 takes it; newer curl refuses it)",
    )
}

/// Parse the status line as curl 7.88.1 does (`sscanf(" HTTP/%1d.%1d%c%3d%c")` in lib/http.c):
/// `HTTP/1.0` or `HTTP/1.1`, exactly one space, a code from 100 to 999 (white space before it is
/// skipped) not followed by a fourth digit, then an optional reason. What curl refuses is exit 1
/// ([`Label::UnsupportedStatusLine`]); an HTTP/2 status line, which curl 7.88 takes, is exit 8.
fn parse_status_line(line: &[u8]) -> Result<(String, u16, String)> {
    let Some(rest) = line.strip_prefix(b"HTTP/") else {
        return Err(not_http(line));
    };
    let generic = "a status line is HTTP/1.1 (or HTTP/1.0), one space, a three-digit code from \
                   100 to 999 and an optional reason";
    let Some(&major) = rest.first().filter(|b| b.is_ascii_digit()) else {
        return Err(unsupported(
            "Unsupported HTTP version in response".into(),
            line,
            "no version digit follows HTTP/; curl 7.88.1 would guess status 200 for this line, \
             wtcurl refuses rather than invent a status",
        ));
    };
    // curl first tries " HTTP/%1[23] %d": HTTP/2 or HTTP/3, white space, a number.
    if matches!(major, b'2' | b'3') && scan_int(&rest[1..], usize::MAX).is_some() {
        if major == b'2' {
            return Err(version_mismatch(major, line));
        }
        return Err(unsupported(
            "Unsupported HTTP version (3.0) in response".into(),
            line,
            "HTTP/3 runs over QUIC, never in reply to an HTTP/1.1 request",
        ));
    }
    let minor = match rest {
        [_, b'.', m, ..] if m.is_ascii_digit() => *m,
        _ => {
            return Err(unsupported(
                "Unsupported HTTP version in response".into(),
                line,
                generic,
            ));
        }
    };
    let Some(&sep) = rest.get(3) else {
        return Err(unsupported(
            "Unsupported HTTP version in response".into(),
            line,
            generic,
        ));
    };
    let after = &rest[4..];
    let Some((code, used)) = scan_int(after, 3) else {
        return Err(unsupported(
            "Unsupported HTTP version in response".into(),
            line,
            generic,
        ));
    };
    if after.get(used).is_some_and(u8::is_ascii_digit) || code < 100 {
        return Err(unsupported(
            "Unsupported response code in HTTP response".into(),
            line,
            generic,
        ));
    }
    if sep != b' ' {
        return Err(unsupported(
            "Unsupported HTTP version in response".into(),
            line,
            "curl 7.88 takes only a space (not a tab or another byte) between the version and \
             the status code",
        ));
    }
    let version = match (major, minor) {
        (b'1', b'0') => "HTTP/1.0",
        (b'1', b'1') => "HTTP/1.1",
        (b'2', b'0') => return Err(version_mismatch(major, line)),
        _ => {
            return Err(unsupported(
                format!(
                    "Unsupported HTTP version ({}.{}) in response",
                    major as char, minor as char
                ),
                line,
                "wtcurl, like curl, speaks HTTP/1.0 and HTTP/1.1 on this connection",
            ));
        }
    };
    let status = u16::try_from(code).unwrap_or_default();
    let reason = String::from_utf8_lossy(&after[used..])
        .trim_matches([' ', '\t'])
        .to_string();
    Ok((version.to_string(), status, reason))
}

/// Parse a response head from the start of `buf`.
///
/// `Ok(None)`: incomplete, read more and call again with the longer buffer.
/// `Ok(Some((head, consumed)))`: `buf[consumed..]` is the start of the body.
/// `Err`: malformed or over a limit (Phase::Response, Label::WeirdReply), checked even while the
/// head is incomplete.
pub fn parse_head(buf: &[u8], limits: &Limits) -> Result<Option<(ResponseHead, usize)>> {
    let mut pos = 0usize;
    let mut status: Option<(String, u16, String)> = None;
    let mut headers: Vec<(String, String)> = Vec::new();

    loop {
        let rest = &buf[pos..];
        let Some(lf) = rest.iter().position(|&b| b == b'\n') else {
            check_partial(rest, pos, status.is_none(), limits)?;
            return Ok(None);
        };
        let raw = &rest[..=lf];
        let end = pos + lf + 1;
        if raw.len() >= limits.max_line {
            return Err(line_too_long(raw, limits));
        }
        if end > limits.max_head_bytes {
            return Err(head_too_large(end, limits));
        }
        let mut line = &raw[..lf];
        if let Some(l) = line.strip_suffix(b"\r") {
            line = l;
        }
        if line.contains(&0) {
            return Err(weird(
                format!("Nul byte in header: {}", quote_bytes(line, QUOTE_MAX)),
                "a NUL byte is never valid in an HTTP head; the server sent binary data",
            ));
        }
        if line.contains(&b'\r') {
            return Err(weird(
                format!(
                    "Carriage return found in header: {}",
                    quote_bytes(line, QUOTE_MAX)
                ),
                "a CR may only come right before the LF that ends a line",
            ));
        }

        match &status {
            None => status = Some(parse_status_line(line)?),
            Some(_) if line.is_empty() => {
                let (version, status, reason) = status.unwrap_or_default();
                return Ok(Some((
                    ResponseHead {
                        version,
                        status,
                        reason,
                        headers,
                    },
                    end,
                )));
            }
            Some(_) if is_blank(line[0]) => {
                // obs-fold: join with the previous value, one space between.
                let Some((_, value)) = headers.last_mut() else {
                    return Err(weird(
                        format!(
                            "Header without colon: the first header line {} starts with \
                             whitespace and has no header to continue",
                            quote_bytes(line, QUOTE_MAX)
                        ),
                        "a continuation line (obs-fold) can only follow a header line",
                    ));
                };
                let cont = String::from_utf8_lossy(line);
                let cont = cont.trim_matches([' ', '\t']);
                if !cont.is_empty() {
                    let kept = value.trim_end_matches([' ', '\t']).len();
                    value.truncate(kept);
                    if !value.is_empty() {
                        value.push(' ');
                    }
                    value.push_str(cont);
                }
            }
            Some(_) => {
                let Some(colon) = line.iter().position(|&b| b == b':') else {
                    return Err(weird(
                        format!("Header without colon: {}", quote_bytes(line, QUOTE_MAX)),
                        "every header line must look like `Name: value`",
                    ));
                };
                if headers.len() >= limits.max_headers {
                    return Err(weird(
                        format!("Too many response headers, {} is max", limits.max_headers),
                        "the server sent an unreasonable number of header fields",
                    ));
                }
                let name = String::from_utf8_lossy(&line[..colon]).into_owned();
                let value = String::from_utf8_lossy(&line[colon + 1..])
                    .trim_matches([' ', '\t'])
                    .to_string();
                headers.push((name, value));
            }
        }
        pos = end;
    }
}

/// Checks on an unfinished line at `buf[pos..]` (`rest`): limits, NUL, and for the status line
/// whether it can still become `HTTP/`.
fn check_partial(rest: &[u8], pos: usize, first_line: bool, limits: &Limits) -> Result<()> {
    if rest.len() >= limits.max_line {
        return Err(line_too_long(rest, limits));
    }
    if pos + rest.len() > limits.max_head_bytes {
        return Err(head_too_large(pos + rest.len(), limits));
    }
    if first_line {
        let n = rest.len().min(5);
        if rest[..n] != b"HTTP/"[..n] {
            return Err(not_http(rest));
        }
    }
    if rest.contains(&0) {
        return Err(weird(
            format!("Nul byte in header: {}", quote_bytes(rest, QUOTE_MAX)),
            "a NUL byte is never valid in an HTTP head; the server sent binary data",
        ));
    }
    Ok(())
}

fn line_too_long(line: &[u8], limits: &Limits) -> Error {
    Error::new(
        Phase::Response,
        Label::HeaderLineTooLong,
        format!(
            "Rejected a response head line of {} bytes or more (max is {}): {}",
            limits.max_line,
            limits.max_line - 1,
            quote_bytes(line, QUOTE_MAX)
        ),
    )
    .hint(
        "the server sent a head line of 100 KiB or more; curl refuses it too, as \"Out of \
         memory\" (exit 27: it avoids the giant buffer rather than running out of memory)",
    )
}

fn head_too_large(size: usize, limits: &Limits) -> Error {
    Error::new(
        Phase::Response,
        Label::HeadTooLarge,
        format!(
            "Too large response headers: {size} > {}",
            limits.max_head_bytes
        ),
    )
    .hint("the response head is larger than curl accepts (300 KiB); curl, too, exits 56")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(b: &[u8]) -> Result<Option<(ResponseHead, usize)>> {
        parse_head(b, &Limits::default())
    }

    fn ok(b: &[u8]) -> (ResponseHead, usize) {
        parse(b).unwrap().unwrap()
    }

    fn err(b: &[u8]) -> Error {
        let e = parse(b).unwrap_err();
        assert_eq!(e.phase, Phase::Response);
        assert_eq!(e.label, Label::WeirdReply);
        assert!(e.hint.is_some());
        e
    }

    /// HTTP/ then something curl 7.88 refuses: exit 1.
    fn err_status(b: &[u8]) -> Error {
        let e = parse(b).unwrap_err();
        assert_eq!(
            (e.phase, e.label, e.exit_code()),
            (Phase::Response, Label::UnsupportedStatusLine, 1),
            "{b:?}: {e}"
        );
        assert!(e.hint.is_some());
        e
    }

    /// Not HTTP/1.x at all: curl's "HTTP/0.9 not allowed", exit 1.
    fn err09(b: &[u8]) -> Error {
        let e = parse(b).unwrap_err();
        assert_eq!(
            (e.phase, e.label, e.exit_code()),
            (Phase::Response, Label::Http09, 1)
        );
        assert!(e.hint.is_some());
        e
    }

    #[test]
    fn good_head_crlf() {
        let b = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length:  5 \r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\nhello";
        let (h, n) = ok(b);
        assert_eq!(&b[n..], b"hello");
        assert_eq!(h.version, "HTTP/1.1");
        assert_eq!(h.status, 200);
        assert_eq!(h.reason, "OK");
        assert_eq!(h.header("content-length"), Some("5"));
        assert_eq!(h.header("CONTENT-TYPE"), Some("text/plain"));
        assert_eq!(
            h.header_all("Set-Cookie").collect::<Vec<_>>(),
            vec!["a=1", "b=2"]
        );
        assert_eq!(h.header("X-Missing"), None);
        assert_eq!(h.headers.len(), 4);
    }

    #[test]
    fn bare_lf_and_http10_and_empty_reason() {
        let (h, n) = ok(b"HTTP/1.0 404\nServer: x\n\nbody");
        assert_eq!(
            (h.version.as_str(), h.status, h.reason.as_str()),
            ("HTTP/1.0", 404, "")
        );
        assert_eq!(n, 24);
        let (h, _) = ok(b"HTTP/1.1 204 \r\n\r\n");
        assert_eq!((h.status, h.reason.as_str()), (204, ""));
        // curl's %3d skips white space before the code.
        let (h, _) = ok(b"HTTP/1.1  \t301 Moved Permanently\r\n\n");
        assert_eq!((h.status, h.reason.as_str()), (301, "Moved Permanently"));
        let (h, _) = ok(b"HTTP/1.1 200OK\r\n\r\n");
        assert_eq!((h.status, h.reason.as_str()), (200, "OK"));
        let (h, _) = ok(b"HTTP/1.1 999 Nine\r\n\r\n");
        assert_eq!(h.status, 999);
        assert!(h.headers.is_empty());
        let (h, _) = ok(b"HTTP/1.1 200 OK\r\nX-Empty:\r\n\r\n");
        assert_eq!(h.header("x-empty"), Some(""));
    }

    #[test]
    fn obs_fold_joins_values() {
        let (h, _) = ok(b"HTTP/1.1 200 OK\r\nX-Long: part one  \r\n   part two\r\n\tpart three\r\nX-B: b\r\n\r\n");
        assert_eq!(h.header("x-long"), Some("part one part two part three"));
        assert_eq!(h.header("x-b"), Some("b"));
        let e = err(b"HTTP/1.1 200 OK\r\n folded: first\r\n\r\n");
        assert!(e.message.contains("Header without colon"), "{}", e.message);
    }

    #[test]
    fn incomplete_needs_more() {
        for b in [
            &b""[..],
            b"H",
            b"HTTP/",
            b"HTTP/1.1 200 OK",
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\r\n",
            b"HTTP/1.1 200 OK\r\nA: b\r\n\r",
        ] {
            assert_eq!(parse(b).unwrap(), None, "{b:?}");
        }
    }

    #[test]
    fn every_prefix_of_a_good_head_is_incomplete_then_complete() {
        let b = b"HTTP/1.1 200 OK\r\nA: 1\r\n  2\r\nB:3\n\r\nrest";
        let end = b.len() - 4;
        for i in 0..end {
            assert_eq!(parse(&b[..i]).unwrap(), None, "prefix {i}");
        }
        let (h, n) = ok(&b[..end]);
        assert_eq!(n, end);
        assert_eq!(h.header("a"), Some("1 2"));
        assert_eq!(h.header("b"), Some("3"));
    }

    #[test]
    fn rejects_non_http() {
        let e = err09(b"SSH-2.0-OpenSSH_9.6\r\n");
        assert!(
            e.message.contains("\"SSH-2.0-OpenSSH_9.6\\r\\n\"") || e.message.contains("SSH-2.0")
        );
        assert!(e.hint.unwrap().contains("SSH"));
        // Caught before the line ends.
        let e = err09(b"SSH-2.0-Open");
        assert!(e.message.contains("HTTP/0.9"));
        let e = err09(b"\x15\x03\x01\x00\x02\x02\x46");
        assert!(e.hint.unwrap().contains("TLS"));
        err09(b"<html>hello</html>\n");
        err09(b"\r\nHTTP/1.1 200 OK\r\n\r\n");
        err09(b" HTTP/1.1 200 OK\r\n\r\n");
        err09(b"http/1.1 200 OK\r\n\r\n");
    }

    #[test]
    fn rejects_other_versions() {
        // curl 7.88.1 takes these two (exit 0); wtcurl says what they are (README: differences).
        let e = err(b"HTTP/2 200\r\n\r\n");
        assert!(e.message.contains("Version mismatch"), "{}", e.message);
        err(b"HTTP/2.0 200 OK\r\n\r\n");
        // curl 7.88.1: exit 1, with these messages.
        for (b, msg) in [
            (
                &b"HTTP/1.2 200 OK\r\n\r\n"[..],
                "Unsupported HTTP version (1.2) in response",
            ),
            (
                b"HTTP/0.9 200 OK\r\n\r\n",
                "Unsupported HTTP version (0.9) in response",
            ),
            (
                b"HTTP/3 200\r\n\r\n",
                "Unsupported HTTP version (3.0) in response",
            ),
            (
                b"HTTP/1.1200 OK\r\n\r\n",
                "Unsupported response code in HTTP response",
            ),
            (
                b"HTTP/1.1\t200 OK\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
            (
                b"HTTP/1.x 200 OK\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
            (
                b"HTTP/x 500 Oops\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
            (
                b"HTTP/2 abc\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
            (b"HTTP/1.1\r\n\r\n", "Unsupported HTTP version in response"),
        ] {
            let e = err_status(b);
            assert!(e.message.starts_with(msg), "{b:?}: {}", e.message);
        }
    }

    #[test]
    fn rejects_bad_status() {
        // curl 7.88.1, all exit 1.
        for (b, msg) in [
            (&b"HTTP/1.1 20 OK\r\n\r\n"[..], "Unsupported response code"),
            (b"HTTP/1.1 2000 OK\r\n\r\n", "Unsupported response code"),
            (b"HTTP/1.1 099 OK\r\n\r\n", "Unsupported response code"),
            (b"HTTP/1.1 +99 OK\r\n\r\n", "Unsupported response code"),
            (b"HTTP/1.1 -200 OK\r\n\r\n", "Unsupported response code"),
            (b"HTTP/1.1 2a0 OK\r\n\r\n", "Unsupported response code"),
            (b"HTTP/1.1 20\r\n\r\n", "Unsupported response code"),
            (
                b"HTTP/1.1 abc OK\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
            (b"HTTP/1.1 \r\n\r\n", "Unsupported HTTP version in response"),
            (
                b"HTTP/1.0 abc\r\n\r\n",
                "Unsupported HTTP version in response",
            ),
        ] {
            let e = err_status(b);
            assert!(e.message.starts_with(msg), "{b:?}: {}", e.message);
        }
    }

    #[test]
    fn rejects_bad_headers() {
        let e = err(b"HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n");
        assert_eq!(e.message, "Header without colon: \"No colon here\"");
        let e = err(b"HTTP/1.1 200 OK\r\nA: b\x00c\r\n\r\n");
        assert!(e.message.starts_with("Nul byte"), "{}", e.message);
        // NUL caught before the line ends.
        let e = err(b"HTTP/1.1 200 OK\r\nA: b\x00");
        assert!(e.message.starts_with("Nul byte"), "{}", e.message);
        let e = err(b"HTTP/1.1 200 OK\r\nA: b\rc\r\n\r\n");
        assert!(e.message.starts_with("Carriage return"), "{}", e.message);
    }

    #[test]
    fn message_quotes_and_truncates() {
        let mut b = b"HTTP/1.1 200 OK\r\n".to_vec();
        b.extend(std::iter::repeat_n(b'x', 500));
        b.extend_from_slice(b"\r\n\r\n");
        let e = err(&b);
        assert!(e.message.len() < 140, "{}", e.message);
        assert!(e.message.ends_with("\"..."), "{}", e.message);
    }

    #[test]
    fn limits_are_enforced_even_when_incomplete() {
        let limits = Limits {
            max_line: 32,
            max_headers: 2,
            max_head_bytes: 64,
        };
        let long_line = b"HTTP/1.1 200 OK\r\nX: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let e = parse_head(long_line, &limits).unwrap_err();
        assert_eq!((e.label, e.exit_code()), (Label::HeaderLineTooLong, 27));
        let e =
            parse_head(b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", &limits).unwrap_err();
        assert!(e.message.contains("Too many"), "{}", e.message);
        let mut many = b"HTTP/1.1 200 OK\r\n".to_vec();
        for _ in 0..10 {
            many.extend_from_slice(b"A: 12345\r\n ");
        }
        let e = parse_head(&many, &limits).unwrap_err();
        assert!(e.message.contains("Too large"), "{}", e.message);
        assert_eq!((e.label, e.exit_code()), (Label::HeadTooLarge, 56));
        // Exactly at the limits is fine: a line one byte shorter than max_line (curl's buffer
        // keeps a NUL after it), a head of max_head_bytes.
        let ok = b"HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\n\r\n";
        let short = Limits {
            max_line: 17,
            max_headers: 2,
            max_head_bytes: ok.len(),
        };
        let e = parse_head(ok, &short).unwrap_err();
        assert_eq!(e.label, Label::HeaderLineTooLong);
        let limits = Limits {
            max_line: 18,
            max_headers: 2,
            max_head_bytes: ok.len(),
        };
        assert!(parse_head(ok, &limits).unwrap().is_some());
    }

    #[test]
    fn default_limits_match_curl() {
        let l = Limits::default();
        assert_eq!(l.max_line, 102_400);
        assert_eq!(l.max_head_bytes, 307_200);
        let mut b = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        b.extend(std::iter::repeat_n(b'a', 110 * 1024));
        assert!(parse(&b).is_err());
        // curl 7.88.1: a 102,399-byte line (CRLF included) passes, 102,400 bytes is exit 27.
        let line = |n: usize| {
            let mut b = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
            b.extend(std::iter::repeat_n(b'a', n - 5));
            b.extend_from_slice(b"\r\n\r\n");
            b
        };
        assert!(parse(&line(102_399)).unwrap().is_some());
        assert_eq!(
            parse(&line(102_400)).unwrap_err().label,
            Label::HeaderLineTooLong
        );
    }

    #[test]
    fn non_utf8_is_kept_lossy() {
        let (h, _) = ok(b"HTTP/1.1 200 \xe9t\xe9\r\nX: caf\xe9\r\n\r\n");
        assert_eq!(h.reason, "\u{fffd}t\u{fffd}");
        assert_eq!(h.header("x"), Some("caf\u{fffd}"));
    }
}
