//! The error type of memscope's fallible calls.

use std::fmt;
use std::path::PathBuf;

/// What went wrong, and what to do about it.
///
/// ```
/// let e = memscope_runtime::Error::HookNotInstalled;
/// assert!(e.to_string().contains("#[global_allocator]"));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// No allocation reaches memscope's allocator hook, so nothing can be attributed.
    HookNotInstalled,
    /// A report could not be written to `path`.
    ReportUnwritable {
        /// Where the report was to go.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The report format is not one memscope writes.
    UnknownReportFormat(String),
    /// A tracked task did not give back its output (it panicked or was aborted).
    Join(String),
    /// A monitoring window was stopped without having been started.
    MonitorNotStarted,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::HookNotInstalled => f.write_str(
                "memscope's allocator hook is not installed, so no allocation can be attributed; \
                 keep the default `global-allocator` feature of `memscope`, or add \
                 `#[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();` \
                 (wrap your own allocator with `TrackingAllocator::new(..)`)",
            ),
            Error::ReportUnwritable { path, source } => write!(
                f,
                "cannot write the memscope report to `{}`: {source}; choose a writable path \
                 with `#[memscope::main(report = \"…\")]` or the `MEMSCOPE_REPORT` environment variable",
                path.display()
            ),
            Error::UnknownReportFormat(ext) => write!(
                f,
                "unknown report format `{ext}`; expected `txt`, `json`, `html` or `trace` \
                 (a path ending in `.txt`, `.json`, `.html` or `.trace.json`)"
            ),
            Error::Join(why) => write!(f, "tracked task did not complete: {why}"),
            Error::MonitorNotStarted => {
                f.write_str("the monitor was not started; call `start_monitoring().await` first")
            }
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ReportUnwritable { source, .. } => Some(source),
            _ => None,
        }
    }
}
