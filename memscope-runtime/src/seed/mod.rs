//! The API of the original design document (`memscope_rs::async_memory`), unchanged, on
//! top of the native API (never the other way round).
//!
//! Every figure is computed from the books; "MB" is 1024 × 1024 bytes ([`MB`]).
//!
//! ```
//! # use memscope_runtime as memscope;
//! # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
//! use memscope::async_memory::{get_memory_snapshot, initialize, spawn_tracked};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! initialize().await?;
//! let task = spawn_tracked(async { vec![0u8; 1 << 20].len() });
//! task.await?;
//! let snapshot = get_memory_snapshot();
//! assert!(snapshot.total_memory_bytes() >= 1 << 20);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

mod at_exit;
mod metrics;
mod monitor;

pub use crate::base::error::Error;
pub use crate::base::task::TaskType;
#[cfg(feature = "tokio")]
pub use crate::track::spawn::TrackedHandle;
pub use crate::view::snapshot::MemorySnapshot;
pub use crate::view::task::TaskMemoryProfile;
pub use metrics::TaskPerformanceMetrics;
pub use monitor::{AsyncResourceMonitor, ResourceAnalysis};

/// Bytes in the seed API's "MB": 1024 × 1024.
pub const MB: f64 = 1024.0 * 1024.0;

/// Checks that tracking works; idempotent and cheap. With the `MEMSCOPE_REPORT`
/// environment variable set (a path ending in `.json`, `.html`, `.txt` or `.trace.json`),
/// it also arranges for that report to be written when the process exits normally, as
/// `#[memscope::main]` does (on Unix; elsewhere end a [`Session`](crate::Session)
/// yourself), and for a snapshot at SIGINT/SIGTERM beside it.
///
/// # Errors
/// [`Error::HookNotInstalled`], saying how to install it, when allocations do not reach
/// the allocator hook.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// memscope::async_memory::initialize().await?;
/// memscope::async_memory::initialize().await?; // again: fine
/// # Ok::<(), memscope::Error>(())
/// # }).unwrap();
/// ```
pub async fn initialize() -> Result<(), Error> {
    crate::track::process::keep_std_state_out_of_tasks();
    if !crate::hook::hook_installed() {
        return Err(Error::HookNotInstalled);
    }
    at_exit::report_at_exit_if_asked();
    Ok(())
}

/// A snapshot of all books now: the same as [`memscope::snapshot`](crate::snapshot).
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let s = memscope::async_memory::get_memory_snapshot();
/// assert!(s.memory_efficiency_percent() <= 100.0);
/// ```
pub fn get_memory_snapshot() -> MemorySnapshot {
    crate::view::snapshot::snapshot()
}

/// Spawns `future` on the current tokio runtime as a tracked task of unspecified type,
/// named after the caller's source location: `memscope::spawn(Tracked::at_caller(..))`.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = memscope::async_memory::spawn_tracked(async { vec![1u8; 10_000].len() });
/// assert_eq!(handle.await.unwrap(), 10_000);
/// # });
/// ```
#[cfg(feature = "tokio")]
#[track_caller]
pub fn spawn_tracked<F>(future: F) -> TrackedHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    create_tracked(future, TaskType::Unspecified)
}

/// Spawns `future` on the current tokio runtime as a tracked task of type `task_type`,
/// named after the caller's source location. See [`spawn_tracked`].
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::async_memory::{create_tracked, TaskType};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let a = create_tracked(async { 1 }, TaskType::CpuIntensive);
/// let b = create_tracked(async { 2 }, TaskType::IoIntensive);
/// let (x, y) = tokio::try_join!(a, b).unwrap();
/// assert_eq!(x + y, 3);
/// # });
/// ```
#[cfg(feature = "tokio")]
#[track_caller]
pub fn create_tracked<F>(future: F, task_type: TaskType) -> TrackedHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    crate::track::spawn::spawn(crate::track::tracked::Tracked::at_caller(future, task_type))
}
