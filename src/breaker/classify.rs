//! What counts against the circuit: a call's result becomes a success, a failure or neutral.
//!
//! The default: connection failures, timeouts, broken replies and 5xx statuses are failures (the
//! server or the path to it is in trouble); 4xx statuses, cancelled calls and the caller's own
//! mistakes (a bad URL, an unwritable output file, a certificate wtcurl refuses) are neutral: they
//! say nothing about the server's health and are not counted either way. Anything else — a
//! closure, a custom type — can classify instead.

use crate::error::{Error, Label};
use std::fmt;

/// How one call's result counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server did its job: counts towards closing (half-open) and in the window.
    Success,
    /// The server or the path to it failed: counts towards opening.
    Failure,
    /// Says nothing about the server: not counted (a probe's slot is freed).
    Neutral,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Neutral => "neutral",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Decides how a call's result counts.
pub trait Classifier<R, E> {
    fn classify(&self, result: &Result<R, E>) -> Outcome;
}

impl<R, E, F> Classifier<R, E> for F
where
    F: Fn(&Result<R, E>) -> Outcome,
{
    fn classify(&self, result: &Result<R, E>) -> Outcome {
        self(result)
    }
}

/// What kind of trouble an error is, for [`DefaultClassifier`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorClass {
    /// The server could not be reached: name servers failing, connection refused or reset,
    /// no route, the TLS handshake failing. A failure.
    Connect,
    /// Out of time. A failure.
    Timeout,
    /// The server answered but not with a usable reply (empty, cut short, not HTTP). A failure.
    Protocol,
    /// The caller gave up. Neutral.
    Cancelled,
    /// The caller's own doing: bad input, local files, a policy refusal. Neutral.
    Client,
}

impl ErrorClass {
    pub fn outcome(self) -> Outcome {
        match self {
            ErrorClass::Connect | ErrorClass::Timeout | ErrorClass::Protocol => Outcome::Failure,
            ErrorClass::Cancelled | ErrorClass::Client => Outcome::Neutral,
        }
    }
}

/// An error that can say what kind of trouble it is.
pub trait ClassifyError {
    fn error_class(&self) -> ErrorClass;
}

/// A response that has an HTTP status.
pub trait ResponseStatus {
    fn status(&self) -> u16;
}

impl ResponseStatus for u16 {
    fn status(&self) -> u16 {
        *self
    }
}

/// 5xx is a failure, 4xx neutral, anything else a success.
pub fn classify_status(status: u16) -> Outcome {
    match status {
        500..=599 => Outcome::Failure,
        400..=499 => Outcome::Neutral,
        _ => Outcome::Success,
    }
}

/// Statuses via [`classify_status`], errors via their [`ErrorClass`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DefaultClassifier;

impl<R: ResponseStatus, E: ClassifyError> Classifier<R, E> for DefaultClassifier {
    fn classify(&self, result: &Result<R, E>) -> Outcome {
        match result {
            Ok(r) => classify_status(r.status()),
            Err(e) => e.error_class().outcome(),
        }
    }
}

impl ClassifyError for std::io::Error {
    fn error_class(&self) -> ErrorClass {
        use std::io::ErrorKind as K;
        match self.kind() {
            K::TimedOut | K::WouldBlock => ErrorClass::Timeout,
            K::ConnectionRefused
            | K::ConnectionReset
            | K::ConnectionAborted
            | K::NotConnected
            | K::AddrNotAvailable
            | K::BrokenPipe
            | K::HostUnreachable
            | K::NetworkUnreachable
            | K::NetworkDown => ErrorClass::Connect,
            K::Interrupted => ErrorClass::Cancelled,
            K::InvalidInput | K::NotFound | K::PermissionDenied | K::Unsupported => {
                ErrorClass::Client
            }
            _ => ErrorClass::Protocol,
        }
    }
}

/// wtcurl's labels sorted into classes. `http_returned_error` (-f with a status >= 400) has no
/// status of its own here: see [`classify_wtcurl`], which reads it from the message if need be.
pub fn label_class(label: Label) -> ErrorClass {
    use Label::*;
    match label {
        // The caller's input, local files, policy: nothing about the server's health.
        BadUsage | UnsupportedProtocol | UrlMalformed | CaFileBad | WriteFailed | ReadFailed
        | TooManyRedirects | HttpError | TlsNoVersion => ErrorClass::Client,
        // The name is wrong (not the server down), or the certificate is refused by wtcurl's
        // policy: the server answered.
        DnsNxdomain | DnsNoAddress | CertExpired | CertNotYetValid | CertWrongHost
        | CertSelfSigned | CertUnknownIssuer | CertBadUsage | CertNotCa | CertInvalid => {
            ErrorClass::Client
        }
        DnsTimeout | Timeout => ErrorClass::Timeout,
        DnsServfail | DnsRefused | DnsBadResponse | DnsUnreachable | ConnectRefused
        | ConnectUnreachable | ConnectFailed | TlsProtocolVersion | TlsNoSharedCipher
        | TlsAlertReceived | TlsNotTls | TlsPeerClosed | TlsHandshake => ErrorClass::Connect,
        // Anything else (broken replies, send/receive failures, and labels added later) is the
        // server's or the network's trouble.
        #[allow(unreachable_patterns)]
        _ => ErrorClass::Protocol,
    }
}

