//! Certificate verification that can be explained: rustls' own WebPkiServerVerifier does the work,
//! wrapped so the chain, the verdict, the trust anchor it ended at and the name that matched are
//! recorded for the trace. With `-k` the verdict is still computed and reported, then overridden.

use super::cert;
use super::trust::{Anchor, Trust};
use crate::error::{Error, Label, Phase, Result};
use crate::event::{Event, Tracer};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::sync::{Arc, Mutex};

/// What the verifier saw and decided.
#[derive(Clone, Debug, Default)]
pub struct VerifyRecord {
    /// The chain exactly as the server sent it (index 0 is the server's own certificate).
    pub chain: Vec<Vec<u8>>,
    /// `None` until rustls asks for verification.
    pub result: Option<std::result::Result<(), rustls::Error>>,
    /// `CN=… (origin)` of the anchor the chain was proven to end at.
    pub anchor: Option<String>,
    /// The certificate name that matched the host (`DNS:example.com`).
    pub matched_name: Option<String>,
    /// The events for this record were emitted.
    pub emitted: bool,
}

pub type SharedRecord = Arc<Mutex<VerifyRecord>>;

pub fn lock(r: &SharedRecord) -> std::sync::MutexGuard<'_, VerifyRecord> {
    r.lock().unwrap_or_else(|p| p.into_inner())
}

#[derive(Debug)]
pub struct RecordingVerifier {
    inner: Arc<WebPkiServerVerifier>,
    anchors: Vec<Anchor>,
    provider: Arc<CryptoProvider>,
    insecure: bool,
    pub record: SharedRecord,
}

fn webpki_for(
    store: RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| {
            Error::new(
                Phase::Tls,
                Label::CaFileBad,
                format!("no usable trust anchor: {e}"),
            )
            .hint("give --cacert a PEM file of CA certificates")
        })
}

impl RecordingVerifier {
    pub fn new(trust: &Trust, provider: Arc<CryptoProvider>, insecure: bool) -> Result<Self> {
        Ok(RecordingVerifier {
            inner: webpki_for(trust.store(), &provider)?,
            anchors: trust.anchors.clone(),
            provider,
            insecure,
            record: SharedRecord::default(),
        })
    }

    /// Which anchor the verified chain ends at: each anchor whose subject is the issuer of a
    /// certificate in the chain is tried alone; the one that verifies the chain by itself is it.
    fn find_anchor(
        &self,
        ee: &CertificateDer<'_>,
        inter: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        now: UnixTime,
    ) -> Option<String> {
        let issuers: Vec<Vec<u8>> = std::iter::once(ee)
            .chain(inter)
            .filter_map(|c| cert::view(c).map(|v| v.issuer_raw))
            .collect();
        let candidates: Vec<_> = self
            .anchors
            .iter()
            .filter(|a| {
                issuers
                    .iter()
                    .any(|i| i.as_slice() == a.ta.subject.as_ref())
            })
            .take(8)
            .collect();
        // The chain verified, and a verified path ends at an anchor whose subject is the issuer of
        // one of its certificates: with one candidate, it is that one; no need to verify again.
        if let [only] = candidates.as_slice() {
            return Some(format!("{} ({})", only.name, only.origin));
        }
        candidates
            .into_iter()
            .find(|a| {
                let store = RootCertStore {
                    roots: vec![a.ta.clone()],
                };
                webpki_for(store, &self.provider)
                    .is_ok_and(|v| v.verify_server_cert(ee, inter, name, &[], now).is_ok())
            })
            .map(|a| format!("{} ({})", a.name, a.origin))
    }
}

/// The leaf's name that matches `host` (RFC 6125: one `*` as the whole leftmost label).
pub fn matching_name(sans: &[String], host: &str) -> Option<String> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip: Option<std::net::IpAddr> = host.parse().ok();
    let host_l = host.trim_end_matches('.').to_ascii_lowercase();
    sans.iter()
        .find(|s| {
            if let Some(a) = s.strip_prefix("IP:") {
                return ip.is_some_and(|ip| a.parse() == Ok(ip));
            }
            let Some(d) = s.strip_prefix("DNS:") else {
                return false;
            };
            if ip.is_some() {
                return false;
            }
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            match d.strip_prefix("*.") {
                Some(rest) => host_l
                    .split_once('.')
                    .is_some_and(|(first, tail)| !first.is_empty() && tail == rest),
                None => d == host_l,
            }
        })
        .cloned()
}

