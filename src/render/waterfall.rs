//! The waterfall that ends `--explain`: per hop, where the time went, with curl's -w names.

use crate::render::explain::rule;
use crate::render::fmt::Us;
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

/// The waterfall, written straight into `out`: a heading, then per hop six rows with bars.
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
            let bar = Bar {
                from: a as usize,
                to: b as usize,
            };
            writeln!(
                out,
                "   {name:<15}|{}| {:>12}  @ {:>12}  {}",
                p.show(p.ok, bar),
                Us(to - from),
                Us(to),
                p.show(p.dim, curl)
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
