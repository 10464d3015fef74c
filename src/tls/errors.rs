//! Turning a failed handshake into curl's exit code and an explanation that names the proof: the
//! certificate field, the alert, or the bytes that show what went wrong.

use super::cert::{self, CertView};
use super::names;
use crate::error::{Error, Label, Phase};
use rustls::{CertificateError, PeerIncompatible};

/// What is known about the handshake when it fails.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub host: String,
    /// Versions wtcurl offered, by name.
    pub offered: Vec<String>,
    /// The chain the server sent (empty if it sent none).
    pub chain: Vec<Vec<u8>>,
    /// The version the server picked in its ServerHello, if one arrived.
    pub server_version: Option<u16>,
    /// `tls_start.trust`.
    pub trust: String,
}

fn err(label: Label, message: String, hint: &str) -> Error {
    Error::new(Phase::Tls, label, message).hint(hint)
}

fn which(i: usize) -> String {
    if i == 0 {
        "the server's certificate".into()
    } else {
        format!("chain certificate #{i}")
    }
}

/// Explains a certificate that failed verification: (label, message, hint).
pub fn cert_problem(ce: &CertificateError, cx: &Context) -> (Label, String, String) {
    let views: Vec<Option<CertView>> = cx.chain.iter().map(|d| cert::view(d)).collect();
    let now = cert::now_unix();
    let leaf = views.first().cloned().flatten();
    let leaf_subject = leaf
        .as_ref()
        .map_or_else(|| "(unparsable)".to_owned(), |v| v.subject.clone());
    use CertificateError as C;
    match ce {
        C::Expired | C::ExpiredContext { .. } => {
            let found = views.iter().enumerate().find_map(|(i, v)| {
                v.as_ref().filter(|v| v.not_after_unix < now).map(|v| (i, v))
            });
            let m = match found {
                Some((i, v)) => format!(
                    "SSL certificate problem: certificate has expired: {} ({}) expired on {} ({} days ago)",
                    which(i),
                    v.subject,
                    v.not_after,
                    -cert::days_left(v.not_after_unix, now)
                ),
                None => "SSL certificate problem: certificate has expired".to_owned(),
            };
            (
                Label::CertExpired,
                m,
                format!(
                    "the server must renew its certificate; if this machine's clock is wrong (it says {}), fix it",
                    cert::utc(now)
                ),
            )
        }
        C::NotValidYet | C::NotValidYetContext { .. } => {
            let found = views.iter().enumerate().find_map(|(i, v)| {
                v.as_ref().filter(|v| v.not_before_unix > now).map(|v| (i, v))
            });
            let m = match found {
                Some((i, v)) => format!(
                    "SSL certificate problem: certificate is not yet valid: {} ({}) is valid from {} (in {} days)",
                    which(i),
                    v.subject,
                    v.not_before,
                    cert::days_left(v.not_before_unix, now) + 1
                ),
                None => "SSL certificate problem: certificate is not yet valid".to_owned(),
            };
            (
                Label::CertNotYetValid,
                m,
                format!(
                    "check the clocks: this machine says {}; the server's certificate was issued for later",
                    cert::utc(now)
                ),
            )
        }
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            // The leaf's own SAN list, as `tls_certificate` shows it; rustls' list as a fallback.
            let names = match (&leaf, ce) {
                (Some(v), _) if !v.sans.is_empty() => v.sans.join(", "),
                (_, C::NotValidForNameContext { presented, .. }) => presented.join(", "),
                _ => String::new(),
            };
            let names = if names.is_empty() {
                "no subjectAltName at all (the CN is not used for matching)".to_owned()
            } else {
                names
            };
            (
                Label::CertWrongHost,
                format!(
                    "SSL: no alternative certificate subject name matches target host name '{}': the certificate ({leaf_subject}) is for {names}",
                    cx.host
                ),
                "use a name the certificate covers, or --resolve NAME:PORT:ADDR to reach this address under that name".to_owned(),
            )
        }
        C::UnknownIssuer => unknown_issuer(&views, cx),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
            let eku = leaf.as_ref().map(|v| v.eku.join(", ")).unwrap_or_default();
            (
                Label::CertBadUsage,
                format!(
                    "SSL certificate problem: unsupported certificate purpose: {leaf_subject} has extendedKeyUsage [{eku}], which does not include serverAuth (TLS server authentication)"
                ),
                "the server needs a certificate issued for TLS server authentication (EKU serverAuth)".to_owned(),
            )
        }
        C::BadSignature => (
            Label::CertInvalid,
            "SSL certificate problem: certificate signature failure: a signature in the chain does not verify with its issuer's key".to_owned(),
            "the chain is corrupt or mixes certificates from different issuers".to_owned(),
        ),
        C::Other(o) => {
            let s = o.to_string();
            if s.contains("EndEntityUsedAsCa") {
                (
                    Label::CertNotCa,
                    format!("SSL certificate problem: invalid CA certificate: a certificate in the chain signs another one but is not a CA (no basicConstraints cA=TRUE) ({s})"),
                    "the issuing certificate must be a CA certificate".to_owned(),
                )
            } else if s.contains("CaUsedAsEndEntity") {
                (
                    Label::CertBadUsage,
                    format!("SSL certificate problem: {leaf_subject} is a CA certificate (basicConstraints cA=TRUE) used as a server certificate ({s})"),
                    "the server needs a leaf certificate (cA=FALSE) issued by the CA".to_owned(),
                )
            } else {
                (
                    Label::CertInvalid,
                    format!("SSL certificate problem: {s}"),
                    "see the certificates above".to_owned(),
                )
            }
        }
        other => (
            Label::CertInvalid,
            format!("SSL certificate problem: {other:?}"),
            "see the certificates above".to_owned(),
        ),
    }
}

