//! wtcurl's TLS handshake against a rustls server on loopback (certificates made with rcgen): the
//! event sequence of TLS 1.3, TLS 1.2 and HelloRetryRequest handshakes, verification against the test
//! CA, the key log. Every socket has a timeout; every server thread is joined.

mod common;
mod tls_support;

use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use tls_support::loopback::*;
use tls_support::*;
use wtcurl::event::Event;

#[test]
fn tls13_handshake_is_traced_message_by_message() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der, ca.der.clone()],
        &key,
        &[&rustls::version::TLS13],
    )));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    let body = run.result.as_ref().expect("handshake and exchange succeed");
    assert!(body.ends_with(BODY), "{body}");
    assert_eq!(run.server, "GET / HTTP/1.1");
    assert!(run.clean_close, "the server ended with close_notify");
    let lines = tls_lines(&run.events);
    if std::env::var_os("SHOW_TLS").is_some() {
        for e in &run.events {
            if !matches!(e, Event::Syscall(_)) {
                eprintln!("{}", serde_json::to_string(e).unwrap_or_default());
            }
        }
    }
    let expected_prefix = [
        "start",
        "> record handshake",
        "> msg ClientHello",
        "< record handshake",
        "< msg ServerHello",
    ];
    assert_eq!(lines[..5], expected_prefix, "{lines:#?}");
    // The encrypted flight, opened with the logged handshake secret.
    for want in [
        "< msg EncryptedExtensions [decrypted]",
        "< msg Certificate [decrypted]",
        "cert 0",
        "cert 1",
        "verified true",
        "< msg CertificateVerify [decrypted]",
        "< msg Finished [decrypted]",
        "> msg Finished [decrypted]",
        "done TLS 1.3",
    ] {
        assert!(
            lines.iter().any(|l| l == want),
            "missing {want:?} in {lines:#?}"
        );
    }
    let pos = |s: &str| lines.iter().position(|l| l == s).unwrap_or(usize::MAX);
    assert!(pos("< msg Certificate [decrypted]") < pos("cert 0"));
    assert!(pos("verified true") < pos("< msg Finished [decrypted]"));
    assert!(pos("> msg Finished [decrypted]") < pos("done TLS 1.3"));
    assert!(
        !lines.iter().any(|l| l.contains("[rustls]")),
        "nothing had to be inferred: {lines:#?}"
    );
    // Records after the handshake: the request (sent), the response and tickets (received).
    assert!(
        lines
            .iter()
            .skip(pos("done TLS 1.3"))
            .any(|l| l == "> record application_data (encrypted)")
    );
    assert!(
        lines
            .iter()
            .any(|l| l == "< msg NewSessionTicket [decrypted]"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l == "< alert close_notify"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l == "> alert close_notify"),
        "{lines:#?}"
    );
    let (version, suite, kx, alpn, rtt) = done(&run.events);
    assert_eq!(version, "TLS 1.3");
    assert!(suite.starts_with("TLS_"), "{suite}");
    assert_eq!(kx.as_deref(), Some("x25519"));
    assert_eq!(alpn.as_deref(), Some("http/1.1"));
    assert_eq!(rtt, 1, "TLS 1.3: one round trip");
    let (ok, anchor, matched, detail) = verified(&run.events);
    assert!(ok, "{detail}");
    assert_eq!(anchor.as_deref(), Some("CN=Loopback Test CA (the test CA)"));
    assert_eq!(matched.as_deref(), Some("DNS:tls.test"));
    // The ClientHello detail names what was offered.
    let ch = run.events.iter().find_map(|e| match e {
        Event::TlsMessage { name, detail, .. } if name == "ClientHello" => Some(detail.clone()),
        _ => None,
    });
    let ch = ch.expect("ClientHello");
    assert_eq!(ch["server_name"], HOST);
    assert_eq!(ch["alpn"], serde_json::json!(["http/1.1"]));
    assert_eq!(
        ch["supported_versions"],
        serde_json::json!(["TLS 1.3", "TLS 1.2"])
    );
    // Every TLS record event follows the syscall that carried its bytes.
    let first_record = run
        .events
        .iter()
        .position(|e| matches!(e, Event::TlsRecord { .. }));
    let first_send = run
        .events
        .iter()
        .position(|e| matches!(e, Event::Syscall(s) if s.name == "sendto"));
    assert!(first_send < first_record);
}

