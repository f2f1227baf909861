//! Spawning a tracked future on tokio, and the handle that gives back its output.

use crate::base::budget::OverBudget;
use crate::base::config;
use crate::base::error::Error;
use crate::base::task::TaskId;
use crate::books::store;
use crate::track::meter_hold::{self, MeterHold};
use crate::track::tracked::Tracked;
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Handle of a task started by [`spawn`] (or the seed API's `spawn_tracked` /
/// `create_tracked`). Awaiting it gives the task's output, or [`Error::TaskPanicked`] /
/// [`Error::TaskCancelled`] / [`Error::OverBudget`], so `?` works into `Box<dyn Error>` and the handles work in
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
            if !e.is_panic() {
                return Error::TaskCancelled { task };
            }
            match e.into_panic().downcast::<OverBudget>() {
                Ok(over) => Error::OverBudget { task, over: *over },
                Err(payload) => Error::task_panicked(task, payload),
            }
        })
    }
}

/// Spawns a tracked future on the current tokio runtime: the one way to spawn a tracked
/// task. The allocation tokio makes for the task itself (its boxed future) is charged to
/// the task, whose profile also reports its future's size.
///
/// Inside a budgeted tree ([`with_budget`](crate::with_budget)) the task is part of it,
/// and once the tree is over its budget the task is stopped at its next poll boundary:
/// its future is dropped and its handle gives [`Error::OverBudget`]. A task whose type has
/// a budget of its own ([`Config::with_type_budget`](crate::Config::with_type_budget)) is
/// the root of a budgeted tree, stopped the same way. (The task ends by unwinding with
/// the budget's answer as its payload, without the panic hook; under `panic = "abort"`
/// that aborts the process.)
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
    let rec = tracked.record();
    // Built elsewhere, spawned from inside a measured or budgeted tree: it joins it
    // (before tokio's task cell, charged to it below, makes it own memory).
    store::join_tree_of_poller(rec);
    let own =
        config::type_budget(rec.task_type).map(|limit| MeterHold::open(rec, Some(limit), None));
    let guarded = Guarded {
        meter: rec.meter(),
        task: id,
        inner: Some(tracked),
        _own: own,
    };
    let inner = scope.run_eager(|| tokio::spawn(guarded));
    TrackedHandle { id, inner }
}

pin_project! {
    /// A spawned tracked future, stopped at a poll boundary once its tree is over a budget.
    struct Guarded<F> {
        meter: u32,
        task: TaskId,
        #[pin]
        inner: Option<Tracked<F>>,
        // The meter of a per-type budget, held while the task is.
        _own: Option<MeterHold>,
    }
}

impl<F: Future> Future for Guarded<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("`memscope::spawn`'s task polled after it completed");
        if *this.meter == 0 {
            return inner.poll(cx);
        }
        let over = match meter_hold::poll_within_budget(*this.meter, *this.task, inner, cx) {
            Ok(poll) => return poll,
            Err(over) => over,
        };
        // The tree is over a budget: the future is dropped inside its task, and the task
        // ends with the budget's answer as its panic payload, which tokio hands to the
        // handle (no panic hook runs: this is not a panic). The meter is held meanwhile:
        // the task's cell, dropped with it, may have been its last holder.
        let hold = MeterHold::retain(over);
        this.inner.set(None);
        let answer = meter_hold::over_budget(over);
        drop(hold);
        std::panic::resume_unwind(Box::new(answer))
    }
}
