//! Command-line flags, named as curl names them, and their validation into an engine request.

use crate::dns::{Family, ResolverConfig, parse_server_list};
use crate::engine::{ConnectTo, DEFAULT_MAX_REDIRS, Request, ResolveEntry};
use crate::error::{Error, Label, Phase, Result};
use crate::tls::{CaSource, TlsOptions, TlsVersion};
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// wtcurl: does one HTTP request like curl, and with --explain tells, step by step, everything that happened.
#[derive(Parser, Debug, Clone, Default)]
#[command(name = "wtcurl", version, about, long_about = None, disable_help_flag = true)]
pub struct Args {
    /// The URL. No scheme means http://, as in curl.
    #[arg(value_name = "URL", required_unless_present_any = ["demo", "breaker_show", "breaker_reset"])]
    pub url: Option<String>,

    /// Explain every step (process start, URL, DNS, TCP, TLS, request, response, close) with
    /// syscalls and timings, on stderr.
    #[arg(long)]
    pub explain: bool,

    /// Run the offline demo: `wtcurl -L wetransfer.com --explain --kernel-view --ladder` against
    /// in-process stand-ins on loopback (a DNS server, port 80 answering 301 to https, a TLS 1.3
    /// server on 443 whose CA is made at start-up). Takes no URL.
    #[arg(long)]
    pub demo: bool,

    /// Write every event as one JSON object per line to FILE (schema in README); a FILE that
    /// cannot be created is a warning and the run goes on, as with curl's --trace.
    #[arg(long, value_name = "FILE")]
    pub trace_json: Option<PathBuf>,

    /// Never colour the explanation (NO_COLOR is respected too).
    #[arg(long)]
    pub no_color: bool,

    /// Capture this request's own packets (needs CAP_NET_RAW) and show them, with a ladder diagram.
    #[arg(long)]
    pub packets: bool,

    /// Also ask the kernel about the path and the close, over netlink: the route and source it
    /// picks, the interface and MTU, the next hop's ARP/NDP entry, the ephemeral port range, and
    /// the socket's state after close (who holds TIME_WAIT). Shown by --explain.
    #[arg(long)]
    pub kernel_view: bool,

    /// Draw a ladder (sequence) diagram per connection in --explain: from the captured packets
    /// with --packets, otherwise (or when the capture cannot start) built from wtcurl's syscalls,
    /// and it says so.
    #[arg(long)]
    pub ladder: bool,

    /// Write the captured packets to FILE as pcap (implies --packets).
    #[arg(long, value_name = "FILE")]
    pub pcap: Option<PathBuf>,

    /// Wrap the request in a circuit breaker: open when more than THRESHOLD failures (connection
    /// failures, timeouts, 5xx) fall in WINDOW (e.g. 3/30s); state shared per origin across runs.
    #[arg(long, value_name = "THRESHOLD/WINDOW")]
    pub breaker: Option<String>,

    /// The breaker's state file (default $XDG_STATE_HOME/wtcurl/breaker.json, else ~/.local/state/…).
    #[arg(long, value_name = "FILE")]
    pub breaker_state: Option<PathBuf>,

    /// Print every origin's breaker state and exit.
    #[arg(long)]
    pub breaker_show: bool,

    /// Reset the breaker of ORIGIN (scheme://host:port), or of every origin, and exit.
    #[arg(long, value_name = "ORIGIN", num_args = 0..=1, default_missing_value = "")]
    pub breaker_reset: Option<String>,

    /// Make the request N times in this process (one summary line each on stderr).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub repeat: u32,

    /// Time to wait between --repeat requests (500ms, 2s, 1m).
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,

    /// Print help.
    #[arg(short = 'h', long, action = clap::ArgAction::Help)]
    pub help: Option<bool>,

    /// Request method to use.
    #[arg(short = 'X', long = "request", value_name = "METHOD")]
    pub method: Option<String>,

    /// Extra header, "Name: value"; "Name:" removes a default header, "Name;" sends it empty;
    /// @FILE reads one header per line from FILE (@- from stdin), as curl does.
    #[arg(short = 'H', long = "header", value_name = "HEADER")]
    pub headers: Vec<String>,

    /// User-Agent to send (default wtcurl/VERSION; "" sends none).
    #[arg(short = 'A', long = "user-agent", value_name = "NAME")]
    pub user_agent: Option<String>,

