//! Shared helpers for the integration tests (`mod common;` in each `tests/*.rs`).
//!
//! Everything here talks to loopback only: nginx listens on 127.0.0.1 (or ::1 when asked), dnsmasq
//! listens on 127.0.0.1 and never forwards a query anywhere (`--no-resolv`, no `server=`, and
//! `--conf-file=/dev/null` so no system config can add one).
//!
//! Missing tools: [`require_tool`] returns `false` and prints a `SKIP` line, except under `CI=true`
//! where it panics, so CI can never go green by skipping.
//!
//! Quick reference:
//! - `require_tool("nginx") -> bool`, `require_root() -> bool`, `tool_path(name) -> Option<PathBuf>`
//! - `free_port() -> u16`
//! - `Nginx::start(server_block_body) -> Option<Nginx>`, `Nginx::wetransfer_like()`,
//!   `Nginx::wetransfer_like_with_big(len)`; `.port`, `.root()`, `.url(path)`, `.addr()`,
//!   `.access_log()`, `.error_log()`
//! - `Nginx::start_tls(cert, key, ssl_protocols, server_block_body)`: the same plus an HTTPS
//!   server on `.tls_port` / `.https_port()`, `.https_url(host, path)`,
//!   `Nginx::resolve_flag(host, port)`; `TestPki::new(&[names])` makes a CA and a leaf with the
//!   openssl CLI (`.ca`, `.cert`, `.key`)
//! - `Dnsmasq::start(&[(name, ip)]) -> Option<Dnsmasq>`, `Dnsmasq::start_with_cnames(records, cnames)`,
//!   `Dnsmasq::builder()...start()`; `.port`, `.addr()`, `.query(name, qtype)`, `.queries()`, `.log()`
//! - `dns_query(server, name, qtype) -> io::Result<DnsReply>` (hand-built query, hand-parsed reply)
//! - `wtcurl() -> assert_cmd::Command` (NO_COLOR=1, proxy variables removed, 60 s timeout)
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::io::{self, Read, Write};
use std::net::{
    IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, ToSocketAddrs, UdpSocket,
};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a server gets to start accepting connections / answering queries.
pub const START_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// Environment: CI, tools, privileges
// ---------------------------------------------------------------------------------------------

