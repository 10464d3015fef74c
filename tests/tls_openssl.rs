//! wtcurl's TLS handshake against a real `openssl s_server` on 127.0.0.1, with certificates made by
//! the openssl CLI (and rcgen for the back- and forward-dated ones), one server per failure; and, for
//! each failure, real curl against the same server must exit with the code wtcurl's label maps to.

mod common;
mod tls_support;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use tls_support::openssl::{Pki, SServer, curl, tools};
use tls_support::{IO_TIMEOUT, client};
use wtcurl::error::{Error, Label};
use wtcurl::event::Event;
use wtcurl::tls::{TlsOptions, TlsVersion};

fn cacert(p: PathBuf) -> TlsOptions {
    TlsOptions {
        cacert: Some(p),
        ..TlsOptions::default()
    }
}

/// wtcurl fails with `label`, and curl exits with the same code.
fn same_failure(
    port: u16,
    host: &str,
    opts: &TlsOptions,
    label: Label,
    curl_args: &[&str],
) -> Error {
    let run = client(port, host, opts, None);
    let (r, events) = (run.result, run.events);
    let e = match r {
        Ok(body) => panic!("expected {label:?}, wtcurl succeeded: {body}"),
        Err(e) => e,
    };
    assert_eq!(e.label, label, "{e}");
    eprintln!("wtcurl: {e}");
    assert!(
        events.iter().any(|ev| matches!(ev, Event::TlsStart { .. })),
        "the handshake was traced"
    );
    let code = curl(port, host, curl_args);
    assert_eq!(
        code,
        i32::from(e.exit_code()),
        "curl's exit code vs wtcurl's {label:?}"
    );
    e
}

#[test]
fn good_chain_succeeds_like_curl_in_tls13_and_tls12() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    for (extra, version) in [(&[][..], "TLS 1.3"), (&["-tls1_2"][..], "TLS 1.2")] {
        let s = SServer::start(&pki, "leaf", Some("inter.pem"), extra);
        let run = client(s.port, "localhost", &cacert(pki.path("root.pem")), None);
        let (r, events) = (run.result, run.events);
        let body = r.unwrap_or_else(|e| panic!("{version}: {e}"));
        assert!(body.starts_with("HTTP/1.0 200 ok"), "{body}");
        let done = events.iter().find_map(|e| match e {
            Event::TlsDone { version, .. } => Some(version.clone()),
            _ => None,
        });
        assert_eq!(done.as_deref(), Some(version));
        let (ok, anchor) = events
            .iter()
            .find_map(|e| match e {
                Event::TlsVerified { ok, anchor, .. } => Some((*ok, anchor.clone())),
                _ => None,
            })
            .expect("verified");
        assert!(ok);
        let want = format!(
            "CN=wtcurl Test Root (--cacert {})",
            pki.path("root.pem").display()
        );
        assert_eq!(anchor.as_deref(), Some(want.as_str()));
        let certs: Vec<(String, String)> = events
            .iter()
            .filter_map(|e| match e {
                Event::TlsCertificate { subject, key, .. } => Some((subject.clone(), key.clone())),
                _ => None,
            })
            .collect();
        assert_eq!(
            certs,
            vec![
                ("CN=localhost".to_owned(), "EC P-256".to_owned()),
                (
                    "CN=wtcurl Test Intermediate".to_owned(),
                    "RSA 2048 bits".to_owned()
                ),
            ]
        );
        let root = pki.path("root.pem");
        assert_eq!(
            curl(s.port, "localhost", &["--cacert", &root.to_string_lossy()]),
            0
        );
    }
}

