//! # memscope — which task is holding my memory?
//!
//! memscope attributes every heap allocation to the async task (future) that made it,
//! charges every free back to that task whoever frees it, and reports per task and per
//! kind of task: bytes allocated, freed, live, peak, memory that outlived its task,
//! allocation counts, poll counts and times.
//!
//! ## Quick start
//!
//! Adding the dependency installs the tracking allocator (default feature
//! `global-allocator`). Annotate async fns with `#[memscope::track]`, swap `#[tokio::main]` for
//! `#[memscope::main]`, and read the summary at shutdown or call [`async_memory::get_memory_snapshot`] any time:
//!
//! ```
//! use memscope::{async_memory::{get_memory_snapshot, initialize, spawn_tracked}};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! initialize().await?;
//! let task = spawn_tracked(async {
//!     let data = vec![0u8; 1024 * 1024];
//!     tokio::time::sleep(std::time::Duration::from_millis(1)).await;
//!     data.iter().map(|&x| x as u64).sum::<u64>()
//! });
//! let id = task.id();
//! task.await?;
//! let snapshot = get_memory_snapshot();
//! assert!(snapshot.total_memory_bytes() >= 1024 * 1024);
//! assert!(snapshot.task(id).unwrap().peak_bytes >= 1024 * 1024);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
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
//! `spawn_tracked`, `create_tracked`, the monitor and `#[memscope::main]` need the `tokio`
//! feature.
#![forbid(unsafe_code)]

pub use memscope_runtime::{
    configure, current_task_id, hook_installed, report, sampler, snapshot, Config, Error,
    GroupProfile, HeapTotals, MemorySnapshot, Outcome, OwnerPlacement, ScopeHandle, Session,
    SessionOptions, TaskId, TaskMemoryProfile, TaskPerformanceMetrics, TaskType, TimelineSample,
    Tracked, TrackedExt, TrackingAllocator, UnknownTaskType, MB, SCHEMA_VERSION, TRAILER_BYTES,
};
#[cfg(feature = "tokio")]
pub use memscope_runtime::{
    create_tracked, spawn_tracked, spawn_tracked_future, AsyncResourceMonitor, ResourceAnalysis,
    TrackedHandle,
};

pub use memscope_macros::{main, track};

/// The allocator installed by the default `global-allocator` feature.
#[cfg(feature = "global-allocator")]
#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

/// The API of the original design document (`memscope_rs::async_memory`), unchanged.
///
/// Every figure is computed from the books; "MB" is 1024 × 1024 bytes.
pub mod async_memory {
    #[cfg(feature = "tokio")]
    pub use memscope_runtime::{
        create_tracked, spawn_tracked, AsyncResourceMonitor, ResourceAnalysis, TrackedHandle,
    };
    pub use memscope_runtime::{
        initialize, Error, MemorySnapshot, TaskMemoryProfile, TaskPerformanceMetrics, TaskType,
    };

    /// A snapshot of all books now (see [`MemorySnapshot`] for every figure).
    ///
    /// ```
    /// let s = memscope::async_memory::get_memory_snapshot();
    /// assert!(s.memory_efficiency_percent() <= 100.0);
    /// ```
    pub fn get_memory_snapshot() -> MemorySnapshot {
        memscope_runtime::snapshot()
    }
}

/// The only door from the macros into the runtime. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use memscope_runtime::{Session, SessionOptions, TaskType, Tracked};
    #[cfg(feature = "tokio")]
    pub use tokio;

    /// Wraps one call of a `#[track]` fn's body as a tracked task.
    pub fn track<F: core::future::Future>(
        name: &'static str,
        task_type: TaskType,
        future: F,
    ) -> Tracked<F> {
        Tracked::new(future, name, task_type)
    }
}