/// True when running under CI (`CI=true` or `CI=1`): missing tools and privileges fail, never skip.
pub fn ci() -> bool {
    std::env::var("CI")
        .map(|v| v.eq_ignore_ascii_case("true") || v == "1")
        .unwrap_or(false)
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Full path of a tool: searched on `PATH`, then in /usr/local/sbin, /usr/sbin and /sbin (which are
/// often missing from a non-root `PATH`). A name containing `/` is checked as given.
pub fn tool_path(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

/// True if `name` is installed. Missing: panics under `CI=true`, else prints a SKIP line and
/// returns false (the test should then `return`).
pub fn require_tool(name: &str) -> bool {
    if tool_path(name).is_some() {
        return true;
    }
    if ci() {
        panic!(
            "required tool `{name}` not found on PATH or in /usr/sbin, /sbin; CI=true forbids skipping \
             (scripts/test.sh installs it: nginx-light, dnsmasq-base, strace, tcpdump, iproute2, openssl, curl, procps)"
        );
    }
    eprintln!("SKIP: `{name}` is not installed (run scripts/test.sh, or apt-get install it)");
    false
}

/// Effective uid of this process, from /proc/self/status.
pub fn euid() -> Option<u32> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

/// True if running as root. Not root: panics under `CI=true`, else prints SKIP and returns false.
pub fn require_root() -> bool {
    if euid() == Some(0) {
        return true;
    }
    if ci() {
        panic!("this test needs root (CAP_NET_ADMIN / CAP_SYS_ADMIN); CI=true forbids skipping");
    }
    eprintln!("SKIP: this test needs root");
    false
}

// ---------------------------------------------------------------------------------------------
// Ports and temporary directories
// ---------------------------------------------------------------------------------------------

/// A TCP port on 127.0.0.1 that was free a moment ago (bind :0, read the port, drop).
/// Racy by nature: the servers below retry with a new port if the bind fails.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind 127.0.0.1:0")
}

/// A port free for both TCP and UDP on 127.0.0.1 (what a DNS server needs).
pub fn free_tcp_udp_port() -> u16 {
    for _ in 0..50 {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = tcp.local_addr().expect("local_addr").port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no port free for both TCP and UDP on 127.0.0.1 after 50 tries");
}

static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh directory under the system temp dir, removed on drop (kept, and its path printed,
/// if the test is panicking, so the logs inside can be read).
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "wtcurl-{prefix}-{}-{n}-{nanos:x}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        // Readable by all, so a server that drops privileges can still read its files.
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o755));
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("(kept {} for inspection)", self.path.display());
        } else {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

fn read_lossy(p: &Path) -> String {
    fs::read(p)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

fn tail(s: &str, lines: usize) -> String {
    let v: Vec<&str> = s.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Proto {
    TcpListen,
    Udp,
}

/// How many sockets bound to local `port` (TCP in LISTEN state, or UDP) are open in process
/// `pid`: matches the inodes in /proc/net/{tcp,tcp6,udp,udp6} against /proc/PID/fd.
fn owned_sockets(pid: u32, port: u16, proto: Proto) -> usize {
    let (tables, state) = match proto {
        Proto::TcpListen => (["/proc/net/tcp", "/proc/net/tcp6"], "0A"),
        Proto::Udp => (["/proc/net/udp", "/proc/net/udp6"], "07"),
    };
    let want_port = format!("{port:04X}");
    let mut inodes = Vec::new();
    for table in tables {
        for line in read_lossy(Path::new(table)).lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() > 9 && f[3] == state && f[1].rsplit(':').next() == Some(want_port.as_str()) {
                inodes.push(format!("socket:[{}]", f[9]));
            }
        }
    }
    if inodes.is_empty() {
        return 0;
    }
    let Ok(fds) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.filter_map(|e| fs::read_link(e.ok()?.path()).ok())
        .filter(|target| inodes.iter().any(|i| Path::new(i) == target))
        .count()
}

fn stop_child(child: &mut Child) {
    // SIGKILL: nginx runs with master_process off (one process) and dnsmasq in the foreground,
    // so this ends the whole server.
    let _ = child.kill();
    let _ = child.wait();
}

// ---------------------------------------------------------------------------------------------
// nginx
// ---------------------------------------------------------------------------------------------

/// Body of `/hello.txt` in [`Nginx::wetransfer_like`].
pub const HELLO_BODY: &str = "Hello from the wtcurl test nginx!\n";

/// Body of `/chunked` in [`Nginx::wetransfer_like`]: an SSI file whose middle part is an include
/// of /hello.txt. SSI makes the length unknown, so nginx answers an HTTP/1.1 request with
/// `Transfer-Encoding: chunked` (an HTTP/1.0 request gets the body unframed + `Connection: close`).
pub const CHUNKED_BODY: &str = "chunk one: before the include\nHello from the wtcurl test nginx!\nchunk three: after the include\n";
const CHUNKED_SOURCE: &str = "chunk one: before the include\n<!--# include virtual=\"/hello.txt\" -->chunk three: after the include\n";

/// Body of nginx's own `301` page, as served for `/` by [`Nginx::wetransfer_like`] and by the lab
/// (`server_tokens off`, so no version number).
pub const NGINX_301_BODY: &str = "<html>\r\n<head><title>301 Moved Permanently</title></head>\r\n<body>\r\n<center><h1>301 Moved Permanently</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Where `/` redirects to, like the real wetransfer.com on port 80.
pub const WETRANSFER_LOCATION: &str = "https://wetransfer.com/";

/// Size of `/big` in [`Nginx::wetransfer_like`].
pub const DEFAULT_BIG_LEN: usize = 1024 * 1024 + 7;

/// `/r/N` chains exist for N in 0..=R_CHAIN_MAX: `/r/N` -> 302 `/r/N-1`, `/r/0` -> 200.
pub const R_CHAIN_MAX: u32 = 60;

/// Body of `/r/0` in [`Nginx::wetransfer_like`].
pub const R_END_BODY: &str = "end of the redirect chain\n";

/// Deterministic content of `/big`: 16-byte lines, each holding its own byte offset in decimal
/// (`000000000000000\n`, `000000000000016\n`, ...), cut at `len`. A truncated or shifted body
/// shows where it went wrong.
pub fn big_body(len: usize) -> Vec<u8> {
    let mut out = String::with_capacity(len + 16);
    let mut off = 0;
    while off < len {
        let _ = writeln!(out, "{off:015}");
        off += 16;
    }
    out.truncate(len);
    out.into_bytes()
}

/// A throwaway nginx on 127.0.0.1:`port`, killed on drop. All its files (config, pid, logs,
/// temp paths) live in one temp dir; nothing under /var or /etc is touched.
pub struct Nginx {
    pub port: u16,
    /// The HTTPS port of an nginx made by [`Nginx::start_tls`] (None for the others).
    pub tls_port: Option<u16>,
    dir: TempDir,
    child: Child,
}

/// The TLS side of [`Nginx::start_tls`]: nginx's `ssl_certificate`, `ssl_certificate_key` and
/// `ssl_protocols` (e.g. `"TLSv1.3"`, `"TLSv1.2"`, `"TLSv1.2 TLSv1.3"`).
#[derive(Clone, Copy, Debug)]
pub struct NginxTls<'a> {
    pub cert: &'a Path,
    pub key: &'a Path,
    pub protocols: &'a str,
}

impl Nginx {
    /// Start nginx with one `server { }` whose body is `server_block_body` (locations etc.).
    ///
    /// The server block already has `listen 127.0.0.1:PORT;` and `root <dir>/www;`. In the body,
    /// `@PORT@`, `@ROOT@` (the www dir) and `@DIR@` (the temp dir) are replaced. The http block
    /// sets `server_tokens off`, `absolute_redirect off` (so `return 302 /x` sends `Location: /x`
    /// verbatim; put `absolute_redirect on;` in the body to get absolute ones), a small `types`
    /// map (html, txt, json, css, js, png; default application/octet-stream) and access_log with
    /// the default `combined` format. Fill `root()` with files at any time; nginx reads them per
    /// request.
    ///
    /// Returns None (after a SKIP line) if nginx is not installed and CI is not set. Panics with
    /// nginx's error output if it does not come up within [`START_TIMEOUT`].
    pub fn start(server_block_body: &str) -> Option<Nginx> {
        Nginx::start_listening(&["127.0.0.1"], server_block_body)
    }

    /// Like [`Nginx::start`] but listening on each of `hosts` (e.g. `&["127.0.0.1", "[::1]"]`),
    /// all on the same port.
    pub fn start_listening(hosts: &[&str], server_block_body: &str) -> Option<Nginx> {
        Nginx::spawn(hosts, None, server_block_body)
    }

    /// nginx with two `server { }` blocks sharing `server_block_body` and the www root: plain
    /// HTTP on 127.0.0.1:`port` and HTTPS on 127.0.0.1:`tls_port` (`listen ... ssl`) with
    /// `cert` (the chain, leaf first, PEM), `key` (PEM) and `ssl_protocols protocols`. In the
    /// body, `@TLSPORT@` is replaced by the HTTPS port too (e.g. for a `return 301
    /// https://NAME:@TLSPORT@/...;` on the plain server; it applies to both blocks).
    ///
    /// nginx reads the key and certificate once at start-up (as the user running the tests:
    /// `master_process off` never drops privileges). Returns None (after a SKIP line) if nginx is
    /// not installed and CI is not set; panics with nginx's error output if it does not come up
    /// (a bad certificate or an `ssl_protocols` value this nginx cannot do shows there).
    pub fn start_tls(
        cert: &Path,
        key: &Path,
        protocols: &str,
        server_block_body: &str,
    ) -> Option<Nginx> {
        let tls = NginxTls {
            cert,
            key,
            protocols,
        };
        Nginx::spawn(&["127.0.0.1"], Some(tls), server_block_body)
    }

    fn spawn(hosts: &[&str], tls: Option<NginxTls<'_>>, server_block_body: &str) -> Option<Nginx> {
        if !require_tool("nginx") {
            return None;
        }
        let nginx = tool_path("nginx").expect("nginx path");
        let dir = TempDir::new("nginx");
        let www = dir.path().join("www");
        fs::create_dir_all(&www).expect("create www");
        fs::create_dir_all(dir.path().join("tmp")).expect("create tmp");

        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let tls_port = tls.map(|_| {
                loop {
                    let p = free_port();
                    if p != port {
                        break p;
                    }
                }
            });
            let conf = nginx_conf(
                dir.path(),
                port,
                hosts,
                tls_port.zip(tls),
                server_block_body,
            );
            let conf_path = dir.path().join("nginx.conf");
            fs::write(&conf_path, conf).expect("write nginx.conf");
            let err_path = dir.path().join("error.log");
            let stderr = fs::File::create(dir.path().join("stderr.log")).expect("stderr.log");
            let mut child = Command::new(&nginx)
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(&err_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", nginx.display()));

            // Ready = *this* nginx owns a listening socket per address (checked in /proc, since
            // a bare connect could reach another test's server that got the same port) and
            // accepts a connection. On a bind failure nginx would retry for 2.5 s: restart at
            // once on a new port instead.
            let stderr_path = dir.path().join("stderr.log");
            let deadline = Instant::now() + START_TIMEOUT;
            let probe = if hosts.first().is_some_and(|h| h.starts_with('[')) {
                SocketAddr::from((Ipv6Addr::LOCALHOST, port))
            } else {
                SocketAddr::from((Ipv4Addr::LOCALHOST, port))
            };
            loop {
                let exited = child.try_wait().ok().flatten();
                let stderr_text = read_lossy(&stderr_path);
                if exited.is_some() || stderr_text.contains("Address already in use") {
                    stop_child(&mut child);
                    last_err = format!(
                        "nginx exited ({exited:?})\n--- stderr ---\n{stderr_text}\n--- error.log ---\n{}",
                        tail(&read_lossy(&err_path), 20)
                    );
                    break;
                }
                let tls_ready = tls_port.is_none_or(|tp| {
                    owned_sockets(child.id(), tp, Proto::TcpListen) >= 1
                        && TcpStream::connect_timeout(
                            &SocketAddr::from((Ipv4Addr::LOCALHOST, tp)),
                            Duration::from_millis(200),
                        )
                        .is_ok()
                });
                if owned_sockets(child.id(), port, Proto::TcpListen) >= hosts.len()
                    && TcpStream::connect_timeout(&probe, Duration::from_millis(200)).is_ok()
                    && tls_ready
                {
                    return Some(Nginx {
                        port,
                        tls_port,
                        dir,
                        child,
                    });
                }
                if Instant::now() > deadline {
                    stop_child(&mut child);
                    panic!(
                        "nginx did not listen on port {port} within {START_TIMEOUT:?}\n--- stderr ---\n{stderr_text}\n--- error.log ---\n{}",
                        tail(&read_lossy(&err_path), 20)
                    );
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            if !last_err.contains("Address already in use") {
                break;
            }
        }
        panic!("nginx failed to start:\n{last_err}");
    }

    /// A server shaped like wetransfer.com's port 80, plus test fixtures:
    ///
    /// | path | answer |
    /// | --- | --- |
    /// | `/` | `301 Moved Permanently`, `Location: https://wetransfer.com/`, body [`NGINX_301_BODY`] |
    /// | `/hello.txt` | 200 `text/plain`, body [`HELLO_BODY`], with Content-Length |
    /// | `/big` | 200 `application/octet-stream`, [`big_body`]\([`DEFAULT_BIG_LEN`]\) |
    /// | `/chunked` | 200 `text/plain`, `Transfer-Encoding: chunked` (HTTP/1.1), body [`CHUNKED_BODY`] |
    /// | `/gzip.txt` | 200 `text/plain`; gzip-encoded (chunked) if the request has `Accept-Encoding: gzip`; body is [`HELLO_BODY`] x 50 |
    /// | `/notfound` | nginx's 404 page |
    /// | `/redirect-loop` | `302`, `Location: /redirect-loop` |
    /// | `/r/N` (N = 1..=[`R_CHAIN_MAX`]) | `302`, `Location: /r/N-1` (relative) |
    /// | `/r/0` | 200 `text/plain`, body [`R_END_BODY`] |
    /// | anything else | 404 |
    pub fn wetransfer_like() -> Option<Nginx> {
        Nginx::wetransfer_like_with_big(DEFAULT_BIG_LEN)
    }

    /// [`Nginx::wetransfer_like`] with `/big` of exactly `big_len` bytes.
    pub fn wetransfer_like_with_big(big_len: usize) -> Option<Nginx> {
        let mut body = String::new();
        body.push_str("location = / { return 301 https://wetransfer.com/; }\n");
        body.push_str("location = /hello.txt { }\n");
        body.push_str("location = /big { }\n");
        body.push_str(
            "location = /chunked { ssi on; ssi_types text/plain; try_files /chunked.txt =404; }\n",
        );
        body.push_str(
            "location = /gzip.txt { gzip on; gzip_min_length 1; gzip_types text/plain; }\n",
        );
        body.push_str("location = /notfound { return 404; }\n");
        body.push_str("location = /redirect-loop { return 302 /redirect-loop; }\n");
        body.push_str("location = /r/0 { default_type text/plain; return 200 \"");
        body.push_str(&R_END_BODY.replace('\n', "\\n"));
        body.push_str("\"; }\n");
        for n in 1..=R_CHAIN_MAX {
            let _ = writeln!(body, "location = /r/{n} {{ return 302 /r/{}; }}", n - 1);
        }
        body.push_str("location / { return 404; }\n");

        let nginx = Nginx::start(&body)?;
        fs::write(nginx.root().join("hello.txt"), HELLO_BODY).expect("write hello.txt");
        fs::write(nginx.root().join("chunked.txt"), CHUNKED_SOURCE).expect("write chunked.txt");
        fs::write(nginx.root().join("gzip.txt"), HELLO_BODY.repeat(50)).expect("write gzip.txt");
        nginx.set_big(big_len);
        Some(nginx)
    }

    /// Replace `/big` (the file `www/big`) with [`big_body`]\(`len`\).
    pub fn set_big(&self, len: usize) {
        fs::write(self.root().join("big"), big_body(len)).expect("write big");
    }

    /// The document root (`<dir>/www`); files written here are served.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("www")
    }

    /// The temp dir holding nginx.conf, logs and temp paths.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// `http://127.0.0.1:PORT` + `path` (`path` should start with `/`).
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The HTTPS port; panics if this nginx was not made by [`Nginx::start_tls`].
    pub fn https_port(&self) -> u16 {
        self.tls_port
            .expect("this nginx has no TLS server (use Nginx::start_tls)")
    }

    /// `https://HOST:TLSPORT` + `path`, for a name `host` that the client maps to 127.0.0.1
    /// (`--resolve HOST:TLSPORT:127.0.0.1`; see [`Nginx::resolve_flag`]).
    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.https_port())
    }

    /// `HOST:PORT:127.0.0.1`, the value of curl's and wtcurl's `--resolve`.
    pub fn resolve_flag(host: &str, port: u16) -> String {
        format!("{host}:{port}:127.0.0.1")
    }

    pub fn access_log(&self) -> String {
        read_lossy(&self.dir.path().join("access.log"))
    }

    pub fn error_log(&self) -> String {
        read_lossy(&self.dir.path().join("error.log"))
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if std::thread::panicking() {
            eprintln!(
                "--- nginx error.log (port {}) ---\n{}\n--- nginx access.log ---\n{}",
                self.port,
                tail(&self.error_log(), 20),
                tail(&self.access_log(), 20)
            );
        }
    }
}

fn nginx_conf(
    dir: &Path,
    port: u16,
    hosts: &[&str],
    tls: Option<(u16, NginxTls<'_>)>,
    body: &str,
) -> String {
    let d = dir.display();
    let root = dir.join("www");
    let mut body = body
        .replace("@PORT@", &port.to_string())
        .replace("@ROOT@", &root.display().to_string())
        .replace("@DIR@", &d.to_string());
    if let Some((tls_port, _)) = tls {
        body = body.replace("@TLSPORT@", &tls_port.to_string());
    }
    let mut listen = String::new();
    for h in hosts {
        let _ = writeln!(listen, "        listen {h}:{port};");
    }
    let tls_server = match tls {
        None => String::new(),
        Some((tls_port, t)) => format!(
            r#"    server {{
        listen 127.0.0.1:{tls_port} ssl;
        server_name wetransfer.com localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {protocols};
        ssl_session_cache off;
        root {root};
{body}
    }}
"#,
            cert = t.cert.display(),
            key = t.key.display(),
            protocols = t.protocols,
            root = root.display()
        ),
    };
    format!(
        r#"# Generated by tests/common/mod.rs: a single foreground process, every path inside {d}.
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
lock_file {d}/nginx.lock;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/client_body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{
        text/html html htm;
        text/plain txt;
        application/json json;
        text/css css;
        application/javascript js;
        image/png png;
    }}
    default_type application/octet-stream;
    server_tokens off;
    absolute_redirect off;
    server {{
{listen}        server_name wetransfer.com localhost;
        root {root};
{body}
    }}
{tls_server}}}
"#,
        root = root.display()
    )
}

