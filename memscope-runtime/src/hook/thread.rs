//! Each thread's current-task slot, its batch, and the guards that set them.
//!
//! The state is a const-initialised thread-local without a destructor, so reading it never
//! allocates and keeps working while the thread's other thread-locals are torn down; once
//! it is gone, [`with_state`] returns `None` and `charge` takes its fallback.

use crate::base::task::TaskId;
use crate::hook::batch::BatchCells;
use crate::hook::cell::OwnerCell;
use crate::hook::countdown::Countdown;
use crate::hook::meter;
use crate::hook::record::TaskRecord;
use std::cell::Cell;
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;

/// Per-thread state read by the allocator hook.
///
/// Invariant: the batch belongs to the task in `current`, and is empty when there is none.
/// A scope that interrupts a task flushes its batch first, and the interrupted task starts
/// a new one when the scope ends, so no guard ever carries a batch.
///
/// `repr(C)` keeps what every allocation and free reads (the cell slot, the internal
/// depth, the stripe, the batch) together at the front, in the first cache line or two.
#[repr(C)]
pub(crate) struct ThreadState {
    /// The running task's cell (the owner word of its blocks); null outside any task.
    current_cell: Cell<*const OwnerCell>,
    /// Depth of tracker-internal sections: their allocations are the tracker's overhead.
    internal_depth: Cell<u32>,
    /// This thread's stripe of the untracked counters, 0 until assigned.
    pub(crate) stripe: Cell<u32>,
    /// Bytes left before the next sampled allocation, and how it is drawn.
    pub(crate) sampling: Countdown,
    /// The running task's batch.
    pub(crate) batch: BatchCells,
    /// Record of the task running on this thread (whose cell is `current_cell`); null
    /// outside any tracked task. Read when a batch is flushed or a scope changes.
    current: Cell<*const TaskRecord>,
    /// Polls left before the next timed one, when one in several is timed.
    pub(crate) polls_to_next_timed: Cell<u32>,
    /// State of the generator that draws those gaps (xorshift64*; 0 until seeded).
    pub(crate) poll_rng: Cell<u64>,
    /// The next of the task ids this thread took, and the end of its block (`store::next_id`).
    pub(crate) task_ids: Cell<(u64, u64)>,
}

thread_local! {
    static STATE: ThreadState = const {
        ThreadState {
            current_cell: Cell::new(ptr::null()),
            internal_depth: Cell::new(0),
            stripe: Cell::new(0),
            sampling: Countdown::new(),
            batch: BatchCells::new(),
            current: Cell::new(ptr::null()),
            polls_to_next_timed: Cell::new(0),
            poll_rng: Cell::new(0),
            task_ids: Cell::new((0, 0)),
        }
    };
}

/// Runs `f` on this thread's state; `None` if the thread-local is gone (thread teardown).
#[inline]
pub(crate) fn with_state<R>(f: impl FnOnce(&ThreadState) -> R) -> Option<R> {
    STATE.try_with(f).ok()
}

impl ThreadState {
    /// The running task's cell (its blocks' owner word), null outside any task.
    #[inline]
    pub(crate) fn current_cell(&self) -> *const OwnerCell {
        self.current_cell.get()
    }

    /// Makes `rec` (or no task, for null) the running task; returns the one it replaces.
    #[inline]
    fn replace_current(&self, rec: *const TaskRecord) -> *const TaskRecord {
        let cell = if rec.is_null() {
            ptr::null()
        } else {
            // SAFETY: a non-null `rec` comes from `enter_raw`'s reference, or is the task a
            // scope interrupted, restored on exit, which by `enter_raw`'s contract is
            // still alive then.
            ptr::from_ref(unsafe { &*rec }.cell)
        };
        self.current_cell.set(cell);
        self.current.replace(rec)
    }

    /// `Arc::as_ptr` of the running task's record; null outside any task.
    #[inline]
    pub(crate) fn current_ptr(&self) -> *const TaskRecord {
        self.current.get()
    }

    /// The running task's record, if any.
    #[inline]
    pub(crate) fn current_record(&self) -> Option<&TaskRecord> {
        let current = self.current.get();
        // SAFETY: a non-null slot was set by `enter_raw` from a `&TaskRecord` that, by its
        // contract, outlives the matching `exit_raw` on this thread; scopes end in reverse
        // order of entry, each (`exit_raw`, `OutsideTasks::drop`) putting back the slot it
        // found, so the record in the slot is alive for this borrow of the thread-local.
        (!current.is_null()).then(|| unsafe { &*current })
    }

