//! One HTTP/1.1 exchange on an open connection: write the request, read the head, stream the body.

use crate::error::{Error, Label, Phase, Result};
use crate::event::{Decoded, Event, Tracer};
use crate::http::body::{BodyReader, Framing, framing};
use crate::http::decode::ContentDecoder;
use crate::http::request::{RequestParams, build_request, display_head, head_len};
use crate::http::response::{Limits, ResponseHead, parse_head};
use crate::net::Transport;
use std::io::Write;
use std::time::Instant;

/// Size of each recvfrom: the kernel hands over at most this much per call.
pub const RECV_BUFFER: usize = 256 * 1024;

/// What to do with the response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyUse {
    /// Write it out (decoded if --compressed).
    Output,
    /// Read and drop it (a redirect being followed).
    Discard,
    /// Do not read it at all (-f on an error status: curl stops there).
    Skip,
}

/// The result of one exchange.
#[derive(Debug)]
pub struct Exchange {
    pub head: ResponseHead,
    /// The peer closed its side (recv returned 0): its FIN came first.
    pub peer_closed: bool,
    pub body_bytes: u64,
    pub wire_bytes: u64,
    /// The body was read to its end (false when -f skipped it while more was due).
    pub body_complete: bool,
}

/// Everything one exchange needs besides the connection.
pub struct ExchangeSpec<'a> {
    /// Which hop of a redirect chain this is (0 for the first request).
    pub hop: u32,
    pub request: RequestParams<'a>,
    pub include_headers: bool,
    pub decode: bool,
    pub deadline: Option<Instant>,
    /// Decides, from the final head, what happens to the body.
    pub body_use: &'a dyn Fn(&ResponseHead) -> BodyUse,
}