// ---------------------------------------------------------------------------------------------
// dnsmasq
// ---------------------------------------------------------------------------------------------

/// Name the readiness probe asks for; filtered out of [`Dnsmasq::queries`].
pub const DNS_PROBE_NAME: &str = "dnsmasq-readiness-probe.invalid";

/// A throwaway dnsmasq answering on 127.0.0.1:`port` (UDP and TCP) from its command line only,
/// killed on drop. It never forwards: `--no-resolv`, no `--server`, `--conf-file=/dev/null`,
/// `--no-hosts`.
///
/// What it answers (dnsmasq 2.90, checked by tests/infra.rs):
/// - a configured name and type: NOERROR with the records, TTL [`DnsmasqBuilder::ttl`] (300 s
///   by default; dnsmasq's own default for local data would be 0); the AA bit is set;
/// - a configured name, other type (e.g. AAAA for an A-only name): NOERROR with no answers (NODATA);
/// - an unknown name: NXDOMAIN (rcode 3), thanks to `--local=/#/`. Without it (see
///   [`DnsmasqBuilder::refuse_unknown`]) dnsmasq answers REFUSED (rcode 5, logged as
///   "config error is REFUSED (EDE: not ready)") for unknown names *and* for missing types of
///   known names, because it has no upstream to ask.
/// - a name with several records: all of them, order not guaranteed (dnsmasq may rotate).
pub struct Dnsmasq {
    pub port: u16,
    dir: TempDir,
    child: Child,
}