    /// HTTP POST data (application/x-www-form-urlencoded); @FILE reads a file (CR and LF dropped;
    /// a file that cannot be read is a warning and counts as empty, as in curl). Repeats join with '&'.
    #[arg(short = 'd', long = "data", value_name = "DATA")]
    pub data: Vec<String>,

    /// Fetch the headers only (HEAD).
    #[arg(short = 'I', long = "head")]
    pub head: bool,

    /// Include the response headers in the output.
    #[arg(short = 'i', long = "include")]
    pub include: bool,

    /// Write the body to FILE instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Silent mode: no error messages.
    #[arg(short = 's', long = "silent")]
    pub silent: bool,

    /// With -s, still show error messages.
    #[arg(short = 'S', long = "show-error")]
    pub show_error: bool,

    /// Fail with exit code 22 on HTTP status 400 or more, printing no body.
    #[arg(short = 'f', long = "fail")]
    pub fail: bool,

    /// Maximum time in seconds for the whole transfer.
    #[arg(
        short = 'm',
        long = "max-time",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub max_time: Option<f64>,

    /// Maximum time in seconds for name resolution plus connect.
    #[arg(
        long = "connect-timeout",
        value_name = "SECONDS",
        allow_negative_numbers = true
    )]
    pub connect_timeout: Option<f64>,

    /// Ask for a compressed response (gzip, deflate) and decode it.
    #[arg(long)]
    pub compressed: bool,

    /// Follow redirects.
    #[arg(short = 'L', long = "location")]
    pub location: bool,

    /// Maximum number of redirects to follow with -L; -1 means unlimited, as in curl (the hop
    /// loop still stops after 4294967295 hops).
    #[arg(long = "max-redirs", value_name = "NUM", default_value_t = DEFAULT_MAX_REDIRS as i64, allow_negative_numbers = true)]
    pub max_redirs: i64,

    /// Server user and password, "user:password".
    #[arg(short = 'u', long = "user", value_name = "USER:PASSWORD")]
    pub user: Option<String>,

    /// Show a curl-like verbose view on stderr.
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,

    /// Print variables after the transfer, like curl's -w ("%{http_code}\n", %{json},
    /// %header{name}, %{stderr}); @FILE reads the format, @- from stdin.
    #[arg(short = 'w', long = "write-out", value_name = "FORMAT")]
    pub write_out: Option<String>,

    /// Use ADDR for HOST:PORT instead of resolving it ("HOST:PORT:ADDR[,ADDR]").
    #[arg(
        long = "resolve",
        value_name = "HOST:PORT:ADDR",
        allow_hyphen_values = true
    )]
    pub resolve: Vec<String>,

    /// Connect to HOST2:PORT2 for requests to HOST1:PORT1 ("HOST1:PORT1:HOST2:PORT2").
    #[arg(
        long = "connect-to",
        value_name = "HOST1:PORT1:HOST2:PORT2",
        allow_hyphen_values = true
    )]
    pub connect_to: Vec<String>,

    /// Use IPv4 addresses only.
    #[arg(short = '4', long = "ipv4", conflicts_with = "ipv6")]
    pub ipv4: bool,

    /// Use IPv6 addresses only.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,

    /// DNS servers to ask instead of resolv.conf's ("ADDR[:PORT][,ADDR[:PORT]]").
    #[arg(long = "dns-servers", value_name = "ADDRS")]
    pub dns_servers: Option<String>,

    /// CA certificates (PEM) to verify the server with, instead of the built-in Mozilla roots.
    #[arg(long = "cacert", value_name = "FILE")]
    pub cacert: Option<PathBuf>,

    /// Directory of CA certificates (PEM files) to verify the server with.
    #[arg(long = "capath", value_name = "DIR")]
    pub capath: Option<PathBuf>,

    /// Do not stop on a certificate that fails verification (the explanation says so, loudly).
    #[arg(short = 'k', long = "insecure")]
    pub insecure: bool,

    /// Use TLS 1.2 or later.
    #[arg(long = "tlsv1.2")]
    pub tlsv1_2: bool,

    /// Use TLS 1.3 or later.
    #[arg(long = "tlsv1.3")]
    pub tlsv1_3: bool,

    /// The highest TLS version to use: 1.0, 1.1, 1.2, 1.3 or default (the default is TLS 1.3, the
    /// newest wtcurl speaks; wtcurl speaks 1.2 and 1.3 only, so 1.0 and 1.1, or a --tlsv1.x above
    /// it, make an https:// transfer fail with exit 35, as curl's incompatible versions do).
    #[arg(long = "tls-max", value_name = "VERSION")]
    pub tls_max: Option<String>,

    /// Hosts file to read.
    #[arg(long = "hosts-file", value_name = "FILE", default_value = "/etc/hosts")]
    pub hosts_file: PathBuf,

    /// resolv.conf to read.
    #[arg(
        long = "resolv-conf",
        value_name = "FILE",
        default_value = "/etc/resolv.conf"
    )]
    pub resolv_conf: PathBuf,

    /// nsswitch.conf to read.
    #[arg(
        long = "nsswitch-conf",
        value_name = "FILE",
        default_value = "/etc/nsswitch.conf"
    )]
    pub nsswitch_conf: PathBuf,
}

