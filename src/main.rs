//! The `wtcurl` binary: parse flags, pick renderers, run the engine, exit with curl's code.

use anyhow::Context;
use clap::Parser;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;
use wtcurl::capture::session::Session;
use wtcurl::cli::Args;
use wtcurl::clock::Clock;
use wtcurl::clock::RealClock;
use wtcurl::engine::Request;
use wtcurl::error::{Error, Label, Phase};
use wtcurl::event::{Fanout, Observer, Tracer};
use wtcurl::process::ProcessView;
use wtcurl::render::explain::Explain;
use wtcurl::render::json::JsonTrace;
use wtcurl::render::palette::Palette;
use wtcurl::render::verbose::Verbose;
use wtcurl::render::writeout::Metrics;
use wtcurl::{demo, engine};

/// `-o FILE`, created on the first write as curl does, so a failed request leaves no empty file.
struct LazyFile {
    path: PathBuf,
    file: Option<BufWriter<File>>,
}

impl Write for LazyFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.file.is_none() {
            let file = File::create(&self.path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot create {}: {e}", self.path.display()),
                )
            })?;
            self.file = Some(BufWriter::with_capacity(64 * 1024, file));
        }
        self.file.as_mut().map_or(Ok(0), |f| f.write(buf))
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().map_or(Ok(()), |f| f.flush())
    }
}

fn stdout_writer() -> anyhow::Result<BufWriter<File>> {
    // A plain File on a dup of fd 1: one write(2) per chunk, no line buffering of binary bodies.
    let fd = std::io::stdout()
        .as_fd()
        .try_clone_to_owned()
        .context("dup stdout")?;
    Ok(BufWriter::with_capacity(64 * 1024, File::from(fd)))
}

fn main() -> anyhow::Result<()> {
    // First thing: the closer to the start of main, the truer the "before main" figures are.
    // Only when something will show it: reading /proc costs time every run would pay.
    let shows_process = std::env::args()
        .any(|a| a == "--explain" || a == "--demo" || a.starts_with("--trace-json"));
    let process_view = shows_process.then(wtcurl::process::observe);
    let mut args = Args::parse();
    if let Err(e) = args.check_modes() {
        if args.show_errors() {
            print_error(&e);
        }
        std::process::exit(i32::from(e.exit_code()));
    }
    let mut demo_roots = None;
    if args.demo {
        let ins = demo::start().context("starting the demo's loopback stand-ins")?;
        eprint!("{}", demo::banner(&ins));
        args.url = Some(demo::DEMO_HOST.to_string());
        args.explain = true;
        args.kernel_view = true;
        args.ladder = true;
        args.location = true;
        args.dns_servers = Some(ins.dns.to_string());
        args.connect_to
            .push(format!("{}:80::{}", demo::DEMO_HOST, ins.http.port()));
        args.connect_to
            .push(format!("{}:443::{}", demo::DEMO_HOST, ins.https.port()));
        demo_roots = Some(ins.ca_der);
    }
    if args.breaker_show || args.breaker_reset.is_some() {
        let code = breaker_admin(&args).unwrap_or_else(|e| {
            if args.show_errors() {
                print_error(&e);
            }
            e.exit_code()
        });
        std::process::exit(i32::from(code));
    }
    let interval = match &args.interval {
        Some(s) => match wtcurl::guard::parse_duration(s) {
            Ok(d) => d,
            Err(e) => {
                let e = Error::new(
                    Phase::Setup,
                    Label::BadUsage,
                    format!("--interval {s:?}: {e}"),
                )
                .hint("give a duration such as 500ms, 2s or 1m");
                if args.show_errors() {
                    print_error(&e);
                }
                std::process::exit(i32::from(e.exit_code()));
            }
        },
        None => std::time::Duration::ZERO,
    };
    // The flags, checked once: an error ends here (curl's exit code), a warning is printed once
    // and the run goes on, as curl does.
    let (mut req, warnings) = match args.to_request_with_warnings() {
        Ok(r) => r,
        Err(e) => {
            if args.show_errors() {
                print_error(&e);
            }
            std::process::exit(i32::from(e.exit_code()));
        }
    };
    let write_out = args.write_out_format().unwrap_or_else(|w| {
        if args.show_warnings() {
            print_warning(&w);
        }
        None
    });
    if args.show_warnings() {
        warnings.iter().for_each(print_warning);
    }
    if let Some(der) = demo_roots {
        req.tls.extra_roots.push(der);
        req.tls.extra_roots_label = Some(demo::DEMO_CA_LABEL.to_string());
    }
    let n = args.repeat.max(1);
    let mut code = 0;
    // Bounded: N requests, N-1 waits.
    for i in 1..=n {
        let run = run(&args, &req, write_out.as_deref(), process_view.clone())?;
        code = run.code;
        if n > 1 {
            let http = run
                .http_code
                .map(|c| format!("HTTP {c}"))
                .unwrap_or_else(|| "no response".into());
            let breaker = run
                .breaker
                .map(|b| format!(", breaker {b}"))
                .unwrap_or_default();
            let took = wtcurl::render::fmt::us(run.total_us);
            eprintln!("wtcurl: request {i}/{n}: exit {code}, {http}, {took}{breaker}");
        }
        if i < n {
            std::thread::sleep(interval);
        }
    }
    std::process::exit(i32::from(code));
}