/// Options for [`Dnsmasq`]; start with [`Dnsmasq::builder`].
#[derive(Clone, Debug)]
pub struct DnsmasqBuilder {
    records: Vec<(String, String)>,
    cnames: Vec<(String, String)>,
    refuse_unknown: bool,
    ttl: u32,
    extra_args: Vec<String>,
}

impl Default for DnsmasqBuilder {
    fn default() -> Self {
        DnsmasqBuilder {
            records: Vec::new(),
            cnames: Vec::new(),
            refuse_unknown: false,
            ttl: 300,
            extra_args: Vec::new(),
        }
    }
}

impl DnsmasqBuilder {
    /// One A (IPv4 `ip`) or AAAA (IPv6 `ip`) record; repeat for several addresses.
    pub fn record(mut self, name: &str, ip: &str) -> Self {
        self.records.push((name.to_owned(), ip.to_owned()));
        self
    }

    pub fn records(mut self, records: &[(&str, &str)]) -> Self {
        for (n, ip) in records {
            self.records.push(((*n).to_owned(), (*ip).to_owned()));
        }
        self
    }

    /// `alias` CNAME `target`; dnsmasq only serves it if `target` is one of its own records.
    pub fn cname(mut self, alias: &str, target: &str) -> Self {
        self.cnames.push((alias.to_owned(), target.to_owned()));
        self
    }