fn usage(msg: String) -> Error {
    Error::new(Phase::Setup, Label::BadUsage, msg).hint("see wtcurl --help")
}

fn seconds(flag: &str, v: Option<f64>) -> Result<Option<Duration>> {
    match v {
        None => Ok(None),
        Some(s) if (0.0..1e9).contains(&s) => Ok((s > 0.0).then(|| Duration::from_secs_f64(s))),
        // curl 7.88.1's words for `-m -1` and `-m inf` (exit 2).
        Some(s) if s < 0.0 => Err(usage(format!(
            "option {flag}: expected a positive numerical parameter (got {s})"
        ))),
        Some(s) if s >= 1e9 => Err(usage(format!("option {flag}: too large number ({s})"))),
        Some(s) => Err(usage(format!(
            "option {flag}: {s} is not a number of seconds"
        ))),
    }
}

/// curl's exit 49 for an option value it cannot parse.
fn option_syntax(msg: String, hint: &str) -> Error {
    Error::new(Phase::Setup, Label::OptionSyntax, msg).hint(hint)
}

/// One `--resolve` value as curl 7.88 reads it: `HOST:PORT:ADDR[,ADDR…]` (a leading `+` only
/// marks curl's cache entry as non-permanent), or `-HOST:PORT`, which removes earlier entries for
/// HOST:PORT. Anything else is curl's exit 49, "Couldn't parse CURLOPT_RESOLVE entry".
fn apply_resolve(s: &str, entries: &mut Vec<ResolveEntry>) -> Result<()> {
    let hint = "write it as HOST:PORT:ADDR[,ADDR…], e.g. example.com:443:127.0.0.1 (IPv6 \
                addresses may be in brackets), or -HOST:PORT to remove an entry";
    if let Some(removal) = s.strip_prefix('-') {
        // curl only notes a removal entry it cannot parse (with -v) and goes on.
        if let Some((host, port)) = removal.split_once(':')
            && let Ok(port) = port.parse::<u16>()
        {
            entries.retain(|e| !(e.host.eq_ignore_ascii_case(host) && e.port == port));
        }
        return Ok(());
    }
    let bad = || option_syntax(format!("Couldn't parse CURLOPT_RESOLVE entry '{s}'"), hint);
    let body = s.strip_prefix('+').unwrap_or(s);
    let (host, rest) = body.split_once(':').ok_or_else(bad)?;
    let (port, addrs) = rest.split_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let addrs = addrs
        .split(',')
        .map(|a| {
            a.trim()
                .trim_start_matches('[')
                .trim_end_matches(']')
                .parse()
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| bad())?;
    // An empty HOST is accepted, as curl does; it never matches a URL.
    entries.push(ResolveEntry {
        host: host.to_ascii_lowercase(),
        port,
        addrs,
    });
    Ok(())
}

/// What C's strtol makes of all of `s` (white space, a sign, digits and nothing after), or None.
fn strtol_all(s: &str) -> Option<i64> {
    let t = s.trim_start();
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if t.is_empty() || t.len() > 18 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let v: i64 = t.parse().ok()?;
    Some(if neg { -v } else { v })
}

/// One `--connect-to` value as curl 7.88 reads it. HOST1 runs to the first `:` (an IPv6 one in
/// brackets), PORT1 to the next; an entry without both colons, or whose PORT1 is not a number,
/// never applies and is ignored, as curl ignores it (None). HOST2:PORT2 is checked only when the
/// entry applies to the URL (curl's exit 49 then), so its error is kept in `invalid`.
fn parse_connect_to(s: &str) -> Option<ConnectTo> {
    let split_host = |p: &str| -> Option<(String, String)> {
        let end = if p.starts_with('[') {
            p.find(']').map(|i| i + 1)?
        } else {
            p.find(':').unwrap_or(p.len())
        };
        Some((p[..end].to_string(), p[end..].to_string()))
    };
    let unbracket = |h: &str| {
        h.trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase()
    };
    let (host1, rest) = split_host(s)?;
    let rest = rest.strip_prefix(':')?;
    let (port1, target) = rest.split_once(':')?;
    let port = if port1.is_empty() {
        None
    } else {
        Some(u16::try_from(strtol_all(port1)?).ok()?)
    };
    let mut entry = ConnectTo {
        host: (!host1.is_empty()).then(|| unbracket(&host1)),
        port,
        ..ConnectTo::default()
    };
    // curl takes an unclosed "[::1" as the host ::1.
    let (host2, port2) = split_host(target).unwrap_or_else(|| (target.to_string(), String::new()));
    entry.to_host = (!host2.is_empty()).then(|| unbracket(&host2));
    match port2.strip_prefix(':') {
        None if port2.is_empty() => {}
        Some("") => {}
        Some(p) if p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok() => {
            entry.to_port = p.parse().ok();
        }
        _ => {
            let p = port2.strip_prefix(':').unwrap_or(&port2);
            entry.invalid = Some(format!(
                "No valid port number in connect to host string ({p})"
            ));
        }
    }
    Some(entry)
}

/// `-H` values, with each `@FILE` replaced by the file's lines, as curl 7.55+ does: split at CR
/// and LF, empty lines skipped, each line taken as one `-H` value (`@-` reads stdin). A file that
/// cannot be opened is a warning and adds nothing ("Failed to open FILE!"); one that opens but
/// cannot be read (a directory) is exit 26, as in curl.
fn read_headers(items: &[String], warnings: &mut Vec<Error>) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for h in items {
        let Some(path) = h.strip_prefix('@') else {
            out.push(h.clone());
            continue;
        };
        let read = if path == "-" {
            let mut b = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut b).map(|_| b)
        } else {
            match std::fs::File::open(path) {
                Ok(mut f) => {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut f, &mut b).map(|_| b)
                }
                Err(e) => {
                    warnings.push(
                        Error::new(
                            Phase::Setup,
                            Label::ReadFailed,
                            format!("Failed to open {path}! ({e}); no header is added from it"),
                        )
                        .hint("check the path after -H @ (curl, too, only warns and goes on)"),
                    );
                    continue;
                }
            }
        };
        let bytes = read.map_err(|e| {
            Error::new(
                Phase::Setup,
                Label::ReadFailed,
                format!("option -H: error encountered when reading a file: {path}: {e}"),
            )
            .hint("-H @FILE needs a readable file of header lines")
        })?;
        out.extend(
            bytes
                .split(|b| *b == b'\r' || *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| String::from_utf8_lossy(l).into_owned()),
        );
    }
    Ok(out)
}

