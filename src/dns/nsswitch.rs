//! The `hosts:` line of nsswitch.conf: which sources glibc would ask for a name, in which order.
//!
//! Syntax (nsswitch.conf(5)): `hosts: SOURCE [ [!]STATUS=ACTION ... ] SOURCE ...`, `#` starts a
//! comment. STATUS is `success`, `notfound`, `unavail` or `tryagain`, ACTION is `return`,
//! `continue` or `merge` (all case-insensitive; `merge` is treated as `continue`, it only matters
//! for group databases). An action group applies to the source before it. Malformed action groups
//! are ignored. When several `hosts:` lines exist the first one is used.
//!
//! With no file, or no (or an empty) `hosts:` line, glibc (2.33 and later) uses
//! `dns [!UNAVAIL=return] files`; so does wtcurl.

use std::fmt;

/// The outcome of asking one source, as glibc's NSS reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    NotFound,
    Unavail,
    TryAgain,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        match s.to_ascii_lowercase().as_str() {
            "success" => Some(Status::Success),
            "notfound" => Some(Status::NotFound),
            "unavail" => Some(Status::Unavail),
            "tryagain" => Some(Status::TryAgain),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Success => "SUCCESS",
            Status::NotFound => "NOTFOUND",
            Status::Unavail => "UNAVAIL",
            Status::TryAgain => "TRYAGAIN",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What to do after a source reported a status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Return,
    Continue,
}

/// One `[!]STATUS=ACTION` criterion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Criterion {
    pub negated: bool,
    pub status: Status,
    pub action: Action,
}

/// One source of the `hosts:` line with its action groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    pub name: String,
    pub criteria: Vec<Criterion>,
}

impl Source {
    fn plain(name: &str) -> Source {
        Source {
            name: name.into(),
            criteria: Vec::new(),
        }
    }

    /// What glibc does after this source reported `status`: the default is `return` on success
    /// and `continue` otherwise; criteria apply in order, later ones override earlier ones.
    pub fn action_for(&self, status: Status) -> Action {
        let mut action = if status == Status::Success {
            Action::Return
        } else {
            Action::Continue
        };
        for c in &self.criteria {
            if (c.status == status) != c.negated {
                action = c.action;
            }
        }
        action
    }
}

/// glibc's default when nsswitch.conf has no `hosts:` line: `dns [!UNAVAIL=return] files`.
pub fn default_sources() -> Vec<Source> {
    vec![
        Source {
            name: "dns".into(),
            criteria: vec![Criterion {
                negated: true,
                status: Status::Unavail,
                action: Action::Return,
            }],
        },
        Source::plain("files"),
    ]
}

/// The sources of the first non-empty `hosts:` line, or `None` when there is none.
pub fn parse(text: &str) -> Option<Vec<Source>> {
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or("");
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        if !key.trim().eq_ignore_ascii_case("hosts") {
            continue;
        }
        let sources = parse_services(value);
        return if sources.is_empty() {
            None
        } else {
            Some(sources)
        };
    }
    None
}

fn parse_services(value: &str) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::new();
    let mut rest = value.trim_start();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let (group, tail) = match after.split_once(']') {
                Some((g, t)) => (g, t),
                None => (after, ""),
            };
            if let (Some(last), Some(criteria)) = (sources.last_mut(), parse_group(group)) {
                last.criteria.extend(criteria);
            }
            rest = tail.trim_start();
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '[')
                .unwrap_or(rest.len());
            let (name, tail) = rest.split_at(end);
            sources.push(Source::plain(name));
            rest = tail.trim_start();
        }
    }
    sources
}

/// `NOTFOUND=return !UNAVAIL = continue` (spaces around `=` allowed); `None` if malformed.
fn parse_group(group: &str) -> Option<Vec<Criterion>> {
    let compact: String = {
        // Join "STATUS = ACTION" into "STATUS=ACTION" so it can be split on whitespace.
        let mut s = String::with_capacity(group.len());
        let mut pending_space = false;
        for c in group.chars() {
            if c.is_whitespace() {
                pending_space = true;
                continue;
            }
            if pending_space && c != '=' && !s.ends_with('=') && !s.is_empty() {
                s.push(' ');
            }
            pending_space = false;
            s.push(c);
        }
        s
    };
    let mut out = Vec::new();
    for item in compact.split_whitespace() {
        let (negated, item) = match item.strip_prefix('!') {
            Some(i) => (true, i),
            None => (false, item),
        };
        let (status, action) = item.split_once('=')?;
        let status = Status::parse(status)?;
        let action = match action.to_ascii_lowercase().as_str() {
            "return" => Action::Return,
            "continue" | "merge" => Action::Continue,
            _ => return None,
        };
        out.push(Criterion {
            negated,
            status,
            action,
        });
    }
    if out.is_empty() { None } else { Some(out) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &[Source]) -> Vec<&str> {
        s.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn ubuntu_line_with_action() {
        let text = "# comment\npasswd: files systemd\nhosts:          files mdns4_minimal [NOTFOUND=return] dns myhostname # trailing\nnetworks: files\n";
        let s = parse(text).unwrap();
        assert_eq!(names(&s), ["files", "mdns4_minimal", "dns", "myhostname"]);
        assert_eq!(
            s[1].criteria,
            [Criterion {
                negated: false,
                status: Status::NotFound,
                action: Action::Return
            }]
        );
        assert_eq!(s[1].action_for(Status::NotFound), Action::Return);
        assert_eq!(s[1].action_for(Status::Unavail), Action::Continue);
        assert_eq!(s[0].action_for(Status::Success), Action::Return);
        assert_eq!(s[0].action_for(Status::NotFound), Action::Continue);
    }

    #[test]
    fn negation_spaces_and_case() {
        let s = parse("HOSTS: resolve [ !UNAVAIL = return ] dns[tryagain=CONTINUE]files").unwrap();
        assert_eq!(names(&s), ["resolve", "dns", "files"]);
        assert_eq!(s[0].action_for(Status::NotFound), Action::Return);
        assert_eq!(s[0].action_for(Status::Success), Action::Return);
        assert_eq!(s[0].action_for(Status::Unavail), Action::Continue);
        assert_eq!(s[1].action_for(Status::TryAgain), Action::Continue);
    }

    #[test]
    fn default_is_dns_then_files_returning_unless_unavail() {
        let d = default_sources();
        assert_eq!(names(&d), ["dns", "files"]);
        assert_eq!(d[0].action_for(Status::NotFound), Action::Return);
        assert_eq!(d[0].action_for(Status::Unavail), Action::Continue);
        assert_eq!(parse(""), None);
        assert_eq!(parse("passwd: files\n"), None);
        assert_eq!(parse("hosts:   # nothing\n"), None);
    }

    #[test]
    fn malformed_groups_do_not_crash_and_are_ignored() {
        for text in [
            "hosts: files [NOTFOUND=return dns",
            "hosts: [NOTFOUND=return] files dns",
            "hosts: files [=] [x=y] [NOTFOUND] [!!UNAVAIL=return] ] dns",
            "hosts: files [[[[ dns",
            "hosts:\u{0}\u{ffff} files ]]]",
            "hosts",
            ":::",
        ] {
            let _ = parse(text);
        }
        let s = parse("hosts: files [x=y] dns").unwrap();
        assert_eq!(names(&s), ["files", "dns"]);
        assert!(s[0].criteria.is_empty());
    }

    #[test]
    fn first_hosts_line_wins() {
        let s = parse("hosts: dns\nhosts: files\n").unwrap();
        assert_eq!(names(&s), ["dns"]);
    }
}
