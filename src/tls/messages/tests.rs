//! Byte-level fixtures for the handshake decoders: a real ClientHello written by rustls (the one
//! wtcurl sends), the RFC 8448 ServerHello, a TLS 1.2 ServerHello, a HelloRetryRequest, an alert.

use super::*;
use crate::tls::wire::{Piece, RecordSplitter};

fn unhex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap_or(0))
        .collect()
}

/// Captured from rustls 0.23 (ring provider, TLS 1.3 + 1.2, ALPN http/1.1, SNI example.com) with
/// `ClientConnection::write_tls`, i.e. the first bytes wtcurl sends on an https connection.
const CLIENT_HELLO_RECORD: &str = "
    16 0301 00f8                        record: handshake, version TLS 1.0 (as RFC 8446 allows), 248 bytes
    01 0000f4                           ClientHello, 244 bytes
    0303                                legacy_version TLS 1.2 (the real versions are in supported_versions)
    d761e68f60e94c7556af3a909143f385 419d7f1b5d1464bd4febab1ebd84a7e3   random
    20 371cef8f0f1187cb3daf3223287f1eb5 f5a967b5fa847803b97c00dabc26adea  legacy_session_id (32 bytes, middlebox compatibility)
    0014 1302 1301 1303 c02c c02b cca9 c030 c02f cca8 00ff          ten cipher suites
    01 00                               compression: null only
    0097                                extensions, 151 bytes:
    0023 0000                             session_ticket, empty
    0000 0010 000e 00 000b 6578616d706c652e636f6d     server_name example.com
    000a 0008 0006 001d 0017 0018         supported_groups x25519 secp256r1 secp384r1
    0010 000b 0009 08 687474702f312e31    ALPN http/1.1
    002b 0005 04 0304 0303                supported_versions TLS 1.3, TLS 1.2
    0033 0026 0024 001d 0020 21651f14e77ccaa08351f240d73d3bef0d48d96fd79dee53110ae1db2099220f  key_share x25519
    000b 0002 0100                        ec_point_formats uncompressed
    002d 0002 0101                        psk_key_exchange_modes psk_dhe_ke
    0017 0000                             extended_master_secret
    0005 0005 0100000000                  status_request (OCSP)
    000d 0014 0012 0503 0403 0807 0806 0805 0804 0601 0501 0401   signature_algorithms
";

fn one_record(bytes: &[u8]) -> (u8, Vec<u8>) {
    let mut out = Vec::new();
    RecordSplitter::default().push(bytes, &mut |_| true, &mut out);
    match out.pop() {
        Some(Piece::Record {
            header,
            payload: Some(p),
        }) => (header.content_type, p),
        other => panic!("not one record: {other:?}"),
    }
}

// The annotations above contain hex-looking words ("a", "b", "c", "d", "e", "f" in English words);
// the fixture is therefore built from the hex columns only.
fn client_hello_bytes() -> Vec<u8> {
    let hex_cols: String = CLIENT_HELLO_RECORD
        .lines()
        .map(|l| {
            l.split_whitespace()
                .take_while(|w| w.chars().all(|c| c.is_ascii_hexdigit()))
                .collect::<String>()
        })
        .collect();
    unhex(&hex_cols)
}

