//! Tests of the test infrastructure itself (tests/common): the throwaway nginx and dnsmasq work,
//! and answer the way the other tests rely on. Loopback only.

mod common;

use common::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, TcpListener};
use std::path::Path;
use std::time::Duration;

#[test]
fn require_tool_finds_sh_and_not_nonsense() {
    assert!(require_tool("sh"));
    assert!(tool_path("sh").is_some());
    assert!(tool_path("wtcurl-no-such-tool-xyz").is_none());
}

#[test]
fn require_tool_missing_skips_locally_and_fails_under_ci() {
    let missing = "wtcurl-no-such-tool-xyz";
    if ci() {
        let r = std::panic::catch_unwind(|| require_tool(missing));
        assert!(r.is_err(), "under CI=true a missing tool must panic");
    } else {
        assert!(!require_tool(missing));
    }
}

#[test]
fn free_port_is_bindable() {
    let port = free_port();
    assert_ne!(port, 0);
    TcpListener::bind(("127.0.0.1", port)).expect("the port from free_port() can be bound");
}

#[test]
fn wtcurl_binary_is_built() {
    assert!(Path::new(env!("CARGO_BIN_EXE_wtcurl")).exists());
    let _cmd = wtcurl(); // builds without running
}

#[test]
fn big_body_is_exact_and_self_describing() {
    assert_eq!(big_body(0), b"");
    assert_eq!(big_body(20), b"000000000000000\n0000");
    let b = big_body(DEFAULT_BIG_LEN);
    assert_eq!(b.len(), DEFAULT_BIG_LEN);
    assert_eq!(&b[1_048_576..1_048_576 + 7], b"0000000");
    assert_eq!(&b[16 * 1000..16 * 1001], b"000000000016000\n");
}

#[test]
fn nginx_serves_hello_txt_to_a_plain_tcp_get() {
    let Some(nginx) = Nginx::wetransfer_like() else {
        return;
    };
    let r = http_get(nginx.addr(), "wetransfer.com", "/hello.txt").expect("GET /hello.txt");
    assert_eq!(r.status_line, "HTTP/1.1 200 OK");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(
        r.header("content-length"),
        Some(HELLO_BODY.len().to_string().as_str())
    );
    assert_eq!(r.header("server"), Some("nginx"));
    assert_eq!(r.body, HELLO_BODY.as_bytes());
    assert!(
        nginx
            .access_log()
            .contains("\"GET /hello.txt HTTP/1.1\" 200"),
        "access log: {}",
        nginx.access_log()
    );
}

#[test]
fn nginx_root_redirects_like_wetransfer_port_80() {
    let Some(nginx) = Nginx::wetransfer_like() else {
        return;
    };
    let r = http_get(nginx.addr(), "wetransfer.com", "/").expect("GET /");
    assert_eq!(r.status_line, "HTTP/1.1 301 Moved Permanently");
    assert_eq!(r.header("location"), Some(WETRANSFER_LOCATION));
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(r.header("content-length"), Some("162"));
    assert_eq!(String::from_utf8_lossy(&r.body), NGINX_301_BODY);
}

#[test]
fn nginx_chunked_is_really_chunked() {
    let Some(nginx) = Nginx::wetransfer_like() else {
        return;
    };
    let r = http_get(nginx.addr(), "localhost", "/chunked").expect("GET /chunked");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    assert_eq!(r.header("content-length"), None);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let (body, sizes) = dechunk(&r.body).expect("valid chunked body");
    assert_eq!(String::from_utf8_lossy(&body), CHUNKED_BODY);
    assert!(!sizes.is_empty());

    // HTTP/1.0 cannot chunk: nginx sends the body unframed and closes.
    let r = raw_http(
        nginx.addr(),
        b"GET /chunked HTTP/1.0\r\nHost: localhost\r\n\r\n",
    )
    .expect("GET /chunked HTTP/1.0");
    assert_eq!(r.header("transfer-encoding"), None);
    assert_eq!(r.body, CHUNKED_BODY.as_bytes());
}

#[test]
fn nginx_big_has_the_requested_size() {
    let len = 123_457;
    let Some(nginx) = Nginx::wetransfer_like_with_big(len) else {
        return;
    };
    let r = http_get(nginx.addr(), "localhost", "/big").expect("GET /big");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-length"), Some("123457"));
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    assert_eq!(r.body.len(), len);
    assert!(r.body == big_body(len), "body differs from big_body({len})");

    nginx.set_big(10);
    let r = http_get(nginx.addr(), "localhost", "/big").expect("GET /big again");
    assert_eq!(r.body, big_body(10));
}

