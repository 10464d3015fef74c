//! HTTP/1.1 edge cases against in-process raw-bytes servers on 127.0.0.1.
//!
//! Every test starts its own scripted server (a `TcpListener` on 127.0.0.1:0 in a thread): it
//! reads each request (head, then a Content-Length body if any), records the bytes, and answers
//! with scripted writes (split into several segments with small sleeps where it matters), then
//! closes, holds the connection open until the client closes, or resets it (SO_LINGER 0). The
//! real `wtcurl` binary is run against it and its exit code, exact stdout bytes and stderr are
//! checked against what curl does. Loopback only: every URL is an IP literal.
//!
//! Expected values were checked against curl 7.88.1 with the same scripted bytes. Where wtcurl
//! differs from curl the test asserts curl's behaviour and is ``; run them
//! with `cargo test --test http_edge -- --ignored`.

use assert_cmd::Command;
use serde_json::Value;
use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The scripted server
// ---------------------------------------------------------------------------------------------

/// How long the accept loop runs at most, whatever happens.
const SERVER_LIFETIME: Duration = Duration::from_secs(30);
/// How long a held connection waits for the client to close.
const HOLD_MAX: Duration = Duration::from_secs(10);
/// Largest request the server reads.
const MAX_REQUEST: usize = 64 * 1024;

/// What the server does once its scripted bytes are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum End {
    /// close(): FIN.
    Close,
    /// Keep the connection open until the client closes it (or [`HOLD_MAX`]).
    Hold,
    /// SO_LINGER 0 then close(): the kernel sends RST.
    Reset,
}

#[derive(Clone, Debug)]
enum Step {
    Write(Vec<u8>),
    Sleep(Duration),
}

/// One scripted answer.
#[derive(Clone, Debug)]
struct Reply {
    steps: Vec<Step>,
    end: End,
}

impl Reply {
    /// All of `bytes` in one write, then `end`.
    fn once(bytes: impl AsRef<[u8]>, end: End) -> Reply {
        Reply {
            steps: vec![Step::Write(bytes.as_ref().to_vec())],
            end,
        }
    }

    /// Each piece in its own write, with `gap` between writes (TCP_NODELAY is on, so each write
    /// leaves as its own segment), then `end`.
    fn pieces<I, B>(pieces: I, gap: Duration, end: End) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        let mut steps = Vec::new();
        for (i, p) in pieces.into_iter().enumerate() {
            if i > 0 {
                steps.push(Step::Sleep(gap));
            }
            steps.push(Step::Write(p.as_ref().to_vec()));
        }
        Reply { steps, end }
    }

    /// `bytes` cut into writes of `size` bytes.
    fn split(bytes: &[u8], size: usize, gap: Duration, end: End) -> Reply {
        Reply::pieces(bytes.chunks(size), gap, end)
    }
}

type Handler = Box<dyn FnMut(usize, &[u8]) -> Reply + Send>;

/// A raw HTTP server on 127.0.0.1: one connection at a time (wtcurl makes one per hop), every
/// request recorded.
struct Server {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<Vec<Vec<u8>>>>,
}

