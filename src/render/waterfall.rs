//! The waterfall that ends `--explain`: per hop, where the time went, with curl's -w names.

use crate::error::{Label, Phase};
use crate::render::explain::rule;
use crate::render::fmt::Us;
use crate::render::palette::Palette;

/// Where a run failed, for the waterfall's mark.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Failure {
    pub phase: Phase,
    pub label: Label,
    pub at: u64,
}

/// Per-hop times for the waterfall (µs since start).
#[derive(Clone, Debug, Default)]
pub struct HopTimes {
    pub url: String,
    pub start: u64,
    pub resolved: Option<u64>,
    pub connected: Option<u64>,
    pub tls_done: Option<u64>,
    /// The hop negotiated TLS 1.3 (for the record-overhead note).
    pub tls13: bool,
    pub request_start: Option<u64>,
    pub request_written: Option<u64>,
    pub first_byte: Option<u64>,
    pub end: Option<u64>,
    /// When the close phase began: a failure inside the exchange is reported only after the
    /// socket is closed, so this is when the failed phase ended.
    pub close_start: Option<u64>,
    /// The run failed during (or right after) this hop.
    pub failed: Option<Failure>,
}

/// Bar width in characters.
const WIDTH: u64 = 32;

/// One row: its name, when it began and ended, and curl's -w name (or the failure mark).
struct Row {
    name: &'static str,
    from: u64,
    to: u64,
    curl: &'static str,
    failed: Option<Failure>,
}