/// `--breaker-show` and `--breaker-reset`; a state-file failure is `breaker_state_error` (121).
fn breaker_admin(args: &Args) -> Result<u8, Error> {
    use wtcurl::breaker::state_file::StateFile;
    use wtcurl::guard::state_error;
    let file = match &args.breaker_state {
        Some(p) => StateFile::at(p.clone()),
        None => StateFile::open_default().map_err(state_error)?,
    };
    if let Some(origin) = &args.breaker_reset {
        let which = (!origin.is_empty()).then_some(origin.as_str());
        let op = file.reset(which).map_err(state_error)?;
        println!("reset {} origin(s) in {}", op.value, file.path().display());
        return Ok(0);
    }
    let op = file.show().map_err(state_error)?;
    for w in &op.warnings {
        eprintln!("wtcurl: breaker state file: {w}");
    }
    print!("{}", op.value);
    Ok(0)
}

/// What one run came to, for --repeat's summary line.
struct RunOutcome {
    code: u8,
    http_code: Option<u16>,
    total_us: u64,
    breaker: Option<String>,
}

fn run(
    args: &Args,
    req: &Request,
    write_out: Option<&str>,
    process_view: Option<ProcessView>,
) -> anyhow::Result<RunOutcome> {
    let req = req.clone();
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(LazyFile {
            path: path.clone(),
            file: None,
        }),
        None => Box::new(stdout_writer()?),
    };
    let clock = RealClock::new();
    let mut metrics = Metrics::new(
        args.url.as_deref().unwrap_or_default(),
        &engine::initial_method(&req),
        args.output.as_ref().map(|p| p.display().to_string()),
    );
    let capturing = args.packets || args.pcap.is_some();
    let mut explain = args.explain.then(|| {
        let e = Explain::new(
            std::io::BufWriter::new(std::io::stderr()),
            Palette::for_stderr(args.no_color),
        );
        // With a capture the ladder is drawn from the packets (--packets always draws it); if the
        // capture cannot start (no CAP_NET_RAW), it is built from syscalls instead, and says so.
        let e = if args.verbose {
            e.interleaved_with_verbose()
        } else {
            e
        };
        if args.ladder || capturing {
            e.with_syscall_ladder()
        } else {
            e
        }
    });
    let mut verbose = args.verbose.then(|| Verbose::new(std::io::stderr()));
    // As curl's --trace FILE: a file that cannot be created is no reason to stop the transfer
    // (curl then writes the trace to stderr); wtcurl warns and goes on without the trace.
    let mut trace = match &args.trace_json {
        Some(p) => match File::create(p) {
            Ok(f) => Some(JsonTrace::new(BufWriter::new(f))),
            Err(e) => {
                if args.show_warnings() {
                    print_warning(
                        &Error::new(
                            Phase::Output,
                            Label::WriteFailed,
                            format!(
                                "cannot create the trace file {}: {e}; going on without a trace",
                                p.display()
                            ),
                        )
                        .hint("check that the directory exists and is writable (curl's --trace, too, goes on)"),
                    );
                }
                None
            }
        },
        None => None,
    };
    let mut guard = match &args.breaker {
        Some(spec) => match wtcurl::guard::BreakerGuard::new(spec, args.breaker_state.clone()) {
            Ok(g) => Some(g),
            Err(e) => {
                print_error(&e);
                return Ok(RunOutcome {
                    code: e.exit_code(),
                    http_code: None,
                    total_us: 0,
                    breaker: None,
                });
            }
        },
        None => None,
    };
    let mut capture = (args.packets || args.pcap.is_some())
        .then(|| Session::start(&req, args.pcap.clone(), clock.epoch_us()));
    let mut feeder = capture.as_ref().map(Session::feeder);
    let result = {
        let mut fan = Fanout::default();
        if let Some(f) = feeder.as_mut() {
            fan.observers.push(f as &mut dyn Observer);
        }
        fan.observers.push(&mut metrics);
        if let Some(e) = explain.as_mut() {
            fan.observers.push(e as &mut dyn Observer);
        }
        if let Some(v) = verbose.as_mut() {
            fan.observers.push(v as &mut dyn Observer);
        }
        if let Some(t) = trace.as_mut() {
            fan.observers.push(t as &mut dyn Observer);
        }
        let mut tracer = Tracer::new(&clock, &mut fan);
        if let Some(process) = process_view {
            let at = tracer.now_us();
            tracer.emit(wtcurl::event::Event::Process { at_us: at, process });
        }
        if let Some(c) = &capture {
            c.announce(&mut tracer);
        }
        let mut hooks = engine::HookList::default();
        if let Some(g) = guard.as_mut() {
            hooks.0.push(g);
        }
        if let Some(c) = capture.as_mut() {
            hooks.0.push(c);
        }
        engine::run_with(&mut tracer, &req, &mut *out, &mut hooks)
    };
    let _ = out.flush();
    let code = match &result {
        Ok(()) => 0,
        Err(e) => {
            if args.show_errors() {
                print_error(e);
            }
            e.exit_code()
        }
    };
    if let Some(t) = trace
        && let Some(e) = t.error
    {
        eprintln!("wtcurl: writing the JSON trace failed: {e}");
    }
    if let Some(template) = write_out {
        metrics.write(
            template,
            &mut std::io::stdout().lock(),
            &mut std::io::stderr().lock(),
        );
    }
    Ok(RunOutcome {
        code,
        http_code: (metrics.http_code != 0).then_some(metrics.http_code),
        total_us: metrics.total_us,
        breaker: guard.and_then(|g| g.state_after),
    })
}

/// A warning: curl would go on, and so does wtcurl. Phase and label, then the hint.
fn print_warning(e: &Error) {
    eprintln!(
        "wtcurl: warning: [{}] {}: {}",
        e.phase.as_str(),
        e.label.as_str(),
        e.message
    );
    if let Some(h) = &e.hint {
        eprintln!("wtcurl: hint: {h}");
    }
}

/// curl's one-line error, plus wtcurl's phase and hint.
fn print_error(e: &Error) {
    eprintln!(
        "wtcurl: ({}) [{}] {}",
        e.exit_code(),
        e.phase.as_str(),
        e.message
    );
    if let Some(h) = &e.hint {
        eprintln!("wtcurl: hint: {h}");
    }
}
