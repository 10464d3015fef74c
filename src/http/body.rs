//! Where the response body ends (RFC 9112 §6.3) and a streaming reader that strips the framing.
//!
//! The chunked decoder is a byte-level state machine, so input may arrive split anywhere, and
//! keeps no more than one trailer line in memory. Its leniency follows curl's `http_chunks.c`:
//! anything between the size and the LF (chunk extensions) is ignored, bare LF line ends are
//! accepted, and a trailer line must pass the same checks as a header line.

use super::response::ResponseHead;
use super::{QUOTE_MAX, is_blank, name_eq, quote_bytes, trim_blanks, write_error};
use crate::error::{Error, Label, Phase, Result};

/// How the end of the body is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// No body at all (HEAD, 1xx, 204, 304, 2xx to CONNECT).
    NoBody,
    /// Exactly this many bytes.
    ContentLength(u64),
    /// Transfer-Encoding: chunked.
    Chunked,
    /// Everything until the server closes the connection.
    Close,
}

fn weird(message: String, hint: &str) -> Error {
    Error::new(Phase::Response, Label::WeirdReply, message).hint(hint)
}

/// Parse one Content-Length field value as curl does: digits, optionally a comma-separated list of
/// the same number. `Ok(None)` when the number overflows (curl then ignores the header).
fn parse_content_length(v: &str) -> std::result::Result<Option<u64>, ()> {
    let mut found: Option<u64> = None;
    for part in v.split(',') {
        let part = trim_blanks(part);
        if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        let Some(n) = part
            .parse::<u64>()
            .ok()
            .filter(|&n| i64::try_from(n).is_ok())
        else {
            return Ok(None);
        };
        match found {
            Some(prev) if prev != n => return Err(()),
            _ => found = Some(n),
        }
    }
    Ok(found)
}

/// The body framing of a response to `request_method`, RFC 9112 §6.3:
/// HEAD, 1xx, 204 and 304 (and 2xx to CONNECT) have no body; Transfer-Encoding with chunked as
/// the final coding is chunked (Content-Length is then ignored); any other Transfer-Encoding means
/// read until close; otherwise a valid Content-Length; otherwise read until close.
///
/// Errors (Label::WeirdReply) for a Content-Length that is not a number or for several different
/// Content-Length values, as curl ("Invalid Content-Length: value"). A Content-Length too large
/// for curl's 63-bit sizes is ignored (read until close), as curl does.
pub fn framing(request_method: &str, head: &ResponseHead) -> Result<Framing> {
    let s = head.status;
    if request_method.eq_ignore_ascii_case("HEAD")
        || (100..200).contains(&s)
        || s == 204
        || s == 304
        || (request_method.eq_ignore_ascii_case("CONNECT") && (200..300).contains(&s))
    {
        return Ok(Framing::NoBody);
    }

    let codings: Vec<&str> = head
        .header_all("Transfer-Encoding")
        .flat_map(|v| v.split(','))
        .map(trim_blanks)
        .filter(|c| !c.is_empty())
        .collect();
    if let Some(last) = codings.last() {
        // A coding may carry parameters ("chunked;x=y" is not valid, but be exact about names).
        return Ok(if name_eq(last, "chunked") {
            Framing::Chunked
        } else {
            Framing::Close
        });
    }

    let mut length: Option<u64> = None;
    let mut overflow = false;
    for v in head.header_all("Content-Length") {
        match parse_content_length(v) {
            Err(()) => {
                return Err(weird(
                    format!(
                        "Invalid Content-Length: value {}",
                        quote_bytes(v.as_bytes(), QUOTE_MAX)
                    ),
                    "Content-Length must be a decimal number of bytes",
                ));
            }
            Ok(None) => overflow = true,
            Ok(Some(n)) => match length {
                Some(prev) if prev != n => {
                    return Err(weird(
                        format!("Invalid Content-Length: value: conflicting values {prev} and {n}"),
                        "the server sent several different Content-Length values, so the body \
                         length is unknown; this can be a sign of request smuggling",
                    ));
                }
                _ => length = Some(n),
            },
        }
    }
    Ok(match length {
        Some(n) if !overflow => Framing::ContentLength(n),
        _ => Framing::Close,
    })
}