    /// Answer REFUSED instead of NXDOMAIN/NODATA for what is not configured (dnsmasq's behaviour
    /// when it has no upstream).
    pub fn refuse_unknown(mut self) -> Self {
        self.refuse_unknown = true;
        self
    }

    /// TTL of every answer (`--local-ttl`), default 300.
    pub fn ttl(mut self, ttl: u32) -> Self {
        self.ttl = ttl;
        self
    }

    /// Any other dnsmasq flag, e.g. `--txt-record=name,text` or `--mx-host=...`.
    pub fn arg(mut self, arg: &str) -> Self {
        self.extra_args.push(arg.to_owned());
        self
    }

    /// Start it. None (after a SKIP line) if dnsmasq is missing and CI is not set; panics if it
    /// does not answer within [`START_TIMEOUT`].
    pub fn start(self) -> Option<Dnsmasq> {
        if !require_tool("dnsmasq") {
            return None;
        }
        let dnsmasq = tool_path("dnsmasq").expect("dnsmasq path");
        let dir = TempDir::new("dnsmasq");
        let log_path = dir.path().join("dnsmasq.log");
        let stderr_path = dir.path().join("stderr.log");

        let mut last_err = String::new();
        for _attempt in 0..5 {
            let port = free_tcp_udp_port();
            let mut cmd = Command::new(&dnsmasq);
            cmd.arg("--keep-in-foreground")
                .arg("--conf-file=/dev/null")
                .arg("--no-resolv")
                .arg("--no-hosts")
                .arg("--no-poll")
                .arg("--listen-address=127.0.0.1")
                .arg("--bind-interfaces")
                .arg(format!("--port={port}"))
                .arg(format!(
                    "--pid-file={}",
                    dir.path().join("dnsmasq.pid").display()
                ))
                .arg("--log-queries")
                .arg(format!("--log-facility={}", log_path.display()))
                .arg(format!("--local-ttl={}", self.ttl));
            if euid() == Some(0) {
                // As root dnsmasq would switch to the `dnsmasq`/`nobody` user and then could not
                // write its log in our temp dir. As non-root it keeps its uid anyway.
                cmd.arg("--user=root");
            }
            if !self.refuse_unknown {
                cmd.arg("--local=/#/");
            }
            for (name, ip) in &self.records {
                cmd.arg(format!("--host-record={name},{ip}"));
            }
            for (alias, target) in &self.cnames {
                cmd.arg(format!("--cname={alias},{target}"));
            }
            cmd.args(&self.extra_args);
            let stderr = fs::File::create(&stderr_path).expect("stderr.log");
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", dnsmasq.display()));

            let server = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    last_err = format!(
                        "dnsmasq exited with {status}\n--- stderr ---\n{}\n--- log ---\n{}",
                        read_lossy(&stderr_path),
                        tail(&read_lossy(&log_path), 20)
                    );
                    break;
                }
                // Our own process must hold the UDP and TCP sockets (another test's server could
                // otherwise answer on a reused port), and answer a query.
                if owned_sockets(child.id(), port, Proto::Udp) >= 1
                    && owned_sockets(child.id(), port, Proto::TcpListen) >= 1
                    && dns_query_timeout(server, DNS_PROBE_NAME, TYPE_A, Duration::from_millis(200))
                        .is_ok()
                {
                    return Some(Dnsmasq { port, dir, child });
                }
                if Instant::now() > deadline {
                    stop_child(&mut child);
                    panic!(
                        "dnsmasq did not answer on 127.0.0.1:{port} within {START_TIMEOUT:?}\n--- stderr ---\n{}\n--- log ---\n{}",
                        read_lossy(&stderr_path),
                        tail(&read_lossy(&log_path), 20)
                    );
                }
            }
            if !last_err.contains("Address already in use") {
                break;
            }
        }
        panic!("dnsmasq failed to start:\n{last_err}");
    }
}