#[test]
fn nginx_gzip_only_when_asked() {
    let Some(nginx) = Nginx::wetransfer_like() else {
        return;
    };
    let plain = http_get(nginx.addr(), "localhost", "/gzip.txt").expect("GET /gzip.txt");
    assert_eq!(plain.header("content-encoding"), None);
    assert_eq!(plain.body, HELLO_BODY.repeat(50).as_bytes());
    let gz = raw_http(
        nginx.addr(),
        b"GET /gzip.txt HTTP/1.1\r\nHost: localhost\r\nAccept-Encoding: gzip\r\nConnection: close\r\n\r\n",
    )
    .expect("GET /gzip.txt gzip");
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    assert_eq!(gz.header("transfer-encoding"), Some("chunked"));
    let (body, _) = dechunk(&gz.body).expect("chunked");
    assert_eq!(&body[..2], &[0x1f, 0x8b], "gzip magic");
}

#[test]
fn nginx_errors_loops_and_chains() {
    let Some(nginx) = Nginx::wetransfer_like() else {
        return;
    };
    let get = |path: &str| http_get(nginx.addr(), "localhost", path).expect(path);

    let r = get("/notfound");
    assert_eq!(r.status_line, "HTTP/1.1 404 Not Found");
    assert!(String::from_utf8_lossy(&r.body).contains("<title>404 Not Found</title>"));
    assert_eq!(get("/nothing-here").status, 404);

    let r = get("/redirect-loop");
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location"), Some("/redirect-loop"));

    let r = get("/r/3");
    assert_eq!(r.status_line, "HTTP/1.1 302 Moved Temporarily");
    assert_eq!(r.header("location"), Some("/r/2"));
    assert_eq!(
        get(&format!("/r/{R_CHAIN_MAX}")).header("location"),
        Some(format!("/r/{}", R_CHAIN_MAX - 1).as_str())
    );
    let r = get("/r/0");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, R_END_BODY.as_bytes());
}

#[test]
fn nginx_custom_server_block_with_placeholders() {
    let Some(nginx) = Nginx::start(
        "location = /port { default_type text/plain; return 200 \"port @PORT@\"; }\n\
         location = /abs { absolute_redirect on; return 302 /port; }\n",
    ) else {
        return;
    };
    std::fs::write(nginx.root().join("file.json"), "{}").unwrap();
    let r = http_get(nginx.addr(), "localhost", "/port").unwrap();
    assert_eq!(r.body, format!("port {}", nginx.port).as_bytes());
    let r = http_get(nginx.addr(), "localhost", "/file.json").unwrap();
    assert_eq!(r.header("content-type"), Some("application/json"));
    let r = http_get(nginx.addr(), "localhost", "/abs").unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("http://localhost:{}/port", nginx.port).as_str())
    );
    assert!(nginx.url("/x").ends_with(&format!(":{}/x", nginx.port)));
}

#[test]
fn nginx_can_listen_on_ipv6_loopback_too() {
    let Some(nginx) = Nginx::start_listening(
        &["127.0.0.1", "[::1]"],
        "location = /ip { default_type text/plain; return 200 \"$server_addr\"; }\n",
    ) else {
        return;
    };
    let v6 = (Ipv6Addr::LOCALHOST, nginx.port);
    assert_eq!(http_get(v6, "localhost", "/ip").unwrap().body, b"::1");
    assert_eq!(
        http_get(nginx.addr(), "localhost", "/ip").unwrap().body,
        b"127.0.0.1"
    );
}

#[test]
fn dnsmasq_answers_a_and_aaaa_with_the_configured_addresses() {
    let Some(dns) = Dnsmasq::start(&[
        ("wetransfer.com", "192.0.2.1"),
        ("wetransfer.com", "2001:db8::1"),
    ]) else {
        return;
    };
    let a = dns.query("wetransfer.com", TYPE_A).expect("A reply");
    assert_eq!(a.rcode, RCODE_NOERROR);
    assert!(a.flags & 0x8000 != 0, "QR bit");
    assert!(a.authoritative(), "dnsmasq sets AA for its own records");
    assert_eq!(a.addrs(), vec![IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))]);
    assert_eq!(a.answers[0].name, "wetransfer.com");
    assert_eq!(a.answers[0].ttl, 300);

    let aaaa = dns.query("WeTransfer.com.", TYPE_AAAA).expect("AAAA reply");
    assert_eq!(aaaa.rcode, RCODE_NOERROR);
    assert_eq!(
        aaaa.addrs(),
        vec![IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1))]
    );

    assert!(dns.wait_for_query(
        "query[A] wetransfer.com from 127.0.0.1",
        Duration::from_secs(2)
    ));
    assert!(dns.wait_for_query("query[AAAA]", Duration::from_secs(2)));
    assert!(dns.queries().iter().all(|q| !q.contains(DNS_PROBE_NAME)));
}

