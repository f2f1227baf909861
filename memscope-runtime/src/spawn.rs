//! Spawning tracked tasks on tokio, and the handles that give back their output.

use crate::error::Error;
use crate::task::{TaskId, TaskType};
use crate::tracked::Tracked;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Handle of a task started by [`spawn_tracked`] or [`create_tracked`]. Awaiting it gives
/// the task's output, or an [`Error`] if the task panicked or was aborted, so `?` works
/// into `Box<dyn Error>` and the handles work in `tokio::try_join!`.
///
/// Dropping the handle detaches the task; it keeps running.
#[derive(Debug)]
#[must_use = "awaiting the handle gives the task's output; dropping it detaches the task"]
pub struct TrackedHandle<T> {
    id: TaskId,
    inner: tokio::task::JoinHandle<T>,
}

impl<T> TrackedHandle<T> {
    /// The id of the task, as it appears in snapshots and reports.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Cancels the task; its outcome becomes cancelled (its future is dropped inside it).
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// Whether the task has ended.
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

impl<T> Future for TrackedHandle<T> {
    type Output = Result<T, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.inner)
            .poll(cx)
            .map_err(|e| Error::Join(e.to_string()))
    }
}

/// Spawns `future` on the current tokio runtime as a tracked task of unspecified type,
/// named after the caller's source location.
///
/// The allocation tokio makes for the task itself (its boxed future) is charged to the new
/// task, whose profile also reports its future's size.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
///
/// ```
/// # #[global_allocator] static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = memscope_runtime::spawn_tracked(async { vec![1u8; 10_000].len() });
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), 10_000);
/// let task = memscope_runtime::snapshot().task(id).cloned().unwrap();
/// assert!(task.allocated_bytes >= 10_000);
/// # });
/// ```
#[track_caller]
pub fn spawn_tracked<F>(future: F) -> TrackedHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(Tracked::at_caller(future, TaskType::Unspecified))
}

/// Spawns `future` on the current tokio runtime as a tracked task of type `task_type`,
/// named after the caller's source location. See [`spawn_tracked`].
///
/// ```
/// # #[global_allocator] static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
/// use memscope_runtime::{create_tracked, TaskType};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let a = create_tracked(async { 1 }, TaskType::CpuIntensive);
/// let b = create_tracked(async { 2 }, TaskType::IoIntensive);
/// let (x, y) = tokio::try_join!(a, b).unwrap();
/// assert_eq!(x + y, 3);
/// # });
/// ```
#[track_caller]
pub fn create_tracked<F>(future: F, task_type: TaskType) -> TrackedHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(Tracked::at_caller(future, task_type))
}

/// Spawns an already tracked future, charging tokio's task allocation to it.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use memscope_runtime::{spawn_tracked_future, TaskType, Tracked};
/// let h = spawn_tracked_future(Tracked::new(async { 5 }, "five", TaskType::CpuIntensive));
/// assert_eq!(h.await.unwrap(), 5);
/// # });
/// ```
pub fn spawn_tracked_future<F>(tracked: Tracked<F>) -> TrackedHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    spawn(tracked)
}

fn spawn<F>(tracked: Tracked<F>) -> TrackedHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let id = tracked.id();
    let scope = tracked.scope_handle();
    let inner = scope.run_eager(|| tokio::spawn(tracked));
    TrackedHandle { id, inner }
}
