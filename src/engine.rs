//! The one orchestrator: URL -> DNS -> TCP -> request -> response -> close, hop after hop for -L.

use crate::dns::{self, Family, ResolverConfig};
use crate::error::{Error, Label, Phase, Result};
use crate::event::{AddressSource, Event, FinEvidence, Tracer};
use crate::exchange::{self, BodyUse, ExchangeSpec};
use crate::http::redirect::{FollowInput, follow, location};
use crate::http::request::{RequestParams, strip_for_other_host};
use crate::http::response::ResponseHead;
use crate::net;
use crate::sys;
use crate::target::{self, Target};
use crate::tls::{self, TlsOptions, TlsStream};
use std::io::Write;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Linux's TCP_CLOSE_WAIT state number (include/net/tcp_states.h): the peer has sent its FIN.
const TCP_CLOSE_WAIT: u8 = 8;

/// curl's default for --max-redirs.
pub const DEFAULT_MAX_REDIRS: u32 = 50;

/// `--resolve HOST:PORT:ADDR[,ADDR…]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolveEntry {
    pub host: String,
    pub port: u16,
    pub addrs: Vec<IpAddr>,
}

/// `--connect-to HOST1:PORT1:HOST2:PORT2`; empty parts match anything / keep the original.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ConnectTo {
    pub host: Option<String>,
    pub port: Option<u16>,
    pub to_host: Option<String>,
    pub to_port: Option<u16>,
    /// As curl, HOST2:PORT2 is only checked when the entry applies to the URL: why it cannot be
    /// parsed (curl's exit 49), or None.
    pub invalid: Option<String>,
}

impl ConnectTo {
    /// Whether this entry applies to HOST:PORT and, as in curl, says where to go (an entry that
    /// applies with HOST2 and PORT2 both empty changes nothing, and curl looks on).
    pub fn applies(&self, host: &str, port: u16) -> bool {
        self.host
            .as_ref()
            .is_none_or(|h| h.eq_ignore_ascii_case(host))
            && self.port.is_none_or(|p| p == port)
            && (self.to_host.is_some() || self.to_port.is_some() || self.invalid.is_some())
    }
}

/// Everything the engine needs to do one curl-like transfer.
#[derive(Clone, Debug)]
pub struct Request {
    pub url: String,
    /// -X: the method string sent as is.
    pub method: Option<String>,
    /// -I: HEAD.
    pub head_only: bool,
    /// -H values in order.
    pub headers: Vec<String>,
    /// -A. `None` means `wtcurl/VERSION`; `Some("")` sends none.
    pub user_agent: Option<String>,
    /// -u user:password.
    pub user: Option<String>,
    /// -d data.
    pub data: Option<Vec<u8>>,
    pub follow: bool,
    pub max_redirs: u32,
    pub fail: bool,
    pub compressed: bool,
    /// -i (and -I): response heads go to the output too.
    pub include: bool,
    pub connect_timeout: Option<Duration>,
    pub max_time: Option<Duration>,
    pub resolver: ResolverConfig,
    pub resolve: Vec<ResolveEntry>,
    pub connect_to: Vec<ConnectTo>,
    /// TLS settings for https:// hops.
    pub tls: TlsOptions,
    /// `--kernel-view`: ask the kernel about each connection's path and close (netlink).
    pub kernel_view: bool,
}

impl Request {
    pub fn new(url: impl Into<String>) -> Self {
        Request {
            url: url.into(),
            method: None,
            head_only: false,
            headers: Vec::new(),
            user_agent: None,
            user: None,
            data: None,
            follow: false,
            max_redirs: DEFAULT_MAX_REDIRS,
            fail: false,
            compressed: false,
            include: false,
            connect_timeout: None,
            max_time: None,
            resolver: ResolverConfig::default(),
            resolve: Vec::new(),
            connect_to: Vec::new(),
            tls: TlsOptions::default(),
            kernel_view: false,
        }
    }
}

