//! Breaker state shared by wtcurl processes: one JSON file, one breaker per origin
//! (`scheme://host:port`), so a shell loop or cron job running wtcurl again and again fails fast
//! once a server keeps failing, exactly as a long-lived client would.
//!
//! - Where: `$XDG_STATE_HOME/wtcurl/breaker.json`, else `$HOME/.local/state/wtcurl/breaker.json`,
//!   or any path given ([`StateFile::at`]).
//! - Time: the wall clock (time since the Unix epoch), since processes share no monotonic origin;
//!   a clock stepping backwards is tolerated (see [`super::clock`]).
//! - Concurrency: every operation is load-modify-store under an exclusive `flock` on a sidecar
//!   `breaker.json.lock` (the data file itself is replaced by rename, so it cannot carry the lock).
//!   The new content is written to a temporary file and renamed over the old one, so a reader
//!   never sees half a file. The lock is held for the file operation only, never during a request:
//!   [`StateFile::acquire`] and [`StateFile::record`] are two short critical sections, and the
//!   permit's generation makes a result that arrives after the state moved on harmless.
//! - Damage: a file that cannot be read or parsed, is too large, or has a bad entry, is reported
//!   as a [`Warning`] and replaced; it never stops the request and never panics. Only a state
//!   directory that cannot be created or written, or a lock that cannot be had, is an error.
//! - Size: at most [`DEFAULT_MAX_ORIGINS`] origins (the least recently used are evicted) and at
//!   most 1024 buckets each, so the file stays well under [`MAX_FILE_BYTES`].

use super::classify::Outcome;
use super::clock::{BreakerClock, WallClock, to_nanos};
use super::config::Config;
use super::event::{BreakerEvent, CircuitOpenError, Reason, State, fmt_duration};
use super::machine::{Counters, Events, GENERATION_MASK, Machine, Snapshot, Ticket};
use super::rng::XorShift64;
use super::window::{Bucket, MAX_BUCKETS};
use nix::errno::Errno;
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The file format's version.
pub const FILE_VERSION: u32 = 1;
/// Origins kept by default; the least recently used beyond this are evicted.
pub const DEFAULT_MAX_ORIGINS: usize = 256;
/// A larger file is not read (it is reported and replaced).
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// How long an operation waits for another process's lock by default.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(5);

/// `$XDG_STATE_HOME/wtcurl/breaker.json`, else `$HOME/.local/state/wtcurl/breaker.json`.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(std::env::var_os("XDG_STATE_HOME"), std::env::var_os("HOME"))
}

/// [`default_path`] from given values of `XDG_STATE_HOME` and `HOME`. Per the XDG spec an empty or
/// relative `XDG_STATE_HOME` is ignored.
pub fn default_path_from(
    xdg_state_home: Option<OsString>,
    home: Option<OsString>,
) -> Option<PathBuf> {
    let base = match xdg_state_home.map(PathBuf::from) {
        Some(p) if p.is_absolute() => p,
        _ => {
            let home = PathBuf::from(home?);
            if !home.is_absolute() {
                return None;
            }
            home.join(".local").join("state")
        }
    };
    Some(base.join("wtcurl").join("breaker.json"))
}

/// The breaker key of a URL: `scheme://host:port`, with the scheme's default port filled in and
/// the host as sent on the wire (punycode, IPv6 in brackets). A URL without scheme is http, as
/// wtcurl reads it.
pub fn origin_of(url: &str) -> Result<String, crate::error::Error> {
    let t = crate::target::parse(url)?;
    let host = if t.host_ascii.contains(':') {
        format!("[{}]", t.host_ascii)
    } else {
        t.host_ascii.clone()
    };
    Ok(format!("{}://{}:{}", t.scheme, host, t.port))
}

/// A time on the state file's clock as a `SystemTime` (None if out of range).
pub fn wall_time(d: Duration) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(d)
}

/// What was wrong with the file, and what was done about it. Never fatal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    pub kind: WarningKind,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningKind {
    /// The file could not be read; it was replaced.
    Unreadable,
    /// The file is not valid breaker state; it was replaced.
    Corrupt,
    /// The file exceeds [`MAX_FILE_BYTES`]; it was replaced.
    TooLarge,
    /// One origin's entry was damaged; it was dropped.
    CorruptEntry,
    /// The window's length or bucket count changed since the state was saved; the window restarted.
    ConfigChanged,
    /// Least recently used origins were dropped to keep the file bounded.
    Evicted,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The state file could not be used at all (the request itself may still go ahead).
#[derive(Debug)]
pub enum StateFileError {
    /// Neither `XDG_STATE_HOME` nor `HOME` gives a state directory.
    NoStateDir,
    /// The directory could not be created.
    CreateDir { path: PathBuf, source: io::Error },
    /// The lock file could not be opened or locked.
    Lock { path: PathBuf, source: io::Error },
    /// Another process held the lock for longer than the lock timeout.
    LockTimeout { path: PathBuf, waited: Duration },
    /// The new state could not be written.
    Write { path: PathBuf, source: io::Error },
}

