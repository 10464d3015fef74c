//! The one error type: where it happened (phase), a stable label, the context, a hint, and curl's exit code.

use serde::Serialize;
use std::fmt;

/// The phase of a request an error or event belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Setup,
    Url,
    Dns,
    Tcp,
    Tls,
    Request,
    Response,
    Close,
    Output,
    Breaker,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Setup => "setup",
            Phase::Url => "url",
            Phase::Dns => "dns",
            Phase::Tcp => "tcp",
            Phase::Tls => "tls",
            Phase::Request => "request",
            Phase::Response => "response",
            Phase::Close => "close",
            Phase::Output => "output",
            Phase::Breaker => "breaker",
        }
    }
}

macro_rules! labels {
    ($( $variant:ident = ($label:literal, $code:literal, $curl:literal, $meaning:literal) ),* $(,)?) => {
        /// Stable machine labels for every failure wtcurl can report.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
        pub enum Label { $( #[serde(rename = $label)] $variant ),* }

        impl Label {
            /// Every label, in table order (README's exit-code table is checked against it).
            pub const ALL: &'static [Label] = &[ $( Label::$variant ),* ];
            /// The stable label string.
            pub fn as_str(self) -> &'static str { match self { $( Label::$variant => $label ),* } }
            /// curl's exit code for this failure.
            pub fn exit_code(self) -> u8 { match self { $( Label::$variant => $code ),* } }
            /// curl's name for that exit code.
            pub fn curl_name(self) -> &'static str { match self { $( Label::$variant => $curl ),* } }
            /// One line on what the label means.
            pub fn meaning(self) -> &'static str { match self { $( Label::$variant => $meaning ),* } }
        }
    };
}

// THE exit-code table. One row per label: (label, exit code, curl's name, meaning).
labels! {
    BadUsage = ("bad_usage", 2, "CURLE_FAILED_INIT", "flags that cannot work together, or a value wtcurl cannot use"),
    OptionSyntax = ("option_syntax", 49, "CURLE_SETOPT_OPTION_SYNTAX", "a --resolve entry, or a --connect-to entry that applies to the URL, cannot be parsed"),
    UnsupportedProtocol = ("unsupported_protocol", 1, "CURLE_UNSUPPORTED_PROTOCOL", "a scheme wtcurl does not speak"),
    UrlMalformed = ("url_malformed", 3, "CURLE_URL_MALFORMAT", "the URL cannot be parsed"),
    DnsNxdomain = ("dns_nxdomain", 6, "CURLE_COULDNT_RESOLVE_HOST", "the name does not exist (NXDOMAIN)"),
    DnsServfail = ("dns_servfail", 6, "CURLE_COULDNT_RESOLVE_HOST", "the DNS server failed (SERVFAIL)"),
    DnsRefused = ("dns_refused", 6, "CURLE_COULDNT_RESOLVE_HOST", "the DNS server refused the query (REFUSED)"),
    DnsTimeout = ("dns_timeout", 6, "CURLE_COULDNT_RESOLVE_HOST", "no DNS server answered in time"),
    DnsNoAddress = ("dns_no_address", 6, "CURLE_COULDNT_RESOLVE_HOST", "the name exists but has no address of the wanted family"),
    DnsBadResponse = ("dns_bad_response", 6, "CURLE_COULDNT_RESOLVE_HOST", "the DNS answers could not be used"),
    DnsUnreachable = ("dns_unreachable", 6, "CURLE_COULDNT_RESOLVE_HOST", "no DNS server could be reached: for each one the kernel reported an ICMP error (port unreachable: nothing listens there) instead of an answer"),
    ConnectRefused = ("connect_refused", 7, "CURLE_COULDNT_CONNECT", "the server answered the SYN with RST"),
    ConnectUnreachable = ("connect_unreachable", 7, "CURLE_COULDNT_CONNECT", "no route to the address"),
    ConnectFailed = ("connect_failed", 7, "CURLE_COULDNT_CONNECT", "connect failed for another reason"),
    Http09 = ("http09_not_allowed", 1, "CURLE_UNSUPPORTED_PROTOCOL", "the reply does not start with an HTTP/1.x status line (curl: HTTP/0.9 not allowed)"),
    UnsupportedStatusLine = ("unsupported_status_line", 1, "CURLE_UNSUPPORTED_PROTOCOL", "the status line starts with HTTP/ but its version, separator or status code is not one curl takes (curl: Unsupported HTTP version / response code)"),
    TlsProtocolVersion = ("tls_protocol_version", 35, "CURLE_SSL_CONNECT_ERROR", "client and server share no TLS version"),
    TlsNoSharedCipher = ("tls_no_shared_cipher", 35, "CURLE_SSL_CONNECT_ERROR", "client and server share no cipher suite or group"),
    TlsAlertReceived = ("tls_alert", 35, "CURLE_SSL_CONNECT_ERROR", "the server ended the handshake with a fatal alert"),
    TlsNotTls = ("tls_not_tls", 35, "CURLE_SSL_CONNECT_ERROR", "the server did not answer in TLS (plain HTTP on a TLS port?)"),
    TlsPeerClosed = ("tls_peer_closed", 35, "CURLE_SSL_CONNECT_ERROR", "the server closed the connection during the handshake"),
    TlsHandshake = ("tls_handshake_failed", 35, "CURLE_SSL_CONNECT_ERROR", "the TLS handshake failed for another reason"),
    TlsNoVersion = ("tls_no_version", 35, "CURLE_SSL_CONNECT_ERROR", "--tlsv1.x and --tls-max leave no TLS version wtcurl can offer (checked when an https:// hop starts, as in curl)"),
    CertExpired = ("cert_expired", 60, "CURLE_PEER_FAILED_VERIFICATION", "the server's certificate has expired"),
    CertNotYetValid = ("cert_not_yet_valid", 60, "CURLE_PEER_FAILED_VERIFICATION", "the server's certificate is not valid yet"),
    CertWrongHost = ("cert_wrong_host", 60, "CURLE_PEER_FAILED_VERIFICATION", "no name in the certificate matches the host"),
    CertSelfSigned = ("cert_self_signed", 60, "CURLE_PEER_FAILED_VERIFICATION", "the certificate is self-signed and not trusted"),
    CertUnknownIssuer = ("cert_unknown_issuer", 60, "CURLE_PEER_FAILED_VERIFICATION", "the chain does not lead to a trusted root (untrusted root or missing intermediate)"),
    CertBadUsage = ("cert_bad_usage", 60, "CURLE_PEER_FAILED_VERIFICATION", "the certificate may not be used for TLS server authentication"),
    CertNotCa = ("cert_issuer_not_ca", 60, "CURLE_PEER_FAILED_VERIFICATION", "an issuer in the chain is not a CA"),
    CertInvalid = ("cert_invalid", 60, "CURLE_PEER_FAILED_VERIFICATION", "the certificate failed verification for another reason"),
    CaFileBad = ("cacert_bad_file", 77, "CURLE_SSL_CACERT_BADFILE", "the CA file or directory could not be read"),
    WeirdReply = ("weird_server_reply", 8, "CURLE_WEIRD_SERVER_REPLY", "the response is not valid HTTP/1.x"),
    HeaderLineTooLong = ("header_line_too_long", 27, "CURLE_OUT_OF_MEMORY", "a line of the response head reached 100 KiB (curl refuses it as out of memory: \"Avoided giant realloc for header\")"),
    HeadTooLarge = ("response_head_too_large", 56, "CURLE_RECV_ERROR", "the response head is larger than 300 KiB"),
    PartialBody = ("partial_file", 18, "CURLE_PARTIAL_FILE", "the connection closed before the whole body arrived"),
    HttpError = ("http_returned_error", 22, "CURLE_HTTP_RETURNED_ERROR", "-f was given and the status is 400 or more"),
    WriteFailed = ("write_error", 23, "CURLE_WRITE_ERROR", "the body could not be written out"),
    ReadFailed = ("read_error", 26, "CURLE_READ_ERROR", "a file named on the command line could not be read (for -d @FILE and -w @FILE only a warning, as in curl)"),
    Timeout = ("operation_timedout", 28, "CURLE_OPERATION_TIMEDOUT", "--connect-timeout or --max-time ran out"),
    TooManyRedirects = ("too_many_redirects", 47, "CURLE_TOO_MANY_REDIRECTS", "more redirects than --max-redirs allows"),
    EmptyReply = ("got_nothing", 52, "CURLE_GOT_NOTHING", "the server closed without sending anything"),
    SendFailed = ("send_error", 55, "CURLE_SEND_ERROR", "sending the request failed"),
    RecvFailed = ("recv_error", 56, "CURLE_RECV_ERROR", "receiving the response failed"),
    CircuitOpen = ("circuit_open", 120, "none: wtcurl's own", "--breaker: the circuit for this origin is open; no request was sent"),
    BreakerState = ("breaker_state_error", 121, "none: wtcurl's own", "--breaker: the shared state file could not be locked or written"),
    BadContentEncoding = ("bad_content_encoding", 61, "CURLE_BAD_CONTENT_ENCODING", "the compressed body could not be decoded"),
}

/// A failure with everything needed to explain it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Error {
    pub phase: Phase,
    pub label: Label,
    /// What happened, with the context (address, syscall, header line).
    pub message: String,
    /// What the user can do about it.
    pub hint: Option<String>,
}

impl Error {
    pub fn new(phase: Phase, label: Label, message: impl Into<String>) -> Self {
        Error {
            phase,
            label,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.label.exit_code()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.phase.as_str(), self.message)?;
        if let Some(h) = &self.hint {
            write!(f, " (hint: {h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_unique_and_map_to_curl_codes() {
        let mut seen = std::collections::HashSet::new();
        for l in Label::ALL {
            assert!(seen.insert(l.as_str()), "duplicate label {}", l.as_str());
        }
        assert_eq!(Label::UrlMalformed.exit_code(), 3);
        assert_eq!(Label::DnsTimeout.exit_code(), 6);
        assert_eq!(Label::ConnectRefused.exit_code(), 7);
        assert_eq!(Label::TooManyRedirects.exit_code(), 47);
    }

    #[test]
    fn display_names_phase_and_hint() {
        let e = Error::new(
            Phase::Tcp,
            Label::ConnectRefused,
            "connect to 127.0.0.1:1 refused",
        )
        .hint("is a server listening?");
        assert_eq!(
            e.to_string(),
            "[tcp] connect to 127.0.0.1:1 refused (hint: is a server listening?)"
        );
    }
}