/// Sends the request and reads the response on `fd`.
pub fn run(
    t: &mut Tracer,
    conn: &mut dyn Transport,
    spec: &ExchangeSpec,
    out: &mut dyn Write,
) -> Result<Exchange> {
    let fd = conn.fd();
    let bytes = build_request(&spec.request)?;
    conn.send_all(t, &bytes, spec.deadline)?;
    let head_bytes = head_len(&bytes);
    let at = t.now_us();
    let (head, head_masked) = display_head(&bytes[..head_bytes]);
    t.emit(Event::RequestWritten {
        at_us: at,
        fd: fd.0,
        head,
        head_masked,
        head_bytes,
        body_bytes: bytes.len() - head_bytes,
    });
    let at = t.now_us();
    t.emit(Event::Phase {
        at_us: at,
        hop: spec.hop,
        phase: Phase::Response,
    });

    let limits = Limits::default();
    let mut buf = vec![0u8; RECV_BUFFER];
    let mut pending: Vec<u8> = Vec::new();
    let mut wire: u64 = 0;
    let mut recv_calls: u64 = 0;
    let mut peer_closed = false;
    let head = loop {
        if let Some((head, used)) = parse_head(&pending, &limits)? {
            if spec.include_headers {
                write_out(out, &pending[..used])?;
            }
            pending.drain(..used);
            if (100..200).contains(&head.status) && head.status != 101 {
                t.emit(Event::Interim {
                    at_us: t.now_us(),
                    status: head.status,
                    reason: head.reason.clone(),
                });
                continue;
            }
            if head.status == 101 {
                return Err(Error::new(
                    Phase::Response,
                    Label::WeirdReply,
                    "server switched protocols (101) without being asked",
                )
                .hint("wtcurl never asks for an Upgrade; the server is misbehaving"));
            }
            let fr = framing(spec.request.method, &head)?;
            let (name, cl) = match fr {
                Framing::NoBody => ("none", None),
                Framing::ContentLength(n) => ("content-length", Some(n)),
                Framing::Chunked => ("chunked", None),
                Framing::Close => ("close", None),
            };
            t.emit(Event::ResponseHead {
                at_us: t.now_us(),
                version: head.version.clone(),
                status: head.status,
                reason: head.reason.clone(),
                headers: head.headers.clone(),
                head_bytes: used,
                framing: name.into(),
                content_length: cl,
                encoding: head.header("content-encoding").map(str::to_string),
            });
            break (head, fr);
        }
        if peer_closed {
            // Nothing of a final response arrived (perhaps only 1xx heads): curl calls that empty.
            return Err(if pending.is_empty() {
                Error::new(Phase::Response, Label::EmptyReply, "Empty reply from server")
                    .hint("the server closed the connection without sending a final response: is it really HTTP on that port?")
            } else {
                Error::new(
                    Phase::Response,
                    Label::WeirdReply,
                    format!(
                        "connection closed after {wire} bytes, in the middle of the response head"
                    ),
                )
                .hint("the server sent an incomplete HTTP head")
            });
        }
        let n = conn.recv(t, &mut buf, spec.deadline, wire)?;
        recv_calls += 1;
        if n == 0 {
            peer_closed = true;
            continue;
        }
        if wire == 0 {
            t.emit(Event::FirstByte { at_us: t.now_us() });
        }
        wire += n as u64;
        pending.extend_from_slice(&buf[..n]);
    };
    let (head, fr) = head;
    let body_use = (spec.body_use)(&head);
    if body_use == BodyUse::Skip {
        // Whether the part already received holds the whole body: only then is nothing more due.
        let body_complete = match fr {
            Framing::NoBody => true,
            Framing::ContentLength(n) => pending.len() as u64 >= n,
            Framing::Chunked | Framing::Close => peer_closed,
        };
        return Ok(Exchange {
            head,
            peer_closed,
            body_bytes: 0,
            wire_bytes: wire,
            body_complete,
        });
    }

    let mut reader = BodyReader::new(fr);
    let mut decoder = ContentDecoder::for_encoding(if spec.decode {
        head.header("content-encoding")
    } else {
        None
    });
    let wire_at_body = wire - pending.len() as u64;
    // What came out of the content decoding (the body itself when nothing is decoded).
    let mut delivered: u64 = 0;
    let mut sink = |data: &[u8]| -> std::io::Result<()> {
        delivered += data.len() as u64;
        match body_use {
            BodyUse::Output => out.write_all(data),
            _ => Ok(()),
        }
    };
    if !pending.is_empty() {
        feed_body(&mut reader, &mut decoder, &pending, &mut sink)?;
    }
    while !reader.is_done() {
        let n = conn.recv(t, &mut buf, spec.deadline, wire)?;
        recv_calls += 1;
        if n == 0 {
            peer_closed = true;
            reader.on_eof()?;
            break;
        }
        wire += n as u64;
        feed_body(&mut reader, &mut decoder, &buf[..n], &mut sink)?;
    }
    decoder.finish(&mut sink)?;
    if body_use == BodyUse::Output {
        // curl -i writes chunked trailers after the body, as header lines.
        if spec.include_headers {
            for (name, value) in reader.trailers() {
                write_out(out, format!("{name}: {value}\r\n").as_bytes())?;
            }
        }
        out.flush().map_err(write_error)?;
    }
    let decoded = (!decoder.is_identity()).then(|| Decoded {
        encoding: decoder.encodings().join(", "),
        bytes: delivered,
    });
    t.emit(Event::BodyDone {
        at_us: t.now_us(),
        wire_bytes: wire - wire_at_body,
        body_bytes: reader.body_bytes(),
        recv_calls,
        chunks: reader.chunks(),
        trailers: reader.trailers().to_vec(),
        decoded,
        written: body_use == BodyUse::Output,
    });
    Ok(Exchange {
        head,
        peer_closed,
        body_bytes: reader.body_bytes(),
        wire_bytes: wire,
        body_complete: true,
    })
}

fn write_out(out: &mut dyn Write, data: &[u8]) -> Result<()> {
    out.write_all(data).map_err(write_error)
}

fn write_error(e: std::io::Error) -> Error {
    Error::new(
        Phase::Output,
        Label::WriteFailed,
        format!("Failure writing output: {e}"),
    )
    .hint("check the output file's directory, free space and permissions")
}

/// Wire bytes -> framing -> content decoding -> sink. A decoding error keeps its own label even though
/// it travels through the body reader's io::Error channel.
fn feed_body(
    reader: &mut BodyReader,
    decoder: &mut ContentDecoder,
    data: &[u8],
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<usize> {
    let mut decode_error: Option<Error> = None;
    let fed = reader.feed(data, &mut |piece: &[u8]| {
        decoder.write(piece, sink).map_err(|e| {
            let io = std::io::Error::other(e.message.clone());
            decode_error = Some(e);
            io
        })
    });
    match decode_error {
        Some(e) => Err(e),
        None => fed,
    }
}
