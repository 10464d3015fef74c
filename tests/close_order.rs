//! Whose FIN went first, said three ways in one run: the Close phase (from TCP_INFO just before
//! close()), the syscall ladder's FIN arrows, and --kernel-view's verdict (the kernel's socket
//! table after close). The real binary runs `--demo` (HTTP 301, then HTTPS whose stand-in answers
//! close_notify by closing, so both orders happen) several times; in every run the three must
//! agree, or the kernel view must say plainly that the Close phase's inference was wrong.

mod common;

use common::{TempDir, wtcurl};
use serde_json::Value;

fn events(trace: &str, kind: &str) -> Vec<Value> {
    trace
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["type"] == kind)
        .collect()
}

fn last_state(side: &Value) -> &str {
    side.as_array()
        .and_then(|a| a.last())
        .and_then(|s| s["state"].as_str())
        .unwrap_or("")
}

/// Each Close phase's text, from its heading to its duration line.
fn close_sections(explain: &str) -> Vec<&str> {
    explain
        .split("\n── ")
        .filter(|s| {
            s.split_once(' ')
                .is_some_and(|(_, t)| t.starts_with("Close ─"))
        })
        .map(|s| s.split("Close took").next().unwrap_or(s))
        .collect()
}

/// The FIN arrows of each TCP conversation in the syscall ladder, in order: true for wtcurl's.
fn ladder_fins(explain: &str) -> Vec<Vec<bool>> {
    let Some(ladder) = explain.split("── Ladder").nth(1) else {
        return Vec::new();
    };
    let ladder = ladder.split("── Waterfall").next().unwrap_or(ladder);
    ladder
        .split("\n\n")
        .filter(|block| block.contains("(TCP, fd"))
        .map(|block| {
            block
                .lines()
                .filter_map(|l| {
                    if l.contains("├─ FIN ─") {
                        Some(true)
                    } else if l.contains("─ FIN ─┤") {
                        Some(false)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_close_phase_the_ladder_and_the_kernel_view_agree_on_whose_fin_went_first() {
    let (mut checked, mut server_first, mut client_first) = (0, 0, 0);
    for _ in 0..8 {
        let dir = TempDir::new("close-order");
        let trace = dir.path().join("trace.jsonl");
        let out = wtcurl()
            .args(["--demo", "--trace-json"])
            .arg(&trace)
            .output()
            .unwrap();
        let explain = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{explain}");
        let trace = std::fs::read_to_string(&trace).unwrap();
        let closed = events(&trace, "closed");
        let kernel = events(&trace, "kernel_close");
        let sections = close_sections(&explain);
        let fins = ladder_fins(&explain);
        assert_eq!(closed.len(), 2, "two hops, two closes");
        assert_eq!(
            (kernel.len(), sections.len(), fins.len()),
            (2, 2, 2),
            "{explain}"
        );
        assert!(!explain.contains("contradicts"), "{explain}");
        for (i, ((c, k), text)) in closed.iter().zip(&kernel).zip(&sections).enumerate() {
            if !k["error"].is_null() {
                continue;
            }
            let (client, server) = (last_state(&k["client"]), last_state(&k["server"]));
            let last_ack = k["client"]
                .as_array()
                .is_some_and(|a| a.iter().any(|s| s["state"] == "LAST_ACK"));
            let first_fin = c["first_fin"].as_str().unwrap();
            let evidence = c["fin_evidence"].as_str().unwrap();
            assert_eq!(
                first_fin == "server",
                matches!(evidence, "close_wait" | "recvfrom_eof"),
                "{c}"
            );
            let context = format!("hop {}: {c}\n{k}\n{text}", i + 1);
            if (server == "TIME_WAIT" && client != "TIME_WAIT") || last_ack {
                // The kernel saw the server's FIN come first.
                server_first += 1;
                // Only the race (the FIN landing after the last TCP_INFO) may leave the Close
                // phase's "most likely" standing, for the kernel view to correct below.
                if first_fin != "client" {
                    assert!(!text.contains("FIN most likely leaves first"), "{context}");
                }
                assert!(
                    !text.contains("because wtcurl sent the first FIN"),
                    "{context}"
                );
                if first_fin == "client" {
                    // It arrived after the last TCP_INFO: the verdict must say so.
                    assert!(text.contains("came first after all"), "{context}");
                } else {
                    assert_eq!(first_fin, "server", "{context}");
                    assert!(text.contains("already closed its side"), "{context}");
                }
                let f = &fins[i];
                assert_eq!(
                    f.first(),
                    Some(&false),
                    "the server's FIN first: {f:?}\n{context}"
                );
            } else if client == "TIME_WAIT" {
                // wtcurl's side holds TIME_WAIT: its FIN went first (or both crossed).
                client_first += 1;
                assert_eq!(first_fin, "client", "{context}");
                assert!(!text.contains("already closed its side"), "{context}");
                assert!(text.contains("holds TIME_WAIT"), "{context}");
                let f = &fins[i];
                assert_eq!(
                    f.first(),
                    Some(&true),
                    "wtcurl's FIN first: {f:?}\n{context}"
                );
            } else {
                continue;
            }
            checked += 1;
        }
    }
    assert!(
        checked > 0,
        "the kernel view never showed who holds TIME_WAIT"
    );
    // Hop 1's stand-in waits for wtcurl to close: its FIN goes first in practice.
    assert!(
        client_first > 0,
        "server first {server_first}, client first {client_first}"
    );
}
