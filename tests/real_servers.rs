//! The real binary against real servers on loopback: dnsmasq for DNS, nginx for HTTP, and real curl
//! against the same servers for comparison.

mod common;

use common::{
    CHUNKED_BODY, Dnsmasq, HELLO_BODY, NGINX_301_BODY, Nginx, R_END_BODY, WETRANSFER_LOCATION,
    big_body, require_tool, tool_path, wtcurl,
};
use serde_json::Value;
use std::process::Command;

struct Lab {
    dns: Dnsmasq,
    web: Nginx,
}

fn lab() -> Option<Lab> {
    if !(require_tool("dnsmasq") && require_tool("nginx")) {
        return None;
    }
    let dns =
        Dnsmasq::start_with_cnames(&[("wt.test", "127.0.0.1")], &[("alias.wt.test", "wt.test")])?;
    let web = Nginx::wetransfer_like()?;
    Some(Lab { dns, web })
}

impl Lab {
    fn url(&self, host: &str, path: &str) -> String {
        format!("http://{host}:{}{path}", self.web.port)
    }
    fn dns_flag(&self) -> String {
        format!("127.0.0.1:{}", self.dns.port)
    }
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut c = wtcurl();
        c.arg("--dns-servers").arg(self.dns_flag()).args(args);
        c.output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_301_like_wetransfer_with_explain() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&["--explain", &lab.url("wt.test", "/")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), NGINX_301_BODY);
    let err = text(&out.stderr);
    for needle in [
        "1. URL",
        "2. DNS",
        "→ query ",
        "A wt.test.",
        "← answer",
        "wt.test.  TTL 300  A  127.0.0.1",
        "3. TCP: connect",
        "connect(",
        "EINPROGRESS",
        "= connected to 127.0.0.1:",
        "TCP_INFO after connect",
        "> GET / HTTP/1.1",
        "< HTTP/1.1 301 Moved Permanently",
        &format!("< Location: {WETRANSFER_LOCATION}"),
        "neither does wtcurl",
        "6. Close",
        "close(",
        "Waterfall",
        "time_namelookup",
        "exit 0",
    ] {
        assert!(err.contains(needle), "explanation lacks {needle:?}:\n{err}");
    }
}

#[test]
fn body_and_headers_match_real_curl() {
    let Some(lab) = lab() else { return };
    if !require_tool("curl") {
        return;
    }
    for path in ["/", "/hello.txt", "/notfound", "/chunked"] {
        let url = lab.url("wt.test", path);
        let ours = lab.run(&["-s", "-i", &url]);
        let resolve = format!("wt.test:{}:127.0.0.1", lab.web.port);
        let theirs = Command::new(tool_path("curl").unwrap())
            .args(["-s", "-i", "--noproxy", "*", "--resolve", &resolve, &url])
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), theirs.status.code(), "{path}");
        // Same status line, same headers (but Date), same body bytes.
        let strip = |b: &[u8]| -> String {
            text(b)
                .lines()
                .filter(|l| !l.starts_with("Date:"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        assert_eq!(
            strip(&ours.stdout),
            strip(&theirs.stdout),
            "{path}: wtcurl and curl differ"
        );
    }
}

#[test]
fn redirects_are_followed_with_l_and_counted() {
    let Some(lab) = lab() else { return };
    let trace = common::TempDir::new("redir");
    let tj = trace.path().join("t.jsonl");
    let out = lab.run(&[
        "-sL",
        "--trace-json",
        tj.to_str().unwrap(),
        "-w",
        "%{num_redirects} %{http_code}",
        &lab.url("wt.test", "/r/3"),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), format!("{R_END_BODY}3 200"));
    let lines = std::fs::read_to_string(&tj).unwrap();
    let events: Vec<Value> = lines
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["type"], "trace_start");
    assert_eq!(events[0]["schema"], 1);
    let redirects = events
        .iter()
        .filter(|e| e["type"] == "redirect" && e["followed"] == true)
        .count();
    assert_eq!(redirects, 3);
    // Each hop resolved its name through DNS and opened its own connection.
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "connect_result" && e["ok"] == true)
            .count(),
        4
    );
}

#[test]
fn redirect_loop_stops_with_47() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&[
        "-sSL",
        "--max-redirs",
        "5",
        &lab.url("wt.test", "/redirect-loop"),
    ]);
    assert_eq!(out.status.code(), Some(47));
    assert!(text(&out.stderr).contains("Maximum (5) redirects followed"));
}

#[test]
fn chunked_gzip_and_big_bodies_are_exact() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&["-s", &lab.url("wt.test", "/chunked")]);
    assert_eq!(text(&out.stdout), CHUNKED_BODY);
    let out = lab.run(&["-s", "--compressed", &lab.url("wt.test", "/gzip.txt")]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), HELLO_BODY.repeat(50));
    let out = lab.run(&["-s", &lab.url("wt.test", "/big")]);
    assert_eq!(out.stdout, big_body(common::DEFAULT_BIG_LEN));
}

#[test]
fn cname_chain_is_followed_and_explained() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&["--explain", &lab.url("alias.wt.test", "/hello.txt")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), HELLO_BODY);
    let err = text(&out.stderr);
    assert!(err.contains("CNAME"), "{err}");
}

#[test]
fn unknown_name_exits_6_with_the_reason() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&["--explain", &lab.url("nope.wt.test", "/")]);
    assert_eq!(out.status.code(), Some(6));
    let err = text(&out.stderr);
    assert!(err.contains("NXDOMAIN"), "{err}");
    assert!(err.contains("dns_nxdomain"), "{err}");
}

#[test]
fn fail_flag_on_404_exits_22() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&["-sSf", &lab.url("wt.test", "/notfound")]);
    assert_eq!(out.status.code(), Some(22));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("The requested URL returned error: 404"));
}

#[test]
fn write_out_reports_addresses_and_timings_in_order() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{json}",
        &lab.url("wt.test", "/hello.txt"),
    ]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["http_code"], 200);
    assert_eq!(v["remote_ip"], "127.0.0.1");
    assert_eq!(v["size_download"], HELLO_BODY.len());
    let t = |k: &str| v[k].as_f64().unwrap();
    assert!(t("time_namelookup") > 0.0);
    assert!(t("time_namelookup") <= t("time_connect"));
    assert!(t("time_connect") <= t("time_starttransfer"));
    assert!(t("time_starttransfer") <= t("time_total"));
}

#[test]
fn verbose_view_looks_like_curl() {
    let Some(lab) = lab() else { return };
    let out = lab.run(&[
        "-v",
        "-s",
        "-o",
        "/dev/null",
        &lab.url("wt.test", "/hello.txt"),
    ]);
    let err = text(&out.stderr);
    for needle in [
        "*   Trying 127.0.0.1:",
        "* Connected to wt.test (127.0.0.1) port",
        "> GET /hello.txt HTTP/1.1",
        "> Host: wt.test:",
        "< HTTP/1.1 200 OK",
    ] {
        assert!(err.contains(needle), "{needle:?} missing:\n{err}");
    }
}
