//! The real binary over HTTPS against a real nginx with TLS on 127.0.0.1 (certificates made with
//! the openssl CLI in a temp dir), and real curl against the same server for comparison.
//!
//! The name `tls.test` is mapped to 127.0.0.1 with `--resolve` (both tools), so the certificate is
//! checked against a name, as on the internet. This machine's environment may set CURL_CA_BUNDLE,
//! SSL_CERT_FILE and SSL_CERT_DIR: every command here runs without them (and without
//! SSLKEYLOGFILE), so only `--cacert` (or nothing) decides what is trusted. Every command has a
//! time limit.

mod common;

use common::{HELLO_BODY, Nginx, TempDir, TestPki, output_within, require_tool, tool_path};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

const HOST: &str = "tls.test";
const LIMIT: Duration = Duration::from_secs(20);
/// What decides trust besides the flags; removed from every command's environment.
const TRUST_VARS: &[&str] = &[
    "CURL_CA_BUNDLE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSLKEYLOGFILE",
];

/// nginx with `ssl_protocols protocols` on its HTTPS port, serving /hello.txt on both ports; the
/// plain port's /to-https answers `301 https://tls.test:TLSPORT/hello.txt`.
struct Server {
    pki: TestPki,
    web: Nginx,
}

fn server(protocols: &str) -> Option<Server> {
    if !(require_tool("nginx") && require_tool("openssl") && require_tool("curl")) {
        return None;
    }
    let pki = TestPki::new(&[HOST])?;
    let body = format!(
        "location = /hello.txt {{ }}\n\
         location = /to-https {{ return 301 https://{HOST}:@TLSPORT@/hello.txt; }}\n\
         location / {{ return 404; }}\n"
    );
    let web = Nginx::start_tls(&pki.cert, &pki.key, protocols, &body)?;
    std::fs::write(web.root().join("hello.txt"), HELLO_BODY).expect("write hello.txt");
    Some(Server { pki, web })
}

impl Server {
    fn tls_port(&self) -> u16 {
        self.web.https_port()
    }
    fn hello(&self) -> String {
        self.web.https_url(HOST, "/hello.txt")
    }
    fn resolve(&self) -> String {
        Nginx::resolve_flag(HOST, self.tls_port())
    }
    fn ca(&self) -> &str {
        self.pki.ca.to_str().expect("utf-8 path")
    }
}

fn wtcurl(args: &[&str]) -> Output {
    let mut cmd = common::wtcurl_std();
    for v in TRUST_VARS {
        cmd.env_remove(v);
    }
    output_within(cmd.args(args), LIMIT)
}