impl Dnsmasq {
    /// Serve `records` as `(name, ip)` pairs: IPv4 -> A, IPv6 -> AAAA; repeat a name for several
    /// addresses. Unknown names get NXDOMAIN.
    pub fn start(records: &[(&str, &str)]) -> Option<Dnsmasq> {
        Dnsmasq::builder().records(records).start()
    }

    /// Like [`Dnsmasq::start`] plus `(alias, target)` CNAMEs (targets must be among `records`).
    pub fn start_with_cnames(records: &[(&str, &str)], cnames: &[(&str, &str)]) -> Option<Dnsmasq> {
        let mut b = Dnsmasq::builder().records(records);
        for (alias, target) in cnames {
            b = b.cname(alias, target);
        }
        b.start()
    }

    pub fn builder() -> DnsmasqBuilder {
        DnsmasqBuilder::default()
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from((Ipv4Addr::LOCALHOST, self.port))
    }

    /// Ask this server (hand-built query over UDP).
    pub fn query(&self, name: &str, qtype: u16) -> io::Result<DnsReply> {
        dns_query(self.addr(), name, qtype)
    }

    /// The whole log (`--log-queries`): lines like
    /// `Nov 23 23:31:53 dnsmasq[6911]: query[A] a.test from 127.0.0.1` then
    /// `... config a.test is 192.0.2.7`.
    pub fn log(&self) -> String {
        read_lossy(&self.dir.path().join("dnsmasq.log"))
    }

    /// The queries received, as `query[TYPE] NAME from IP` (timestamp and pid cut off), without
    /// the readiness probe. dnsmasq writes its log as it goes; see [`Dnsmasq::wait_for_query`].
    pub fn queries(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter_map(|l| l.find("query[").map(|i| l[i..].to_owned()))
            .filter(|l| !l.contains(DNS_PROBE_NAME))
            .collect()
    }

