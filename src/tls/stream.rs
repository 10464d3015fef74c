//! The TLS connection once the handshake is done, as a [`Transport`] for the HTTP exchange, and the
//! byte pumps between rustls and the recorded socket that the handshake uses too.

use super::errors;
use super::trace::{Dir, WireTracer};
use super::{TlsSummary, tls_err};
use crate::error::{Error, Label, Phase, Result};
use crate::event::{Event, Tracer};
use crate::net::{self, Transport, remaining_ms};
use crate::sys::{self, Fd, Interest};
use nix::errno::Errno;
use rustls::ClientConnection;
use std::io::{Read, Write};
use std::time::Instant;

/// An established TLS connection over a socket the caller owns (dropping it does not close the fd).
pub struct TlsStream {
    pub(super) conn: ClientConnection,
    pub(super) fd: Fd,
    pub(super) wire: WireTracer,
    pub(super) rbuf: Vec<u8>,
    /// Received bytes (already traced) rustls has not taken yet.
    pub(super) pending: Vec<u8>,
    pub(super) eof: bool,
    pub(super) clean_close: bool,
    pub(super) summary: TlsSummary,
}

/// One recvfrom: a full TLS record and its header.
pub(super) const READ_CHUNK: usize = 16 * 1024 + 5 + 256;

/// Sends everything rustls has to send, then traces the records that went out.
pub(super) fn flush(
    t: &mut Tracer,
    conn: &mut ClientConnection,
    wire: &mut WireTracer,
    fd: Fd,
    deadline: Option<Instant>,
) -> Result<usize> {
    let mut total = 0;
    while conn.wants_write() {
        let mut out = Vec::new();
        if conn.write_tls(&mut out).is_err() || out.is_empty() {
            break;
        }
        let mut rest = &out[..];
        while !rest.is_empty() {
            match sys::sendto(t, fd, rest, None) {
                Ok(n) => rest = &rest[n..],
                Err(Errno::EAGAIN) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(tls_err(
                            Label::Timeout,
                            "Operation timed out while sending TLS records".into(),
                            "raise --connect-timeout / -m",
                        ));
                    }
                    let _ = sys::poll(t, &[(fd, Interest::Writable)], remaining_ms(deadline));
                }
                Err(Errno::EINTR) => {}
                Err(e) => {
                    return Err(errors::peer_closed(
                        &format!("refused more data (sendto: {e:?})"),
                        wire.received_bytes,
                        "while wtcurl was sending",
                    ));
                }
            }
        }
        total += out.len();
        let suite = conn.negotiated_cipher_suite().and_then(|s| s.tls13());
        wire.on_bytes(t, Dir::Sent, &out, suite);
    }
    Ok(total)
}

/// Feeds received bytes to rustls, as many as it takes now (it refuses more while its plaintext
/// buffer is full); the rest stays in `pending`. Returns rustls' verdict.
pub(super) fn feed(
    conn: &mut ClientConnection,
    pending: &mut Vec<u8>,
) -> std::result::Result<(), rustls::Error> {
    let mut refused = false;
    while !pending.is_empty() {
        let mut slice = &pending[..];
        match conn.read_tls(&mut slice) {
            // close_notify was received: nothing after it is read.
            Ok(0) => pending.clear(),
            Ok(n) => {
                pending.drain(..n);
                refused = false;
            }
            Err(_) if refused => break,
            Err(_) => refused = true,
        }
        conn.process_new_packets()?;
    }
    conn.process_new_packets().map(|_| ())
}

/// More than this many received bytes waiting for rustls means something is wrong.
pub(super) const MAX_PENDING: usize = 1 << 20;

impl TlsStream {
    /// What was negotiated.
    pub fn summary(&self) -> &TlsSummary {
        &self.summary
    }

    /// The server ended with close_notify (true) rather than a bare TCP close (false); meaningful
    /// once `recv` returned 0.
    pub fn closed_cleanly(&self) -> bool {
        self.clean_close
    }

    /// NewSessionTicket messages seen so far (TLS 1.3 tickets arrive after the handshake).
    pub fn session_tickets(&self) -> u32 {
        self.wire.tickets.max(self.conn.tls13_tickets_received())
    }

