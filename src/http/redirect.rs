//! curl's rules for following redirects with -L: which responses redirect, and what the next
//! request's method and body become (curl's `Curl_http_follow` and `http_switch_to_get`).
//!
//! Resolving the Location against the current URL, counting against --max-redirs and dropping
//! credentials for another host (see [`super::request::strip_for_other_host`]) are the caller's.

use super::response::ResponseHead;
use super::{QUOTE_MAX, quote_bytes};
use crate::error::{Error, Label, Phase, Result};

/// Is this status one that -L follows when it carries a Location? curl follows every 3xx with a
/// non-empty Location (even 300, 304 and 305); the common ones are 301, 302, 303, 307 and 308.
pub fn is_redirect(status: u16) -> bool {
    (300..400).contains(&status)
}

/// The Location to follow, if the response is a redirect that has one.
///
/// As curl: an empty Location is ignored, exact repeats are ignored, and two different
/// Location values are an error (Label::WeirdReply, "Multiple Location headers").
pub fn location(head: &ResponseHead) -> Result<Option<&str>> {
    let mut found: Option<&str> = None;
    for v in head.header_all("Location") {
        if v.is_empty() || found == Some(v) {
            continue;
        }
        if let Some(first) = found {
            return Err(Error::new(
                Phase::Response,
                Label::WeirdReply,
                format!(
                    "Multiple Location headers: {} and {}",
                    quote_bytes(first.as_bytes(), QUOTE_MAX),
                    quote_bytes(v.as_bytes(), QUOTE_MAX)
                ),
            )
            .hint(
                "the server sent two different redirect targets; it is not clear which to follow",
            ));
        }
        found = Some(v);
    }
    Ok(if is_redirect(head.status) {
        found
    } else {
        None
    })
}

/// Method and body for the next request after a 3xx, by method name: 301 and 302 turn POST
/// into GET and drop the body; 303 turns any method but HEAD into GET and drops the body; 307,
/// 308 and the others keep method and body. Returns (method, keep body).
///
/// This treats "POST" as "a request with -d". For curl's exact behavior with -X, use [`follow`].
pub fn next_method(status: u16, method: &str) -> (String, bool) {
    let is_post = method.eq_ignore_ascii_case("POST");
    match status {
        301 | 302 if is_post => ("GET".to_string(), false),
        303 if !method.eq_ignore_ascii_case("HEAD") => ("GET".to_string(), false),
        _ => (method.to_string(), true),
    }
}

/// The current request, as curl sees it when deciding the next one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FollowInput<'a> {
    /// The method that was sent.
    pub method: &'a str,
    /// The request had a -d body (curl's "POST" request kind, whatever the method string).
    pub has_body: bool,
    /// The method came from -X (curl keeps sending it after a switch to GET, with -L).
    pub custom_method: bool,
}

/// What the next request looks like.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Follow {
    pub method: String,
    pub keep_body: bool,
    /// curl switched the request to GET (and dropped the body) because of the status.
    pub switched_to_get: bool,
    /// curl's own -v explanation, when it prints one ("Stick to POST instead of GET").
    pub note: Option<String>,
}

