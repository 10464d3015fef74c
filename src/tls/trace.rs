//! Watching the TLS bytes go by: every record wtcurl sends or receives is cut out of the byte
//! stream and reported, plaintext handshake messages are decoded, and TLS 1.3's encrypted handshake
//! is opened with the traffic secrets rustls logged, so what the trace says was read, not guessed.
//!
//! After the handshake only the first [`POST_HANDSHAKE_RECORDS`] records per direction are traced
//! (and opened, to find NewSessionTicket and alerts); after that the tracer stops looking.

use super::errors;
use super::keys::{self, SecretLog, Tls13Opener};
use super::messages::{self, ServerHelloFacts};
use super::names;
use super::verify::{self, SharedRecord};
use super::wire::{self, Piece, Reassembler, RecordHeader, RecordSplitter};
use crate::event::{Event, Tracer};
use rustls::Tls13CipherSuite;
use serde_json::{Value, json};
use std::sync::Arc;

/// Read off the wire, in plaintext.
pub const SOURCE_WIRE: &str = "read from the record";
/// Read from a TLS 1.3 record wtcurl decrypted itself.
pub const SOURCE_DECRYPTED: &str = "decrypted by wtcurl with the traffic secret rustls logged (as Wireshark does with SSLKEYLOGFILE)";
/// Not readable on the wire; what rustls reports after decrypting and checking it.
pub const SOURCE_RUSTLS: &str = "from rustls after decryption";
/// TLS 1.2 Finished: the encrypted handshake record right after ChangeCipherSpec.
pub const SOURCE_POSITION: &str = "inferred: the encrypted handshake record right after ChangeCipherSpec is Finished (RFC 5246 7.4.9)";

/// Records traced per direction once the handshake is done.
pub const POST_HANDSHAKE_RECORDS: u32 = 8;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    Sent,
    Received,
}

impl Dir {
    pub fn name(self) -> &'static str {
        match self {
            Dir::Sent => "sent",
            Dir::Received => "received",
        }
    }
    fn idx(self) -> usize {
        match self {
            Dir::Sent => 0,
            Dir::Received => 1,
        }
    }
}

/// Which TLS 1.3 secret protects a direction's encrypted records right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Keys {
    Plain,
    Handshake,
    Application,
    /// Cannot be opened (decryption failed, or a KeyUpdate changed the key).
    Opaque,
}

struct Side {
    splitter: RecordSplitter,
    plain: Reassembler,
    decrypted: Reassembler,
    keys: Keys,
    opener: Option<Tls13Opener>,
    /// TLS 1.2: ChangeCipherSpec seen, records after it are encrypted.
    ccs: bool,
    finished12: bool,
    post_records: u32,
    quiet: bool,
    close_notify: bool,
    alert: bool,
}

impl Default for Side {
    fn default() -> Self {
        Side {
            splitter: RecordSplitter::default(),
            plain: Reassembler::default(),
            decrypted: Reassembler::default(),
            keys: Keys::Plain,
            opener: None,
            ccs: false,
            finished12: false,
            post_records: 0,
            quiet: false,
            close_notify: false,
            alert: false,
        }
    }
}

/// The per-connection wire tracer.
pub struct WireTracer {
    sides: [Side; 2],
    secrets: Arc<SecretLog>,
    record: SharedRecord,
    insecure: bool,
    /// For explaining a failed verification in `tls_verified`.
    pub cx: errors::Context,
    pub server_hello: Option<ServerHelloFacts>,
    pub handshake_done: bool,
    /// The first bytes of a non-TLS answer.
    pub not_tls: Option<Vec<u8>>,
    /// NewSessionTicket messages seen (TLS 1.2 on the wire, TLS 1.3 decrypted).
    pub tickets: u32,
    pub received_bytes: u64,
    /// (direction, message name) for every handshake message reported.
    pub seen: Vec<(Dir, String)>,
}

impl WireTracer {
    pub fn new(
        secrets: Arc<SecretLog>,
        record: SharedRecord,
        insecure: bool,
        cx: errors::Context,
    ) -> Self {
        WireTracer {
            sides: Default::default(),
            secrets,
            record,
            insecure,
            cx,
            server_hello: None,
            handshake_done: false,
            not_tls: None,
            tickets: 0,
            received_bytes: 0,
            seen: Vec::new(),
        }
    }