impl fmt::Display for StateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateFileError::NoStateDir => f.write_str(
                "no directory for breaker state: neither XDG_STATE_HOME nor HOME is set",
            ),
            StateFileError::CreateDir { path, source } => {
                write!(f, "cannot create {}: {source}", path.display())
            }
            StateFileError::Lock { path, source } => {
                write!(f, "cannot lock {}: {source}", path.display())
            }
            StateFileError::LockTimeout { path, waited } => write!(
                f,
                "{} stayed locked by another process for {}",
                path.display(),
                fmt_duration(*waited)
            ),
            StateFileError::Write { path, source } => {
                write!(f, "cannot write {}: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for StateFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StateFileError::CreateDir { source, .. }
            | StateFileError::Lock { source, .. }
            | StateFileError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The result of one state-file operation, with what the breaker did and what was wrong.
#[derive(Debug)]
pub struct FileOp<T> {
    pub value: T,
    /// The breaker's events during the operation (transitions, rejection, probe result).
    pub events: Vec<BreakerEvent>,
    /// Problems found in the file and repaired.
    pub warnings: Vec<Warning>,
}

/// Permission for one call, from [`StateFile::acquire`]. Hand it back to
/// [`StateFile::record`] with the outcome. Dropped without a result, a probe permit gives its slot
/// back (best effort; otherwise the probe timeout frees it).
#[must_use = "record the call's outcome with StateFile::record"]
#[derive(Debug)]
pub struct FilePermit {
    file: StateFile,
    origin: String,
    config: Config,
    ticket: Ticket,
    finished: bool,
}

impl FilePermit {
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_probe(&self) -> bool {
        self.ticket.probe
    }

    pub fn generation(&self) -> u64 {
        self.ticket.generation
    }
}

impl Drop for FilePermit {
    fn drop(&mut self) {
        if !self.finished && self.ticket.probe {
            let ticket = self.ticket;
            let _ = self
                .file
                .update(&self.origin, &self.config, true, |core, now, ev| {
                    core.release(ticket, now, ev)
                });
        }
    }
}

/// One origin in [`Report`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OriginReport {
    pub origin: String,
    pub state: State,
    pub failures_in_window: u64,
    pub successes_in_window: u64,
    pub threshold: u32,
    pub window_ms: u64,
    /// Open: milliseconds until a probe is allowed (0 when the next call probes).
    pub retry_in_ms: Option<u64>,
    pub open_until_unix_ms: Option<u64>,
    pub opened_at_unix_ms: Option<u64>,
    /// Why it is open or half-open.
    pub reason: Option<String>,
    pub consecutive_opens: u32,
    pub probes_in_flight: u32,
    pub generation: u64,
    pub last_used_unix_ms: u64,
    pub counters: Counters,
}

/// Every origin in the file, as of now: what `wtcurl --breaker-show` prints (or serializes).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    pub path: PathBuf,
    pub now_unix_ms: u64,
    pub origins: Vec<OriginReport>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.origins.len();
        writeln!(
            f,
            "{}: {n} origin{}",
            self.path.display(),
            if n == 1 { "" } else { "s" }
        )?;
        for o in &self.origins {
            write!(f, "  {}  {}", o.origin, o.state)?;
            if let Some(ms) = o.retry_in_ms {
                if ms == 0 {
                    f.write_str(" (the next call probes)")?;
                } else {
                    write!(f, " (retry in {})", fmt_duration(Duration::from_millis(ms)))?;
                }
            }
            let count = format!(
                "{} failure{} in the last {}",
                o.failures_in_window,
                if o.failures_in_window == 1 { "" } else { "s" },
                fmt_duration(Duration::from_millis(o.window_ms)),
            );
            match &o.reason {
                // The reason it opened already says the count (the same one): once is enough.
                Some(r) if r.starts_with(&count) => write!(f, "; {r}")?,
                Some(r) => write!(f, "; {count} (opens above {}); why: {r}", o.threshold)?,
                None => write!(f, "; {count} (opens above {})", o.threshold)?,
            }
            let ago = self.now_unix_ms.saturating_sub(o.last_used_unix_ms);
            writeln!(
                f,
                "; opened {} time{}; used {} ago",
                o.counters.opened,
                if o.counters.opened == 1 { "" } else { "s" },
                fmt_duration(Duration::from_millis(ago))
            )?;
        }
        Ok(())
    }
}

/// A breaker state file. Cheap to clone.
#[derive(Clone)]
pub struct StateFile {
    path: PathBuf,
    lock_path: PathBuf,
    max_origins: usize,
    lock_timeout: Duration,
    clock: Arc<dyn BreakerClock>,
}

impl fmt::Debug for StateFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateFile")
            .field("path", &self.path)
            .field("max_origins", &self.max_origins)
            .finish_non_exhaustive()
    }
}

impl StateFile {
    /// The file at [`default_path`].
    pub fn open_default() -> Result<Self, StateFileError> {
        default_path()
            .map(Self::at)
            .ok_or(StateFileError::NoStateDir)
    }

    /// The file at `path` (its directory is created on first use).
    pub fn at(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut lock_name = path.file_name().map(OsString::from).unwrap_or_default();
        lock_name.push(".lock");
        StateFile {
            lock_path: path.with_file_name(lock_name),
            path,
            max_origins: DEFAULT_MAX_ORIGINS,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            clock: Arc::new(WallClock),
        }
    }

    /// Keeps at most `n` origins (at least 1).
    pub fn with_max_origins(mut self, n: usize) -> Self {
        self.max_origins = n.max(1);
        self
    }

    pub fn with_lock_timeout(mut self, d: Duration) -> Self {
        self.lock_timeout = d;
        self
    }

