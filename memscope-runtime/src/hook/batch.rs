//! A task's batch: the heap traffic of the running task that this thread has counted
//! but not yet added to the task's record.
//!
//! Counting in a thread-local batch keeps every allocation and free of the running task
//! free of atomic instructions; the batch reaches the record when the task's scope ends,
//! when another scope interrupts it, or when its traffic reaches [`FLUSH_BYTES`], each
//! allocation and free weighing its size plus [`OP_BYTES`] (so a snapshot taken during a
//! long poll still sees large allocations and frees, and at most 4,096 operations wait in
//! a batch).

use std::cell::Cell;

/// A batch is flushed early once its traffic weighs this many bytes…
pub(crate) const FLUSH_BYTES: u64 = 256 * 1024;
/// …each allocation and free weighing its size plus this many bytes (so at most
/// `FLUSH_BYTES / OP_BYTES` = 4,096 operations wait in an ordinary scope's batch).
pub(crate) const OP_BYTES: u64 = 64;
/// [`BatchCells::limit`] outside eager scopes: due once the weight reaches [`FLUSH_BYTES`].
const ORDINARY_LIMIT: i64 = FLUSH_BYTES as i64 - 1;

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
/// `repr(C)` with the countdown first keeps it beside the thread's slot, in the cache
/// line every allocation reads.
#[repr(C)]
pub(crate) struct BatchCells {
    /// Weight the batch may still take before it is due, minus one (below zero: due, so
    /// the test is the subtraction's sign): one subtraction and one sign test per
    /// operation, where a bytes limit and an operations limit would take two sums and two
    /// comparisons.
    left: Cell<i64>,
    /// What `left` starts from: [`ORDINARY_LIMIT`], or 0 inside an eager scope (every
    /// operation is due).
    limit: Cell<i64>,
    alloc_bytes: Cell<u64>,
    alloc_count: Cell<u64>,
    free_bytes: Cell<u64>,
    free_count: Cell<u64>,
    /// Highest allocated-minus-freed bytes since the batch started (the running delta is
    /// not kept: an allocation computes it from the two byte counts, so a free writes
    /// its two counts and the countdown only).
    max_delta: Cell<i64>,
    live_base: Cell<i64>,
    meter_base: Cell<i64>,
}

impl BatchCells {
    pub(crate) const fn new() -> Self {
        BatchCells {
            left: Cell::new(ORDINARY_LIMIT),
            limit: Cell::new(ORDINARY_LIMIT),
            alloc_bytes: Cell::new(0),
            alloc_count: Cell::new(0),
            free_bytes: Cell::new(0),
            free_count: Cell::new(0),
            max_delta: Cell::new(0),
            live_base: Cell::new(0),
            meter_base: Cell::new(0),
        }
    }

    /// Counts one operation of `size` bytes against the limit; true when the batch is due.
    #[inline]
    fn count_due(&self, size: u64) -> bool {
        let left = self.left.get() - (size.wrapping_add(OP_BYTES) as i64);
        self.left.set(left);
        left < 0
    }

    /// Counts an allocation; true when the batch is due.
    #[inline]
    pub(crate) fn count_alloc(&self, size: u64) -> bool {
        self.alloc_bytes.set(self.alloc_bytes.get() + size);
        self.alloc_count.set(self.alloc_count.get() + 1);
        let delta = self.pending_delta();
        if delta > self.max_delta.get() {
            self.max_delta.set(delta);
        }
        self.count_due(size)
    }

    /// Counts a free of the batch's own task's memory; true when the batch is due.
    #[inline]
    pub(crate) fn count_free(&self, size: u64) -> bool {
        self.free_bytes.set(self.free_bytes.get() + size);
        self.free_count.set(self.free_count.get() + 1);
        self.count_due(size)
    }

    /// Live bytes the batch added so far (below zero if it freed more).
    #[inline]
    pub(crate) fn pending_delta(&self) -> i64 {
        self.alloc_bytes.get().wrapping_sub(self.free_bytes.get()) as i64
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.alloc_count.get() + self.free_count.get() == 0
    }

    /// Takes the batch out, leaving an empty one with the same base.
    #[inline]
    pub(crate) fn take(&self) -> Batch {
        self.left.set(self.limit.get());
        let delta = self.pending_delta();
        Batch {
            alloc_bytes: self.alloc_bytes.replace(0),
            alloc_count: self.alloc_count.replace(0),
            free_bytes: self.free_bytes.replace(0),
            free_count: self.free_count.replace(0),
            delta,
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

    /// Makes every operation due (`eager`) or restores the ordinary limit; called between
    /// batches (the batch is empty).
    #[inline]
    pub(crate) fn set_eager(&self, eager: bool) {
        debug_assert!(self.is_empty());
        let limit = if eager { 0 } else { ORDINARY_LIMIT };
        self.limit.set(limit);
        self.left.set(limit);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_due_by_the_weight_of_its_operations_or_at_once_when_eager() {
        let b = BatchCells::new();
        // 4,095 allocations of 0 bytes weigh 4,095 × 64 bytes: not due; the 4,096th is.
        assert!((0..FLUSH_BYTES / OP_BYTES - 1).all(|_| !b.count_alloc(0)));
        assert!(b.count_alloc(0));
        b.take();
        assert!(!b.count_alloc(FLUSH_BYTES - OP_BYTES - 1));
        assert!(b.count_alloc(0));
        b.take();
        // Frees weigh as allocations do.
        assert!(!b.count_free(FLUSH_BYTES - OP_BYTES - 1));
        assert!(b.count_free(0));
        b.take();
        b.set_eager(true);
        assert!(b.count_free(1));
        b.take();
        assert!(b.count_alloc(1));
        b.take();
        b.set_eager(false);
        assert!(!b.count_alloc(1) && !b.count_free(1));
    }

    #[test]
    fn the_delta_and_its_peak_come_from_the_byte_counts() {
        let b = BatchCells::new();
        b.count_alloc(100);
        b.count_alloc(50);
        b.count_free(120);
        b.count_alloc(10);
        b.count_free(200); // a block allocated before this batch
        assert_eq!(b.pending_delta(), -160);
        let batch = b.take();
        assert_eq!(
            (
                batch.alloc_bytes,
                batch.alloc_count,
                batch.free_bytes,
                batch.free_count
            ),
            (160, 3, 320, 2)
        );
        assert_eq!((batch.delta, batch.max_delta), (-160, 150));
        assert!(b.is_empty());
        assert_eq!(b.pending_delta(), 0);
    }
}