fn curl(args: &[&str]) -> Output {
    let mut cmd = Command::new(tool_path("curl").expect("curl path"));
    for v in TRUST_VARS.iter().chain(common::PROXY_VARS) {
        cmd.env_remove(v);
    }
    cmd.env("HOME", "/nonexistent") // no ~/.curlrc
        .args(["--noproxy", "*", "--max-time", "15"])
        .args(args);
    output_within(&mut cmd, LIMIT)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(what: &str, out: &Output) -> String {
    format!(
        "{what}: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn trace(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn of_type<'a>(events: &'a [Value], ty: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == ty).collect()
}

/// The one `tls_done` event's `version`; panics unless there is exactly one.
fn tls_version(events: &[Value]) -> String {
    let done = of_type(events, "tls_done");
    assert_eq!(done.len(), 1, "one tls_done expected: {done:#?}");
    done[0]["version"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn tls13_nginx_body_trace_appconnect_and_curl_agree() {
    let Some(s) = server("TLSv1.3") else { return };
    let dir = TempDir::new("tls-nginx-13");
    let tj = dir.path().join("t.jsonl");
    let ours = wtcurl(&[
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        "--trace-json",
        tj.to_str().unwrap(),
        "-w",
        "%{http_code} %{time_connect} %{time_appconnect} %{time_total}",
        &s.hello(),
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", show("wtcurl", &ours));
    let stdout = text(&ours.stdout);
    let Some(w) = stdout.strip_prefix(HELLO_BODY) else {
        panic!("the body is not {HELLO_BODY:?}: {stdout:?}");
    };
    let w: Vec<&str> = w.split(' ').collect();
    assert_eq!(w[0], "200", "{stdout:?}");
    let t = |i: usize| -> f64 { w[i].parse().unwrap_or_else(|e| panic!("{e}: {stdout:?}")) };
    let (connect, appconnect, total) = (t(1), t(2), t(3));
    assert!(appconnect > 0.0, "time_appconnect {appconnect} (https)");
    assert!(
        connect < appconnect && appconnect <= total,
        "connect {connect} < appconnect {appconnect} <= total {total}"
    );

    let events = trace(&tj);
    assert_eq!(tls_version(&events), "TLS 1.3");
    let start = of_type(&events, "tls_start");
    assert_eq!(start.len(), 1);
    assert_eq!(start[0]["server_name"], HOST, "SNI is the URL's host");
    let verified = of_type(&events, "tls_verified");
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0]["ok"], true, "{:#?}", verified[0]);
    assert_eq!(verified[0]["matched_name"], format!("DNS:{HOST}"));
    let hellos: Vec<&str> = of_type(&events, "tls_message")
        .iter()
        .filter_map(|m| m["name"].as_str())
        .filter(|n| n.ends_with("Hello"))
        .collect();
    assert_eq!(
        hellos,
        ["ClientHello", "ServerHello"],
        "no HelloRetryRequest"
    );
    assert_eq!(events.last().unwrap()["type"], "done");
    assert_eq!(events.last().unwrap()["exit_code"], 0);
    // nginx saw the request (over its TLS port: the plain one had none).
    assert!(
        s.web
            .access_log()
            .contains("\"GET /hello.txt HTTP/1.1\" 200"),
        "{}",
        s.web.access_log()
    );

    let theirs = curl(&[
        "-s",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        "-w",
        "%{http_code}",
        &s.hello(),
    ]);
    assert_eq!(theirs.status.code(), Some(0), "{}", show("curl", &theirs));
    assert_eq!(text(&theirs.stdout), format!("{HELLO_BODY}200"));

    // Same status line, headers (but Date) and body with -i.
    let strip = |b: &[u8]| -> String {
        text(b)
            .lines()
            .filter(|l| !l.starts_with("Date:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let ours = wtcurl(&[
        "-s",
        "-i",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        &s.hello(),
    ]);
    let theirs = curl(&[
        "-s",
        "-i",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        &s.hello(),
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", show("wtcurl -i", &ours));
    assert_eq!(
        theirs.status.code(),
        Some(0),
        "{}",
        show("curl -i", &theirs)
    );
    assert_eq!(
        strip(&ours.stdout),
        strip(&theirs.stdout),
        "wtcurl -i and curl -i differ"
    );
}

#[test]
fn tls12_only_nginx_gives_tls12_and_tlsv1_3_is_35_like_curl() {
    let Some(s) = server("TLSv1.2") else { return };
    let dir = TempDir::new("tls-nginx-12");
    let tj = dir.path().join("t.jsonl");
    let ours = wtcurl(&[
        "-s",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        "--trace-json",
        tj.to_str().unwrap(),
        &s.hello(),
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", show("wtcurl", &ours));
    assert_eq!(text(&ours.stdout), HELLO_BODY);
    assert_eq!(tls_version(&trace(&tj)), "TLS 1.2");

    let tj13 = dir.path().join("t13.jsonl");
    let ours = wtcurl(&[
        "--tlsv1.3",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        "--trace-json",
        tj13.to_str().unwrap(),
        &s.hello(),
    ]);
    assert_eq!(
        ours.status.code(),
        Some(35),
        "{}",
        show("wtcurl --tlsv1.3", &ours)
    );
    assert!(
        ours.stdout.is_empty(),
        "{}",
        show("wtcurl --tlsv1.3", &ours)
    );
    let err = text(&ours.stderr);
    assert!(err.contains("wtcurl: (35) [tls]"), "{err}");
    let events = trace(&tj13);
    assert!(
        of_type(&events, "tls_done").is_empty(),
        "no handshake finished"
    );
    let error = of_type(&events, "error");
    assert_eq!(error.len(), 1, "{events:#?}");
    assert_eq!(error[0]["label"], "tls_protocol_version", "{:#?}", error[0]);
    assert_eq!(error[0]["exit_code"], 35);
    let start = of_type(&events, "tls_start");
    assert_eq!(start[0]["versions"], serde_json::json!(["TLS 1.3"]));

    let theirs = curl(&[
        "-sS",
        "--tlsv1.3",
        "--cacert",
        s.ca(),
        "--resolve",
        &s.resolve(),
        &s.hello(),
    ]);
    assert_eq!(
        theirs.status.code(),
        Some(35),
        "{}",
        show("curl --tlsv1.3", &theirs)
    );
}

#[test]
fn location_from_http_port_to_https_port_is_two_hops() {
    let Some(s) = server("TLSv1.2 TLSv1.3") else {
        return;
    };
    let dir = TempDir::new("tls-nginx-redirect");
    let tj = dir.path().join("t.jsonl");
    let start = format!("http://{HOST}:{}/to-https", s.web.port);
    let resolve_http = Nginx::resolve_flag(HOST, s.web.port);
    let ours = wtcurl(&[
        "-sL",
        "--cacert",
        s.ca(),
        "--resolve",
        &resolve_http,
        "--resolve",
        &s.resolve(),
        "--trace-json",
        tj.to_str().unwrap(),
        "-w",
        "%{num_redirects} %{http_code} %{url_effective}",
        &start,
    ]);
    assert_eq!(ours.status.code(), Some(0), "{}", show("wtcurl -L", &ours));
    assert_eq!(
        text(&ours.stdout),
        format!("{HELLO_BODY}1 200 {}", s.hello())
    );

    let events = trace(&tj);
    let hops: std::collections::BTreeSet<u64> = of_type(&events, "phase")
        .iter()
        .filter_map(|p| p["hop"].as_u64())
        .collect();
    assert_eq!(
        hops.into_iter().collect::<Vec<_>>(),
        [0, 1],
        "two hops: http then https"
    );
    let redirects = of_type(&events, "redirect");
    assert_eq!(redirects.len(), 1, "{redirects:#?}");
    assert_eq!(redirects[0]["status"], 301);
    assert_eq!(redirects[0]["followed"], true);
    assert_eq!(redirects[0]["location"], s.hello());
    // TLS happened once, on the second hop only, after the redirect.
    let pos = |ty: &str| events.iter().position(|e| e["type"] == ty);
    assert_eq!(of_type(&events, "tls_start").len(), 1);
    assert!(pos("redirect") < pos("tls_start"), "TLS after the 301");
    assert_eq!(of_type(&events, "tls_verified")[0]["ok"], true);
    assert!(!tls_version(&events).is_empty());
    let connects: Vec<String> = of_type(&events, "connect_result")
        .iter()
        .filter(|c| c["ok"] == true)
        .map(|c| c["addr"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(
        connects,
        [
            format!("127.0.0.1:{}", s.web.port),
            format!("127.0.0.1:{}", s.tls_port())
        ]
    );
    let heads: Vec<u64> = of_type(&events, "response_head")
        .iter()
        .filter_map(|h| h["status"].as_u64())
        .collect();
    assert_eq!(heads, [301, 200]);

    // curl follows the same way to the same body.
    let theirs = curl(&[
        "-sL",
        "--cacert",
        s.ca(),
        "--resolve",
        &resolve_http,
        "--resolve",
        &s.resolve(),
        "-w",
        "%{num_redirects} %{http_code} %{url_effective}",
        &start,
    ]);
    assert_eq!(
        theirs.status.code(),
        Some(0),
        "{}",
        show("curl -L", &theirs)
    );
    assert_eq!(text(&theirs.stdout), text(&ours.stdout));
}

#[test]
fn private_ca_unknown_without_cacert_is_60_and_k_accepts_with_a_warning() {
    let Some(s) = server("TLSv1.2 TLSv1.3") else {
        return;
    };
    // No --cacert and no CA variables: wtcurl's default trust store (and curl's) lack the test CA.
    let ours = wtcurl(&["--resolve", &s.resolve(), &s.hello()]);
    assert_eq!(ours.status.code(), Some(60), "{}", show("wtcurl", &ours));
    assert!(ours.stdout.is_empty());
    let err = text(&ours.stderr);
    assert!(err.contains("wtcurl: (60) [tls]"), "{err}");
    assert!(
        err.contains("unable to get local issuer certificate"),
        "{err}"
    );
    let theirs = curl(&["-sS", "--resolve", &s.resolve(), &s.hello()]);
    assert_eq!(theirs.status.code(), Some(60), "{}", show("curl", &theirs));

    let dir = TempDir::new("tls-nginx-k");
    let tj = dir.path().join("t.jsonl");
    let ours = wtcurl(&[
        "--resolve",
        &s.resolve(),
        "--trace-json",
        tj.to_str().unwrap(),
        &s.hello(),
    ]);
    assert_eq!(ours.status.code(), Some(60));
    let events = trace(&tj);
    let error = of_type(&events, "error");
    assert_eq!(error[0]["label"], "cert_unknown_issuer", "{events:#?}");
    assert_eq!(of_type(&events, "tls_verified")[0]["ok"], false);

    // -k: accepted, exit 0, and the explanation says so loudly.
    let ours = wtcurl(&["-k", "--explain", "--resolve", &s.resolve(), &s.hello()]);
    assert_eq!(ours.status.code(), Some(0), "{}", show("wtcurl -k", &ours));
    assert_eq!(text(&ours.stdout), HELLO_BODY);
    let err = text(&ours.stderr);
    for needle in [
        "insecure (-k)",
        "✗ certificate not verified",
        "NOT VERIFIED: SSL certificate problem: unable to get local issuer certificate",
        "ACCEPTED ANYWAY because of -k/--insecure",
        "nothing proves the server is tls.test",
        "HTTP 200, exit 0",
    ] {
        assert!(err.contains(needle), "explanation lacks {needle:?}:\n{err}");
    }
    // -v says it too, on the certificate's verify-result line.
    let ours = wtcurl(&["-k", "-v", "-s", "--resolve", &s.resolve(), &s.hello()]);
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        show("wtcurl -k -v", &ours)
    );
    assert_eq!(text(&ours.stdout), HELLO_BODY);
    let err = text(&ours.stderr);
    assert!(
        err.lines().any(
            |l| l.starts_with("*  SSL certificate verify result: NOT VERIFIED")
                && l.contains("ACCEPTED ANYWAY because of -k/--insecure")
        ),
        "{err}"
    );
    let theirs = curl(&["-sk", "--resolve", &s.resolve(), &s.hello()]);
    assert_eq!(
        theirs.status.code(),
        Some(0),
        "{}",
        show("curl -k", &theirs)
    );
    assert_eq!(text(&theirs.stdout), HELLO_BODY);
}