    /// Uses `clock` instead of the wall clock (its readings are taken as time since the epoch).
    pub fn with_clock(mut self, clock: impl BreakerClock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Asks to make a call to `origin`, whose breaker runs with `config`. `value` is the permit or
    /// the rejection; either way the file is updated.
    pub fn acquire(
        &self,
        origin: &str,
        config: &Config,
    ) -> Result<FileOp<Result<FilePermit, CircuitOpenError>>, StateFileError> {
        let op = self.update(origin, config, false, |core, now, ev| core.acquire(now, ev))?;
        Ok(FileOp {
            value: op.value.map(|ticket| FilePermit {
                file: self.clone(),
                origin: origin.to_string(),
                config: *config,
                ticket,
                finished: false,
            }),
            events: op.events,
            warnings: op.warnings,
        })
    }

    /// Records how the permitted call went. `value` is the origin's breaker afterwards.
    pub fn record(
        &self,
        mut permit: FilePermit,
        outcome: Outcome,
    ) -> Result<FileOp<Snapshot>, StateFileError> {
        permit.finished = true;
        let ticket = permit.ticket;
        let op = self.update(&permit.origin, &permit.config, true, |core, now, ev| {
            core.record(ticket, outcome, now, ev);
            core.snapshot(now)
        })?;
        Ok(op)
    }

    /// Opens `origin`'s circuit now, for `period` or the next backoff period.
    pub fn force_open(
        &self,
        origin: &str,
        config: &Config,
        period: Option<Duration>,
    ) -> Result<FileOp<Snapshot>, StateFileError> {
        self.update(origin, config, true, |core, now, ev| {
            core.force_open(now, period, ev);
            core.snapshot(now)
        })
    }

    /// Closes the circuit of `origin` (or of every origin) with an empty window and zeroed
    /// counters. Results of calls in flight will be ignored. `value` is how many were reset.
    pub fn reset(&self, origin: Option<&str>) -> Result<FileOp<usize>, StateFileError> {
        let now = self.clock.now();
        self.locked(|data, _| {
            let mut events = Vec::new();
            let mut n = 0;
            for (name, entry) in data.origins.iter_mut() {
                if origin.is_some_and(|o| o != name) {
                    continue;
                }
                let mut core = entry.to_machine(&entry.config.to_config(), &mut Vec::new());
                let mut ev = Events::default();
                core.reset(now, &mut ev);
                core.counters = Counters::default();
                events.extend(ev.iter().copied());
                *entry = Entry::from_machine(&core, now);
                n += 1;
            }
            ((n, events), n > 0)
        })
        .map(|((value, events), warnings)| FileOp {
            value,
            events,
            warnings,
        })
    }

    /// Every origin's breaker as of now. Repairs (and reports) a damaged file.
    pub fn show(&self) -> Result<FileOp<Report>, StateFileError> {
        let now = self.clock.now();
        let (origins, warnings) = self.locked(|data, _| {
            let list = data
                .origins
                .iter()
                .map(|(name, entry)| {
                    let mut core = entry.to_machine(&entry.config.to_config(), &mut Vec::new());
                    report(name, &core.snapshot(now), entry.last_used_unix_ns, now)
                })
                .collect();
            (list, false)
        })?;
        Ok(FileOp {
            value: Report {
                path: self.path.clone(),
                now_unix_ms: ms(now),
                origins,
            },
            events: Vec::new(),
            warnings,
        })
    }

    /// Loads `origin`'s breaker, applies `f` at the current time, stores it if anything changed
    /// (or `always_store`).
    fn update<T>(
        &self,
        origin: &str,
        config: &Config,
        always_store: bool,
        f: impl FnOnce(&mut Machine, Duration, &mut Events) -> T,
    ) -> Result<FileOp<T>, StateFileError> {
        let config = config.normalized();
        let ((value, events), warnings) = self.locked(|data, warnings| {
            let now = self.clock.now();
            let existing = data.origins.get(origin);
            let is_new = existing.is_none();
            let warned = warnings.len();
            let mut core = match existing {
                Some(e) => e.to_machine(&config, warnings),
                None => Machine::new(config),
            };
            let mut ev = Events::default();
            let value = f(&mut core, now, &mut ev);
            // A restored entry that needed fixing (new window layout) is stored fixed, so the
            // warning is given once.
            let changed = always_store || is_new || !ev.is_empty() || warnings.len() > warned;
            if changed {
                data.origins
                    .insert(origin.to_string(), Entry::from_machine(&core, now));
            }
            ((value, ev.iter().copied().collect::<Vec<_>>()), changed)
        })?;
        Ok(FileOp {
            value,
            events,
            warnings,
        })
    }

    /// Runs `f` on the file's content under the exclusive lock; stores the result when `f` says
    /// it changed something or the file needed repair.
    fn locked<T>(
        &self,
        f: impl FnOnce(&mut Data, &mut Vec<Warning>) -> (T, bool),
    ) -> Result<(T, Vec<Warning>), StateFileError> {
        self.ensure_dir()?;
        let lock = self.lock()?;
        let mut warnings = Vec::new();
        let mut data = self.load(&mut warnings);
        let repaired = !warnings.is_empty();
        let (value, changed) = f(&mut data, &mut warnings);
        let result = if changed || repaired {
            self.evict(&mut data, &mut warnings);
            self.store(&data)
        } else {
            Ok(())
        };
        unlock(lock);
        result.map(|()| (value, warnings))
    }

    fn ensure_dir(&self) -> Result<(), StateFileError> {
        let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) else {
            return Ok(());
        };
        if dir.is_dir() {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|source| StateFileError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })
    }

    fn lock(&self) -> Result<Flock<File>, StateFileError> {
        let lock_err = |source| StateFileError::Lock {
            path: self.lock_path.clone(),
            source,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&self.lock_path)
            .map_err(lock_err)?;
        let start = Instant::now();
        let mut pause = Duration::from_micros(200);
        loop {
            match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => return Ok(l),
                Err((f, Errno::EWOULDBLOCK)) | Err((f, Errno::EINTR)) => {
                    let waited = start.elapsed();
                    if waited >= self.lock_timeout {
                        return Err(StateFileError::LockTimeout {
                            path: self.lock_path.clone(),
                            waited,
                        });
                    }
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(20));
                    file = f;
                }
                Err((_, e)) => return Err(lock_err(io::Error::from(e))),
            }
        }
    }

    fn load(&self, warnings: &mut Vec<Warning>) -> Data {
        let mut warn = |kind, message: String| {
            warnings.push(Warning {
                kind,
                message: format!("{}: {message}", self.path.display()),
            })
        };
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Data::default(),
            Err(e) => {
                warn(
                    WarningKind::Unreadable,
                    format!("cannot be read ({e}); starting afresh"),
                );
                return Data::default();
            }
        };
        let mut bytes = Vec::new();
        if let Err(e) = file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
            warn(
                WarningKind::Unreadable,
                format!("cannot be read ({e}); starting afresh"),
            );
            return Data::default();
        }
        if bytes.len() as u64 > MAX_FILE_BYTES {
            warn(
                WarningKind::TooLarge,
                format!("larger than {MAX_FILE_BYTES} bytes; starting afresh"),
            );
            return Data::default();
        }
        let raw: RawFile = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                warn(
                    WarningKind::Corrupt,
                    format!("is not valid breaker state ({e}); replaced"),
                );
                return Data::default();
            }
        };
        if raw.version != FILE_VERSION {
            warn(
                WarningKind::Corrupt,
                format!(
                    "has format version {} (this wtcurl knows {FILE_VERSION}); replaced",
                    raw.version
                ),
            );
            return Data::default();
        }
        let mut data = Data::default();
        for (origin, value) in raw.origins {
            match serde_json::from_value::<Entry>(value)
                .map_err(|e| e.to_string())
                .and_then(|e| e.check().map(|()| e))
            {
                Ok(e) => {
                    data.origins.insert(origin, e);
                }
                Err(why) => warn(
                    WarningKind::CorruptEntry,
                    format!("the entry for {origin} is damaged ({why}); dropped"),
                ),
            }
        }
        data
    }

    fn evict(&self, data: &mut Data, warnings: &mut Vec<Warning>) {
        let excess = data.origins.len().saturating_sub(self.max_origins);
        if excess == 0 {
            return;
        }
        let mut by_age: Vec<(u64, String)> = data
            .origins
            .iter()
            .map(|(k, e)| (e.last_used_unix_ns, k.clone()))
            .collect();
        by_age.sort();
        let gone: Vec<String> = by_age.into_iter().take(excess).map(|(_, k)| k).collect();
        for k in &gone {
            data.origins.remove(k);
        }
        warnings.push(Warning {
            kind: WarningKind::Evicted,
            message: format!(
                "{}: more than {} origins; dropped the least recently used: {}",
                self.path.display(),
                self.max_origins,
                gone.join(", ")
            ),
        });
    }

    fn store(&self, data: &Data) -> Result<(), StateFileError> {
        let write_err = |source| StateFileError::Write {
            path: self.path.clone(),
            source,
        };
        let raw = RawFileOut {
            version: FILE_VERSION,
            origins: &data.origins,
        };
        let mut bytes = serde_json::to_vec(&raw)
            .map_err(|e| write_err(io::Error::new(io::ErrorKind::InvalidData, e)))?;
        bytes.push(b'\n');
        let mut tmp_name = self
            .path
            .file_name()
            .map(OsString::from)
            .unwrap_or_default();
        tmp_name.push(".tmp");
        let tmp = self.path.with_file_name(tmp_name);
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            f.write_all(&bytes)?;
            fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written.map_err(write_err)
    }
}