    #[inline]
    pub(crate) fn is_internal(&self) -> bool {
        self.internal_depth.get() > 0
    }

    /// Moves the batch into the running task's record and starts a new one: what the hook
    /// does when a batch is due. Kept out of line: the hook calls it rarely, and inlined it
    /// would weigh on every allocation.
    #[inline(never)]
    pub(crate) fn flush_running(&self) {
        if let Some(rec) = self.current_record() {
            self.flush_into(rec);
        }
    }

    #[inline]
    fn flush_into(&self, rec: &TaskRecord) {
        if !self.batch.is_empty() {
            self.move_batch(rec);
            self.start_batch(rec);
        }
    }

    /// Moves the batch into `rec`. Out of line so that the `Batch` it builds lives in this
    /// frame, not in that of every poll (each level of nested tracked fns costs a poll
    /// frame of stack).
    #[inline(never)]
    fn move_batch(&self, rec: &TaskRecord) {
        rec.flush(&self.batch.take());
    }

    #[inline]
    fn start_batch(&self, rec: &TaskRecord) {
        // Relaxed: a lower bound is enough; see `TaskRecord::flush`.
        let meter_base = match rec.meter() {
            0 => 0,
            m => meter::get(m).live_bytes_signed(),
        };
        self.batch.start(rec.cell.live_bytes_signed(), meter_base);
    }
}

/// The id of the tracked task running on this thread, if any.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{current_task_id, Tracked};
/// assert_eq!(current_task_id(), None);
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let inside = rt.block_on(Tracked::named(async { current_task_id() }, "probe"));
/// assert!(inside.is_some());
/// ```
pub fn current_task_id() -> Option<TaskId> {
    with_state(|s| s.current_record().map(|r| r.id)).flatten()
}

/// A new reference to the record of the task running on this thread, if any: the parent
/// of a task created here.
pub(crate) fn current_record_arc() -> Option<Arc<TaskRecord>> {
    with_state(|s| {
        let current = s.current.get();
        (!current.is_null()).then(|| {
            // SAFETY: a non-null slot holds `Arc::as_ptr` of the `Arc` that `enter_raw`
            // was given (or one a scope interrupted and restored), alive until its scope
            // exits, after this call, by `enter_raw`'s contract. Its count is above zero (a
            // `Tracked`'s uncounted one stands beside the books' `Arc`, `hook::record_ref`),
            // so one more reference may be made from the pointer.
            unsafe {
                Arc::increment_strong_count(current);
                Arc::from_raw(current)
            }
        })
    })
    .flatten()
}

/// What entering a scope found: the task it interrupted (null for none), or [`GONE`]
/// when the thread-local is gone and the scope changes nothing.
pub(crate) type Entered = *const TaskRecord;

/// [`Entered`] of a thread whose thread-locals are gone.
const GONE: Entered = 1 as Entered;

/// Makes `rec` the running task of this thread until [`exit`]. Entering a scope inside
/// another task's flushes that task's batch, so all the caller keeps is which task it
/// interrupted; that task starts a new batch when the scope ends. With `eager`, every
/// allocation and free reaches the record at once (see [`enter_eager`]).
///
/// # Safety
/// `rec` must stay alive until the matching [`exit_raw`], which must run on this thread,
/// after the `exit_raw` of every scope entered inside this one (scopes nest): the slot
/// points at `rec` meanwhile, and the hook dereferences it (and [`current_record_arc`]
/// counts a new reference to its `Arc`). The guards ([`Scope`], the poll's `PollScope`)
/// keep this contract for their users.
#[inline]
pub(crate) unsafe fn enter_raw(rec: &Arc<TaskRecord>, eager: bool) -> Entered {
    let enclosing = with_state(|s| {
        if let Some(outer) = s.current_record() {
            s.flush_into(outer);
        }
        if eager {
            s.batch.set_eager(true);
        }
        s.start_batch(rec);
        s.replace_current(Arc::as_ptr(rec))
    });
    enclosing.unwrap_or(GONE)
}

/// Ends the scope [`enter_raw`] opened: flushes the batch into `rec` and restores the
/// task it interrupted.
///
/// # Safety
/// Once per `enter_raw`, on its thread, with what it returned and the same `rec` and
/// `eager`, in reverse order of entry.
#[inline]
pub(crate) unsafe fn exit_raw(rec: &TaskRecord, entered: Entered, eager: bool) {
    if entered == GONE {
        return;
    }
    with_state(|s| {
        if !s.batch.is_empty() {
            s.move_batch(rec);
        }
        if eager {
            // Eager scopes are never nested in one another (only a spawn opens one).
            s.batch.set_eager(false);
        }
        s.replace_current(entered);
        if let Some(outer) = s.current_record() {
            s.start_batch(outer);
        }
    });
}

