//! `Tracked<F>`: a future whose polls, and drop, run inside its task's scope.

use crate::base::config;
use crate::base::name::TaskName;
use crate::base::task::{Outcome, TaskId, TaskType};
use crate::books::store;
use crate::hook::record::TaskRecord;
use crate::hook::record_ref::RecordRef;
use crate::hook::thread;
use crate::hook::{clock, poll_sample};
use crate::track::meter_hold;
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
    /// completes (completed), when a poll panics (panicked, at once) or when the `Tracked`
    /// is dropped first (cancelled, also if a `Drop` of the inner future panics then; a
    /// `Drop` that panics while the completed future's leftovers are dropped, inside the
    /// completing poll, ends it as panicked). The inner
    /// future is dropped inside the task's scope, so memory freed on cancellation is
    /// charged to the task.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{snapshot, TaskType, Tracked};
    /// let fut = Tracked::new(async { vec![7u8; 1000].len() }, "fill", TaskType::CpuIntensive);
    /// let id = fut.id();
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// assert_eq!(rt.block_on(fut), 1000);
    /// let task = snapshot().task(id).cloned().unwrap();
    /// assert!(task.heap.allocated_bytes >= 1000);
    /// assert_eq!(task.live_bytes, 0);
    /// ```
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Tracked<F> {
        #[pin]
        inner: Option<F>,
        // Dropped after `inner`, and after `PinnedDrop` ended the task: its last use.
        record: RecordRef,
    }

    impl<F> PinnedDrop for Tracked<F> {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            // Declared first, dropped last: the task ends even if a `Drop` below unwinds.
            let _end = EndOnDrop { record: this.record, outcome: Outcome::Cancelled };
            if this.inner.is_some() {
                let _scope = thread::enter(this.record);
                this.inner.set(None);
            }
        }
    }
}

/// Ends a task when dropped, also while unwinding; a task that already ended (completed,
/// or panicked in a poll) keeps its outcome.
struct EndOnDrop<'a> {
    record: &'a Arc<TaskRecord>,
    outcome: Outcome,
}

impl Drop for EndOnDrop<'_> {
    fn drop(&mut self) {
        store::finish(self.record, self.outcome);
    }
}

impl<F: Future> Tracked<F> {
    /// Tracks `future` as a task called `name`, of kind `task_type`.
    pub fn new(future: F, name: impl Into<Cow<'static, str>>, task_type: TaskType) -> Self {
        Self::with_name(future, TaskName::from(name.into()), Some(task_type))
    }

    /// Tracks `future` as a task called `name`, of kind `task_type` or, for `None`, of its
    /// parent's kind (what `#[memscope::track]` without a `task_type` does).
    #[doc(hidden)]
    pub fn with_type_or_inherited(
        future: F,
        name: impl Into<Cow<'static, str>>,
        task_type: Option<TaskType>,
    ) -> Self {
        Self::with_name(future, TaskName::from(name.into()), task_type)
    }

    pub(crate) fn with_name(future: F, name: TaskName, task_type: Option<TaskType>) -> Self {
        let record = store::register(name, task_type, size_of::<F>());
        Tracked {
            inner: Some(future),
            record,
        }
    }

    /// Tracks `future` as a task called `name`, of its parent's type (the tracked task
    /// running where it is created), or unspecified without a parent.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{snapshot, TaskType, Tracked};
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let inner = rt.block_on(Tracked::new(
    ///     async { Tracked::named(async { memscope::current_task_id() }, "parse").await },
    ///     "request",
    ///     TaskType::NetworkIntensive,
    /// ));
    /// let snap = snapshot();
    /// assert_eq!(snap.task(inner.unwrap()).unwrap().task_type, TaskType::NetworkIntensive);
    /// ```
    pub fn named(future: F, name: impl Into<Cow<'static, str>>) -> Self {
        Self::with_name(future, TaskName::from(name.into()), None)
    }

    /// Tracks `future`, named after the caller's source location (`file:line:column`).
    #[track_caller]
    pub fn at_caller(future: F, task_type: TaskType) -> Self {
        Self::with_name(
            future,
            TaskName::Location(Location::caller()),
            Some(task_type),
        )
    }

    /// Labels this task instance (a peer address, a query id): reports show it next to
    /// the task's name, and it makes no group of its own, so a label per connection or
    /// per request keeps the books bounded. Costs one lock and the label's copy.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{snapshot, TaskType, Tracked};
    /// let peer = "10.0.0.7:51234";
    /// let conn = Tracked::new(async {}, "connection", TaskType::NetworkIntensive).labeled(peer);
    /// let id = conn.id();
    /// tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(conn);
    /// let snap = snapshot();
    /// let task = snap.task(id).unwrap();
    /// assert_eq!(task.label.as_deref(), Some(peer));
    /// assert_eq!(task.display_name(), "connection [10.0.0.7:51234]");
    /// ```
    pub fn labeled(self, label: impl std::fmt::Display) -> Self {
        store::set_label(&self.record, &label);
        self
    }

    /// The id of this task.
    pub fn id(&self) -> TaskId {
        self.record.id
    }

    /// The task's record.
    pub(crate) fn record(&self) -> &Arc<TaskRecord> {
        &self.record
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
/// `memscope::spawn` enters the same scope (charging at once) so the executor's own allocation for the task (its boxed
/// future) is charged to the task itself:
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{TaskType, Tracked};
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
        let _scope = thread::enter(&self.record);
        f()
    }

    /// [`ScopeHandle::run`] charging each allocation and free at once, for a spawn: the
    /// executor may poll the task on another worker before the spawn returns.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn run_eager<R>(&self, f: impl FnOnce() -> R) -> R {
        let _scope = thread::enter_eager(&self.record);
        f()
    }

    /// The task's id.
    pub fn id(&self) -> TaskId {
        self.record.id
    }
}

/// One poll's scope: the thread runs the task from [`PollScope::enter`] to
/// [`PollScope::exit`], which also counts (and times) the poll. Dropped without `exit`,
/// it is a poll that unwound: the scope ends and the task ends as panicked there and then
/// (an executor may catch the panic and keep the future).
///
/// Three words, so that `Tracked::poll`'s frame stays small: each level of nested tracked
/// fns costs one such frame of stack (see `tests/deep_nesting.rs`).
struct PollScope<'a> {
    record: &'a Arc<TaskRecord>,
    entered: thread::Entered,
    /// The clock's raw reading when the poll started (`clock::raw`); 0 when this poll is
    /// not timed.
    started_raw: u64,
}