/// curl's exact rules for `curl -L` (CURLFOLLOW_ALL):
/// - 301, 302: a request with a body becomes GET without body;
/// - 303: every request becomes GET (HEAD stays HEAD) without body;
/// - others: unchanged.
///
/// With -X, curl keeps sending the -X method even after it switched to GET, without the body
/// ("Stick to POST instead of GET"); that is the famous `-X POST -L` surprise.
pub fn follow(status: u16, cur: &FollowInput) -> Follow {
    let switch = match status {
        301 | 302 => cur.has_body,
        303 => true,
        _ => false,
    };
    if !switch {
        return Follow {
            method: cur.method.to_string(),
            keep_body: cur.has_body,
            switched_to_get: false,
            note: None,
        };
    }
    if cur.custom_method {
        return Follow {
            method: cur.method.to_string(),
            keep_body: false,
            switched_to_get: true,
            note: Some(format!("Stick to {} instead of GET", cur.method)),
        };
    }
    let method = if cur.method.eq_ignore_ascii_case("HEAD") {
        "HEAD"
    } else {
        "GET"
    };
    Follow {
        method: method.to_string(),
        keep_body: false,
        switched_to_get: true,
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::response::{Limits, parse_head};

    fn head(s: &str) -> ResponseHead {
        parse_head(s.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap()
            .0
    }

    #[test]
    fn redirect_statuses() {
        for s in [300, 301, 302, 303, 304, 305, 307, 308, 399] {
            assert!(is_redirect(s), "{s}");
        }
        for s in [200, 204, 299, 400, 404, 500, 100] {
            assert!(!is_redirect(s), "{s}");
        }
    }

    #[test]
    fn location_rules() {
        let h = head("HTTP/1.1 302 Found\r\nLocation: /next\r\n\r\n");
        assert_eq!(location(&h).unwrap(), Some("/next"));
        let h = head("HTTP/1.1 200 OK\r\nLocation: /next\r\n\r\n");
        assert_eq!(location(&h).unwrap(), None);
        let h = head("HTTP/1.1 301 Moved\r\nLocation:\r\n\r\n");
        assert_eq!(location(&h).unwrap(), None);
        let h = head("HTTP/1.1 301 Moved\r\nLocation: /a\r\nlocation: /a\r\nLocation: \r\n\r\n");
        assert_eq!(location(&h).unwrap(), Some("/a"));
        let h = head("HTTP/1.1 301 Moved\r\nLocation: /a\r\nLocation: /b\r\n\r\n");
        let e = location(&h).unwrap_err();
        assert_eq!(e.label, Label::WeirdReply);
        assert!(e.message.starts_with("Multiple Location headers"));
    }

    #[test]
    fn next_method_rules() {
        let t = |s, m: &str| next_method(s, m);
        assert_eq!(t(301, "POST"), ("GET".into(), false));
        assert_eq!(t(302, "POST"), ("GET".into(), false));
        assert_eq!(t(303, "POST"), ("GET".into(), false));
        assert_eq!(t(303, "PUT"), ("GET".into(), false));
        assert_eq!(t(303, "DELETE"), ("GET".into(), false));
        assert_eq!(t(303, "HEAD"), ("HEAD".into(), true));
        assert_eq!(t(301, "GET"), ("GET".into(), true));
        assert_eq!(t(302, "PUT"), ("PUT".into(), true));
        assert_eq!(t(307, "POST"), ("POST".into(), true));
        assert_eq!(t(308, "POST"), ("POST".into(), true));
    }

    #[test]
    fn follow_matches_curl() {
        let post = FollowInput {
            method: "POST",
            has_body: true,
            custom_method: false,
        };
        let f = follow(302, &post);
        assert_eq!(
            (f.method.as_str(), f.keep_body, f.switched_to_get),
            ("GET", false, true)
        );
        assert_eq!(f.note, None);
        let f = follow(307, &post);
        assert_eq!((f.method.as_str(), f.keep_body), ("POST", true));
        // -X POST -d x -L: curl keeps POST but drops the body
        let xpost = FollowInput {
            custom_method: true,
            ..post
        };
        let f = follow(301, &xpost);
        assert_eq!((f.method.as_str(), f.keep_body), ("POST", false));
        assert_eq!(f.note.as_deref(), Some("Stick to POST instead of GET"));
        // -X POST without -d: not a POST to curl, 302 changes nothing
        let xpost_nobody = FollowInput {
            method: "POST",
            has_body: false,
            custom_method: true,
        };
        let f = follow(302, &xpost_nobody);
        assert_eq!(
            (f.method.as_str(), f.keep_body, f.switched_to_get),
            ("POST", false, false)
        );
        // 303 after HEAD stays HEAD; after GET stays GET without a note
        let headreq = FollowInput {
            method: "HEAD",
            has_body: false,
            custom_method: false,
        };
        assert_eq!(follow(303, &headreq).method, "HEAD");
        let get = FollowInput {
            method: "GET",
            has_body: false,
            custom_method: false,
        };
        let f = follow(303, &get);
        assert_eq!((f.method.as_str(), f.note), ("GET", None));
    }
}
