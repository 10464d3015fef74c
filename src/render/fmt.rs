//! Small text helpers shared by renderers: µs with separators, strace-like syscall lines.

use crate::event::{SyscallArgs, SyscallRecord};
use std::fmt;
use std::net::SocketAddr;

/// Text built on the stack, for padding a formatted piece without allocating. It counts the
/// characters it holds, so padding needs no second pass over the text.
pub struct StackText<const N: usize> {
    buf: [u8; N],
    len: usize,
    chars: usize,
}

impl<const N: usize> StackText<N> {
    pub fn new() -> Self {
        StackText {
            buf: [0; N],
            len: 0,
            chars: 0,
        }
    }

    pub fn as_str(&self) -> &str {
        // Only whole `&str`s and ASCII bytes are ever appended, so the bytes are valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }

    /// The text's bytes, for writing to an `io::Write` without a UTF-8 check.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// How many characters (not bytes) the text holds.
    pub fn chars(&self) -> usize {
        self.chars
    }

    /// Appends `s` if it fits (else nothing), counting `chars` characters for it.
    pub fn push(&mut self, s: &str, chars: usize) {
        let end = self.len + s.len();
        if end <= N {
            self.buf[self.len..end].copy_from_slice(s.as_bytes());
            self.len = end;
            self.chars += chars;
        }
    }

    /// Appends ASCII text.
    pub fn push_ascii(&mut self, s: &str) {
        debug_assert!(s.is_ascii());
        self.push(s, s.len());
    }

    /// Appends `n` with thousands separators.
    pub fn push_thousands(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        let mut rest = n;
        loop {
            i -= 1;
            digits[i] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let digits = &digits[i..];
        if self.len + digits.len() + digits.len() / 3 > N {
            return;
        }
        for (k, &d) in digits.iter().enumerate() {
            if k > 0 && (digits.len() - k).is_multiple_of(3) {
                self.buf[self.len] = b',';
                self.len += 1;
                self.chars += 1;
            }
            self.buf[self.len] = d;
            self.len += 1;
            self.chars += 1;
        }
    }

    /// Appends microseconds as `1,234 µs`.
    pub fn push_us(&mut self, n: u64) {
        self.push_thousands(n);
        self.push(" µs", 3);
    }

    /// Appends what `build` writes, right-aligned in `width` characters.
    pub fn push_right(&mut self, width: usize, build: impl FnOnce(&mut StackText<48>)) {
        let mut piece = StackText::<48>::new();
        build(&mut piece);
        let fill = width.saturating_sub(piece.chars);
        self.push(&SPACES[..fill.min(SPACES.len())], fill.min(SPACES.len()));
        self.push_text(&piece);
    }

    /// Appends another stack text (already valid UTF-8, so its bytes are copied as they are).
    pub fn push_text<const M: usize>(&mut self, other: &StackText<M>) {
        let end = self.len + other.len;
        if end <= N {
            self.buf[self.len..end].copy_from_slice(other.as_bytes());
            self.len = end;
            self.chars += other.chars;
        }
    }

    /// Appends `n` copies of a one-character string whose UTF-8 form is `one`, if they fit.
    pub fn push_repeat(&mut self, one: &str, n: usize) {
        for _ in 0..n {
            if self.len + one.len() > N {
                return;
            }
            self.buf[self.len..self.len + one.len()].copy_from_slice(one.as_bytes());
            self.len += one.len();
            self.chars += 1;
        }
    }

    /// Writes the text and then `suffix` (of `suffix_chars` characters) into `f`, padded as `f`
    /// asks (width and alignment; the fill is a space).
    pub fn pad_into(
        &self,
        f: &mut fmt::Formatter<'_>,
        suffix: &str,
        suffix_chars: usize,
    ) -> fmt::Result {
        let chars = self.chars + suffix_chars;
        let fill = f.width().unwrap_or(0).saturating_sub(chars);
        let (before, after) = match f.align() {
            Some(fmt::Alignment::Right) => (fill, 0),
            Some(fmt::Alignment::Center) => (fill / 2, fill - fill / 2),
            _ => (0, fill),
        };
        spaces(f, before)?;
        f.write_str(self.as_str())?;
        f.write_str(suffix)?;
        spaces(f, after)
    }
}

const SPACES: &str = "                                ";

fn spaces(f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
    let mut left = n;
    while left > 0 {
        let k = left.min(SPACES.len());
        f.write_str(&SPACES[..k])?;
        left -= k;
    }
    Ok(())
}

impl<const N: usize> Default for StackText<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> fmt::Write for StackText<N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if self.len + s.len() > N {
            return Err(fmt::Error);
        }
        self.push(s, s.chars().count());
        Ok(())
    }
}