impl ClassifyError for Error {
    fn error_class(&self) -> ErrorClass {
        if self.label == Label::HttpError {
            return match status_in_message(&self.message).map(classify_status) {
                Some(Outcome::Failure) => ErrorClass::Protocol,
                _ => ErrorClass::Client,
            };
        }
        label_class(self.label)
    }
}

/// How a finished wtcurl transfer counts: `status` is the final response's status when one
/// arrived, `error` the transfer's error. What the CLI integration calls.
pub fn classify_wtcurl(status: Option<u16>, error: Option<&Error>) -> Outcome {
    match (error, status) {
        (None, Some(s)) => classify_status(s),
        (None, None) => Outcome::Success,
        (Some(e), Some(s)) if e.label == Label::HttpError => classify_status(s),
        (Some(e), _) => e.error_class().outcome(),
    }
}

/// The status at the end of "The requested URL returned error: 503".
fn status_in_message(msg: &str) -> Option<u16> {
    let tail = msg.rsplit(':').next()?.trim();
    tail.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Phase;
    use std::io;

    #[test]
    fn statuses() {
        assert_eq!(classify_status(200), Outcome::Success);
        assert_eq!(classify_status(301), Outcome::Success);
        assert_eq!(classify_status(404), Outcome::Neutral);
        assert_eq!(classify_status(429), Outcome::Neutral);
        assert_eq!(classify_status(500), Outcome::Failure);
        assert_eq!(classify_status(503), Outcome::Failure);
        assert_eq!(classify_status(599), Outcome::Failure);
        assert_eq!(classify_status(600), Outcome::Success);
    }

    #[test]
    fn default_classifier_on_io_results() {
        let k = DefaultClassifier;
        let ok: Result<u16, io::Error> = Ok(502);
        assert_eq!(k.classify(&ok), Outcome::Failure);
        for (kind, want) in [
            (io::ErrorKind::ConnectionRefused, Outcome::Failure),
            (io::ErrorKind::TimedOut, Outcome::Failure),
            (io::ErrorKind::UnexpectedEof, Outcome::Failure),
            (io::ErrorKind::Interrupted, Outcome::Neutral),
            (io::ErrorKind::InvalidInput, Outcome::Neutral),
        ] {
            let r: Result<u16, io::Error> = Err(io::Error::new(kind, "x"));
            assert_eq!(k.classify(&r), want, "{kind:?}");
        }
    }

    #[test]
    fn closures_classify_too() {
        let only_teapots = |r: &Result<u16, ()>| match r {
            Ok(418) => Outcome::Failure,
            _ => Outcome::Success,
        };
        assert_eq!(only_teapots.classify(&Ok(418)), Outcome::Failure);
        assert_eq!(only_teapots.classify(&Err(())), Outcome::Success);
    }

    #[test]
    fn wtcurl_labels() {
        let e = |l| Error::new(Phase::Tcp, l, "x");
        assert_eq!(
            classify_wtcurl(None, Some(&e(Label::ConnectRefused))),
            Outcome::Failure
        );
        assert_eq!(
            classify_wtcurl(None, Some(&e(Label::Timeout))),
            Outcome::Failure
        );
        assert_eq!(
            classify_wtcurl(None, Some(&e(Label::EmptyReply))),
            Outcome::Failure
        );
        assert_eq!(
            classify_wtcurl(None, Some(&e(Label::UrlMalformed))),
            Outcome::Neutral
        );
        assert_eq!(
            classify_wtcurl(None, Some(&e(Label::CertExpired))),
            Outcome::Neutral
        );
        assert_eq!(classify_wtcurl(Some(503), None), Outcome::Failure);
        assert_eq!(classify_wtcurl(Some(404), None), Outcome::Neutral);
        assert_eq!(classify_wtcurl(None, None), Outcome::Success);
        let f = Error::new(
            Phase::Response,
            Label::HttpError,
            "The requested URL returned error: 503",
        );
        assert_eq!(classify_wtcurl(None, Some(&f)), Outcome::Failure);
        assert_eq!(classify_wtcurl(Some(404), Some(&f)), Outcome::Neutral);
        let f4 = Error::new(
            Phase::Response,
            Label::HttpError,
            "The requested URL returned error: 404",
        );
        assert_eq!(classify_wtcurl(None, Some(&f4)), Outcome::Neutral);
        // Every label has a class (no panic, and the table stays total as labels are added).
        for l in Label::ALL {
            let _ = label_class(*l).outcome();
        }
    }
}
