//! What `#[memscope::main]` does around the program: check the report destination and
//! start the sampler at start-up, then print the summary and write the report at
//! shutdown.

use crate::base::config_env::env_value;
use crate::base::error::Error;
use crate::base::format::ReportFormat;
use crate::books::sampler;
use crate::report;
use crate::view::snapshot::snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Environment variable naming the report file (overrides the attribute's `report`); the
/// format follows its extension.
pub const REPORT_ENV: &str = "MEMSCOPE_REPORT";

/// Environment variable that starts the live endpoint at the address it names, for
/// `#[memscope::main]` and the seed API's `initialize()` (overrides `serve = "…"`; needs
/// the `serve` feature).
pub const SERVE_ENV: &str = "MEMSCOPE_SERVE";

/// Sessions started and not yet ended.
static OPEN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a session is running (one started by `#[memscope::main]`, say), so another
/// part of memscope does not start a second one that would write the same report.
pub(crate) fn is_open() -> bool {
    // Relaxed: sessions start and end on the program's own schedule.
    OPEN.load(std::sync::atomic::Ordering::Relaxed) > 0
}

/// Options of a [`Session`], as `#[memscope::main(…)]` passes them.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use std::time::Duration;
/// let opts = memscope::SessionOptions::new()
///     .report("target/memscope/report.json")
///     .summary(false)
///     .sample_interval(Duration::from_millis(5));
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
pub struct SessionOptions {
    report: Option<PathBuf>,
    format: Option<String>,
    summary: bool,
    sampler: bool,
    sample_interval: Duration,
    serve: Option<String>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            report: None,
            format: None,
            summary: true,
            sampler: true,
            sample_interval: sampler::DEFAULT_INTERVAL,
            serve: None,
        }
    }
}

impl SessionOptions {
    /// Summary on, sampler on (first every [`sampler::DEFAULT_INTERVAL`], coarsening as
    /// the run grows), no report file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Write a report to `path` at shutdown; the format follows the extension
    /// (`.txt`, `.json`, `.html`, `.trace.json`) unless [`SessionOptions::format`] says.
    /// The `MEMSCOPE_REPORT` environment variable overrides it.
    pub fn report(mut self, path: impl Into<PathBuf>) -> Self {
        self.report = Some(path.into());
        self
    }

    /// Report format: `"text"`, `"json"`, `"html"` or `"trace"`.
    pub fn format(mut self, format: impl Into<String>) -> Self {
        self.format = Some(format.into());
        self
    }

    /// Whether to print the summary to stderr at shutdown (default: yes).
    pub fn summary(mut self, on: bool) -> Self {
        self.summary = on;
        self
    }

    /// Whether to run the background sampler that draws the timeline (default: yes).
    pub fn sampler(mut self, on: bool) -> Self {
        self.sampler = on;
        self
    }

    /// Time between the first two timeline samples (default
    /// [`sampler::DEFAULT_INTERVAL`]); it doubles each time the sampler's ring fills, so a
    /// long run keeps a bounded timeline (see [`sampler`]).
    pub fn sample_interval(mut self, interval: Duration) -> Self {
        self.sample_interval = interval;
        self
    }

    /// Serve the live endpoint at `addr` while the session runs (needs the `serve`
    /// feature; see `memscope::serve`). The `MEMSCOPE_SERVE` environment variable
    /// overrides it, and starts the endpoint even when this is not called.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// let opts = memscope::SessionOptions::new().serve("127.0.0.1:6060").summary(false);
    /// # let _ = opts;
    /// ```
    pub fn serve(mut self, addr: impl Into<String>) -> Self {
        self.serve = Some(addr.into());
        self
    }
}

/// Rewrites the session's `report` at the interval `MEMSCOPE_REPORT_EVERY` names, if set;
/// a bad value or a missing report is a line on stderr.
fn start_periodic(report: Option<&(PathBuf, ReportFormat)>) -> Option<report::every::Periodic> {
    use report::every::{parse_every, REPORT_EVERY_ENV};
    let every = env_value(REPORT_EVERY_ENV)?;
    let Some(interval) = parse_every(&every) else {
        eprintln!("memscope: {REPORT_EVERY_ENV}=`{every}` is not an interval; give e.g. `30s`, `500ms` or `5m`");
        return None;
    };
    let Some((path, format)) = report else {
        eprintln!(
            "memscope: {REPORT_EVERY_ENV} is set but no report is asked for; set `MEMSCOPE_REPORT` \
             (or `report = \"…\"`) too"
        );
        return None;
    };
    report::every::start(path.clone(), *format, interval)
}