/// Releases the lock. Unlocking a descriptor this process holds cannot fail in practice; if it
/// ever did, closing the descriptor releases the lock anyway, so the error is not worth a panic.
fn unlock(lock: Flock<File>) {
    if let Err((still_locked, _)) = lock.unlock() {
        // Dropping would retry the unlock and panic on failure; leaking the descriptor instead
        // keeps the lock until the process exits, which other processes survive via the timeout.
        std::mem::forget(still_locked);
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn report(origin: &str, s: &Snapshot, last_used_ns: u64, now: Duration) -> OriginReport {
    OriginReport {
        origin: origin.to_string(),
        state: s.state,
        failures_in_window: s.failures_in_window,
        successes_in_window: s.successes_in_window,
        threshold: s.threshold,
        window_ms: ms(s.window),
        retry_in_ms: s.retry_at.map(|r| ms(r.saturating_sub(now))),
        open_until_unix_ms: s.retry_at.map(ms),
        opened_at_unix_ms: s.opened_at.map(ms),
        reason: s.open_reason.map(|r| r.to_string()),
        consecutive_opens: s.consecutive_opens,
        probes_in_flight: s.probes_in_flight,
        generation: s.generation,
        last_used_unix_ms: last_used_ns / 1_000_000,
        counters: s.counters,
    }
}

#[derive(Default)]
struct Data {
    origins: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
struct RawFile {
    version: u32,
    origins: BTreeMap<String, serde_json::Value>,
}

#[derive(Serialize)]
struct RawFileOut<'a> {
    version: u32,
    origins: &'a BTreeMap<String, Entry>,
}

/// The settings an entry was saved with (the window's layout must match to reuse its buckets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct StoredConfig {
    threshold: u32,
    window_ns: u64,
    buckets: u32,
    half_open_probes: u32,
    probes_to_close: u32,
    probe_timeout_ns: u64,
}

impl StoredConfig {
    fn of(c: &Config) -> Self {
        StoredConfig {
            threshold: c.error_threshold,
            window_ns: to_nanos(c.time_window),
            buckets: c.buckets,
            half_open_probes: c.half_open_probes,
            probes_to_close: c.probes_to_close,
            probe_timeout_ns: to_nanos(c.probe_timeout()),
        }
    }

    /// A config good enough to read the entry back (show, reset).
    fn to_config(self) -> Config {
        let mut c = Config::new(self.threshold, Duration::from_nanos(self.window_ns));
        c.buckets = self.buckets;
        c.half_open_probes = self.half_open_probes;
        c.probes_to_close = self.probes_to_close;
        c.probe_timeout = Some(Duration::from_nanos(self.probe_timeout_ns));
        c.normalized()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum StoredReason {
    FailureThreshold {
        failures: u64,
        threshold: u32,
        window_ns: u64,
    },
    OpenPeriodElapsed,
    ProbesSucceeded {
        successes: u32,
    },
    ProbeFailed,
    ManualReset,
    ForcedOpen,
}

impl From<Reason> for StoredReason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::FailureThreshold {
                failures,
                threshold,
                window,
            } => StoredReason::FailureThreshold {
                failures,
                threshold,
                window_ns: to_nanos(window),
            },
            Reason::OpenPeriodElapsed => StoredReason::OpenPeriodElapsed,
            Reason::ProbesSucceeded { successes } => StoredReason::ProbesSucceeded { successes },
            Reason::ProbeFailed => StoredReason::ProbeFailed,
            Reason::ManualReset => StoredReason::ManualReset,
            Reason::ForcedOpen => StoredReason::ForcedOpen,
        }
    }
}