impl ServerCertVerifier for RecordingVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let res = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        let (anchor, matched) = if res.is_ok() {
            let sans = cert::view(end_entity).map(|v| v.sans).unwrap_or_default();
            (
                self.find_anchor(end_entity, intermediates, server_name, now),
                matching_name(&sans, &server_name.to_str()),
            )
        } else {
            (None, None)
        };
        {
            let mut rec = lock(&self.record);
            rec.chain = std::iter::once(end_entity)
                .chain(intermediates)
                .map(|c| c.as_ref().to_vec())
                .collect();
            rec.result = Some(res.as_ref().map(|_| ()).map_err(Clone::clone));
            rec.anchor = anchor;
            rec.matched_name = matched;
            rec.emitted = false;
        }
        if self.insecure {
            Ok(ServerCertVerified::assertion())
        } else {
            res
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        // Even with -k the handshake signature is checked: it proves the server holds the key of
        // the certificate it sent (curl -k with OpenSSL does the same).
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Emits `tls_certificate` for each certificate of the recorded chain, then `tls_verified`, once.
/// `problem` is the explanation of a failed verification (see `errors::cert_problem`).
pub fn emit(
    t: &mut Tracer,
    record: &SharedRecord,
    host: &str,
    insecure: bool,
    problem: Option<String>,
) {
    let rec = {
        let mut r = lock(record);
        if r.emitted || r.result.is_none() {
            return;
        }
        r.emitted = true;
        r.clone()
    };
    let now = cert::now_unix();
    let mut leaf_until = None;
    for (index, der) in rec.chain.iter().enumerate() {
        let at_us = t.now_us();
        let ev = match cert::view(der) {
            Some(v) => {
                if index == 0 {
                    leaf_until =
                        Some((v.not_after.clone(), cert::days_left(v.not_after_unix, now)));
                }
                Event::TlsCertificate {
                    at_us,
                    index,
                    subject: v.subject,
                    issuer: v.issuer,
                    sans: v.sans,
                    not_before: v.not_before,
                    not_after: v.not_after,
                    days_left: cert::days_left(v.not_after_unix, now),
                    key: v.key,
                    signature: v.signature,
                    sha256: v.sha256,
                }
            }
            None => Event::TlsCertificate {
                at_us,
                index,
                subject: format!("(unparsable certificate, {} bytes)", der.len()),
                issuer: String::new(),
                sans: Vec::new(),
                not_before: String::new(),
                not_after: String::new(),
                days_left: 0,
                key: String::new(),
                signature: String::new(),
                sha256: cert::sha256_fingerprint(der),
            },
        };
        t.emit(ev);
    }
    let ok = matches!(rec.result, Some(Ok(())));
    let detail = if ok {
        let until = leaf_until
            .map(|(d, n)| format!("; valid until {d} ({n} days left)"))
            .unwrap_or_default();
        let base = format!(
            "chain of {} verified by webpki up to trust anchor {}; {host} matches {}{until}",
            rec.chain.len(),
            rec.anchor.as_deref().unwrap_or("(not identified)"),
            rec.matched_name
                .as_deref()
                .unwrap_or("(no name identified)"),
        );
        if insecure {
            format!("{base} (-k given: it would have been accepted anyway)")
        } else {
            base
        }
    } else {
        let why = problem.unwrap_or_else(|| "verification failed".to_owned());
        if insecure {
            format!(
                "NOT VERIFIED: {why}. ACCEPTED ANYWAY because of -k/--insecure: the connection is encrypted, but nothing proves the server is {host}"
            )
        } else {
            format!("verification failed: {why}")
        }
    };
    let at_us = t.now_us();
    t.emit(Event::TlsVerified {
        at_us,
        ok,
        anchor: rec.anchor,
        matched_name: rec.matched_name,
        detail,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_like_rfc6125() {
        let sans: Vec<String> = [
            "DNS:*.example.com",
            "DNS:Example.ORG",
            "IP:127.0.0.1",
            "IP:::1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            matching_name(&sans, "www.example.com").as_deref(),
            Some("DNS:*.example.com")
        );
        assert_eq!(matching_name(&sans, "a.b.example.com"), None);
        assert_eq!(matching_name(&sans, "example.com"), None);
        assert_eq!(
            matching_name(&sans, "example.org.").as_deref(),
            Some("DNS:Example.ORG")
        );
        assert_eq!(
            matching_name(&sans, "127.0.0.1").as_deref(),
            Some("IP:127.0.0.1")
        );
        assert_eq!(matching_name(&sans, "[::1]").as_deref(), Some("IP:::1"));
        assert_eq!(matching_name(&sans, "127.0.0.2"), None);
    }
}