fn unknown_issuer(views: &[Option<CertView>], cx: &Context) -> (Label, String, String) {
    let leaf = views.first().cloned().flatten();
    let last = views.last().cloned().flatten();
    match (leaf, last) {
        (Some(l), _) if views.len() == 1 && l.self_issued => (
            Label::CertSelfSigned,
            format!(
                "SSL certificate problem: self-signed certificate: {} is its own issuer and is not in the trust store: {}",
                l.subject, cx.trust
            ),
            format!(
                "if you trust it, check its fingerprint (SHA-256 {}) and pass it with --cacert FILE; -k skips verification (unsafe)",
                l.sha256
            ),
        ),
        (_, Some(top)) if views.len() > 1 && top.self_issued => (
            Label::CertUnknownIssuer,
            format!(
                "SSL certificate problem: self-signed certificate in certificate chain: the chain ends at the root {}, which is not in the trust store (untrusted root)",
                top.subject
            ),
            "if you trust that root, pass it with --cacert FILE".to_owned(),
        ),
        (Some(l), _) if views.len() == 1 => (
            Label::CertUnknownIssuer,
            format!(
                "SSL certificate problem: unable to get local issuer certificate: the server sent only its own certificate ({}), issued by {}, which is not in the trust store: either that issuer is an intermediate the server should have sent, or a private CA this trust store does not have",
                l.subject, l.issuer
            ),
            "for a private CA pass it with --cacert FILE; for a public one the server must send its full chain (leaf + intermediates)".to_owned(),
        ),
        (_, Some(top)) => (
            Label::CertUnknownIssuer,
            format!(
                "SSL certificate problem: unable to get local issuer certificate: the chain's last certificate ({}) was issued by {}, which is neither in the chain nor in the trust store",
                top.subject, top.issuer
            ),
            "the server may be missing an intermediate, or its root is not trusted here; pass it with --cacert FILE".to_owned(),
        ),
        _ => (
            Label::CertUnknownIssuer,
            "SSL certificate problem: unable to get local issuer certificate".to_owned(),
            "pass the issuing CA with --cacert FILE".to_owned(),
        ),
    }
}

/// Maps a rustls error to wtcurl's error (label, message naming the proof, hint).
pub fn map(e: &rustls::Error, cx: &Context) -> Error {
    use rustls::Error as E;
    let offered = cx.offered.join(", ");
    match e {
        E::InvalidCertificate(ce) => {
            let (label, m, hint) = cert_problem(ce, cx);
            err(label, m, &hint)
        }
        E::AlertReceived(a) => {
            let code = u8::from(*a);
            let name = names::alert_description(code);
            let base = format!("the server ended the handshake with a fatal {name} alert ({code})");
            match code {
                70 => err(
                    Label::TlsProtocolVersion,
                    format!(
                        "{base}: it accepts none of the TLS versions wtcurl offered ({offered})"
                    ),
                    "the server speaks another TLS version: see --tlsv1.2 / --tls-max (wtcurl, like rustls, speaks only TLS 1.2 and 1.3)",
                ),
                40 | 71 => err(
                    Label::TlsNoSharedCipher,
                    format!(
                        "{base}: servers send it when they share no cipher suite, key exchange group or signature algorithm with the client (see the ClientHello above for what wtcurl offered)"
                    ),
                    "the server only accepts algorithms rustls does not implement (old CBC/RSA-key-exchange suites, for example); `openssl s_client` shows what it wants",
                ),
                112 => err(
                    Label::TlsAlertReceived,
                    format!(
                        "{base}: the server does not know the name {} sent in SNI",
                        cx.host
                    ),
                    "check the host name; --resolve lets you keep the name while choosing the address",
                ),
                116 | 41 | 42 => err(
                    Label::TlsAlertReceived,
                    format!("{base}: the server probably requires a client certificate"),
                    "wtcurl does not send client certificates",
                ),
                _ => err(
                    Label::TlsAlertReceived,
                    base,
                    "the server refused something in the handshake; `openssl s_client -connect HOST:PORT` shows its side",
                ),
            }
        }
        E::PeerIncompatible(p) => {
            use PeerIncompatible as P;
            let chose = cx
                .server_version
                .map(|v| format!("the server chose {}", names::version(v)))
                .unwrap_or_else(|| "the server's choice".to_owned());
            match p {
                P::ServerDoesNotSupportTls12Or13
                | P::ServerTlsVersionIsDisabledByOurConfig
                | P::SupportedVersionsExtensionRequired
                | P::Tls12NotOffered
                | P::Tls12NotOfferedOrEnabled => err(
                    Label::TlsProtocolVersion,
                    format!(
                        "no TLS version in common: {chose}, but wtcurl offered only {offered} ({p:?})"
                    ),
                    "see --tlsv1.2 / --tlsv1.3 / --tls-max",
                ),
                P::NoCipherSuitesInCommon
                | P::NoKxGroupsInCommon
                | P::NoSignatureSchemesInCommon
                | P::NoEcPointFormatsInCommon => err(
                    Label::TlsNoSharedCipher,
                    format!("no algorithm in common with the server ({p:?})"),
                    "the server only accepts algorithms rustls does not implement",
                ),
                _ => err(
                    Label::TlsHandshake,
                    format!("the server's handshake is incompatible with rustls: {p:?}"),
                    "`openssl s_client -connect HOST:PORT` shows the server's side",
                ),
            }
        }
        E::NoCertificatesPresented => err(
            Label::CertInvalid,
            "the server sent no certificate".to_owned(),
            "a TLS server must present a certificate",
        ),
        other => err(
            Label::TlsHandshake,
            format!("TLS handshake failed: {other}"),
            "`openssl s_client -connect HOST:PORT -servername HOST` shows the server's side of the handshake",
        ),
    }
}

