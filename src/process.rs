//! Phase 0, the process: how wtcurl came to be running, read from /proc, with what the shell did inferred.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// What wtcurl can observe about its own process.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ProcessView {
    pub pid: u32,
    pub ppid: u32,
    /// The parent's command name (/proc/PPID/comm), usually the shell.
    pub parent: String,
    /// The executable file, as the kernel names the first mapping in /proc/self/maps (execve maps
    /// the program before anything else; the same file /proc/self/exe links to).
    pub exe: String,
    /// The path execve() was given (AT_EXECFN in the auxiliary vector), as the parent wrote it.
    pub execfn: Option<String>,
    /// The command line, with the secrets in it masked (see [`crate::redact::argv`]).
    pub argv: Vec<String>,
    /// Something in argv was masked (a password, an Authorization or Cookie value).
    pub argv_masked: bool,
    /// The PATH entry the parent's lookup of argv[0] used, with its 1-based position: the
    /// directory of execfn when it is in PATH (else a lookup like a shell's); None when argv[0]
    /// contained a slash (no PATH search).
    pub path_entry: Option<(usize, String)>,
    /// The dynamic loader mapped into the process (/proc/self/maps), if any.
    pub loader: Option<String>,
    /// Shared libraries mapped, in map order, without the loader.
    pub libraries: Vec<String>,
    /// CPU time the process used from the fork to main (CLOCK_PROCESS_CPUTIME_ID, exact to the
    /// nanosecond): the child's end of the fork, execve, the loader, std's start-up.
    pub cpu_before_main_us: Option<u64>,
    /// Page faults before main (getrusage): minor ones the kernel served from memory, major ones
    /// that waited for the disk.
    pub minor_faults_before_main: Option<u64>,
    pub major_faults_before_main: Option<u64>,
}

/// Which PATH entry the parent used: the directory of the path it gave execve(), when argv[0]
/// had no slash and that directory is in PATH (no syscall); else a lookup like a shell's.
pub fn path_entry(
    argv0: &str,
    execfn: Option<&str>,
    path_var: &str,
    exe: &Path,
) -> Option<(usize, String)> {
    if argv0.contains('/') {
        return None;
    }
    let dir_of_exec = execfn
        .and_then(|f| f.strip_suffix(argv0))
        .map(|d| d.strip_suffix('/').unwrap_or(d))
        .map(|d| if d.is_empty() { "." } else { d });
    if let Some(dir) = dir_of_exec {
        let found = path_var.split(':').enumerate().find(|(_, entry)| {
            let entry = if entry.is_empty() { "." } else { entry };
            entry == dir || entry.strip_suffix('/') == Some(dir)
        });
        if let Some((i, entry)) = found {
            let entry = if entry.is_empty() { "." } else { entry };
            return Some((i + 1, entry.to_string()));
        }
    }
    path_lookup(argv0, path_var, exe)
}

/// The first mapped file in /proc/self/maps: the executable, which execve maps first.
pub fn first_mapped_file(maps: &str) -> Option<&str> {
    maps.split('\n')
        .find_map(|line| line.find('/').map(|slash| line[slash..].trim_end()))
}

/// Which PATH entry holds `name`, as a shell's lookup would find it.
pub fn path_lookup(name: &str, path_var: &str, exe: &Path) -> Option<(usize, String)> {
    if name.contains('/') {
        return None;
    }
    let canonical = std::fs::canonicalize(exe).unwrap_or_else(|_| exe.to_path_buf());
    path_var.split(':').enumerate().find_map(|(i, dir)| {
        let dir = if dir.is_empty() { "." } else { dir };
        let candidate = PathBuf::from(dir).join(name);
        let same = std::fs::canonicalize(&candidate).is_ok_and(|c| c == canonical);
        same.then(|| (i + 1, dir.to_string()))
    })
}

