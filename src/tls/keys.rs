//! The secrets rustls derives, captured through its `KeyLog` hook: written to SSLKEYLOGFILE when
//! asked (NSS key log format, as curl does), and kept in memory so wtcurl can decrypt the TLS 1.3
//! handshake records it sent and received, exactly as Wireshark does with a key log file.

use rustls::crypto::cipher::{InboundOpaqueMessage, MessageDecrypter};
use rustls::crypto::tls13::OkmBlock;
use rustls::{ContentType, KeyLog, ProtocolVersion, Tls13CipherSuite};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;

pub const CLIENT_HANDSHAKE: &str = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
pub const SERVER_HANDSHAKE: &str = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
pub const CLIENT_TRAFFIC_0: &str = "CLIENT_TRAFFIC_SECRET_0";
pub const SERVER_TRAFFIC_0: &str = "SERVER_TRAFFIC_SECRET_0";

/// The labels kept in memory (the TLS 1.3 traffic secrets wtcurl decrypts with).
const KEPT: [&str; 4] = [
    CLIENT_HANDSHAKE,
    SERVER_HANDSHAKE,
    CLIENT_TRAFFIC_0,
    SERVER_TRAFFIC_0,
];

/// A `KeyLog` that remembers the TLS 1.3 traffic secrets of this one connection and appends every
/// line to the key log file, if one was given.
#[derive(Debug, Default)]
pub struct SecretLog {
    secrets: Mutex<Vec<(&'static str, Vec<u8>)>>,
    file: Option<Mutex<File>>,
    /// Why the key log file could not be opened, if it could not.
    pub file_error: Option<String>,
}

impl SecretLog {
    /// `keylog`: the SSLKEYLOGFILE path (opened for append, created 0600 like rustls' KeyLogFile).
    pub fn new(keylog: Option<&Path>) -> Self {
        let mut log = SecretLog::default();
        if let Some(path) = keylog {
            let mut o = OpenOptions::new();
            o.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            match o.open(path) {
                Ok(f) => log.file = Some(Mutex::new(f)),
                Err(e) => log.file_error = Some(format!("{}: {e}", path.display())),
            }
        }
        log
    }

    /// The secret logged under `label`, if rustls has derived it.
    pub fn get(&self, label: &str) -> Option<Vec<u8>> {
        let guard = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
        guard
            .iter()
            .rev()
            .find(|(l, _)| *l == label)
            .map(|(_, s)| s.clone())
    }
}

impl KeyLog for SecretLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        if let Some(kept) = KEPT.iter().find(|k| **k == label) {
            let mut guard = self.secrets.lock().unwrap_or_else(|p| p.into_inner());
            guard.push((kept, secret.to_vec()));
        }
        if let Some(file) = &self.file {
            let line = format!(
                "{label} {} {}\n",
                super::wire::hex(client_random),
                super::wire::hex(secret)
            );
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            // Like curl and rustls' KeyLogFile, a failing key log never fails the connection.
            let _ = f.write_all(line.as_bytes());
        }
    }
}

/// Decrypts the records of one direction of a TLS 1.3 connection under one traffic secret.
pub struct Tls13Opener {
    dec: Box<dyn MessageDecrypter>,
    seq: u64,
}

impl Tls13Opener {
    /// Derives the record key and IV from `secret` (RFC 8446 7.3) with the suite's own HKDF and AEAD.
    pub fn new(suite: &'static Tls13CipherSuite, secret: &[u8]) -> Option<Self> {
        if secret.is_empty() || secret.len() > OkmBlock::MAX_LEN {
            return None;
        }
        let expander = suite.hkdf_provider.expander_for_okm(&OkmBlock::new(secret));
        let key = rustls::internal::derive_traffic_key(expander.as_ref(), suite.aead_alg);
        let iv = rustls::internal::derive_traffic_iv(expander.as_ref());
        Some(Tls13Opener {
            dec: suite.aead_alg.decrypter(key, iv),
            seq: 0,
        })
    }

    /// Opens the next record's payload: returns the inner content type and the plaintext. The
    /// sequence number advances whether or not it succeeds (as the peer's did).
    pub fn open(&mut self, payload: &[u8]) -> Option<(u8, Vec<u8>)> {
        let mut buf = payload.to_vec();
        let seq = self.seq;
        self.seq = self.seq.saturating_add(1);
        let msg = InboundOpaqueMessage::new(
            ContentType::ApplicationData,
            ProtocolVersion::TLSv1_2,
            &mut buf,
        );
        let plain = self.dec.decrypt(msg, seq).ok()?;
        Some((u8::from(plain.typ), plain.payload.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_traffic_secrets_and_writes_nss_lines() {
        let dir = std::env::temp_dir().join(format!("wtcurl-keylog-{}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        let log = SecretLog::new(Some(&dir));
        assert!(log.file_error.is_none());
        log.log(SERVER_HANDSHAKE, &[1, 2], &[0xab; 32]);
        log.log("EXPORTER_SECRET", &[1, 2], &[0xcd; 32]);
        assert_eq!(log.get(SERVER_HANDSHAKE), Some(vec![0xab; 32]));
        assert_eq!(log.get("EXPORTER_SECRET"), None);
        let text = std::fs::read_to_string(&dir).unwrap_or_default();
        let _ = std::fs::remove_file(&dir);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            format!("{SERVER_HANDSHAKE} 0102 {}", "ab".repeat(32))
        );
    }

    #[test]
    fn unopenable_key_log_is_reported_not_fatal() {
        let log = SecretLog::new(Some(Path::new("/nonexistent-dir/x/keylog")));
        assert!(log.file_error.is_some());
        log.log(CLIENT_HANDSHAKE, &[0], &[1; 32]);
        assert!(log.get(CLIENT_HANDSHAKE).is_some());
    }

    #[test]
    fn opener_rejects_garbage_without_panicking() {
        let suite = rustls::crypto::ring::cipher_suite::TLS13_AES_128_GCM_SHA256.tls13();
        let Some(suite) = suite else {
            panic!("ring has TLS13_AES_128_GCM_SHA256")
        };
        assert!(Tls13Opener::new(suite, &[]).is_none());
        assert!(Tls13Opener::new(suite, &[0; 65]).is_none());
        let mut o = Tls13Opener::new(suite, &[7; 32]).expect("opener");
        assert_eq!(o.open(&[]), None);
        assert_eq!(o.open(&[0; 40]), None);
        assert_eq!(o.seq, 2);
    }
}
