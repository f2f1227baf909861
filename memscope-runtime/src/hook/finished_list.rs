//! The tasks that ended since their shard was last locked: a lock-free list, so that a
//! task's end writes one cache line of its shard (the list's head) instead of its tables.
//!
//! A task usually starts on one thread and ends on another (a spawner and its workers);
//! ending it in the shard's tables there and then moved every line of them (the lock, the
//! running table, the retention, the spare records, the free cells) to the ending core,
//! and back to the starting core at its next start (about 15 % of a tiny tokio task's
//! time, BENCHMARKS.md "2026-12-04"). Instead the ending thread pushes the task's record
//! here, and whoever takes the shard's lock next, before anything else, moves the pushed
//! tasks out of the running table in the order they ended (`store::lock`). A record on
//! the list stays in its shard's running table until then, which keeps it alive.

use crate::hook::record::TaskRecord;
use std::ptr;
use std::sync::atomic::{AtomicPtr, Ordering::*};

/// One shard's list of ended tasks, linked through their records' `next_ended`.
pub(crate) struct FinishedList {
    /// The last record pushed, null for none.
    head: AtomicPtr<TaskRecord>,
}

impl FinishedList {
    pub(crate) const fn new() -> Self {
        FinishedList {
            head: AtomicPtr::new(ptr::null_mut()),
        }
    }

    /// Pushes the record of a task that just ended (once per task: `TaskRecord::finish`
    /// lets only the first end through).
    pub(crate) fn push(&self, rec: &TaskRecord) {
        let rec_ptr = ptr::from_ref(rec).cast_mut();
        let mut head = self.head.load(Relaxed);
        loop {
            rec.set_next_ended(head);
            // Release: the record's end (and everything before it) is seen by the drain.
            match self
                .head
                .compare_exchange_weak(head, rec_ptr, Release, Relaxed)
            {
                Ok(_) => return,
                Err(now) => head = now,
            }
        }
    }

    /// Whether nothing was pushed since the last [`FinishedList::drain`].
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(Relaxed).is_null()
    }

    /// Takes every pushed record and calls `f` on each, in the order they were pushed.
    ///
    /// # Safety
    /// Every record pushed must stay allocated until `f` has been called on it here: the
    /// caller's running table holds each, and only `f` takes it out. One drain at a time
    /// per list (the caller holds its shard's lock).
    pub(crate) unsafe fn drain(&self, mut f: impl FnMut(&TaskRecord)) {
        // Acquire: pairs with the pushes' release.
        let mut newest = self.head.swap(ptr::null_mut(), Acquire);
        // Reverse the links in place (newest first → oldest first): no allocation.
        let mut oldest: *mut TaskRecord = ptr::null_mut();
        while !newest.is_null() {
            // SAFETY: a pushed record stays allocated until drained (the contract above);
            // the swap made this drain the only reader and writer of these links.
            let rec = unsafe { &*newest };
            let next = rec.next_ended();
            rec.set_next_ended(oldest);
            oldest = newest;
            newest = next;
        }
        while !oldest.is_null() {
            // SAFETY: as above; the link is read before `f`, which may end the record's
            // time in the running table.
            let rec = unsafe { &*oldest };
            oldest = rec.next_ended();
            rec.set_next_ended(ptr::null_mut());
            f(rec);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::{TaskId, TaskType};
    use crate::hook::cell::OwnerCell;
    use crate::hook::record::NewTask;

    static CELL: OwnerCell = OwnerCell::new();

    fn record(id: u64) -> TaskRecord {
        TaskRecord::new(NewTask {
            id: TaskId::from_u64(id),
            name: "finished-list-test".into(),
            task_type: TaskType::Unspecified,
            parent: None,
            cell: &CELL,
            meter: 0,
            future_size: 0,
            created_ns: 0,
        })
    }

    #[test]
    fn records_come_out_in_the_order_they_went_in_from_any_thread() {
        let list = FinishedList::new();
        let records: Vec<TaskRecord> = (1..=200).map(record).collect();
        std::thread::scope(|s| {
            for half in records.chunks(100) {
                let list = &list;
                s.spawn(move || half.iter().for_each(|r| list.push(r)));
            }
        });
        let mut seen = Vec::new();
        // SAFETY: `records` outlives the drain.
        unsafe { list.drain(|r| seen.push(r.id.as_u64())) };
        assert!(list.is_empty());
        assert_eq!(seen.len(), 200);
        for half in [1..=100u64, 101..=200] {
            let order: Vec<u64> = seen
                .iter()
                .copied()
                .filter(|id| half.contains(id))
                .collect();
            assert_eq!(
                order,
                half.collect::<Vec<_>>(),
                "one thread's pushes keep their order"
            );
        }
        list.push(&records[7]);
        // SAFETY: as above.
        unsafe { list.drain(|r| seen.push(r.id.as_u64())) };
        assert_eq!(seen.last(), Some(&8));
    }
}
