//! The TLS record layer as bytes: cutting a byte stream into records (5-byte headers), reassembling
//! handshake messages that span records, and a bounds-checked reader for the message decoders.
//!
//! Nothing here trusts its input: every length is checked, nothing panics, and memory is bounded
//! (a record payload is kept only when asked, and handshake reassembly stops at [`MAX_MESSAGE`]).

/// The largest record payload TLS allows (2^14 plaintext + 2048 expansion, RFC 5246 6.2.3).
pub const MAX_RECORD: usize = 16384 + 2048;

/// The largest handshake message wtcurl reassembles (certificate chains are well below this).
pub const MAX_MESSAGE: usize = 256 * 1024;

/// A bounds-checked cursor over a byte slice. Every read returns `None` past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn left(&self) -> usize {
        self.buf.len() - self.pos
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| (usize::from(b[0]) << 16) | (usize::from(b[1]) << 8) | usize::from(b[2]))
    }
    pub fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// A vector with a 1-byte length prefix.
    pub fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.take(usize::from(n))
    }
    /// A vector with a 2-byte length prefix.
    pub fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }
    /// A vector with a 3-byte length prefix.
    pub fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.take(n)
    }
    /// The rest of the buffer as big-endian u16s (a trailing odd byte is ignored).
    pub fn u16_list(&mut self) -> Vec<u16> {
        let mut out = Vec::new();
        while let Some(v) = self.u16() {
            out.push(v);
        }
        out
    }
}

/// A decoded record header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub length: usize,
}

/// What the splitter found in the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    /// One complete record; `payload` is present when the caller asked to keep it.
    Record {
        header: RecordHeader,
        payload: Option<Vec<u8>>,
    },
    /// The bytes do not start a TLS record: the first bytes seen (at most 64) are returned and the
    /// splitter stops (nothing after them can be trusted to be TLS).
    NotTls(Vec<u8>),
}

/// Cuts a byte stream into TLS records, across arbitrary chunk boundaries.
#[derive(Default)]
pub struct RecordSplitter {
    header: Vec<u8>,
    current: Option<(RecordHeader, usize, Option<Vec<u8>>)>,
    dead: bool,
}

/// Whether five bytes are a plausible TLS record header.
fn plausible(h: &RecordHeader) -> bool {
    (20..=24).contains(&h.content_type) && (h.version >> 8) == 0x03 && h.length <= MAX_RECORD
}

impl RecordSplitter {
    /// The splitter met non-TLS bytes and ignores everything from then on.
    pub fn is_dead(&self) -> bool {
        self.dead
    }

    /// Bytes of the record in progress still to come (0 between records).
    pub fn in_progress(&self) -> bool {
        !self.header.is_empty() || self.current.is_some()
    }

    /// Feeds bytes; completed records are appended to `out`. `keep` decides, from the header, whether
    /// the payload is kept (it is at most [`MAX_RECORD`] bytes).
    pub fn push(
        &mut self,
        mut bytes: &[u8],
        keep: &mut dyn FnMut(&RecordHeader) -> bool,
        out: &mut Vec<Piece>,
    ) {
        while !bytes.is_empty() && !self.dead {
            if let Some((header, left, payload)) = self.current.as_mut() {
                let n = (*left).min(bytes.len());
                if let Some(p) = payload.as_mut() {
                    p.extend_from_slice(&bytes[..n]);
                }
                *left -= n;
                bytes = &bytes[n..];
                if *left == 0 {
                    let header = *header;
                    let payload = payload.take();
                    self.current = None;
                    out.push(Piece::Record { header, payload });
                }
                continue;
            }
            let need = 5 - self.header.len();
            let n = need.min(bytes.len());
            self.header.extend_from_slice(&bytes[..n]);
            bytes = &bytes[n..];
            if self.header.len() < 5 {
                // A short non-TLS answer ("HTTP/1.0 400\r\n" is longer than 5, but "no\n" is not)
                // is only recognised once five bytes are in.
                continue;
            }
            let h = &self.header;
            let header = RecordHeader {
                content_type: h[0],
                version: u16::from_be_bytes([h[1], h[2]]),
                length: usize::from(u16::from_be_bytes([h[3], h[4]])),
            };
            if !plausible(&header) {
                let mut first = std::mem::take(&mut self.header);
                first.extend_from_slice(&bytes[..bytes.len().min(59)]);
                self.dead = true;
                out.push(Piece::NotTls(first));
                return;
            }
            self.header.clear();
            let payload = keep(&header).then(|| Vec::with_capacity(header.length));
            if header.length == 0 {
                out.push(Piece::Record { header, payload });
            } else {
                self.current = Some((header, header.length, payload));
            }
        }
    }
}

/// Reassembles handshake messages (4-byte header: type, 24-bit length) from record payloads.
#[derive(Default)]
pub struct Reassembler {
    buf: Vec<u8>,
    overflow: bool,
}