/// The default User-Agent, as curl sends `curl/VERSION`.
pub fn default_user_agent() -> String {
    format!("wtcurl/{}", env!("CARGO_PKG_VERSION"))
}

/// The first hop's method: -I's HEAD, -X's, POST with -d, else GET (curl's `%{method}` before
/// any redirect).
pub fn initial_method(req: &Request) -> String {
    if req.head_only {
        "HEAD".to_string()
    } else if let Some(m) = &req.method {
        m.clone()
    } else if req.data.is_some() {
        "POST".to_string()
    } else {
        "GET".to_string()
    }
}

/// Runs the transfer, writing body bytes (and heads, with -i) to `out`. Emits `error` and `done`
/// events, and returns the error too so the caller can print curl's one-line message.
pub fn run(t: &mut Tracer, req: &Request, out: &mut dyn Write) -> Result<()> {
    run_with(t, req, out, &mut HookList::default())
}

/// What wraps a run: the circuit breaker decides before it, the packet capture reports after it.
pub trait Hooks {
    /// Before any network. An error stops the run there (an open circuit).
    fn before(&mut self, _t: &mut Tracer, _req: &Request) -> Result<()> {
        Ok(())
    }
    /// After the transfer, before the `done` event: the final status if a response arrived, and
    /// the error if the run failed.
    fn after(&mut self, _t: &mut Tracer, _status: Option<u16>, _error: Option<&Error>) {}
}

/// Several hooks, called in order.
#[derive(Default)]
pub struct HookList<'a>(pub Vec<&'a mut dyn Hooks>);

impl Hooks for HookList<'_> {
    fn before(&mut self, t: &mut Tracer, req: &Request) -> Result<()> {
        self.0.iter_mut().try_for_each(|h| h.before(t, req))
    }
    fn after(&mut self, t: &mut Tracer, status: Option<u16>, error: Option<&Error>) {
        self.0.iter_mut().for_each(|h| h.after(t, status, error));
    }
}

/// [`run`] inside `hooks`.
pub fn run_with(
    t: &mut Tracer,
    req: &Request,
    out: &mut dyn Write,
    hooks: &mut dyn Hooks,
) -> Result<()> {
    let mut status = None;
    let result = hooks
        .before(t, req)
        .and_then(|()| transfer(t, req, out, &mut status));
    if let Err(e) = &result {
        t.emit_error(e);
    }
    // The run's end is the transfer's: what the hooks do next (the packet capture collecting its
    // last packets, up to a second; the breaker writing its state) is not part of the request,
    // so `done` and curl's time_total do not count it. Their own events carry their own times.
    let at = t.now_us();
    hooks.after(t, status, result.as_ref().err());
    let exit_code = result.as_ref().err().map_or(0, Error::exit_code);
    t.emit(Event::Done {
        at_us: at,
        exit_code,
    });
    result
}

fn phase(t: &mut Tracer, hop: u32, phase: Phase) {
    let at = t.now_us();
    t.emit(Event::Phase {
        at_us: at,
        hop,
        phase,
    });
}

fn emit_url(t: &mut Tracer, target: &Target) {
    let at = t.now_us();
    let input = crate::redact::url(&target.input);
    t.emit(Event::Url {
        at_us: at,
        input_masked: matches!(input, std::borrow::Cow::Owned(_)),
        input: input.into_owned(),
        url: target.url.clone(),
        scheme: target.scheme.clone(),
        scheme_inferred: target.scheme_inferred,
        host: target.host.clone(),
        host_ascii: target.host_ascii.clone(),
        port: target.port,
        port_inferred: target.port_inferred,
        target: target.path_and_query.clone(),
        basic_auth_user: target.user.clone(),
    });
}