/// `-d` values joined with `&`; `@FILE` reads a file. As curl 7.88: a file that cannot be read
/// is a warning and counts as empty ("this makes an empty POST"), not an error.
fn read_data(items: &[String], warnings: &mut Vec<Error>) -> Option<Vec<u8>> {
    if items.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for (i, d) in items.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        match d.strip_prefix('@') {
            Some(path) => match std::fs::read(path) {
                // curl -d @file strips CR and LF.
                Ok(bytes) => out.extend(bytes.into_iter().filter(|b| *b != b'\r' && *b != b'\n')),
                Err(e) => warnings.push(
                    Error::new(
                        Phase::Setup,
                        Label::ReadFailed,
                        format!(
                            "Couldn't read data from file {path:?} ({e}), this makes an empty POST"
                        ),
                    )
                    .hint("check the path after @ (curl, too, warns and sends the data as empty)"),
                ),
            },
            None => out.extend_from_slice(d.as_bytes()),
        }
    }
    Some(out)
}

impl Args {
    /// Validates the flags into an engine request.
    pub fn to_request(&self) -> Result<Request> {
        self.to_request_with_warnings().map(|(r, _)| r)
    }

    /// Validates the flags into an engine request, with the warnings curl would print for them
    /// (the run goes on; `-s` hides them).
    pub fn to_request_with_warnings(&self) -> Result<(Request, Vec<Error>)> {
        let mut warnings = Vec::new();
        let url = self.url.clone().unwrap_or_default();
        let mut req = Request::new(url);
        req.method = self.method.clone();
        req.head_only = self.head;
        req.headers = read_headers(&self.headers, &mut warnings)?;
        req.user_agent = self.user_agent.clone();
        req.user = self.user.clone();
        req.data = read_data(&self.data, &mut warnings);
        req.follow = self.location;
        req.kernel_view = self.kernel_view;
        req.max_redirs = match self.max_redirs {
            // curl: -1 is unlimited. wtcurl's hop loop still stops at u32::MAX hops.
            -1 => u32::MAX,
            n if n < -1 => {
                return Err(usage(format!(
                    "--max-redirs {n}: expected a proper numerical parameter (-1 means unlimited)"
                )));
            }
            n => n.min(i64::from(u32::MAX)) as u32,
        };
        req.fail = self.fail;
        req.compressed = self.compressed;
        req.include = self.include || self.head;
        req.connect_timeout = seconds("--connect-timeout", self.connect_timeout)?;
        req.max_time = seconds("--max-time", self.max_time)?;
        for s in &self.resolve {
            apply_resolve(s, &mut req.resolve)?;
        }
        req.connect_to = self
            .connect_to
            .iter()
            .filter_map(|s| parse_connect_to(s))
            .collect();
        req.tls = self.tls_options()?;
        req.resolver = ResolverConfig {
            hosts_path: self.hosts_file.clone(),
            resolv_conf_path: self.resolv_conf.clone(),
            nsswitch_path: self.nsswitch_conf.clone(),
            servers_override: match &self.dns_servers {
                Some(s) => {
                    Some(parse_server_list(s).map_err(|e| usage(format!("--dns-servers: {e}")))?)
                }
                None => None,
            },
            family: if self.ipv4 {
                Family::V4
            } else if self.ipv6 {
                Family::V6
            } else {
                Family::Any
            },
        };
        Ok((req, warnings))
    }

