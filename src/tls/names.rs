//! The IANA names of TLS code points (versions, suites, groups, extensions, alerts), so every number
//! on the wire can be shown with the name the RFCs and Wireshark use.

/// RFC 8701 GREASE values (0x0a0a, 0x1a1a, … 0xfafa): random junk a client may send to keep servers
/// tolerant. rustls does not send any, but a decoder must recognise them.
pub fn is_grease(v: u16) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// `TLS 1.2` for 0x0303, and so on.
pub fn version(v: u16) -> String {
    match v {
        0x0200 => "SSL 2.0".into(),
        0x0300 => "SSL 3.0".into(),
        0x0301 => "TLS 1.0".into(),
        0x0302 => "TLS 1.1".into(),
        0x0303 => "TLS 1.2".into(),
        0x0304 => "TLS 1.3".into(),
        v if is_grease(v) => format!("GREASE(0x{v:04x})"),
        v => format!("0x{v:04x}"),
    }
}

/// The record layer's content type.
pub fn content_type(ct: u8) -> String {
    match ct {
        20 => "change_cipher_spec".into(),
        21 => "alert".into(),
        22 => "handshake".into(),
        23 => "application_data".into(),
        24 => "heartbeat".into(),
        x => format!("unknown({x})"),
    }
}

/// The handshake message type, named as the RFCs do (`ClientHello`).
pub fn handshake_type(ht: u8) -> String {
    handshake_name(ht).map_or_else(|| format!("unknown_handshake({ht})"), str::to_string)
}

/// The RFC name of a known handshake message type.
pub fn handshake_name(ht: u8) -> Option<&'static str> {
    Some(match ht {
        0 => "HelloRequest",
        1 => "ClientHello",
        2 => "ServerHello",
        4 => "NewSessionTicket",
        5 => "EndOfEarlyData",
        8 => "EncryptedExtensions",
        11 => "Certificate",
        12 => "ServerKeyExchange",
        13 => "CertificateRequest",
        14 => "ServerHelloDone",
        15 => "CertificateVerify",
        16 => "ClientKeyExchange",
        20 => "Finished",
        22 => "CertificateStatus",
        24 => "KeyUpdate",
        25 => "CompressedCertificate",
        254 => "MessageHash",
        _ => return None,
    })
}

/// The IANA name of a cipher suite (`TLS_AES_128_GCM_SHA256`).
pub fn cipher_suite(cs: u16) -> String {
    if is_grease(cs) {
        return format!("GREASE(0x{cs:04x})");
    }
    match rustls::CipherSuite::from(cs).as_str() {
        // rustls spells the TLS 1.3 suites TLS13_*; IANA (and openssl -ciphersuites) say TLS_*.
        Some(n) => n
            .strip_prefix("TLS13_")
            .map_or_else(|| n.to_owned(), |r| format!("TLS_{r}")),
        None => format!("0x{cs:04x}"),
    }
}

/// The IANA name of a named group (`x25519`, `secp256r1`, `X25519MLKEM768`).
pub fn group(g: u16) -> String {
    let name = match g {
        0x0017 => "secp256r1",
        0x0018 => "secp384r1",
        0x0019 => "secp521r1",
        0x001d => "x25519",
        0x001e => "x448",
        0x0100 => "ffdhe2048",
        0x0101 => "ffdhe3072",
        0x0102 => "ffdhe4096",
        0x0103 => "ffdhe6144",
        0x0104 => "ffdhe8192",
        0x11ec => "X25519MLKEM768",
        0x11eb => "SecP256r1MLKEM768",
        0x11ed => "SecP384r1MLKEM1024",
        0x6399 => "X25519Kyber768Draft00",
        g if is_grease(g) => return format!("GREASE(0x{g:04x})"),
        g => return format!("0x{g:04x}"),
    };
    name.into()
}

/// The IANA name of a signature scheme (`ecdsa_secp256r1_sha256`, `rsa_pss_rsae_sha256`).
pub fn signature_scheme(s: u16) -> String {
    let name = match s {
        0x0201 => "rsa_pkcs1_sha1",
        0x0203 => "ecdsa_sha1",
        0x0401 => "rsa_pkcs1_sha256",
        0x0501 => "rsa_pkcs1_sha384",
        0x0601 => "rsa_pkcs1_sha512",
        0x0403 => "ecdsa_secp256r1_sha256",
        0x0503 => "ecdsa_secp384r1_sha384",
        0x0603 => "ecdsa_secp521r1_sha512",
        0x0804 => "rsa_pss_rsae_sha256",
        0x0805 => "rsa_pss_rsae_sha384",
        0x0806 => "rsa_pss_rsae_sha512",
        0x0807 => "ed25519",
        0x0808 => "ed448",
        0x0809 => "rsa_pss_pss_sha256",
        0x080a => "rsa_pss_pss_sha384",
        0x080b => "rsa_pss_pss_sha512",
        s if is_grease(s) => return format!("GREASE(0x{s:04x})"),
        s => return format!("0x{s:04x}"),
    };
    name.into()
}