/// The request of one hop: what changes from hop to hop under -L.
struct HopRequest {
    target: Target,
    method: String,
    body: Option<Vec<u8>>,
    /// -X given: curl keeps sending that method after a switch to GET.
    custom_method: bool,
    /// Still the origin the user named (credentials and -H Authorization/Cookie/Host go only there).
    same_origin: bool,
}

/// Where a hop's response sends us next.
struct NextHop {
    target: Target,
    method: String,
    keep_body: bool,
}

fn origin(t: &Target) -> (String, String, u16) {
    (t.scheme.clone(), t.host_ascii.clone(), t.port)
}

fn transfer(
    t: &mut Tracer,
    req: &Request,
    out: &mut dyn Write,
    status: &mut Option<u16>,
) -> Result<()> {
    let started = Instant::now();
    let deadline = req.max_time.map(|d| started + d);
    phase(t, 0, Phase::Url);
    let target = target::parse(&req.url)?;
    emit_url(t, &target);
    let first_origin = origin(&target);
    let method = initial_method(req);
    let credentials = req
        .user
        .as_ref()
        .map(|u| match u.split_once(':') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (u.clone(), String::new()),
        })
        .or_else(|| {
            target
                .user
                .clone()
                .map(|u| (u, target.password.clone().unwrap_or_default()))
        });
    let mut cur = HopRequest {
        target,
        method,
        body: req.data.clone(),
        custom_method: req.method.is_some(),
        same_origin: true,
    };

    // Bounded by --max-redirs (50 by default, like curl).
    for hop in 0u32.. {
        let (resp, next) = hop_once(t, hop, req, &cur, credentials.as_ref(), deadline, out)?;
        *status = Some(resp.head.status);
        let Some(next) = next else {
            if req.fail && resp.head.status >= 400 {
                return Err(Error::new(
                    Phase::Response,
                    Label::HttpError,
                    format!("The requested URL returned error: {}", resp.head.status),
                )
                .hint(
                    "-f turns HTTP error statuses into exit code 22; drop -f to see the error body",
                ));
            }
            return Ok(());
        };
        if hop >= req.max_redirs {
            return Err(Error::new(Phase::Response, Label::TooManyRedirects, format!("Maximum ({}) redirects followed", req.max_redirs))
                .hint("a redirect loop, or a long chain: raise --max-redirs, or look at the Location headers with -v"));
        }
        phase(t, hop + 1, Phase::Url);
        emit_url(t, &next.target);
        cur = HopRequest {
            same_origin: cur.same_origin && origin(&next.target) == first_origin,
            target: next.target,
            method: next.method,
            body: if next.keep_body { cur.body } else { None },
            custom_method: cur.custom_method,
        };
    }
    unreachable!("the hop loop returns")
}

/// After a response: is it a redirect we follow? Emits the redirect event either way.
fn decide_redirect(
    t: &mut Tracer,
    req: &Request,
    hop: u32,
    cur: &HopRequest,
    head: &ResponseHead,
) -> Result<Option<NextHop>> {
    let Some(loc) = location(head)? else {
        return Ok(None);
    };
    let next = cur.target.join(loc)?;
    let f = follow(
        head.status,
        &FollowInput {
            method: &cur.method,
            has_body: cur.body.is_some(),
            custom_method: cur.custom_method,
        },
    );
    let at = t.now_us();
    t.emit(Event::Redirect {
        at_us: at,
        hop,
        status: head.status,
        location: crate::redact::url(loc).into_owned(),
        to: next.url.clone(),
        method: f.method.clone(),
        followed: req.follow && hop < req.max_redirs,
    });
    Ok(req.follow.then_some(NextHop {
        target: next,
        method: f.method,
        keep_body: f.keep_body,
    }))
}

