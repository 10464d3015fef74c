//! `--kernel-view` end to end: the real binary against nginx (wtcurl closes first) and against an
//! in-process HTTP/1.0 server (the server closes first), checked against the kernel's own tools.

mod common;

use common::{Nginx, require_tool, wtcurl};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::TcpListener;

fn events(trace: &str, kind: &str) -> Vec<Value> {
    trace
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == kind)
        .collect()
}

fn ip_route_get(addr: &str) -> Option<String> {
    let out = std::process::Command::new("ip")
        .args(["route", "get", addr])
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn nginx_keep_alive_leaves_time_wait_on_wtcurls_side() {
    if !(require_tool("nginx") && require_tool("ip")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx");
    let dir = common::TempDir::new("kv");
    let trace = dir.path().join("trace.json");
    let out = wtcurl()
        .args(["--kernel-view", "--explain", "--no-color", "--trace-json"])
        .arg(&trace)
        .arg(web.url("/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let explain = String::from_utf8_lossy(&out.stderr);
    let trace = std::fs::read_to_string(&trace).unwrap();

    // The route is the one `ip route get` reports: local, via lo.
    assert!(
        ip_route_get("127.0.0.1")
            .unwrap()
            .starts_with("local 127.0.0.1 dev lo")
    );
    assert!(
        explain.contains("route: local 127.0.0.1 dev lo, table "),
        "{explain}"
    );
    assert!(
        explain.contains("no next hop and no ARP/NDP lookup"),
        "{explain}"
    );
    let mtu = std::fs::read_to_string("/sys/class/net/lo/mtu").unwrap();
    let mtu: u64 = mtu.trim().parse().unwrap();
    let path = &events(&trace, "kernel_path")[0];
    assert_eq!(path["link"]["mtu"], mtu);
    assert_eq!(path["link"]["name"], "lo");
    assert!(path["neighbour"].is_null());
    let range = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").unwrap();
    let range: Vec<u64> = range
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    let port = path["port_range"]["local_port"].as_u64().unwrap();
    assert!(range[0] <= port && port <= range[1]);
    assert_eq!(path["port_range"]["low"], range[0]);
    // The local port is the one getsockname reported.
    let local = path["local"].as_str().unwrap();
    assert!(trace.contains("\"name\":\"getsockname\"") && local.ends_with(&format!(":{port}")));

    // nginx keeps the connection open: wtcurl's FIN goes first and its side holds TIME_WAIT.
    let close = &events(&trace, "kernel_close")[0];
    let client = close["client"].as_array().unwrap();
    assert_eq!(client.last().unwrap()["state"], "TIME_WAIT", "{close}");
    assert!(
        explain.contains("observed: this host (wtcurl's side) holds TIME_WAIT"),
        "{explain}"
    );

    // Every netlink syscall is in the trace, on AF_NETLINK sockets it opened and closed.
    let netlink_sockets: Vec<i64> = events(&trace, "syscall")
        .iter()
        .filter(|s| s["name"] == "socket" && s["args"]["domain"] == "AF_NETLINK")
        .map(|s| s["ret"].as_i64().unwrap())
        .collect();
    assert_eq!(netlink_sockets.len(), 2, "one rtnetlink, one sock_diag");
    let counted: u64 = path["syscalls"].as_u64().unwrap();
    assert!(counted >= 8, "{path}");
}

#[test]
fn a_server_that_closes_first_holds_time_wait_itself() {
    if !require_tool("ip") {
        return;
    }
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        s.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nbye\n")
            .unwrap();
        // HTTP/1.0 without keep-alive: the server closes, so its FIN comes first.
    });
    let dir = common::TempDir::new("kv");
    let trace = dir.path().join("trace.json");
    let out = wtcurl()
        .args(["--kernel-view", "--explain", "--no-color", "--trace-json"])
        .arg(&trace)
        .arg(format!("http://127.0.0.1:{port}/"))
        .output()
        .unwrap();
    server.join().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, b"bye\n");
    let explain = String::from_utf8_lossy(&out.stderr);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let close = &events(&trace, "kernel_close")[0];
    let server_side = close["server"].as_array().unwrap();
    assert_eq!(server_side.last().unwrap()["state"], "TIME_WAIT", "{close}");
    assert_ne!(
        close["client"].as_array().unwrap().last().unwrap()["state"],
        "TIME_WAIT"
    );
    assert!(
        explain.contains("observed: the server holds TIME_WAIT"),
        "{explain}"
    );
}

/// Under strace: wtcurl-check finds 0 mismatches (it compares the netlink sockets' calls too),
/// and every netlink socket the trace reports is in strace's log with the same fd.
#[test]
fn netlink_syscalls_are_real_and_the_checker_stays_clean() {
    if !(require_tool("strace") && require_tool("nginx")) {
        return;
    }
    let web = Nginx::wetransfer_like().expect("nginx");
    let dir = common::TempDir::new("kv");
    let trace = dir.path().join("trace.json");
    let strace = dir.path().join("strace.txt");
    let out = std::process::Command::new(common::tool_path("strace").unwrap())
        .args(["-f", "-tt", "-T", "-e"])
        .arg(format!("trace={}", wtcurl::check::STRACE_TRACE_LIST))
        .arg("-o")
        .arg(&strace)
        .arg(env!("CARGO_BIN_EXE_wtcurl"))
        .args(["-s", "-o", "/dev/null", "--kernel-view", "--trace-json"])
        .arg(&trace)
        .arg(web.url("/"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let check = std::process::Command::new(env!("CARGO_BIN_EXE_wtcurl-check"))
        .arg("--trace")
        .arg(&trace)
        .arg("--strace")
        .arg(&strace)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(0), "{report}");
    assert!(report.contains("0 mismatches"), "{report}");

    let trace = std::fs::read_to_string(&trace).unwrap();
    let strace = std::fs::read_to_string(&strace).unwrap();
    let traced: Vec<(String, i64)> = events(&trace, "syscall")
        .iter()
        .filter(|s| s["name"] == "socket" && s["args"]["domain"] == "AF_NETLINK")
        .map(|s| {
            (
                s["args"]["protocol"].as_str().unwrap().to_string(),
                s["ret"].as_i64().unwrap(),
            )
        })
        .collect();
    let straced: Vec<(String, i64)> = strace
        .lines()
        .filter(|l| l.contains("socket(AF_NETLINK"))
        .map(|l| {
            let proto = if l.contains("NETLINK_SOCK_DIAG") {
                "NETLINK_SOCK_DIAG"
            } else {
                "NETLINK_ROUTE"
            };
            let fd = l
                .rsplit("= ")
                .next()
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap();
            (proto.to_string(), fd.parse().unwrap())
        })
        .collect();
    assert_eq!(traced, straced, "{strace}");
    // Each sendto on a netlink fd in the trace is one in strace's log.
    for (_, fd) in &traced {
        let t = events(&trace, "syscall")
            .iter()
            .filter(|s| s["name"] == "sendto" && s["fd"] == *fd)
            .count();
        let s = strace
            .lines()
            .filter(|l| l.contains(&format!("sendto({fd}, ")))
            .count();
        assert_eq!(t, s, "sendto on netlink fd {fd}");
    }
}