/// The rows of the phases a hop went through, up to where it failed: a phase that never began
/// has no row, and the failed one ends at the failure. Also the failure that no row can carry:
/// one after the hop ended (-f on an error status, too many redirects) or before any network.
fn rows(h: &HopTimes, total: u64) -> ([Option<Row>; 6], Option<(Failure, &'static str)>) {
    let end = h.end.unwrap_or(total);
    // The error event comes after the close; the failed phase ended when the close began.
    let failure = h.failed.map(|f| Failure {
        at: h.close_start.map_or(f.at, |c| f.at.min(c)),
        ..f
    });
    // -f on an error status and too many redirects are verdicts on a finished exchange.
    let after_hop = h
        .failed
        .filter(|f| matches!(f.label, Label::HttpError | Label::TooManyRedirects));
    let fail_row = failure
        .filter(|_| after_hop.is_none())
        .and_then(|f| match f.phase {
            Phase::Dns => Some(0),
            Phase::Tcp => Some(1),
            Phase::Tls => Some(2),
            Phase::Request => Some(3),
            Phase::Response | Phase::Output | Phase::Close => {
                Some(if h.first_byte.is_some() { 5 } else { 4 })
            }
            Phase::Url | Phase::Setup | Phase::Breaker => None,
        });
    let left = match (after_hop, failure) {
        (Some(f), _) => Some((f, "after the transfer")),
        (None, Some(f)) if fail_row.is_none() => Some((f, "before any network phase")),
        _ => None,
    };
    let after_dns = h.resolved.unwrap_or(h.start);
    let after_tcp = h.connected.unwrap_or(after_dns);
    let pre = h.request_start.unwrap_or(h.tls_done.unwrap_or(after_tcp));
    let written = h.request_written.unwrap_or(pre);
    let spec: [(&'static str, u64, Option<u64>, &'static str); 6] = [
        ("DNS", h.start, h.resolved, "time_namelookup"),
        ("TCP connect", after_dns, h.connected, "time_connect"),
        ("TLS", after_tcp, h.tls_done, "time_appconnect"),
        (
            "request sent",
            pre,
            h.request_written,
            "time_pretransfer at the row's start (request about to be sent)",
        ),
        (
            "waiting (TTFB)",
            written,
            h.first_byte,
            "time_starttransfer",
        ),
        (
            "transfer",
            h.first_byte.unwrap_or(written),
            h.first_byte.map(|_| end),
            "time_total",
        ),
    ];
    let mut out: [Option<Row>; 6] = Default::default();
    for (i, (name, from, to, curl)) in spec.into_iter().enumerate() {
        let failed = failure.filter(|_| fail_row == Some(i));
        let to = match (failed, to) {
            (Some(f), Some(t)) => f.at.min(t),
            (Some(f), None) => f.at,
            (None, Some(t)) => t,
            (None, None) => continue,
        };
        out[i] = Some(Row {
            name,
            from: from.min(to),
            to,
            curl,
            failed,
        });
    }
    (out, left)
}

/// The waterfall, written straight into `out`: a heading, then per hop a row with a bar for each
/// phase that happened, the failed one marked.
pub fn write(
    out: &mut impl std::io::Write,
    hops: &[HopTimes],
    total: u64,
    p: &Palette,
) -> std::io::Result<()> {
    writeln!(out)?;
    let head = rule(format_args!("── Waterfall "), 61);
    writeln!(out, "{}", p.show(p.heading, head.as_str()))?;
    let scale = |t: u64| (t * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    for (i, h) in hops.iter().enumerate() {
        if hops.len() > 1 {
            writeln!(out, "   hop {}: {}", i + 1, h.url)?;
        }
        let (rows, left) = rows(h, total);
        for r in rows.iter().flatten() {
            let a = scale(r.from);
            let b = scale(r.to).max(a + u64::from(r.to > r.from));
            let bar = Bar {
                from: a as usize,
                to: b as usize,
            };
            write!(
                out,
                "   {:<15}|{}| {:>12}  @ {:>12}  ",
                r.name,
                p.show(p.ok, bar),
                Us(r.to - r.from),
                Us(r.to),
            )?;
            match r.failed {
                Some(f) => writeln!(
                    out,
                    "{}",
                    p.show(
                        p.bad,
                        format_args!("✗ failed here: {} [{}]", f.phase.as_str(), f.label.as_str())
                    )
                )?,
                None => writeln!(out, "{}", p.show(p.dim, r.curl))?,
            }
        }
        if let Some((f, when)) = left {
            writeln!(
                out,
                "   {}",
                p.show(
                    p.bad,
                    format_args!(
                        "✗ failed {when}, @ {}: {} [{}]",
                        Us(f.at),
                        f.phase.as_str(),
                        f.label.as_str()
                    )
                )
            )?;
        }
    }
    Ok(())
}

/// A bar of WIDTH columns, filled from `from` to `to`, written from constant slices.
struct Bar {
    from: usize,
    to: usize,
}

impl std::fmt::Display for Bar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const BLOCKS: &str = "████████████████████████████████";
        const SPACES: &str = "                                ";
        let width = WIDTH as usize;
        let (from, to) = (
            self.from.min(width),
            self.to.clamp(self.from.min(width), width),
        );
        f.write_str(&SPACES[..from])?;
        f.write_str(&BLOCKS[..(to - from) * '█'.len_utf8()])?;
        f.write_str(&SPACES[..width - to])
    }
}