    /// The `-w` format: the text, or with `@FILE` the file's contents. As curl 7.88 ("Warning:
    /// Failed to read FILE"), an unreadable file is a warning and `-w` then prints nothing: the
    /// error returned is that warning.
    pub fn write_out_format(&self) -> Result<Option<String>> {
        let Some(fmt) = &self.write_out else {
            return Ok(None);
        };
        match fmt.strip_prefix('@') {
            None => Ok(Some(fmt.clone())),
            Some(path) => {
                let read = if path == "-" {
                    std::io::read_to_string(std::io::stdin())
                } else {
                    std::fs::read_to_string(path)
                };
                read.map(Some).map_err(|e| {
                    Error::new(
                        Phase::Setup,
                        Label::ReadFailed,
                        format!(
                            "Failed to read the -w format file {path:?}: {e}; -w prints nothing"
                        ),
                    )
                    .hint("check the path after -w @ (curl, too, warns and goes on)")
                })
            }
        }
    }

    /// Whether warnings are printed (curl: -s hides them, and -S brings back only errors).
    pub fn show_warnings(&self) -> bool {
        !self.silent
    }

    /// TLS settings from flags and, as curl reads them, CURL_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR
    /// and SSLKEYLOGFILE.
    pub fn tls_options(&self) -> Result<TlsOptions> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let version = |flag: &str, v: &str| match v {
            "1.0" => Ok(Some(TlsVersion::V1_0)),
            "1.1" => Ok(Some(TlsVersion::V1_1)),
            "1.2" => Ok(Some(TlsVersion::V1_2)),
            "1.3" => Ok(Some(TlsVersion::V1_3)),
            "default" => Ok(None),
            other => Err(usage(format!(
                "{flag} {other}: expected 1.0, 1.1, 1.2, 1.3 or default"
            ))),
        };
        let min = if self.tlsv1_3 {
            Some(TlsVersion::V1_3)
        } else if self.tlsv1_2 {
            Some(TlsVersion::V1_2)
        } else {
            None
        };
        let max = match &self.tls_max {
            Some(v) => version("--tls-max", v)?,
            None => None,
        };
        // A minimum above the maximum is not a usage error: as in curl, it fails with exit 35
        // when an https:// hop starts its handshake, and a plain http:// run never minds.
        let (cacert, capath) =
            ca_locations(self.cacert.clone(), self.capath.clone(), self.insecure, env);
        let ((cacert, cacert_source), (capath, capath_source)) = (cacert, capath);
        Ok(TlsOptions {
            cacert,
            cacert_source,
            capath,
            capath_source,
            insecure: self.insecure,
            min,
            max,
            keylog: env("SSLKEYLOGFILE"),
            ..TlsOptions::default()
        })
    }

    /// Flags that contradict each other before anything runs: `--demo` with a URL (the demo
    /// fetches its own, and silently dropping the one given would surprise).
    pub fn check_modes(&self) -> Result<()> {
        if self.demo
            && let Some(url) = &self.url
        {
            return Err(usage(format!(
                "--demo takes no URL, but {url:?} was given"
            ))
            .hint(format!(
                "run `wtcurl --demo` alone (it fetches wetransfer.com from stand-ins on loopback), or `wtcurl --explain {url}` to explain that URL"
            )));
        }
        Ok(())
    }

    /// Whether errors are printed (curl: -s hides them unless -S).
    pub fn show_errors(&self) -> bool {
        !self.silent || self.show_error
    }
}

