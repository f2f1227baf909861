//! The books of one task: counters the allocator hook and the tracked future update.
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

use crate::clock;
use crate::task::{Outcome, TaskId, TaskType};
use std::borrow::Cow;
use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::*};

/// A task's name, kept in the cheapest form it came in: spawning by source location or
/// with a `&'static str` name allocates nothing.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum TaskName {
    Static(&'static str),
    Location(&'static Location<'static>),
    Owned(Box<str>),
}

impl From<Cow<'static, str>> for TaskName {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => TaskName::Static(s),
            Cow::Owned(s) => TaskName::Owned(s.into_boxed_str()),
        }
    }
}

impl From<&'static str> for TaskName {
    fn from(name: &'static str) -> Self {
        TaskName::Static(name)
    }
}

impl fmt::Display for TaskName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskName::Static(s) => f.write_str(s),
            TaskName::Location(l) => write!(f, "{}:{}:{}", l.file(), l.line(), l.column()),
            TaskName::Owned(s) => f.write_str(s),
        }
    }
}

/// Per-thread counts of one task's heap traffic that have not reached its record yet.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Pending {
    pub alloc_bytes: u64,
    pub alloc_count: u64,
    pub free_bytes: u64,
    pub free_count: u64,
    /// Running live-byte change since the last flush (may go below zero).
    pub delta: i64,
    /// Highest `delta` since the last flush (never below zero).
    pub max_delta: i64,
    /// `foreign_free_bytes` when this batch started: see [`TaskRecord::flush`].
    pub foreign_base: u64,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.alloc_count == 0 && self.free_count == 0
    }
}

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
    pub ended_ns: AtomicU64,
    pub outcome: AtomicU8,
    pub alloc_bytes: AtomicU64,
    pub alloc_count: AtomicU64,
    pub own_free_bytes: AtomicU64,
    pub own_free_count: AtomicU64,
    pub foreign_free_bytes: AtomicU64,
    pub foreign_free_count: AtomicU64,
    pub peak_bytes: AtomicU64,
    pub polls: AtomicU64,
    pub poll_ns: AtomicU64,
}

/// Adds `by` to a counter that only the current thread writes: no locked instruction.
#[inline]
fn bump(counter: &AtomicU64, by: u64) {
    // Relaxed: single writer; readers only need an eventually current value.
    counter.store(counter.load(Relaxed).saturating_add(by), Relaxed);
}

