//! `--packets` in `--explain`: the captured packets as tcpdump prints them, and a ladder diagram.

use super::Explain;
use crate::event::Event;
use crate::render::fmt::Us;
use std::io::Write;
use std::net::SocketAddr;

/// Packets kept for the ladder; a longer capture is summarised.
const LADDER_MAX: usize = 300;
/// Width of the space between the two columns.
pub(super) const GAP: usize = 44;

/// One packet as the ladder needs it.
#[derive(Clone, Debug)]
pub(super) struct Seen {
    at_us: u64,
    out: bool,
    local: SocketAddr,
    remote: SocketAddr,
    /// A TCP segment (it has flags).
    tcp: bool,
    label: String,
    /// The tcpdump line.
    line: String,
}

fn label(flags: Option<&str>, payload_len: usize, what: &str) -> String {
    let flags = flags.map(|f| match f {
        "S" => "SYN".to_string(),
        "S." => "SYN-ACK".to_string(),
        "." => "ACK".to_string(),
        "F." => "FIN-ACK".to_string(),
        "P." => "PSH-ACK".to_string(),
        "R" | "R." => "RST".to_string(),
        other => format!("[{other}]"),
    });
    let data = if payload_len > 0 {
        let what = if what.is_empty() {
            "data".to_string()
        } else {
            what.to_string()
        };
        format!("{what} ({payload_len} B)")
    } else {
        String::new()
    };
    match (flags, data.is_empty()) {
        (Some(f), true) => f,
        (Some(f), false) if f == "PSH-ACK" || f == "ACK" => data,
        (Some(f), false) => format!("{f} {data}"),
        (None, _) => data,
    }
}

pub(super) fn arrow(text: &str, out: bool) -> String {
    let mut t: String = text.chars().take(GAP - 6).collect();
    t = format!(" {t} ");
    let dashes = GAP.saturating_sub(t.chars().count() + 2);
    if out {
        format!("├─{t}{}▶│", "─".repeat(dashes))
    } else {
        format!("│◀{}{t}─┤", "─".repeat(dashes))
    }
}

impl<W: Write> Explain<W> {
    pub(super) fn packets(&mut self, event: &Event) {
        match event {
            Event::CaptureStart {
                interface,
                hosts,
                error,
                hint,
                ..
            } => match (interface, error) {
                (Some(i), _) => {
                    // The ladder will come from these packets, not from syscalls.
                    self.syscall_ladder = None;
                    let hosts: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
                    self.line(&format!(
                        "   --packets: capturing on {i} (AF_PACKET) for {}",
                        hosts.join(", ")
                    ));
                }
                (None, e) => {
                    self.say(
                        self.p.bad,
                        format!("--packets: no capture: {}", e.clone().unwrap_or_default()),
                    );
                    if let Some(h) = hint {
                        self.note(format!("hint: {h}"));
                    }
                }
            },
            Event::Packet {
                at_us,
                direction,
                src,
                dst,
                flags,
                payload_len,
                what,
                line,
            } if self.packets.len() < LADDER_MAX => {
                let out = direction == "out";
                let (local, remote) = if out { (*src, *dst) } else { (*dst, *src) };
                self.packets.push(Seen {
                    at_us: *at_us,
                    out,
                    local,
                    remote,
                    tcp: flags.is_some(),
                    label: label(flags.as_deref(), *payload_len, what),
                    line: line.clone(),
                });
            }
            Event::CaptureDone {
                at_us,
                interface,
                linktype,
                packets,
                dropped,
                dropped_known,
                notes,
                pcap,
            } => {
                // The run ended with its last event; the capture's wait for the last packets
                // (up to a second, never past -m) comes after and is not the request's time.
                let run_end = self.last_at.min(*at_us);
                self.end_phase(run_end);
                self.line("");
                let h = format!(
                    "── Packets: what the wire carried (--packets) {}",
                    "─".repeat(14)
                );
                let h = self.p.paint(self.p.heading, &h);
                self.line(&h);
                let lines: Vec<String> = self
                    .packets
                    .iter()
                    .map(|p| format!("   {}", p.line))
                    .collect();
                for l in &lines {
                    self.line(l);
                }
                if *packets > lines.len() {
                    self.note(format!(
                        "… {} not listed (--pcap FILE and --trace-json keep every one)",
                        super::Count(
                            (packets - lines.len()) as u64,
                            "more packet",
                            "more packets"
                        )
                    ));
                }
                let drops = if *dropped_known {
                    format!("{dropped} dropped by the kernel")
                } else {
                    "drops unknown".into()
                };
                self.line(&format!(
                    "   captured {} on {interface} ({linktype}); {drops}",
                    super::Count(*packets as u64, "packet", "packets")
                ));
                if *at_us > run_end {
                    self.note(format_args!(
                        "the capture listened {} more after the run's last step, for the closing packets; the timings above do not include it",
                        Us(*at_us - run_end)
                    ));
                }
                for n in notes {
                    self.note(n);
                }
                if let Some(p) = pcap {
                    self.line(&format!(
                        "   written to {p} (read it with `tcpdump -n -r {p}`)"
                    ));
                }
                self.ladder(*packets);
            }
            _ => {}
        }
    }

