//! The books of one task: the counters the allocator hook and the tracked future update,
//! and the one function that reads them.
//!
//! Who writes what decides the atomic operations used:
//! - `polls` and `poll_ns` are written only by the thread polling the task (the executor
//!   orders successive polls, so a plain relaxed load + store is exact and costs no
//!   locked instruction);
//! - `alloc_*`, `own_free_*` and `peak_bytes` are written when a scope's batch is flushed,
//!   once per scope, not per allocation. Scopes of one task can be open on two threads at
//!   once (`ScopeHandle::run` around a spawn while a worker already polls the new task), so
//!   they use `fetch_add` / `fetch_max`: a load + store there lost updates;
//! - the `foreign_*` counters are written by any thread that frees the task's memory
//!   while running something else, so they use `fetch_add`.
//!
//! Counters wrap like `fetch_add` (2^64 bytes is out of reach); views add them saturating.
//!
//! # Reading a record consistently
//!
//! A reader must never see more freed than allocated, nor more frees than allocations,
//! on any memory model. [`TaskRecord::flush`] adds a batch's allocations (`Relaxed`) before
//! its frees (`Release`); [`TaskRecord::read`] loads the free counters (`Acquire`) before
//! the allocation counters. A free counter read from flush *k* (or a later one: `fetch_add`s
//! continue the release sequence) makes every allocation add of flushes up to *k* visible
//! to the loads that follow, and the task's own frees up to *k* do not exceed its
//! allocations up to *k* (except when two scopes of the task are open on two threads at
//! once, a `ScopeHandle::run` beside a poll, and one frees a block of the other's
//! unflushed batch). A foreign free (another thread freeing a block) is published the
//! same way, but it can be of a block whose allocation is still in the owner's unflushed
//! batch (allocated and handed over within one poll). `read` clamps freed to allocated,
//! which covers both cases: such a free shows once the batch lands, at the latest when the
//! poll ends.

use crate::base::counters::HeapCounters;
use crate::base::name::TaskName;
use crate::base::task::{Outcome, TaskId, TaskType};
use crate::hook::batch::Batch;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::*};

/// One tracked task's identity and books: 144 bytes, so that with its `Arc` counts it
/// fills a 160-byte size class (records of finished tasks that still own memory are kept,
/// so their size is part of what tracking costs in memory; see BENCHMARKS.md).
#[derive(Debug)]
pub(crate) struct TaskRecord {
    pub id: TaskId,
    pub name: TaskName,
    pub task_type: TaskType,
    /// Index in its shard's table of running tasks (set and read under the shard's lock).
    pub slot: AtomicU32,
    /// Raw id of the parent task, 0 for none (ids start at 1): half an `Option<TaskId>`.
    parent: u64,
    /// Size of the tracked future's state, in bytes.
    pub future_size: u64,
    /// Nanoseconds since the tracker's epoch when the task was created.
    pub created_ns: u64,
    /// Nanoseconds since the tracker's epoch when it finished; 0 while running.
    ended_ns: AtomicU64,
    outcome: AtomicU8,
    alloc_bytes: AtomicU64,
    alloc_count: AtomicU64,
    own_free_bytes: AtomicU64,
    own_free_count: AtomicU64,
    pub foreign_free_bytes: AtomicU64,
    foreign_free_count: AtomicU64,
    peak_bytes: AtomicU64,
    polls: AtomicU64,
    poll_ns: AtomicU64,
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

/// The heap counters of a record as [`TaskRecord::load_heap`] read them.
#[derive(Clone, Copy, Debug)]
struct RawHeap {
    alloc_count: u64,
    alloc_bytes: u64,
    own_free_count: u64,
    own_free_bytes: u64,
    foreign_free_count: u64,
    foreign_free_bytes: u64,
}

/// Adds `by` to a counter that only the current thread writes: no locked instruction.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    // Relaxed: single writer; readers only need an eventually current value.
    counter.store(counter.load(Relaxed).wrapping_add(by), Relaxed);
}