/// A number with thousands separators, `1234567` -> `1,234,567`; honours width and alignment.
#[derive(Clone, Copy, Debug)]
pub struct Thousands(pub u64);

impl fmt::Display for Thousands {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = StackText::<32>::new();
        t.push_thousands(self.0);
        t.pad_into(f, "", 0)
    }
}

/// Microseconds as `1,234 µs`; honours width and alignment.
#[derive(Clone, Copy, Debug)]
pub struct Us(pub u64);

impl fmt::Display for Us {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut t = StackText::<32>::new();
        t.push_thousands(self.0);
        t.pad_into(f, " µs", 3)
    }
}

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    Thousands(n).to_string()
}

/// Microseconds as `1,234 µs`.
pub fn us(n: u64) -> String {
    Us(n).to_string()
}

/// Seconds with six decimals, as curl's -w prints times.
pub fn secs(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// One syscall as a short strace-like line: `connect(3, 127.0.0.1:80) = -1 EINPROGRESS`.
pub struct SyscallLine<'a>(pub &'a SyscallRecord);

impl fmt::Display for SyscallLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        f.write_str(s.name)?;
        f.write_str("(")?;
        let mut sep = "";
        if let Some(fd) = s.fd
            && !matches!(
                s.args,
                SyscallArgs::Socket { .. } | SyscallArgs::Poll { .. }
            )
        {
            fmt::Display::fmt(&fd, f)?;
            sep = ", ";
        }
        // What strace prints after the result, in parentheses, if anything.
        let mut detail: Option<(&str, &SocketAddr)> = None;
        match &s.args {
            SyscallArgs::Socket {
                domain,
                protocol,
                kind,
            } => write!(f, "{domain}, {kind}, {protocol}")?,
            SyscallArgs::NetlinkSocket {
                domain,
                protocol,
                kind,
            } => write!(f, "{domain}, {kind}, {protocol}")?,
            SyscallArgs::Addr { addr } => {
                if s.name == "connect" {
                    f.write_str(sep)?;
                    match addr {
                        Some(a) => fmt::Display::fmt(a, f)?,
                        None => f.write_str("NULL")?,
                    }
                } else {
                    detail = addr.as_ref().map(|a| ("", a));
                }
            }
            SyscallArgs::Poll { fds, timeout_ms } => {
                f.write_str("[")?;
                for (i, p) in fds.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{{fd={}, events={}}}", p.fd, p.events)?;
                }
                write!(f, "], {}, {timeout_ms}", fds.len())?;
            }
            SyscallArgs::SoError {
                level,
                optname,
                value,
                ..
            } => {
                write!(f, "{sep}{level}, {optname}")?;
                if let Some(v) = value {
                    write!(f, ", [{v}]")?;
                }
            }
            SyscallArgs::SockoptLen { level, optname, .. } => {
                write!(f, "{sep}{level}, {optname}")?;
            }
            SyscallArgs::Sendto { flags, len, to } => {
                write!(f, "{sep}<{len} bytes>, {flags}")?;
                if let Some(to) = to {
                    write!(f, ", to {to}")?;
                }
            }
            SyscallArgs::Recvfrom { from, len } => {
                write!(f, "{sep}<buffer of {len} bytes>")?;
                detail = from.as_ref().map(|a| ("from ", a));
            }
            // As strace shows it: `ioctl(5, FIONREAD, [0]) = 0`.
            SyscallArgs::Ioctl { request, value } => {
                write!(f, "{sep}{request}")?;
                if let Some(n) = value {
                    write!(f, ", [{n}]")?;
                }
            }
            SyscallArgs::Json(v) => {
                if !v.as_object().is_some_and(|o| o.is_empty()) {
                    write!(f, "{sep}{v}")?;
                }
            }
            SyscallArgs::Empty {} => {}
        }
        write!(f, ") = {}", s.ret)?;
        if let Some(e) = &s.errno {
            f.write_str(" ")?;
            f.write_str(e)?;
        }
        if let SyscallArgs::Poll { fds, .. } = &s.args
            && fds.iter().any(|p| !p.revents.is_empty())
        {
            f.write_str(" ([")?;
            let ready = fds.iter().filter(|p| !p.revents.is_empty());
            for (i, p) in ready.enumerate() {
                let sep = if i == 0 { "" } else { ", " };
                write!(f, "{sep}{{fd={}, revents={}}}", p.fd, p.revents)?;
            }
            f.write_str("])")?;
        } else if let Some((label, addr)) = detail {
            write!(f, " ({label}{addr})")?;
        }
        Ok(())
    }
}

