//! The books of one task: the counters the allocator hook and the tracked future update,
//! and the one function that reads them. What the task's blocks point at is its
//! [`OwnerCell`] (32 bytes, which outlives the record when the task's memory outlives the
//! task); the record holds everything else.
//!
//! Who writes what decides the atomic operations used:
//! - `polls` and `poll_ns` are written only by the thread polling the task (the executor
//!   orders successive polls, so a plain relaxed load + store is exact and costs no
//!   locked instruction);
//! - `alloc_*` and `peak_bytes` (and the cell's live counters) are written when a scope's
//!   batch is flushed, once per scope, not per allocation. Scopes of one task can be open
//!   on two threads at once (`ScopeHandle::run` around a spawn while a worker already polls
//!   the new task), so they use `fetch_add` / `fetch_max`: a load + store there lost updates;
//! - frees by a thread running something else go straight to the cell (`fetch_sub`);
//! - `descendant_*` grow when a descendant's record is folded away (by any shard).
//!
//! Counters wrap like `fetch_add` (2^64 bytes is out of reach); views add them saturating.
//!
//! # Reading a record consistently
//!
//! Freed is what was allocated minus what is live, so a reading never shows more freed
//! than allocated, nor more frees than allocations. [`TaskRecord::flush`] adds a batch's
//! allocations before its net change to the cell (`Release`); [`TaskRecord::read`] loads
//! the cell (`Acquire`) before the allocation counters, so the allocations it sees are
//! at least those of the live figures it saw. While a batch lands during the read, the
//! reading may count that batch's allocations as freed for that instant; a free by
//! another thread of a block whose allocation is still in the owner's unflushed batch
//! (allocated and handed over within one poll) shows once the batch lands, at the latest
//! when the poll ends. Both are exact once the task's scopes are closed.

use crate::base::counters::HeapCounters;
use crate::base::name::TaskName;
use crate::base::task::{Outcome, TaskId, TaskType};
use crate::hook::batch::Batch;
use crate::hook::cell::OwnerCell;
use crate::hook::meter;
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicU8, Ordering::*};
use std::sync::Arc;

/// One tracked task's identity and books: with its `Arc` counts, 160 bytes. Held while
/// the task runs, while it is among the retention's most recent finished tasks, and while
/// anything still refers to it (its `Tracked`, a scope handle, a descendant's record);
/// then folded into its group, leaving only its cell if its memory outlives it.
#[derive(Debug)]
pub(crate) struct TaskRecord {
    pub id: TaskId,
    pub name: TaskName,
    pub task_type: TaskType,
    /// Index in its shard's table of running tasks (set and read under the shard's lock).
    pub slot: AtomicU32,
    /// The meter of the tree the task belongs to (`hook::meter`), 0 for none; set when
    /// it is created, or by `measure`/`with_budget`/a spawn before it first runs.
    meter: AtomicU32,
    /// The record of the task that was running where this one was created.
    parent: Option<Arc<TaskRecord>>,
    /// What this task's blocks point at; cells live in chunks that are never freed.
    pub cell: &'static OwnerCell,
    /// Size of the tracked future's state, in bytes (at most 4 GiB: no future is larger).
    pub future_size: u32,
    /// Nanoseconds since the tracker's epoch when the task was created.
    pub created_ns: u64,
    /// Nanoseconds since the tracker's epoch when it finished; 0 while running.
    ended_ns: AtomicU64,
    outcome: AtomicU8,
    /// Whether the task's `Tracked` still refers to the record: its reference counts in
    /// none of the `Arc`'s counts (`hook::record_ref`).
    tracked: AtomicBool,
    alloc_bytes: AtomicU64,
    alloc_count: AtomicU64,
    peak_bytes: AtomicU64,
    polls: AtomicU64,
    poll_ns: AtomicU64,
    /// Allocations of the descendants whose records were folded away.
    descendant_alloc_bytes: AtomicU64,
    descendant_alloc_count: AtomicU64,
    /// The next record of its shard's list of ended tasks (`hook::finished_list`).
    next_ended: AtomicPtr<TaskRecord>,
}

