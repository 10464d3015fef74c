//! HTTP/1.1 wire formats written and parsed by wtcurl: request head, response head, body framing, decoding.
//!
//! Everything here is pure: bytes in, bytes (or errors) out. No sockets, no clocks, no files; the
//! only side effect is the `out` callback the body and content decoders write through.

pub mod body;
pub mod decode;
pub mod redirect;
pub mod request;
pub mod response;

pub use body::{BodyReader, Framing, framing};
pub use decode::ContentDecoder;
pub use redirect::{Follow, FollowInput, follow, is_redirect, location, next_method};
pub use request::{
    CustomHeader, RequestParams, build_request, classify_header, display_head, display_lines,
    head_len, strip_for_other_host,
};
pub use response::{Limits, ResponseHead, parse_head};

use crate::error::{Error, Label, Phase};

/// How many characters of an offending line go into an error message.
pub const QUOTE_MAX: usize = 80;

/// Render bytes as a double-quoted, escaped ASCII string of at most about `max` characters
/// (`\r`, `\n`, `\t`, `\\`, `\"`, `\xNN`; `...` after the closing quote when cut).
pub fn quote_bytes(bytes: &[u8], max: usize) -> String {
    let mut s = String::with_capacity(max.min(bytes.len() * 2) + 8);
    s.push('"');
    let mut cut = false;
    for &b in bytes {
        let esc: String = match b {
            b'\r' => "\\r".into(),
            b'\n' => "\\n".into(),
            b'\t' => "\\t".into(),
            b'\\' => "\\\\".into(),
            b'"' => "\\\"".into(),
            0x20..=0x7e => (b as char).to_string(),
            _ => format!("\\x{b:02x}"),
        };
        if s.len() - 1 + esc.len() > max {
            cut = true;
            break;
        }
        s.push_str(&esc);
    }
    s.push('"');
    if cut {
        s.push_str("...");
    }
    s
}

/// The error for a failing `out` callback: the body could not be written (curl exit 23).
pub fn write_error(e: std::io::Error) -> Error {
    Error::new(
        Phase::Output,
        Label::WriteFailed,
        format!("Failure writing output to destination: {e}"),
    )
    .hint("check that the output file or pipe is writable and the disk is not full")
}

/// Case-insensitive ASCII comparison of a header name.
pub(crate) fn name_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// SP or HTAB: the "blanks" of RFC 9110 OWS and of curl's `ISBLANK`.
pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Trim SP/HTAB on both ends.
pub(crate) fn trim_blanks(s: &str) -> &str {
    s.trim_matches([' ', '\t'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_and_truncates() {
        assert_eq!(
            quote_bytes(b"a\r\n\x00\"\\", 80),
            "\"a\\r\\n\\x00\\\"\\\\\""
        );
        let long = [b'x'; 200];
        let q = quote_bytes(&long, 80);
        assert_eq!(q.len(), 80 + 2 + 3);
        assert!(q.ends_with("\"..."));
        assert_eq!(quote_bytes(b"", 80), "\"\"");
    }

    /// A small linear congruential generator: deterministic pseudo-random bytes, no dependency.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            self.0 >> 33
        }

        /// Bytes biased towards the characters the parsers care about.
        fn bytes(&mut self, max_len: usize) -> Vec<u8> {
            const INTERESTING: &[u8] =
                b"HTTP/1.1 200 OK\r\n:;0123456789abcdefABCDEF \t\x00\x1f\x8b\x78\x9c";
            let len = (self.next() as usize) % (max_len + 1);
            (0..len)
                .map(|_| {
                    let r = self.next();
                    if r.is_multiple_of(4) {
                        (r >> 8) as u8
                    } else {
                        INTERESTING[(r >> 8) as usize % INTERESTING.len()]
                    }
                })
                .collect()
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Lcg(0x5eed);
        let limits = Limits::default();
        let small = Limits {
            max_line: 40,
            max_headers: 3,
            max_head_bytes: 120,
        };
        let prefixes: [&[u8]; 4] = [
            b"",
            b"HTTP/1.1 200 OK\r\n",
            b"HTTP/1.0 ",
            b"HTTP/1.1 200 OK\r\nA: b\r\n",
        ];
        for round in 0..4000 {
            let mut input = prefixes[round % prefixes.len()].to_vec();
            input.extend(rng.bytes(200));
            let _ = parse_head(&input, &limits);
            let _ = parse_head(&input, &small);
            if let Ok(Some((head, used))) = parse_head(&input, &limits) {
                assert!(used <= input.len());
                let _ = framing("GET", &head);
                let _ = location(&head);
            }

            for framing in [
                Framing::Chunked,
                Framing::ContentLength(rng.next() % 300),
                Framing::Close,
                Framing::NoBody,
            ] {
                let mut r = BodyReader::new(framing);
                let mut rest: &[u8] = &input;
                let mut delivered = 0u64;
                while !rest.is_empty() {
                    let cut = 1 + (rng.next() as usize) % rest.len();
                    let (piece, tail) = rest.split_at(cut);
                    match r.feed(piece, &mut |d| {
                        delivered += d.len() as u64;
                        Ok(())
                    }) {
                        Ok(n) => {
                            assert!(n <= piece.len());
                            if n < piece.len() {
                                assert!(r.is_done());
                                break;
                            }
                        }
                        Err(_) => break,
                    }
                    rest = tail;
                }
                assert_eq!(delivered, r.body_bytes());
                let _ = r.on_eof();
            }

            for enc in ["gzip", "deflate", "br", "gzip, deflate"] {
                let mut d = ContentDecoder::for_encoding(Some(enc));
                for piece in input.chunks(1 + (rng.next() as usize) % 50) {
                    if d.write(piece, &mut |_| Ok(())).is_err() {
                        break;
                    }
                }
                let _ = d.finish(&mut |_| Ok(()));
            }
        }
    }

    #[test]
    fn random_chunked_bodies_round_trip() {
        let mut rng = Lcg(42);
        for _ in 0..300 {
            let mut wire = Vec::new();
            let mut body = Vec::new();
            for _ in 0..(rng.next() % 5) {
                let data = rng.bytes(40);
                if data.is_empty() {
                    continue;
                }
                wire.extend_from_slice(format!("{:X};e=1\r\n", data.len()).as_bytes());
                wire.extend_from_slice(&data);
                wire.extend_from_slice(b"\r\n");
                body.extend_from_slice(&data);
            }
            wire.extend_from_slice(b"0\r\nT: v\r\n\r\n");
            let mut r = BodyReader::new(Framing::Chunked);
            let mut out = Vec::new();
            let mut rest: &[u8] = &wire;
            while !rest.is_empty() {
                let cut = 1 + (rng.next() as usize) % rest.len();
                let n = r
                    .feed(&rest[..cut], &mut |d| {
                        out.extend_from_slice(d);
                        Ok(())
                    })
                    .unwrap();
                assert_eq!(n, cut);
                rest = &rest[cut..];
            }
            assert!(r.is_done());
            assert_eq!(out, body);
            assert_eq!(r.trailers().len(), 1);
        }
    }
}