/// The loader and the shared libraries from the text of /proc/self/maps.
pub fn mapped_libraries(maps: &str) -> (Option<String>, Vec<String>) {
    let mut loader = None;
    let mut libs: Vec<String> = Vec::new();
    let mut previous = "";
    // Cheap on purpose, as this runs in every --explain: one newline search per line, a look at
    // the line's end, and a search for the path's '/' only in lines that end like a shared
    // object. Not the memchr crate: its SIMD paths detect the CPU on first use with CPUID, which a
    // virtual machine traps (about 50 µs here, more than this whole scan).
    for line in maps.split('\n') {
        let line = line.trim_end();
        let name_end = line.strip_suffix(" (deleted)").unwrap_or(line);
        // "libc.so.6", "ld-linux-x86-64.so.2", "libfoo.so": strip the version, then ".so".
        let stem = name_end.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        if !stem.ends_with(".so") && !name_end.ends_with(".so") {
            continue;
        }
        // The path is the last field and the only one with a '/'.
        let Some(slash) = line.find('/') else {
            continue;
        };
        let path = &line[slash..];
        // A file is mapped several times in a row (one mapping per segment): look at it once.
        if path == previous {
            continue;
        }
        previous = path;
        let name = path.rsplit('/').next().unwrap_or(path);
        if name.starts_with("ld-linux") || name.starts_with("ld-musl") || name.starts_with("ld64") {
            loader.get_or_insert_with(|| path.to_string());
        } else if !libs.iter().any(|l| l == path) {
            libs.push(path.to_string());
        }
    }
    (loader, libs)
}

/// A whole /proc file (at most 1 MiB) in few reads. /proc files report size 0, so
/// `fs::read_to_string` would stat the file and then start with 32-byte reads; reading into
/// 8 KiB of spare capacity gets a typical maps file in one read (plus the read that sees the end).
fn read_proc(path: &str) -> String {
    use std::io::Read;
    let mut out = Vec::with_capacity(8192);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(1 << 20).read_to_end(&mut out);
    }
    String::from_utf8(out).unwrap_or_default()
}