impl<'a> PollScope<'a> {
    /// Out of line, as is [`PollScope::close`]: inlined, their bodies would need registers
    /// and stack slots in `Tracked::poll`'s frame, which every nested level pays.
    #[inline]
    fn enter(record: &'a Arc<TaskRecord>) -> Self {
        let started_raw = match config::poll_timing_every() {
            0 => 0,
            1 => clock::raw(),
            every if poll_sample::time_this_poll(every) => clock::raw(),
            _ => 0,
        };
        PollScope {
            record,
            // SAFETY: `record` is borrowed from the `Tracked` being polled, alive for the
            // whole poll; the scope is closed (`exit` or the drop while unwinding, or
            // `complete`) on this thread before `poll` returns, after every scope its
            // inner future opened.
            entered: unsafe { thread::enter_raw(record, false) },
            started_raw,
        }
    }

    /// Ends the scope (flushing the batch first, so the poll is counted once its
    /// traffic is in the record) and counts the poll. Returns the clock's raw reading
    /// when the poll ended, if this poll was timed (0 if not).
    #[inline]
    fn close(&self) -> u64 {
        // SAFETY: `close` runs once per scope (from `exit`, which forgets the guard, or
        // from its drop), on the polling thread, with what `enter` got.
        unsafe { thread::exit_raw(self.record, self.entered, false) };
        let (ns, ended) = match self.started_raw {
            0 => (0, 0),
            started => {
                let ended = clock::raw();
                let ns = clock::raw_delta_ns(started, ended);
                // A sampled poll stands for `every` polls (see `time_this_poll`).
                let ns = match config::poll_timing_every() {
                    0 | 1 => ns,
                    every => ns.saturating_mul(u64::from(every)),
                };
                (ns, ended)
            }
        };
        self.record.add_poll(ns);
        ended
    }

    /// The scope's fields, without ending it.
    #[inline]
    fn into_parts(self) -> (&'a Arc<TaskRecord>, thread::Entered, u64) {
        let this = std::mem::ManuallyDrop::new(self);
        (this.record, this.entered, this.started_raw)
    }

    /// The poll returned; see [`PollScope::close`] for what it returns.
    #[inline]
    fn exit(self) -> u64 {
        let this = std::mem::ManuallyDrop::new(self);
        this.close()
    }
}

impl Drop for PollScope<'_> {
    #[cold]
    fn drop(&mut self) {
        self.close();
        store::finish(self.record, Outcome::Panicked);
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let mut this = self.project();
        let record: &Arc<TaskRecord> = this.record;
        store::join_tree_of_poller(record);
        let scope = PollScope::enter(record);
        let inner = this
            .inner
            .as_mut()
            .as_pin_mut()
            .expect("`Tracked` polled after it completed");
        let output = inner.poll(cx);
        if output.is_ready() {
            let (record, entered, started_raw) = scope.into_parts();
            complete(this.inner, record, entered, started_raw);
        } else {
            let _ = scope.exit();
        }
        if record.meter() != 0 {
            meter_hold::poll_ended(record);
        }
        output
    }
}

/// The end of the poll that completed the task: drops what is left of the future while
/// still inside the task, ends the scope and the task. Out of line, once per task, so that
/// the inner future's drop glue is not in `Tracked::poll`'s frame.
/// The scope comes in parts (in registers): passed whole, it would be copied to a slot of
/// the caller's frame.
#[inline(never)]
fn complete<F>(
    mut inner: Pin<&mut Option<F>>,
    record: &Arc<TaskRecord>,
    entered: thread::Entered,
    started_raw: u64,
) {
    let scope = PollScope {
        record,
        entered,
        started_raw,
    };
    // A `Drop` of the future that unwinds here drops `scope`: the task ends as panicked.
    inner.set(None);
    match scope.exit() {
        0 => store::finish(record, Outcome::Completed),
        // The poll's end is the task's end: one clock read fewer.
        ended => store::finish_at(record, Outcome::Completed, clock::raw_to_ns(ended)),
    }
}

/// Adds `.tracked(…)` to every future.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{TaskType, TrackedExt};
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
