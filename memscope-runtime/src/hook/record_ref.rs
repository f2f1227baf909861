//! A `Tracked`'s reference to its task's record: the books own the record, and this
//! reference counts in none of its `Arc`'s counts.
//!
//! A task's record is held by the books (the running table, then the retention) from its
//! start until it is folded, and by its `Tracked` from its start until the `Tracked` is
//! dropped. Were the `Tracked` to hold an `Arc` of its own, every task would pay two locked
//! instructions on one cache line for it (the clone at the start, the drop at the end),
//! about 10 ns here; instead it holds an uncounted one and tells the record when it lets go
//! ([`TaskRecord::let_go`]). The books fold a record only once nothing holds it: a strong
//! count of one (theirs) *and* its `Tracked` let go (`Shard::retire`).

use crate::hook::record::TaskRecord;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::Arc;

/// The `Tracked`'s reference to its task's record (see the module docs); derefs to the
/// record's `Arc`, so a clone of it ([`Arc::clone`]) is an ordinary counted `Arc`.
pub(crate) struct RecordRef {
    /// Never dropped: it stands for no count of the `Arc`.
    record: ManuallyDrop<Arc<TaskRecord>>,
}

impl RecordRef {
    /// The reference of the `Tracked` of `record`'s task.
    ///
    /// # Safety
    /// `record` is a record the books just made and hold, that no other `RecordRef`
    /// refers to, and the books keep an `Arc` of it until this reference is dropped (they
    /// drop theirs only once `held_by_tracked` reads false: `Shard::retire`).
    pub(crate) unsafe fn new(record: &Arc<TaskRecord>) -> Self {
        debug_assert!(record.held_by_tracked());
        let raw = Arc::as_ptr(record);
        RecordRef {
            // SAFETY: `raw` comes from `Arc::as_ptr`, as `from_raw` needs. The `Arc` made
            // from it is never dropped (`ManuallyDrop`), so it takes no count and gives none
            // back; the record it points at stays allocated until this reference lets go:
            // the books keep their `Arc` while `held_by_tracked` is true (the caller's
            // contract), and it is true from the record's creation until `drop` below, the
            // last use.
            record: ManuallyDrop::new(unsafe { Arc::from_raw(raw) }),
        }
    }
}

impl Deref for RecordRef {
    type Target = Arc<TaskRecord>;

    #[inline]
    fn deref(&self) -> &Arc<TaskRecord> {
        &self.record
    }
}

impl Drop for RecordRef {
    fn drop(&mut self) {
        // The last use: from here on the books may fold the record and reuse it.
        self.record.let_go();
    }
}
