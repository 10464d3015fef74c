//! Renderers: each turns the event stream into one output (explanation, verbose view, JSON, -w).

pub mod explain;
pub mod fmt;
pub mod json;
pub mod palette;
pub mod verbose;
pub mod waterfall;
pub mod writeout;

#[cfg(test)]
pub mod fixture;

#[cfg(test)]
mod snapshots {
    use super::explain::Explain;
    use super::fixture;
    use super::palette::Palette;
    use super::verbose::Verbose;
    use crate::event::Observer;

    fn explain(events: &[crate::event::Event]) -> String {
        let mut r = Explain::new(Vec::new(), Palette::plain());
        for e in events {
            r.on_event(e);
        }
        String::from_utf8(r.into_inner()).unwrap()
    }

    #[test]
    fn explain_plain_http_301() {
        insta::assert_snapshot!(explain(&fixture::plain_http_301()));
    }

    #[test]
    fn explain_nxdomain() {
        insta::assert_snapshot!(explain(&fixture::nxdomain()));
    }

    fn explain_with_syscall_ladder(events: &[crate::event::Event]) -> String {
        let mut r = Explain::new(Vec::new(), Palette::plain()).with_syscall_ladder();
        for e in events {
            r.on_event(e);
        }
        String::from_utf8(r.into_inner()).unwrap()
    }

    /// Only the ladder's part of an explanation: from its heading to the waterfall.
    fn ladder_part(text: &str) -> String {
        let start = text.find("── Ladder").expect("a ladder");
        let end = text[start..]
            .find("── Waterfall")
            .map_or(text.len(), |e| start + e);
        text[start..end].to_string()
    }

    #[test]
    fn ladder_from_syscalls_plain_http() {
        insta::assert_snapshot!(ladder_part(&explain_with_syscall_ladder(
            &fixture::plain_http_301()
        )));
    }

    #[test]
    fn ladder_from_syscalls_tls13() {
        insta::assert_snapshot!(ladder_part(&explain_with_syscall_ladder(
            &fixture::https_200()
        )));
    }

    /// -f on a 404 with a 2 MB body: close() with unread bytes sends RST, not FIN (no TIME_WAIT),
    /// in the close phase, the kernel view's verdict and the ladder.
    #[test]
    fn explain_close_with_unread_body_is_a_reset() {
        insta::assert_snapshot!(explain_with_syscall_ladder(
            &fixture::closed_with_unread_body()
        ));
    }

    /// HTTPS whose server answered close_notify by closing: TCP_INFO said CLOSE_WAIT just before
    /// close(), so the close phase, the ladder (the server's FIN drawn before wtcurl's) and the
    /// kernel view's verdict all say the server's FIN came first and the server holds TIME_WAIT.
    #[test]
    fn explain_https_server_closes_after_close_notify() {
        let text = explain_with_syscall_ladder(&fixture::https_server_closes_after_close_notify());
        assert!(!text.contains("wtcurl's FIN"), "{text}");
        insta::assert_snapshot!(text);
    }

    /// --compressed with a chunked gzip body: wire bytes, encoded body, decoded bytes written.
    #[test]
    fn explain_compressed_gzip_chunked() {
        insta::assert_snapshot!(explain(&fixture::compressed_gzip_chunked()));
    }

    /// A refused connect: the ladder draws the SYN and the RST it got, no FIN; the waterfall
    /// stops at TCP and marks it.
    #[test]
    fn explain_refused_connect() {
        insta::assert_snapshot!(explain_with_syscall_ladder(&fixture::refused_connect()));
    }

    /// A connect that timed out on its only address: said as a timeout, not "abandoned".
    #[test]
    fn explain_connect_timeout() {
        insta::assert_snapshot!(explain_with_syscall_ladder(&fixture::connect_timeout()));
    }

    /// A DNS server that never answers: each try's poll() times out, nothing is "ignored", the
    /// next try and the give-up follow resolv.conf, and the waterfall stops at DNS.
    #[test]
    fn explain_dns_timeout() {
        insta::assert_snapshot!(explain_with_syscall_ladder(&fixture::dns_timeout()));
    }

    /// Nothing listens on either DNS server: each connected socket gets ECONNREFUSED at once (an
    /// ICMP port unreachable), the next server is asked without waiting for the timeout, and the
    /// lookup fails with dns_unreachable; the ladder draws the inferred ICMP.
    #[test]
    fn explain_dns_unreachable() {
        insta::assert_snapshot!(explain_with_syscall_ladder(&fixture::dns_unreachable()));
    }

    #[test]
    fn ladder_from_packets_plain_http() {
        insta::assert_snapshot!(explain(&fixture::packets_plain_http()));
    }

    #[test]
    fn ladder_from_packets_https() {
        insta::assert_snapshot!(explain(&fixture::packets_https()));
    }

    #[test]
    fn explain_kernel_view_lab() {
        insta::assert_snapshot!(explain(&fixture::kernel_view_lab()));
    }

    #[test]
    fn explain_kernel_view_server_closes_first() {
        insta::assert_snapshot!(explain(&fixture::kernel_view_server_closes_first()));
    }

    #[test]
    fn explain_process_phase() {
        insta::assert_snapshot!(explain(&fixture::process_phase()));
    }

    #[test]
    fn explain_tls13_handshake() {
        insta::assert_snapshot!(explain(&fixture::tls13_handshake()));
    }

    #[test]
    fn verbose_tls13_handshake() {
        let mut r = Verbose::new(Vec::new());
        for e in &fixture::tls13_handshake() {
            r.on_event(e);
        }
        insta::assert_snapshot!(String::from_utf8(r.into_inner()).unwrap());
    }

    /// An IP literal (nothing resolved, nothing said) and -f on a 404: the error as a `*` line,
    /// then the close, as curl 7.88.1 prints them.
    #[test]
    fn verbose_literal_fail_on_404() {
        let mut r = Verbose::new(Vec::new());
        for e in &fixture::closed_with_unread_body() {
            r.on_event(e);
        }
        insta::assert_snapshot!(String::from_utf8(r.into_inner()).unwrap());
    }

    #[test]
    fn verbose_plain_http_301() {
        let mut r = Verbose::new(Vec::new());
        for e in &fixture::plain_http_301() {
            r.on_event(e);
        }
        insta::assert_snapshot!(String::from_utf8(r.into_inner()).unwrap());
    }
}
