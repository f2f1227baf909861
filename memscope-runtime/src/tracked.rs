//! `Tracked<F>`: a future whose polls, and drop, run inside its task's scope.

use crate::clock;
use crate::config;
use crate::context;
use crate::record::{TaskName, TaskRecord};
use crate::store;
use crate::task::{Outcome, TaskId, TaskType};
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pin_project! {
    /// A future tracked as one task: every allocation made while it is polled or dropped
    /// is charged to it, and its polls, time inside poll, lifetime and outcome are
    /// recorded. Works under any executor.
    ///
    /// The task is created (and its parent recorded: the tracked task running where this
    /// value is built) when the `Tracked` is created; it ends when the inner future
    /// completes (completed), a poll panics (panicked) or the `Tracked` is dropped first
    /// (cancelled). The inner future is dropped inside the task's scope, so memory freed
    /// on cancellation is charged to the task.
    ///
    /// ```
    /// # #[global_allocator] static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
    /// use memscope_runtime::{snapshot, TaskType, Tracked};
    /// let fut = Tracked::new(async { vec![7u8; 1000].len() }, "fill", TaskType::CpuIntensive);
    /// let id = fut.id();
    /// assert_eq!(futures_executor_block_on(fut), 1000);
    /// let task = snapshot().task(id).cloned().unwrap();
    /// assert!(task.allocated_bytes >= 1000);
    /// assert_eq!(task.live_bytes, 0);
    /// # fn futures_executor_block_on<F: std::future::Future>(f: F) -> F::Output {
    /// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    /// # }
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Tracked<F> {
        #[pin]
        inner: Option<F>,
        record: Arc<TaskRecord>,
        panicked: bool,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.inner.is_some() {
                let _scope = context::enter(this.record);
                this.inner.set(None);
            }
            let outcome = if *this.panicked { Outcome::Panicked } else { Outcome::Cancelled };
            store::finish(this.record, outcome);
        }
    }
}

impl<F: Future> Tracked<F> {
    /// Tracks `future` as a task called `name`, of kind `task_type`.
    pub fn new(future: F, name: impl Into<Cow<'static, str>>, task_type: TaskType) -> Self {
        Self::with_name(future, TaskName::from(name.into()), task_type)
    }

    fn with_name(future: F, name: TaskName, task_type: TaskType) -> Self {
        let record = store::register(name, task_type, size_of::<F>());
        Tracked {
            inner: Some(future),
            record,
            panicked: false,
        }
    }

    /// Tracks `future` as a task called `name`, of unspecified type.
    pub fn named(future: F, name: impl Into<Cow<'static, str>>) -> Self {
        Self::new(future, name, TaskType::Unspecified)
    }

    /// Tracks `future`, named after the caller's source location (`file:line:column`).
    #[track_caller]
    pub fn at_caller(future: F, task_type: TaskType) -> Self {
        Self::with_name(future, TaskName::Location(Location::caller()), task_type)
    }

    /// The id of this task.
    pub fn id(&self) -> TaskId {
        self.record.id
    }

    /// A handle that can enter this task's scope after the `Tracked` itself was moved
    /// away (into an executor, say).
    pub fn scope_handle(&self) -> ScopeHandle {
        ScopeHandle {
            record: Arc::clone(&self.record),
        }
    }
}

/// Enters a tracked task's scope from outside its future; see [`Tracked::scope_handle`].
///
/// `spawn_tracked` uses it so the executor's own allocation for the task (its boxed
/// future) is charged to the task itself:
///
/// ```
/// use memscope_runtime::{TaskType, Tracked};
/// let fut = Tracked::new(async { 1 }, "spawned", TaskType::Unspecified);
/// let handle = fut.scope_handle();
/// let boxed = handle.run(|| Box::pin(fut)); // the box is the task's memory
/// # drop(boxed);
/// ```
#[derive(Debug, Clone)]
pub struct ScopeHandle {
    record: Arc<TaskRecord>,
}

impl ScopeHandle {
    /// Runs `f` inside the task's scope: what it allocates is charged to the task.
    ///
    /// Like a poll, the scope batches its traffic until it ends. If the task is polled on
    /// another thread meanwhile, the exact allocated, freed and live figures are unaffected,
    /// but a peak reached in those polls does not include what this scope holds.
    pub fn run<R>(&self, f: impl FnOnce() -> R) -> R {
        let _scope = context::enter(&self.record);
        f()
    }

    /// [`ScopeHandle::run`] charging each allocation and free at once, for a spawn: the
    /// executor may poll the task on another worker before the spawn returns.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn run_eager<R>(&self, f: impl FnOnce() -> R) -> R {
        let _scope = context::enter_eager(&self.record);
        f()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.record.id
    }
}

/// Counts a poll when it ends, and notices when it ends by unwinding.
struct PollGuard<'a> {
    record: &'a TaskRecord,
    started: Option<quanta::Instant>,
    returned: bool,
    panicked: &'a mut bool,
}

impl Drop for PollGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        let ns = self
            .started
            .map_or(0, |t| clock::nanos_between(t, quanta::Instant::now()));
        self.record.add_poll(ns);
        if !self.returned {
            *self.panicked = true;
        }
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let record: &TaskRecord = this.record;
        let output = {
            let mut guard = PollGuard {
                record,
                started: config::times_polls().then(clock::now),
                returned: false,
                panicked: this.panicked,
            };
            let _scope = context::enter(record);
            let inner = this
                .inner
                .as_mut()
                .as_pin_mut()
                .expect("`Tracked` polled after it completed");
            let output = inner.poll(cx);
            if output.is_ready() {
                // Drop what is left of the future while still inside the task.
                this.inner.set(None);
            }
            guard.returned = true;
            output
        };
        if output.is_ready() {
            store::finish(this.record, Outcome::Completed);
        }
        output
    }
}

/// Adds `.tracked(…)` to every future.
///
/// ```
/// use memscope_runtime::{TaskType, TrackedExt};
/// let fut = async { 1 + 1 }.tracked("adder", TaskType::CpuIntensive);
/// assert_eq!(tokio::runtime::Runtime::new().unwrap().block_on(fut), 2);
/// ```
pub trait TrackedExt: Future + Sized {
    /// Wraps `self` in a [`Tracked`] task called `name`, of kind `task_type`.
    fn tracked(self, name: impl Into<Cow<'static, str>>, task_type: TaskType) -> Tracked<Self> {
        Tracked::new(self, name, task_type)
    }
}

impl<F: Future> TrackedExt for F {}