/// One complete handshake message: its type and body (header not included).
#[derive(Debug, PartialEq, Eq)]
pub struct HandshakeMessage {
    pub msg_type: u8,
    pub body: Vec<u8>,
}

impl Reassembler {
    /// Adds a record payload; returns the messages it completes. A message larger than
    /// [`MAX_MESSAGE`] stops reassembly for good (returns nothing more).
    pub fn push(&mut self, payload: &[u8]) -> Vec<HandshakeMessage> {
        let mut out = Vec::new();
        if self.overflow {
            return out;
        }
        self.buf.extend_from_slice(payload);
        loop {
            let mut r = Reader::new(&self.buf);
            let (Some(msg_type), Some(len)) = (r.u8(), r.u24()) else {
                break;
            };
            if len > MAX_MESSAGE {
                self.overflow = true;
                self.buf = Vec::new();
                break;
            }
            let Some(body) = r.take(len) else { break };
            out.push(HandshakeMessage {
                msg_type,
                body: body.to_vec(),
            });
            self.buf.drain(..4 + len);
        }
        out
    }

    /// Part of a message is waiting for its next record.
    pub fn pending(&self) -> bool {
        !self.buf.is_empty()
    }
}

/// An alert record payload: (level, description).
pub fn alert(payload: &[u8]) -> Option<(u8, u8)> {
    match payload {
        [level, desc] => Some((*level, *desc)),
        _ => None,
    }
}

/// Lowercase hex of a byte string.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_all(chunks: &[&[u8]]) -> Vec<Piece> {
        let mut s = RecordSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.push(c, &mut |_| true, &mut out);
        }
        out
    }

    #[test]
    fn records_split_across_arbitrary_chunks() {
        // An alert record (21, TLS 1.2, len 2: fatal handshake_failure) then a CCS record (20, len 1).
        let bytes = [
            0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28, 0x14, 0x03, 0x03, 0x00, 0x01, 0x01,
        ];
        let whole = split_all(&[&bytes]);
        let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
        assert_eq!(whole, split_all(&bytewise));
        assert_eq!(
            whole,
            vec![
                Piece::Record {
                    header: RecordHeader {
                        content_type: 21,
                        version: 0x0303,
                        length: 2
                    },
                    payload: Some(vec![2, 40])
                },
                Piece::Record {
                    header: RecordHeader {
                        content_type: 20,
                        version: 0x0303,
                        length: 1
                    },
                    payload: Some(vec![1])
                },
            ]
        );
        assert_eq!(alert(&[2, 40]), Some((2, 40)));
        assert_eq!(alert(&[2]), None);
    }

    #[test]
    fn plain_http_is_recognised_as_not_tls() {
        let out = split_all(&[b"HTTP/1.1 400 Bad Request\r\n\r\n"]);
        match &out[..] {
            [Piece::NotTls(first)] => assert!(first.starts_with(b"HTTP/1.1 400")),
            other => panic!("{other:?}"),
        }
        // A header claiming more than TLS allows is not TLS either.
        let out = split_all(&[&[0x16, 0x03, 0x01, 0xff, 0xff]]);
        assert!(matches!(&out[..], [Piece::NotTls(_)]));
    }

    #[test]
    fn payload_is_dropped_unless_kept() {
        let mut s = RecordSplitter::default();
        let mut out = Vec::new();
        s.push(
            &[0x17, 0x03, 0x03, 0x00, 0x03, 1, 2, 3],
            &mut |_| false,
            &mut out,
        );
        assert!(matches!(&out[..], [Piece::Record { payload: None, .. }]));
        assert!(!s.in_progress());
    }

    #[test]
    fn handshake_messages_reassemble_across_records_and_cap() {
        let mut r = Reassembler::default();
        // ServerHelloDone (14, len 0) split in two, then two messages in one payload.
        assert!(r.push(&[14, 0]).is_empty());
        assert!(r.pending());
        let m = r.push(&[0, 0, 20, 0, 0, 2, 0xaa, 0xbb, 11]);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].msg_type, 14);
        assert_eq!(m[1].body, vec![0xaa, 0xbb]);
        assert!(r.pending());
        // A 16 MiB message is refused, and reassembly stops.
        let mut r = Reassembler::default();
        assert!(r.push(&[11, 0xff, 0xff, 0xff, 0]).is_empty());
        assert!(r.push(&[14, 0, 0, 0]).is_empty());
    }

    #[test]
    fn reader_never_reads_past_the_end() {
        let mut r = Reader::new(&[0, 5, 1]);
        assert_eq!(r.vec16(), None);
        let mut r = Reader::new(&[0xff]);
        assert_eq!(r.u16(), None);
        assert_eq!(r.u8(), Some(0xff));
        assert_eq!(r.u8(), None);
        assert_eq!(Reader::new(&[0, 1, 0, 2, 9]).u16_list(), vec![1, 2]);
    }
}
