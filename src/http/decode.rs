//! Content-Encoding decoding for --compressed: gzip and deflate, streamed through fixed buffers.
//!
//! Follows curl's `content_encoding.c`: the header is a comma-separated list, undone last first;
//! `identity` and `none` do nothing; `gzip`/`x-gzip` also accept a zlib stream (zlib's automatic
//! header detection); `deflate` is zlib-wrapped, or raw deflate when the zlib header is missing;
//! at most 5 encodings; an encoding wtcurl cannot decode fails ("Unrecognized content encoding
//! type", exit 61) once body data arrives, as curl does. A stream that simply stops early is not
//! an error (curl does not check), but [`ContentDecoder::is_complete`] tells. Data after the end
//! of a compressed stream is an error, as in curl.
//!
//! Memory is bounded: each decoder owns one 64 KiB output buffer and inflate's state, whatever
//! the compression ratio.

use flate2::{Crc, Decompress, FlushDecompress, Status};

use super::{QUOTE_MAX, name_eq, quote_bytes, trim_blanks, write_error};
use crate::error::{Error, Label, Phase, Result};

/// Size of each decoder's output buffer.
pub const OUT_BUF: usize = 64 * 1024;
/// curl's MAX_ENCODE_STACK.
pub const MAX_ENCODINGS: usize = 5;
/// The encodings wtcurl decodes, as listed in curl's message.
pub const SUPPORTED: &str = "deflate, gzip";

type Sink<'a> = dyn FnMut(&[u8]) -> Result<()> + 'a;

fn bad(message: impl Into<String>) -> Error {
    Error::new(Phase::Response, Label::BadContentEncoding, message.into()).hint(
        "the server's compressed body is corrupt or not what Content-Encoding says; \
         retry without --compressed to see the raw bytes",
    )
}

fn zerr(what: &str) -> Error {
    bad(format!("Error while processing content unencoding: {what}"))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Gzip,
    Deflate,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wrap {
    Gzip,
    Zlib,
    Raw,
}

const FHCRC: u8 = 0x02;
const FEXTRA: u8 = 0x04;
const FNAME: u8 = 0x08;
const FCOMMENT: u8 = 0x10;

#[derive(Debug)]
enum GzHead {
    Fixed { buf: [u8; 10], n: usize },
    XLen { buf: [u8; 2], n: usize },
    Extra { left: u16 },
    Name,
    Comment,
    HCrc { buf: [u8; 2], n: usize },
}

#[derive(Debug)]
enum St {
    /// Waiting for the first two bytes to tell gzip, zlib and raw deflate apart.
    Sniff {
        buf: [u8; 2],
        n: usize,
    },
    GzHeader(GzHead),
    Inflate,
    GzTrailer {
        buf: [u8; 8],
        n: usize,
    },
    /// Stream ended; `tail` more bytes are tolerated (raw deflate: 4, as curl).
    End {
        tail: usize,
    },
}

struct Inflater {
    kind: Kind,
    st: St,
    wrap: Wrap,
    flags: u8,
    head_crc: Crc,
    crc: Crc,
    size: u32,
    z: Option<Decompress>,
    buf: Box<[u8]>,
}

impl std::fmt::Debug for Inflater {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflater")
            .field("kind", &self.kind)
            .field("st", &self.st)
            .field("wrap", &self.wrap)
            .finish_non_exhaustive()
    }
}

fn zlib_header_ok(b0: u8, b1: u8) -> bool {
    b0 & 0x0f == 8 && b0 >> 4 <= 7 && (u16::from(b0) << 8 | u16::from(b1)).is_multiple_of(31)
}

impl Inflater {
    fn new(kind: Kind) -> Self {
        Inflater {
            kind,
            st: St::Sniff { buf: [0; 2], n: 0 },
            wrap: Wrap::Raw,
            flags: 0,
            head_crc: Crc::new(),
            crc: Crc::new(),
            size: 0,
            z: None,
            buf: Box::default(),
        }
    }

    fn done(&self) -> bool {
        matches!(self.st, St::End { .. })
    }

    fn start_inflate(&mut self, wrap: Wrap) {
        self.wrap = wrap;
        self.z = Some(Decompress::new(wrap == Wrap::Zlib));
        if self.buf.is_empty() {
            self.buf = vec![0u8; OUT_BUF].into_boxed_slice();
        }
        self.st = St::Inflate;
    }