#[test]
fn certificate_failures_exit_60_like_curl() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let root = pki.path("root.pem").to_string_lossy().into_owned();
    let good = SServer::start(&pki, "leaf", Some("inter.pem"), &[]);
    let e = same_failure(
        good.port,
        "wrong.test",
        &cacert(pki.path("root.pem")),
        Label::CertWrongHost,
        &["--cacert", &root],
    );
    assert!(
        e.message.contains("DNS:localhost, IP:127.0.0.1"),
        "{}",
        e.message
    );

    let other = pki.path("other-root.pem").to_string_lossy().into_owned();
    let full = SServer::start(&pki, "leaf", Some("inter+root.pem"), &[]);
    let e = same_failure(
        full.port,
        "localhost",
        &cacert(pki.path("other-root.pem")),
        Label::CertUnknownIssuer,
        &["--cacert", &other],
    );
    assert!(
        e.message
            .contains("self-signed certificate in certificate chain")
            && e.message.contains("CN=wtcurl Test Root"),
        "{}",
        e.message
    );

    let bare = SServer::start(&pki, "leaf", None, &[]);
    let e = same_failure(
        bare.port,
        "localhost",
        &cacert(pki.path("root.pem")),
        Label::CertUnknownIssuer,
        &["--cacert", &root],
    );
    assert!(
        e.message.contains("sent only its own certificate")
            && e.message.contains("CN=wtcurl Test Intermediate"),
        "{}",
        e.message
    );

    let selfs = SServer::start(&pki, "self", None, &[]);
    let e = same_failure(
        selfs.port,
        "localhost",
        &TlsOptions::default(),
        Label::CertSelfSigned,
        &[],
    );
    assert!(
        e.message.contains("self-signed certificate: CN=localhost"),
        "{}",
        e.message
    );

    let client_only = SServer::start(&pki, "client-only", Some("inter.pem"), &[]);
    let e = same_failure(
        client_only.port,
        "localhost",
        &cacert(pki.path("root.pem")),
        Label::CertBadUsage,
        &["--cacert", &root],
    );
    assert!(e.message.contains("clientAuth"), "{}", e.message);
}

#[test]
fn validity_failures_exit_60_like_curl() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    pki.dated("expired", (2019, 1, 1), (2020, 1, 1));
    pki.dated("future", (2090, 1, 1), (2091, 1, 1));
    let s = SServer::start(&pki, "expired", None, &[]);
    let ca = pki.path("expired-ca.pem");
    let e = same_failure(
        s.port,
        "localhost",
        &cacert(ca.clone()),
        Label::CertExpired,
        &["--cacert", &ca.to_string_lossy()],
    );
    assert!(e.message.contains("expired on 2020-01-01"), "{}", e.message);
    let s = SServer::start(&pki, "future", None, &[]);
    let ca = pki.path("future-ca.pem");
    let e = same_failure(
        s.port,
        "localhost",
        &cacert(ca.clone()),
        Label::CertNotYetValid,
        &["--cacert", &ca.to_string_lossy()],
    );
    assert!(e.message.contains("valid from 2090-01-01"), "{}", e.message);
}

#[test]
fn handshake_failures_exit_35_like_curl() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let root = pki.path("root.pem").to_string_lossy().into_owned();
    // A TLS 1.2-only server, and a client that wants at least TLS 1.3.
    let s = SServer::start(&pki, "leaf", Some("inter.pem"), &["-tls1_2"]);
    let mut o = cacert(pki.path("root.pem"));
    o.min = Some(TlsVersion::V1_3);
    let e = same_failure(
        s.port,
        "localhost",
        &o,
        Label::TlsProtocolVersion,
        &["--cacert", &root, "--tlsv1.3"],
    );
    assert!(
        e.message.contains("protocol_version alert (70)"),
        "{}",
        e.message
    );

    // Only a CBC suite rustls does not implement. curl is told to offer what rustls offers.
    let s = SServer::start(
        &pki,
        "leaf",
        Some("inter.pem"),
        &["-no_tls1_3", "-cipher", "AES128-SHA"],
    );
    let rustls_suites = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305";
    let e = same_failure(
        s.port,
        "localhost",
        &cacert(pki.path("root.pem")),
        Label::TlsNoSharedCipher,
        &[
            "--cacert",
            &root,
            "--tls-max",
            "1.2",
            "--ciphers",
            rustls_suites,
        ],
    );
    assert!(
        e.message.contains("handshake_failure alert (40)"),
        "{}",
        e.message
    );
}

#[test]
fn plain_http_on_the_tls_port_is_35_like_curl() {
    if !tools() {
        return;
    }
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    // Answers two connections (wtcurl's, then curl's) with plain HTTP.
    let h = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut s, _)) = l.accept() else { return };
            let _ = s.set_read_timeout(Some(IO_TIMEOUT));
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\nServer: plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    let e = same_failure(
        port,
        "localhost",
        &TlsOptions::default(),
        Label::TlsNotTls,
        &[],
    );
    assert!(e.message.contains("plain HTTP"), "{}", e.message);
    h.join().expect("server thread");
}
