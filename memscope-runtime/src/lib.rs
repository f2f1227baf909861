//! Runtime of [memscope](https://docs.rs/memscope): the allocator hook, the current-task
//! slot, the tracked future, the books and snapshots, and the reports.
//!
//! Most users depend on the `memscope` facade instead; this crate is what it re-exports.
//!
//! How it fits together:
//! - [`TrackingAllocator`] wraps the global allocator and stores with each block the task
//!   that allocated it, so every free is charged back to that task;
//! - [`Tracked`] marks the thread's current task while its future is polled or dropped;
//! - the store keeps each task's books, a bounded retention of finished tasks and
//!   per-`(name, type)` aggregates; [`snapshot`] copies them at any time.

pub mod allocator;
mod buckets;
mod clock;
mod config;
mod context;
mod error;
mod init;
mod metrics;
mod monitor;
mod owner_table;
mod record;
pub mod report;
pub mod sampler;
mod session;
mod snapshot;
#[cfg(feature = "tokio")]
mod spawn;
mod store;
mod task;
mod tracked;

pub use allocator::{OwnerPlacement, TrackingAllocator, TRAILER_BYTES};
pub use buckets::HeapTotals;
pub use config::{configure, Config};
pub use context::current_task_id;
pub use error::Error;
pub use init::{hook_installed, initialize};
pub use metrics::TaskPerformanceMetrics;
pub use monitor::{AsyncResourceMonitor, ResourceAnalysis};
pub use sampler::TimelineSample;
pub use session::{Session, SessionOptions, REPORT_ENV};
pub use snapshot::{snapshot, GroupProfile, MemorySnapshot, TaskMemoryProfile, MB, SCHEMA_VERSION};
#[cfg(feature = "tokio")]
pub use spawn::{create_tracked, spawn_tracked, spawn_tracked_future, TrackedHandle};
pub use task::{Outcome, TaskId, TaskType, UnknownTaskType};
pub use tracked::{ScopeHandle, Tracked, TrackedExt};