#[test]
fn real_rustls_client_hello_decodes() {
    let bytes = client_hello_bytes();
    assert_eq!(bytes.len(), 5 + 0xf8);
    let (ct, payload) = one_record(&bytes);
    assert_eq!(ct, 22);
    assert_eq!(payload[0], 1, "ClientHello");
    let d = client_hello(&payload[4..]).expect("decodes");
    assert_eq!(d["legacy_version"], "TLS 1.2");
    assert_eq!(d["session_id_length"], 32);
    assert_eq!(d["server_name"], "example.com");
    assert_eq!(d["alpn"], json!(["http/1.1"]));
    assert_eq!(d["supported_versions"], json!(["TLS 1.3", "TLS 1.2"]));
    assert_eq!(
        d["supported_groups"],
        json!(["x25519", "secp256r1", "secp384r1"])
    );
    assert_eq!(
        d["key_share"],
        json!([{"group": "x25519", "key_length": 32}])
    );
    assert_eq!(d["cipher_suites"][0], "TLS_AES_256_GCM_SHA384");
    assert_eq!(d["cipher_suites"][1], "TLS_AES_128_GCM_SHA256");
    assert_eq!(d["cipher_suites"][2], "TLS_CHACHA20_POLY1305_SHA256");
    assert_eq!(
        d["cipher_suites"][3],
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"
    );
    assert_eq!(d["cipher_suites"][9], "TLS_EMPTY_RENEGOTIATION_INFO_SCSV");
    assert_eq!(d["signature_algorithms"][0], "ecdsa_secp384r1_sha384");
    assert_eq!(d["signature_algorithms"].as_array().map(Vec::len), Some(9));
    assert_eq!(d["pre_shared_key"], false);
    assert_eq!(d["session_ticket"], "empty (asks the server for a ticket)");
    assert_eq!(d["psk_key_exchange_modes"], json!(["psk_dhe_ke"]));
    assert_eq!(d["extensions"].as_array().map(Vec::len), Some(11));
    assert_eq!(d["compression_methods"], json!(["null"]));
}

#[test]
fn truncated_client_hello_is_refused_at_every_length() {
    let bytes = client_hello_bytes();
    let body = &bytes[9..];
    for cut in 0..body.len() {
        // Never panics; a cut inside the fixed part or inside an extension is refused.
        let _ = client_hello(&body[..cut]);
        let _ = detail(1, &body[..cut], false);
    }
    assert!(client_hello(&body[..40]).is_none());
}

/// RFC 8448 section 3 (Simple 1-RTT Handshake): the server's ServerHello, 86 bytes.
const RFC8448_SERVER_HELLO: &str = "
    02 000056 0303
    a6af06a4121860dc5e6e60249cd34c95930c8ac5cb1434dac155772ed3e26928
    00 1301 00 002e
    0033 0024 001d 0020 c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f
    002b 0002 0304
";

#[test]
fn rfc8448_server_hello_decodes() {
    let msg = unhex(RFC8448_SERVER_HELLO);
    assert_eq!(msg.len(), 4 + 0x56);
    let (facts, d) = server_hello(&msg[4..]).expect("decodes");
    assert_eq!(
        facts,
        ServerHelloFacts {
            is_hrr: false,
            version: 0x0304,
            cipher_suite: 0x1301,
            key_share_group: Some(0x1d),
        }
    );
    assert_eq!(d["version"], "TLS 1.3");
    assert_eq!(d["legacy_version"], "TLS 1.2");
    assert_eq!(d["cipher_suite"], "TLS_AES_128_GCM_SHA256");
    assert_eq!(d["key_share"], json!({"group": "x25519", "key_length": 32}));
    assert_eq!(d["extensions"], json!(["key_share", "supported_versions"]));
    assert!(d.get("downgrade_sentinel").is_none());
}

#[test]
fn tls12_server_hello_with_downgrade_sentinel() {
    let mut body = unhex("0303");
    body.extend_from_slice(&[0x11; 24]);
    body.extend_from_slice(b"DOWNGRD\x01");
    body.extend(unhex(
        "00 c02f 00 0018 ff01 0001 00 0017 0000 0010 000b 0009 08 687474702f312e31",
    ));
    let (facts, d) = server_hello(&body).expect("decodes");
    assert_eq!(facts.version, 0x0303);
    assert!(!facts.is_hrr);
    assert_eq!(d["version"], "TLS 1.2");
    assert_eq!(d["cipher_suite"], "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256");
    assert_eq!(d["alpn"], "http/1.1");
    assert_eq!(d["extended_master_secret"], true);
    assert_eq!(d["downgrade_sentinel"], true);
}

#[test]
fn hello_retry_request_is_recognised_by_its_random() {
    let mut body = unhex("0303");
    body.extend_from_slice(&HRR_RANDOM);
    body.extend(unhex("00 1301 00 000c 002b 0002 0304 0033 0002 0017"));
    let (facts, d) = server_hello(&body).expect("decodes");
    assert!(facts.is_hrr);
    assert_eq!(facts.key_share_group, Some(0x17));
    assert_eq!(d["selected_group"], "secp256r1");
    assert!(
        d["note"]
            .as_str()
            .is_some_and(|n| n.contains("HelloRetryRequest"))
    );
    // One byte different: an ordinary ServerHello.
    body[2] ^= 1;
    assert!(!server_hello(&body).expect("decodes").0.is_hrr);
}

