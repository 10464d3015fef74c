//! A rustls server on loopback with rcgen certificates: one connection per server, in a thread.

use super::IO_TIMEOUT;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::thread::JoinHandle;
use wtcurl::tls::TlsOptions;

pub const HOST: &str = "tls.test";
pub const BODY: &str = "hello over tls\n";

pub struct Ca {
    pub der: Vec<u8>,
    pub issuer: Issuer<'static, KeyPair>,
}

pub fn ca(cn: &str) -> Ca {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.distinguished_name.push(DnType::CommonName, cn);
    let cert = p.self_signed(&key).expect("ca cert");
    Ca {
        der: cert.der().to_vec(),
        issuer: Issuer::new(p, key),
    }
}

/// A server certificate for `names`, signed by `ca` (self-signed when `ca` is None).
pub fn leaf(
    names: &[&str],
    ca: Option<&Ca>,
    tweak: impl FnOnce(&mut CertificateParams),
) -> (Vec<u8>, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut p = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .expect("params");
    p.distinguished_name.push(DnType::CommonName, names[0]);
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    tweak(&mut p);
    let cert = match ca {
        Some(ca) => p.signed_by(&key, &ca.issuer).expect("leaf"),
        None => p.self_signed(&key).expect("self-signed"),
    };
    (cert.der().to_vec(), key)
}

pub fn server_config(
    chain: Vec<Vec<u8>>,
    key: &KeyPair,
    versions: &[&'static rustls::SupportedProtocolVersion],
) -> Arc<ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = chain.into_iter().map(CertificateDer::from).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut c = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(versions)
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("server cert");
    c.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(c)
}

pub enum Mode {
    Tls(Arc<ServerConfig>),
    /// Answers the ClientHello with plain HTTP.
    PlainHttp,
    /// Reads the ClientHello, then closes.
    CloseAfterHello,
    /// Reads and never answers.
    Silent,
}

/// Serves one connection; the thread returns what the server saw.
pub fn serve(mode: Mode) -> (u16, JoinHandle<String>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = std::thread::spawn(move || {
        let Ok((mut s, _)) = l.accept() else {
            return "accept failed".to_owned();
        };
        let _ = s.set_read_timeout(Some(IO_TIMEOUT));
        let _ = s.set_write_timeout(Some(IO_TIMEOUT));
        let mut buf = [0u8; 4096];
        match mode {
            Mode::PlainHttp => {
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                "plain".to_owned()
            }
            Mode::CloseAfterHello => {
                let n = s.read(&mut buf).unwrap_or(0);
                format!("closed after {n} bytes")
            }
            Mode::Silent => {
                // Never answers; returns when the client gives up and closes (or after IO_TIMEOUT).
                let mut total = 0;
                while let Ok(n @ 1..) = s.read(&mut buf) {
                    total += n;
                }
                format!("silent, read {total} bytes")
            }
            Mode::Tls(cfg) => tls_server(cfg, &mut s),
        }
    });
    (port, h)
}

pub fn tls_server(cfg: Arc<ServerConfig>, s: &mut TcpStream) -> String {
    let Ok(mut conn) = ServerConnection::new(cfg) else {
        return "server setup failed".to_owned();
    };
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(s) {
            return format!("handshake error: {e}");
        }
    }
    let mut stream = rustls::Stream::new(&mut conn, s);
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return "no request".to_owned(),
            Ok(n) => req.extend_from_slice(&buf[..n]),
        }
    }
    let resp = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = stream.write_all(resp.as_bytes());
    conn.send_close_notify();
    let _ = conn.complete_io(s);
    String::from_utf8_lossy(&req)
        .lines()
        .next()
        .unwrap_or("")
        .to_owned()
}

pub fn opts_with(ca: &Ca) -> TlsOptions {
    TlsOptions {
        extra_roots: vec![ca.der.clone()],
        extra_roots_label: Some("the test CA".into()),
        ..TlsOptions::default()
    }
}
