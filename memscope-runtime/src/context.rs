//! The current-task slot of each thread and the guards that set it.
//!
//! The slot is a const-initialised thread-local without a destructor, so reading it never
//! allocates and keeps working while the thread's other thread-locals are torn down.
//! Heap traffic of the running task accumulates here in a batch (see [`Pending`]) and reaches
//! the task's record when the scope ends (or when the batch grows past a threshold, so
//! that a snapshot taken during a long poll still sees large allocations).

use crate::record::{Pending, TaskRecord};
use crate::task::TaskId;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;

/// A batch is flushed early once it has seen this many bytes of traffic…
const FLUSH_BYTES: u64 = 256 * 1024;
/// …or this many allocations and frees.
const FLUSH_OPS: u64 = 4096;

/// Per-thread state read by the allocator hook.
///
/// Invariant: the batch belongs to the task in `current`, and is empty when there is none.
/// A scope that interrupts a task flushes its batch first, and the interrupted task starts
/// a new one when the scope ends, so no guard ever carries a batch.
///
/// `repr(C)` keeps what every allocation reads (the slot, the internal depth, the stripe,
/// the flush limit) together at the front, in the first cache line.
#[repr(C)]
pub(crate) struct ThreadState {
    /// Record of the task running on this thread; null outside any tracked task.
    current: Cell<*const TaskRecord>,
    /// Depth of tracker-internal sections: their allocations are the tracker's overhead.
    internal_depth: Cell<u32>,
    /// This thread's stripe of the untracked counters, 0 until assigned.
    pub(crate) stripe: Cell<u32>,
    /// Allocations and frees after which the batch is flushed: [`FLUSH_OPS`], or 1 (every
    /// one) around a spawn (see [`enter_eager`]).
    flush_ops: Cell<u64>,
    // The running task's batch, one cell per counter (see `Pending` for their meaning).
    alloc_bytes: Cell<u64>,
    alloc_count: Cell<u64>,
    free_bytes: Cell<u64>,
    free_count: Cell<u64>,
    delta: Cell<i64>,
    max_delta: Cell<i64>,
    foreign_base: Cell<u64>,
}

thread_local! {
    static STATE: ThreadState = const {
        ThreadState {
            current: Cell::new(ptr::null()),
            internal_depth: Cell::new(0),
            alloc_bytes: Cell::new(0),
            alloc_count: Cell::new(0),
            free_bytes: Cell::new(0),
            free_count: Cell::new(0),
            delta: Cell::new(0),
            max_delta: Cell::new(0),
            foreign_base: Cell::new(0),
            flush_ops: Cell::new(FLUSH_OPS),
            stripe: Cell::new(0),
        }
    };
}

/// Runs `f` on this thread's state; `None` if the thread-local is gone (thread teardown).
#[inline]
pub(crate) fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    STATE.try_with(f).ok()
}

impl ThreadState {
    /// The running task's record, null outside any task.
    #[inline]
    pub(crate) fn current_ptr(&self) -> *const TaskRecord {
        self.current.get()
    }

    /// The running task's record, if any.
    #[inline]
    pub(crate) fn current_record(&self) -> Option<&TaskRecord> {
        let current = self.current.get();
        // SAFETY: a non-null slot was set by `enter_with` from a `&TaskRecord` whose `Scope`
        // guard is alive on this thread (scopes end in reverse order of entry, each putting
        // back the slot it found), so the record outlives this borrow of the thread-local.
        (!current.is_null()).then(|| unsafe { &*current })
    }

    #[inline]
    pub(crate) fn is_internal(&self) -> bool {
        self.internal_depth.get() > 0
    }

    #[inline]
    fn batch_is_due(&self) -> bool {
        self.alloc_bytes.get() + self.free_bytes.get() >= FLUSH_BYTES
            || self.alloc_count.get() + self.free_count.get() >= self.flush_ops.get()
    }

    /// Counts an allocation by the running task; true when the batch should be flushed.
    #[inline]
    pub(crate) fn pending_alloc(&self, size: u64) -> bool {
        self.alloc_bytes.set(self.alloc_bytes.get() + size);
        self.alloc_count.set(self.alloc_count.get() + 1);
        let delta = self.delta.get() + size as i64;
        self.delta.set(delta);
        if delta > self.max_delta.get() {
            self.max_delta.set(delta);
        }
        self.batch_is_due()
    }

    /// Counts a free of the running task's own memory; true when the batch should be flushed.
    #[inline]
    pub(crate) fn pending_free(&self, size: u64) -> bool {
        self.free_bytes.set(self.free_bytes.get() + size);
        self.free_count.set(self.free_count.get() + 1);
        self.delta.set(self.delta.get() - size as i64);
        self.batch_is_due()
    }

    /// Takes the batch out, leaving an empty one.
    fn take_batch(&self) -> Pending {
        Pending {
            alloc_bytes: self.alloc_bytes.replace(0),
            alloc_count: self.alloc_count.replace(0),
            free_bytes: self.free_bytes.replace(0),
            free_count: self.free_count.replace(0),
            delta: self.delta.replace(0),
            max_delta: self.max_delta.replace(0),
            foreign_base: self.foreign_base.get(),
        }
    }

    /// Moves the batch into the running task's record and starts a new one: what the hook
    /// does when a batch is due. Kept out of line: the hook calls it rarely, and inlined it
    /// would weigh on every allocation.
    #[inline(never)]
    pub(crate) fn flush_running(&self) {
        if let Some(rec) = self.current_record() {
            self.flush_batch(rec);
        }
    }

