//! TLS done step by step: rustls driven over wtcurl's own recorded socket, every flight decoded and explained.
//!
//! [`handshake`] runs rustls' client over an already-connected non-blocking socket: every byte goes
//! through [`crate::sys`] (so every sendto/recvfrom/poll is in the trace), every record is reported,
//! the handshake messages are decoded from the bytes (TLS 1.3's encrypted ones are opened with the
//! secrets rustls logs), the certificate chain and its verification are explained, and a failure is
//! mapped to curl's exit code with the proof in the message. [`TlsStream`] then carries the HTTP
//! exchange as a [`crate::net::Transport`].

pub mod cert;
pub mod errors;
pub mod keys;
pub mod messages;
pub mod names;
mod stream;
pub mod trace;
pub mod trust;
pub mod verify;
pub mod wire;

use crate::error::{Error, Label, Phase, Result};
use crate::event::{Event, Tracer};
use crate::net::remaining_ms;
use crate::sys::{self, Fd, Interest};
use nix::errno::Errno;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
pub use stream::TlsStream;
use stream::{MAX_PENDING, READ_CHUNK, feed, flush};
use trace::{Dir, WireTracer};

/// A TLS protocol version, as curl's --tls-max names them. wtcurl (rustls) speaks 1.2 and 1.3
/// only: 1.0 and 1.1 exist so that `--tls-max 1.1` is accepted as in curl and then leaves nothing
/// to offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
}

impl TlsVersion {
    pub fn name(self) -> &'static str {
        match self {
            TlsVersion::V1_0 => "TLS 1.0",
            TlsVersion::V1_1 => "TLS 1.1",
            TlsVersion::V1_2 => "TLS 1.2",
            TlsVersion::V1_3 => "TLS 1.3",
        }
    }
}

/// Where a CA file or directory came from, so the explanation and errors name the true source.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaSource {
    /// `--cacert` / `--capath` on the command line.
    #[default]
    Flag,
    /// An environment variable curl's tool reads: `CURL_CA_BUNDLE`, `SSL_CERT_FILE` or `SSL_CERT_DIR`.
    Env(&'static str),
}

/// Everything the command line says about TLS.
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// `--cacert FILE` (a PEM bundle; CURL_CA_BUNDLE / SSL_CERT_FILE resolved into it by the caller).
    pub cacert: Option<PathBuf>,
    /// Where `cacert` came from.
    pub cacert_source: CaSource,
    /// `--capath DIR` (every PEM file in it; SSL_CERT_DIR resolved into it by the caller).
    pub capath: Option<PathBuf>,
    /// Where `capath` came from.
    pub capath_source: CaSource,
    /// `-k`: verify and report, but accept whatever the result.
    pub insecure: bool,
    /// `--tlsv1.2` / `--tlsv1.3`: the minimum version, as curl.
    pub min: Option<TlsVersion>,
    /// `--tls-max`.
    pub max: Option<TlsVersion>,
    /// SSLKEYLOGFILE: where to append the secrets (NSS key log format).
    pub keylog: Option<PathBuf>,
    /// DER roots added for this run (the offline demo's CA).
    pub extra_roots: Vec<Vec<u8>>,
    /// How `trust` names the extra roots (`the demo CA`).
    pub extra_roots_label: Option<String>,
}

/// What was negotiated, for renderers and `-w`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsSummary {
    pub version: String,
    pub cipher_suite: String,
    pub key_exchange: Option<String>,
    pub alpn: Option<String>,
    /// The chain verified (false with -k when it did not).
    pub verified: bool,
    pub round_trips: u32,
    /// Why SSLKEYLOGFILE could not be opened (the handshake goes on without it, as in curl).
    pub keylog_error: Option<String>,
}

fn versions(opts: &TlsOptions) -> Result<Vec<TlsVersion>> {
    let min = opts.min.unwrap_or(TlsVersion::V1_2);
    let max = opts.max.unwrap_or(TlsVersion::V1_3);
    // Newest first, as rustls offers them.
    let v: Vec<TlsVersion> = [TlsVersion::V1_3, TlsVersion::V1_2]
        .into_iter()
        .filter(|v| *v >= min && *v <= max)
        .collect();
    // curl 7.88 fails here too, with exit 35, once the connection is up and TLS is to start
    // ("CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION"); a plain http:// run never asks.
    if v.is_empty() {
        let why = if max < TlsVersion::V1_2 {
            format!(
                "--tls-max {} is below TLS 1.2, the oldest version wtcurl speaks",
                max.name()
            )
        } else {
            format!(
                "the minimum ({}) is above --tls-max ({})",
                min.name(),
                max.name()
            )
        };
        return Err(Error::new(
            Phase::Tls,
            Label::TlsNoVersion,
            format!("no TLS version left to offer: {why} (curl: CURL_SSLVERSION_MAX incompatible with CURL_SSLVERSION)"),
        )
        .hint("wtcurl speaks TLS 1.2 and TLS 1.3: raise --tls-max or drop --tlsv1.3"));
    }
    Ok(v)
}

