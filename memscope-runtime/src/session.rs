//! What `#[memscope::main]` does around the program: check the report destination at
//! start-up, then print the summary and write the report at shutdown.

use crate::error::Error;
use crate::report::{self, ReportFormat};
use crate::snapshot::snapshot;
use std::path::PathBuf;

/// Environment variable naming the report file (overrides the attribute's `report`).
pub const REPORT_ENV: &str = "MEMSCOPE_REPORT";

/// Options of a [`Session`], as `#[memscope::main(…)]` passes them.
///
/// ```
/// let opts = memscope_runtime::SessionOptions::new().report("target/memscope/report.json").summary(false);
/// # let _ = opts;
/// ```
#[derive(Clone, Debug)]
pub struct SessionOptions {
    report: Option<PathBuf>,
    format: Option<String>,
    summary: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            report: None,
            format: None,
            summary: true,
        }
    }
}

impl SessionOptions {
    /// Summary on, no report file.
    pub fn new() -> Self {
        Self::default()
    }

    /// Write a report to `path` at shutdown; the format follows the extension
    /// (`.txt`, `.json`, `.html`, `.trace.json`) unless [`SessionOptions::format`] says.
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
}

/// A profiling session around a program's main body.
#[derive(Debug)]
pub struct Session {
    summary: bool,
    report: Option<(PathBuf, ReportFormat)>,
}

impl Session {
    /// Starts a session: checks the hook and the report destination now, so a mistake is
    /// reported at start-up (on stderr) instead of lost at shutdown. Never panics; the
    /// summary is printed whatever happens to the report.
    pub fn start(options: SessionOptions) -> Session {
        if !crate::hook_installed() {
            eprintln!("memscope: {}", Error::HookNotInstalled);
        }
        let path = std::env::var_os(REPORT_ENV)
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or(options.report);
        let report =
            path.and_then(
                |path| match report::prepare(&path, options.format.as_deref()) {
                    Ok(format) => Some((path, format)),
                    Err(e) => {
                        eprintln!("memscope: {e}; the summary will still be printed");
                        None
                    }
                },
            );
        Session {
            summary: options.summary,
            report,
        }
    }

    /// Ends the session: prints the summary to stderr and writes the report.
    pub fn finish(self) {
        let snap = snapshot();
        if self.summary {
            eprintln!("{}", report::text::render(&snap));
        }
        if let Some((path, format)) = &self.report {
            match report::write(&snap, path, *format) {
                Ok(()) => eprintln!("memscope: report written to {}", path.display()),
                Err(e) => eprintln!("memscope: {e}"),
            }
        }
    }
}