impl Server {
    /// `handler(n, request_bytes)` scripts the answer to the n-th connection (0-based).
    fn start(handler: impl FnMut(usize, &[u8]) -> Reply + Send + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local_addr");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let mut handler: Handler = Box::new(handler);
        let handle = thread::spawn(move || {
            let started = Instant::now();
            let mut requests = Vec::new();
            while started.elapsed() < SERVER_LIFETIME {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let n = requests.len();
                        let req = serve(stream, n, &mut handler);
                        requests.push(req);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        // Pending connections are always taken before stopping.
                        if stop2.load(Ordering::SeqCst) {
                            break;
                        }
                        thread::sleep(Duration::from_millis(2));
                    }
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(e) => panic!("accept: {e}"),
                }
            }
            requests
        });
        Server {
            addr,
            stop,
            handle: Some(handle),
        }
    }

    /// A server that answers every connection the same way.
    fn always(reply: Reply) -> Server {
        Server::start(move |_, _| reply.clone())
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Stops the server (after the connections already made) and returns every request it read.
    fn requests(mut self) -> Vec<Vec<u8>> {
        self.stop.store(true, Ordering::SeqCst);
        self.handle
            .take()
            .expect("server thread")
            .join()
            .expect("the server thread panicked")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The Content-Length of a request head, if it has one.
fn request_content_length(head: &[u8]) -> usize {
    String::from_utf8_lossy(head)
        .split("\r\n")
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Reads one request (head, then a Content-Length body), bounded in size and time.
fn read_request(s: &mut TcpStream) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut want: Option<usize> = None;
    while Instant::now() < deadline && buf.len() < MAX_REQUEST {
        if want.is_none()
            && let Some(end) = find(&buf, b"\r\n\r\n")
        {
            want = Some(end + 4 + request_content_length(&buf[..end + 4]));
        }
        if want.is_some_and(|w| buf.len() >= w) {
            break;
        }
        match s.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    buf
}

fn set_linger_zero(s: &TcpStream) {
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket fd and a correctly sized linger struct.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&l as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(
        rc,
        0,
        "setsockopt(SO_LINGER): {}",
        std::io::Error::last_os_error()
    );
}

fn serve(mut s: TcpStream, n: usize, handler: &mut Handler) -> Vec<u8> {
    let _ = s.set_nonblocking(false);
    let _ = s.set_nodelay(true);
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
    let req = read_request(&mut s);
    let reply = handler(n, &req);
    for step in &reply.steps {
        match step {
            Step::Write(b) => {
                if s.write_all(b).is_err() {
                    break;
                }
            }
            Step::Sleep(d) => thread::sleep(*d),
        }
    }
    match reply.end {
        End::Close => {}
        End::Hold => {
            let until = Instant::now() + HOLD_MAX;
            let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
            let mut sink = [0u8; 4096];
            while Instant::now() < until {
                match s.read(&mut sink) {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => break,
                }
            }
        }
        End::Reset => set_linger_zero(&s),
    }
    drop(s);
    req
}

// ---------------------------------------------------------------------------------------------
// Requests as the server saw them
// ---------------------------------------------------------------------------------------------

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The head of a recorded request, through the blank line.
fn req_head(r: &[u8]) -> String {
    let end = find(r, b"\r\n\r\n").map_or(r.len(), |i| i + 4);
    text(&r[..end])
}

fn req_body(r: &[u8]) -> Vec<u8> {
    find(r, b"\r\n\r\n").map_or_else(Vec::new, |i| r[i + 4..].to_vec())
}

fn req_line(r: &[u8]) -> String {
    req_head(r)
        .split("\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

fn req_path(r: &[u8]) -> String {
    req_line(r)
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string()
}

/// Every value of a request header (name case-insensitive).
fn req_header(r: &[u8], name: &str) -> Vec<String> {
    req_head(r)
        .split("\r\n")
        .skip(1)
        .filter_map(|l| l.split_once(':'))
        .filter(|(n, _)| n.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Running wtcurl
// ---------------------------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    elapsed: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code,
            self.elapsed,
            String::from_utf8_lossy(&self.stdout),
            self.stderr
        )
    }
}

const PROXY_VARS: &[&str] = &[
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "CLICOLOR_FORCE",
    "FORCE_COLOR",
];

fn wtcurl(args: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("wtcurl").expect("the wtcurl binary");
    cmd.env("NO_COLOR", "1");
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    cmd.args(args).timeout(Duration::from_secs(20));
    let started = Instant::now();
    let out = cmd.output().expect("run wtcurl");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some(code) = out.status.code() else {
        panic!(
            "wtcurl {args:?} was killed ({:?}) after {elapsed:?}: a hang?\n--- stderr ---\n{stderr}",
            out.status
        );
    };
    Run {
        code,
        stdout: out.stdout,
        stderr,
        elapsed,
    }
}

/// curl's path when it is installed (the tests then run it too and compare).
fn curl_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("curl"))
        .find(|p| p.is_file())
}

/// Runs curl with `args` (no config file, no proxy), or None when curl is not installed.
fn curl(args: &[&str]) -> Option<Run> {
    let mut cmd = std::process::Command::new(curl_path()?);
    for v in PROXY_VARS {
        cmd.env_remove(v);
    }
    let started = Instant::now();
    let out = cmd.arg("-q").args(args).output().expect("run curl");
    Some(Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: started.elapsed(),
    })
}

/// Asserts the exit code, the exact stdout bytes, and that stderr contains each of `words`.
#[track_caller]
fn check(r: &Run, code: i32, stdout: &[u8], words: &[&str]) {
    assert_eq!(r.code, code, "exit code\n{r:?}");
    assert!(
        r.stdout == stdout,
        "stdout bytes differ\n expected: {:?}\n   actual: {:?}\n{r:?}",
        String::from_utf8_lossy(stdout),
        String::from_utf8_lossy(&r.stdout)
    );
    for w in words {
        assert!(r.stderr.contains(w), "stderr lacks {w:?}\n{r:?}");
    }
}

/// The curl-like error line wtcurl prints for exit code `code`.
fn err_line(code: i32) -> String {
    format!("wtcurl: ({code}) ")
}

static TEMP_COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh temp directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = std::env::temp_dir().join(format!("wtcurl-http-edge-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

/// The `--trace-json` file, one event per line.
fn trace_events(p: &Path) -> Vec<Value> {
    let t = std::fs::read_to_string(p).expect("read the trace file");
    t.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

fn events<'a>(evs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    evs.iter().filter(|e| e["type"] == kind).collect()
}

/// A deterministic body with every byte value in it.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// ---------------------------------------------------------------------------------------------
// Body framing
// ---------------------------------------------------------------------------------------------

#[test]
fn content_length_body_split_across_many_writes_is_exact() {
    let body = pattern(3000);
    let mut wire = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3000\r\n\r\n".to_vec();
    wire.extend_from_slice(&body);
    // The head itself is cut in the middle of a line; the body arrives in 100-byte segments.
    // Hold: the end of the body is the Content-Length, never the server's close.
    let srv = Server::always(Reply::split(&wire, 100, ms(2), End::Hold));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["--trace-json", path_str(&trace), &srv.url("/cl")]);
    check(&r, 0, &body, &[]);
    assert!(r.stderr.is_empty(), "{r:?}");
    assert!(
        r.elapsed < Duration::from_secs(5),
        "waited for a close? {r:?}"
    );
    let evs = trace_events(&trace);
    let head = events(&evs, "response_head");
    assert_eq!(head.len(), 1);
    assert_eq!(head[0]["framing"], "content-length");
    assert_eq!(head[0]["content_length"], 3000);
    let done = events(&evs, "body_done");
    assert_eq!(done[0]["body_bytes"], 3000);
    assert_eq!(events(&evs, "done")[0]["exit_code"], 0);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(req_line(&reqs[0]), "GET /cl HTTP/1.1");
}

const CHUNKED_HEAD: &str =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum, X-Other\r\n\r\n";
const CHUNKED_BODY_WIRE: &str = "5;name=value\r\nhello\r\n7;x\r\n, world\r\n1A;a=\"q;r\"\r\nabcdefghijklmnopqrstuvwxyz\r\n0;last\r\nX-Checksum: abc123\r\nX-Other: v\r\n\r\n";
const CHUNKED_DECODED: &[u8] = b"hello, worldabcdefghijklmnopqrstuvwxyz";

/// The chunked response cut at awkward places: inside a size line, inside chunk data, between
/// CR and LF, inside a trailer.
fn chunked_pieces() -> Vec<Vec<u8>> {
    let wire = format!("{CHUNKED_HEAD}{CHUNKED_BODY_WIRE}").into_bytes();
    let h = CHUNKED_HEAD.len();
    let cuts = [
        h - 3,
        h + 2,
        h + 9,
        h + 16,
        h + 20,
        h + 33,
        h + 60,
        h + 75,
        h + 90,
    ];
    let mut out = Vec::new();
    let mut prev = 0;
    for c in cuts {
        out.push(wire[prev..c].to_vec());
        prev = c;
    }
    out.push(wire[prev..].to_vec());
    out
}

#[test]
fn chunked_with_extensions_and_trailers_is_decoded() {
    let srv = Server::always(Reply::pieces(chunked_pieces(), ms(5), End::Hold));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&[
        "--explain",
        "--trace-json",
        path_str(&trace),
        &srv.url("/chunked"),
    ]);
    check(
        &r,
        0,
        CHUNKED_DECODED,
        &[
            "3 chunks",
            "trailer X-Checksum: abc123",
            "trailer X-Other: v",
        ],
    );
    assert!(
        r.elapsed < Duration::from_secs(5),
        "waited for a close? {r:?}"
    );
    let evs = trace_events(&trace);
    assert_eq!(events(&evs, "response_head")[0]["framing"], "chunked");
    let done = events(&evs, "body_done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["chunks"], 3);
    assert_eq!(done[0]["body_bytes"], CHUNKED_DECODED.len());
    assert_eq!(
        done[0]["trailers"],
        serde_json::json!([["X-Checksum", "abc123"], ["X-Other", "v"]])
    );
}

#[test]

fn chunked_trailers_are_written_with_include_like_curl() {
    let srv = Server::always(Reply::pieces(chunked_pieces(), ms(5), End::Hold));
    let r = wtcurl(&["-i", &srv.url("/chunked")]);
    // curl 7.88.1: head, decoded body, then each trailer line as received (no blank line after).
    let mut want = CHUNKED_HEAD.as_bytes().to_vec();
    want.extend_from_slice(CHUNKED_DECODED);
    want.extend_from_slice(b"X-Checksum: abc123\r\nX-Other: v\r\n");
    check(&r, 0, &want, &[]);
}

#[test]
fn close_delimited_http10_body_is_read_until_the_server_closes() {
    let body = pattern(2500);
    let mut pieces = vec![b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n".to_vec()];
    pieces.extend(body.chunks(700).map(<[u8]>::to_vec));
    let srv = Server::always(Reply::pieces(pieces, ms(10), End::Close));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["--trace-json", path_str(&trace), &srv.url("/old")]);
    check(&r, 0, &body, &[]);
    let evs = trace_events(&trace);
    let head = events(&evs, "response_head");
    assert_eq!(head[0]["version"], "HTTP/1.0");
    assert_eq!(head[0]["framing"], "close");
    assert_eq!(events(&evs, "body_done")[0]["body_bytes"], 2500);
    assert_eq!(events(&evs, "closed")[0]["first_fin"], "server");
}

const INTERIM: &str = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\nLink: </app.js>; rel=preload\r\n\r\n";
const FINAL_200: &str =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nfinal body\r\n";

#[test]
fn interim_100_and_103_are_skipped_before_the_final_response() {
    let pieces = [INTERIM.as_bytes(), FINAL_200.as_bytes()];
    let srv = Server::always(Reply::pieces(pieces, ms(30), End::Hold));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["--trace-json", path_str(&trace), &srv.url("/hints")]);
    check(&r, 0, b"final body\r\n", &[]);
    let evs = trace_events(&trace);
    let interim: Vec<_> = events(&evs, "interim")
        .iter()
        .map(|e| e["status"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(interim, vec![100, 103]);
    let head = events(&evs, "response_head");
    assert_eq!(head.len(), 1);
    assert_eq!(head[0]["status"], 200);
}

#[test]
fn interim_heads_are_included_with_i_as_curl_does() {
    // All in one segment this time: the parser must find three heads in one buffer.
    let srv = Server::always(Reply::once(format!("{INTERIM}{FINAL_200}"), End::Hold));
    let r = wtcurl(&["-i", &srv.url("/hints")]);
    check(&r, 0, format!("{INTERIM}{FINAL_200}").as_bytes(), &[]);
}

#[test]

fn interim_only_then_close_is_an_empty_reply() {
    let srv = Server::always(Reply::once("HTTP/1.1 100 Continue\r\n\r\n", End::Close));
    let r = wtcurl(&[&srv.url("/")]);
    check(&r, 52, b"", &[&err_line(52), "Empty reply from server"]);
}

// ---------------------------------------------------------------------------------------------
// Responses without a body
// ---------------------------------------------------------------------------------------------

#[test]
fn head_request_reads_no_body_and_prints_the_head() {
    let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n";
    // Hold: had wtcurl waited for 5000 body bytes, it would hang until the server gives up.
    let srv = Server::always(Reply::once(head, End::Hold));
    let r = wtcurl(&["-I", &srv.url("/page")]);
    check(&r, 0, head.as_bytes(), &[]);
    assert!(r.elapsed < Duration::from_secs(5), "{r:?}");
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(req_line(&reqs[0]), "HEAD /page HTTP/1.1");
    assert!(req_body(&reqs[0]).is_empty());
}

#[test]
fn no_body_statuses_204_and_304_do_not_wait_for_one() {
    for (status, head) in [
        (204, "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n"),
        // 304 may announce the length of the stored representation; there is still no body.
        (
            304,
            "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 10\r\n\r\n",
        ),
    ] {
        let srv = Server::always(Reply::once(head, End::Hold));
        let dir = TempDir::new();
        let trace = dir.join("t.json");
        let r = wtcurl(&[
            "--trace-json",
            path_str(&trace),
            "-w",
            "%{http_code}",
            &srv.url("/x"),
        ]);
        check(&r, 0, status.to_string().as_bytes(), &[]);
        assert!(r.elapsed < Duration::from_secs(5), "{status}: {r:?}");
        let evs = trace_events(&trace);
        assert_eq!(events(&evs, "response_head")[0]["framing"], "none");
        assert_eq!(events(&evs, "body_done")[0]["body_bytes"], 0);

        // With -i the output is exactly the head.
        let srv = Server::always(Reply::once(head, End::Hold));
        let r = wtcurl(&["-i", &srv.url("/x")]);
        check(&r, 0, head.as_bytes(), &[]);
    }
}

// ---------------------------------------------------------------------------------------------
// Truncated and broken responses
// ---------------------------------------------------------------------------------------------

#[test]
fn content_length_short_then_close_is_partial_file_18() {
    let srv = Server::always(Reply::pieces(
        ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "abc"],
        ms(20),
        End::Close,
    ));
    let r = wtcurl(&[&srv.url("/short")]);
    // curl writes what arrived, then fails.
    check(
        &r,
        18,
        b"abc",
        &[
            &err_line(18),
            "transfer closed with 7 bytes remaining to read",
        ],
    );
}

#[test]
fn chunked_cut_midway_is_partial_file_18() {
    let srv = Server::always(Reply::pieces(
        [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
            "8\r\nabc",
        ],
        ms(20),
        End::Close,
    ));
    let r = wtcurl(&[&srv.url("/cut")]);
    check(
        &r,
        18,
        b"helloabc",
        &[
            &err_line(18),
            "transfer closed with outstanding read data remaining",
        ],
    );
}

#[test]
fn empty_reply_is_52() {
    // Read the request, close without a byte.
    let srv = Server::always(Reply::once("", End::Close));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["--trace-json", path_str(&trace), &srv.url("/")]);
    check(&r, 52, b"", &[&err_line(52), "Empty reply from server"]);
    let evs = trace_events(&trace);
    let err = events(&evs, "error");
    assert_eq!(err.len(), 1);
    assert_eq!(err[0]["label"], "got_nothing");
    assert_eq!(err[0]["exit_code"], 52);
    assert_eq!(srv.requests().len(), 1);
}

#[test]

fn non_http_first_line_is_http09_not_allowed_exit_1() {
    let srv = Server::always(Reply::once("SSH-2.0-OpenSSH_9.0\r\n", End::Hold));
    let r = wtcurl(&[&srv.url("/")]);
    check(
        &r,
        1,
        b"",
        &[&err_line(1), "Received HTTP/0.9 when not allowed"],
    );
}

#[test]
fn non_http_first_line_is_refused_without_waiting_and_explained() {
    // The passing half of the case above: the message, the hint, no output, and no wait for the
    // line to end (the SSH server would wait for our banner forever).
    let srv = Server::always(Reply::once("SSH-2.0-OpenSSH_9.0", End::Hold));
    let r = wtcurl(&["--explain", &srv.url("/")]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.contains("Received HTTP/0.9 when not allowed"),
        "{r:?}"
    );
    assert!(r.stderr.contains("SSH"), "{r:?}");
    assert!(r.elapsed < Duration::from_secs(5), "{r:?}");
}

/// curl 7.88.1 against these status lines (`curl -sS URL`): exit 1 with
/// "Unsupported HTTP version in response", "Unsupported HTTP version (1.2) in response" or
/// "Unsupported response code in HTTP response"; the accepted ones exit 0.
#[test]
fn bad_status_lines_exit_1_with_curls_messages() {
    let cases: &[(&str, i32, &str)] = &[
        ("HTTP/1.1 abc OK", 1, "Unsupported HTTP version in response"),
        ("HTTP/1.1 \t200 OK", 0, ""),
        (
            "HTTP/1.1\t200 OK",
            1,
            "Unsupported HTTP version in response",
        ),
        (
            "HTTP/1.2 200 OK",
            1,
            "Unsupported HTTP version (1.2) in response",
        ),
        (
            "HTTP/0.9 200 OK",
            1,
            "Unsupported HTTP version (0.9) in response",
        ),
        (
            "HTTP/3 200",
            1,
            "Unsupported HTTP version (3.0) in response",
        ),
        (
            "HTTP/1.1 20 OK",
            1,
            "Unsupported response code in HTTP response",
        ),
        (
            "HTTP/1.1 099 OK",
            1,
            "Unsupported response code in HTTP response",
        ),
        (
            "HTTP/1.1 2000 OK",
            1,
            "Unsupported response code in HTTP response",
        ),
        (
            "HTTP/1.1200 OK",
            1,
            "Unsupported response code in HTTP response",
        ),
        ("HTTP/1.1  200 OK", 0, ""),
        ("HTTP/1.1 600 Odd", 0, ""),
    ];
    for &(line, code, msg) in cases {
        let reply = format!("{line}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        let srv = Server::always(Reply::once(&reply, End::Close));
        let r = wtcurl(&["-sS", &srv.url("/")]);
        let out: &[u8] = if code == 0 { b"ok" } else { b"" };
        check(&r, code, out, &[msg]);
        if code != 0 {
            assert!(r.stderr.contains(&err_line(code)), "{line:?}: {r:?}");
            assert!(r.stderr.contains("hint:"), "{line:?}: {r:?}");
        }
        if let Some(c) = curl(&["-sS", &srv.url("/")]) {
            assert_eq!(c.code, code, "curl, {line:?}: {c:?}");
            assert!(c.stderr.contains(msg), "curl, {line:?}: {c:?}");
            assert_eq!(c.stdout, out, "curl, {line:?}");
        }
    }
}

/// An HTTP/2 status line on an HTTP/1.1 connection: curl 7.88.1 takes it (exit 0, prints the
/// body); wtcurl refuses it with exit 8, as newer curl does (README: differences from curl).
#[test]
fn http2_status_line_on_http1_is_8_a_documented_difference() {
    let srv = Server::always(Reply::once(
        "HTTP/2 200\r\nContent-Length: 2\r\n\r\nok",
        End::Close,
    ));
    let r = wtcurl(&["-sS", &srv.url("/")]);
    check(&r, 8, b"", &["Version mismatch (from HTTP/1 to HTTP/2)"]);
    if let Some(c) = curl(&["-sS", &srv.url("/")]) {
        assert_eq!((c.code, &c.stdout[..]), (0, &b"ok"[..]), "curl: {c:?}");
    }
}

/// A head line of 100 KiB: curl 7.88.1 `curl -sS URL` → exit 27 "Out of memory" from 102,400
/// bytes (CRLF included) on, 102,399 pass. A head over 300 KiB in smaller lines → exit 56
/// "Too large response headers: 350066 > 307200".
#[test]
fn giant_header_lines_are_27_and_giant_heads_56_as_in_curl() {
    let line = |n: usize| {
        let mut b = b"HTTP/1.1 200 OK\r\nX-Big: ".to_vec();
        b.extend(std::iter::repeat_n(b'a', n - 9));
        b.extend_from_slice(b"\r\nContent-Length: 2\r\n\r\nok");
        b
    };
    let big_head = {
        let mut b = b"HTTP/1.1 200 OK\r\n".to_vec();
        for i in 0..8 {
            b.extend_from_slice(format!("X-{i}: ").as_bytes());
            b.extend(std::iter::repeat_n(b'a', 50_000));
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"Content-Length: 2\r\n\r\nok");
        b
    };
    let cases: Vec<(Vec<u8>, i32, &str, &str)> = vec![
        (line(102_399), 0, "", ""),
        (
            line(102_400),
            27,
            "Rejected a response head line",
            "Out of memory",
        ),
        (
            line(200 * 1024),
            27,
            "Rejected a response head line",
            "Out of memory",
        ),
        (
            big_head,
            56,
            "Too large response headers: 350066 > 307200",
            "Too large response headers: 350066 > 307200",
        ),
    ];
    for (reply, code, ours, theirs) in cases {
        let srv = Server::always(Reply::once(&reply, End::Close));
        let r = wtcurl(&["-sS", &srv.url("/")]);
        let out: &[u8] = if code == 0 { b"ok" } else { b"" };
        check(&r, code, out, &[ours]);
        if let Some(c) = curl(&["-sS", &srv.url("/")]) {
            assert_eq!(c.code, code, "curl: {c:?}");
            assert!(c.stderr.contains(theirs), "curl: {c:?}");
        }
    }
}

#[test]
fn header_line_without_colon_is_8() {
    let srv = Server::always(Reply::once(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nThis line has no colon\r\n\r\nok",
        End::Close,
    ));
    let r = wtcurl(&[&srv.url("/")]);
    check(&r, 8, b"", &[&err_line(8), "Header without colon"]);
}

#[test]
fn conflicting_content_length_is_8() {
    let srv = Server::always(Reply::once(
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok!",
        End::Close,
    ));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["--trace-json", path_str(&trace), &srv.url("/")]);
    check(&r, 8, b"", &[&err_line(8), "Invalid Content-Length"]);
    assert_eq!(
        events(&trace_events(&trace), "error")[0]["label"],
        "weird_server_reply"
    );
    // curl 7.88.1 takes the last value (exit 0, body "ok!"); RFC 9112 section 6.3 tells a user
    // agent to discard such a response, so wtcurl keeps refusing it (README: differences).
    if let Some(c) = curl(&["-sS", &srv.url("/")]) {
        assert_eq!((c.code, &c.stdout[..]), (0, &b"ok!"[..]), "curl: {c:?}");
    }
}

#[test]
fn bad_chunk_size_is_56() {
    let srv = Server::always(Reply::pieces(
        [
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            "zz\r\nhello\r\n0\r\n\r\n",
        ],
        ms(10),
        End::Hold,
    ));
    let r = wtcurl(&[&srv.url("/")]);
    check(
        &r,
        56,
        b"",
        &[
            &err_line(56),
            "Illegal or missing hexadecimal sequence in chunked-encoding",
        ],
    );
    assert!(r.elapsed < Duration::from_secs(5), "{r:?}");
}

#[test]
fn connection_reset_after_part_of_the_head_is_56() {
    // The head stops mid-line, then SO_LINGER 0 + close makes the kernel send RST.
    let srv = Server::always(Reply {
        steps: vec![
            Step::Write(b"HTTP/1.1 200 OK\r\nContent-Le".to_vec()),
            Step::Sleep(ms(100)),
        ],
        end: End::Reset,
    });
    let r = wtcurl(&["--explain", &srv.url("/")]);
    check(
        &r,
        56,
        b"",
        &[&err_line(56), "Recv failure", "Connection reset by peer"],
    );
    assert!(r.stderr.contains("ECONNRESET"), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// -f
// ---------------------------------------------------------------------------------------------

const NOT_FOUND: &str =
    "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nnot here\r\n";

#[test]
fn fail_on_404_is_22_with_no_body() {
    let srv = Server::always(Reply::once(NOT_FOUND, End::Close));
    let r = wtcurl(&["-f", &srv.url("/missing")]);
    check(
        &r,
        22,
        b"",
        &[&err_line(22), "The requested URL returned error: 404"],
    );
    // -s hides the message, -sS shows it again.
    let srv = Server::always(Reply::once(NOT_FOUND, End::Close));
    let r = wtcurl(&["-sf", &srv.url("/missing")]);
    check(&r, 22, b"", &[]);
    assert!(r.stderr.is_empty(), "{r:?}");
    let srv = Server::always(Reply::once(NOT_FOUND, End::Close));
    let r = wtcurl(&["-sSf", &srv.url("/missing")]);
    check(&r, 22, b"", &["The requested URL returned error: 404"]);
}

#[test]
fn without_fail_404_prints_the_body_and_exits_0() {
    let srv = Server::always(Reply::once(NOT_FOUND, End::Close));
    let r = wtcurl(&["-w", "%{http_code}\\n", &srv.url("/missing")]);
    check(&r, 0, b"not here\r\n404\n", &[]);
    assert!(r.stderr.is_empty(), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------------------------

fn redirect(status: u16, location: &str) -> Reply {
    let body = format!("moved to {location}\n");
    Reply::once(
        format!(
            "HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        End::Close,
    )
}

fn ok_body(body: &str) -> Reply {
    Reply::once(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
        End::Close,
    )
}

/// /start -> /dir/one (absolute path) -> /dir/two (relative "two") -> /dir/end ("./end") -> 200.
fn chain_server() -> Server {
    Server::start(|_, req| match req_path(req).as_str() {
        "/start" => redirect(302, "/dir/one"),
        "/dir/one" => redirect(302, "two"),
        "/dir/two" => redirect(302, "./end?x=1"),
        "/dir/end?x=1" => ok_body("end of the chain\n"),
        _ => Reply::once(NOT_FOUND, End::Close),
    })
}

#[test]
fn follow_a_chain_of_three_relative_redirects() {
    let srv = chain_server();
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&["-L", "--trace-json", path_str(&trace), &srv.url("/start")]);
    check(&r, 0, b"end of the chain\n", &[]);
    let evs = trace_events(&trace);
    let redirects = events(&evs, "redirect");
    assert_eq!(redirects.len(), 3, "{redirects:?}");
    assert!(
        redirects.iter().all(|e| e["followed"] == true),
        "{redirects:?}"
    );
    assert!(redirects.iter().all(|e| e["status"] == 302));
    let to: Vec<_> = redirects
        .iter()
        .map(|e| e["to"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        to,
        vec![
            srv.url("/dir/one"),
            srv.url("/dir/two"),
            srv.url("/dir/end?x=1")
        ]
    );
    let reqs = srv.requests();
    let paths: Vec<_> = reqs.iter().map(|r| req_path(r)).collect();
    assert_eq!(paths, ["/start", "/dir/one", "/dir/two", "/dir/end?x=1"]);
    assert!(reqs.iter().all(|r| req_line(r).starts_with("GET ")));
}

#[test]
fn redirect_loop_stops_after_50_redirects_with_47() {
    let srv = Server::always(redirect(302, "/loop"));
    let r = wtcurl(&["-L", &srv.url("/loop")]);
    check(
        &r,
        47,
        b"",
        &[&err_line(47), "Maximum (50) redirects followed"],
    );
    // The first request and 50 followed redirects.
    assert_eq!(srv.requests().len(), 51);
}

#[test]
fn max_redirs_2_stops_after_three_requests_with_47() {
    let srv = Server::always(redirect(302, "/loop"));
    let dir = TempDir::new();
    let trace = dir.join("t.json");
    let r = wtcurl(&[
        "-L",
        "--max-redirs",
        "2",
        "--trace-json",
        path_str(&trace),
        &srv.url("/loop"),
    ]);
    check(
        &r,
        47,
        b"",
        &[&err_line(47), "Maximum (2) redirects followed"],
    );
    assert_eq!(srv.requests().len(), 3);
    let followed: Vec<_> = events(&trace_events(&trace), "redirect")
        .iter()
        .map(|e| e["followed"].as_bool().unwrap_or_default())
        .collect();
    assert_eq!(followed, [true, true, false]);
}

#[test]
fn without_location_flag_a_301_body_is_printed_and_not_followed() {
    let srv = Server::always(redirect(301, "/elsewhere"));
    let r = wtcurl(&["-w", "%{http_code} %{num_redirects}\\n", &srv.url("/old")]);
    check(&r, 0, b"moved to /elsewhere\n301 0\n", &[]);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(req_path(&reqs[0]), "/old");
}

fn post_redirect_server(status: u16) -> Server {
    Server::start(move |n, _| {
        if n == 0 {
            redirect(status, "/next")
        } else {
            ok_body("done\n")
        }
    })
}

#[test]
fn post_then_302_becomes_get_without_body() {
    let srv = post_redirect_server(302);
    let r = wtcurl(&["-L", "-A", "t/1", "-d", "a=1", &srv.url("/form")]);
    check(&r, 0, b"done\n", &[]);
    let host = srv.addr.to_string();
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        text(&reqs[0]),
        format!(
            "POST /form HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t/1\r\nAccept: */*\r\n\
             Content-Length: 3\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\na=1"
        )
    );
    assert_eq!(
        text(&reqs[1]),
        format!("GET /next HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t/1\r\nAccept: */*\r\n\r\n")
    );
    assert!(req_header(&reqs[1], "Content-Length").is_empty());
    assert!(req_header(&reqs[1], "Content-Type").is_empty());
}

#[test]
fn post_then_307_keeps_method_and_body() {
    let srv = post_redirect_server(307);
    let r = wtcurl(&["-L", "-d", "a=1", &srv.url("/form")]);
    check(&r, 0, b"done\n", &[]);
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 2);
    for (req, path) in reqs.iter().zip(["/form", "/next"]) {
        assert_eq!(req_line(req), format!("POST {path} HTTP/1.1"));
        assert_eq!(req_header(req, "Content-Length"), ["3"]);
        assert_eq!(
            req_header(req, "Content-Type"),
            ["application/x-www-form-urlencoded"]
        );
        assert_eq!(req_body(req), b"a=1");
    }
}

// ---------------------------------------------------------------------------------------------
// The request as sent
// ---------------------------------------------------------------------------------------------

#[test]
fn request_head_bytes_with_custom_method_headers_agent_and_basic_auth() {
    let srv = Server::always(ok_body("ok"));
    let r = wtcurl(&[
        "-X",
        "PUT",
        "-H",
        "X-Test: 1",
        "-H",
        "Accept:",
        "-A",
        "agent/1",
        "-u",
        "user:pass",
        &srv.url("/put?q=1"),
    ]);
    check(&r, 0, b"ok", &[]);
    let addr = srv.addr;
    let reqs = srv.requests();
    assert_eq!(reqs.len(), 1);
    // Exactly what curl 7.88.1 sends for the same flags.
    assert_eq!(
        text(&reqs[0]),
        format!(
            "PUT /put?q=1 HTTP/1.1\r\nHost: {}\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\
             User-Agent: agent/1\r\nX-Test: 1\r\n\r\n",
            addr
        )
    );
}

#[test]
fn default_request_head_bytes() {
    let srv = Server::always(ok_body("ok"));
    let r = wtcurl(&[&srv.url("/")]);
    check(&r, 0, b"ok", &[]);
    let addr = srv.addr;
    let reqs = srv.requests();
    assert_eq!(
        text(&reqs[0]),
        format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nUser-Agent: wtcurl/{}\r\nAccept: */*\r\n\r\n",
            addr,
            env!("CARGO_PKG_VERSION")
        )
    );
}

// ---------------------------------------------------------------------------------------------
// --compressed
// ---------------------------------------------------------------------------------------------

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).expect("gzip");
    e.finish().expect("gzip finish")
}

fn gzip_reply(gz: &[u8]) -> Reply {
    let mut wire = format!(
        "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: {}\r\n\r\n",
        gz.len()
    )
    .into_bytes();
    wire.extend_from_slice(gz);
    Reply::split(&wire, 37, ms(2), End::Close)
}

#[test]
fn compressed_gzip_body_is_decoded() {
    let plain: Vec<u8> = b"hello gzip world, ".repeat(200);
    let gz = gzip(&plain);
    assert!(gz.len() < plain.len());
    let srv = Server::always(gzip_reply(&gz));
    let r = wtcurl(&["--compressed", &srv.url("/gz")]);
    check(&r, 0, &plain, &[]);
    let reqs = srv.requests();
    assert_eq!(req_header(&reqs[0], "Accept-Encoding"), ["deflate, gzip"]);

    // Without --compressed the bytes are passed through untouched.
    let srv = Server::always(gzip_reply(&gz));
    let r = wtcurl(&[&srv.url("/gz")]);
    check(&r, 0, &gz, &[]);
    assert!(req_header(&srv.requests()[0], "Accept-Encoding").is_empty());
}

/// The body line of --explain is true about --compressed: the decoded bytes written, the encoded
/// body, the wire bytes (with chunk framing), and that gzip was undone; -w size_download stays
/// curl's (the encoded size); the trace's body_done carries the same numbers.
#[test]
fn compressed_explain_counts_decoded_encoded_and_wire_bytes() {
    let plain: Vec<u8> = b"hello gzip world, ".repeat(100);
    let gz = gzip(&plain);
    let thousands = |n: usize| {
        let s = n.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    };

    // Content-Length.
    let srv = Server::always(gzip_reply(&gz));
    let dir = TempDir::new();
    let trace = dir.join("t.jsonl");
    let r = wtcurl(&[
        "--compressed",
        "--explain",
        "--trace-json",
        path_str(&trace),
        "-w",
        "%{size_download}",
        &srv.url("/gz"),
    ]);
    let mut expected = plain.clone();
    expected.extend_from_slice(gz.len().to_string().as_bytes());
    let line = format!(
        "body: {} bytes written after gunzip of {} bytes (Content-Encoding: gzip), from {} bytes on the wire;",
        thousands(plain.len()),
        gz.len(),
        gz.len()
    );
    check(&r, 0, &expected, &[&line]);
    let evs = trace_events(&trace);
    let done = events(&evs, "body_done");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["body_bytes"], gz.len());
    assert_eq!(done[0]["wire_bytes"], gz.len());
    assert_eq!(done[0]["decoded"]["encoding"], "gzip");
    assert_eq!(done[0]["decoded"]["bytes"], plain.len());
    assert_eq!(done[0]["written"], true);

    // Chunked: the wire has the chunk framing on top of the encoded body.
    let (a, b) = gz.split_at(gz.len() / 2);
    let mut wire =
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let mut framed = Vec::new();
    for part in [a, b] {
        framed.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        framed.extend_from_slice(part);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    wire.extend_from_slice(&framed);
    let srv = Server::always(Reply::split(&wire, 29, ms(2), End::Close));
    let r = wtcurl(&["--compressed", "--explain", &srv.url("/gzc")]);
    let line = format!(
        "body: {} bytes written after gunzip of {} bytes (Content-Encoding: gzip), from {} bytes on the wire, 2 chunks;",
        thousands(plain.len()),
        gz.len(),
        framed.len()
    );
    check(&r, 0, &plain, &[&line]);

    // Without --compressed: the encoded bytes go out as they came, and the explanation says so.
    let srv = Server::always(gzip_reply(&gz));
    let r = wtcurl(&["--explain", &srv.url("/gz")]);
    let line = format!(
        "body: {} bytes delivered from {} bytes on the wire;",
        gz.len(),
        gz.len()
    );
    check(
        &r,
        0,
        &gz,
        &[
            &line,
            "Content-Encoding: gzip left as it came (no --compressed",
        ],
    );
}

#[test]
fn compressed_corrupt_gzip_is_61() {
    // A valid gzip header, then a deflate stream that is garbage (invalid block type).
    let mut bad = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    bad.extend_from_slice(&[0xff; 40]);
    let srv = Server::always(gzip_reply(&bad));
    let r = wtcurl(&["--compressed", &srv.url("/gz")]);
    check(
        &r,
        61,
        b"",
        &[&err_line(61), "Error while processing content unencoding"],
    );
}

// ---------------------------------------------------------------------------------------------
// -o, -m, -w
// ---------------------------------------------------------------------------------------------

#[test]
fn output_file_gets_the_body_and_stdout_nothing() {
    let body = pattern(5000);
    let mut wire =
        format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
    wire.extend_from_slice(&body);
    let srv = Server::always(Reply::split(&wire, 1000, ms(2), End::Close));
    let dir = TempDir::new();
    let file = dir.join("out.bin");
    let r = wtcurl(&["-o", path_str(&file), &srv.url("/file")]);
    check(&r, 0, b"", &[]);
    assert!(r.stderr.is_empty(), "{r:?}");
    assert!(
        std::fs::read(&file).expect("the -o file") == body,
        "file content differs"
    );
}

#[test]
fn max_time_1_against_a_stalled_body_is_28_in_about_a_second() {
    let srv = Server::always(Reply::once(
        "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial",
        End::Hold,
    ));
    let r = wtcurl(&["-m", "1", &srv.url("/stall")]);
    check(&r, 28, b"partial", &[&err_line(28), "timed out"]);
    assert!(
        r.elapsed >= ms(900) && r.elapsed < Duration::from_secs(3),
        "{r:?}"
    );
}

#[test]
fn write_out_http_code_size_download_and_num_redirects() {
    let srv = Server::start(|_, req| match req_path(req).as_str() {
        "/a" => redirect(302, "/b"),
        _ => ok_body("12345"),
    });
    let r = wtcurl(&[
        "-L",
        "-w",
        "%{http_code} %{size_download} %{num_redirects}\\n",
        &srv.url("/a"),
    ]);
    check(&r, 0, b"12345200 5 1\n", &[]);
    assert_eq!(srv.requests().len(), 2);
}

#[test]
fn write_out_json_is_valid_json_with_the_numbers() {
    let srv = Server::always(ok_body("hello"));
    let url = srv.url("/j");
    let r = wtcurl(&["-w", "%{json}", &url]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with(b"hello"), "{r:?}");
    let j: Value = serde_json::from_slice(&r.stdout[5..])
        .unwrap_or_else(|e| panic!("-w %{{json}} is not JSON ({e}): {r:?}"));
    assert_eq!(j["http_code"], 200);
    assert_eq!(j["size_download"], 5);
    assert_eq!(j["num_redirects"], 0);
    assert_eq!(j["exitcode"], 0);
    assert_eq!(j["url_effective"], url);
    assert_eq!(j["remote_ip"], "127.0.0.1");
    assert_eq!(j["remote_port"], srv.addr.port());
}

#[test]

fn write_out_json_has_response_code_like_curl() {
    let srv = Server::always(ok_body("hello"));
    let r = wtcurl(&["-w", "%{response_code} %{json}", &srv.url("/j")]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with(b"hello200 "), "{r:?}");
    let j: Value = serde_json::from_slice(&r.stdout[9..]).expect("JSON");
    assert_eq!(j["response_code"], 200, "{j}");
}

// ---------------------------------------------------------------------------------------------
// Connect failures and usage errors
// ---------------------------------------------------------------------------------------------

#[test]
fn connection_refused_is_7() {
    // A port that was just free: bind, read it, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let r = wtcurl(&[&format!("http://127.0.0.1:{port}/")]);
    check(
        &r,
        7,
        b"",
        &[&err_line(7), "Failed to connect", &format!("port {port}")],
    );
}

#[test]
fn malformed_url_is_3() {
    let r = wtcurl(&["http://exa mple.com/"]);
    check(&r, 3, b"", &[&err_line(3)]);
    let r = wtcurl(&["http://[::1/"]);
    check(&r, 3, b"", &[&err_line(3)]);
}

#[test]
fn unknown_option_is_2() {
    let r = wtcurl(&["--no-such-option", "http://127.0.0.1:1/"]);
    check(&r, 2, b"", &["--no-such-option"]);
}

/// A listening socket with backlog 0 that never accepts; once its accept queue is full, the
/// kernel drops further SYNs (LISTENOVERFLOWS), so a connect() hangs until the client gives up.
struct FullListener {
    _fd: OwnedFd,
    addr: SocketAddr,
    _fillers: Vec<TcpStream>,
}

fn full_listener() -> Option<FullListener> {
    // SAFETY: plain socket syscalls on a fresh fd we own.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a fresh, valid descriptor owned by nobody else.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    let sin = libc::sockaddr_in {
        sin_family: libc::AF_INET as libc::sa_family_t,
        sin_port: 0,
        sin_addr: libc::in_addr {
            s_addr: u32::from(Ipv4Addr::LOCALHOST).to_be(),
        },
        sin_zero: [0; 8],
    };
    let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
    // SAFETY: sin is a valid sockaddr_in of `len` bytes.
    let rc = unsafe { libc::bind(fd, (&sin as *const libc::sockaddr_in).cast(), len) };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    // SAFETY: fd is a bound socket.
    let rc = unsafe { libc::listen(fd, 0) };
    assert_eq!(rc, 0, "listen: {}", std::io::Error::last_os_error());
    let mut got: libc::sockaddr_in = sin;
    let mut got_len = len;
    // SAFETY: got is a writable sockaddr_in and got_len its size.
    let rc = unsafe {
        libc::getsockname(
            fd,
            (&mut got as *mut libc::sockaddr_in).cast(),
            &mut got_len,
        )
    };
    assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
    let addr = SocketAddr::V4(SocketAddrV4::new(
        Ipv4Addr::LOCALHOST,
        u16::from_be(got.sin_port),
    ));
    // Fill the accept queue until a connect is not answered.
    let mut fillers = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, ms(300)) {
            Ok(s) => fillers.push(s),
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                return Some(FullListener {
                    _fd: owned,
                    addr,
                    _fillers: fillers,
                });
            }
            Err(e) => panic!("filling the accept queue: {e}"),
        }
    }
    None
}

#[test]
fn connect_timeout_against_dropped_syns_is_28() {
    let Some(full) = full_listener() else {
        panic!(
            "the kernel kept accepting SYNs on a backlog-0 listener; cannot provoke a connect timeout"
        );
    };
    let r = wtcurl(&["--connect-timeout", "1", &format!("http://{}/", full.addr)]);
    check(&r, 28, b"", &[&err_line(28), "timed out"]);
    assert!(
        r.elapsed >= ms(900) && r.elapsed < Duration::from_secs(3),
        "{r:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets from the command line are masked everywhere wtcurl shows or records them
// ---------------------------------------------------------------------------------------------

/// `-u`, a URL's `user:password@`, `-H Authorization` and `-H Cookie`: the server gets the real
/// values, while stderr (--explain, -v, the error line) and the --trace-json file hold none of
/// them (nor the Basic token), and the explanation says once that they are masked. -w
/// %{url_effective} keeps the URL's password, as curl 7.88 prints it.
#[test]
fn secrets_are_masked_in_explain_verbose_and_trace_but_sent_for_real() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let label = "secrets are masked as **** here and in --trace-json";
    let dir = TempDir::new();
    let trace = dir.join("u.jsonl");
    let all_of = |r: &Run| {
        format!(
            "{}\n{}",
            r.stderr,
            std::fs::read_to_string(&trace).expect("the trace file")
        )
    };

    // -u on the command line.
    let srv = Server::always(ok_body("ok"));
    let url = srv.url("/");
    let r = wtcurl(&[
        "-u",
        "alice:s3cr3t-pass",
        "--explain",
        "-v",
        "--trace-json",
        path_str(&trace),
        &url,
    ]);
    check(
        &r,
        0,
        b"ok",
        &["\"-u\", \"alice:****\"", "Authorization: Basic ****"],
    );
    let seen = all_of(&r);
    for secret in ["s3cr3t-pass", &b64("alice:s3cr3t-pass")] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    assert_eq!(r.stderr.matches(label).count(), 1, "{r:?}");
    let evs = trace_events(&trace);
    assert_eq!(events(&evs, "process")[0]["process"]["argv_masked"], true);
    assert_eq!(events(&evs, "request_written")[0]["head_masked"], true);
    assert_eq!(
        req_header(&srv.requests()[0], "Authorization"),
        [format!("Basic {}", b64("alice:s3cr3t-pass"))]
    );

    // user:password@ in the URL, with -w %{url_effective} (curl prints the password there).
    let srv = Server::always(ok_body("ok"));
    let url = format!("http://bob:pw-in-url-123@{}/", srv.addr);
    let r = wtcurl(&[
        "--explain",
        "-v",
        "--trace-json",
        path_str(&trace),
        "-o",
        "/dev/null",
        "-w",
        "%{url_effective}",
        &url,
    ]);
    let masked_url = format!("http://bob:****@{}/", srv.addr);
    check(&r, 0, url.as_bytes(), &[&format!("{masked_url:?} → ")]);
    let seen = all_of(&r);
    for secret in ["pw-in-url-123", &b64("bob:pw-in-url-123")] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    assert_eq!(r.stderr.matches(label).count(), 1, "{r:?}");
    let evs = trace_events(&trace);
    let u = &events(&evs, "url")[0];
    assert_eq!(u["input"], masked_url.as_str());
    assert_eq!(u["input_masked"], true);
    assert_eq!(
        req_header(&srv.requests()[0], "Authorization"),
        [format!("Basic {}", b64("bob:pw-in-url-123"))]
    );

    // -H Authorization and -H Cookie.
    let srv = Server::always(ok_body("ok"));
    let url = srv.url("/");
    let r = wtcurl(&[
        "-H",
        "Authorization: Bearer tok-abc-987",
        "--header=Cookie: sid=cookie-xyz-654; theme=dark",
        "--explain",
        "-v",
        "--trace-json",
        path_str(&trace),
        &url,
    ]);
    check(
        &r,
        0,
        b"ok",
        &[
            "Authorization: Bearer ****",
            "Cookie: sid=****; theme=****",
            "--header=Cookie: sid=****; theme=****",
        ],
    );
    let seen = all_of(&r);
    for secret in ["tok-abc-987", "cookie-xyz-654", "dark"] {
        assert!(!seen.contains(secret), "{secret} leaked:\n{seen}");
    }
    let reqs = srv.requests();
    assert_eq!(
        req_header(&reqs[0], "Authorization"),
        ["Bearer tok-abc-987"]
    );
    assert_eq!(
        req_header(&reqs[0], "Cookie"),
        ["sid=cookie-xyz-654; theme=dark"]
    );

    // A URL that fails to parse: the error line quotes it with the password masked.
    let r = wtcurl(&["--explain", "http://bob:pw 9x@127.0.0.1:1/"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(!r.stderr.contains("pw 9x"), "{r:?}");
    assert!(r.stderr.contains("http://bob:****@127.0.0.1:1/"), "{r:?}");
}