/// [`write`] as lines, for tests.
#[cfg(test)]
pub fn render(hops: &[HopTimes], total: u64, p: &Palette) -> Vec<String> {
    let mut out = Vec::new();
    let _ = write(&mut out, hops, total, p);
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_are_scaled_and_rows_named_after_curl() {
        let hop = HopTimes {
            url: "http://x/".into(),
            start: 0,
            resolved: Some(100),
            connected: Some(200),
            request_start: Some(200),
            request_written: Some(300),
            first_byte: Some(600),
            end: Some(800),
            ..Default::default()
        };
        let lines = render(&[hop], 800, &Palette::plain());
        // http: no TLS happened, so there is no TLS row.
        assert_eq!(lines.len(), 7, "{lines:#?}");
        assert!(
            lines[2].starts_with("   DNS            |████    "),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("time_namelookup"));
        assert!(lines.iter().all(|l| !l.contains("TLS")), "{lines:#?}");
        assert!(
            lines[6].ends_with("|       200 µs  @       800 µs  time_total"),
            "{}",
            lines[6]
        );
    }

    fn failed(phase: Phase, label: Label, at: u64) -> Option<Failure> {
        Some(Failure { phase, label, at })
    }

    #[test]
    fn a_dns_failure_shows_only_dns_and_marks_it() {
        let hop = HopTimes {
            start: 10,
            end: Some(5_000),
            failed: failed(Phase::Dns, Label::DnsTimeout, 4_990),
            ..Default::default()
        };
        let lines = render(&[hop], 5_000, &Palette::plain());
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert!(lines[2].starts_with("   DNS "), "{lines:#?}");
        assert!(
            lines[2].ends_with("4,980 µs  @     4,990 µs  ✗ failed here: dns [dns_timeout]"),
            "{lines:#?}"
        );
    }

    #[test]
    fn a_connect_failure_ends_the_rows_at_tcp() {
        let hop = HopTimes {
            start: 0,
            resolved: Some(100),
            end: Some(700),
            failed: failed(Phase::Tcp, Label::ConnectRefused, 650),
            ..Default::default()
        };
        let lines = render(&[hop], 700, &Palette::plain());
        assert_eq!(lines.len(), 4, "{lines:#?}");
        assert!(lines[3].starts_with("   TCP connect "), "{lines:#?}");
        assert!(
            lines[3].ends_with("550 µs  @       650 µs  ✗ failed here: tcp [connect_refused]"),
            "{lines:#?}"
        );
        assert!(lines.iter().all(|l| !l.contains("transfer")), "{lines:#?}");
    }

    #[test]
    fn a_failure_inside_the_exchange_ends_where_the_close_began() {
        // The error event comes after the close; the response failed when the close began.
        let hop = HopTimes {
            start: 0,
            resolved: Some(100),
            connected: Some(200),
            request_start: Some(200),
            request_written: Some(300),
            first_byte: Some(400),
            close_start: Some(900),
            end: Some(950),
            failed: failed(Phase::Response, Label::PartialBody, 960),
            ..Default::default()
        };
        let lines = render(&[hop], 1_000, &Palette::plain());
        assert_eq!(lines.len(), 7, "{lines:#?}");
        assert!(
            lines[6].starts_with("   transfer ")
                && lines[6]
                    .ends_with("500 µs  @       900 µs  ✗ failed here: response [partial_file]"),
            "{lines:#?}"
        );
        // No answer at all: the wait for the first byte is the failed row.
        let hop = HopTimes {
            start: 0,
            resolved: Some(100),
            connected: Some(200),
            request_start: Some(200),
            request_written: Some(300),
            close_start: Some(5_300),
            end: Some(5_350),
            failed: failed(Phase::Response, Label::Timeout, 5_360),
            ..Default::default()
        };
        let lines = render(&[hop], 5_400, &Palette::plain());
        assert_eq!(lines.len(), 6, "{lines:#?}");
        assert!(
            lines[5].starts_with("   waiting (TTFB) ")
                && lines[5].ends_with("✗ failed here: response [operation_timedout]"),
            "{lines:#?}"
        );
    }

    #[test]
    fn verdicts_after_the_transfer_and_failures_before_any_network_are_said_under_the_rows() {
        let hop = HopTimes {
            start: 0,
            resolved: Some(100),
            connected: Some(200),
            request_start: Some(200),
            request_written: Some(300),
            first_byte: Some(400),
            close_start: Some(500),
            end: Some(550),
            failed: failed(Phase::Response, Label::HttpError, 560),
            ..Default::default()
        };
        let lines = render(&[hop], 600, &Palette::plain());
        assert_eq!(lines.len(), 8, "{lines:#?}");
        assert!(lines[6].ends_with("time_total"), "{lines:#?}");
        assert_eq!(
            lines[7],
            "   ✗ failed after the transfer, @ 560 µs: response [http_returned_error]"
        );
        let hop = HopTimes {
            start: 0,
            end: Some(40),
            failed: failed(Phase::Url, Label::UrlMalformed, 30),
            ..Default::default()
        };
        let lines = render(&[hop], 40, &Palette::plain());
        assert_eq!(lines.len(), 3, "{lines:#?}");
        assert_eq!(
            lines[2],
            "   ✗ failed before any network phase, @ 30 µs: url [url_malformed]"
        );
    }
}