/// What [`TaskRecord::read`] saw: one task's figures, read consistently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reading {
    pub outcome: Outcome,
    pub heap: HeapCounters,
    /// The highest live bytes reached (at least the live bytes of this reading).
    pub peak_bytes: u64,
    pub poll_count: u64,
    pub poll_ns: u64,
    pub created_ns: u64,
    /// When the task finished; `None` while it runs.
    pub ended_ns: Option<u64>,
    /// Bytes and blocks allocated by descendants whose records were folded away.
    pub descendant_alloc: (u64, u64),
}

impl Reading {
    /// Creation to the end, or to `now_ns` while running.
    pub(crate) fn lifetime_ns(&self, now_ns: u64) -> u64 {
        self.ended_ns
            .unwrap_or(now_ns)
            .saturating_sub(self.created_ns)
    }

    /// Live bytes of a finished task (memory it handed off or leaked); 0 while running.
    pub(crate) fn retained_bytes(&self) -> u64 {
        if self.outcome.is_finished() {
            self.heap.live_bytes()
        } else {
            0
        }
    }
}

/// Adds `by` to a counter that only the current thread writes: no locked instruction.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    // Relaxed: single writer; readers only need an eventually current value.
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

/// What a new record is made of, besides its counters.
pub(crate) struct NewTask {
    pub id: TaskId,
    pub name: TaskName,
    pub task_type: TaskType,
    pub parent: Option<Arc<TaskRecord>>,
    pub cell: &'static OwnerCell,
    pub meter: u32,
    pub future_size: usize,
    pub created_ns: u64,
}

impl TaskRecord {
    pub(crate) fn new(t: NewTask) -> Self {
        TaskRecord {
            id: t.id,
            name: t.name,
            task_type: t.task_type,
            slot: AtomicU32::new(u32::MAX),
            meter: AtomicU32::new(t.meter),
            parent: t.parent,
            cell: t.cell,
            future_size: u32::try_from(t.future_size).unwrap_or(u32::MAX),
            created_ns: t.created_ns,
            ended_ns: AtomicU64::new(0),
            outcome: AtomicU8::new(Outcome::Running.to_u8()),
            tracked: AtomicBool::new(true),
            alloc_bytes: AtomicU64::new(0),
            alloc_count: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            poll_ns: AtomicU64::new(0),
            descendant_alloc_bytes: AtomicU64::new(0),
            descendant_alloc_count: AtomicU64::new(0),
            next_ended: AtomicPtr::new(std::ptr::null_mut()),
        }
    }

    /// The link of a shard's list of ended tasks: written and read by the thread pushing
    /// the record, then by the one draining the list (ordered by the list's head).
    pub(crate) fn next_ended(&self) -> *mut TaskRecord {
        self.next_ended.load(Relaxed)
    }

    /// Sets the link read by [`TaskRecord::next_ended`].
    pub(crate) fn set_next_ended(&self, next: *mut TaskRecord) {
        self.next_ended.store(next, Relaxed);
    }

    /// When the task ended (ns since the epoch); 0 while it runs.
    pub(crate) fn ended_ns(&self) -> u64 {
        self.ended_ns.load(Acquire)
    }

    /// Lets go of the parent and the name of a folded task's record, kept for reuse.
    pub(crate) fn clear(&mut self) {
        self.parent = None;
        self.name = TaskName::Static("");
    }

    /// The task that was running where this one was created.
    pub(crate) fn parent(&self) -> Option<TaskId> {
        self.parent.as_ref().map(|p| p.id)
    }

    /// The meter of the task's tree (0 for none).
    #[inline]
    pub(crate) fn meter(&self) -> u32 {
        // Relaxed: set before the task first runs, by the thread that then polls or
        // spawns it (which orders it before any of the task's flushes).
        self.meter.load(Relaxed)
    }

