//! The request head exactly as curl lays it out, including curl's rules for -H overrides.
//!
//! Order (curl's `http_add_hd`): request line, `Host`, `Authorization` (from -u), `User-Agent`,
//! `Accept`, `Accept-Encoding` (--compressed), the -H headers in order, the body headers
//! (`Content-Length`, `Content-Type`), `Connection` headers given with -H, blank line, body.
//!
//! A default header is suppressed when some -H value starts with its name directly followed by
//! `:` or `;` (curl's `Curl_checkheaders`). The -H header is then sent where the -H headers go,
//! not where the default was, except `Host`, which curl puts in the default's place.

use base64::Engine as _;

use super::{is_blank, name_eq, trim_blanks};
use crate::error::{Error, Label, Phase, Result};

/// Everything [`build_request`] needs; the caller has resolved the URL and the options.
#[derive(Clone, Copy, Debug)]
pub struct RequestParams<'a> {
    /// "GET", "HEAD", "POST", or the -X value.
    pub method: &'a str,
    /// "/path?query" as sent.
    pub target: &'a str,
    /// "example.com", "example.com:8080" or "[::1]:8080".
    pub host_header: &'a str,
    /// User and password, already percent-decoded.
    pub basic_auth: Option<(&'a str, &'a str)>,
    /// None (or empty, as with curl -A "") => no User-Agent header.
    pub user_agent: Option<&'a str>,
    /// Raw -H values, in order.
    pub extra_headers: &'a [String],
    /// -d data. Some(b"") still sends `Content-Length: 0`, as curl does.
    pub body: Option<&'a [u8]>,
    /// --compressed => "Accept-Encoding: deflate, gzip".
    pub accept_encoding: bool,
}

/// What curl does with one raw -H value (`Curl_add_custom_headers`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomHeader<'a> {
    /// `Name: value` with a non-blank value: sent verbatim, as typed.
    Send { name: &'a str, line: &'a str },
    /// `Name;`: sent as `Name:` with an empty value.
    Empty { name: &'a str },
    /// `Name:` with nothing (or only blanks) after the colon: not sent; removes a default header.
    Remove { name: &'a str },
    /// No colon and not the `Name;` form: curl silently ignores it.
    Ignored,
}

/// Classify a raw -H value the way curl does. Names are trimmed of blanks.
pub fn classify_header(raw: &str) -> CustomHeader<'_> {
    // "Name;" exactly: a name without ':' followed by one ';' at the very end.
    if let Some(name) = raw.strip_suffix(';')
        && !name.is_empty()
        && !name.contains([';', ':'])
    {
        return CustomHeader::Empty {
            name: trim_blanks(name),
        };
    }
    match raw.split_once(':') {
        Some((name, value)) if !name.is_empty() => {
            let name = trim_blanks(name);
            if trim_blanks(value).is_empty() {
                CustomHeader::Remove { name }
            } else {
                CustomHeader::Send { name, line: raw }
            }
        }
        _ => CustomHeader::Ignored,
    }
}

/// curl's `Curl_checkheaders`: the first -H value that starts with `name` immediately followed
/// by `:` or `;` (no blanks in between), case-insensitively.
fn check_header<'a>(extra: &'a [String], name: &str) -> Option<&'a str> {
    extra.iter().map(String::as_str).find(|h| {
        let b = h.as_bytes();
        b.len() > name.len()
            && b[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && matches!(b[name.len()], b':' | b';')
    })
}

/// The value part of `Name: value` / `Name; value`, blanks trimmed (curl's `header_has_value`).
fn header_value(raw: &str) -> Option<&str> {
    let idx = raw.find([':', ';'])?;
    Some(trim_blanks(&raw[idx + 1..]))
}

/// Does a `Transfer-Encoding:` -H value ask for chunked (curl's `Curl_compareheader`)?
fn asks_chunked(raw: &str) -> bool {
    let Some(rest) = raw
        .get(..18)
        .filter(|p| p.eq_ignore_ascii_case("Transfer-Encoding:"))
        .and_then(|_| raw.get(18..))
    else {
        return false;
    };
    rest.split(',').any(|tok| {
        let tok = tok.trim_start_matches([' ', '\t']);
        tok.len() >= 7
            && tok.as_bytes()[..7].eq_ignore_ascii_case(b"chunked")
            && tok.as_bytes().get(7).is_none_or(|&c| is_blank(c))
    })
}

