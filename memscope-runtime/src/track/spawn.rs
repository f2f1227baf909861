//! Spawning a tracked future on tokio, and the handle that gives back its output.

use crate::base::error::Error;
use crate::base::task::TaskId;
use crate::track::tracked::Tracked;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Handle of a task started by [`spawn`] (or the seed API's `spawn_tracked` /
/// `create_tracked`). Awaiting it gives the task's output, or [`Error::TaskPanicked`] /
/// [`Error::TaskCancelled`], so `?` works into `Box<dyn Error>` and the handles work in
/// `tokio::try_join!`.
///
/// Like tokio's `JoinHandle`, dropping it detaches the task: it keeps running.
#[derive(Debug)]
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
        let task = self.id;
        Pin::new(&mut self.inner).poll(cx).map_err(|e| {
            if e.is_panic() {
                Error::task_panicked(task, e.into_panic())
            } else {
                Error::TaskCancelled { task }
            }
        })
    }
}

/// Spawns a tracked future on the current tokio runtime: the one way to spawn a tracked
/// task. The allocation tokio makes for the task itself (its boxed future) is charged to
/// the task, whose profile also reports its future's size.
///
/// # Panics
/// Outside a tokio runtime, like `tokio::spawn`.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{TaskType, TrackedExt};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let handle = memscope::spawn(async { vec![1u8; 10_000].len() }.tracked("fill", TaskType::CpuIntensive));
/// let id = handle.id();
/// assert_eq!(handle.await.unwrap(), 10_000);
/// let task = memscope::snapshot().task(id).cloned().unwrap();
/// assert!(task.heap.allocated_bytes >= 10_000);
/// # });
/// ```
pub fn spawn<F>(tracked: Tracked<F>) -> TrackedHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let id = tracked.id();
    let scope = tracked.scope_handle();
    let inner = scope.run_eager(|| tokio::spawn(tracked));
    TrackedHandle { id, inner }
}