impl From<StoredReason> for Reason {
    fn from(r: StoredReason) -> Self {
        match r {
            StoredReason::FailureThreshold {
                failures,
                threshold,
                window_ns,
            } => Reason::FailureThreshold {
                failures,
                threshold,
                window: Duration::from_nanos(window_ns),
            },
            StoredReason::OpenPeriodElapsed => Reason::OpenPeriodElapsed,
            StoredReason::ProbesSucceeded { successes } => Reason::ProbesSucceeded { successes },
            StoredReason::ProbeFailed => Reason::ProbeFailed,
            StoredReason::ManualReset => Reason::ManualReset,
            StoredReason::ForcedOpen => Reason::ForcedOpen,
        }
    }
}

/// One origin's breaker as stored. Times are nanoseconds since the Unix epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    last_used_unix_ns: u64,
    config: StoredConfig,
    state: State,
    generation: u64,
    opened_at_unix_ns: u64,
    open_until_unix_ns: u64,
    open_reason: StoredReason,
    consecutive_opens: u32,
    probes_in_flight: u32,
    probe_successes: u32,
    probe_deadline_unix_ns: u64,
    rng_state: u64,
    /// The newest bucket's number (time / bucket width).
    window_head: u64,
    /// `[failures, successes]` per bucket, oldest first.
    window: Vec<[u32; 2]>,
    counters: Counters,
}

impl Entry {
    fn from_machine(c: &Machine, now: Duration) -> Self {
        let (head, buckets) = c.window.export();
        Entry {
            last_used_unix_ns: to_nanos(now),
            config: StoredConfig::of(&c.cfg),
            state: c.state,
            generation: c.generation,
            opened_at_unix_ns: to_nanos(c.opened_at),
            open_until_unix_ns: to_nanos(c.open_until),
            open_reason: c.open_reason.into(),
            consecutive_opens: c.consecutive_opens,
            probes_in_flight: c.probes_in_flight,
            probe_successes: c.probe_successes,
            probe_deadline_unix_ns: to_nanos(c.probe_deadline),
            rng_state: c.rng.state(),
            window_head: head,
            window: buckets.iter().map(|b| [b.failures, b.successes]).collect(),
            counters: c.counters,
        }
    }

    /// Rejects what no breaker could have written.
    fn check(&self) -> Result<(), String> {
        let n = self.config.buckets;
        if n == 0 || n > MAX_BUCKETS {
            return Err(format!("{n} buckets"));
        }
        if self.window.len() != n as usize {
            return Err(format!(
                "{} buckets stored for a window of {n}",
                self.window.len()
            ));
        }
        if self.config.window_ns == 0 {
            return Err("a zero window".into());
        }
        Ok(())
    }