    #[inline]
    fn flush_batch(&self, rec: &TaskRecord) {
        if self.alloc_count.get() + self.free_count.get() == 0 {
            return;
        }
        rec.flush(&self.take_batch());
        self.start_batch(rec);
    }

    #[inline]
    fn start_batch(&self, rec: &TaskRecord) {
        // Relaxed: a lower bound is enough; see `TaskRecord::flush`.
        self.foreign_base.set(rec.foreign_free_bytes.load(Relaxed));
    }
}

/// The id of the tracked task running on this thread, if any.
///
/// ```
/// use memscope_runtime::{current_task_id, Tracked};
/// assert_eq!(current_task_id(), None);
/// let inside = futures_lite_block_on(Tracked::named(async { current_task_id() }, "probe"));
/// assert!(inside.is_some());
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub fn current_task_id() -> Option<TaskId> {
    with_state(|s| s.current_record().map(|r| r.id)).flatten()
}

/// While alive, the thread runs `rec`'s task: its heap traffic is charged to it.
/// Dropping it flushes the batch and restores the enclosing task (nesting works).
///
/// Entering a scope inside another task's flushes that task's batch, so the guard only
/// has to remember which task it interrupted; the enclosing task starts a new batch when
/// the scope ends.
pub(crate) struct Scope<'a> {
    rec: &'a TaskRecord,
    eager: bool,
    /// False when the thread-local is gone: the scope then changes nothing.
    entered: bool,
    /// The task this scope interrupted; null for none.
    enclosing: *const TaskRecord,
    _not_send: PhantomData<*const ()>,
}

/// Makes `rec` the running task of this thread until the returned guard drops: the scope of
/// one of the task's own polls (or of its drop), which the executor never runs on two
/// threads at once, so its traffic is batched.
#[inline]
pub(crate) fn enter(rec: &TaskRecord) -> Scope<'_> {
    enter_with(rec, false)
}

/// Like [`enter`], for the spawn that allocates a task's cell while a worker may already
/// poll the task: every allocation and free reaches the record at once, so the task's own
/// polls, on other threads, see it in their peak. Not nested in another eager scope.
pub(crate) fn enter_eager(rec: &TaskRecord) -> Scope<'_> {
    enter_with(rec, true)
}

#[inline]
fn enter_with(rec: &TaskRecord, eager: bool) -> Scope<'_> {
    let enclosing = with_state(|s| {
        if let Some(outer) = s.current_record() {
            s.flush_batch(outer);
        }
        if eager {
            s.flush_ops.set(1);
        }
        s.start_batch(rec);
        s.current.replace(rec)
    });
    Scope {
        rec,
        eager,
        entered: enclosing.is_some(),
        enclosing: enclosing.unwrap_or(ptr::null()),
        _not_send: PhantomData,
    }
}

impl Drop for Scope<'_> {
    #[inline]
    fn drop(&mut self) {
        if !self.entered {
            return;
        }
        with_state(|s| {
            if s.alloc_count.get() + s.free_count.get() > 0 {
                self.rec.flush(&s.take_batch());
            }
            if self.eager {
                // Eager scopes are never nested in one another (only a spawn opens one).
                s.flush_ops.set(FLUSH_OPS);
            }
            s.current.set(self.enclosing);
            if let Some(outer) = s.current_record() {
                s.start_batch(outer);
            }
        });
    }
}

/// While alive, this thread's allocations are the tracker's own (its overhead bucket),
/// not the running task's.
pub(crate) struct Internal {
    _not_send: PhantomData<*const ()>,
}

/// Enters a tracker-internal section.
pub(crate) fn internal() -> Internal {
    with_state(|s| s.internal_depth.set(s.internal_depth.get() + 1));
    Internal {
        _not_send: PhantomData,
    }
}

impl Drop for Internal {
    fn drop(&mut self) {
        with_state(|s| {
            s.internal_depth
                .set(s.internal_depth.get().saturating_sub(1))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::task::TaskType;

    fn record(id: u64) -> TaskRecord {
        TaskRecord::new(
            TaskId::from_u64(id),
            "t".into(),
            TaskType::Unspecified,
            None,
            0,
        )
    }

    #[test]
    fn scopes_nest_and_restore() {
        let (outer, inner) = (record(1), record(2));
        assert_eq!(current_task_id(), None);
        {
            let _o = enter(&outer);
            assert_eq!(current_task_id(), Some(TaskId::from_u64(1)));
            with_state(|s| s.pending_alloc(10));
            {
                let _i = enter(&inner);
                assert_eq!(current_task_id(), Some(TaskId::from_u64(2)));
                with_state(|s| s.pending_alloc(5));
            }
            assert_eq!(current_task_id(), Some(TaskId::from_u64(1)));
            with_state(|s| s.pending_alloc(1));
        }
        assert_eq!(current_task_id(), None);
        assert_eq!(outer.alloc_bytes.load(Relaxed), 11);
        assert_eq!(inner.alloc_bytes.load(Relaxed), 5);
    }

    #[test]
    fn a_large_batch_asks_for_a_flush() {
        let rec = record(3);
        let _s = enter(&rec);
        assert!(with_state(|s| s.pending_alloc(FLUSH_BYTES)).unwrap());
    }
}