/// The longest trailer line kept (curl's DYN_H1_TRAILER).
pub const MAX_TRAILER_LINE: usize = 4096;
/// The most trailer fields kept.
pub const MAX_TRAILERS: usize = 100;
/// Most hex digits in a chunk size (curl: twice the size of curl_off_t).
pub const MAX_CHUNK_HEX: u8 = 16;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Chunk {
    /// Reading hex digits of the chunk size.
    Size { digits: u8, value: u64 },
    /// After the size: extensions and anything else up to LF, ignored.
    Ext { size: u64 },
    /// Inside chunk data.
    Data { remaining: u64 },
    /// After chunk data: CR(s) then LF.
    DataEnd,
    /// After the last chunk: trailer lines; `cr` = a CR was just seen.
    Trailer { cr: bool },
}

#[derive(Clone, Debug)]
enum State {
    Length { remaining: u64 },
    Chunked(Chunk),
    Close,
    Done,
    Failed(Box<Error>),
}

/// Streaming body reader: feed it wire bytes, get body bytes out.
#[derive(Debug)]
pub struct BodyReader {
    framing: Framing,
    state: State,
    body_bytes: u64,
    wire_bytes: u64,
    chunks: u64,
    line: Vec<u8>,
    trailers: Vec<(String, String)>,
}

fn chunk_error(message: String) -> Error {
    Error::new(Phase::Response, Label::RecvFailed, message)
        .hint("the server's chunked encoding is broken; the body cannot be delimited")
}