#[test]
fn tls12_handshake_decodes_every_plaintext_message() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |_| {});
    let mut cfg = server_config(vec![leaf_der], &key, &[&rustls::version::TLS12]);
    if let Some(c) = Arc::get_mut(&mut cfg) {
        c.ticketer = rustls::crypto::ring::Ticketer::new().expect("ticketer");
    }
    let (port, h) = serve(Mode::Tls(cfg));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    run.result.as_ref().expect("succeeds");
    let lines = tls_lines(&run.events);
    if std::env::var_os("SHOW_TLS").is_some() {
        eprintln!("{lines:#?}");
    }
    let want = [
        "< msg ServerHello",
        "< msg Certificate",
        "< msg ServerKeyExchange",
        "< msg ServerHelloDone",
        "> msg ClientKeyExchange",
        "> msg ChangeCipherSpec",
        "> record handshake (encrypted)",
        "> msg Finished [inferred]",
        "< msg NewSessionTicket",
        "< msg ChangeCipherSpec",
        "< msg Finished [inferred]",
        "done TLS 1.2",
    ];
    let mut at = 0;
    for w in want {
        let found = lines[at..].iter().position(|l| l == w);
        assert!(found.is_some(), "missing {w:?} (in order) in {lines:#?}");
        at += found.unwrap_or(0) + 1;
    }
    let (version, suite, kx, alpn, rtt) = done(&run.events);
    assert_eq!(version, "TLS 1.2");
    assert!(suite.starts_with("TLS_ECDHE_"), "{suite}");
    assert!(kx.is_some());
    assert_eq!(alpn.as_deref(), Some("http/1.1"));
    assert_eq!(rtt, 2, "TLS 1.2: two round trips");
    assert!(verified(&run.events).0);
    let tickets = run.events.iter().find_map(|e| match e {
        Event::TlsDone {
            session_tickets, ..
        } => Some(*session_tickets),
        _ => None,
    });
    assert_eq!(
        tickets,
        Some(1),
        "the TLS 1.2 ticket arrives before the server's Finished"
    );
}

#[test]
fn hello_retry_request_when_the_server_wants_another_group() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |_| {});
    let mut provider = rustls::crypto::ring::default_provider();
    provider.kx_groups = vec![rustls::crypto::ring::kx_group::SECP384R1];
    let cfg = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(&[&rustls::version::TLS13])
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(leaf_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .expect("cert");
    let (port, h) = serve(Mode::Tls(Arc::new(cfg)));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    run.result.as_ref().expect("succeeds after HRR");
    let lines = tls_lines(&run.events);
    let hrr = lines
        .iter()
        .position(|l| l == "< msg HelloRetryRequest")
        .expect("HRR");
    let second = lines
        .iter()
        .skip(hrr)
        .position(|l| l == "> msg ClientHello");
    assert!(second.is_some(), "a second ClientHello: {lines:#?}");
    assert_eq!(done(&run.events).2.as_deref(), Some("secp384r1"));
    assert_eq!(done(&run.events).4, 2, "HRR costs a round trip");
}

#[test]
fn keylog_file_gets_nss_lines_and_ip_literals_send_no_sni() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&["127.0.0.1"], Some(&ca), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS13],
    )));
    let dir = common::TempDir::new("wtcurl-keylog");
    let path = dir.path().join("keys.log");
    let mut o = opts_with(&ca);
    o.keylog = Some(path.clone());
    let run = client(port, "127.0.0.1", &o, Some(h));
    run.result.as_ref().expect("succeeds");
    let log = std::fs::read_to_string(&path).unwrap_or_default();
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
        "CLIENT_TRAFFIC_SECRET_0 ",
        "SERVER_TRAFFIC_SECRET_0 ",
    ] {
        assert!(
            log.lines().any(|l| l.starts_with(label)),
            "{label} in {log}"
        );
    }
    let (sni, ch) = run
        .events
        .iter()
        .find_map(|e| match e {
            Event::TlsStart { server_name, .. } => Some(server_name.clone()),
            _ => None,
        })
        .zip(run.events.iter().find_map(|e| match e {
            Event::TlsMessage { name, detail, .. } if name == "ClientHello" => Some(detail.clone()),
            _ => None,
        }))
        .expect("events");
    assert_eq!(sni, None);
    assert!(ch["server_name"].is_null());
    assert_eq!(verified(&run.events).2.as_deref(), Some("IP:127.0.0.1"));
}