/// The live endpoint a session runs, if built.
#[cfg(feature = "serve")]
type Endpoint = crate::serve::Server;
#[cfg(not(feature = "serve"))]
type Endpoint = ();

/// Starts the endpoint `MEMSCOPE_SERVE` or `configured` names; a failure is a line on
/// stderr, never the program's end (profiling must not take a service down).
fn start_endpoint(configured: Option<&str>) -> Option<Endpoint> {
    let env = env_value(SERVE_ENV);
    let addr = env.as_deref().or(configured)?;
    #[cfg(feature = "serve")]
    let started = crate::serve::serve(addr);
    #[cfg(not(feature = "serve"))]
    let started: Result<Endpoint, Error> = Err(Error::ServeNotBuilt);
    match started {
        Ok(endpoint) => {
            #[cfg(feature = "serve")]
            eprintln!(
                "memscope: serving http://{}/ (/metrics, /debug/pprof/heap, /report.html)",
                endpoint.addr()
            );
            Some(endpoint)
        }
        Err(e) => {
            eprintln!("memscope: {e} ({addr} asked); the program runs on without it");
            None
        }
    }
}

/// A profiling session around a program's main body: what `#[memscope::main]` opens.
/// [`Session::end`] ends it (takes the last sample and snapshot, writes the report);
/// [`SessionEnd::print`] then prints the summary as `#[memscope::main]` does. Dropping a
/// session that was not ended (for instance while a panic unwinds out of `main`) does both.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{Session, SessionOptions};
/// let dir = std::env::temp_dir().join("memscope-doc-session");
/// let session = Session::start(SessionOptions::new().report(dir.join("r.html")).summary(false));
/// assert!(session.start_error().is_none());
/// let end = session.end();
/// assert!(end.summary.starts_with("memscope"));
/// assert!(end.report.as_ref().unwrap().is_ok());
/// end.print(); // prints nothing but the report's path: the summary is off
/// ```
#[derive(Debug)]
pub struct Session {
    summary: bool,
    report: Option<(PathBuf, ReportFormat)>,
    start_error: Option<Error>,
    stop_sampler: bool,
    endpoint: Option<Endpoint>,
    periodic: Option<report::every::Periodic>,
    done: bool,
}

/// What [`Session::end`] produced.
#[derive(Debug)]
#[non_exhaustive]
pub struct SessionEnd {
    /// The text summary (always produced, whatever happened to the report).
    pub summary: String,
    /// Where the report went, or why it could not be written; `None` when no report was
    /// asked for or its path was rejected at start-up (see [`Session::start_error`]).
    pub report: Option<Result<PathBuf, Error>>,
    /// Whether the summary was asked for.
    print_summary: bool,
    /// Whether the report was lost (rejected at start-up or not written).
    report_lost: bool,
    /// The snapshot at a SIGINT/SIGTERM the program handled, if one arrived.
    at_signal: Option<crate::shutdown::AtSignal>,
}

impl SessionEnd {
    /// Prints to stderr what `#[memscope::main]` prints at shutdown: the summary (also
    /// when it was turned off, if the report was lost: the figures are never lost), and
    /// where the report went or why it could not be written.
    pub fn print(&self) {
        // `writeln!`, not `eprintln!`: a closed stderr must not panic here (this also runs
        // while a panic unwinds out of `main`, where a second panic aborts).
        let mut err = std::io::stderr();
        if let Some(at) = &self.at_signal {
            if self.print_summary || matches!(at.report, Some(Err(_))) {
                let _ = writeln!(err, "{}", at.summary);
            }
            report_line(&mut err, &at.report, &format!("report at {}", at.signal));
            if self.print_summary {
                let _ = writeln!(err, "memscope: at exit");
            }
        }
        if self.print_summary || self.report_lost {
            let _ = writeln!(err, "{}", self.summary);
        }
        report_line(&mut err, &self.report, "report");
    }