    fn tls13(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|f| !f.is_hrr && f.version == 0x0304)
    }

    fn tls12(&self) -> bool {
        self.server_hello
            .as_ref()
            .is_some_and(|f| !f.is_hrr && f.version == 0x0303)
    }

    /// The handshake finished: from now on only a few records are traced.
    pub fn mark_done(&mut self) {
        self.handshake_done = true;
    }

    /// A close_notify alert in `dir` was decoded from the wire.
    pub fn close_notify_seen(&self, dir: Dir) -> bool {
        self.sides[dir.idx()].close_notify
    }

    /// Any alert in `dir` was decoded from the wire.
    pub fn alert_seen(&self, dir: Dir) -> bool {
        self.sides[dir.idx()].alert
    }

    pub fn has_seen(&self, dir: Dir, name: &str) -> bool {
        self.seen.iter().any(|(d, n)| *d == dir && n == name)
    }

    /// Traces bytes that went over the socket. `suite` is the negotiated suite (rustls knows it once
    /// the ServerHello is processed; the bytes are traced after rustls has processed them).
    pub fn on_bytes(
        &mut self,
        t: &mut Tracer,
        dir: Dir,
        bytes: &[u8],
        suite: Option<&'static Tls13CipherSuite>,
    ) {
        if dir == Dir::Received {
            self.received_bytes += bytes.len() as u64;
        }
        let side = &mut self.sides[dir.idx()];
        if side.quiet || side.splitter.is_dead() {
            return;
        }
        let mut pieces = Vec::new();
        side.splitter
            .push(bytes, &mut |_h: &RecordHeader| true, &mut pieces);
        for p in pieces {
            match p {
                Piece::NotTls(first) => {
                    if dir == Dir::Received && self.not_tls.is_none() {
                        self.not_tls = Some(first);
                    }
                }
                Piece::Record { header, payload } => {
                    self.record(t, dir, header, payload.unwrap_or_default(), suite)
                }
            }
        }
        self.emit_verification(t);
    }

    fn record(
        &mut self,
        t: &mut Tracer,
        dir: Dir,
        h: RecordHeader,
        payload: Vec<u8>,
        suite: Option<&'static Tls13CipherSuite>,
    ) {
        let tls12 = self.tls12();
        let done = self.handshake_done;
        let side = &mut self.sides[dir.idx()];
        let encrypted = h.content_type == 23 || (tls12 && side.ccs && h.content_type != 20);
        if done {
            side.post_records += 1;
            if side.post_records > POST_HANDSHAKE_RECORDS {
                side.quiet = true;
                return;
            }
        }
        let at_us = t.now_us();
        t.emit(Event::TlsRecord {
            at_us,
            direction: dir.name().into(),
            content_type: names::content_type(h.content_type),
            version: names::version(h.version),
            length: h.length,
            encrypted,
        });
        if !encrypted {
            match h.content_type {
                22 => {
                    let msgs = self.sides[dir.idx()].plain.push(&payload);
                    for m in msgs {
                        self.message(t, dir, m.msg_type, &m.body, false, SOURCE_WIRE);
                    }
                }
                20 => self.ccs(t, dir, &payload),
                21 => self.alert(t, dir, &payload),
                _ => {}
            }
            return;
        }
        if self.tls13() {
            self.open13(t, dir, &payload, suite);
        } else if tls12 && h.content_type == 22 && !self.sides[dir.idx()].finished12 {
            self.sides[dir.idx()].finished12 = true;
            self.emit_message(
                t,
                dir,
                "Finished",
                12,
                true,
                SOURCE_POSITION,
                json!({"verify_data_length": 12, "record_length": h.length}),
            );
        }
    }

    fn open13(
        &mut self,
        t: &mut Tracer,
        dir: Dir,
        payload: &[u8],
        suite: Option<&'static Tls13CipherSuite>,
    ) {
        let side = &mut self.sides[dir.idx()];
        if side.opener.is_none() {
            let label = match (dir, side.keys) {
                (Dir::Sent, Keys::Handshake) => keys::CLIENT_HANDSHAKE,
                (Dir::Received, Keys::Handshake) => keys::SERVER_HANDSHAKE,
                (Dir::Sent, Keys::Application) => keys::CLIENT_TRAFFIC_0,
                (Dir::Received, Keys::Application) => keys::SERVER_TRAFFIC_0,
                _ => return,
            };
            side.opener = match (suite, self.secrets.get(label)) {
                (Some(s), Some(secret)) => Tls13Opener::new(s, &secret),
                _ => None,
            };
            if side.opener.is_none() {
                side.keys = Keys::Opaque;
                return;
            }
        }
        let Some(opened) = side.opener.as_mut().and_then(|o| o.open(payload)) else {
            side.keys = Keys::Opaque;
            side.opener = None;
            return;
        };
        match opened {
            (22, plain) => {
                let msgs = side.decrypted.push(&plain);
                for m in msgs {
                    self.message(t, dir, m.msg_type, &m.body, true, SOURCE_DECRYPTED);
                }
            }
            (21, plain) => self.alert(t, dir, &plain),
            _ => {}
        }
    }

    fn ccs(&mut self, t: &mut Tracer, dir: Dir, payload: &[u8]) {
        let tls12 = self.tls12();
        let detail = if tls12 {
            self.sides[dir.idx()].ccs = true;
            json!({"note": "from here on this side's records are encrypted"})
        } else {
            json!({"note": "TLS 1.3 middlebox compatibility (RFC 8446 D.4): sent to look like TLS 1.2, ignored by the peer"})
        };
        self.emit_message(
            t,
            dir,
            "ChangeCipherSpec",
            payload.len(),
            false,
            SOURCE_WIRE,
            detail,
        );
    }

    fn alert(&mut self, t: &mut Tracer, dir: Dir, payload: &[u8]) {
        let Some((level, desc)) = wire::alert(payload) else {
            return;
        };
        let side = &mut self.sides[dir.idx()];
        side.alert = true;
        if desc == 0 {
            side.close_notify = true;
        }
        let at_us = t.now_us();
        t.emit(Event::TlsAlert {
            at_us,
            direction: dir.name().into(),
            level: names::alert_level(level),
            description: names::alert_description(desc),
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn emit_message(
        &mut self,
        t: &mut Tracer,
        dir: Dir,
        name: &str,
        length: usize,
        encrypted: bool,
        source: &str,
        detail: Value,
    ) {
        self.seen.push((dir, name.to_owned()));
        let at_us = t.now_us();
        t.emit(Event::TlsMessage {
            at_us,
            direction: dir.name().into(),
            name: name.into(),
            length,
            encrypted,
            source: source.into(),
            detail,
        });
    }

    fn message(
        &mut self,
        t: &mut Tracer,
        dir: Dir,
        ty: u8,
        body: &[u8],
        encrypted: bool,
        source: &str,
    ) {
        let tls13 = self.tls13();
        let mut name = names::handshake_type(ty);
        let detail = messages::detail(ty, body, tls13);
        match (dir, ty) {
            (Dir::Received, 2) => {
                if let Some((facts, _)) = messages::server_hello(body) {
                    if facts.is_hrr {
                        name = "HelloRetryRequest".into();
                    } else {
                        self.cx.server_version = Some(facts.version);
                        if facts.version == 0x0304 {
                            self.sides[0].keys = Keys::Handshake;
                            self.sides[1].keys = Keys::Handshake;
                        }
                    }
                    self.server_hello = Some(facts);
                }
            }
            (_, 20) if encrypted => {
                let side = &mut self.sides[dir.idx()];
                if side.keys == Keys::Handshake {
                    side.keys = Keys::Application;
                    side.opener = None;
                }
            }
            (_, 4) => self.tickets += 1,
            (_, 24) => self.sides[dir.idx()].keys = Keys::Opaque,
            _ => {}
        }
        self.emit_message(t, dir, &name, body.len(), encrypted, source, detail);
        if dir == Dir::Received && ty == 11 {
            self.emit_verification(t);
        }
    }

    /// Emits the chain and the verdict once rustls has verified (or rejected) the certificate.
    pub fn emit_verification(&mut self, t: &mut Tracer) {
        let (result, chain) = {
            let r = verify::lock(&self.record);
            if r.emitted {
                return;
            }
            (r.result.clone(), r.chain.clone())
        };
        let problem = match result {
            None => return,
            Some(Ok(())) => None,
            Some(Err(rustls::Error::InvalidCertificate(ce))) => {
                let mut cx = self.cx.clone();
                cx.chain = chain;
                Some(errors::cert_problem(&ce, &cx).1)
            }
            Some(Err(e)) => Some(e.to_string()),
        };
        verify::emit(t, &self.record, &self.cx.host, self.insecure, problem);
    }

    /// After a TLS 1.3 handshake: the encrypted messages that could not be opened are reported
    /// from what rustls knows, and only that (their sizes are not known, so `length` is 0 and the
    /// detail says `length_known: false`).
    pub fn infer_tls13(
        &mut self,
        t: &mut Tracer,
        alpn: Option<String>,
        peer_certs: Option<Vec<usize>>,
    ) {
        if !self.tls13() {
            return;
        }
        let r = Dir::Received;
        let unknown = |mut d: Value, why: &str| {
            d["length_known"] = json!(false);
            d["inferred"] = json!(why);
            d
        };
        if !self.has_seen(r, "EncryptedExtensions") {
            let d = unknown(
                json!({"alpn": alpn}),
                "rustls reports the ALPN protocol the server chose, which TLS 1.3 carries in EncryptedExtensions",
            );
            self.emit_message(t, r, "EncryptedExtensions", 0, true, SOURCE_RUSTLS, d);
        }
        if !self.has_seen(r, "Certificate") {
            let sizes = peer_certs.unwrap_or_default();
            let d = unknown(
                json!({"certificates": sizes.len(), "sizes": sizes}),
                "rustls hands over the certificate chain it received",
            );
            self.emit_message(t, r, "Certificate", 0, true, SOURCE_RUSTLS, d);
        }
        for name in ["CertificateVerify", "Finished"] {
            if !self.has_seen(r, name) {
                let d = unknown(
                    json!({"verified": true}),
                    "the handshake completed, so rustls checked it",
                );
                self.emit_message(t, r, name, 0, true, SOURCE_RUSTLS, d);
            }
        }
        if !self.has_seen(Dir::Sent, "Finished") {
            let d = unknown(
                json!({}),
                "the handshake completed, so rustls sent its Finished",
            );
            self.emit_message(t, Dir::Sent, "Finished", 0, true, SOURCE_RUSTLS, d);
        }
    }
}