    /// One ladder per conversation (local, remote), in order of first packet; `captured` is the
    /// capture's whole count, so the packets past [`LADDER_MAX`] are said to be left out.
    fn ladder(&mut self, captured: usize) {
        // A TCP conversation is wtcurl's only if one of its connect attempts had that local
        // address (when any said so): another client's connection to the same server is not
        // drawn as wtcurl's.
        let theirs =
            |p: &Seen| p.tcp && !self.own_tcp.is_empty() && !self.own_tcp.contains(&p.local);
        let mut convs: Vec<(SocketAddr, SocketAddr)> = Vec::new();
        let mut others = 0;
        for p in &self.packets {
            if theirs(p) {
                others += 1;
            } else if !convs.contains(&(p.local, p.remote)) {
                convs.push((p.local, p.remote));
            }
        }

        if convs.is_empty() {
            return;
        }
        self.line("");
        let h = self.p.paint(
            self.p.heading,
            &format!(
                "── Ladder: the packets between the two ends {}",
                "─".repeat(18)
            ),
        );
        self.line(&h);
        if others > 0 {
            self.note(format!(
                "{} of other connections (not from a local port wtcurl's connect() got) left out",
                super::Count(others, "packet", "packets")
            ));
        }
        let packets = std::mem::take(&mut self.packets);
        for (local, remote) in convs {
            let left = format!("wtcurl {local}");
            self.line("");
            self.line(&format!("   {:>12}  {left:<w$}{remote}", "", w = GAP));
            let mut first = None;
            for p in packets
                .iter()
                .filter(|p| p.local == local && p.remote == remote)
            {
                let t0 = *first.get_or_insert(p.at_us);
                let stamp = format!("+{} µs", crate::render::fmt::thousands(p.at_us - t0));
                let a = arrow(&p.label, p.out);
                let a = self.p.paint(
                    if p.out {
                        self.p.wire_out
                    } else {
                        self.p.wire_in
                    },
                    &a,
                );
                self.line(&format!("   {stamp:>12}  {a}"));
            }
        }
        if captured > packets.len() {
            self.note(format!(
                "… the ladder stops after {}; {} more not drawn (--pcap FILE and --trace-json keep every one)",
                super::Count(packets.len() as u64, "packet", "packets"),
                captured - packets.len()
            ));
        }
        self.packets = packets;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Observer;

    /// An explainer whose capture watches `server`.
    fn capturing(server: SocketAddr) -> Explain<Vec<u8>> {
        let mut e = Explain::new(Vec::new(), crate::render::palette::Palette::plain());
        e.on_event(&Event::CaptureStart {
            at_us: 1,
            interface: Some("lo".into()),
            hosts: vec![server.ip()],
            error: None,
            hint: None,
        });
        e
    }

    /// One outgoing packet without payload.
    fn packet(at_us: u64, src: SocketAddr, dst: SocketAddr, flags: &str, line: String) -> Event {
        Event::Packet {
            at_us,
            direction: "out".into(),
            src,
            dst,
            flags: Some(flags.into()),
            payload_len: 0,
            what: String::new(),
            line,
        }
    }

    /// The capture's end, after `packets` packets; the explanation as text.
    fn finish(mut e: Explain<Vec<u8>>, packets: usize) -> String {
        e.on_event(&Event::CaptureDone {
            at_us: 1000,
            interface: "lo".into(),
            linktype: "loopback".into(),
            packets,
            dropped: 0,
            dropped_known: true,
            notes: vec![],
            pcap: None,
        });
        String::from_utf8(e.into_inner()).unwrap()
    }

    #[test]
    fn labels_name_the_handshake_and_the_payload() {
        assert_eq!(label(Some("S"), 0, ""), "SYN");
        assert_eq!(label(Some("S."), 0, ""), "SYN-ACK");
        assert_eq!(
            label(Some("P."), 79, "HTTP request GET / HTTP/1.1"),
            "HTTP request GET / HTTP/1.1 (79 B)"
        );
        assert_eq!(
            label(None, 32, "DNS query A x id 0x1"),
            "DNS query A x id 0x1 (32 B)"
        );
        assert_eq!(label(Some("F."), 0, ""), "FIN-ACK");
    }

    #[test]
    fn a_long_capture_is_drawn_up_to_the_cap_and_says_how_many_more() {
        let c: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let w: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let mut e = capturing(w);
        let n = LADDER_MAX + 10;
        for i in 0..n {
            e.on_event(&packet(10 + i as u64, c, w, ".", format!("packet {i}")));
        }
        let text = finish(e, n);
        assert_eq!(text.matches("├─ ACK ─").count(), LADDER_MAX, "{text}");
        assert!(
            text.contains("… the ladder stops after 300 packets; 10 more not drawn"),
            "{text}"
        );
    }

    #[test]
    fn the_ladder_draws_only_the_connections_from_wtcurls_own_local_ports() {
        let ours: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        let theirs: SocketAddr = "127.0.0.1:40001".parse().unwrap();
        let w: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let mut e = capturing(w);
        e.on_event(&Event::ConnectAttempt {
            at_us: 5,
            fd: 3,
            addr: w,
            local: Some(ours),
        });
        for (i, src) in [ours, theirs, theirs].into_iter().enumerate() {
            e.on_event(&packet(10 + i as u64, src, w, "S", format!("packet {i}")));
        }
        let text = finish(e, 3);
        assert!(text.contains("wtcurl 127.0.0.1:40000"), "{text}");
        assert!(!text.contains("wtcurl 127.0.0.1:40001"), "{text}");
        assert_eq!(text.matches("├─ SYN ─").count(), 1, "{text}");
        assert!(
            text.contains("2 packets of other connections (not from a local port wtcurl's connect() got) left out"),
            "{text}"
        );
    }

    #[test]
    fn arrows_point_the_right_way_and_keep_their_width() {
        let o = arrow("SYN", true);
        let i = arrow("SYN-ACK", false);
        assert!(o.starts_with("├─ SYN ") && o.ends_with("▶│"), "{o}");
        assert!(i.starts_with("│◀") && i.ends_with(" SYN-ACK ─┤"), "{i}");
        assert_eq!(o.chars().count(), i.chars().count());
    }
}
