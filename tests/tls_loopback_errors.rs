//! wtcurl's TLS failures against a rustls server on loopback, each mapped to curl's exit code with a
//! message naming the proof: wrong host, expired, not yet valid, self-signed (and -k), unknown
//! issuer, no common version, plain HTTP, a server that hangs up, a server that never answers.

mod common;
mod tls_support;

use tls_support::loopback::*;
use tls_support::*;
use wtcurl::error::Label;
use wtcurl::tls::{TlsOptions, TlsVersion};

#[test]
fn wrong_host_is_60_with_the_names_the_certificate_has() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&["other.test", "www.other.test"], Some(&ca), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS13],
    )));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    let e = expect_failure(&run, Label::CertWrongHost);
    assert_eq!(e.exit_code(), 60);
    assert!(
        e.message.contains("'tls.test'") && e.message.contains("other.test"),
        "{}",
        e.message
    );
    let (ok, _, _, detail) = verified(&run.events);
    assert!(
        !ok && detail.contains("no alternative certificate subject name"),
        "{detail}"
    );
    // rustls told the server why (the alert travels encrypted; wtcurl opened it).
    assert!(
        tls_lines(&run.events)
            .iter()
            .any(|l| l == "> alert bad_certificate"),
        "{:#?}",
        tls_lines(&run.events)
    );
}

#[test]
fn expired_certificate_is_60_and_says_when() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |p| {
        p.not_before = rcgen::date_time_ymd(2019, 1, 1);
        p.not_after = rcgen::date_time_ymd(2020, 1, 1);
    });
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS13],
    )));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    let e = expect_failure(&run, Label::CertExpired);
    assert!(
        e.message.contains("expired on 2020-01-01 00:00:00 UTC"),
        "{}",
        e.message
    );
    assert!(run.server.contains("handshake error"), "{}", run.server);
}

#[test]
fn not_yet_valid_certificate_is_60() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |p| {
        p.not_before = rcgen::date_time_ymd(2090, 1, 1);
        p.not_after = rcgen::date_time_ymd(2091, 1, 1);
    });
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS12],
    )));
    let run = client(port, HOST, &opts_with(&ca), Some(h));
    let e = expect_failure(&run, Label::CertNotYetValid);
    assert!(e.message.contains("valid from 2090-01-01"), "{}", e.message);
}

#[test]
fn self_signed_is_60_and_accepted_with_k() {
    let (leaf_der, key) = leaf(&[HOST], None, |_| {});
    let cfg = server_config(vec![leaf_der], &key, &[&rustls::version::TLS13]);
    let (port, h) = serve(Mode::Tls(cfg.clone()));
    let run = client(port, HOST, &TlsOptions::default(), Some(h));
    let e = expect_failure(&run, Label::CertSelfSigned);
    assert!(
        e.message.contains("self-signed") && e.message.contains("CN=tls.test"),
        "{}",
        e.message
    );
    assert!(
        e.hint.as_deref().is_some_and(|h| h.contains("SHA-256")),
        "{:?}",
        e.hint
    );

    let (port, h) = serve(Mode::Tls(cfg));
    let insecure = TlsOptions {
        insecure: true,
        ..TlsOptions::default()
    };
    let run = client(port, HOST, &insecure, Some(h));
    run.result.as_ref().expect("-k accepts it");
    let (ok, anchor, _, detail) = verified(&run.events);
    assert!(!ok && anchor.is_none());
    assert!(
        detail.starts_with("NOT VERIFIED: ") && detail.contains("ACCEPTED ANYWAY"),
        "{detail}"
    );
}

#[test]
fn unknown_issuer_is_60_and_names_the_missing_intermediate() {
    let root = ca("Root Nobody Trusts");
    let (leaf_der, key) = leaf(&[HOST], Some(&root), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS13],
    )));
    let trusted = ca("Loopback Test CA");
    let run = client(port, HOST, &opts_with(&trusted), Some(h));
    let e = expect_failure(&run, Label::CertUnknownIssuer);
    assert!(
        e.message.contains("sent only its own certificate")
            && e.message.contains("CN=Root Nobody Trusts"),
        "{}",
        e.message
    );
}

