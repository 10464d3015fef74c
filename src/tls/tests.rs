//! Unit tests of the handshake driver's small parts (the full handshakes are in tests/tls_*.rs).

use super::*;

#[test]
fn versions_follow_curl_min_and_max() {
    let mut o = TlsOptions::default();
    assert_eq!(
        versions(&o).ok(),
        Some(vec![TlsVersion::V1_3, TlsVersion::V1_2])
    );
    o.min = Some(TlsVersion::V1_3);
    assert_eq!(versions(&o).ok(), Some(vec![TlsVersion::V1_3]));
    o.min = None;
    o.max = Some(TlsVersion::V1_2);
    assert_eq!(versions(&o).ok(), Some(vec![TlsVersion::V1_2]));
    o.min = Some(TlsVersion::V1_3);
    let e = versions(&o).expect_err("min above max");
    assert_eq!((e.label, e.phase), (Label::TlsNoVersion, Phase::Tls));
    assert_eq!(e.exit_code(), 35);
    o.min = None;
    o.max = Some(TlsVersion::V1_1);
    let e = versions(&o).expect_err("nothing at or below 1.1");
    assert_eq!(e.label, Label::TlsNoVersion);
    assert!(e.message.contains("below TLS 1.2"), "{}", e.message);
}

#[test]
fn feed_keeps_what_rustls_refuses() {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let trust = trust::build(&TlsOptions::default()).expect("trust");
    let v = Arc::new(
        verify::RecordingVerifier::new(&trust, provider.clone(), false).expect("verifier"),
    );
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(v)
        .with_no_client_auth();
    let name = ServerName::try_from("example.com").expect("name");
    let mut c = ClientConnection::new(Arc::new(config), name).expect("conn");
    // Plain HTTP instead of a ServerHello: rustls rejects it, and nothing panics.
    let mut pending = b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec();
    assert!(feed(&mut c, &mut pending).is_err());
}

#[test]
fn wire_tracer_survives_garbage_records() {
    use crate::clock::FakeClock;
    use crate::event::Recorder;
    let clock = FakeClock::new(1);
    let mut rec = Recorder::default();
    let mut t = Tracer::new(&clock, &mut rec);
    let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..200 {
        let secrets = Arc::new(keys::SecretLog::default());
        // Secrets for every label, so the tracer tries (and fails) to open the records.
        for label in [
            keys::CLIENT_HANDSHAKE,
            keys::SERVER_HANDSHAKE,
            keys::SERVER_TRAFFIC_0,
        ] {
            rustls::KeyLog::log(secrets.as_ref(), label, &[0; 32], &[round as u8; 32]);
        }
        let record = verify::SharedRecord::default();
        let mut w = WireTracer::new(secrets, record, false, errors::Context::default());
        // A real TLS 1.3 ServerHello first (so the tracer expects encrypted records), then noise
        // framed as records of every content type.
        let mut sh = vec![
            0x16, 0x03, 0x03, 0x00, 0x5a, 0x02, 0x00, 0x00, 0x56, 0x03, 0x03,
        ];
        sh.extend_from_slice(&[7; 32]);
        sh.extend_from_slice(&[
            0x00, 0x13, 0x01, 0x00, 0x00, 0x2e, 0x00, 0x33, 0x00, 0x24, 0x00, 0x1d, 0x00, 0x20,
        ]);
        sh.extend_from_slice(&[9; 32]);
        sh.extend_from_slice(&[0x00, 0x2b, 0x00, 0x02, 0x03, 0x04]);
        w.on_bytes(&mut t, Dir::Received, &sh, suite);
        for _ in 0..20 {
            let ct = 20 + (next() % 5) as u8;
            let len = (next() % 300) as usize;
            let mut r = vec![ct, 0x03, 0x03, (len >> 8) as u8, len as u8];
            r.extend((0..len).map(|_| next() as u8));
            let dir = if next() % 2 == 0 {
                Dir::Sent
            } else {
                Dir::Received
            };
            w.on_bytes(&mut t, dir, &r, suite);
        }
        w.mark_done();
        w.infer_tls13(&mut t, None, None);
        assert!(w.has_seen(Dir::Received, "ServerHello"));
    }
}