    fn write(&mut self, input: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        if let St::Sniff { buf, n } = &mut self.st {
            if *n + input.len() < 2 {
                buf[*n..*n + input.len()].copy_from_slice(input);
                *n += input.len();
                return Ok(());
            }
            let held = *n;
            let first = *buf;
            let b0 = if held > 0 { first[0] } else { input[0] };
            let b1 = if held > 1 { first[1] } else { input[1 - held] };
            if self.kind == Kind::Gzip && b0 == 0x1f && b1 == 0x8b {
                self.st = St::GzHeader(GzHead::Fixed { buf: [0; 10], n: 0 });
                self.wrap = Wrap::Gzip;
            } else if zlib_header_ok(b0, b1) {
                self.start_inflate(Wrap::Zlib);
            } else if self.kind == Kind::Deflate {
                self.start_inflate(Wrap::Raw);
            } else if b0 & 0x0f != 8 && (u16::from(b0) << 8 | u16::from(b1)).is_multiple_of(31) {
                return Err(zerr("unknown compression method"));
            } else {
                return Err(zerr(&format!(
                    "incorrect header check (the body starts with {}, neither a gzip nor a zlib header)",
                    quote_bytes(&[b0, b1], QUOTE_MAX)
                )));
            }
            self.process(&first[..held], sink)?;
        }
        self.process(input, sink)
    }