#[test]
fn dnsmasq_several_addresses_for_one_name() {
    let Some(dns) = Dnsmasq::start(&[("multi.test", "192.0.2.7"), ("multi.test", "192.0.2.8")])
    else {
        return;
    };
    let mut addrs = dns.query("multi.test", TYPE_A).unwrap().addrs();
    addrs.sort();
    assert_eq!(
        addrs,
        vec![
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)),
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8))
        ]
    );
}

// dnsmasq 2.90 with --no-resolv and no upstream server answers REFUSED (rcode 5, logged
// "config error is REFUSED (EDE: not ready)") for any name or type it has no local data for,
// including AAAA for a name that only has an A record. Dnsmasq::start therefore adds
// `--local=/#/`, after which unknown names get NXDOMAIN (rcode 3, AA bit *not* set, no SOA) and
// missing types get NODATA (NOERROR, zero answers), like a real authoritative server.
#[test]
fn dnsmasq_unknown_name_is_nxdomain_and_missing_type_is_nodata() {
    let Some(dns) = Dnsmasq::start(&[("v4only.test", "192.0.2.9")]) else {
        return;
    };
    let r = dns.query("no-such-name.test", TYPE_A).unwrap();
    assert_eq!(r.rcode, RCODE_NXDOMAIN);
    assert!(r.answers.is_empty());
    let r = dns.query("sub.v4only.test", TYPE_A).unwrap();
    assert_eq!(r.rcode, RCODE_NXDOMAIN);
    let r = dns.query("v4only.test", TYPE_AAAA).unwrap();
    assert_eq!(r.rcode, RCODE_NOERROR);
    assert!(r.answers.is_empty(), "NODATA: {r:?}");
}

#[test]
fn dnsmasq_refuse_unknown_gives_refused() {
    let Some(dns) = Dnsmasq::builder()
        .record("v4only.test", "192.0.2.9")
        .refuse_unknown()
        .start()
    else {
        return;
    };
    assert_eq!(
        dns.query("no-such-name.test", TYPE_A).unwrap().rcode,
        RCODE_REFUSED
    );
    assert_eq!(
        dns.query("v4only.test", TYPE_AAAA).unwrap().rcode,
        RCODE_REFUSED
    );
    assert_eq!(
        dns.query("v4only.test", TYPE_A).unwrap().rcode,
        RCODE_NOERROR
    );
}

#[test]
fn dnsmasq_cname_and_ttl() {
    let Some(dns) = Dnsmasq::builder()
        .record("edge.test", "198.51.100.10")
        .cname("www.wetransfer.com", "edge.test")
        .ttl(42)
        .start()
    else {
        return;
    };
    let r = dns.query("www.wetransfer.com", TYPE_A).unwrap();
    assert_eq!(r.rcode, RCODE_NOERROR);
    assert_eq!(r.answers.len(), 2, "{r:?}");
    assert_eq!(r.answers[0].name, "www.wetransfer.com");
    assert_eq!(r.answers[0].data, RData::Cname("edge.test".into()));
    assert_eq!(r.answers[0].ttl, 42);
    assert_eq!(r.answers[1].name, "edge.test");
    assert_eq!(r.answers[1].data, RData::A(Ipv4Addr::new(198, 51, 100, 10)));
}

#[test]
fn dns_query_builder_and_parser_roundtrip() {
    let q = build_dns_query(0xBEEF, "a.b.", TYPE_AAAA);
    assert_eq!(
        q,
        [
            0xBE, 0xEF, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, b'a', 1, b'b', 0, 0, 28, 0, 1
        ]
    );
    // A question-only "reply" parses with no answers.
    let r = parse_dns_reply(&q).unwrap();
    assert_eq!(r.id, 0xBEEF);
    assert!(r.answers.is_empty());
    assert!(is_documentation_addr("203.0.113.5".parse().unwrap()));
    assert!(is_documentation_addr("2001:db8::2".parse().unwrap()));
    // A private address (never contacted: only classified).
    assert!(!is_documentation_addr(
        std::net::Ipv4Addr::new(10, 0, 0, 1).into()
    ));
}