fn tls_err(label: Label, msg: String, hint: &str) -> Error {
    Error::new(Phase::Tls, label, msg).hint(hint)
}

fn stage(wire: &WireTracer) -> &'static str {
    if wire.has_seen(Dir::Received, "ServerHello") {
        "after the ServerHello"
    } else if wire.received_bytes > 0 {
        "in the middle of the server's first flight"
    } else {
        "after wtcurl's ClientHello, before any answer"
    }
}

/// Runs the TLS handshake on the connected socket `fd` for `host` (`is_ip`: an IP literal, so no
/// SNI). Emits tls_start, every record and message, the certificates, the verdict and tls_done.
pub fn handshake(
    t: &mut Tracer,
    fd: Fd,
    host: &str,
    is_ip: bool,
    opts: &TlsOptions,
    deadline: Option<Instant>,
) -> Result<TlsStream> {
    let versions = versions(opts)?;
    let trust = trust::build(opts)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(verify::RecordingVerifier::new(
        &trust,
        provider.clone(),
        opts.insecure,
    )?);
    let record = verifier.record.clone();
    let rustls_versions: Vec<&'static rustls::SupportedProtocolVersion> = versions
        .iter()
        .map(|v| match v {
            TlsVersion::V1_3 => &rustls::version::TLS13,
            _ => &rustls::version::TLS12,
        })
        .collect();
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&rustls_versions)
        .map_err(|e| {
            tls_err(
                Label::TlsHandshake,
                format!("rustls refused the configuration: {e}"),
                "this is a wtcurl bug",
            )
        })?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let secrets = Arc::new(keys::SecretLog::new(opts.keylog.as_deref()));
    let keylog_error = secrets.file_error.clone();
    config.key_log = secrets.clone();
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let name = if is_ip {
        bare.parse::<std::net::IpAddr>()
            .map(|ip| ServerName::IpAddress(ip.into()))
            .map_err(|e| e.to_string())
    } else {
        ServerName::try_from(bare.to_owned()).map_err(|e| e.to_string())
    };
    let name = name.map_err(|e| {
        tls_err(
            Label::TlsHandshake,
            format!("'{host}' cannot be used as a TLS server name: {e}"),
            "check the host name",
        )
    })?;
    let mut conn = ClientConnection::new(Arc::new(config), name).map_err(|e| {
        tls_err(
            Label::TlsHandshake,
            format!("rustls cannot start the handshake: {e}"),
            "this is a wtcurl bug",
        )
    })?;

    let offered: Vec<String> = versions.iter().map(|v| v.name().to_owned()).collect();
    let at_us = t.now_us();
    t.emit(Event::TlsStart {
        at_us,
        fd: fd.0,
        server_name: (!is_ip).then(|| bare.to_owned()),
        versions: offered.clone(),
        alpn_offered: vec!["http/1.1".into()],
        trust: trust.description.clone(),
    });
    let cx = errors::Context {
        host: bare.to_owned(),
        offered,
        chain: Vec::new(),
        server_version: None,
        trust: trust.description,
    };
    let mut wire = WireTracer::new(secrets, record.clone(), opts.insecure, cx);
    let mut rbuf = vec![0u8; READ_CHUNK];
    let mut pending: Vec<u8> = Vec::new();
    let mut round_trips = 0u32;
    let mut sent_since_wait = false;

    let fail = |t: &mut Tracer,
                conn: &mut ClientConnection,
                wire: &mut WireTracer,
                e: rustls::Error|
     -> Error {
        // rustls queued an alert for the server: send it, as curl does, and trace it.
        let _ = flush(t, conn, wire, fd, deadline);
        if let rustls::Error::AlertReceived(a) = &e
            && !wire.alert_seen(Dir::Received)
        {
            // The alert arrived encrypted (TLS 1.2 after ChangeCipherSpec): rustls decrypted it.
            let at_us = t.now_us();
            t.emit(Event::TlsAlert {
                at_us,
                direction: "received".into(),
                level: "fatal".into(),
                description: names::alert_description(u8::from(*a)),
            });
        }
        wire.emit_verification(t);
        if let Some(first) = &wire.not_tls {
            return errors::not_tls(first);
        }
        let mut cx = wire.cx.clone();
        cx.chain = verify::lock(&record).chain.clone();
        errors::map(&e, &cx)
    };

    // Bounded by the deadline and by the server: every iteration sends, waits or reads.
    loop {
        if flush(t, &mut conn, &mut wire, fd, deadline)? > 0 {
            sent_since_wait = true;
        }
        if !conn.is_handshaking() {
            break;
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Err(tls_err(
                Label::Timeout,
                format!(
                    "Operation timed out during the TLS handshake ({} bytes received, {})",
                    wire.received_bytes,
                    stage(&wire)
                ),
                "the server did not finish the handshake in time; raise --connect-timeout / -m",
            ));
        }
        if sent_since_wait {
            round_trips += 1;
            sent_since_wait = false;
        }
        match sys::poll(t, &[(fd, Interest::Readable)], remaining_ms(deadline)) {
            Ok(r) if !r.iter().any(|x| x.any()) => continue,
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => {
                return Err(tls_err(
                    Label::TlsHandshake,
                    format!("poll failed: {e:?}"),
                    "",
                ));
            }
        }
        let n = match sys::recvfrom(t, fd, &mut rbuf, false) {
            Ok((n, _)) => n,
            Err(Errno::EAGAIN) | Err(Errno::EINTR) => continue,
            Err(e) => {
                return Err(errors::peer_closed(
                    &format!("reset the connection (recvfrom: {e:?} {})", e.desc()),
                    wire.received_bytes,
                    stage(&wire),
                ));
            }
        };
        if n == 0 {
            if let Some(first) = &wire.not_tls {
                return Err(errors::not_tls(first));
            }
            return Err(errors::peer_closed(
                "closed the connection (recvfrom returned 0: FIN)",
                wire.received_bytes,
                stage(&wire),
            ));
        }
        pending.extend_from_slice(&rbuf[..n]);
        let result = feed(&mut conn, &mut pending);
        let suite = conn.negotiated_cipher_suite().and_then(|s| s.tls13());
        wire.on_bytes(t, Dir::Received, &rbuf[..n], suite);
        if result.is_ok() && pending.len() > MAX_PENDING {
            return Err(tls_err(
                Label::TlsHandshake,
                format!(
                    "rustls stopped accepting the server's bytes ({} waiting)",
                    pending.len()
                ),
                "this is a wtcurl bug",
            ));
        }
        if let Err(e) = result {
            return Err(fail(t, &mut conn, &mut wire, e));
        }
        if let Some(first) = &wire.not_tls {
            return Err(errors::not_tls(first));
        }
    }

    wire.emit_verification(t);
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let certs = conn
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.as_ref().len()).collect());
    wire.infer_tls13(t, alpn.clone(), certs);
    wire.mark_done();
    let version = conn
        .protocol_version()
        .map(|v| names::version(u16::from(v)))
        .unwrap_or_default();
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| names::cipher_suite(u16::from(s.suite())))
        .unwrap_or_default();
    let key_exchange = conn
        .negotiated_key_exchange_group()
        .map(|g| names::group(u16::from(g.name())));
    // TLS 1.2 tickets are read off the wire; TLS 1.3 ones are decrypted by the tracer and counted by
    // rustls too (the same tickets: hence max, not sum). TLS 1.3 tickets usually come later.
    let tickets = wire.tickets.max(conn.tls13_tickets_received());
    let at_us = t.now_us();
    t.emit(Event::TlsDone {
        at_us,
        version: version.clone(),
        cipher_suite: cipher_suite.clone(),
        key_exchange: key_exchange.clone(),
        alpn: alpn.clone(),
        round_trips,
        session_tickets: tickets,
    });
    let verified = matches!(verify::lock(&record).result, Some(Ok(())));
    Ok(TlsStream {
        conn,
        fd,
        wire,
        rbuf,
        pending,
        eof: false,
        clean_close: false,
        summary: TlsSummary {
            version,
            cipher_suite,
            key_exchange,
            alpn,
            verified,
            round_trips,
            keylog_error,
        },
    })
}

#[cfg(test)]
mod tests;
