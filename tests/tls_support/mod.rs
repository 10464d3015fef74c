//! Shared by the tls_* test files: wtcurl's TLS client driven end to end over its own recorded
//! socket, and the TLS events condensed into lines that are easy to assert on.
#![allow(dead_code)]

pub mod loopback;
pub mod openssl;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use wtcurl::clock::RealClock;
use wtcurl::error::{Error, Label};
use wtcurl::event::{Event, Recorder, Tracer};
use wtcurl::net::Transport;
use wtcurl::tls::{self, TlsOptions};

/// Every socket and every client run is bounded by this.
pub const IO_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Run {
    pub result: Result<String, Error>,
    pub events: Vec<Event>,
    /// What the in-process server thread reported (empty when there is none).
    pub server: String,
    /// The server ended with close_notify.
    pub clean_close: bool,
}

/// Connects to 127.0.0.1:port with wtcurl's own net::connect, runs tls::handshake for `host`, sends
/// a GET and reads until the server closes; then joins the server thread, if any.
pub fn client(port: u16, host: &str, opts: &TlsOptions, server: Option<JoinHandle<String>>) -> Run {
    let clock = RealClock::new();
    let mut rec = Recorder::default();
    let mut clean_close = false;
    let result = {
        let mut t = Tracer::new(&clock, &mut rec);
        let deadline = Some(Instant::now() + IO_TIMEOUT);
        let c = wtcurl::net::connect(
            &mut t,
            host,
            &["127.0.0.1".parse().expect("ip")],
            port,
            deadline,
        )
        .expect("connect");
        let is_ip = host.parse::<std::net::IpAddr>().is_ok();
        let r = (|| {
            let mut s = tls::handshake(&mut t, c.fd, host, is_ip, opts, deadline)?;
            let req = format!("GET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
            s.send_all(&mut t, req.as_bytes(), deadline)?;
            let mut got = Vec::new();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = s.recv(&mut t, &mut buf, deadline, got.len() as u64)?;
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            }
            clean_close = s.closed_cleanly();
            s.close_notify(&mut t)?;
            Ok(String::from_utf8_lossy(&got).into_owned())
        })();
        let _ = wtcurl::sys::close(&mut t, c.fd);
        r
    };
    let server = server
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| "server thread panicked".to_owned())
        })
        .unwrap_or_default();
    Run {
        result,
        events: rec.events,
        server,
        clean_close,
    }
}

/// The TLS events as short lines: `> record handshake`, `< msg ServerHello [decrypted]`, `cert 0`,
/// `verified true`, `done TLS 1.3` (`>` sent, `<` received).
pub fn tls_lines(events: &[Event]) -> Vec<String> {
    let d = |s: &str| if s == "sent" { ">" } else { "<" };
    events
        .iter()
        .filter_map(|e| match e {
            Event::TlsStart { .. } => Some("start".to_owned()),
            Event::TlsRecord {
                direction,
                content_type,
                encrypted,
                ..
            } => Some(format!(
                "{} record {content_type}{}",
                d(direction),
                if *encrypted { " (encrypted)" } else { "" }
            )),
            Event::TlsMessage {
                direction,
                name,
                source,
                ..
            } => {
                let how = if source.starts_with("decrypted") {
                    " [decrypted]"
                } else if source.starts_with("inferred") {
                    " [inferred]"
                } else if source.starts_with("from rustls") {
                    " [rustls]"
                } else {
                    ""
                };
                Some(format!("{} msg {name}{how}", d(direction)))
            }
            Event::TlsAlert {
                direction,
                description,
                ..
            } => Some(format!("{} alert {description}", d(direction))),
            Event::TlsCertificate { index, .. } => Some(format!("cert {index}")),
            Event::TlsVerified { ok, .. } => Some(format!("verified {ok}")),
            Event::TlsDone { version, .. } => Some(format!("done {version}")),
            _ => None,
        })
        .collect()
}

pub fn done(events: &[Event]) -> (String, String, Option<String>, Option<String>, u32) {
    events
        .iter()
        .find_map(|e| match e {
            Event::TlsDone {
                version,
                cipher_suite,
                key_exchange,
                alpn,
                round_trips,
                ..
            } => Some((
                version.clone(),
                cipher_suite.clone(),
                key_exchange.clone(),
                alpn.clone(),
                *round_trips,
            )),
            _ => None,
        })
        .expect("tls_done")
}

pub fn verified(events: &[Event]) -> (bool, Option<String>, Option<String>, String) {
    events
        .iter()
        .find_map(|e| match e {
            Event::TlsVerified {
                ok,
                anchor,
                matched_name,
                detail,
                ..
            } => Some((*ok, anchor.clone(), matched_name.clone(), detail.clone())),
            _ => None,
        })
        .expect("tls_verified")
}

pub fn expect_failure(run: &Run, label: Label) -> &Error {
    match &run.result {
        Ok(body) => panic!(
            "expected {label:?}, got success: {body}\n{:#?}",
            tls_lines(&run.events)
        ),
        Err(e) => {
            if std::env::var_os("SHOW_TLS").is_some() {
                eprintln!("{e}\n{:#?}", tls_lines(&run.events));
            }
            assert_eq!(e.label, label, "{e}\n{:#?}", tls_lines(&run.events));
            e
        }
    }
}