    /// The breaker, run with `cfg` (the caller's current settings). A different window layout
    /// restarts the window (reported); everything else carries over.
    fn to_machine(&self, cfg: &Config, warnings: &mut Vec<Warning>) -> Machine {
        let mut c = Machine::new(*cfg);
        c.state = self.state;
        c.generation = self.generation & GENERATION_MASK;
        c.opened_at = Duration::from_nanos(self.opened_at_unix_ns);
        c.open_until = Duration::from_nanos(self.open_until_unix_ns);
        c.open_reason = self.open_reason.into();
        c.consecutive_opens = self.consecutive_opens;
        c.probes_in_flight = self.probes_in_flight.min(c.cfg.half_open_probes);
        c.probe_successes = self.probe_successes;
        c.probe_deadline = Duration::from_nanos(self.probe_deadline_unix_ns);
        c.rng = XorShift64::new(self.rng_state);
        c.counters = self.counters;
        let same_layout = self.config.window_ns == to_nanos(c.cfg.time_window)
            && self.config.buckets == c.cfg.buckets;
        let buckets: Vec<Bucket> = self
            .window
            .iter()
            .map(|[f, s]| Bucket {
                failures: *f,
                successes: *s,
            })
            .collect();
        if !same_layout || c.window.import(self.window_head, &buckets).is_none() {
            warnings.push(Warning {
                kind: WarningKind::ConfigChanged,
                message: format!(
                    "the breaker window changed from {} in {} buckets to {} in {}; its count restarts",
                    fmt_duration(Duration::from_nanos(self.config.window_ns)),
                    self.config.buckets,
                    fmt_duration(c.cfg.time_window),
                    c.cfg.buckets
                ),
            });
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::clock::ManualClock;
    use crate::breaker::config::Backoff;

    fn ms_(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    /// A state file in a fresh temporary directory, on a manual clock at a realistic epoch time.
    fn setup(tag: &str) -> (StateFile, Arc<ManualClock>, PathBuf) {
        let dir = std::env::temp_dir().join(format!(
            "wtcurl-breaker-test-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&dir);
        let clock = Arc::new(ManualClock::new(Duration::from_secs(1_700_000_000)));
        let sf = StateFile::at(dir.join("sub").join("breaker.json")).with_clock(clock.clone());
        (sf, clock, dir)
    }

    fn cfg() -> Config {
        let mut c = Config::new(2, Duration::from_secs(10));
        c.backoff = Backoff::constant(Duration::from_secs(30));
        c
    }

    const O: &str = "http://127.0.0.1:8080";

    fn call(sf: &StateFile, origin: &str, outcome: Outcome) -> Result<(), CircuitOpenError> {
        let op = sf.acquire(origin, &cfg()).unwrap();
        assert!(op.warnings.is_empty(), "{:?}", op.warnings);
        let permit = op.value?;
        let rec = sf.record(permit, outcome).unwrap();
        assert!(rec.warnings.is_empty(), "{:?}", rec.warnings);
        Ok(())
    }

    #[test]
    fn paths_follow_xdg_then_home() {
        let p = default_path_from(Some("/x/state".into()), Some("/home/u".into()));
        assert_eq!(p, Some(PathBuf::from("/x/state/wtcurl/breaker.json")));
        let p = default_path_from(Some("relative".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.local/state/wtcurl/breaker.json"))
        );
        let p = default_path_from(Some("".into()), Some("/home/u".into()));
        assert_eq!(
            p,
            Some(PathBuf::from("/home/u/.local/state/wtcurl/breaker.json"))
        );
        assert_eq!(default_path_from(None, None), None);
        assert_eq!(default_path_from(None, Some("rel".into())), None);
    }

    #[test]
    fn origins_are_scheme_host_port() {
        assert_eq!(
            origin_of("http://Example.COM/x?y").unwrap(),
            "http://example.com:80"
        );
        assert_eq!(
            origin_of("https://example.com:8443/").unwrap(),
            "https://example.com:8443"
        );
        assert_eq!(origin_of("example.com").unwrap(), "http://example.com:80");
        assert_eq!(origin_of("http://[::1]:99/").unwrap(), "http://[::1]:99");
        assert!(origin_of("ftp://x/").is_err());
    }

    #[test]
    fn opens_across_calls_persists_and_recovers() {
        let (sf, clock, dir) = setup("cycle");
        for _ in 0..2 {
            call(&sf, O, Outcome::Failure).unwrap();
        }
        // A second StateFile value on the same path plays the part of another process.
        let other = StateFile::at(sf.path()).with_clock(clock.clone());
        call(&other, O, Outcome::Failure).unwrap();
        let e = call(&sf, O, Outcome::Success).unwrap_err();
        assert_eq!(e.retry_after, Duration::from_secs(30));
        assert_eq!(
            wall_time(e.retry_at),
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_030))
        );
        // Other origins are unaffected.
        call(&sf, "http://other:80", Outcome::Success).unwrap();

        let show = sf.show().unwrap().value;
        assert_eq!(show.origins.len(), 2);
        let o = show.origins.iter().find(|o| o.origin == O).unwrap();
        assert_eq!((o.origin.as_str(), o.state), (O, State::Open));
        assert_eq!(o.retry_in_ms, Some(30_000));
        assert_eq!((o.counters.failures, o.counters.rejected), (3, 1));
        let text = show.to_string();
        assert!(text.contains("http://127.0.0.1:8080  open (retry in 30s); 3 failures in the last 10s exceed the threshold of 2; opened 1 time"), "{text}");
        assert_eq!(
            text.matches("3 failures in the last 10s").count(),
            1,
            "{text}"
        );
        let json = serde_json::to_value(&show).unwrap();
        assert_eq!(json["origins"][0]["origin"], O);
        assert_eq!(json["origins"][0]["state"], "open");

        clock.advance(Duration::from_secs(30));
        let op = sf.acquire(O, &cfg()).unwrap();
        let probe = op.value.unwrap();
        assert!(probe.is_probe());
        assert!(matches!(
            op.events.as_slice(),
            [BreakerEvent::Transition {
                to: State::HalfOpen,
                ..
            }]
        ));
        // While the probe is out, another process is turned away.
        let e = other.acquire(O, &cfg()).unwrap().value.unwrap_err();
        assert_eq!(e.state, State::HalfOpen);
        let rec = sf.record(probe, Outcome::Success).unwrap();
        assert_eq!(rec.value.state, State::Closed);
        call(&other, O, Outcome::Success).unwrap();
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_dropped_probe_permit_gives_the_slot_back_across_processes() {
        let (sf, clock, dir) = setup("drop");
        sf.force_open(O, &cfg(), Some(ms_(100))).unwrap();
        clock.advance(ms_(100));
        let p = sf.acquire(O, &cfg()).unwrap().value.unwrap();
        assert!(sf.acquire(O, &cfg()).unwrap().value.is_err());
        drop(p);
        let p = sf.acquire(O, &cfg()).unwrap().value.unwrap();
        assert!(p.is_probe());
        sf.record(p, Outcome::Success).unwrap();
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_late_result_from_before_the_circuit_opened_is_ignored() {
        let (sf, _clock, dir) = setup("late");
        let slow = sf.acquire(O, &cfg()).unwrap().value.unwrap();
        for _ in 0..3 {
            call(&sf, O, Outcome::Failure).unwrap();
        }
        let rec = sf.record(slow, Outcome::Success).unwrap();
        assert_eq!(rec.value.state, State::Open);
        assert!(matches!(
            rec.events.as_slice(),
            [BreakerEvent::LateResultIgnored { .. }]
        ));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn reset_one_or_all() {
        let (sf, _clock, dir) = setup("reset");
        for o in ["http://a:80", "http://b:80"] {
            for _ in 0..3 {
                call(&sf, o, Outcome::Failure).unwrap();
            }
        }
        assert_eq!(sf.reset(Some("http://a:80")).unwrap().value, 1);
        assert!(call(&sf, "http://a:80", Outcome::Success).is_ok());
        assert!(call(&sf, "http://b:80", Outcome::Success).is_err());
        assert_eq!(sf.reset(None).unwrap().value, 2);
        assert!(call(&sf, "http://b:80", Outcome::Success).is_ok());
        assert_eq!(sf.reset(Some("http://nowhere:80")).unwrap().value, 0);
        let show = sf.show().unwrap().value;
        assert!(show.origins.iter().all(|o| o.state == State::Closed));
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_corrupt_file_is_reported_and_replaced() {
        let (sf, _clock, dir) = setup("corrupt");
        call(&sf, O, Outcome::Failure).unwrap();
        for junk in [
            &b"{ not json"[..],
            b"",
            b"\xff\xfe\x00garbage",
            b"[1,2,3]",
            br#"{"version": 99, "origins": {}}"#,
            br#"{"version": 1, "origins": {"x": {"state": "sideways"}}}"#,
        ] {
            fs::write(sf.path(), junk).unwrap();
            let op = sf.acquire(O, &cfg()).unwrap();
            assert_eq!(op.warnings.len(), 1, "{junk:?}");
            assert!(
                matches!(
                    op.warnings[0].kind,
                    WarningKind::Corrupt | WarningKind::CorruptEntry
                ),
                "{:?}",
                op.warnings
            );
            assert!(op.value.is_ok());
            // Replaced by a valid file: the next operation has nothing to report.
            let again = sf.show().unwrap();
            assert!(again.warnings.is_empty(), "{junk:?}: {:?}", again.warnings);
        }
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn one_damaged_entry_is_dropped_and_the_others_kept() {
        let (sf, _clock, dir) = setup("entry");
        call(&sf, "http://a:80", Outcome::Failure).unwrap();
        call(&sf, "http://b:80", Outcome::Failure).unwrap();
        let text = fs::read_to_string(sf.path()).unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["origins"]["http://a:80"]["window"] = serde_json::json!([[1, 2]]);
        fs::write(sf.path(), v.to_string()).unwrap();
        let show = sf.show().unwrap();
        assert_eq!(show.warnings.len(), 1);
        assert_eq!(show.warnings[0].kind, WarningKind::CorruptEntry);
        assert!(show.warnings[0].message.contains("http://a:80"));
        assert_eq!(show.value.origins.len(), 1);
        assert_eq!(show.value.origins[0].failures_in_window, 1);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn an_oversized_or_unreadable_file_is_replaced_or_reported_never_a_panic() {
        let (sf, _clock, dir) = setup("big");
        call(&sf, O, Outcome::Success).unwrap();
        let f = File::create(sf.path()).unwrap();
        f.set_len(MAX_FILE_BYTES + 10).unwrap();
        let op = sf.acquire(O, &cfg()).unwrap();
        assert_eq!(op.warnings[0].kind, WarningKind::TooLarge);
        assert!(fs::metadata(sf.path()).unwrap().len() < 4096);
        // A directory where the file should be: unreadable, and it cannot be replaced: an error.
        fs::remove_file(sf.path()).unwrap();
        fs::create_dir(sf.path()).unwrap();
        match sf.acquire(O, &cfg()) {
            Err(e @ StateFileError::Write { .. }) => {
                assert!(e.to_string().contains("cannot write"))
            }
            other => panic!("{other:?}"),
        }
        let _ = fs::remove_dir_all(dir);
    }

    /// Every number in an entry at its maximum, and random damage to a valid file: reported or
    /// absorbed, never a panic.
    #[test]
    fn hostile_values_and_random_damage_never_panic() {
        let (sf, _clock, dir) = setup("hostile");
        call(&sf, O, Outcome::Failure).unwrap();
        let good = fs::read(sf.path()).unwrap();
        let mut v: serde_json::Value = serde_json::from_slice(&good).unwrap();
        fn max_out(v: &mut serde_json::Value) {
            match v {
                serde_json::Value::Number(n) => {
                    *v = if n.as_u64().is_some_and(|x| x <= u64::from(u32::MAX)) {
                        u32::MAX.into()
                    } else {
                        u64::MAX.into()
                    }
                }
                serde_json::Value::Array(a) => a.iter_mut().for_each(max_out),
                serde_json::Value::Object(o) => o.values_mut().for_each(max_out),
                _ => {}
            }
        }
        let entry = &mut v["origins"][O];
        max_out(entry);
        entry["config"]["buckets"] = 10.into();
        for state in ["closed", "open", "half_open"] {
            v["origins"][O]["state"] = state.into();
            fs::write(sf.path(), v.to_string()).unwrap();
            let op = sf.acquire(O, &cfg()).unwrap();
            if let Ok(p) = op.value {
                let _ = sf.record(p, Outcome::Failure).unwrap();
            }
            let _ = sf.show().unwrap().value.to_string();
            let _ = sf.force_open(O, &cfg(), Some(Duration::MAX)).unwrap();
            let _ = sf.reset(None).unwrap();
        }
        let mut rng = XorShift64::new(5);
        for _ in 0..200 {
            let mut bytes = good.clone();
            for _ in 0..=rng.below_or_eq(4) {
                let i = rng.below_or_eq(bytes.len() as u64 - 1) as usize;
                bytes[i] = rng.next_u64() as u8;
            }
            if rng.below_or_eq(3) == 0 {
                bytes.truncate(rng.below_or_eq(bytes.len() as u64) as usize);
            }
            fs::write(sf.path(), &bytes).unwrap();
            let op = sf.acquire(O, &cfg()).unwrap();
            if let Ok(p) = op.value {
                sf.record(p, Outcome::Success).unwrap();
            }
        }
        assert!(sf.show().unwrap().warnings.is_empty());
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn the_window_layout_changing_restarts_the_count_with_a_warning() {
        let (sf, _clock, dir) = setup("cfg");
        call(&sf, O, Outcome::Failure).unwrap();
        call(&sf, O, Outcome::Failure).unwrap();
        let mut c = cfg();
        c.time_window = Duration::from_secs(20);
        let op = sf.acquire(O, &c).unwrap();
        assert_eq!(op.warnings[0].kind, WarningKind::ConfigChanged);
        let rec = sf.record(op.value.unwrap(), Outcome::Failure).unwrap();
        assert!(rec.warnings.is_empty(), "reported once: {:?}", rec.warnings);
        assert_eq!(rec.value.state, State::Closed);
        assert_eq!(rec.value.failures_in_window, 1);
        // A threshold change alone keeps the count.
        c.error_threshold = 0;
        let op = sf.acquire(O, &c).unwrap();
        assert!(op.warnings.is_empty());
        let rec = sf.record(op.value.unwrap(), Outcome::Success).unwrap();
        assert_eq!(rec.value.failures_in_window, 1);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn the_least_recently_used_origins_are_evicted() {
        let (sf, clock, dir) = setup("lru");
        let sf = sf.with_max_origins(3);
        for o in ["http://a:1", "http://b:1", "http://c:1"] {
            call(&sf, o, Outcome::Success).unwrap();
            clock.advance(ms_(10));
        }
        // Touch a, so b is the oldest.
        call(&sf, "http://a:1", Outcome::Success).unwrap();
        clock.advance(ms_(10));
        let op = sf.acquire("http://d:1", &cfg()).unwrap();
        assert_eq!(op.warnings.len(), 1);
        assert_eq!(op.warnings[0].kind, WarningKind::Evicted);
        assert!(op.warnings[0].message.ends_with("http://b:1"));
        let names: Vec<String> = sf
            .show()
            .unwrap()
            .value
            .origins
            .into_iter()
            .map(|o| o.origin)
            .collect();
        assert_eq!(names, vec!["http://a:1", "http://c:1", "http://d:1"]);
        drop(op);
        let _ = fs::remove_dir_all(dir);
    }

    #[test]
    fn a_held_lock_times_out_instead_of_hanging() {
        let (sf, _clock, dir) = setup("lock");
        call(&sf, O, Outcome::Success).unwrap();
        let held = sf.lock().unwrap();
        let impatient = sf.clone().with_lock_timeout(ms_(30));
        match impatient.show() {
            Err(StateFileError::LockTimeout { .. }) => {}
            other => panic!("{other:?}"),
        }
        unlock(held);
        assert!(impatient.show().is_ok());
        let _ = fs::remove_dir_all(dir);
    }

    /// Threads, each with its own file descriptors (so their flocks conflict as processes'
    /// would), do load-modify-store at once: not one update may be lost.
    #[test]
    fn concurrent_writers_lose_no_update() {
        let (sf, _clock, dir) = setup("threads");
        let mut big = cfg();
        big.error_threshold = u32::MAX;
        std::thread::scope(|s| {
            for t in 0..4 {
                let sf = StateFile::at(sf.path());
                let big = big;
                s.spawn(move || {
                    for i in 0..40 {
                        let p = sf.acquire(O, &big).unwrap().value.unwrap();
                        let o = if (i + t) % 2 == 0 {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        };
                        sf.record(p, o).unwrap();
                    }
                });
            }
        });
        let show = StateFile::at(sf.path()).show().unwrap().value;
        let c = show.origins[0].counters;
        assert_eq!((c.failures, c.successes), (80, 80));
        let _ = fs::remove_dir_all(dir);
    }

    /// The same across real processes: this test binary re-runs itself as two children.
    #[test]
    fn concurrent_processes_lose_no_update() {
        if let Some(path) = std::env::var_os("WTCURL_BREAKER_CHILD") {
            child_writes(Path::new(&path));
            return;
        }
        let (sf, _clock, dir) = setup("procs");
        let exe = std::env::current_exe().unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(&exe)
                    .args([
                        "--exact",
                        "breaker::state_file::tests::concurrent_processes_lose_no_update",
                        "--test-threads=1",
                        "--quiet",
                    ])
                    .env("WTCURL_BREAKER_CHILD", sf.path())
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        child_writes(sf.path());
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let show = StateFile::at(sf.path()).show().unwrap().value;
        assert_eq!(show.origins[0].counters.failures, 3 * 50);
        let _ = fs::remove_dir_all(dir);
    }

    fn child_writes(path: &Path) {
        let sf = StateFile::at(path);
        let mut big = cfg();
        big.error_threshold = u32::MAX;
        for _ in 0..50 {
            let p = sf.acquire(O, &big).unwrap().value.unwrap();
            sf.record(p, Outcome::Failure).unwrap();
        }
    }
}