impl BodyReader {
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::NoBody | Framing::ContentLength(0) => State::Done,
            Framing::ContentLength(n) => State::Length { remaining: n },
            Framing::Chunked => State::Chunked(Chunk::Size {
                digits: 0,
                value: 0,
            }),
            Framing::Close => State::Close,
        };
        BodyReader {
            framing,
            state,
            body_bytes: 0,
            wire_bytes: 0,
            chunks: 0,
            line: Vec::new(),
            trailers: Vec::new(),
        }
    }

    pub fn framing(&self) -> Framing {
        self.framing
    }

    /// Feed bytes from the wire; decoded body bytes go to `out`. Returns how many input bytes
    /// were consumed: all of them until the body ends, then the rest (excess data the server
    /// sent after the body) is left over. Once done, returns Ok(0).
    pub fn feed(
        &mut self,
        input: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let r = self.feed_inner(input, out);
        match r {
            Ok(n) => {
                self.wire_bytes += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.state = State::Failed(Box::new(e.clone()));
                Err(e)
            }
        }
    }

    fn emit(
        &mut self,
        data: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        if data.is_empty() {
            return Ok(());
        }
        out(data).map_err(write_error)?;
        self.body_bytes += data.len() as u64;
        Ok(())
    }

    fn feed_inner(
        &mut self,
        input: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<usize> {
        match self.state {
            State::Failed(ref e) => Err((**e).clone()),
            State::Done => Ok(0),
            State::Close => {
                self.emit(input, out)?;
                Ok(input.len())
            }
            State::Length { remaining } => {
                let n = usize::try_from(remaining)
                    .unwrap_or(usize::MAX)
                    .min(input.len());
                self.emit(&input[..n], out)?;
                let remaining = remaining - n as u64;
                self.state = if remaining == 0 {
                    State::Done
                } else {
                    State::Length { remaining }
                };
                Ok(n)
            }
            State::Chunked(_) => self.feed_chunked(input, out),
        }
    }

    fn feed_chunked(
        &mut self,
        input: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<usize> {
        let mut i = 0usize;
        while i < input.len() {
            let State::Chunked(chunk) = &mut self.state else {
                break;
            };
            let b = input[i];
            match chunk {
                Chunk::Size { digits, value } => {
                    if let Some(d) = (b as char).to_digit(16) {
                        if *digits >= MAX_CHUNK_HEX {
                            return Err(chunk_error(format!(
                                "Too long hexadecimal number in chunked-encoding: a chunk size \
                                 has more than {MAX_CHUNK_HEX} hex digits"
                            )));
                        }
                        *digits += 1;
                        *value = (*value << 4) | u64::from(d);
                        i += 1;
                    } else if *digits == 0 {
                        return Err(chunk_error(format!(
                            "Illegal or missing hexadecimal sequence in chunked-encoding: \
                             chunk size starts with {} (0x{b:02x}), not a hex digit",
                            quote_bytes(&[b], QUOTE_MAX)
                        )));
                    } else if i64::try_from(*value).is_err() {
                        return Err(chunk_error(format!(
                            "Illegal or missing hexadecimal sequence in chunked-encoding: \
                             invalid chunk size 0x{value:x} (too large)"
                        )));
                    } else {
                        // Not consumed: the Ext state looks at it.
                        *chunk = Chunk::Ext { size: *value };
                    }
                }
                Chunk::Ext { size } => {
                    if b == b'\n' {
                        if *size == 0 {
                            *chunk = Chunk::Trailer { cr: false };
                        } else {
                            self.chunks += 1;
                            *chunk = Chunk::Data { remaining: *size };
                        }
                    }
                    i += 1;
                }
                Chunk::Data { remaining } => {
                    let n = usize::try_from(*remaining)
                        .unwrap_or(usize::MAX)
                        .min(input.len() - i);
                    *remaining -= n as u64;
                    if *remaining == 0 {
                        *chunk = Chunk::DataEnd;
                    }
                    self.emit(&input[i..i + n], out)?;
                    i += n;
                }
                Chunk::DataEnd => {
                    match b {
                        b'\n' => {
                            *chunk = Chunk::Size {
                                digits: 0,
                                value: 0,
                            }
                        }
                        b'\r' => {}
                        _ => {
                            return Err(chunk_error(format!(
                                "Malformed encoding found in chunked-encoding: expected CRLF \
                                 after chunk data, got {}",
                                quote_bytes(&input[i..input.len().min(i + 16)], QUOTE_MAX)
                            )));
                        }
                    }
                    i += 1;
                }
                Chunk::Trailer { cr } => {
                    i += 1;
                    match b {
                        b'\n' => {
                            *cr = false;
                            if self.line.is_empty() {
                                self.state = State::Done;
                                self.line = Vec::new();
                            } else {
                                self.finish_trailer_line()?;
                            }
                        }
                        _ if *cr => {
                            return Err(chunk_error(
                                "Malformed encoding found in chunked-encoding: CR not followed \
                                 by LF in the trailer"
                                    .to_string(),
                            ));
                        }
                        b'\r' => *cr = true,
                        _ => {
                            if self.line.len() >= MAX_TRAILER_LINE {
                                return Err(chunk_error(format!(
                                    "Out of memory in chunked-encoding: a trailer line is longer \
                                     than {MAX_TRAILER_LINE} bytes"
                                )));
                            }
                            self.line.push(b);
                        }
                    }
                }
            }
        }
        Ok(i)
    }

    fn finish_trailer_line(&mut self) -> Result<()> {
        let line = std::mem::take(&mut self.line);
        if line.contains(&0) {
            return Err(weird(
                format!(
                    "Nul byte in header: trailer {}",
                    quote_bytes(&line, QUOTE_MAX)
                ),
                "a NUL byte is never valid in a trailer field",
            ));
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return Err(weird(
                format!(
                    "Header without colon: trailer {}",
                    quote_bytes(&line, QUOTE_MAX)
                ),
                "every trailer line must look like `Name: value`",
            ));
        };
        if self.trailers.len() >= MAX_TRAILERS {
            return Err(chunk_error(format!(
                "Out of memory in chunked-encoding: more than {MAX_TRAILERS} trailer fields"
            )));
        }
        let name = String::from_utf8_lossy(&line[..colon]).into_owned();
        let mut value = &line[colon + 1..];
        while let [first, rest @ ..] = value
            && is_blank(*first)
        {
            value = rest;
        }
        while let [rest @ .., last] = value
            && is_blank(*last)
        {
            value = rest;
        }
        self.trailers
            .push((name, String::from_utf8_lossy(value).into_owned()));
        Ok(())
    }

    /// The whole body has been read (what follows, if anything, is excess).
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// The peer closed the connection. Ok for read-until-close bodies and finished bodies;
    /// Err PartialBody (curl exit 18) when a Content-Length or chunked body is incomplete.
    pub fn on_eof(&mut self) -> Result<()> {
        match &self.state {
            State::Done => Ok(()),
            State::Close => {
                self.state = State::Done;
                Ok(())
            }
            State::Failed(e) => Err((**e).clone()),
            State::Length { remaining } => {
                let e = Error::new(
                    Phase::Response,
                    Label::PartialBody,
                    format!("transfer closed with {remaining} bytes remaining to read"),
                )
                .hint(format!(
                    "the server announced Content-Length: {} but closed the connection after {} \
                     bytes",
                    self.body_bytes + remaining,
                    self.body_bytes
                ));
                self.state = State::Failed(Box::new(e.clone()));
                Err(e)
            }
            State::Chunked(_) => {
                let e = Error::new(
                    Phase::Response,
                    Label::PartialBody,
                    "transfer closed with outstanding read data remaining",
                )
                .hint(format!(
                    "the server closed the connection before the last (zero-size) chunk, after \
                     {} body bytes in {} chunks",
                    self.body_bytes, self.chunks
                ));
                self.state = State::Failed(Box::new(e.clone()));
                Err(e)
            }
        }
    }

    /// Body bytes delivered to `out` so far.
    pub fn body_bytes(&self) -> u64 {
        self.body_bytes
    }

    /// Wire bytes consumed so far (body plus chunk framing and trailers).
    pub fn wire_bytes(&self) -> u64 {
        self.wire_bytes
    }

    /// Data chunks started so far (the final zero-size chunk not counted).
    pub fn chunks(&self) -> u64 {
        self.chunks
    }

    /// Trailer fields after the last chunk, in order, values trimmed.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// For Content-Length bodies: the bytes still expected.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length { remaining } => Some(remaining),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::{Limits, parse_head};

    fn head(s: &str) -> ResponseHead {
        parse_head(s.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap()
            .0
    }

    fn fr(method: &str, s: &str) -> Result<Framing> {
        framing(method, &head(s))
    }

    #[test]
    fn framing_rules() {
        use Framing::*;
        let cl = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert_eq!(fr("GET", cl).unwrap(), ContentLength(5));
        assert_eq!(fr("HEAD", cl).unwrap(), NoBody);
        assert_eq!(fr("head", cl).unwrap(), NoBody);
        for s in [100, 101, 199, 204, 304] {
            let h = format!(
                "HTTP/1.1 {s} X\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            assert_eq!(fr("GET", &h).unwrap(), NoBody, "{s}");
        }
        assert_eq!(fr("CONNECT", "HTTP/1.1 200 OK\r\n\r\n").unwrap(), NoBody);
        assert_eq!(fr("POST", "HTTP/1.1 200 OK\r\n\r\n").unwrap(), Close);
        assert_eq!(fr("GET", "HTTP/1.0 200 OK\r\n\r\n").unwrap(), Close);
        assert_eq!(
            fr("GET", "HTTP/1.1 205 OK\r\nContent-Length: 0\r\n\r\n").unwrap(),
            ContentLength(0)
        );
        // chunked wins over Content-Length
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: Chunked\r\n\r\n"
            )
            .unwrap(),
            Chunked
        );
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
            )
            .unwrap(),
            Chunked
        );
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n"
            )
            .unwrap(),
            Chunked
        );
        // chunked not last, or any other coding: read until close, Content-Length ignored
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\nContent-Length: 3\r\n\r\n"
            )
            .unwrap(),
            Close
        );
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n"
            )
            .unwrap(),
            Close
        );
        // empty Transfer-Encoding counts as absent
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\nContent-Length: 3\r\n\r\n"
            )
            .unwrap(),
            ContentLength(3)
        );
        // repeated identical Content-Length is fine
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nContent-Length: 7\r\nContent-Length: 7\r\n\r\n"
            )
            .unwrap(),
            ContentLength(7)
        );
        assert_eq!(
            fr("GET", "HTTP/1.1 200 OK\r\nContent-Length: 7, 7\r\n\r\n").unwrap(),
            ContentLength(7)
        );
        // overflow: curl ignores the header
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n"
            )
            .unwrap(),
            Close
        );
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775808\r\n\r\n"
            )
            .unwrap(),
            Close
        );
        assert_eq!(
            fr(
                "GET",
                "HTTP/1.1 200 OK\r\nContent-Length: 9223372036854775807\r\n\r\n"
            )
            .unwrap(),
            ContentLength(9_223_372_036_854_775_807)
        );
    }

    #[test]
    fn framing_rejects_bad_content_length() {
        for v in ["abc", "-1", "+5", "5 5", "", "1.0", "0x10", "5, 6", "5,"] {
            let h = format!("HTTP/1.1 200 OK\r\nContent-Length: {v}\r\n\r\n");
            let e = fr("GET", &h).unwrap_err();
            assert_eq!(
                (e.phase, e.label),
                (Phase::Response, Label::WeirdReply),
                "{v}"
            );
            assert!(e.message.starts_with("Invalid Content-Length"));
        }
        let e = fr(
            "GET",
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
        )
        .unwrap_err();
        assert_eq!(e.label, Label::WeirdReply);
        assert!(e.message.contains("conflicting"));
    }

    /// Feed `wire` split at `split`, collect output, return (body, consumed, reader).
    fn run(framing: Framing, parts: &[&[u8]]) -> (Vec<u8>, usize, BodyReader, Option<Error>) {
        let mut r = BodyReader::new(framing);
        let mut body = Vec::new();
        let mut consumed = 0;
        for p in parts {
            match r.feed(p, &mut |d| {
                body.extend_from_slice(d);
                Ok(())
            }) {
                Ok(n) => consumed += n,
                Err(e) => return (body, consumed, r, Some(e)),
            }
        }
        (body, consumed, r, None)
    }

    const CHUNKED: &[u8] = b"5;name=value;x\r\nhello\r\n6\r\n world\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-Checksum: abc \r\nX-Other:1\r\n\r\nEXCESS";

    #[test]
    fn chunked_at_every_split_point() {
        let end = CHUNKED.len() - 6;
        let expect = b"hello worldabcdefghijklmnopqrstuvwxyz";
        for a in 0..=CHUNKED.len() {
            for b in a..=CHUNKED.len() {
                let (body, consumed, r, e) = run(
                    Framing::Chunked,
                    &[&CHUNKED[..a], &CHUNKED[a..b], &CHUNKED[b..]],
                );
                assert!(e.is_none(), "split {a},{b}: {e:?}");
                assert_eq!(body, expect, "split {a},{b}");
                assert_eq!(consumed, end, "split {a},{b}");
                assert!(r.is_done());
                assert_eq!(r.chunks(), 3);
                assert_eq!(r.body_bytes(), expect.len() as u64);
                assert_eq!(r.wire_bytes(), end as u64);
                assert_eq!(
                    r.trailers(),
                    &[
                        ("X-Checksum".to_string(), "abc".to_string()),
                        ("X-Other".to_string(), "1".to_string())
                    ]
                );
            }
        }
    }

    #[test]
    fn chunked_one_byte_at_a_time() {
        let parts: Vec<&[u8]> = CHUNKED.chunks(1).collect();
        let (body, consumed, r, e) = run(Framing::Chunked, &parts);
        assert!(e.is_none());
        assert_eq!(body, b"hello worldabcdefghijklmnopqrstuvwxyz");
        assert_eq!(consumed, CHUNKED.len() - 6);
        assert!(r.is_done());
    }

    #[test]
    fn chunked_bare_lf_and_no_trailers() {
        let (body, consumed, r, e) = run(Framing::Chunked, &[b"3\nabc\n0\n\n"]);
        assert!(e.is_none());
        assert_eq!(body, b"abc");
        assert_eq!(consumed, 9);
        assert!(r.is_done() && r.trailers().is_empty());
        let (_, _, r, e) = run(Framing::Chunked, &[b"0\r\n\r\n"]);
        assert!(e.is_none() && r.is_done() && r.chunks() == 0);
        let (body, _, r, e) = run(Framing::Chunked, &[b"ffffffffffff\r\nab"]);
        assert!(e.is_none() && !r.is_done());
        assert_eq!(body, b"ab");
    }

    #[test]
    fn chunked_errors() {
        let cases: &[(&[u8], Label, &str)] = &[
            (b"g\r\n", Label::RecvFailed, "hexadecimal"),
            (b"\r\n", Label::RecvFailed, "hexadecimal"),
            (b";ext\r\n", Label::RecvFailed, "hexadecimal"),
            (b"00000000000000001\r\n", Label::RecvFailed, "Too long"),
            (b"ffffffffffffffff\r\n", Label::RecvFailed, "too large"),
            (b"8000000000000000\r\n", Label::RecvFailed, "too large"),
            (b"3\r\nabcX\r\n", Label::RecvFailed, "Malformed"),
            (
                b"3\r\nabc\r\n0\r\nX: 1\rY\r\n",
                Label::RecvFailed,
                "CR not followed",
            ),
            (b"0\r\nno colon\r\n\r\n", Label::WeirdReply, "without colon"),
            (b"0\r\nA: \x00\r\n\r\n", Label::WeirdReply, "Nul byte"),
        ];
        for (wire, label, text) in cases {
            // every split point, to check errors do not depend on read sizes
            for a in 0..=wire.len() {
                let (_, _, mut r, e) = run(Framing::Chunked, &[&wire[..a], &wire[a..]]);
                let e = e.unwrap_or_else(|| panic!("no error for {wire:?} at {a}"));
                assert_eq!(e.label, *label, "{wire:?}");
                assert!(e.message.contains(text), "{}", e.message);
                // the reader stays failed
                assert_eq!(r.feed(b"0\r\n\r\n", &mut |_| Ok(())).unwrap_err(), e);
            }
        }
        let mut long = b"0\r\nX: ".to_vec();
        long.extend(std::iter::repeat_n(b'a', MAX_TRAILER_LINE));
        let (_, _, _, e) = run(Framing::Chunked, &[&long]);
        assert!(e.unwrap().message.contains("trailer line is longer"));
        let mut many = b"0\r\n".to_vec();
        for _ in 0..=MAX_TRAILERS {
            many.extend_from_slice(b"A: b\r\n");
        }
        let (_, _, _, e) = run(Framing::Chunked, &[&many]);
        assert!(e.unwrap().message.contains("trailer fields"));
    }

    #[test]
    fn chunked_eof_before_end() {
        for wire in [
            &b""[..],
            b"5\r\nhel",
            b"5\r\nhello\r\n",
            b"0\r\n",
            b"0\r\nX: y\r\n",
        ] {
            let (_, _, mut r, e) = run(Framing::Chunked, &[wire]);
            assert!(e.is_none());
            let e = r.on_eof().unwrap_err();
            assert_eq!((e.phase, e.label), (Phase::Response, Label::PartialBody));
            assert_eq!(
                e.message,
                "transfer closed with outstanding read data remaining"
            );
            assert_eq!(e.exit_code(), 18);
        }
        let (_, _, mut r, _) = run(Framing::Chunked, &[b"0\r\n\r\n"]);
        assert!(r.on_eof().is_ok());
    }

    #[test]
    fn content_length_exact_short_extra() {
        // exact, at every split point
        let wire = b"0123456789";
        for a in 0..=wire.len() {
            let (body, consumed, mut r, e) =
                run(Framing::ContentLength(10), &[&wire[..a], &wire[a..]]);
            assert!(e.is_none());
            assert_eq!((body.as_slice(), consumed), (&wire[..], 10));
            assert!(r.is_done());
            assert!(r.on_eof().is_ok());
        }
        // extra bytes are left over
        let (body, consumed, r, _) = run(Framing::ContentLength(4), &[b"abcdefgh"]);
        assert_eq!((body.as_slice(), consumed), (&b"abcd"[..], 4));
        assert!(r.is_done());
        let (_, consumed, _, _) = run(Framing::ContentLength(4), &[b"abcd", b"efgh"]);
        assert_eq!(consumed, 4);
        // short
        let (body, _, mut r, _) = run(Framing::ContentLength(10), &[b"abc"]);
        assert_eq!(body, b"abc");
        assert_eq!(r.remaining(), Some(7));
        let e = r.on_eof().unwrap_err();
        assert_eq!(e.label, Label::PartialBody);
        assert_eq!(e.message, "transfer closed with 7 bytes remaining to read");
        assert!(e.hint.unwrap().contains("Content-Length: 10"));
        // zero
        let (_, consumed, r, _) = run(Framing::ContentLength(0), &[b"xyz"]);
        assert_eq!(consumed, 0);
        assert!(r.is_done());
    }

    #[test]
    fn close_and_nobody() {
        let (body, consumed, mut r, _) = run(Framing::Close, &[b"abc", b"", b"def"]);
        assert_eq!((body.as_slice(), consumed), (&b"abcdef"[..], 6));
        assert!(!r.is_done());
        assert!(r.on_eof().is_ok());
        assert!(r.is_done());
        let (body, consumed, mut r, _) = run(Framing::NoBody, &[b"abc"]);
        assert!(body.is_empty() && consumed == 0 && r.is_done());
        assert!(r.on_eof().is_ok());
    }

    #[test]
    fn write_errors_are_output_errors() {
        for framing in [Framing::Close, Framing::ContentLength(3), Framing::Chunked] {
            let mut r = BodyReader::new(framing);
            let wire: &[u8] = if framing == Framing::Chunked {
                b"3\r\nabc\r\n"
            } else {
                b"abc"
            };
            let e = r
                .feed(wire, &mut |_| Err(std::io::Error::other("disk full")))
                .unwrap_err();
            assert_eq!((e.phase, e.label), (Phase::Output, Label::WriteFailed));
            assert!(e.message.contains("disk full"));
            assert_eq!(e.exit_code(), 23);
        }
    }
}