#[test]
fn alert_record_decodes() {
    let (ct, payload) = one_record(&unhex("15 0303 0002 02 46"));
    assert_eq!(ct, 21);
    let (level, desc) = crate::tls::wire::alert(&payload).expect("two bytes");
    assert_eq!(names::alert_level(level), "fatal");
    assert_eq!(names::alert_description(desc), "protocol_version");
}

#[test]
fn tls12_and_tls13_messages_decode() {
    // Certificate (TLS 1.3): empty context, one 3-byte "certificate" with no extensions.
    let (d, certs) = certificate(&unhex("00 000008 000003 aabbcc 0000"), true).expect("1.3");
    assert_eq!(certs, vec![vec![0xaa, 0xbb, 0xcc]]);
    assert_eq!(d["sizes"], json!([3]));
    // The same in TLS 1.2 (no context, no per-entry extensions).
    let (_, certs) = certificate(&unhex("000006 000003 aabbcc"), false).expect("1.2");
    assert_eq!(certs.len(), 1);
    assert!(certificate(&unhex("000009 000003 aabbcc"), false).is_none());
    let d = server_key_exchange(&unhex("03 001d 04 01020304 0804 0002 abcd")).expect("ske");
    assert_eq!(d["group"], "x25519");
    assert_eq!(d["signature_scheme"], "rsa_pss_rsae_sha256");
    assert_eq!(d["signature_length"], 2);
    assert_eq!(
        client_key_exchange(&unhex("02 0102")).expect("cke")["public_key_length"],
        2
    );
    let d = encrypted_extensions(&unhex("0013 0010 000b 0009 08 687474702f312e31 0000 0000"))
        .expect("ee");
    assert_eq!(d["alpn"], "http/1.1");
    assert_eq!(d["server_name_acknowledged"], true);
    let d = certificate_verify(&unhex("0403 0003 010203")).expect("cv");
    assert_eq!(d["signature_scheme"], "ecdsa_secp256r1_sha256");
    let d =
        new_session_ticket(&unhex("00001c20 01020304 01 00 0002 abcd 0000"), true).expect("nst");
    assert_eq!(d, json!({"lifetime_s": 7200, "ticket_length": 2}));
    assert_eq!(
        detail(20, &[0; 32], true),
        json!({"verify_data_length": 32})
    );
    assert_eq!(
        detail(11, &[1, 2], true)["note"],
        "malformed: could not be decoded"
    );
}

/// A deterministic xorshift, so the fuzz cases are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[test]
fn decoders_survive_random_and_mutated_input() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let hello = client_hello_bytes();
    let server = unhex(RFC8448_SERVER_HELLO);
    for round in 0..3000 {
        let len = (rng.next() % 600) as usize;
        let random = rng.bytes(len);
        // Mutations of real messages reach deeper into the decoders than pure noise.
        let mut mutated = if round % 2 == 0 {
            hello[9..].to_vec()
        } else {
            server[4..].to_vec()
        };
        for _ in 0..1 + rng.next() % 4 {
            let i = (rng.next() as usize) % mutated.len();
            mutated[i] = rng.next() as u8;
        }
        mutated.truncate((rng.next() as usize) % (mutated.len() + 1));
        for input in [&random, &mutated] {
            for ty in [1u8, 2, 4, 8, 11, 12, 13, 14, 15, 16, 20, 24, 99] {
                let _ = detail(ty, input, round % 3 == 0);
            }
            let _ = client_hello(input);
            let _ = server_hello(input);
            let mut out = Vec::new();
            RecordSplitter::default().push(input, &mut |_| true, &mut out);
            let _ = crate::tls::wire::Reassembler::default().push(input);
            let _ = crate::tls::cert::view(input);
            let _ = crate::tls::cert::name_from_contents(input);
            let _ = crate::tls::cert::der_contents(input);
        }
    }
}