/// Addresses for a host: literal, --resolve, or wtcurl's own resolver.
fn addresses(
    t: &mut Tracer,
    req: &Request,
    host: &str,
    literal: Option<IpAddr>,
    port: u16,
    deadline: Option<Instant>,
) -> Result<Vec<IpAddr>> {
    let start = t.now_us();
    let given = literal
        .map(|ip| (vec![ip], AddressSource::Literal))
        .or_else(|| {
            req.resolve
                .iter()
                .find(|r| r.host.eq_ignore_ascii_case(host) && r.port == port)
                .map(|r| (r.addrs.clone(), AddressSource::ResolveFlag))
        });
    match given {
        Some((mut addrs, source)) => {
            // -4 / -6 apply to --resolve's addresses too: none left is curl's "Could not resolve
            // host" (6). An IP literal is not resolved: the TCP phase refuses it (7), as curl.
            if source != AddressSource::Literal {
                addrs.retain(|a| family_allows(req.resolver.family, a));
            }
            if addrs.is_empty() {
                let family = if req.resolver.family == Family::V4 {
                    "IPv4 (-4)"
                } else {
                    "IPv6 (-6)"
                };
                return Err(Error::new(
                    Phase::Dns,
                    Label::DnsNoAddress,
                    format!("Could not resolve host: {host}: no {family} address"),
                )
                .hint("drop -4/-6, or give an address of that family"));
            }
            let at = t.now_us();
            t.emit(Event::Resolved {
                at_us: at,
                host: host.to_string(),
                source,
                addresses: addrs.clone(),
                elapsed_us: at - start,
            });
            Ok(addrs)
        }
        None => dns::resolve(t, &req.resolver, host, deadline),
    }
}

fn family_allows(family: Family, a: &IpAddr) -> bool {
    match family {
        Family::Any => true,
        Family::V4 => a.is_ipv4(),
        Family::V6 => a.is_ipv6(),
    }
}

/// `-4 http://[::1]/` or `-6 http://127.0.0.1/`: curl 7.88 resolves the literal, finds no
/// address it may connect to, and exits 7 ("Couldn't connect to server").
fn literal_of_wrong_family(family: Family, addrs: &[IpAddr]) -> Option<Error> {
    if addrs.iter().any(|a| family_allows(family, a)) {
        return None;
    }
    let (flag, only) = if family == Family::V4 {
        ("-4", "IPv4")
    } else {
        ("-6", "IPv6")
    };
    let ip = addrs.first().map(ToString::to_string).unwrap_or_default();
    Some(
        Error::new(
            Phase::Tcp,
            Label::ConnectFailed,
            format!("Couldn't connect to server: {ip} is not an {only} address, and {flag} allows only {only}"),
        )
        .hint(format!("drop {flag}, or give an {only} address")),
    )
}

fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn hop_once(
    t: &mut Tracer,
    hop: u32,
    req: &Request,
    cur: &HopRequest,
    credentials: Option<&(String, String)>,
    deadline: Option<Instant>,
    out: &mut dyn Write,
) -> Result<(exchange::Exchange, Option<NextHop>)> {
    let target = &cur.target;
    let connect_deadline = earliest(deadline, req.connect_timeout.map(|d| Instant::now() + d));
    // --connect-to changes where we connect, never the URL or the Host header.
    let applies = req
        .connect_to
        .iter()
        .find(|c| c.applies(&target.host_ascii, target.port));
    if let Some(why) = applies.and_then(|c| c.invalid.as_ref()) {
        return Err(
            Error::new(Phase::Setup, Label::OptionSyntax, why.clone()).hint(
                "the --connect-to entry for this host and port needs HOST2:PORT2 with a port \
             from 0 to 65535 (curl, too, exits 49 once the entry applies)",
            ),
        );
    }
    let (conn_host, conn_port) = applies
        .map(|c| {
            (
                c.to_host.clone().unwrap_or(target.host_ascii.clone()),
                c.to_port.unwrap_or(target.port),
            )
        })
        .unwrap_or((target.host_ascii.clone(), target.port));
    let literal = if conn_host == target.host_ascii {
        target.ip
    } else {
        conn_host.parse().ok()
    };

    phase(t, hop, Phase::Dns);
    let addrs = addresses(t, req, &conn_host, literal, conn_port, connect_deadline)?;

    phase(t, hop, Phase::Tcp);
    if literal.is_some()
        && let Some(e) = literal_of_wrong_family(req.resolver.family, &addrs)
    {
        return Err(e);
    }
    // The URL's IPv6 zone, when we connect to the URL's own host: a number, or an interface name
    // (if_nametoindex). As curl, a name that is no interface leaves the scope unset (0).
    let scope_id = match &target.zone {
        Some(z) if conn_host == target.host_ascii => z
            .parse::<u32>()
            .ok()
            .or_else(|| sys::if_nametoindex(z))
            .unwrap_or(0),
        _ => 0,
    };
    let conn = net::connect_scoped(t, &conn_host, &addrs, conn_port, scope_id, connect_deadline)
        .map_err(|mut e| {
            if e.label == Label::Timeout && deadline != connect_deadline {
                e.hint = Some("--connect-timeout ran out before the TCP handshake finished".into());
            }
            e
        })?;

    if req.kernel_view {
        crate::kernel::path_view(t, conn.fd, conn.local, conn.peer);
    }

    let mut tls_stream: Option<TlsStream> = None;
    let result = converse(
        t,
        hop,
        req,
        cur,
        credentials,
        deadline,
        connect_deadline,
        conn.fd,
        &mut tls_stream,
        out,
    );

    phase(t, hop, Phase::Close);
    let end_info = sys::tcp_info(t, conn.fd).ok();
    if let Some(info) = end_info {
        emit_tcp_info(t, conn.fd, "end", info);
    }
    // The server's FIN came first if we read EOF, or if the kernel already moved to CLOSE_WAIT.
    let eof = result.as_ref().is_ok_and(|x| x.0.peer_closed);
    let close_wait_at_end = end_info.is_some_and(|i| i.state == TCP_CLOSE_WAIT);
    // Like curl, say goodbye inside TLS (close_notify) before closing the socket.
    if let Some(stream) = tls_stream.as_mut()
        && !eof
        && !close_wait_at_end
    {
        let _ = stream.close_notify(t);
    }
    // Bytes left unread make Linux's close() send RST instead of FIN: ask just before closing.
    let unread_bytes = sys::unread_bytes(t, conn.fd).ok();
    let reset = unread_bytes.is_some_and(|n| n > 0);
    let body_unread = result.as_ref().is_ok_and(|x| !x.0.body_complete);
    // Who sends the first FIN is decided by the state at close(), not at the end of the transfer:
    // a server answers close_notify (or its own timer) by closing, and its FIN may arrive in
    // between. So ask once more, as late as possible, when anyone looks at the syscalls (the
    // plain path keeps its syscall count; nothing there shows who closed first).
    let before_close = if t.wants_syscalls() && !eof && !close_wait_at_end {
        let info = sys::tcp_info(t, conn.fd).ok();
        if let Some(info) = info {
            emit_tcp_info(t, conn.fd, "before_close", info);
        }
        info
    } else {
        None
    };
    let close_wait_before_close = before_close.is_some_and(|i| i.state == TCP_CLOSE_WAIT);
    let _ = sys::close(t, conn.fd);
    let at = t.now_us();
    let fin_evidence = if eof {
        FinEvidence::RecvfromEof
    } else if close_wait_at_end || close_wait_before_close {
        FinEvidence::CloseWait
    } else if before_close.is_some() {
        FinEvidence::NoFinBeforeClose
    } else {
        FinEvidence::NoFinAtEnd
    };
    let first_fin = match (fin_evidence.server_first(), reset) {
        (true, _) => "server",
        (false, false) => "client",
        (false, true) => "none",
    };
    t.emit(Event::Closed {
        at_us: at,
        fd: conn.fd.0,
        first_fin: first_fin.into(),
        fin_evidence,
        unread_bytes,
        body_unread,
    });
    if req.kernel_view {
        crate::kernel::close_view(t, conn.fd, conn.local, conn.peer);
    }
    result
}