/// The server answered with bytes that are not TLS.
pub fn not_tls(first: &[u8]) -> Error {
    let shown: String = String::from_utf8_lossy(first)
        .chars()
        .take_while(|c| *c != '\r' && *c != '\n')
        .map(|c| if c.is_control() { '.' } else { c })
        .collect();
    let looks_http = first.starts_with(b"HTTP/");
    let m = if looks_http {
        format!("the server answered the ClientHello in plain HTTP, not TLS: it sent \"{shown}\"")
    } else {
        format!(
            "the server answered with bytes that are not a TLS record: \"{shown}\" (first byte 0x{:02x}; a TLS record starts with 0x14-0x18 then 0x03)",
            first.first().copied().unwrap_or(0)
        )
    };
    err(
        Label::TlsNotTls,
        m,
        "this port does not speak TLS: use http:// for it, or the server's TLS port",
    )
}

/// The server closed (or reset) the connection before the handshake finished.
pub fn peer_closed(how: &str, received: u64, stage: &str) -> Error {
    err(
        Label::TlsPeerClosed,
        format!(
            "the server {how} during the TLS handshake, {stage} ({received} bytes received from it), without a TLS alert"
        ),
        "the server may not speak TLS here, may reject the SNI name or what wtcurl offered; `openssl s_client -connect HOST:PORT -servername HOST` shows its side",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alerts_and_incompatibilities_map_to_curl_codes() {
        let cx = Context {
            host: "h.test".into(),
            offered: vec!["TLS 1.3".into()],
            ..Context::default()
        };
        let e = map(
            &rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
            &cx,
        );
        assert_eq!((e.label, e.exit_code()), (Label::TlsProtocolVersion, 35));
        assert!(
            e.message.contains("protocol_version alert (70)"),
            "{}",
            e.message
        );
        let e = map(
            &rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
            &cx,
        );
        assert_eq!(e.label, Label::TlsNoSharedCipher);
        let e = map(
            &rustls::Error::PeerIncompatible(
                PeerIncompatible::ServerTlsVersionIsDisabledByOurConfig,
            ),
            &cx,
        );
        assert_eq!(e.label, Label::TlsProtocolVersion);
        let e = map(&rustls::Error::DecryptError, &cx);
        assert_eq!(e.label, Label::TlsHandshake);
        let e = map(
            &rustls::Error::InvalidCertificate(CertificateError::NotValidForName),
            &cx,
        );
        assert_eq!((e.label, e.exit_code()), (Label::CertWrongHost, 60));
        let e = map(
            &rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
            &cx,
        );
        assert_eq!(e.label, Label::CertUnknownIssuer);
    }

    #[test]
    fn plain_http_answer_is_quoted() {
        let e = not_tls(b"HTTP/1.1 400 Bad Request\r\nServer: x\r\n");
        assert_eq!((e.label, e.exit_code()), (Label::TlsNotTls, 35));
        assert!(
            e.message.contains("\"HTTP/1.1 400 Bad Request\""),
            "{}",
            e.message
        );
        let e = not_tls(&[0x00, 0x01, b'x']);
        assert!(e.message.contains("first byte 0x00"), "{}", e.message);
    }
}
