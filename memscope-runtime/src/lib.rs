//! Runtime of [memscope](https://docs.rs/memscope): the allocator hook, the books, the
//! views and the reports. Users depend on the `memscope` facade, which re-exports this
//! crate's public API; `ARCHITECTURE.md` at the repository's root maps the layers.
//!
//! Layers, each importing only those before it:
//! `base` (vocabulary) → `hook` (the hot path) → `books` (tasks, retention, aggregates,
//! sampler) → `track` (`Tracked`, `spawn`) → `view` (snapshots) → `report` (formats) →
//! `shutdown` (the snapshot at SIGINT/SIGTERM) → `session` (`#[memscope::main]`'s start
//! and end) → `seed` (the design document's `async_memory` API).

mod base;
mod books;
#[cfg(feature = "metrics")]
mod export;
mod hook;
mod report;
mod seed;
#[cfg(feature = "serve")]
mod serve;
mod session;
mod shutdown;
mod track;
mod view;

pub use base::budget::{OverBudget, Pressure, Stats, GIB, KIB, MIB};
pub use base::config::Config;
pub use base::config_env::{SAMPLE_BYTES_ENV, TYPE_BUDGETS_ENV};
pub use base::counters::HeapCounters;
pub use base::error::{Error, PanicPayload};
pub use base::format::{ReportFormat, UnknownReportFormat};
pub use base::task::{Outcome, TaskId, TaskType, UnknownTaskType};
pub use books::aggregate::GroupProfile;
pub use books::sampler;
pub use books::sampler::TimelineSample;
#[cfg(feature = "metrics")]
pub use export::metrics::{publish_metrics, MetricsPublisher, MIN_PUBLISH_INTERVAL};
pub use hook::allocator::TrackingAllocator;
pub use hook::hook_installed;
pub use hook::placement::{OwnerPlacement, TRAILER_BYTES};
pub use hook::sampling::configure;
pub use hook::thread::current_task_id;
pub use report::every::REPORT_EVERY_ENV;
#[cfg(any(feature = "prometheus", feature = "metrics"))]
pub use report::figures::DEFAULT_METRIC_NAMES;
#[doc(hidden)]
pub use report::mem_assert::private as __private_mem_assert;
#[cfg(feature = "pprof")]
pub use report::pprof::PprofKind;
#[cfg(feature = "prometheus")]
pub use report::prometheus::Exposition;
#[cfg(feature = "serve")]
pub use serve::{limits as serve_limits, serve, Server};
pub use session::{Session, SessionEnd, SessionOptions, REPORT_ENV, SERVE_ENV};
pub use track::budget::{pressure, with_budget, Budget, WithBudget};
pub use track::measure::{measure, measure_named, Measure};
pub use track::method_name::{FnName, MethodName};
#[cfg(feature = "tokio")]
pub use track::spawn::{spawn, TrackedHandle};
pub use track::tracked::{ScopeHandle, Tracked, TrackedExt};
pub use view::diff::{GroupChange, GroupFigures, SnapshotDiff};
pub use view::sites::{
    CallSites, CallStack, GroupSites, SampledAllocation, SiteFigures, StackFrame, TaskSites,
};
pub use view::snapshot::{snapshot, MemorySnapshot, SCHEMA_VERSION};
pub use view::task::TaskMemoryProfile;

/// The API of the original design document (`memscope_rs::async_memory`): see the
/// `memscope` facade's `async_memory`.
pub mod async_memory {
    pub use crate::seed::*;
}