/// While alive, the thread runs `rec`'s task: its heap traffic is charged to it.
/// Dropping it flushes the batch and restores the enclosing task (nesting works).
pub(crate) struct Scope<'a> {
    rec: &'a TaskRecord,
    eager: bool,
    entered: Entered,
    _not_send: PhantomData<*const ()>,
}

/// Makes `rec` the running task of this thread until the returned guard drops: the scope of
/// one of the task's own polls (or of its drop), which the executor never runs on two
/// threads at once, so its traffic is batched.
#[inline]
pub(crate) fn enter(rec: &Arc<TaskRecord>) -> Scope<'_> {
    enter_with(rec, false)
}

/// Like [`enter`], for the spawn that allocates a task's cell while a worker may already
/// poll the task: every allocation and free reaches the record at once, so the task's own
/// polls, on other threads, see it in their peak. Not nested in another eager scope.
pub(crate) fn enter_eager(rec: &Arc<TaskRecord>) -> Scope<'_> {
    enter_with(rec, true)
}

#[inline]
fn enter_with(rec: &Arc<TaskRecord>, eager: bool) -> Scope<'_> {
    Scope {
        rec,
        eager,
        // SAFETY: the guard borrows `rec` for its life and its drop, on this thread (it is
        // not `Send`), calls the matching `exit_raw`; guards drop in reverse order.
        entered: unsafe { enter_raw(rec, eager) },
        _not_send: PhantomData,
    }
}

impl Drop for Scope<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: the matching exit of the `enter_raw` in `enter_with`, on its thread.
        unsafe { exit_raw(self.rec, self.entered, self.eager) };
    }
}

/// While alive, this thread runs no task: its allocations go to the `untracked` bucket,
/// whatever task it interrupted (which starts a new batch when the guard drops). For
/// process-wide state that a task merely happens to create first (the panic hook's
/// backtrace machinery, say).
pub(crate) struct OutsideTasks {
    entered: Entered,
    _not_send: PhantomData<*const ()>,
}

/// Leaves the running task, if any, until the returned guard drops.
pub(crate) fn outside_tasks() -> OutsideTasks {
    let entered = with_state(|s| {
        if let Some(outer) = s.current_record() {
            s.flush_into(outer);
        }
        s.replace_current(ptr::null())
    });
    OutsideTasks {
        entered: entered.unwrap_or(GONE),
        _not_send: PhantomData,
    }
}

impl Drop for OutsideTasks {
    fn drop(&mut self) {
        if self.entered == GONE {
            return;
        }
        with_state(|s| {
            s.replace_current(self.entered);
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
    use crate::hook::batch::FLUSH_BYTES;

    fn record(id: u64) -> Arc<TaskRecord> {
        Arc::new(crate::hook::record::test_record(id))
    }

    #[test]
    fn scopes_nest_and_restore() {
        let (outer, inner) = (record(1), record(2));
        assert_eq!(current_task_id(), None);
        {
            let _o = enter(&outer);
            assert_eq!(current_task_id(), Some(TaskId::from_u64(1)));
            with_state(|s| s.batch.count_alloc(10));
            {
                let _i = enter(&inner);
                assert_eq!(current_task_id(), Some(TaskId::from_u64(2)));
                with_state(|s| s.batch.count_alloc(5));
            }
            assert_eq!(current_task_id(), Some(TaskId::from_u64(1)));
            with_state(|s| s.batch.count_alloc(1));
        }
        assert_eq!(current_task_id(), None);
        assert_eq!(outer.read().heap.allocated_bytes, 11);
        assert_eq!(inner.read().heap.allocated_bytes, 5);
    }

    #[test]
    fn outside_tasks_leaves_the_task_and_comes_back() {
        let rec = record(4);
        let _s = enter(&rec);
        with_state(|s| s.batch.count_alloc(7));
        {
            let _out = outside_tasks();
            assert_eq!(current_task_id(), None);
            assert!(with_state(|s| s.batch.is_empty()).unwrap());
        }
        assert_eq!(current_task_id(), Some(TaskId::from_u64(4)));
        assert_eq!(rec.read().heap.allocated_bytes, 7);
    }

    #[test]
    fn a_large_batch_asks_for_a_flush() {
        let rec = record(3);
        let _s = enter(&rec);
        assert!(with_state(|s| s.batch.count_alloc(FLUSH_BYTES)).unwrap());
    }
}