    /// Sends a close_notify alert, as curl does before closing.
    pub fn close_notify(&mut self, t: &mut Tracer) -> Result<()> {
        self.conn.send_close_notify();
        let r = flush(t, &mut self.conn, &mut self.wire, self.fd, None);
        if r.is_ok() && !self.wire.close_notify_seen(Dir::Sent) {
            // Encrypted beyond what the tracer opens: this is the alert wtcurl asked rustls to send.
            let at_us = t.now_us();
            t.emit(Event::TlsAlert {
                at_us,
                direction: "sent".into(),
                level: "warning".into(),
                description: "close_notify".into(),
            });
        }
        r.map(|_| ())
    }
}

impl Transport for TlsStream {
    fn fd(&self) -> Fd {
        self.fd
    }

    fn send_all(
        &mut self,
        t: &mut Tracer,
        mut data: &[u8],
        deadline: Option<Instant>,
    ) -> Result<()> {
        while !data.is_empty() {
            let n = self.conn.writer().write(data).map_err(|e| {
                Error::new(
                    Phase::Request,
                    Label::SendFailed,
                    format!("TLS write failed: {e}"),
                )
            })?;
            data = &data[n..];
            let sent =
                flush(t, &mut self.conn, &mut self.wire, self.fd, deadline).map_err(|mut e| {
                    e.phase = Phase::Request;
                    if e.label != Label::Timeout {
                        e.label = Label::SendFailed;
                    }
                    e
                })?;
            if n == 0 && sent == 0 {
                return Err(Error::new(
                    Phase::Request,
                    Label::SendFailed,
                    "rustls accepted no more data".to_owned(),
                ));
            }
        }
        Ok(())
    }

    fn recv(
        &mut self,
        t: &mut Tracer,
        buf: &mut [u8],
        deadline: Option<Instant>,
        received: u64,
    ) -> Result<usize> {
        loop {
            match self.conn.reader().read(buf) {
                Ok(0) if !buf.is_empty() => {
                    if !self.clean_close && !self.wire.close_notify_seen(Dir::Received) {
                        let at_us = t.now_us();
                        t.emit(Event::TlsAlert {
                            at_us,
                            direction: "received".into(),
                            level: "warning".into(),
                            description: "close_notify".into(),
                        });
                    }
                    self.clean_close = true;
                    return Ok(0);
                }
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                // The TCP connection ended without close_notify: rustls calls it UnexpectedEof.
                Err(_) => return Ok(0),
            }
            if !self.pending.is_empty() {
                let before = self.pending.len();
                let r = feed(&mut self.conn, &mut self.pending);
                self.after_feed(t, r, deadline)?;
                if self.pending.len() < before {
                    continue;
                }
            }
            if self.eof {
                return Ok(0);
            }
            let n = net::recv(t, self.fd, &mut self.rbuf, deadline, received)?;
            if n == 0 {
                self.eof = true;
                // Tell rustls the transport ended (read_tls of nothing records the EOF).
                let _ = self.conn.read_tls(&mut &[][..]);
                let r = self.conn.process_new_packets().map(|_| ());
                self.after_feed(t, r, deadline)?;
                continue;
            }
            self.pending.extend_from_slice(&self.rbuf[..n]);
            let r = feed(&mut self.conn, &mut self.pending);
            let suite = self.conn.negotiated_cipher_suite().and_then(|s| s.tls13());
            self.wire.on_bytes(t, Dir::Received, &self.rbuf[..n], suite);
            self.after_feed(t, r, deadline)?;
        }
    }
}

impl TlsStream {
    /// Sends what rustls wants to send after reading (a KeyUpdate answer, an alert) and maps an error.
    fn after_feed(
        &mut self,
        t: &mut Tracer,
        r: std::result::Result<(), rustls::Error>,
        deadline: Option<Instant>,
    ) -> Result<()> {
        let _ = flush(t, &mut self.conn, &mut self.wire, self.fd, deadline);
        r.map_err(|e| {
            Error::new(Phase::Response, Label::RecvFailed, format!("TLS error while receiving: {e}"))
                .hint("the server sent something rustls rejects after the handshake (a bad record or a fatal alert)")
        })
    }
}