    /// Wait (bounded) until a logged query contains `needle`, e.g. `"query[AAAA] wetransfer.com"`.
    pub fn wait_for_query(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.queries().iter().any(|q| q.contains(needle)) {
                return true;
            }
            if Instant::now() > deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        stop_child(&mut self.child);
        if std::thread::panicking() {
            eprintln!(
                "--- dnsmasq log (port {}) ---\n{}",
                self.port,
                tail(&self.log(), 30)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A tiny DNS client, independent of the crate's own resolver (an oracle for tests)
// ---------------------------------------------------------------------------------------------

pub const TYPE_A: u16 = 1;
pub const TYPE_CNAME: u16 = 5;
pub const TYPE_TXT: u16 = 16;
pub const TYPE_AAAA: u16 = 28;

pub const RCODE_NOERROR: u8 = 0;
pub const RCODE_SERVFAIL: u8 = 2;
pub const RCODE_NXDOMAIN: u8 = 3;
pub const RCODE_REFUSED: u8 = 5;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Other(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsRecord {
    /// Owner name, lowercase as received, without the trailing dot.
    pub name: String,
    pub rtype: u16,
    pub ttl: u32,
    pub data: RData,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DnsReply {
    pub id: u16,
    /// The whole flags word (QR, opcode, AA, TC, RD, RA, rcode).
    pub flags: u16,
    pub rcode: u8,
    /// The answer section only.
    pub answers: Vec<DnsRecord>,
}

impl DnsReply {
    /// Every A/AAAA address in the answer section, in order.
    pub fn addrs(&self) -> Vec<IpAddr> {
        self.answers
            .iter()
            .filter_map(|r| match r.data {
                RData::A(a) => Some(IpAddr::V4(a)),
                RData::Aaaa(a) => Some(IpAddr::V6(a)),
                _ => None,
            })
            .collect()
    }

    pub fn authoritative(&self) -> bool {
        self.flags & 0x0400 != 0
    }
}

/// A standard query with RD set, one question of class IN.
pub fn build_dns_query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(18 + name.len());
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // AN, NS, AR
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        assert!(label.len() < 64, "DNS label too long: {label}");
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.push(0);
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    q
}

fn be16(b: &[u8], at: usize) -> Result<u16, String> {
    b.get(at..at + 2)
        .map(|s| u16::from_be_bytes([s[0], s[1]]))
        .ok_or_else(|| format!("truncated at {at}"))
}

/// Read a (possibly compressed) name at `pos`; returns the name and the position after it.
fn read_name(b: &[u8], mut pos: usize) -> Result<(String, usize), String> {
    let mut labels: Vec<String> = Vec::new();
    let mut end: Option<usize> = None;
    for _ in 0..128 {
        let len = *b.get(pos).ok_or("truncated name")? as usize;
        if len & 0xC0 == 0xC0 {
            let ptr = (be16(b, pos)? & 0x3FFF) as usize;
            end.get_or_insert(pos + 2);
            pos = ptr;
            continue;
        }
        if len == 0 {
            return Ok((labels.join("."), end.unwrap_or(pos + 1)));
        }
        let label = b.get(pos + 1..pos + 1 + len).ok_or("truncated label")?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += 1 + len;
    }
    Err("name compression loop".into())
}

/// Parse a reply: header, skip the questions, decode the answer section.
pub fn parse_dns_reply(b: &[u8]) -> Result<DnsReply, String> {
    let id = be16(b, 0)?;
    let flags = be16(b, 2)?;
    let qd = be16(b, 4)?;
    let an = be16(b, 6)?;
    let mut pos = 12;
    for _ in 0..qd {
        pos = read_name(b, pos)?.1 + 4;
    }
    let mut answers = Vec::new();
    for _ in 0..an {
        let (name, p) = read_name(b, pos)?;
        let rtype = be16(b, p)?;
        let ttl = b
            .get(p + 4..p + 8)
            .map(|t| u32::from_be_bytes([t[0], t[1], t[2], t[3]]))
            .ok_or("truncated ttl")?;
        let rdlen = be16(b, p + 8)? as usize;
        let rd_start = p + 10;
        let rdata = b.get(rd_start..rd_start + rdlen).ok_or("truncated rdata")?;
        let data = match (rtype, rdlen) {
            (TYPE_A, 4) => RData::A(Ipv4Addr::new(rdata[0], rdata[1], rdata[2], rdata[3])),
            (TYPE_AAAA, 16) => {
                let mut o = [0u8; 16];
                o.copy_from_slice(rdata);
                RData::Aaaa(Ipv6Addr::from(o))
            }
            (TYPE_CNAME, _) => RData::Cname(read_name(b, rd_start)?.0),
            _ => RData::Other(rdata.to_vec()),
        };
        answers.push(DnsRecord {
            name,
            rtype,
            ttl,
            data,
        });
        pos = rd_start + rdlen;
    }
    Ok(DnsReply {
        id,
        flags,
        rcode: (flags & 0x000F) as u8,
        answers,
    })
}

/// One UDP query to `server`, 2 s timeout.
pub fn dns_query(server: SocketAddr, name: &str, qtype: u16) -> io::Result<DnsReply> {
    dns_query_timeout(server, name, qtype, Duration::from_secs(2))
}

/// One UDP query to `server`, waiting at most `timeout` for the reply with the matching id.
pub fn dns_query_timeout(
    server: SocketAddr,
    name: &str,
    qtype: u16,
    timeout: Duration,
) -> io::Result<DnsReply> {
    assert!(
        server.ip().is_loopback() || is_documentation_addr(server.ip()),
        "tests may only send DNS to loopback or lab addresses, not {server}"
    );
    let bind: SocketAddr = if server.is_ipv4() {
        (Ipv4Addr::LOCALHOST, 0).into()
    } else {
        (Ipv6Addr::LOCALHOST, 0).into()
    };
    let sock = UdpSocket::bind(bind)?;
    sock.connect(server)?;
    let id = (SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(7)
        & 0xFFFF) as u16;
    sock.send(&build_dns_query(id, name, qtype))?;
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no DNS reply"));
        }
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            // ECONNREFUSED from an ICMP port unreachable: nobody is listening yet.
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                std::thread::sleep(Duration::from_millis(20));
                return Err(e);
            }
            Err(e) => return Err(e),
        };
        match parse_dns_reply(&buf[..n]) {
            Ok(r) if r.id == id => return Ok(r),
            Ok(_) => continue,
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        }
    }
}

/// 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32: the only non-loopback
/// addresses tests may use (inside network namespaces they create).
pub fn is_documentation_addr(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => {
            let o = a.octets();
            matches!(
                (o[0], o[1], o[2]),
                (192, 0, 2) | (198, 51, 100) | (203, 0, 113)
            )
        }
        IpAddr::V6(a) => {
            let s = a.segments();
            s[0] == 0x2001 && s[1] == 0x0db8
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP/1.1 over a std TcpStream (an oracle for tests)
// ---------------------------------------------------------------------------------------------

/// A raw HTTP response: status line, headers (names lowercased), raw body bytes (still chunked
/// if the server chunked it; see [`dechunk`]).
#[derive(Clone, Debug)]
pub struct RawResponse {
    pub status_line: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    /// First header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Send `request` verbatim to `addr` and read until the server closes (send `Connection: close`).
pub fn raw_http(addr: impl ToSocketAddrs, request: &[u8]) -> io::Result<RawResponse> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(request)?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_raw_response(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// `GET path HTTP/1.1` with `Host: host` and `Connection: close`.
pub fn http_get(addr: impl ToSocketAddrs, host: &str, path: &str) -> io::Result<RawResponse> {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: wtcurl-tests\r\nConnection: close\r\n\r\n"
    );
    raw_http(addr, req.as_bytes())
}

pub fn parse_raw_response(buf: &[u8]) -> Result<RawResponse, String> {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = std::str::from_utf8(&buf[..end]).map_err(|e| e.to_string())?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_owned();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(RawResponse {
        status_line,
        status,
        headers,
        body: buf[end + 4..].to_vec(),
    })
}

/// Decode a `Transfer-Encoding: chunked` body (no trailers expected). Returns the data and the
/// size of each chunk.
pub fn dechunk(mut b: &[u8]) -> Result<(Vec<u8>, Vec<usize>), String> {
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    loop {
        let eol = b
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("no chunk-size line")?;
        let line = std::str::from_utf8(&b[..eol]).map_err(|e| e.to_string())?;
        let hex = line.split(';').next().unwrap_or_default().trim();
        let size =
            usize::from_str_radix(hex, 16).map_err(|e| format!("chunk size {hex:?}: {e}"))?;
        b = &b[eol + 2..];
        if size == 0 {
            return Ok((out, sizes));
        }
        let data = b.get(..size).ok_or("truncated chunk")?;
        out.extend_from_slice(data);
        sizes.push(size);
        if b.get(size..size + 2) != Some(b"\r\n") {
            return Err("chunk not followed by CRLF".into());
        }
        b = &b[size + 2..];
    }
}

// ---------------------------------------------------------------------------------------------
// A test PKI made with the openssl CLI, and bounded runs of other programs
// ---------------------------------------------------------------------------------------------

/// Run `cmd` to completion with stdin closed, capturing stdout and stderr, but for at most
/// `limit`: past it the child is killed and this panics (with what it had written so far).
pub fn output_within(cmd: &mut Command, limit: Duration) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut out_pipe = child.stdout.take().expect("stdout pipe");
    let mut err_pipe = child.stderr.take().expect("stderr pipe");
    let out_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out_pipe.read_to_end(&mut b);
        b
    });
    let err_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err_pipe.read_to_end(&mut b);
        b
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stdout = out_thread.join().unwrap_or_default();
    let stderr = err_thread.join().unwrap_or_default();
    match status {
        Some(status) => std::process::Output {
            status,
            stdout,
            stderr,
        },
        None => panic!(
            "{cmd:?} did not finish within {limit:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            String::from_utf8_lossy(&stdout),
            String::from_utf8_lossy(&stderr)
        ),
    }
}

/// A CA and a server certificate signed by it, made with the openssl CLI in a temp dir (removed on
/// drop): the CA is EC P-256 with `CA:TRUE` and `keyCertSign`; the leaf is EC P-256, `CN` = the
/// first name, `subjectAltName` = every name (`DNS:`, or `IP:` for an address),
/// `extendedKeyUsage=serverAuth`, `CA:FALSE`; both valid from now for 30 days.
pub struct TestPki {
    dir: TempDir,
    /// The CA certificate (PEM): what `--cacert` takes.
    pub ca: PathBuf,
    /// The server certificate (PEM), leaf only (the CA is the trust anchor, not sent).
    pub cert: PathBuf,
    /// The server's private key (PEM, PKCS#8).
    pub key: PathBuf,
}

impl TestPki {
    /// None (after a SKIP line) if openssl is missing and CI is not set; panics with openssl's
    /// output if a step fails.
    pub fn new(names: &[&str]) -> Option<TestPki> {
        if !require_tool("openssl") {
            return None;
        }
        assert!(!names.is_empty(), "TestPki::new needs at least one name");
        let openssl = tool_path("openssl").expect("openssl path");
        let dir = TempDir::new("pki");
        let d = dir.path();
        let run = |args: &[&str]| {
            let out = output_within(
                Command::new(&openssl).args(args).current_dir(d),
                Duration::from_secs(30),
            );
            assert!(
                out.status.success(),
                "openssl {args:?} failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "30",
            "-subj",
            "/O=wtcurl tests/CN=wtcurl nginx test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        let sans: Vec<String> = names
            .iter()
            .map(|n| {
                if n.parse::<IpAddr>().is_ok() {
                    format!("IP:{n}")
                } else {
                    format!("DNS:{n}")
                }
            })
            .collect();
        fs::write(
            d.join("leaf.ext"),
            format!(
                "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                 extendedKeyUsage=serverAuth\nsubjectAltName={}\n\
                 subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n",
                sans.join(",")
            ),
        )
        .expect("write leaf.ext");
        run(&[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            &format!("/CN={}", names[0]),
        ]);
        let serial = format!(
            "0x{:x}",
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|t| t.as_nanos())
                .unwrap_or(1)
        );
        run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            &serial,
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
            "-out",
            "leaf.pem",
        ]);
        Some(TestPki {
            ca: d.join("ca.pem"),
            cert: d.join("leaf.pem"),
            key: d.join("leaf.key"),
            dir,
        })
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

// ---------------------------------------------------------------------------------------------
// The binary under test
// ---------------------------------------------------------------------------------------------

/// Environment variables that would send wtcurl (or curl) to a proxy instead of loopback.
pub const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// `wtcurl` (the cargo-built binary) with `NO_COLOR=1`, no proxy or forced-colour variables,
/// and a 60 s timeout (override with `.timeout(...)`).
pub fn wtcurl() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_wtcurl"));
    cmd.env("NO_COLOR", "1");
    for v in PROXY_VARS.iter().chain(&["CLICOLOR_FORCE", "FORCE_COLOR"]) {
        cmd.env_remove(v);
    }
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// The same as [`wtcurl`] as a plain `std::process::Command` (for spawning / streaming).
pub fn wtcurl_std() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wtcurl"));
    cmd.env("NO_COLOR", "1");
    for v in PROXY_VARS.iter().chain(&["CLICOLOR_FORCE", "FORCE_COLOR"]) {
        cmd.env_remove(v);
    }
    cmd
}
