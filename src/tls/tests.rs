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
    assert_eq!(e.label, Label::BadUsage);
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