fn bad(what: &str, value: &str) -> Error {
    Error::new(
        Phase::Request,
        Label::BadUsage,
        format!(
            "{what} contains a line break or NUL byte: {}",
            super::quote_bytes(value.as_bytes(), super::QUOTE_MAX)
        ),
    )
}

fn check_no_breaks(what: &str, value: &str) -> Result<()> {
    if value.contains(['\r', '\n', '\0']) {
        return Err(bad(what, value).hint(
            "a header value cannot span lines; to send several headers, give -H once per header",
        ));
    }
    Ok(())
}

/// Build the full request: head, and the body appended when there is one.
///
/// Errors (Phase::Request, Label::BadUsage) when a -H value, the method, the target, the host or
/// the user agent contains CR, LF or NUL: they would inject headers (or a second request), and
/// then the head wtcurl shows would not be the head the server reads. A method with blanks, or
/// an empty one, is sent as is, as curl 7.88 sends `-X 'GE T'` and `-X ''`: the line is odd but
/// it is still one line, and the server's answer (usually 400) says what it made of it.
pub fn build_request(p: &RequestParams) -> Result<Vec<u8>> {
    check_no_breaks("the request method", p.method)?;
    if p.target.contains([' ', '\t']) {
        return Err(Error::new(
            Phase::Request,
            Label::BadUsage,
            format!(
                "the request target {} contains a blank",
                super::quote_bytes(p.target.as_bytes(), super::QUOTE_MAX)
            ),
        )
        .hint("percent-encode spaces in the URL as %20"));
    }
    check_no_breaks("the request target", p.target)?;
    check_no_breaks("the Host header", p.host_header)?;
    if let Some(ua) = p.user_agent {
        check_no_breaks("the User-Agent", ua)?;
    }
    for h in p.extra_headers {
        // The error quotes the value: with its secret masked.
        check_no_breaks("the -H header", h).map_err(|e| Error {
            message: bad("the -H header", &crate::redact::header(h)).message,
            ..e
        })?;
    }

    let extra = p.extra_headers;
    let mut r: Vec<u8> = Vec::with_capacity(256 + p.body.map_or(0, <[u8]>::len));
    fn line(r: &mut Vec<u8>, s: &str) {
        r.extend_from_slice(s.as_bytes());
        r.extend_from_slice(b"\r\n");
    }

    line(&mut r, &format!("{} {} HTTP/1.1", p.method, p.target));

    // Host: a -H Host replaces the default in place; "-H Host:" removes it.
    let host_line = match check_header(extra, "Host") {
        Some(h) if h.eq_ignore_ascii_case("Host:") => None,
        Some(h) => Some(format!("Host:{}", &h[5..])),
        None => Some(format!("Host: {}", p.host_header)),
    };
    if let Some(h) = &host_line {
        line(&mut r, h);
    }

    if let Some((user, pass)) = p.basic_auth
        && check_header(extra, "Authorization").is_none()
    {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        line(&mut r, &format!("Authorization: Basic {token}"));
    }
    if let Some(ua) = p.user_agent
        && !ua.is_empty()
        && check_header(extra, "User-Agent").is_none()
    {
        line(&mut r, &format!("User-Agent: {ua}"));
    }
    if check_header(extra, "Accept").is_none() {
        line(&mut r, "Accept: */*");
    }
    if p.accept_encoding && check_header(extra, "Accept-Encoding").is_none() {
        line(&mut r, "Accept-Encoding: deflate, gzip");
    }

    // The -H headers, in order.
    for h in extra {
        let name = match classify_header(h) {
            CustomHeader::Send { name, .. } | CustomHeader::Empty { name } => name,
            CustomHeader::Remove { .. } | CustomHeader::Ignored => continue,
        };
        if (host_line.is_some() && name_eq(name, "Host")) || name_eq(name, "Connection") {
            continue; // Host went in its own place; Connection goes last.
        }
        match classify_header(h) {
            CustomHeader::Empty { name } => line(&mut r, &format!("{name}:")),
            _ => line(&mut r, h),
        }
    }

    // Body headers.
    let chunked =
        p.body.is_some() && check_header(extra, "Transfer-Encoding").is_some_and(asks_chunked);
    if let Some(body) = p.body {
        if !chunked && check_header(extra, "Content-Length").is_none() {
            line(&mut r, &format!("Content-Length: {}", body.len()));
        }
        if check_header(extra, "Content-Type").is_none() {
            line(&mut r, "Content-Type: application/x-www-form-urlencoded");
        }
    }

    // Connection: the first non-empty -H Connection value, normalized, then the others verbatim.
    let mut conns = extra.iter().filter(|h| {
        check_header(std::slice::from_ref(h), "Connection").is_some()
            && header_value(h).is_some_and(|v| !v.is_empty())
    });
    if let Some(first) = conns.next() {
        line(
            &mut r,
            &format!("Connection: {}", header_value(first).unwrap_or_default()),
        );
        for h in conns {
            line(&mut r, h);
        }
    }

    r.extend_from_slice(b"\r\n");
    if let Some(body) = p.body {
        if chunked {
            if !body.is_empty() {
                r.extend_from_slice(format!("{:x}\r\n", body.len()).as_bytes());
                r.extend_from_slice(body);
                r.extend_from_slice(b"\r\n");
            }
            r.extend_from_slice(b"0\r\n\r\n");
        } else {
            r.extend_from_slice(body);
        }
    }
    Ok(r)
}