/// A /proc file that the kernel writes as one record (comm, stat): a single read returns all of
/// it, so the read that would only see the end is skipped (each syscall costs about 1.5 µs here).
/// `MAX` bounds the record: comm is at most 16 bytes, stat under 1 KiB.
fn read_proc_record<const MAX: usize>(path: &str) -> String {
    use std::io::Read;
    let mut buf = [0u8; MAX];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut buf))
        .unwrap_or(0);
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Reads everything now. Call it first thing in main, so the "before main" figures are close.
pub fn observe() -> ProcessView {
    // First, before this function's own work adds to them. No /proc/self/stat: its start time
    // counts in 10 ms clock ticks (useless for a start that takes about 1 ms), and a first open
    // of a /proc name costs about 10 µs here; the CPU clock and getrusage are one syscall each.
    let cpu = nix::time::clock_gettime(nix::time::ClockId::CLOCK_PROCESS_CPUTIME_ID).ok();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).ok();
    let cpu_before_main_us =
        cpu.map(|c| c.tv_sec() as u64 * 1_000_000 + c.tv_nsec() as u64 / 1_000);
    let ppid = nix::unistd::getppid().as_raw() as u32;
    // The executable's name comes from maps (its first mapping), not readlink(/proc/self/exe):
    // the same file, and one /proc file fewer to open (about 10 µs here, first open of a name).
    let maps = read_proc("/proc/self/maps");
    let exe = first_mapped_file(&maps).unwrap_or_default().to_string();
    let execfn = crate::sys::exec_path();
    let (argv, argv_masked) = crate::redact::argv(&std::env::args().collect::<Vec<_>>());
    let path_entry = argv.first().and_then(|a0| {
        path_entry(
            a0,
            execfn.as_deref(),
            &std::env::var("PATH").unwrap_or_default(),
            Path::new(&exe),
        )
    });
    let (loader, libraries) = mapped_libraries(&maps);
    ProcessView {
        pid: std::process::id(),
        ppid,
        parent: read_proc_record::<64>(&format!("/proc/{ppid}/comm"))
            .trim()
            .to_string(),
        exe,
        execfn,
        argv,
        argv_masked,
        path_entry,
        loader,
        libraries,
        cpu_before_main_us,
        minor_faults_before_main: usage.map(|u| u.minor_page_faults() as u64),
        major_faults_before_main: usage.map(|u| u.major_page_faults() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loader_and_libraries_come_from_maps() {
        let maps = "\
5580 r--p 00000000 08:01 1 /usr/local/bin/wtcurl
7f00 r--p 00000000 08:01 2 /usr/lib/x86_64-linux-gnu/libc.so.6
7f01 r-xp 00001000 08:01 2 /usr/lib/x86_64-linux-gnu/libc.so.6
7f02 r--p 00000000 08:01 3 /usr/lib/x86_64-linux-gnu/libgcc_s.so.1
7f03 r--p 00000000 08:01 4 /usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2
7ffd rw-p 00000000 00:00 0 [stack]
";
        let (loader, libs) = mapped_libraries(maps);
        assert_eq!(
            loader.as_deref(),
            Some("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")
        );
        assert_eq!(
            libs,
            [
                "/usr/lib/x86_64-linux-gnu/libc.so.6",
                "/usr/lib/x86_64-linux-gnu/libgcc_s.so.1"
            ]
        );
    }

    #[test]
    fn the_first_mapped_file_is_the_executable_proc_self_exe_names() {
        let maps = read_proc("/proc/self/maps");
        let exe = std::fs::read_link("/proc/self/exe").unwrap();
        assert_eq!(first_mapped_file(&maps), exe.to_str());
        assert_eq!(first_mapped_file("7ffd rw-p 0 00:00 0 [stack]\n"), None);
    }

    #[test]
    fn the_path_entry_is_the_directory_execve_was_given() {
        let exe = Path::new("/nonexistent-for-test/wtcurl");
        let path = "/usr/bin:/usr/local/bin/:/opt/bin";
        // bash looked wtcurl up in PATH and gave execve the full path: entry 2, as PATH spells it.
        assert_eq!(
            path_entry("wtcurl", Some("/usr/local/bin/wtcurl"), path, exe),
            Some((2, "/usr/local/bin/".to_string()))
        );
        // A slash in argv[0]: no lookup, whatever execve was given.
        assert_eq!(path_entry("./wtcurl", Some("./wtcurl"), path, exe), None);
        // An empty PATH entry means the current directory.
        assert_eq!(
            path_entry("wtcurl", Some("./wtcurl"), "/usr/bin::/opt/bin", exe),
            Some((2, ".".to_string()))
        );
        // execve's directory is not in PATH (exec -a, a hashed path): fall back to a lookup,
        // which finds nothing for a file that does not exist.
        assert_eq!(
            path_entry("wtcurl", Some("/elsewhere/wtcurl"), path, exe),
            None
        );
    }

    #[test]
    fn one_record_files_come_whole_in_one_read() {
        // stat ends with a newline and has (at least) 52 fields: the single read got all of it.
        let stat = read_proc_record::<2048>("/proc/self/stat");
        assert!(stat.ends_with('\n'), "{stat:?}");
        let after_name = &stat[stat.rfind(')').unwrap() + 2..];
        assert!(after_name.split_whitespace().count() >= 52 - 2, "{stat:?}");
        assert!(!read_proc_record::<64>("/proc/self/comm").trim().is_empty());
        assert_eq!(read_proc_record::<64>("/nonexistent/x"), "");
    }

    #[test]
    fn path_lookup_finds_the_entry_and_skips_slashes() {
        let exe = std::env::current_exe().unwrap();
        let dir = exe.parent().unwrap().to_str().unwrap().to_string();
        let name = exe.file_name().unwrap().to_str().unwrap();
        let path = format!("/nonexistent:{dir}:/usr/bin");
        assert_eq!(path_lookup(name, &path, &exe), Some((2, dir)));
        assert_eq!(path_lookup("./x", &path, &exe), None);
    }

    #[test]
    fn observing_this_process_works() {
        let v = observe();
        assert_eq!(v.pid, std::process::id());
        assert!(v.ppid > 0);
        assert!(!v.exe.is_empty());
        // A test binary has run a while by now: it used CPU and faulted pages in.
        assert!(v.cpu_before_main_us.is_some_and(|us| us > 0));
        assert!(v.minor_faults_before_main.is_some_and(|n| n > 0));
    }
}
