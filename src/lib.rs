//! # memscope — which task is holding my memory?
//!
//! memscope attributes every heap allocation to the async task (future) that made it,
//! charges every free back to that task whoever frees it, and reports per task and per
//! kind of task: bytes allocated, freed, live, peak, memory that outlived its task,
//! allocation counts, poll counts and times.
//!
//! ## Quick start: two lines
//!
//! Adding the dependency installs the tracking allocator (default feature
//! `global-allocator`). Annotate the async fns you care about and swap `#[tokio::main]`
//! for `#[memscope::main]`; the summary is printed at shutdown:
//!
//! ```
//! #[memscope::track(task_type = "network")]
//! async fn fetch_user(id: u64) -> String {
//!     format!("user-{id}")
//! }
//!
//! #[memscope::main(report = "target/memscope/doc-report.html")]
//! async fn main() {
//!     let user = fetch_user(7).await;
//!     assert_eq!(user, "user-7");
//! }
//! # // doctests call `main` themselves
//! ```
//!
//! Task types: `cpu`, `io`, `network`, `memory`, `background` (and `unspecified`, the
//! default), see [`TaskType`].
//!
//! ## Which door to use
//!
//! | to… | use |
//! |---|---|
//! | track an async fn | `#[memscope::track]` (`name = "…"`, `task_type = "…"`) |
//! | profile a tokio program | `#[memscope::main]` (tokio's arguments, plus `report`, `format`, `summary`) |
//! | track any future, under any executor | [`Tracked::new`] or [`TrackedExt::tracked`] |
//! | spawn a tracked future on tokio | [`spawn`] |
//! | read the figures, any time, any thread | [`snapshot`] → [`MemorySnapshot`] |
//! | write a report | [`MemorySnapshot::save`] (format by file ending) or [`MemorySnapshot::write_to`]; `Display` is the text summary |
//! | profile without the attribute | [`Session::start`] … [`Session::end`] |
//! | where in a task memory was allocated | [`MemorySnapshot::sites`] ([`CallSites`]; sampling: [`Config::with_sample_bytes`]) |
//! | what a future and the tasks it spawns allocate, retain and peak at, exactly | [`measure`] → [`Stats`]; check with [`assert_mem!`]; a test with `#[memscope::test(peak = "256 KiB")]` |
//! | stop a task tree that holds too much memory, not the process | [`with_budget`] with a [`Budget`] → [`OverBudget`]; [`pressure`] to spill first; per type: [`Config::with_type_budget`] |
//! | settings (retention, poll timing, group limit, sampling) | [`configure`] with a [`Config`] |
//! | keep your own global allocator | [`TrackingAllocator`] (turn off the `global-allocator` feature) |
//! | the original design document's API | [`async_memory`] (`initialize`, `spawn_tracked`, `get_memory_snapshot`, …) |
//!
//! ## Keeping your own global allocator
//!
//! A program (or another crate) that already declares a `#[global_allocator]` turns off
//! memscope's default feature and wraps its allocator instead of replacing it:
//!
//! ```toml
//! memscope = { version = "0.1", default-features = false, features = ["tokio"] }
//! ```
//!
//! ```ignore
//! #[global_allocator]
//! static GLOBAL: memscope::TrackingAllocator<mimalloc::MiMalloc> =
//!     memscope::TrackingAllocator::new(mimalloc::MiMalloc);
//! ```
//!
//! Without any hook installed, [`async_memory::initialize`] returns
//! [`Error::HookNotInstalled`] saying this.
//!
//! ## Executors other than tokio
//!
//! [`Tracked`] (or [`TrackedExt::tracked`]) and `#[track]` work under any executor; only
//! [`spawn`], the seed API's `spawn_tracked`/`create_tracked` and `#[memscope::main]`
//! need the `tokio` feature.
#![forbid(unsafe_code)]

#[doc(hidden)]
pub use memscope_runtime::__private_mem_assert;
#[cfg(feature = "prometheus")]
pub use memscope_runtime::Exposition;
#[cfg(feature = "pprof")]
pub use memscope_runtime::PprofKind;
#[cfg(any(feature = "prometheus", feature = "metrics"))]
pub use memscope_runtime::DEFAULT_METRIC_NAMES;
mod assert_mem;
pub use memscope_runtime::{
    configure, current_task_id, hook_installed, sampler, snapshot, Config, Error, GroupChange,
    GroupFigures, GroupProfile, HeapCounters, MemorySnapshot, Outcome, OwnerPlacement,
    PanicPayload, ReportFormat, ScopeHandle, Session, SessionEnd, SessionOptions, SnapshotDiff,
    TaskId, TaskMemoryProfile, TaskType, TimelineSample, Tracked, TrackedExt, TrackingAllocator,
    UnknownReportFormat, UnknownTaskType, REPORT_ENV, SAMPLE_BYTES_ENV, SCHEMA_VERSION, SERVE_ENV,
    TRAILER_BYTES, TYPE_BUDGETS_ENV,
};
pub use memscope_runtime::{
    measure, measure_named, pressure, with_budget, Budget, Measure, OverBudget, Pressure, Stats,
    WithBudget, GIB, KIB, MIB,
};
#[cfg(feature = "metrics")]
pub use memscope_runtime::{publish_metrics, MetricsPublisher, MIN_PUBLISH_INTERVAL};
#[cfg(feature = "serve")]
pub use memscope_runtime::{serve, serve_limits, Server};
#[cfg(feature = "tokio")]
pub use memscope_runtime::{spawn, TrackedHandle};
pub use memscope_runtime::{
    CallSites, CallStack, GroupSites, SampledAllocation, SiteFigures, StackFrame, TaskSites,
};

pub use memscope_macros::{main, test, track};

/// The allocator installed by the default `global-allocator` feature.
#[cfg(feature = "global-allocator")]
#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

pub use memscope_runtime::async_memory;

/// The only door from the macros into the runtime. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use memscope_runtime::{FnName, MethodName, Session, SessionOptions, TaskType, Tracked};
    #[cfg(feature = "tokio")]
    pub use tokio;

    /// The end of a `#[memscope::main]` fn, once its runtime is gone: the session's last
    /// snapshot, summary and report; gives the fn's output back.
    pub fn end<T>(session: Session, output: T) -> T {
        session.end().print();
        output
    }

    /// [`end`] for `main` itself: when the report asked for could not be written, the
    /// program exits with a failure (after the summary and `main`'s own error, if any).
    pub fn end_main<T: std::process::Termination>(session: Session, output: T) -> T {
        let end = session.end();
        end.print();
        if end.report_lost() {
            let _ = output.report();
            std::process::exit(1);
        }
        output
    }

    /// Wraps one call of a `#[track]` fn's body as a tracked task.
    pub fn track<F: core::future::Future>(
        name: &'static str,
        task_type: Option<TaskType>,
        future: F,
    ) -> Tracked<F> {
        Tracked::with_type_or_inherited(future, name, task_type)
    }
}