/// Emits a `tcp_info` event for a TCP_INFO just read.
fn emit_tcp_info(t: &mut Tracer, fd: sys::Fd, when: &str, info: crate::event::TcpInfoView) {
    let at = t.now_us();
    t.emit(Event::TcpInfo {
        at_us: at,
        fd: fd.0,
        when: when.into(),
        info,
    });
}

/// On a connected socket: the TLS handshake for https, then the HTTP exchange and the redirect
/// decision. The caller closes the socket whatever happens here.
#[allow(clippy::too_many_arguments)]
fn converse(
    t: &mut Tracer,
    hop: u32,
    req: &Request,
    cur: &HopRequest,
    credentials: Option<&(String, String)>,
    deadline: Option<Instant>,
    connect_deadline: Option<Instant>,
    fd: sys::Fd,
    tls_stream: &mut Option<TlsStream>,
    out: &mut dyn Write,
) -> Result<(exchange::Exchange, Option<NextHop>)> {
    let target = &cur.target;
    if target.scheme == "https" {
        phase(t, hop, Phase::Tls);
        // curl's --connect-timeout covers the TLS handshake too.
        *tls_stream = Some(tls::handshake(
            t,
            fd,
            &target.host_ascii,
            target.ip.is_some(),
            &req.tls,
            connect_deadline,
        )?);
    }
    phase(t, hop, Phase::Request);
    let host_header = target.host_header();
    let user_agent = req.user_agent.clone().unwrap_or_else(default_user_agent);
    let headers = if cur.same_origin {
        req.headers.clone()
    } else {
        strip_for_other_host(&req.headers)
    };
    let will_follow = |head: &ResponseHead| req.follow && matches!(location(head), Ok(Some(_)));
    let body_use = |head: &ResponseHead| {
        if will_follow(head) {
            BodyUse::Discard
        } else if req.fail && head.status >= 400 {
            BodyUse::Skip
        } else {
            BodyUse::Output
        }
    };
    let spec = ExchangeSpec {
        hop,
        request: RequestParams {
            method: &cur.method,
            target: &target.path_and_query,
            host_header: &host_header,
            basic_auth: credentials
                .filter(|_| cur.same_origin)
                .map(|(u, p)| (u.as_str(), p.as_str())),
            user_agent: (!user_agent.is_empty()).then_some(user_agent.as_str()),
            extra_headers: &headers,
            body: cur.body.as_deref(),
            accept_encoding: req.compressed,
        },
        include_headers: req.include,
        decode: req.compressed,
        deadline,
        body_use: &body_use,
    };
    let mut plain = net::PlainTcp(fd);
    let transport: &mut dyn net::Transport = match tls_stream.as_mut() {
        Some(stream) => stream,
        None => &mut plain,
    };
    let x = exchange::run(t, transport, &spec, out)?;
    let next = decide_redirect(t, req, hop, cur, &x.head)?;
    Ok((x, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_of_the_wrong_family_is_curls_couldnt_connect() {
        let v4: IpAddr = "127.0.0.1".parse().unwrap();
        let v6: IpAddr = "::1".parse().unwrap();
        let e = literal_of_wrong_family(Family::V6, &[v4]).unwrap();
        assert_eq!(
            (e.phase, e.label, e.exit_code()),
            (Phase::Tcp, Label::ConnectFailed, 7)
        );
        assert!(e.message.contains("-6 allows only IPv6"), "{}", e.message);
        let e = literal_of_wrong_family(Family::V4, &[v6]).unwrap();
        assert!(
            e.message.contains("::1 is not an IPv4 address"),
            "{}",
            e.message
        );
        assert!(literal_of_wrong_family(Family::V4, &[v4]).is_none());
        assert!(literal_of_wrong_family(Family::Any, &[v6]).is_none());
    }
}
