//! The waterfall that ends `--explain`: per hop, where the time went, with curl's -w names.

use crate::render::fmt::us;
use crate::render::palette::Palette;

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
}

/// Bar width in characters.
const WIDTH: u64 = 32;

/// The waterfall's lines: one block of six rows per hop, bars scaled to `total`.
pub fn render(hops: &[HopTimes], total: u64, p: &Palette) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        p.paint(p.heading, &format!("── Waterfall {}", "─".repeat(48))),
    ];
    let scale = |t: u64| (t * WIDTH).checked_div(total).unwrap_or(0).min(WIDTH);
    for (i, h) in hops.iter().enumerate() {
        if hops.len() > 1 {
            lines.push(format!("   hop {}: {}", i + 1, h.url));
        }
        let end = h.end.unwrap_or(total);
        let resolved = h.resolved.unwrap_or(end);
        let connected = h.connected.unwrap_or(resolved.max(h.start));
        let tls = h.tls_done.unwrap_or(connected);
        let pre = h.request_start.unwrap_or(tls);
        let written = h.request_written.unwrap_or(pre);
        let first = h.first_byte.unwrap_or(written);
        let tls_name = if h.tls_done.is_some() {
            "time_appconnect"
        } else {
            "time_appconnect (none: http)"
        };
        let rows: [(&str, u64, u64, &str); 6] = [
            ("DNS", h.start, resolved, "time_namelookup"),
            ("TCP connect", resolved, connected, "time_connect"),
            ("TLS", connected, tls, tls_name),
            ("request sent", pre, written, "time_pretransfer at start"),
            ("waiting (TTFB)", written, first, "time_starttransfer"),
            ("transfer", first, end, "time_total"),
        ];
        for (name, from, to, curl) in rows {
            let from = from.min(to);
            let a = scale(from);
            let b = scale(to).max(a + u64::from(to > from));
            let bar = format!(
                "{}{}{}",
                " ".repeat(a as usize),
                "█".repeat((b - a) as usize),
                " ".repeat((WIDTH - b.min(WIDTH)) as usize)
            );
            lines.push(format!(
                "   {name:<15}|{}| {:>12}  @ {:>12}  {}",
                p.paint(p.ok, &bar),
                us(to - from),
                us(to),
                p.paint(p.dim, curl)
            ));
        }
    }
    lines
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
        assert_eq!(lines.len(), 8);
        assert!(
            lines[2].starts_with("   DNS            |████    "),
            "{}",
            lines[2]
        );
        assert!(lines[2].ends_with("time_namelookup"));
        assert!(lines[4].contains("time_appconnect (none: http)"));
        assert!(
            lines[7].ends_with("|       200 µs  @       800 µs  time_total"),
            "{}",
            lines[7]
        );
    }
}