    /// Whether no poll of the task has ended yet.
    #[inline]
    pub(crate) fn never_polled(&self) -> bool {
        // Relaxed: written by the polling thread only (see the module docs).
        self.polls.load(Relaxed) == 0
    }

    /// Moves the task to meter `index`, before it ran.
    pub(crate) fn set_meter(&self, index: u32) {
        self.meter.store(index, Relaxed);
    }

    /// The parent's record, held while this one is.
    pub(crate) fn parent_record(&self) -> Option<&Arc<TaskRecord>> {
        self.parent.as_ref()
    }

    /// Folds a thread's batch into the record and its cell. Called by a thread leaving
    /// one of the task's scopes; two threads may do so at once.
    ///
    /// The peak candidate is the live bytes when the batch started plus the highest rise
    /// within it. Frees by other threads during the batch are left out of that base, so
    /// the peak is exact when nobody else frees the task's memory meanwhile, and otherwise
    /// errs high by at most what they freed during the batch. (With two scopes of the task
    /// open at once, a `ScopeHandle::run` beside a poll, each batch's base leaves out the
    /// other's unflushed traffic, so the peak may then read low by that much.)
    #[inline]
    pub(crate) fn flush(&self, b: &Batch) {
        if b.is_empty() {
            return;
        }
        let candidate = (b.live_base as i128 + b.max_delta as i128).max(0) as u64;
        // The load first keeps the common case (no new peak) free of a locked instruction.
        if candidate > self.peak_bytes.load(Relaxed) {
            self.peak_bytes.fetch_max(candidate, Relaxed);
        }
        // Allocations first, then the cell with Release: see "Reading a record consistently".
        self.alloc_bytes.fetch_add(b.alloc_bytes, Relaxed);
        self.alloc_count.fetch_add(b.alloc_count, Relaxed);
        let net_bytes = b.alloc_bytes.wrapping_sub(b.free_bytes) as i64;
        let net_count = b.alloc_count.wrapping_sub(b.free_count) as i64;
        // A scope that freed what it allocated leaves the cell as it was (two locked adds
        // saved); a reader then sees either allocation count with the same live figures,
        // and freed never exceeds allocated either way.
        if net_bytes != 0 || net_count != 0 {
            self.cell.add_net(net_bytes, net_count);
        }
        match self.meter() {
            0 => {}
            m => meter::add_batch(m, b),
        }
    }

    /// Records one finished poll.
    #[inline]
    pub(crate) fn add_poll(&self, poll_ns: u64) {
        bump(&self.polls, 1);
        if poll_ns > 0 {
            bump(&self.poll_ns, poll_ns);
        }
        match self.meter() {
            0 => {}
            m => meter::add_poll(m),
        }
    }

    /// Adds a folded descendant's allocations (its own and its folded descendants').
    pub(crate) fn add_descendant_alloc(&self, bytes: u64, count: u64) {
        self.descendant_alloc_bytes.fetch_add(bytes, Relaxed);
        self.descendant_alloc_count.fetch_add(count, Relaxed);
    }

    /// Reads every figure once, consistently (see "Reading a record consistently"):
    /// freed never exceeds allocated, frees never exceed allocations.
    pub(crate) fn read(&self) -> Reading {
        // Acquire: pairs with the release in `finish`, so a finished task's counters are final.
        let outcome = Outcome::from_u8(self.outcome.load(Acquire));
        let ended_ns = match self.ended_ns.load(Acquire) {
            0 => None,
            ended => Some(ended),
        };
        // An end being published (outcome set, time not yet) reads as "now" to the caller.
        let ended_ns = if outcome.is_finished() {
            ended_ns
        } else {
            None
        };
        let (live_bytes, live_count) = self.cell.live();
        // Relaxed: made visible by the acquire loads of the cell above.
        let alloc_bytes = self.alloc_bytes.load(Relaxed);
        let alloc_count = self.alloc_count.load(Relaxed);
        let heap = HeapCounters::new(
            alloc_bytes,
            alloc_count,
            alloc_bytes - live_bytes.min(alloc_bytes),
            alloc_count - live_count.min(alloc_count),
        );
        Reading {
            outcome,
            heap,
            peak_bytes: self.peak_bytes.load(Relaxed).max(heap.live_bytes()),
            poll_count: self.polls.load(Relaxed),
            poll_ns: self.poll_ns.load(Relaxed),
            created_ns: self.created_ns,
            ended_ns,
            descendant_alloc: (
                self.descendant_alloc_bytes.load(Relaxed),
                self.descendant_alloc_count.load(Relaxed),
            ),
        }
    }

