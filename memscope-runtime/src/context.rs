//! The current-task slot of each thread and the guards that set it.
//!
//! The slot is a const-initialised thread-local without a destructor, so reading it never
//! allocates and keeps working while the thread's other thread-locals are torn down.
//! Heap traffic of the running task accumulates here in a [`Pending`] batch and reaches
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
pub(crate) struct ThreadState {
    /// Record of the task running on this thread; null outside any tracked task.
    current: Cell<*const TaskRecord>,
    current_id: Cell<u64>,
    /// Depth of tracker-internal sections: their allocations are the tracker's overhead.
    internal_depth: Cell<u32>,
    pending: Cell<Pending>,
    /// This thread's stripe of the untracked counters, 0 until assigned.
    pub(crate) stripe: Cell<u32>,
}

thread_local! {
    static STATE: ThreadState = const {
        ThreadState {
            current: Cell::new(ptr::null()),
            current_id: Cell::new(0),
            internal_depth: Cell::new(0),
            pending: Cell::new(Pending {
                alloc_bytes: 0,
                alloc_count: 0,
                free_bytes: 0,
                free_count: 0,
                delta: 0,
                max_delta: 0,
                foreign_base: 0,
            }),
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

    #[inline]
    pub(crate) fn is_internal(&self) -> bool {
        self.internal_depth.get() > 0
    }

    /// Counts an allocation by the running task; true when the batch should be flushed.
    #[inline]
    pub(crate) fn pending_alloc(&self, size: u64) -> bool {
        let mut p = self.pending.get();
        p.alloc_bytes += size;
        p.alloc_count += 1;
        p.delta += size as i64;
        p.max_delta = p.max_delta.max(p.delta);
        self.pending.set(p);
        p.alloc_bytes + p.free_bytes >= FLUSH_BYTES || p.alloc_count + p.free_count >= FLUSH_OPS
    }

    /// Counts a free of the running task's own memory; true when the batch should be flushed.
    #[inline]
    pub(crate) fn pending_free(&self, size: u64) -> bool {
        let mut p = self.pending.get();
        p.free_bytes += size;
        p.free_count += 1;
        p.delta -= size as i64;
        self.pending.set(p);
        p.alloc_bytes + p.free_bytes >= FLUSH_BYTES || p.alloc_count + p.free_count >= FLUSH_OPS
    }

    /// Moves the batch into `rec` (the running task's record) and starts a new one.
    pub(crate) fn flush_into(&self, rec: &TaskRecord) {
        let p = self.pending.get();
        rec.flush(&p);
        self.pending.set(fresh_batch(rec));
    }
}

fn fresh_batch(rec: &TaskRecord) -> Pending {
    Pending {
        // Relaxed: a lower bound is enough; see `TaskRecord::flush`.
        foreign_base: rec.foreign_free_bytes.load(Relaxed),
        ..Pending::default()
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
    with_state(|s| s.current_id.get())
        .filter(|&id| id != 0)
        .map(TaskId::from_u64)
}

/// While alive, the thread runs `rec`'s task: its heap traffic is charged to it.
/// Dropping it flushes the batch and restores the enclosing task (nesting works).
pub(crate) struct Scope<'a> {
    rec: &'a TaskRecord,
    saved: Option<(*const TaskRecord, u64, Pending)>,
    _not_send: PhantomData<*const ()>,
}

/// Makes `rec` the running task of this thread until the returned guard drops.
pub(crate) fn enter(rec: &TaskRecord) -> Scope<'_> {
    let saved = with_state(|s| {
        let saved = (s.current.get(), s.current_id.get(), s.pending.get());
        s.pending.set(fresh_batch(rec));
        s.current.set(rec);
        s.current_id.set(rec.id.as_u64());
        saved
    });
    Scope {
        rec,
        saved,
        _not_send: PhantomData,
    }
}

impl Drop for Scope<'_> {
    fn drop(&mut self) {
        let Some((prev, prev_id, prev_pending)) = self.saved else {
            return;
        };
        with_state(|s| {
            s.flush_into(self.rec);
            s.current.set(prev);
            s.current_id.set(prev_id);
            s.pending.set(prev_pending);
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