/// Length of the head (through the blank line) of a request built by [`build_request`].
pub fn head_len(request: &[u8]) -> usize {
    request
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(request.len(), |i| i + 4)
}

/// The head lines for display (without CRLF and without the blank line), with credentials
/// masked by [`crate::redact::header`]: `Authorization: Basic ****`,
/// `Proxy-Authorization: Bearer ****`, `Cookie: sid=****`.
pub fn display_lines(request: &[u8]) -> Vec<String> {
    let head = &request[..head_len(request)];
    let text = String::from_utf8_lossy(head);
    text.split("\r\n")
        .take_while(|l| !l.is_empty())
        .map(|l| crate::redact::header(l).into_owned())
        .collect()
}

/// The head for display: [`display_lines`], each line followed by CRLF (no blank line), and
/// whether any line was masked.
pub fn display_head(request: &[u8]) -> (String, bool) {
    let head = &request[..head_len(request)];
    let text = String::from_utf8_lossy(head);
    let mut out = String::with_capacity(text.len());
    let mut masked = false;
    for l in text.split("\r\n").take_while(|l| !l.is_empty()) {
        let shown = crate::redact::header(l);
        masked |= matches!(shown, std::borrow::Cow::Owned(_));
        out.push_str(&shown);
        out.push_str("\r\n");
    }
    (out, masked)
}

