//! Phase 0 of `--explain`: the process, observed from /proc, with the shell's part inferred.

use super::Explain;
use crate::render::fmt::{Thousands, Us};
use std::io::Write;

impl<W: Write> Explain<W> {
    /// Phase 0: how wtcurl came to be running. Observed facts from /proc; the shell's part inferred.
    pub(super) fn process(&mut self, at: u64, v: &crate::process::ProcessView) {
        self.heading(format_args!("── 0. Process "), at);
        self.note("why: before any network, the shell had to start wtcurl; this is what the kernel shows of that.");
        let parent = if v.parent.is_empty() {
            "?".to_string()
        } else {
            v.parent.clone()
        };
        self.linef(format_args!(
            "   pid {}, parent pid {} ({parent}); executable {}",
            v.pid, v.ppid, v.exe
        ));
        self.linef(format_args!("   argv: {:?}", v.argv));
        if v.argv_masked {
            self.secrets_masked();
        }
        let argv0 = v.argv.first().map_or("", String::as_str);
        match (&v.path_entry, &v.execfn) {
            (Some((i, dir)), Some(f)) => self.linef(format_args!(
                "   PATH lookup: {argv0} is in entry {i} of PATH, {dir}; execve() was given {f} (AT_EXECFN)"
            )),
            (Some((i, dir)), None) => self.linef(format_args!(
                "   PATH lookup: {argv0} is in entry {i} of PATH, {dir}"
            )),
            (None, Some(f)) => self.linef(format_args!(
                "   argv[0] has a slash, so no PATH lookup was needed; execve() was given {f} (AT_EXECFN)"
            )),
            (None, None) => self.line("   argv[0] has a slash, so no PATH lookup was needed"),
        }
        if let Some(l) = &v.loader {
            let names: Vec<&str> = v
                .libraries
                .iter()
                .map(|p| p.rsplit('/').next().unwrap_or(p))
                .collect();
            self.linef(format_args!(
                "   dynamic loader {l} mapped {} shared libraries: {}",
                names.len(),
                names.join(", ")
            ));
        } else {
            self.line("   no dynamic loader mapped: a static executable");
        }
        if let (Some(cpu), Some(minor), Some(major)) = (
            v.cpu_before_main_us,
            v.minor_faults_before_main,
            v.major_faults_before_main,
        ) {
            self.linef(format_args!(
                "   before main: {} of CPU time, {} minor and {} major page faults (CLOCK_PROCESS_CPUTIME_ID, getrusage)",
                Us(cpu),
                Thousands(minor),
                Thousands(major)
            ));
            self.note("both count from the process's fork: the end of fork, execve, the loader, Rust's start-up, and whatever ran in the process before execve (a launcher that execs in place, like cargo run, adds its own); waiting is not CPU time; a minor fault found the page in memory, a major one read it from disk");
        }
        let shells = [
            "bash", "sh", "dash", "zsh", "fish", "ksh", "mksh", "tcsh", "csh", "busybox",
        ];
        let executed = v.execfn.as_deref().unwrap_or(&v.exe);
        if shells.contains(&parent.as_str()) {
            self.note(format_args!(
                "inferred, not observed: {parent} read the line, parsed it, found the program, fork()ed (clone) and the child execve()d {executed}; {parent} now waits in wait4() for the exit status"
            ));
        } else {
            self.note(format_args!(
                "inferred, not observed: the parent, {parent}, is not a shell; it fork()ed (clone) and the child execve()d {executed}; {parent} collects the exit status with wait4() or waitpid()"
            ));
        }
    }
}
