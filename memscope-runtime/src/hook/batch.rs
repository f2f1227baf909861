//! A task's batch: the heap traffic of the running task that this thread has counted
//! but not yet added to the task's record.
//!
//! Counting in a thread-local batch keeps every allocation and free of the running task
//! free of atomic instructions; the batch reaches the record when the task's scope ends,
//! when another scope interrupts it, or when it grows past [`FLUSH_BYTES`] or the
//! thread's flush limit of operations (so a snapshot taken during a long poll still sees
//! large allocations).

use std::cell::Cell;

/// A batch is flushed early once it has seen this many bytes of traffic…
pub(crate) const FLUSH_BYTES: u64 = 256 * 1024;
/// …or this many allocations and frees (the limit of an ordinary scope).
pub(crate) const FLUSH_OPS: u64 = 4096;

/// One batch, taken out of a thread's cells to be added to a record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Batch {
    pub alloc_bytes: u64,
    pub alloc_count: u64,
    pub free_bytes: u64,
    pub free_count: u64,
    /// Running live-byte change since the batch started (may go below zero).
    pub delta: i64,
    /// Highest `delta` since the batch started (never below zero).
    pub max_delta: i64,
    /// The task's live bytes (its cell's) when this batch started: see `TaskRecord::flush`.
    pub live_base: i64,
    /// The live bytes of the task's tree (its meter's) when this batch started, 0 outside
    /// any: see `meter::add_batch`.
    pub meter_base: i64,
}

impl Batch {
    pub(crate) fn is_empty(&self) -> bool {
        self.alloc_count == 0 && self.free_count == 0
    }
}

/// The batch as a thread keeps it: one `Cell` per figure, so counting is a plain add.
///
/// `repr(C)` with the flush limit first keeps it beside the thread's slot, in the cache
/// line every allocation reads.
#[repr(C)]
pub(crate) struct BatchCells {
    /// Operations after which the batch is due: [`FLUSH_OPS`], or 1 inside an eager scope.
    flush_ops: Cell<u64>,
    alloc_bytes: Cell<u64>,
    alloc_count: Cell<u64>,
    free_bytes: Cell<u64>,
    free_count: Cell<u64>,
    delta: Cell<i64>,
    max_delta: Cell<i64>,
    live_base: Cell<i64>,
    meter_base: Cell<i64>,
}

impl BatchCells {
    pub(crate) const fn new() -> Self {
        BatchCells {
            flush_ops: Cell::new(FLUSH_OPS),
            alloc_bytes: Cell::new(0),
            alloc_count: Cell::new(0),
            free_bytes: Cell::new(0),
            free_count: Cell::new(0),
            delta: Cell::new(0),
            max_delta: Cell::new(0),
            live_base: Cell::new(0),
            meter_base: Cell::new(0),
        }
    }

    #[inline]
    fn is_due(&self) -> bool {
        self.alloc_bytes.get() + self.free_bytes.get() >= FLUSH_BYTES
            || self.alloc_count.get() + self.free_count.get() >= self.flush_ops.get()
    }

    /// Counts an allocation; true when the batch is due.
    #[inline]
    pub(crate) fn count_alloc(&self, size: u64) -> bool {
        self.alloc_bytes.set(self.alloc_bytes.get() + size);
        self.alloc_count.set(self.alloc_count.get() + 1);
        let delta = self.delta.get() + size as i64;
        self.delta.set(delta);
        if delta > self.max_delta.get() {
            self.max_delta.set(delta);
        }
        self.is_due()
    }

    /// Counts a free of the batch's own task's memory; true when the batch is due.
    #[inline]
    pub(crate) fn count_free(&self, size: u64) -> bool {
        self.free_bytes.set(self.free_bytes.get() + size);
        self.free_count.set(self.free_count.get() + 1);
        self.delta.set(self.delta.get() - size as i64);
        self.is_due()
    }

    /// Live bytes the batch added so far (below zero if it freed more).
    pub(crate) fn pending_delta(&self) -> i64 {
        self.delta.get()
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.alloc_count.get() + self.free_count.get() == 0
    }

    /// Takes the batch out, leaving an empty one with the same base.
    #[inline]
    pub(crate) fn take(&self) -> Batch {
        Batch {
            alloc_bytes: self.alloc_bytes.replace(0),
            alloc_count: self.alloc_count.replace(0),
            free_bytes: self.free_bytes.replace(0),
            free_count: self.free_count.replace(0),
            delta: self.delta.replace(0),
            max_delta: self.max_delta.replace(0),
            live_base: self.live_base.get(),
            meter_base: self.meter_base.get(),
        }
    }

    /// Starts a batch whose task had `live_base` bytes live so far, and its tree
    /// `meter_base` (0 outside any).
    #[inline]
    pub(crate) fn start(&self, live_base: i64, meter_base: i64) {
        self.live_base.set(live_base);
        self.meter_base.set(meter_base);
    }

    /// Makes every operation due (`eager`) or restores the ordinary limit.
    #[inline]
    pub(crate) fn set_eager(&self, eager: bool) {
        self.flush_ops.set(if eager { 1 } else { FLUSH_OPS });
    }
}