impl TaskRecord {
    pub(crate) fn new(
        id: TaskId,
        name: TaskName,
        task_type: TaskType,
        parent: Option<TaskId>,
        future_size: usize,
        created_ns: u64,
    ) -> Self {
        TaskRecord {
            id,
            name,
            task_type,
            slot: AtomicU32::new(u32::MAX),
            parent: parent.map_or(0, TaskId::as_u64),
            future_size: future_size as u64,
            created_ns,
            ended_ns: AtomicU64::new(0),
            outcome: AtomicU8::new(Outcome::Running.to_u8()),
            alloc_bytes: AtomicU64::new(0),
            alloc_count: AtomicU64::new(0),
            own_free_bytes: AtomicU64::new(0),
            own_free_count: AtomicU64::new(0),
            foreign_free_bytes: AtomicU64::new(0),
            foreign_free_count: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            poll_ns: AtomicU64::new(0),
        }
    }

    /// The task that was running where this one was created.
    pub(crate) fn parent(&self) -> Option<TaskId> {
        (self.parent != 0).then(|| TaskId::from_u64(self.parent))
    }

    /// Folds a thread's batch into the record. Called by a thread leaving one of the
    /// task's scopes; two threads may do so at once.
    ///
    /// The peak candidate is the live bytes when the batch started plus the highest rise
    /// within it. Frees by other threads during the batch are left out of that base
    /// (`foreign_base`), so the peak is exact when nobody else frees the task's memory
    /// meanwhile, and otherwise errs high by at most what they freed during the batch:
    /// it never misses a real peak.
    pub(crate) fn flush(&self, b: &Batch) {
        if b.is_empty() {
            return;
        }
        let alloc = self.alloc_bytes.load(Relaxed);
        let own_free = self.own_free_bytes.load(Relaxed);
        let base = alloc as i128 - own_free as i128 - b.foreign_base as i128;
        let candidate = (base + b.max_delta as i128).max(0) as u64;
        // The load first keeps the common case (no new peak) free of a locked instruction.
        if candidate > self.peak_bytes.load(Relaxed) {
            self.peak_bytes.fetch_max(candidate, Relaxed);
        }
        // Allocations first, then frees with Release: see "Reading a record consistently".
        self.alloc_bytes.fetch_add(b.alloc_bytes, Relaxed);
        self.alloc_count.fetch_add(b.alloc_count, Relaxed);
        self.own_free_bytes.fetch_add(b.free_bytes, Release);
        self.own_free_count.fetch_add(b.free_count, Release);
    }

    /// Charges a free made by a thread that is not running this task.
    ///
    /// The byte counter is written last and with `Release`: once the store sees the
    /// task's live bytes reach zero (with `Acquire`), no thread touches the record again,
    /// which is what allows it to be dropped.
    #[inline]
    pub(crate) fn charge_foreign_free(&self, size: u64) {
        self.foreign_free_count.fetch_add(1, Release);
        self.foreign_free_bytes.fetch_add(size, Release);
    }

    /// Records one finished poll.
    #[inline]
    pub(crate) fn add_poll(&self, poll_ns: u64) {
        bump(&self.polls, 1);
        if poll_ns > 0 {
            bump(&self.poll_ns, poll_ns);
        }
    }

    /// The heap counters in the order "Reading a record consistently" requires: frees
    /// first (`Acquire`), then allocations. Own frees do not exceed allocations here (but
    /// for two scopes open at once, see the module docs); foreign frees can, by a free
    /// that raced ahead of its batch.
    #[inline]
    fn load_heap(&self) -> RawHeap {
        let own_free_count = self.own_free_count.load(Acquire);
        let own_free_bytes = self.own_free_bytes.load(Acquire);
        let foreign_free_count = self.foreign_free_count.load(Acquire);
        let foreign_free_bytes = self.foreign_free_bytes.load(Acquire);
        // Relaxed: made visible by the acquire loads above.
        RawHeap {
            alloc_count: self.alloc_count.load(Relaxed),
            alloc_bytes: self.alloc_bytes.load(Relaxed),
            own_free_count,
            own_free_bytes,
            foreign_free_count,
            foreign_free_bytes,
        }
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
        let raw = self.load_heap();
        let free_bytes = raw.own_free_bytes.wrapping_add(raw.foreign_free_bytes);
        let free_count = raw.own_free_count.wrapping_add(raw.foreign_free_count);
        let heap = HeapCounters::new(
            raw.alloc_bytes,
            raw.alloc_count,
            free_bytes.min(raw.alloc_bytes),
            free_count.min(raw.alloc_count),
        );
        Reading {
            outcome,
            heap,
            peak_bytes: self.peak_bytes.load(Relaxed).max(heap.live_bytes()),
            poll_count: self.polls.load(Relaxed),
            poll_ns: self.poll_ns.load(Relaxed),
            created_ns: self.created_ns,
            ended_ns,
        }
    }

