//! Where trusted CAs come from when no flag names them: CURL_CA_BUNDLE, SSL_CERT_DIR and
//! SSL_CERT_FILE, read in curl 7.88's order (the first one set wins; with SSL_CERT_DIR set,
//! SSL_CERT_FILE is not read). Real wtcurl and real curl run against one `openssl s_server` on
//! 127.0.0.1 with the same environment and must exit alike; the explanation must name the
//! variable the CAs came from, never `--cacert` or `--capath` when no flag was given.

mod common;
mod tls_support;

use common::wtcurl_std;
use std::process::{Command, Stdio};
use tls_support::openssl::{Pki, SServer, tools};

/// Environment variables to set, as (name, value).
type Env = [(&'static str, String)];

const CA_VARS: &[&str] = &[
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
];

fn clean(cmd: &mut Command, env: &[(&str, String)]) {
    for v in CA_VARS.iter().chain(common::PROXY_VARS) {
        cmd.env_remove(v);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null());
}

/// curl's exit code with exactly these CA variables.
fn curl(port: u16, env: &[(&str, String)]) -> i32 {
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "-o", "/dev/null", "--max-time", "10"])
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/"));
    clean(&mut cmd, env);
    let out = cmd.output().expect("run curl");
    eprintln!(
        "curl {env:?}: {:?} {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    out.status.code().unwrap_or(-1)
}

/// wtcurl's exit code and explanation with exactly these CA variables.
fn wtcurl(port: u16, env: &[(&str, String)]) -> (i32, String) {
    let mut cmd = wtcurl_std();
    cmd.args(["--explain", "-o", "/dev/null", "--max-time", "10"])
        .arg("--resolve")
        .arg(format!("localhost:{port}:127.0.0.1"))
        .arg(format!("https://localhost:{port}/"));
    clean(&mut cmd, env);
    let out = cmd.output().expect("run wtcurl");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code().unwrap_or(-1), stderr)
}

fn trust_line(explain: &str) -> &str {
    explain
        .lines()
        .find(|l| l.contains("will be checked against:"))
        .unwrap_or_else(|| panic!("no trust line in:\n{explain}"))
}

#[test]
fn ca_variables_are_read_in_curls_order_and_named_truthfully() {
    if !tools() {
        return;
    }
    let pki = Pki::new();
    let s = SServer::start(&pki, "leaf", Some("inter.pem"), &[]);
    let root = pki.path("root.pem").display().to_string();
    // A directory of CAs that do not include the server's root.
    let other_dir = pki.path("other-cas");
    std::fs::create_dir_all(&other_dir).expect("mkdir");
    std::fs::copy(pki.path("other-root.pem"), other_dir.join("other-root.pem")).expect("copy");
    let other_dir = other_dir.display().to_string();

    let cases: [(&Env, i32, String); 4] = [
        (
            &[("SSL_CERT_FILE", root.clone())],
            0,
            format!("SSL_CERT_FILE={root} (1 certificate)"),
        ),
        (
            &[("CURL_CA_BUNDLE", root.clone())],
            0,
            format!("CURL_CA_BUNDLE={root} (1 certificate)"),
        ),
        // CURL_CA_BUNDLE first: SSL_CERT_DIR is not read.
        (
            &[
                ("CURL_CA_BUNDLE", root.clone()),
                ("SSL_CERT_DIR", other_dir.clone()),
            ],
            0,
            format!("CURL_CA_BUNDLE={root} (1 certificate)"),
        ),
        // SSL_CERT_DIR before SSL_CERT_FILE: the file holding the root is not read, and curl
        // exits 60 (the reviewer's case).
        (
            &[
                ("SSL_CERT_DIR", other_dir.clone()),
                ("SSL_CERT_FILE", root.clone()),
            ],
            60,
            format!("SSL_CERT_DIR={other_dir} (1 certificate from 1 file)"),
        ),
    ];
    for (env, code, label) in cases {
        assert_eq!(curl(s.port, env), code, "curl with {env:?}");
        let (w, explain) = wtcurl(s.port, env);
        assert_eq!(w, code, "wtcurl with {env:?}:\n{explain}");
        let line = trust_line(&explain);
        assert!(line.ends_with(&label), "{env:?}: {line}");
        assert!(
            !line.contains("--cacert") && !line.contains("--capath"),
            "no flag was given: {line}"
        );
    }

    // No variable, no flag: the built-in roots, named as such (and they lack the test root).
    let (w, explain) = wtcurl(s.port, &[]);
    assert_eq!(w, 60, "{explain}");
    assert!(
        trust_line(&explain).contains("built-in Mozilla roots (webpki-roots: "),
        "{explain}"
    );
}
