//! `-v` against curl's own `-v` on loopback: the same server, the same URL, the same lines (but
//! the User-Agent, and curl's `{ [N bytes data]` trace of the body), for an IP literal, a
//! `--resolve` name and `-f` on a 404; and `-v` beside `--explain` in event order.

mod common;

use common::{require_tool, tool_path, wtcurl};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::process::Command;
use std::thread;

/// Answers `n` connections with `response`, then stops.
fn server(response: &'static [u8], n: usize) -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    thread::spawn(move || {
        for s in l.incoming().take(n) {
            let Ok(mut s) = s else { continue };
            let mut req = Vec::new();
            let mut buf = [0u8; 4096];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => req.extend_from_slice(&buf[..k]),
                }
            }
            let _ = s.write_all(response);
        }
    });
    addr
}

/// The `*`, `>` and `<` lines of a `-v` run, without the User-Agent and curl's data trace.
fn verbose_lines(stderr: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .filter(|l| {
            l.starts_with("* ") || l.starts_with("*  ") || l.starts_with('>') || l.starts_with('<')
        })
        .filter(|l| !l.starts_with("> User-Agent:"))
        .map(str::to_string)
        .collect()
}

fn both(args: &[&str]) -> (Vec<String>, Vec<String>, String) {
    let curl = Command::new(tool_path("curl").unwrap())
        .args(["-sv", "-o", "/dev/null"])
        .args(args)
        .output()
        .unwrap();
    let ours = wtcurl()
        .args(["-sv", "-o", "/dev/null"])
        .args(args)
        .output()
        .unwrap();
    let ours_text = String::from_utf8_lossy(&ours.stderr).into_owned();
    (
        verbose_lines(&curl.stderr),
        verbose_lines(&ours.stderr),
        ours_text,
    )
}

const OK_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nhi\n";
const NOT_FOUND: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\nConnection: close\r\n\r\nno\n";

#[test]
fn an_ip_literal_is_not_resolved_and_the_lines_are_curls() {
    if !require_tool("curl") {
        return;
    }
    let addr = server(OK_CLOSE, 2);
    let (curl, ours, text) = both(&[&format!("http://{addr}/")]);
    assert!(!text.contains("was resolved"), "{text}");
    assert_eq!(ours, curl, "{text}");
}

#[test]
fn a_resolve_entry_is_said_as_curl_says_it() {
    if !require_tool("curl") {
        return;
    }
    let addr = server(OK_CLOSE, 2);
    let resolve = format!("v.test:{}:127.0.0.1", addr.port());
    let url = format!("http://v.test:{}/", addr.port());
    let (curl, ours, text) = both(&["--resolve", &resolve, &url]);
    assert!(
        ours.contains(&format!("* Added {resolve} to DNS cache")),
        "{text}"
    );
    assert_eq!(ours, curl, "{text}");
}

#[test]
fn fail_on_404_says_the_error_once_as_a_star_line_then_closes() {
    if !require_tool("curl") {
        return;
    }
    let addr = server(NOT_FOUND, 2);
    let (curl, ours, text) = both(&["-f", &format!("http://{addr}/")]);
    assert_eq!(ours, curl, "{text}");
    // Without -s, the error's own line (curl's `curl: (22) …`) comes once, from main; -v says
    // the message as a `*` line, as curl does, and no second `wtcurl: (22)` line.
    let addr = server(NOT_FOUND, 1);
    let out = wtcurl()
        .args(["-v", "-f", "-o", "/dev/null"])
        .arg(format!("http://{addr}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(22), "{text}");
    assert_eq!(text.matches("(22)").count(), 1, "{text}");
    assert_eq!(
        text.matches("The requested URL returned error: 404")
            .count(),
        2,
        "{text}"
    );
    assert!(
        text.contains("* The requested URL returned error: 404\n* Closing connection 0\nwtcurl: (22) [response] The requested URL returned error: 404\n"),
        "{text}"
    );
}

#[test]
fn verbose_lines_follow_the_explanation_of_the_same_step() {
    let addr = server(OK_CLOSE, 1);
    let out = wtcurl()
        .args(["-v", "--explain", "-o", "/dev/null"])
        .arg(format!("http://{addr}/"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    let at = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing\n{text}"))
    };
    let tcp = at("── 3. TCP: connect");
    let request = at("── 4. HTTP request");
    let response = at("── 5. HTTP response");
    let close = at("── 6. Close");
    assert!(
        tcp < at("*   Trying ") && at("* Connected to ") < request,
        "{text}"
    );
    assert!(
        request < at("> GET / HTTP/1.1") && at("> GET / HTTP/1.1") < response,
        "{text}"
    );
    assert!(
        response < at("< HTTP/1.1 200 OK") && at("< HTTP/1.1 200 OK") < close,
        "{text}"
    );
    assert!(
        close < at("* Closing connection 0") && at("* Closing connection 0") < at("── Waterfall"),
        "{text}"
    );
}