/// [`SyscallLine`] as a String.
pub fn syscall_line(s: &SyscallRecord) -> String {
    SyscallLine(s).to_string()
}

/// Bytes shown safely on one line: printable ASCII kept, the rest escaped, cut to `max` chars.
pub struct Escaped<'a>(pub &'a [u8], pub usize);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut written = 0;
        let mut rest = self.0;
        while let Some((&b, tail)) = rest.split_first() {
            if written >= self.1 {
                return f.write_str("…");
            }
            // A run of printable ASCII goes out in one piece, up to the limit.
            let run = rest
                .iter()
                .take(self.1 - written)
                .take_while(|b| (0x20..=0x7e).contains(*b))
                .count();
            if run > 0 {
                f.write_str(std::str::from_utf8(&rest[..run]).unwrap_or(""))?;
                written += run;
                rest = &rest[run..];
                continue;
            }
            match b {
                b'\r' => f.write_str("\\r")?,
                b'\n' => f.write_str("\\n")?,
                _ => write!(f, "\\x{b:02x}")?,
            }
            written += if b == b'\r' || b == b'\n' { 2 } else { 4 };
            rest = tail;
        }
        Ok(())
    }
}

/// [`Escaped`] as a String.
pub fn escape_line(bytes: &[u8], max: usize) -> String {
    Escaped(bytes, max).to_string()
}

/// An optional value, shown as nothing when absent.
pub struct Maybe<'a, T>(pub &'a Option<T>);

impl<T: fmt::Display> fmt::Display for Maybe<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => v.fmt(f),
            None => Ok(()),
        }
    }
}

/// Items shown with a separator between them, without collecting Strings.
pub struct Joined<'a, T>(pub &'a [T], pub &'a str);

impl<T: fmt::Display> fmt::Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, item) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(self.1)?;
            }
            item.fmt(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(
        name: &'static str,
        ret: i64,
        errno: Option<&str>,
        args: serde_json::Value,
    ) -> SyscallRecord {
        SyscallRecord {
            name,
            fd: Some(3),
            ret,
            errno: errno.map(str::to_string),
            start_us: 0,
            end_us: 1,
            args: SyscallArgs::from_json(args),
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
        assert_eq!(
            syscall_line(&rec(
                "recvfrom",
                48,
                None,
                json!({"len": 512, "from": "127.0.0.1:53"})
            )),
            "recvfrom(3, <buffer of 512 bytes>) = 48 (from 127.0.0.1:53)"
        );
        assert_eq!(
            syscall_line(&rec(
                "getsockname",
                0,
                None,
                json!({"addr": "127.0.0.1:4242"})
            )),
            "getsockname(3) = 0 (127.0.0.1:4242)"
        );
        assert_eq!(
            syscall_line(&rec(
                "socket",
                3,
                None,
                json!({"domain": "AF_INET", "type": "SOCK_STREAM", "protocol": 0})
            )),
            "socket(AF_INET, SOCK_STREAM, 0) = 3"
        );
        assert_eq!(
            syscall_line(&rec(
                "getsockopt",
                0,
                None,
                json!({"level": "SOL_SOCKET", "optname": "SO_ERROR", "value": 0})
            )),
            "getsockopt(3, SOL_SOCKET, SO_ERROR, [0]) = 0"
        );
        assert_eq!(
            syscall_line(&rec("close", 0, None, json!({}))),
            "close(3) = 0"
        );
    }

    #[test]
    fn escaping_keeps_lines_single() {
        assert_eq!(escape_line(b"GET /\r\n\x00", 80), "GET /\\r\\n\\x00");
        assert_eq!(escape_line(b"abcdef", 3), "abc…");
        assert_eq!(escape_line(b"abc", 3), "abc");
        assert_eq!(escape_line(b"ab\x01cd", 3), "ab\\x01…");
        assert_eq!(format!("[{:>8}]", Us(1234)), "[1,234 µs]");
        assert_eq!(format!("[{:>9}]", Thousands(1234567)), "[1,234,567]");
        assert_eq!(format!("[{:<6}]", Thousands(1234)), "[1,234 ]");
        assert_eq!(format!("[{:^7}]", Thousands(1234)), "[ 1,234 ]");
        assert_eq!(format!("[{:>5}]", Us(7)), "[ 7 µs]");
        let mut t = StackText::<64>::new();
        t.push_ascii("@ ");
        t.push_right(8, |x| x.push_us(1234));
        assert_eq!((t.as_str(), t.chars()), ("@ 1,234 µs", 10));
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }
}