impl TaskRecord {
    pub(crate) fn new(
        id: TaskId,
        name: TaskName,
        task_type: TaskType,
        parent: Option<TaskId>,
        future_size: usize,
    ) -> Self {
        TaskRecord {
            id,
            name,
            task_type,
            slot: AtomicU32::new(u32::MAX),
            parent: parent.map_or(0, TaskId::as_u64),
            future_size: future_size as u64,
            created_ns: clock::now_ns(),
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

    /// Folds a thread's pending batch into the record. Called by a thread leaving one of
    /// the task's scopes; two threads may do so at once.
    ///
    /// The peak candidate is the live bytes when the batch started plus the highest rise
    /// within it. Frees by other threads during the batch are left out of that base
    /// (`foreign_base`), so the peak is exact when nobody else frees the task's memory
    /// meanwhile, and otherwise errs high by at most what they freed during the batch:
    /// it never misses a real peak.
    pub(crate) fn flush(&self, p: &Pending) {
        if p.is_empty() {
            return;
        }
        let alloc = self.alloc_bytes.load(Relaxed);
        let own_free = self.own_free_bytes.load(Relaxed);
        let base = alloc as i128 - own_free as i128 - p.foreign_base as i128;
        let candidate = (base + p.max_delta as i128).max(0) as u64;
        // Relaxed: independent counters; `fetch_*` because another thread may flush a batch
        // of the same task at the same time (see the module docs). The load first keeps
        // the common case (no new peak) free of a locked instruction.
        if candidate > self.peak_bytes.load(Relaxed) {
            self.peak_bytes.fetch_max(candidate, Relaxed);
        }
        self.alloc_bytes.fetch_add(p.alloc_bytes, Relaxed);
        self.alloc_count.fetch_add(p.alloc_count, Relaxed);
        self.own_free_bytes.fetch_add(p.free_bytes, Relaxed);
        self.own_free_count.fetch_add(p.free_count, Relaxed);
    }

    /// Charges a free made by a thread that is not running this task.
    ///
    /// The byte counter is written last and with `Release`: once the store sees the
    /// task's live bytes reach zero (with `Acquire`), no thread touches the record again,
    /// which is what allows it to be dropped.
    #[inline]
    pub(crate) fn charge_foreign_free(&self, size: u64) {
        // Relaxed: the count publishes nothing; the byte add below is the release point.
        self.foreign_free_count.fetch_add(1, Relaxed);
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

    pub(crate) fn freed_bytes(&self) -> u64 {
        self.own_free_bytes.load(Relaxed) + self.foreign_free_bytes.load(Acquire)
    }

    pub(crate) fn freed_count(&self) -> u64 {
        self.own_free_count.load(Relaxed) + self.foreign_free_count.load(Relaxed)
    }

    /// Allocated and not yet freed, whoever frees it; never below zero (a free by another
    /// thread can land before the allocating thread's batch does).
    pub(crate) fn live_bytes(&self) -> u64 {
        let freed = self.freed_bytes();
        self.alloc_bytes.load(Relaxed).saturating_sub(freed)
    }

    /// When the task ended (ns since the epoch), or now for a task still running or
    /// whose end is being published.
    pub(crate) fn ended_ns_or_now(&self) -> u64 {
        match self.ended_ns.load(Acquire) {
            0 => clock::now_ns().max(self.created_ns),
            ended => ended,
        }
    }

    pub(crate) fn outcome(&self) -> Outcome {
        // Acquire: pairs with the release in `finish`, so a finished task's counters are final.
        Outcome::from_u8(self.outcome.load(Acquire))
    }

    /// Marks the task finished; only the first call wins. Returns the end time (ns since
    /// the epoch) when this call did, `None` when the task had already finished.
    pub(crate) fn finish(&self, outcome: Outcome) -> Option<u64> {
        let ended = clock::now_ns().max(self.created_ns);
        let won = self
            .outcome
            .compare_exchange(Outcome::Running.to_u8(), outcome.to_u8(), AcqRel, Acquire)
            .is_ok();
        if won {
            // Release: a reader that sees the end time also sees the outcome; a reader that
            // sees the outcome first and an end of 0 takes "now" (see `ended_ns_or_now`).
            self.ended_ns.store(ended, Release);
        }
        won.then_some(ended)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TaskRecord {
        TaskRecord::new(
            TaskId::from_u64(1),
            "t".into(),
            TaskType::IoIntensive,
            None,
            64,
        )
    }

    #[test]
    fn flush_tracks_peak_within_a_batch() {
        let r = record();
        let p = Pending {
            alloc_bytes: 300,
            alloc_count: 2,
            free_bytes: 200,
            free_count: 1,
            delta: 100,
            max_delta: 250,
            foreign_base: 0,
        };
        r.flush(&p);
        assert_eq!(r.peak_bytes.load(Relaxed), 250);
        assert_eq!(r.live_bytes(), 100);
    }

    #[test]
    fn foreign_free_before_flush_never_goes_negative_nor_lowers_peak() {
        let r = record();
        r.charge_foreign_free(100);
        assert_eq!(r.live_bytes(), 0);
        let p = Pending {
            alloc_bytes: 100,
            alloc_count: 1,
            delta: 100,
            max_delta: 100,
            ..Pending::default()
        };
        r.flush(&p);
        assert_eq!(r.peak_bytes.load(Relaxed), 100);
        assert_eq!(r.live_bytes(), 0);
        assert_eq!(r.freed_count(), 1);
    }

    #[test]
    fn only_the_first_finish_counts() {
        let r = record();
        assert!(r.finish(Outcome::Panicked).is_some());
        assert!(r.finish(Outcome::Cancelled).is_none());
        assert_eq!(r.outcome(), Outcome::Panicked);
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod size {
    #[test]
    fn a_record_with_its_arc_counts_fits_160_bytes() {
        assert_eq!(size_of::<super::TaskRecord>() + 2 * size_of::<usize>(), 160);
    }
}