#[test]
fn tls13_only_client_against_tls12_only_server_is_35() {
    let ca = ca("Loopback Test CA");
    let (leaf_der, key) = leaf(&[HOST], Some(&ca), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der],
        &key,
        &[&rustls::version::TLS12],
    )));
    let mut o = opts_with(&ca);
    o.min = Some(TlsVersion::V1_3);
    let run = client(port, HOST, &o, Some(h));
    let e = expect_failure(&run, Label::TlsProtocolVersion);
    assert_eq!(e.exit_code(), 35);
    assert!(
        tls_lines(&run.events)
            .iter()
            .any(|l| l == "< alert protocol_version"),
        "{:#?}",
        tls_lines(&run.events)
    );
}

#[test]
fn plain_http_answer_is_not_tls_35() {
    let (port, h) = serve(Mode::PlainHttp);
    let run = client(port, HOST, &TlsOptions::default(), Some(h));
    let e = expect_failure(&run, Label::TlsNotTls);
    assert_eq!(e.exit_code(), 35);
    assert!(
        e.message.contains("\"HTTP/1.1 400 Bad Request\""),
        "{}",
        e.message
    );
}

#[test]
fn server_closing_mid_handshake_is_35() {
    let (port, h) = serve(Mode::CloseAfterHello);
    let run = client(port, HOST, &TlsOptions::default(), Some(h));
    let e = expect_failure(&run, Label::TlsPeerClosed);
    assert_eq!(e.exit_code(), 35);
    assert!(e.message.contains("before any answer"), "{}", e.message);
    assert!(run.server.starts_with("closed after "), "{}", run.server);
}

#[test]
fn silent_server_times_out_28_within_the_deadline() {
    use std::time::{Duration, Instant};
    use wtcurl::clock::RealClock;
    use wtcurl::event::{Recorder, Tracer};
    let (port, h) = serve(Mode::Silent);
    let clock = RealClock::new();
    let mut rec = Recorder::default();
    let started = Instant::now();
    let e = {
        let mut t = Tracer::new(&clock, &mut rec);
        let deadline = Some(Instant::now() + Duration::from_millis(300));
        let ip = "127.0.0.1".parse().expect("ip");
        let c = wtcurl::net::connect(&mut t, HOST, &[ip], port, deadline).expect("connect");
        let r = wtcurl::tls::handshake(&mut t, c.fd, HOST, false, &TlsOptions::default(), deadline);
        let _ = wtcurl::sys::close(&mut t, c.fd);
        r.err().expect("no answer, no handshake")
    };
    let took = started.elapsed();
    assert_eq!((e.label, e.exit_code()), (Label::Timeout, 28), "{e}");
    assert!(e.message.contains("before any answer"), "{}", e.message);
    assert!(
        took >= Duration::from_millis(290) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let server = h.join().expect("server thread");
    assert!(server.starts_with("silent, read "), "{server}");
}

#[test]
fn intermediate_that_is_not_a_ca_is_60() {
    use rcgen::{CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let root = ca("Loopback Test CA");
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::ExplicitNoCa;
    p.distinguished_name.push(DnType::CommonName, "Not A CA");
    let not_ca_der = p
        .signed_by(&key, &root.issuer)
        .expect("cert")
        .der()
        .to_vec();
    let not_ca = Ca {
        der: not_ca_der.clone(),
        issuer: Issuer::new(p, key),
    };
    let (leaf_der, leaf_key) = leaf(&[HOST], Some(&not_ca), |_| {});
    let (port, h) = serve(Mode::Tls(server_config(
        vec![leaf_der, not_ca_der],
        &leaf_key,
        &[&rustls::version::TLS13],
    )));
    let run = client(port, HOST, &opts_with(&root), Some(h));
    let e = expect_failure(&run, Label::CertNotCa);
    assert_eq!(e.exit_code(), 60);
    assert!(e.message.contains("not a CA"), "{}", e.message);
}