/// A CA file or directory and where it came from.
type CaLocation = (Option<PathBuf>, CaSource);

/// The CA file and directory, as curl 7.88's tool picks them (tool_operate.c): `--cacert` and
/// `--capath` when either is given; else, unless `-k`, the environment: `CURL_CA_BUNDLE`, else
/// `SSL_CERT_DIR`, else `SSL_CERT_FILE`, one of them at most (with `SSL_CERT_DIR` set,
/// `SSL_CERT_FILE` is not read). `env` gives a variable's non-empty value.
pub fn ca_locations(
    cacert: Option<PathBuf>,
    capath: Option<PathBuf>,
    insecure: bool,
    env: impl Fn(&str) -> Option<PathBuf>,
) -> (CaLocation, CaLocation) {
    let none = (None, CaSource::Flag);
    if cacert.is_some() || capath.is_some() || insecure {
        return ((cacert, CaSource::Flag), (capath, CaSource::Flag));
    }
    for var in ["CURL_CA_BUNDLE", "SSL_CERT_DIR", "SSL_CERT_FILE"] {
        if let Some(p) = env(var) {
            let found = (Some(p), CaSource::Env(var));
            return if var == "SSL_CERT_DIR" {
                (none, found)
            } else {
                (found, none)
            };
        }
    }
    (none.clone(), none)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("wtcurl").chain(v.iter().copied())).unwrap()
    }

    #[test]
    fn curl_flags_map_to_the_request() {
        let a = args(&[
            "-sSfL",
            "-X",
            "PUT",
            "-H",
            "A: b",
            "-d",
            "x=1",
            "-d",
            "y=2",
            "--max-redirs",
            "3",
            "http://h/",
        ]);
        let r = a.to_request().unwrap();
        assert_eq!(r.method.as_deref(), Some("PUT"));
        assert_eq!(r.data.as_deref(), Some(&b"x=1&y=2"[..]));
        assert!(r.follow && r.fail);
        assert_eq!(r.max_redirs, 3);
        assert!(!a.show_errors() || a.show_error);
    }

    fn parse_resolve(s: &str) -> Result<ResolveEntry> {
        let mut v = Vec::new();
        apply_resolve(s, &mut v)?;
        Ok(v.remove(0))
    }

    #[test]
    fn resolve_and_connect_to_parse_like_curl() {
        assert_eq!(
            parse_resolve("example.com:80:127.0.0.1,::1").unwrap(),
            ResolveEntry {
                host: "example.com".into(),
                port: 80,
                addrs: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]
            }
        );
        assert_eq!(parse_resolve("+a:80:[::1]").unwrap().host, "a");
        assert_eq!(parse_resolve(":80:127.0.0.1").unwrap().host, "");
        for bad in [
            "bad",
            "a:b:c",
            "a:80",
            "a:80:",
            "a:99999:127.0.0.1",
            "a:80:1.2.3",
        ] {
            let e = parse_resolve(bad).unwrap_err();
            assert_eq!((e.label, e.exit_code()), (Label::OptionSyntax, 49), "{bad}");
            assert_eq!(
                e.message,
                format!("Couldn't parse CURLOPT_RESOLVE entry '{bad}'")
            );
        }
        let mut v = Vec::new();
        apply_resolve("a:80:127.0.0.1", &mut v).unwrap();
        apply_resolve("-A:80", &mut v).unwrap();
        assert!(v.is_empty());
        apply_resolve("-a", &mut v).unwrap();
        assert_eq!(parse_connect_to("a:+80::81").unwrap().port, Some(80));
        let open = parse_connect_to("a:80:[::1").unwrap();
        assert_eq!((open.to_host.as_deref(), open.invalid), (Some("::1"), None));

        let c = parse_connect_to("example.com:80:[::1]:8080").unwrap();
        assert_eq!(c.to_host.as_deref(), Some("::1"));
        assert_eq!(c.to_port, Some(8080));
        let any = parse_connect_to("::127.0.0.1:").unwrap();
        assert_eq!((any.host, any.port, any.to_port), (None, None, None));
        assert_eq!(any.to_host.as_deref(), Some("127.0.0.1"));
        let v6 = parse_connect_to("[::1]:80::81").unwrap();
        assert_eq!((v6.host.as_deref(), v6.port), (Some("::1"), Some(80)));
        // Never applies in curl: ignored.
        for never in [
            "bad",
            "a:b",
            "a:b:c",
            "a:b:c:d",
            "a:x:127.0.0.1:80",
            "a:80x::81",
        ] {
            assert_eq!(parse_connect_to(never), None, "{never}");
        }
        // Applies, but HOST2:PORT2 is bad: an error once it applies.
        let c = parse_connect_to("a:1:c:d:e").unwrap();
        assert_eq!(
            c.invalid.as_deref(),
            Some("No valid port number in connect to host string (d:e)")
        );
        assert!(c.applies("a", 1) && !c.applies("a", 2));
        // Applies but changes nothing: curl looks at the next entry.
        assert!(!parse_connect_to("a:80::").unwrap().applies("a", 80));
    }

    #[test]
    fn bad_seconds_are_usage_errors() {
        let e = seconds("--max-time", Some(-1.0)).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message
                .contains("expected a positive numerical parameter")
        );
        let a = args(&["-m", "-1", "--connect-timeout", "-0.5", "h"]);
        assert_eq!((a.max_time, a.connect_timeout), (Some(-1.0), Some(-0.5)));
        assert_eq!(
            seconds("-m", Some(0.5)).unwrap(),
            Some(Duration::from_millis(500))
        );
    }

    #[test]
    fn ca_locations_follow_curls_tool() {
        use std::path::Path;
        let env_of = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| PathBuf::from(v))
            }
        };
        let all: &[(&str, &str)] = &[
            ("CURL_CA_BUNDLE", "/b.pem"),
            ("SSL_CERT_DIR", "/certs"),
            ("SSL_CERT_FILE", "/f.pem"),
        ];
        let file = |p: &str, s| (Some(Path::new(p).to_path_buf()), s);
        let none = (None, CaSource::Flag);
        // CURL_CA_BUNDLE first, alone.
        assert_eq!(
            ca_locations(None, None, false, env_of(all)),
            (
                file("/b.pem", CaSource::Env("CURL_CA_BUNDLE")),
                none.clone()
            )
        );
        // Then SSL_CERT_DIR, and SSL_CERT_FILE is not read (curl exits 60 if only that file
        // holds the CA).
        assert_eq!(
            ca_locations(None, None, false, env_of(&all[1..])),
            (none.clone(), file("/certs", CaSource::Env("SSL_CERT_DIR")))
        );
        assert_eq!(
            ca_locations(None, None, false, env_of(&all[2..])),
            (file("/f.pem", CaSource::Env("SSL_CERT_FILE")), none.clone())
        );
        // Flags (either one) or -k: no variable is read.
        assert_eq!(
            ca_locations(Some("/c.pem".into()), None, false, env_of(all)),
            (file("/c.pem", CaSource::Flag), none.clone())
        );
        assert_eq!(
            ca_locations(None, Some("/d".into()), false, env_of(all)),
            (none.clone(), file("/d", CaSource::Flag))
        );
        assert_eq!(
            ca_locations(None, None, true, env_of(all)),
            (none.clone(), none.clone())
        );
        assert_eq!(
            ca_locations(None, None, false, env_of(&[])),
            (none.clone(), none)
        );
    }

    #[test]
    fn max_redirs_and_tls_max_take_curls_values() {
        assert_eq!(
            args(&["--max-redirs", "-1", "h"])
                .to_request()
                .unwrap()
                .max_redirs,
            u32::MAX
        );
        assert_eq!(
            args(&["--max-redirs", "0", "h"])
                .to_request()
                .unwrap()
                .max_redirs,
            0
        );
        let e = args(&["--max-redirs", "-2", "h"]).to_request().unwrap_err();
        assert_eq!((e.label, e.exit_code()), (Label::BadUsage, 2));
        for (v, want) in [
            ("1.0", Some(TlsVersion::V1_0)),
            ("1.1", Some(TlsVersion::V1_1)),
            ("1.2", Some(TlsVersion::V1_2)),
            ("1.3", Some(TlsVersion::V1_3)),
            ("default", None),
        ] {
            assert_eq!(
                args(&["--tls-max", v, "h"]).tls_options().unwrap().max,
                want
            );
        }
        assert_eq!(
            args(&["--tls-max", "1.4", "h"])
                .tls_options()
                .unwrap_err()
                .exit_code(),
            2
        );
        // curl: no usage error; exit 35 when an https:// hop starts TLS (see tls::versions).
        let o = args(&["--tlsv1.3", "--tls-max", "1.2", "h"])
            .tls_options()
            .unwrap();
        assert_eq!(
            (o.min, o.max),
            (Some(TlsVersion::V1_3), Some(TlsVersion::V1_2))
        );
    }

    #[test]
    fn unreadable_files_are_warnings_as_in_curl() {
        let mut w = Vec::new();
        let data = read_data(&["@/dev/null/x".into(), "a=b".into()], &mut w);
        assert_eq!(data.as_deref(), Some(&b"&a=b"[..]));
        assert_eq!(w.len(), 1);
        assert_eq!((w[0].phase, w[0].label), (Phase::Setup, Label::ReadFailed));
        assert!(w[0].message.contains("this makes an empty POST"));
        let a = args(&["-w", "@/dev/null/x", "http://h/"]);
        let e = a.write_out_format().unwrap_err();
        assert_eq!((e.phase, e.label), (Phase::Setup, Label::ReadFailed));
        assert!(e.hint.is_some());
        let a = args(&["-w", "%{http_code}", "http://h/"]);
        assert_eq!(
            a.write_out_format().unwrap().as_deref(),
            Some("%{http_code}")
        );
        let (_, w) = args(&["-d", "@/dev/null/x", "http://h/"])
            .to_request_with_warnings()
            .unwrap();
        assert_eq!(w.len(), 1);
    }

    #[test]
    fn url_is_required_unless_demo() {
        assert!(Args::try_parse_from(["wtcurl"]).is_err());
        assert!(Args::try_parse_from(["wtcurl", "--demo"]).is_ok());
        assert!(args(&["--demo"]).check_modes().is_ok());
        assert!(args(&["http://h/"]).check_modes().is_ok());
        let e = args(&["--demo", "http://h/"]).check_modes().unwrap_err();
        assert_eq!(
            (e.phase, e.label, e.exit_code()),
            (Phase::Setup, Label::BadUsage, 2)
        );
        assert!(e.hint.unwrap().contains("wtcurl --explain http://h/"));
    }

    #[test]
    fn help_says_what_the_flags_do() {
        use clap::CommandFactory;
        let help = Args::command().render_long_help().to_string();
        for needle in [
            "wtcurl -L wetransfer.com --explain --kernel-view --ladder",
            "Takes no URL",
            "process start, URL, DNS, TCP, TLS, request, response, close",
            "-1 means unlimited",
            "the default is TLS 1.3",
        ] {
            assert!(help.contains(needle), "--help lacks {needle:?}:\n{help}");
        }
    }
}