/// The -H values to send after a redirect to another host (scheme, host or port changed): curl
/// drops custom `Authorization` and `Cookie` headers then, and a custom `Host` applies only to
/// the original origin. Pass `basic_auth: None` as well: curl does not send -u credentials to
/// another host unless --location-trusted.
pub fn strip_for_other_host(extra: &[String]) -> Vec<String> {
    extra
        .iter()
        .filter(|h| {
            let name = match classify_header(h) {
                CustomHeader::Send { name, .. }
                | CustomHeader::Empty { name }
                | CustomHeader::Remove { name } => name,
                CustomHeader::Ignored => return true,
            };
            !(name_eq(name, "Authorization") || name_eq(name, "Cookie") || name_eq(name, "Host"))
        })
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params<'a>(extra: &'a [String]) -> RequestParams<'a> {
        RequestParams {
            method: "GET",
            target: "/",
            host_header: "example.com",
            basic_auth: None,
            user_agent: Some("curl/8.5.0"),
            extra_headers: extra,
            body: None,
            accept_encoding: false,
        }
    }

    fn build(p: &RequestParams) -> String {
        String::from_utf8(build_request(p).unwrap()).unwrap()
    }

    fn h(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_get() {
        assert_eq!(
            build(&params(&[])),
            "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn head_with_port_and_query() {
        let mut p = params(&[]);
        p.method = "HEAD";
        p.target = "/a/b?x=1&y=2";
        p.host_header = "[::1]:8080";
        assert_eq!(
            build(&p),
            "HEAD /a/b?x=1&y=2 HTTP/1.1\r\nHost: [::1]:8080\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn post_with_data() {
        let mut p = params(&[]);
        p.method = "POST";
        p.body = Some(b"a=1&b=2");
        assert_eq!(
            build(&p),
            "POST / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
             Content-Length: 7\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\na=1&b=2"
        );
    }

    #[test]
    fn post_with_empty_data_sends_zero_length() {
        let mut p = params(&[]);
        p.method = "POST";
        p.body = Some(b"");
        assert!(build(&p).ends_with(
            "Content-Length: 0\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n"
        ));
    }

    #[test]
    fn no_user_agent_and_compressed() {
        let mut p = params(&[]);
        p.user_agent = None;
        p.accept_encoding = true;
        assert_eq!(
            build(&p),
            "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nAccept-Encoding: deflate, gzip\r\n\r\n"
        );
        p.user_agent = Some("");
        assert!(!build(&p).contains("User-Agent"));
    }

    #[test]
    fn basic_auth_header() {
        let mut p = params(&[]);
        p.basic_auth = Some(("user", "p@ss:word"));
        let s = build(&p);
        // base64("user:p@ss:word")
        assert_eq!(
            s,
            "GET / HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic dXNlcjpwQHNzOndvcmQ=\r\n\
             User-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
        let lines = display_lines(s.as_bytes());
        assert_eq!(lines[2], "Authorization: Basic ****");
        assert_eq!(
            display_head(s.as_bytes()),
            (
                "GET / HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic ****\r\n\
                 User-Agent: curl/8.5.0\r\nAccept: */*\r\n"
                    .to_string(),
                true
            )
        );
        let cookie = "GET / HTTP/1.1\r\nCookie: sid=abc; t=1\r\nAccept: */*\r\n\r\n";
        assert_eq!(
            display_head(cookie.as_bytes()),
            (
                "GET / HTTP/1.1\r\nCookie: sid=****; t=****\r\nAccept: */*\r\n".to_string(),
                true
            )
        );
        assert!(!display_head(b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n").1);
        // works on the head alone too
        assert_eq!(
            display_lines(&s.as_bytes()[..head_len(s.as_bytes()) - 2]).len(),
            5
        );
        assert_eq!(lines.len(), 5);
        assert!(!lines.join("\n").contains("dXNl"));
    }

    #[test]
    fn replaced_header_moves_to_custom_position() {
        let extra = h(&["Accept: text/html", "X-Trace: 1"]);
        let mut p = params(&extra);
        p.accept_encoding = true;
        assert_eq!(
            build(&p),
            "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\n\
             Accept-Encoding: deflate, gzip\r\nAccept: text/html\r\nX-Trace: 1\r\n\r\n"
        );
    }

    #[test]
    fn replaced_user_agent_case_insensitive_sent_verbatim() {
        let extra = h(&["user-agent:my-agent/1 "]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nuser-agent:my-agent/1 \r\n\r\n"
        );
    }

    #[test]
    fn removed_and_empty_headers() {
        let extra = h(&[
            "Accept:",
            "User-Agent:   ",
            "X-Empty;",
            "X-Gone:",
            "no colon here",
        ]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty:\r\n\r\n"
        );
        // "Accept;" both removes the default and sends an empty Accept.
        let extra = h(&["Accept;"]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept:\r\n\r\n"
        );
    }

    #[test]
    fn host_header_replaced_in_place_or_removed() {
        let extra = h(&["X-A: 1", "Host: other.example"]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nHost: other.example\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nX-A: 1\r\n\r\n"
        );
        let extra = h(&["Host:"]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
        let extra = h(&["Host;"]);
        assert_eq!(
            build(&params(&extra)),
            "GET / HTTP/1.1\r\nHost:\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
        );
    }

    #[test]
    fn custom_body_headers_and_auth_override() {
        let extra = h(&[
            "Content-Type: application/json",
            "Authorization: Bearer abc.def",
        ]);
        let mut p = params(&extra);
        p.method = "POST";
        p.body = Some(b"{}");
        p.basic_auth = Some(("u", "p"));
        let s = build(&p);
        assert_eq!(
            s,
            "POST / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\
             Content-Type: application/json\r\nAuthorization: Bearer abc.def\r\nContent-Length: 2\r\n\r\n{}"
        );
        assert!(display_lines(s.as_bytes()).contains(&"Authorization: Bearer ****".to_string()));
    }

    #[test]
    fn custom_content_length_and_chunked_upload() {
        let extra = h(&["Content-Length: 99"]);
        let mut p = params(&extra);
        p.body = Some(b"abc");
        assert!(build(&p).ends_with(
            "Content-Length: 99\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nabc"
        ));
        let extra = h(&["Transfer-Encoding: chunked"]);
        let mut p = params(&extra);
        p.body = Some(b"abcdefghijklmnopq");
        assert!(build(&p).ends_with(
            "Transfer-Encoding: chunked\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\n\
             11\r\nabcdefghijklmnopq\r\n0\r\n\r\n"
        ));
    }

    #[test]
    fn connection_headers_go_last() {
        let extra = h(&[
            "Connection: close ",
            "X-A: 1",
            "connection: keep-alive",
            "Connection:",
        ]);
        let mut p = params(&extra);
        p.body = Some(b"x");
        assert!(build(&p).ends_with(
            "X-A: 1\r\nContent-Length: 1\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Connection: close\r\nconnection: keep-alive\r\n\r\nx"
        ));
    }

    #[test]
    fn line_breaks_are_rejected() {
        for bad in ["X-A: 1\r\nX-B: 2", "X-A: 1\n", "X-A: \0"] {
            let extra = h(&[bad]);
            let e = build_request(&params(&extra)).unwrap_err();
            assert_eq!(e.phase, Phase::Request);
            assert_eq!(e.label, Label::BadUsage);
            assert!(
                e.message.contains("\\n") || e.message.contains("\\x00"),
                "{}",
                e.message
            );
            assert!(e.hint.is_some());
        }
        let mut p = params(&[]);
        p.method = "GET / HTTP/1.0\r\nX:";
        assert_eq!(build_request(&p).unwrap_err().label, Label::BadUsage);
        let mut p = params(&[]);
        p.target = "/\r\nX: 1";
        assert_eq!(build_request(&p).unwrap_err().label, Label::BadUsage);
        let mut p = params(&[]);
        p.user_agent = Some("a\nb");
        assert_eq!(build_request(&p).unwrap_err().label, Label::BadUsage);
    }

    #[test]
    fn classify_follows_curl() {
        assert_eq!(
            classify_header("X-A: b"),
            CustomHeader::Send {
                name: "X-A",
                line: "X-A: b"
            }
        );
        assert_eq!(
            classify_header("X-A ;"),
            CustomHeader::Empty { name: "X-A" }
        );
        assert_eq!(
            classify_header("X-A:  "),
            CustomHeader::Remove { name: "X-A" }
        );
        assert_eq!(classify_header("X-A; b"), CustomHeader::Ignored);
        assert_eq!(classify_header(": b"), CustomHeader::Ignored);
        assert_eq!(classify_header(";"), CustomHeader::Ignored);
        assert_eq!(
            classify_header("X: a;"),
            CustomHeader::Send {
                name: "X",
                line: "X: a;"
            }
        );
    }

    #[test]
    fn other_host_strips_credentials() {
        let extra = h(&[
            "Authorization: x",
            "cookie: a=b",
            "Host: h",
            "X-A: 1",
            "junk",
        ]);
        assert_eq!(strip_for_other_host(&extra), h(&["X-A: 1", "junk"]));
    }

    #[test]
    fn asks_chunked_tokens() {
        assert!(asks_chunked("Transfer-Encoding: gzip, chunked"));
        assert!(asks_chunked("transfer-encoding:chunked"));
        assert!(!asks_chunked("Transfer-Encoding: chunkedx"));
        assert!(!asks_chunked("Transfer-Encoding;"));
    }
}