    /// Allocated and not yet freed, whoever frees it; never below zero.
    pub(crate) fn live_bytes(&self) -> u64 {
        self.cell.live().0
    }

    /// Whether the task's `Tracked` still refers to the record (see `hook::record_ref`).
    /// Acquire: pairs with the release in [`TaskRecord::let_go`], so a caller that reads
    /// false then sees every count the `Tracked`'s reference gave out (a `scope_handle`, a
    /// child's parent link), all made before it let go.
    #[inline]
    pub(crate) fn held_by_tracked(&self) -> bool {
        self.tracked.load(Acquire)
    }

    /// The task's `Tracked` is done with the record (its `RecordRef` is dropped).
    #[inline]
    pub(crate) fn let_go(&self) {
        // Release: whatever the `Tracked` did to the record (its last flush, its end) is
        // seen by the shard that folds it once it sees this.
        self.tracked.store(false, Release);
    }

    /// Whether the task has ended (see [`TaskRecord::finish`]). Relaxed, as there: only
    /// the task's own `Tracked` ends it, ordered before this call by `&mut`.
    #[inline]
    pub(crate) fn has_ended(&self) -> bool {
        Outcome::from_u8(self.outcome.load(Relaxed)).is_finished()
    }

    /// Marks the task finished at `now_ns`; only the first call wins. Returns the end time
    /// (ns since the epoch) when this call did, `None` when the task had already finished.
    pub(crate) fn finish(&self, outcome: Outcome, now_ns: u64) -> Option<u64> {
        let ended = now_ns.max(self.created_ns);
        // A load and a store, not a compare-and-swap: a task is ended only by its
        // `Tracked` (a completing poll, a poll that unwinds, its drop), whose polls and drop
        // are ordered by `&mut`, so two ends never race. Relaxed: an earlier end is ordered
        // before this call as those are (on one thread, or through the executor's own
        // synchronization when the `Tracked` moved between threads).
        let won = !self.has_ended();
        if won {
            // Release: pairs with the acquire load in `read` (a finished task's counters
            // are final).
            self.outcome.store(outcome.to_u8(), Release);
            // Release: a reader that sees the end time also sees the outcome; a reader that
            // sees the outcome first and an end of 0 takes "now" (see `Reading::ended_ns`).
            self.ended_ns.store(ended, Release);
        }
        won.then_some(ended)
    }
}

/// A record with a cell of its own, outside the books, for unit tests.
#[cfg(test)]
pub(crate) fn test_record(id: u64) -> TaskRecord {
    // In a chunk of its own, as every cell is (`cell_chunk::locate` relies on it).
    let cell = &crate::hook::cell_chunk::CellChunk::leak().cells()[0];
    cell.attach(None);
    TaskRecord::new(NewTask {
        id: TaskId::from_u64(id),
        name: "t".into(),
        task_type: TaskType::IoIntensive,
        parent: None,
        cell,
        meter: 0,
        future_size: 64,
        created_ns: 0,
    })
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;

#[cfg(all(test, target_pointer_width = "64"))]
mod size {
    #[test]
    fn a_record_with_its_arc_counts_fits_160_bytes() {
        assert!(size_of::<super::TaskRecord>() + 2 * size_of::<usize>() <= 160);
    }
}