/// The IANA name of an extension (`server_name`, `key_share`).
pub fn extension(e: u16) -> String {
    let name = match e {
        0 => "server_name",
        1 => "max_fragment_length",
        5 => "status_request",
        10 => "supported_groups",
        11 => "ec_point_formats",
        13 => "signature_algorithms",
        14 => "use_srtp",
        15 => "heartbeat",
        16 => "application_layer_protocol_negotiation",
        17 => "status_request_v2",
        18 => "signed_certificate_timestamp",
        19 => "client_certificate_type",
        20 => "server_certificate_type",
        21 => "padding",
        22 => "encrypt_then_mac",
        23 => "extended_master_secret",
        27 => "compress_certificate",
        28 => "record_size_limit",
        35 => "session_ticket",
        41 => "pre_shared_key",
        42 => "early_data",
        43 => "supported_versions",
        44 => "cookie",
        45 => "psk_key_exchange_modes",
        47 => "certificate_authorities",
        48 => "oid_filters",
        49 => "post_handshake_auth",
        50 => "signature_algorithms_cert",
        51 => "key_share",
        57 => "quic_transport_parameters",
        0x4469 => "application_settings",
        0xfe0d => "encrypted_client_hello",
        0xff01 => "renegotiation_info",
        e if is_grease(e) => return format!("GREASE(0x{e:04x})"),
        e => return format!("unknown({e})"),
    };
    name.into()
}

/// Alert level: 1 warning, 2 fatal.
pub fn alert_level(l: u8) -> String {
    match l {
        1 => "warning".into(),
        2 => "fatal".into(),
        x => format!("unknown({x})"),
    }
}

/// The RFC 8446 name of an alert description (`handshake_failure`).
pub fn alert_description(d: u8) -> String {
    let name = match d {
        0 => "close_notify",
        10 => "unexpected_message",
        20 => "bad_record_mac",
        21 => "decryption_failed",
        22 => "record_overflow",
        30 => "decompression_failure",
        40 => "handshake_failure",
        41 => "no_certificate",
        42 => "bad_certificate",
        43 => "unsupported_certificate",
        44 => "certificate_revoked",
        45 => "certificate_expired",
        46 => "certificate_unknown",
        47 => "illegal_parameter",
        48 => "unknown_ca",
        49 => "access_denied",
        50 => "decode_error",
        51 => "decrypt_error",
        60 => "export_restriction",
        70 => "protocol_version",
        71 => "insufficient_security",
        80 => "internal_error",
        86 => "inappropriate_fallback",
        90 => "user_canceled",
        100 => "no_renegotiation",
        109 => "missing_extension",
        110 => "unsupported_extension",
        111 => "certificate_unobtainable",
        112 => "unrecognized_name",
        113 => "bad_certificate_status_response",
        114 => "bad_certificate_hash_value",
        115 => "unknown_psk_identity",
        116 => "certificate_required",
        120 => "no_application_protocol",
        121 => "ech_required",
        x => return format!("unknown({x})"),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_iana() {
        assert_eq!(version(0x0303), "TLS 1.2");
        assert_eq!(version(0x0304), "TLS 1.3");
        assert_eq!(version(0x7f1c), "0x7f1c");
        assert_eq!(cipher_suite(0x1301), "TLS_AES_128_GCM_SHA256");
        assert_eq!(
            cipher_suite(0xc02b),
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
        );
        assert_eq!(cipher_suite(0x00ff), "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
        assert_eq!(cipher_suite(0x2a2a), "GREASE(0x2a2a)");
        assert_eq!(group(0x001d), "x25519");
        assert_eq!(signature_scheme(0x0804), "rsa_pss_rsae_sha256");
        assert_eq!(extension(43), "supported_versions");
        assert_eq!(alert_description(70), "protocol_version");
        assert_eq!(alert_description(200), "unknown(200)");
        assert_eq!(handshake_type(8), "EncryptedExtensions");
        assert!(is_grease(0xfafa) && !is_grease(0x0a0b));
    }
}