    fn process(&mut self, mut input: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        while !input.is_empty() {
            match &mut self.st {
                St::Sniff { .. } => unreachable_state()?,
                St::GzHeader(_) => input = self.gz_header(input)?,
                St::Inflate => input = self.inflate(input, sink)?,
                St::GzTrailer { buf, n } => {
                    let take = (8 - *n).min(input.len());
                    buf[*n..*n + take].copy_from_slice(&input[..take]);
                    *n += take;
                    input = &input[take..];
                    if *n == 8 {
                        let b = *buf;
                        let crc = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
                        let isize = u32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                        if crc != self.crc.sum() {
                            return Err(zerr("incorrect data check (gzip CRC-32 mismatch)"));
                        }
                        if isize != self.size {
                            return Err(zerr("incorrect length check (gzip size mismatch)"));
                        }
                        self.st = St::End { tail: 0 };
                    }
                }
                St::End { tail } => {
                    let take = (*tail).min(input.len());
                    *tail -= take;
                    input = &input[take..];
                    if input.is_empty() {
                        break;
                    }
                    if self.wrap == Wrap::Gzip && input.first() == Some(&0x1f) {
                        return Err(bad("Multi-member gzip response not supported"));
                    }
                    return Err(bad(format!(
                        "{} bytes of unexpected data after the end of the compressed stream",
                        input.len()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Consume gzip header bytes; returns the rest of the input.
    fn gz_header<'i>(&mut self, mut input: &'i [u8]) -> Result<&'i [u8]> {
        while let (Some(&b), St::GzHeader(h)) = (input.first(), &mut self.st) {
            input = &input[1..];
            if !matches!(h, GzHead::HCrc { .. }) {
                self.head_crc.update(&[b]);
            }
            let next: Option<GzHead> = match h {
                GzHead::Fixed { buf, n } => {
                    buf[*n] = b;
                    *n += 1;
                    if *n < 10 {
                        None
                    } else {
                        if buf[2] != 8 {
                            return Err(zerr("unknown compression method"));
                        }
                        if buf[3] & 0xe0 != 0 {
                            return Err(zerr("unknown header flags set"));
                        }
                        self.flags = buf[3];
                        Some(GzHead::XLen { buf: [0; 2], n: 0 })
                    }
                }
                GzHead::XLen { buf, n } => {
                    buf[*n] = b;
                    *n += 1;
                    (*n == 2).then(|| GzHead::Extra {
                        left: u16::from_le_bytes(*buf),
                    })
                }
                GzHead::Extra { left } => {
                    *left -= 1;
                    (*left == 0).then_some(GzHead::Name)
                }
                GzHead::Name => (b == 0).then_some(GzHead::Comment),
                GzHead::Comment => (b == 0).then_some(GzHead::HCrc { buf: [0; 2], n: 0 }),
                GzHead::HCrc { buf, n } => {
                    buf[*n] = b;
                    *n += 1;
                    if *n == 2 {
                        let want = u16::from_le_bytes(*buf);
                        if want != (self.head_crc.sum() & 0xffff) as u16 {
                            return Err(zerr("header crc mismatch"));
                        }
                        self.start_inflate(Wrap::Gzip);
                    }
                    None
                }
            };
            if let Some(next) = next {
                self.enter_gz(next);
            }
        }
        Ok(input)
    }

    /// Move to `next`, skipping the optional parts the flags do not announce.
    fn enter_gz(&mut self, mut next: GzHead) {
        loop {
            next = match next {
                GzHead::XLen { .. } if self.flags & FEXTRA == 0 => GzHead::Name,
                GzHead::Extra { left: 0 } => GzHead::Name,
                GzHead::Name if self.flags & FNAME == 0 => GzHead::Comment,
                GzHead::Comment if self.flags & FCOMMENT == 0 => GzHead::HCrc { buf: [0; 2], n: 0 },
                GzHead::HCrc { .. } if self.flags & FHCRC == 0 => {
                    self.start_inflate(Wrap::Gzip);
                    return;
                }
                other => {
                    self.st = St::GzHeader(other);
                    return;
                }
            };
        }
    }

    /// Inflate as much of `input` as possible; returns the unconsumed rest (non-empty only when
    /// the deflate stream ended inside it).
    fn inflate<'i>(&mut self, mut input: &'i [u8], sink: &mut Sink<'_>) -> Result<&'i [u8]> {
        let Some(z) = self.z.as_mut() else {
            return unreachable_state().map(|()| input);
        };
        loop {
            let (in0, out0) = (z.total_in(), z.total_out());
            let res = z.decompress(input, &mut self.buf, FlushDecompress::None);
            let used = usize::try_from(z.total_in() - in0)
                .unwrap_or(usize::MAX)
                .min(input.len());
            let produced = usize::try_from(z.total_out() - out0)
                .unwrap_or(usize::MAX)
                .min(self.buf.len());
            input = &input[used..];
            if produced > 0 {
                let out = &self.buf[..produced];
                if self.wrap == Wrap::Gzip {
                    self.crc.update(out);
                    self.size = self.size.wrapping_add(produced as u32);
                }
                sink(out)?;
            }
            match res {
                Err(e) => {
                    let what = e.message().unwrap_or("invalid compressed data").to_string();
                    return Err(zerr(&what));
                }
                Ok(Status::StreamEnd) => {
                    self.st = match self.wrap {
                        Wrap::Gzip => St::GzTrailer { buf: [0; 8], n: 0 },
                        Wrap::Zlib => St::End { tail: 0 },
                        Wrap::Raw => St::End { tail: 4 },
                    };
                    self.z = None;
                    return Ok(input);
                }
                Ok(Status::Ok | Status::BufError) => {
                    if produced == self.buf.len() {
                        continue; // there may be more output pending
                    }
                    if input.is_empty() {
                        return Ok(input);
                    }
                    if used == 0 && produced == 0 {
                        return Err(zerr("the decompressor made no progress"));
                    }
                }
            }
        }
    }

    /// Flush pending output at the end of the body. A truncated stream is not an error.
    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        if matches!(self.st, St::Inflate) {
            self.inflate(&[], sink)?;
        }
        Ok(())
    }
}

fn unreachable_state() -> Result<()> {
    Err(zerr("internal decoder state error"))
}

#[derive(Debug)]
enum Stage {
    Identity,
    Inflate(Box<Inflater>),
    /// An encoding wtcurl does not decode; fails on the first body byte.
    Unknown(String),
}

impl Stage {
    fn write(&mut self, data: &[u8], sink: &mut Sink<'_>) -> Result<()> {
        match self {
            Stage::Identity => sink(data),
            Stage::Inflate(i) => i.write(data, sink),
            Stage::Unknown(name) => {
                if data.is_empty() {
                    Ok(())
                } else {
                    Err(unknown(name))
                }
            }
        }
    }

    fn finish(&mut self, sink: &mut Sink<'_>) -> Result<()> {
        match self {
            Stage::Inflate(i) => i.finish(sink),
            Stage::Identity | Stage::Unknown(_) => Ok(()),
        }
    }
}

fn unknown(name: &str) -> Error {
    Error::new(
        Phase::Response,
        Label::BadContentEncoding,
        format!(
            "Unrecognized content encoding type {}. wtcurl understands {SUPPORTED} content encodings.",
            quote_bytes(name.as_bytes(), QUOTE_MAX)
        ),
    )
    .hint("the server used a compression wtcurl cannot undo; retry without --compressed to save the raw bytes")
}

fn run(stages: &mut [Stage], data: &[u8], out: &mut Sink<'_>) -> Result<()> {
    match stages.split_first_mut() {
        None => {
            if data.is_empty() {
                Ok(())
            } else {
                out(data)
            }
        }
        Some((first, rest)) => first.write(data, &mut |chunk| run(rest, chunk, out)),
    }
}

fn finish_all(stages: &mut [Stage], out: &mut Sink<'_>) -> Result<()> {
    match stages.split_first_mut() {
        None => Ok(()),
        Some((first, rest)) => {
            first.finish(&mut |chunk| run(rest, chunk, out))?;
            finish_all(rest, out)
        }
    }
}

/// Streaming decoder for a response's Content-Encoding.
#[derive(Debug)]
pub struct ContentDecoder {
    /// Decoders in the order data flows through them (last listed encoding first).
    stages: Vec<Stage>,
    /// Names as listed, for explanations.
    names: Vec<String>,
    /// An error known from the header alone, reported on the first write.
    setup_error: Option<Error>,
    failed: Option<Error>,
}

impl ContentDecoder {
    /// A decoder for a Content-Encoding header value (`None` = no header: pass through).
    pub fn for_encoding(content_encoding: Option<&str>) -> Self {
        let names: Vec<String> = content_encoding
            .unwrap_or("")
            .split(',')
            .map(trim_blanks)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();
        let setup_error = (names.len() > MAX_ENCODINGS).then(|| {
            bad(format!(
                "Reject response exceeding limit of {MAX_ENCODINGS} content encodings"
            ))
        });
        let stages = names
            .iter()
            .rev()
            .map(|n| {
                if name_eq(n, "identity") || name_eq(n, "none") {
                    Stage::Identity
                } else if name_eq(n, "gzip") || name_eq(n, "x-gzip") {
                    Stage::Inflate(Box::new(Inflater::new(Kind::Gzip)))
                } else if name_eq(n, "deflate") {
                    Stage::Inflate(Box::new(Inflater::new(Kind::Deflate)))
                } else {
                    Stage::Unknown(n.clone())
                }
            })
            .collect();
        ContentDecoder {
            stages,
            names,
            setup_error,
            failed: None,
        }
    }

    /// The encodings as listed in the header.
    pub fn encodings(&self) -> &[String] {
        &self.names
    }

    /// True when bytes pass through unchanged (no header, or only identity/none).
    pub fn is_identity(&self) -> bool {
        self.setup_error.is_none() && self.stages.iter().all(|s| matches!(s, Stage::Identity))
    }

    /// True when every compressed stream reached its end (always true for identity).
    pub fn is_complete(&self) -> bool {
        self.stages.iter().all(|s| match s {
            Stage::Inflate(i) => i.done(),
            Stage::Identity | Stage::Unknown(_) => true,
        })
    }

    fn check(&mut self) -> Result<()> {
        if let Some(e) = self.setup_error.take() {
            self.failed = Some(e);
        }
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    /// Decode `data` (body bytes) and write the result to `out`.
    pub fn write(
        &mut self,
        data: &[u8],
        out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<()> {
        self.check()?;
        let mut sink = |b: &[u8]| out(b).map_err(write_error);
        let r = run(&mut self.stages, data, &mut sink);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }

    /// The body ended: flush what is still buffered.
    pub fn finish(&mut self, out: &mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> Result<()> {
        self.check()?;
        let mut sink = |b: &[u8]| out(b).map_err(write_error);
        let r = finish_all(&mut self.stages, &mut sink);
        if let Err(e) = &r {
            self.failed = Some(e.clone());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use std::io::Write;

    fn sample() -> Vec<u8> {
        let mut v = Vec::new();
        let mut x: u32 = 1;
        for i in 0..200_000u32 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            // compressible but not trivial
            v.push(if i % 7 == 0 {
                (x >> 24) as u8
            } else {
                b'a' + (i % 13) as u8
            });
        }
        v
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn raw(data: &[u8]) -> Vec<u8> {
        let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// Decode `wire` fed in pieces of `piece` bytes; returns output, result, max output chunk.
    fn decode(
        enc: Option<&str>,
        wire: &[u8],
        piece: usize,
    ) -> (Vec<u8>, Result<()>, ContentDecoder) {
        let mut d = ContentDecoder::for_encoding(enc);
        let mut out = Vec::new();
        let mut push = |b: &[u8]| {
            assert!(b.len() <= OUT_BUF);
            out.extend_from_slice(b);
            Ok(())
        };
        for p in wire.chunks(piece.max(1)) {
            if let Err(e) = d.write(p, &mut push) {
                return (out, Err(e), d);
            }
        }
        let r = d.finish(&mut push);
        (out, r, d)
    }

    #[test]
    fn gzip_round_trip_in_small_pieces() {
        let data = sample();
        let wire = gzip(&data);
        for piece in [1, 2, 3, 7, 64, 1000, wire.len()] {
            let (out, r, d) = decode(Some("gzip"), &wire, piece);
            r.unwrap();
            assert!(out == data, "piece {piece}");
            assert!(d.is_complete());
        }
        let (out, r, _) = decode(Some("X-GZIP"), &wire, 4096);
        r.unwrap();
        assert!(out == data);
    }

    #[test]
    fn gzip_header_with_all_optional_fields() {
        let data = b"hello, optional gzip header fields".repeat(50);
        let mut e = flate2::GzBuilder::new()
            .filename("file.txt")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4, 5])
            .write(Vec::new(), Compression::best());
        e.write_all(&data).unwrap();
        let mut wire = e.finish().unwrap();
        for piece in [1, 5, wire.len()] {
            let (out, r, _) = decode(Some("gzip"), &wire, piece);
            r.unwrap();
            assert_eq!(out, data);
        }
        // add FHCRC by hand: recompute the header with the flag and its CRC16
        let body_start = {
            let mut p = 10;
            p += 2 + u16::from_le_bytes([wire[10], wire[11]]) as usize;
            p += wire[p..].iter().position(|&b| b == 0).unwrap() + 1;
            p += wire[p..].iter().position(|&b| b == 0).unwrap() + 1;
            p
        };
        wire[3] |= FHCRC;
        let mut c = Crc::new();
        c.update(&wire[..body_start]);
        let crc16 = (c.sum() & 0xffff) as u16;
        let mut with_hcrc = wire[..body_start].to_vec();
        with_hcrc.extend_from_slice(&crc16.to_le_bytes());
        with_hcrc.extend_from_slice(&wire[body_start..]);
        for piece in [1, 3, with_hcrc.len()] {
            let (out, r, _) = decode(Some("gzip"), &with_hcrc, piece);
            r.unwrap();
            assert_eq!(out, data);
        }
        with_hcrc[body_start] ^= 1;
        let (_, r, _) = decode(Some("gzip"), &with_hcrc, 9);
        assert!(r.unwrap_err().message.contains("header crc mismatch"));
    }

    #[test]
    fn deflate_zlib_and_raw_round_trip() {
        let data = sample();
        for wire in [zlib(&data), raw(&data)] {
            for piece in [1, 2, 5, 333, wire.len()] {
                let (out, r, d) = decode(Some("deflate"), &wire, piece);
                r.unwrap();
                assert!(out == data, "piece {piece}");
                assert!(d.is_complete());
            }
        }
        // gzip accepts a zlib stream too (zlib's automatic header detection)
        let (out, r, _) = decode(Some("gzip"), &zlib(&data), 100);
        r.unwrap();
        assert!(out == data);
    }

    #[test]
    fn stacked_encodings_are_undone_last_first() {
        let data = b"stacked encodings".repeat(1000);
        let wire = zlib(&gzip(&data)); // "gzip, deflate": gzip applied first
        let (out, r, d) = decode(Some("gzip, deflate"), &wire, 10);
        r.unwrap();
        assert_eq!(out, data);
        assert_eq!(d.encodings(), ["gzip", "deflate"]);
        let (out, r, _) = decode(Some("identity, gzip , none"), &gzip(&data), 10);
        r.unwrap();
        assert_eq!(out, data);
    }

    #[test]
    fn identity_and_empty() {
        for enc in [None, Some(""), Some("identity"), Some(" , none")] {
            let (out, r, d) = decode(enc, b"plain bytes", 3);
            r.unwrap();
            assert_eq!(out, b"plain bytes");
            assert!(d.is_identity() && d.is_complete());
        }
        // empty compressed body: fine, but not complete
        let (out, r, d) = decode(Some("gzip"), b"", 1);
        r.unwrap();
        assert!(out.is_empty() && !d.is_complete());
    }

    #[test]
    fn unknown_encoding_fails_on_data_only() {
        let (out, r, _) = decode(Some("br"), b"", 1);
        assert!(r.is_ok() && out.is_empty());
        let (_, r, d) = decode(Some("br"), b"\x0b\x02", 1);
        let e = r.unwrap_err();
        assert_eq!(
            (e.phase, e.label, e.exit_code()),
            (Phase::Response, Label::BadContentEncoding, 61)
        );
        assert!(
            e.message
                .starts_with("Unrecognized content encoding type \"br\"")
        );
        assert!(!d.is_identity());
        let (_, r, _) = decode(Some("a, b, c, d, e, f"), b"", 1);
        assert!(r.unwrap_err().message.contains("limit of 5"));
    }

    #[test]
    fn corrupt_streams() {
        let data = sample();
        let good = gzip(&data);
        // flipped byte inside the deflate data
        let mut bad_body = good.clone();
        let mid = bad_body.len() / 2;
        bad_body[mid] ^= 0xff;
        // bad CRC in the trailer
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 8] ^= 1;
        let mut bad_len = good.clone();
        bad_len[n - 1] ^= 1;
        let mut bad_method = good.clone();
        bad_method[2] = 7;
        let mut bad_flags = good.clone();
        bad_flags[3] = 0x20;
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"garbage");
        let mut two_members = good.clone();
        two_members.extend_from_slice(&gzip(b"second"));
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            ("gzip", bad_crc, "incorrect data check"),
            ("gzip", bad_len, "incorrect length check"),
            ("gzip", bad_method, "unknown compression method"),
            ("gzip", bad_flags, "unknown header flags"),
            (
                "gzip",
                b"not compressed at all".to_vec(),
                "incorrect header check",
            ),
            ("gzip", trailing, "unexpected data"),
            ("gzip", two_members, "Multi-member"),
            (
                "deflate",
                b"\x78\x9c\xff\xff\xff\xff".to_vec(),
                "unencoding",
            ),
        ];
        for (enc, wire, text) in cases {
            for piece in [1, 4096, wire.len()] {
                let (_, r, mut d) = decode(Some(enc), &wire, piece);
                let e = r.unwrap_err();
                assert_eq!(e.label, Label::BadContentEncoding, "{text}");
                assert!(e.message.contains(text), "{text}: {}", e.message);
                // stays failed
                assert!(d.write(b"x", &mut |_| Ok(())).is_err());
            }
        }
        // flipped byte: an error somewhere (data or CRC), never a panic
        let (_, r, _) = decode(Some("gzip"), &bad_body, 100);
        assert_eq!(r.unwrap_err().label, Label::BadContentEncoding);
    }

    #[test]
    fn truncated_stream_is_not_an_error_but_incomplete() {
        let data = sample();
        let wire = gzip(&data);
        let (out, r, d) = decode(Some("gzip"), &wire[..wire.len() / 2], 1000);
        r.unwrap();
        assert!(!out.is_empty() && out.len() < data.len());
        assert!(data.starts_with(&out));
        assert!(!d.is_complete());
    }

    #[test]
    fn raw_deflate_tolerates_four_trailer_bytes() {
        let mut wire = raw(b"raw deflate with a trailer");
        wire.extend_from_slice(b"1234");
        let (out, r, _) = decode(Some("deflate"), &wire, 3);
        r.unwrap();
        assert_eq!(out, b"raw deflate with a trailer");
        wire.push(b'5');
        let (_, r, _) = decode(Some("deflate"), &wire, 3);
        assert!(r.unwrap_err().message.contains("unexpected data"));
    }

    #[test]
    fn bomb_is_streamed_in_bounded_pieces() {
        // 16 MiB of zeros compress to ~16 KiB; output must arrive in <= OUT_BUF pieces.
        let zeros = vec![0u8; 16 << 20];
        let wire = gzip(&zeros);
        let mut d = ContentDecoder::for_encoding(Some("gzip"));
        let mut total = 0usize;
        let mut biggest = 0usize;
        d.write(&wire, &mut |b| {
            total += b.len();
            biggest = biggest.max(b.len());
            Ok(())
        })
        .unwrap();
        d.finish(&mut |_| Ok(())).unwrap();
        assert_eq!(total, zeros.len());
        assert!(biggest <= OUT_BUF);
    }

    #[test]
    fn write_errors_are_output_errors() {
        let wire = gzip(b"abc");
        let mut d = ContentDecoder::for_encoding(Some("gzip"));
        let e = d
            .write(&wire, &mut |_| Err(std::io::Error::other("broken pipe")))
            .unwrap_err();
        assert_eq!((e.phase, e.label), (Phase::Output, Label::WriteFailed));
    }
}
