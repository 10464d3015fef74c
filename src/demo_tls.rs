//! The demo's HTTPS stand-in: a CA made at start-up, a wetransfer.com certificate it signs, and a
//! rustls server on loopback that serves a small page. The CA is trusted for the demo run only.

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The page the stand-in serves on 443.
pub const DEMO_PAGE: &str = "<!doctype html>\n<html><head><title>WeTransfer (wtcurl demo stand-in)</title></head>\n<body><h1>Send large files</h1><p>This page comes from wtcurl's offline stand-in, not from wetransfer.com.</p></body></html>\n";

/// The CA the demo makes and trusts for one run.
pub struct DemoCa {
    pub ca_der: Vec<u8>,
    pub leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

/// (year, month, day) for rcgen's date type.
fn civil_from_days(days: i64) -> (i32, u8, u8) {
    let (y, m, d) = crate::tls::cert::civil_from_days(days);
    (y as i32, m as u8, d as u8)
}

/// Today as a Unix day number.
fn today() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 / 86_400)
        .unwrap_or(0)
}

impl DemoCa {
    /// A fresh CA, and a certificate for `host` valid from yesterday for 90 days, like a real one.
    pub fn new(host: &str) -> Result<Self, rcgen::Error> {
        // A closure, so the date type (from the `time` crate, rcgen's) need not be named here.
        let day = |offset: i64| {
            let (y, m, d) = civil_from_days(today() + offset);
            rcgen::date_time_ymd(y, m, d)
        };
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "wtcurl demo CA (made at start-up)");
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        ca.not_before = day(-1);
        ca.not_after = day(2);
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);

        let leaf_key = KeyPair::generate()?;
        let mut leaf = CertificateParams::new(vec![host.to_string()])?;
        leaf.distinguished_name.push(DnType::CommonName, host);
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        leaf.use_authority_key_identifier_extension = true;
        leaf.not_before = day(-1);
        leaf.not_after = day(89);
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
        Ok(DemoCa {
            ca_der: ca_cert.der().to_vec(),
            leaf_der: leaf_cert.der().to_vec(),
            leaf_key_der: leaf_key.serialize_der(),
        })
    }

    fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let chain = vec![CertificateDer::from(self.leaf_der.clone())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key_der.clone()));
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(cfg))
    }
}

/// The stand-in's HTTP response on 443.
pub fn page_response() -> String {
    format!(
        "HTTP/1.1 200 OK\r\nServer: wtcurl-demo-stand-in\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\r\n{DEMO_PAGE}",
        DEMO_PAGE.len()
    )
}

fn serve(listener: TcpListener, cfg: Arc<rustls::ServerConfig>) {
    for stream in listener.incoming() {
        let Ok(tcp) = stream else { continue };
        let _ = tcp.set_read_timeout(Some(Duration::from_secs(5)));
        let Ok(conn) = rustls::ServerConnection::new(cfg.clone()) else {
            continue;
        };
        let mut tls = rustls::StreamOwned::new(conn, tcp);
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
            match tls.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        if head.is_empty() {
            continue;
        }
        let _ = tls.write_all(page_response().as_bytes());
        let _ = tls.flush();
        // Wait for the client's close_notify or close, like a keep-alive server.
        let _ = tls.read(&mut buf);
    }
}

/// Starts the HTTPS stand-in on 127.0.0.1 (a port the kernel picks).
pub fn start(ca: &DemoCa) -> std::io::Result<SocketAddr> {
    let cfg = ca.server_config().map_err(std::io::Error::other)?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || serve(listener, cfg));
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_are_right() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn demo_ca_signs_a_server_certificate_for_the_host() {
        let ca = DemoCa::new("wetransfer.com").unwrap();
        let (_, leaf) = x509_parser::parse_x509_certificate(&ca.leaf_der).unwrap();
        let (_, root) = x509_parser::parse_x509_certificate(&ca.ca_der).unwrap();
        assert_eq!(leaf.issuer(), root.subject());
        assert!(root.is_ca());
        let san = leaf.subject_alternative_name().unwrap().unwrap();
        assert!(format!("{:?}", san.value).contains("wetransfer.com"));
        assert!(ca.server_config().is_ok());
    }
}