    /// Whether the report asked for was lost (rejected at start-up or not written).
    pub fn report_lost(&self) -> bool {
        self.report_lost
    }
}

/// "memscope: report written to …" (with a hint to open an HTML page), or why not.
fn report_line(err: &mut impl Write, report: &Option<Result<PathBuf, Error>>, what: &str) {
    let _ = match report {
        Some(Ok(path)) => {
            let html = matches!(ReportFormat::from_path(path), Ok(ReportFormat::Html));
            let hint = if html { " (open it in a browser)" } else { "" };
            writeln!(err, "memscope: {what} written to {}{hint}", path.display())
        }
        Some(Err(e)) => writeln!(err, "memscope: {e}"),
        None => Ok(()),
    };
}

impl Session {
    /// Starts a session: checks the hook and the report destination now, so a mistake is
    /// reported at start-up (on stderr) instead of lost at shutdown, and starts the
    /// sampler. Never panics; the summary is printed whatever happens to the report.
    pub fn start(options: SessionOptions) -> Session {
        crate::track::process::keep_std_state_out_of_tasks();
        if !crate::hook::hook_installed() {
            eprintln!("memscope: {}", Error::HookNotInstalled);
        }
        let env = std::env::var_os(REPORT_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from);
        let target = match env {
            // The attribute's explicit format was chosen for its own path.
            Some(path) => match ReportFormat::from_path(&path) {
                Ok(_) => Some((path, None)),
                Err(_) => Some((path, options.format.clone())),
            },
            None => options.report.map(|p| (p, options.format.clone())),
        };
        let mut start_error = None;
        let report =
            target.and_then(
                |(path, format)| match report::prepare(&path, format.as_deref()) {
                    Ok(format) => Some((path, format)),
                    Err(e) => {
                        eprintln!("memscope: {e}; the summary will still be printed");
                        start_error = Some(e);
                        None
                    }
                },
            );
        // Watch SIGINT/SIGTERM for a snapshot at the signal (nothing changes in how the
        // program reacts to them).
        crate::shutdown::arm(report.clone(), options.summary);
        let stop_sampler = options.sampler && !sampler::is_running();
        if options.sampler {
            let _ = sampler::start(options.sample_interval);
        }
        OPEN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let endpoint = start_endpoint(options.serve.as_deref());
        let periodic = start_periodic(report.as_ref());
        Session {
            summary: options.summary,
            report,
            start_error,
            stop_sampler,
            endpoint,
            periodic,
            done: false,
        }
    }

    /// The problem found with the report destination at start-up, if any.
    pub fn start_error(&self) -> Option<&Error> {
        self.start_error.as_ref()
    }

    /// Where and in which format the report will be written.
    pub fn report_target(&self) -> Option<(&Path, ReportFormat)> {
        self.report.as_ref().map(|(p, f)| (p.as_path(), *f))
    }

    /// Ends the session, printing nothing: stops the sampler it started, takes a final
    /// sample and snapshot, renders the summary and writes the report.
    pub fn end(mut self) -> SessionEnd {
        self.done = true;
        self.end_inner()
    }

    fn end_inner(&mut self) -> SessionEnd {
        OPEN.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        let at_signal = crate::shutdown::disarm();
        if self.stop_sampler {
            sampler::stop();
        }
        if let Some(periodic) = self.periodic.take() {
            periodic.stop();
        }
        sampler::sample_now();
        let snap = snapshot();
        let summary = snap.to_string();
        let report = self
            .report
            .as_ref()
            .map(|(path, format)| report::write_file(&snap, path, *format).map(|()| path.clone()));
        let report_lost = self.start_error.is_some() || matches!(report, Some(Err(_)));
        #[cfg(feature = "serve")]
        if let Some(endpoint) = self.endpoint.take() {
            endpoint.stop();
        }
        #[cfg(not(feature = "serve"))]
        let _ = self.endpoint.take();
        SessionEnd {
            summary,
            report,
            print_summary: self.summary,
            report_lost,
            at_signal,
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        if !self.done {
            self.done = true;
            self.end_inner().print();
        }
    }
}