    /// Allocated and not yet freed, whoever frees it; never below zero. What the books
    /// check before dropping a record.
    pub(crate) fn live_bytes(&self) -> u64 {
        let freed = self.own_free_bytes.load(Acquire) + self.foreign_free_bytes.load(Acquire);
        self.alloc_bytes.load(Relaxed).saturating_sub(freed)
    }

    /// Marks the task finished at `now_ns`; only the first call wins. Returns the end time
    /// (ns since the epoch) when this call did, `None` when the task had already finished.
    pub(crate) fn finish(&self, outcome: Outcome, now_ns: u64) -> Option<u64> {
        let ended = now_ns.max(self.created_ns);
        let won = self
            .outcome
            .compare_exchange(Outcome::Running.to_u8(), outcome.to_u8(), AcqRel, Acquire)
            .is_ok();
        if won {
            // Release: a reader that sees the end time also sees the outcome; a reader that
            // sees the outcome first and an end of 0 takes "now" (see `Reading::ended_ns`).
            self.ended_ns.store(ended, Release);
        }
        won.then_some(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record() -> TaskRecord {
        TaskRecord::new(
            TaskId::from_u64(1),
            "t".into(),
            TaskType::IoIntensive,
            None,
            64,
            0,
        )
    }

    #[test]
    fn flush_tracks_peak_within_a_batch() {
        let r = record();
        r.flush(&Batch {
            alloc_bytes: 300,
            alloc_count: 2,
            free_bytes: 200,
            free_count: 1,
            delta: 100,
            max_delta: 250,
            foreign_base: 0,
        });
        let read = r.read();
        assert_eq!(read.peak_bytes, 250);
        assert_eq!(read.heap.live_bytes(), 100);
    }

    #[test]
    fn a_foreign_free_ahead_of_its_batch_never_shows_more_freed_than_allocated() {
        let r = record();
        r.charge_foreign_free(100);
        assert_eq!(r.read().heap, HeapCounters::default());
        r.flush(&Batch {
            alloc_bytes: 100,
            alloc_count: 1,
            delta: 100,
            max_delta: 100,
            ..Batch::default()
        });
        let read = r.read();
        assert_eq!(read.peak_bytes, 100);
        assert_eq!(read.heap, HeapCounters::new(100, 1, 100, 1));
    }

    /// Flushing writers against preempted readers (more threads than cores): a reader
    /// never sees the own frees of a batch without its allocations. With the loads in
    /// the other order (allocations first) this fails within a second here.
    #[test]
    fn readers_never_see_frees_ahead_of_their_allocations() {
        use std::sync::atomic::AtomicBool;
        let r = std::sync::Arc::new(record());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let batch = Batch {
            alloc_bytes: 64,
            alloc_count: 1,
            free_bytes: 64,
            free_count: 1,
            delta: 0,
            max_delta: 64,
            foreign_base: 0,
        };
        let writers: Vec<_> = (0..2)
            .map(|_| {
                let (r, stop) = (r.clone(), stop.clone());
                std::thread::spawn(move || {
                    while !stop.load(Relaxed) {
                        r.flush(&batch);
                    }
                })
            })
            .collect();
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let r = r.clone();
                std::thread::spawn(move || {
                    let mut seen = 0u64;
                    for _ in 0..300_000 {
                        let h = r.load_heap();
                        assert!(h.own_free_bytes <= h.alloc_bytes, "{h:?}");
                        assert!(h.own_free_count <= h.alloc_count, "{h:?}");
                        assert!(h.alloc_count >= seen, "counters went back");
                        seen = h.alloc_count;
                    }
                })
            })
            .collect();
        for reader in readers {
            reader.join().unwrap();
        }
        stop.store(true, Relaxed);
        for writer in writers {
            writer.join().unwrap();
        }
    }

    #[test]
    fn only_the_first_finish_counts() {
        let r = record();
        assert_eq!(r.finish(Outcome::Panicked, 5), Some(5));
        assert!(r.finish(Outcome::Cancelled, 6).is_none());
        assert_eq!(r.read().outcome, Outcome::Panicked);
        assert_eq!(r.read().ended_ns, Some(5));
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod size {
    #[test]
    fn a_record_with_its_arc_counts_fits_160_bytes() {
        assert_eq!(size_of::<super::TaskRecord>() + 2 * size_of::<usize>(), 160);
    }
}
