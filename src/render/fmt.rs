//! Small text helpers shared by renderers: µs with separators, strace-like syscall lines.

use crate::event::SyscallRecord;
use serde_json::Value;

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Microseconds as `1,234 µs`.
pub fn us(n: u64) -> String {
    format!("{} µs", thousands(n))
}

/// Seconds with six decimals, as curl's -w prints times.
pub fn secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

fn arg<'a>(args: &'a Value, key: &str) -> std::borrow::Cow<'a, str> {
    match args.get(key) {
        Some(Value::String(s)) => std::borrow::Cow::Borrowed(s.as_str()),
        Some(Value::Null) | None => std::borrow::Cow::Borrowed("NULL"),
        Some(v) => std::borrow::Cow::Owned(v.to_string()),
    }
}

/// One syscall as a short strace-like line: `connect(3, 127.0.0.1:80) = -1 EINPROGRESS`.
pub fn syscall_line(s: &SyscallRecord) -> String {
    let fd = s.fd.map(|f| f.to_string()).unwrap_or_default();
    let a = &s.args;
    let call = match s.name {
        "socket" => format!(
            "socket({}, {}, {})",
            arg(a, "domain"),
            arg(a, "type"),
            arg(a, "protocol")
        ),
        "connect" => format!("connect({fd}, {})", arg(a, "addr")),
        "poll" => {
            let fds = a
                .get("fds")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let list: Vec<String> = fds
                .iter()
                .map(|f| format!("{{fd={}, events={}}}", arg(f, "fd"), arg(f, "events")))
                .collect();
            let got: Vec<String> = fds
                .iter()
                .filter(|f| {
                    f.get("revents")
                        .and_then(Value::as_str)
                        .is_some_and(|r| !r.is_empty())
                })
                .map(|f| format!("{{fd={}, revents={}}}", arg(f, "fd"), arg(f, "revents")))
                .collect();
            let base = format!(
                "poll([{}], {}, {})",
                list.join(", "),
                fds.len(),
                arg(a, "timeout_ms")
            );
            return with_ret(
                s,
                base,
                (!got.is_empty()).then(|| format!("[{}]", got.join(", "))),
            );
        }
        "getsockopt" => {
            let v = match a.get("value") {
                Some(Value::Number(n)) => format!(", [{n}]"),
                _ => String::new(),
            };
            format!(
                "getsockopt({fd}, {}, {}{v})",
                arg(a, "level"),
                arg(a, "optname")
            )
        }
        "getsockname" | "getpeername" => {
            return with_ret(
                s,
                format!("{}({fd})", s.name),
                a.get("addr").and_then(Value::as_str).map(str::to_string),
            );
        }
        "sendto" => {
            let to = a
                .get("to")
                .and_then(Value::as_str)
                .map(|t| format!(", to {t}"))
                .unwrap_or_default();
            format!(
                "sendto({fd}, <{} bytes>, {}{to})",
                arg(a, "len"),
                arg(a, "flags")
            )
        }
        "recvfrom" => {
            let from = a
                .get("from")
                .and_then(Value::as_str)
                .map(|t| format!(" from {t}"))
                .unwrap_or_default();
            return with_ret(
                s,
                format!("recvfrom({fd}, <buffer of {} bytes>)", arg(a, "len")),
                (!from.is_empty()).then(|| from.trim().to_string()),
            );
        }
        other => format!("{other}({fd})"),
    };
    with_ret(s, call, None)
}

fn with_ret(s: &SyscallRecord, call: String, detail: Option<String>) -> String {
    let mut line = format!("{call} = {}", s.ret);
    if let Some(e) = &s.errno {
        line.push(' ');
        line.push_str(e);
    }
    if let Some(d) = detail {
        line.push_str(&format!(" ({d})"));
    }
    line
}

/// Bytes shown safely on one line: printable ASCII kept, the rest escaped, cut to `max` chars.
pub fn escape_line(bytes: &[u8], max: usize) -> String {
    let mut out = String::new();
    for &b in bytes {
        if out.len() >= max {
            out.push('…');
            break;
        }
        match b {
            b'\r' => out.push_str("\\r"),
            b'\n' => out.push_str("\\n"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(name: &'static str, ret: i64, errno: Option<&str>, args: Value) -> SyscallRecord {
        SyscallRecord {
            name,
            fd: Some(3),
            ret,
            errno: errno.map(str::to_string),
            start_us: 0,
            end_us: 1,
            args,
        }
    }

    #[test]
    fn numbers_get_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(secs(1_234_567), "1.234567");
    }

    #[test]
    fn syscalls_read_like_strace() {
        assert_eq!(
            syscall_line(&rec(
                "connect",
                -1,
                Some("EINPROGRESS"),
                json!({"addr": "127.0.0.1:80"})
            )),
            "connect(3, 127.0.0.1:80) = -1 EINPROGRESS"
        );
        assert_eq!(
            syscall_line(&rec(
                "poll",
                1,
                None,
                json!({"fds": [{"fd": 3, "events": "POLLOUT", "revents": "POLLOUT"}], "timeout_ms": 200})
            )),
            "poll([{fd=3, events=POLLOUT}], 1, 200) = 1 ([{fd=3, revents=POLLOUT}])"
        );
        assert_eq!(
            syscall_line(&rec(
                "sendto",
                78,
                None,
                json!({"len": 78, "flags": "MSG_NOSIGNAL", "to": null})
            )),
            "sendto(3, <78 bytes>, MSG_NOSIGNAL) = 78"
        );
    }

    #[test]
    fn escaping_keeps_lines_single() {
        assert_eq!(escape_line(b"GET /\r\n\x00", 80), "GET /\\r\\n\\x00");
        assert_eq!(escape_line(b"abcdef", 3), "abc…");
    }
}
