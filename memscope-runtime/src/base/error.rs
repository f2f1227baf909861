//! The error type of memscope's fallible calls.

use crate::base::budget::OverBudget;
use crate::base::format::UnknownReportFormat;
use crate::base::lock::lock;
use crate::base::task::TaskId;
use std::any::Any;
use std::fmt;
use std::path::PathBuf;
use std::sync::Mutex;

/// What went wrong, and what to do about it. `Debug` prints the same text as `Display`,
/// so `fn main() -> Result<(), Box<dyn Error>>` shows the advice too.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let e = memscope::Error::HookNotInstalled;
/// assert!(e.to_string().contains("#[global_allocator]"));
/// assert_eq!(format!("{e:?}"), e.to_string());
/// ```
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
    UnknownReportFormat(UnknownReportFormat),
    /// A spawned tracked task panicked; [`PanicPayload::take`] gives the payload back
    /// (e.g. to `std::panic::resume_unwind` it).
    TaskPanicked {
        /// The task.
        task: TaskId,
        /// The panic message, when the payload is a string.
        message: String,
        /// What the task panicked with.
        payload: PanicPayload,
    },
    /// A spawned tracked task was cancelled (aborted, or its runtime shut down) before
    /// it completed.
    TaskCancelled {
        /// The task.
        task: TaskId,
    },
    /// A spawned tracked task was stopped because its tree went over a budget
    /// ([`with_budget`](crate::with_budget), or its type's budget).
    OverBudget {
        /// The task that was stopped.
        task: TaskId,
        /// The budget's answer.
        over: OverBudget,
    },
    /// A monitoring window was stopped without having been started.
    MonitorNotStarted,
    /// A JSON report could not be read back as a snapshot.
    UnreadableReport {
        /// What is wrong with it.
        reason: String,
    },
    /// The address given for the live endpoint is not one (`MEMSCOPE_SERVE`, `serve = …`).
    ServeAddress {
        /// What was given.
        given: String,
    },
    /// The live endpoint could not listen on `addr`.
    ServeBind {
        /// The address it tried.
        addr: String,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The live endpoint was asked for (`MEMSCOPE_SERVE`) by a build without memscope's
    /// `serve` feature.
    ServeNotBuilt,
}

/// The value a task panicked with, kept so it can be taken back once.
pub struct PanicPayload(Mutex<Option<Box<dyn Any + Send>>>);

impl PanicPayload {
    /// The payload; `None` once taken.
    pub fn take(&self) -> Option<Box<dyn Any + Send>> {
        lock(&self.0).take()
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PanicPayload")
    }
}

impl Error {
    /// The error of a task that panicked with `payload`.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn task_panicked(task: TaskId, payload: Box<dyn Any + Send>) -> Self {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string payload".to_owned());
        Error::TaskPanicked {
            task,
            message,
            payload: PanicPayload(Mutex::new(Some(payload))),
        }
    }
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
            Error::UnknownReportFormat(e) => e.fmt(f),
            Error::TaskPanicked { task, message, .. } => {
                write!(f, "tracked task {task} panicked: {message}")
            }
            Error::TaskCancelled { task } => {
                write!(f, "tracked task {task} was cancelled before it completed")
            }
            Error::OverBudget { task, over } => {
                write!(f, "tracked task {task} was stopped: {over}")
            }
            Error::MonitorNotStarted => {
                f.write_str("the monitor was not started; call `start_monitoring().await` first")
            }
            Error::UnreadableReport { reason } => write!(
                f,
                "cannot read the memscope report: {reason}; pass the text of a `.json` report"
            ),
            Error::ServeAddress { given } => write!(
                f,
                "`{given}` is not an address for memscope's endpoint; give `host:port` \
                 (`127.0.0.1:6060`, `[::1]:6060`, `localhost:6060`) or a port alone (`6060`, \
                 on loopback)"
            ),
            Error::ServeBind { addr, source } => write!(
                f,
                "memscope's endpoint cannot listen on {addr}: {source}; choose another port \
                 with the `MEMSCOPE_SERVE` environment variable (e.g. `MEMSCOPE_SERVE=127.0.0.1:6061`)"
            ),
            Error::ServeNotBuilt => f.write_str(
                "the live endpoint was asked for (`MEMSCOPE_SERVE` or `serve = …`) but this build \
                 of memscope has none; turn on its `serve` feature (`memscope = { version = \"…\", features = [\"serve\"] }`)",
            ),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<UnknownReportFormat> for Error {
    fn from(e: UnknownReportFormat) -> Self {
        Error::UnknownReportFormat(e)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::ReportUnwritable { source, .. } | Error::ServeBind { source, .. } => {
                Some(source)
            }
            _ => None,
        }
    }
}
