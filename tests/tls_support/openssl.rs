//! `openssl s_server` with a PKI made by the openssl CLI, and real curl as the reference client.

use crate::common::{TempDir, free_port, require_tool};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn tools() -> bool {
    require_tool("openssl") && require_tool("curl")
}

pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The test PKI, made with the openssl CLI: a root, an intermediate, and leaves for localhost.
pub struct Pki {
    pub dir: TempDir,
}

impl Pki {
    pub fn new() -> Pki {
        let pki = Pki {
            dir: TempDir::new("tls-openssl"),
        };
        let d = pki.dir.path();
        for (name, cn) in [
            ("root", "wtcurl Test Root"),
            ("other-root", "wtcurl Other Root"),
        ] {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "ec",
                    "-pkeyopt",
                    "ec_paramgen_curve:prime256v1",
                    "-nodes",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pem"),
                    "-days",
                    "3650",
                    "-subj",
                    &format!("/CN={cn}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        std::fs::write(
            d.join("ca.ext"),
            "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
        )
        .expect("ext");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "inter.key",
                "-out",
                "inter.csr",
                "-subj",
                "/CN=wtcurl Test Intermediate",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "inter.csr",
                "-CA",
                "root.pem",
                "-CAkey",
                "root.key",
                "-set_serial",
                "1001",
                "-days",
                "3650",
                "-extfile",
                "ca.ext",
                "-out",
                "inter.pem",
            ],
        );
        pki.leaf("leaf", "inter", "serverAuth");
        pki.leaf("client-only", "inter", "clientAuth");
        // Self-signed server certificate (not a CA).
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                "self.key",
                "-out",
                "self.pem",
                "-days",
                "365",
                "-subj",
                "/CN=localhost",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1",
                "-addext",
                "basicConstraints=critical,CA:FALSE",
                "-addext",
                "extendedKeyUsage=serverAuth",
            ],
        );
        let chain = [pki.read("inter.pem"), pki.read("root.pem")].concat();
        std::fs::write(d.join("inter+root.pem"), chain).expect("chain");
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).expect("read pem")
    }

    /// `NAME.pem` / `NAME.key` for localhost, issued by `issuer` with extendedKeyUsage `eku`.
    pub fn leaf(&self, name: &str, issuer: &str, eku: &str) {
        let d = self.dir.path();
        let ext = format!(
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage={eku}\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n"
        );
        std::fs::write(d.join(format!("{name}.ext")), ext).expect("ext");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-set_serial",
                "2002",
                "-days",
                "365",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }

    /// A CA and a localhost leaf valid only between the two dates (openssl 3.0's `x509 -req` cannot
    /// back-date, so rcgen makes these): writes `NAME-ca.pem`, `NAME.pem`, `NAME.key`.
    pub fn dated(&self, name: &str, from: (i32, u8, u8), until: (i32, u8, u8)) {
        use rcgen::{
            BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
            KeyPair,
        };
        let ca_key = KeyPair::generate().expect("key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, format!("wtcurl {name} CA"));
        let ca_cert = ca.self_signed(&ca_key).expect("ca");
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate().expect("key");
        let mut p = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("params");
        p.distinguished_name.push(DnType::CommonName, "localhost");
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        p.not_before = rcgen::date_time_ymd(from.0, from.1, from.2);
        p.not_after = rcgen::date_time_ymd(until.0, until.1, until.2);
        let leaf = p.signed_by(&key, &issuer).expect("leaf");
        std::fs::write(self.path(&format!("{name}-ca.pem")), ca_cert.pem()).expect("write");
        std::fs::write(self.path(&format!("{name}.pem")), leaf.pem()).expect("write");
        std::fs::write(self.path(&format!("{name}.key")), key.serialize_pem()).expect("write");
    }
}

/// A running `openssl s_server -www`; killed (its own child, by handle) on drop.
pub struct SServer {
    child: Child,
    pub port: u16,
    log: PathBuf,
}

impl SServer {
    pub fn start(pki: &Pki, cert: &str, chain: Option<&str>, extra: &[&str]) -> SServer {
        let port = free_port();
        let log = pki.path(&format!("s_server-{port}.log"));
        let out = std::fs::File::create(&log).expect("log");
        let err = out.try_clone().expect("log");
        let accept = format!("127.0.0.1:{port}");
        let mut cmd = Command::new("openssl");
        cmd.current_dir(pki.dir.path())
            .args([
                "s_server",
                "-accept",
                &accept,
                "-www",
                "-cert",
                &format!("{cert}.pem"),
                "-key",
                &format!("{cert}.key"),
            ])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err);
        if let Some(c) = chain {
            cmd.args(["-cert_chain", c]);
        }
        let child = cmd.spawn().expect("spawn openssl s_server");
        let s = SServer { child, port, log };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let until = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < until,
                "s_server did not listen:\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for SServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!("--- s_server log ---\n{}", self.log());
        }
    }
}

/// wtcurl's handshake (and, when it succeeds, a GET) to 127.0.0.1:port for `host`.
/// Real curl against the same server: its exit code.
pub fn curl(port: u16, host: &str, args: &[&str]) -> i32 {
    let mut cmd = Command::new("curl");
    cmd.args([
        "-sS",
        "-o",
        "/dev/null",
        "--max-time",
        "10",
        "--noproxy",
        "*",
    ])
    .arg("--resolve")
    .arg(format!("{host}:{port}:127.0.0.1"))
    .args(args)
    .arg(format!("https://{host}:{port}/"))
    .env_remove("CURL_CA_BUNDLE")
    .env_remove("SSL_CERT_FILE")
    .env_remove("SSLKEYLOGFILE")
    .stdin(Stdio::null());
    for v in crate::common::PROXY_VARS {
        cmd.env_remove(v);
    }
    let out = cmd.output().expect("run curl");
    eprintln!(
        "curl {args:?}: {:?} {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.status.code().unwrap_or(-1)
}
