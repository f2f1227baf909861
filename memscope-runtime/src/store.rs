//! The books of all tasks: live records, the bounded retention of finished ones, and
//! per-`(name, task type)` aggregates of tasks folded out of the retention.
//!
//! The books are split into [`SHARDS`] shards, each behind its own lock, so that worker
//! threads starting and finishing tasks at once rarely wait for each other: a task goes to
//! the shard its id picks (consecutive ids, consecutive shards) and stays there. A shard's lock
//! is taken when a task starts, when it finishes and for a snapshot or a timeline sample;
//! never by the allocator hook. Everything allocated under it is charged to the tracker's
//! own bucket.
//!
//! The retention of finished tasks is split evenly over the shards: each keeps its most
//! recent `ceil(retention / SHARDS)`, so together they hold about the `retention` most
//! recently finished tasks.

use crate::clock;
use crate::config::Config;
use crate::context::{self, current_task_id};
use crate::record::{TaskName, TaskRecord};
use crate::snapshot::{GroupProfile, TaskMemoryProfile};
use crate::task::{Outcome, TaskId, TaskType};
use crossbeam_utils::CachePadded;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{fence, AtomicU64, Ordering::Acquire, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

/// Number of independently locked parts of the books.
pub(crate) const SHARDS: usize = 8;

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static NEXT_WINDOW: AtomicU64 = AtomicU64::new(1);
/// Tasks running now, and the most running at once (over all shards).
static RUNNING: AtomicU64 = AtomicU64::new(0);
static PEAK_RUNNING: AtomicU64 = AtomicU64::new(0);
static BOOKS: [CachePadded<Mutex<Books>>; SHARDS] =
    [const { CachePadded::new(Mutex::new(Books::new())) }; SHARDS];

type GroupKey = (TaskType, TaskName);

pub(crate) struct Books {
    /// Running tasks, each at its record's `slot`; `None` marks a free slot.
    active: Vec<Option<Arc<TaskRecord>>>,
    free_slots: Vec<usize>,
    pub active_count: u64,
    /// The most recently finished tasks, oldest first, at most `Config::retention`.
    pub finished: VecDeque<Arc<TaskRecord>>,
    /// Tasks pushed out of `finished` that still hold memory; folded once it is freed.
    pub lingering: Vec<Arc<TaskRecord>>,
    next_sweep: usize,
    /// Aggregates of tasks whose records were dropped.
    pub folded: BTreeMap<GroupKey, GroupProfile>,
    pub folded_tasks: u64,
    /// Tasks registered in this shard so far.
    pub started: u64,
    /// Open monitoring windows: per type, every task that ran inside the window.
    windows: BTreeMap<u64, BTreeMap<TaskType, GroupProfile>>,
}

impl Books {
    const fn new() -> Self {
        Books {
            active: Vec::new(),
            free_slots: Vec::new(),
            active_count: 0,
            finished: VecDeque::new(),
            lingering: Vec::new(),
            next_sweep: 64,
            folded: BTreeMap::new(),
            folded_tasks: 0,
            started: 0,
            windows: BTreeMap::new(),
        }
    }

    /// Every record the store still holds: running, retained, lingering.
    pub(crate) fn records(&self) -> impl Iterator<Item = &Arc<TaskRecord>> {
        self.active
            .iter()
            .flatten()
            .chain(self.finished.iter())
            .chain(self.lingering.iter())
    }

    /// Folds a finished task into its group and drops its record, or keeps it lingering.
    ///
    /// Blocks point at their owner's record, so it may be dropped only once nothing can
    /// charge it again: none of its memory is live, and no `Tracked` or `ScopeHandle`
    /// still holds it (either can open a scope and allocate after the task's end, and a
    /// scope still open has a batch that `live_bytes` does not show yet). Once the store
    /// holds the only `Arc`, no new one can appear, so the check cannot race.
    fn retire(&mut self, rec: Arc<TaskRecord>, now_ns: u64) {
        if Arc::strong_count(&rec) == 1 {
            // Acquire: pairs with the release decrement of the last other holder, so the
            // batches it flushed before letting go are seen by `live_bytes` below.
            fence(Acquire);
            if rec.live_bytes() == 0 {
                self.fold(&rec, now_ns);
                return;
            }
        }
        self.lingering.push(rec);
    }

    fn fold(&mut self, rec: &TaskRecord, now_ns: u64) {
        let figures = TaskMemoryProfile::read_unnamed(rec, now_ns);
        let key = (rec.task_type, rec.name.clone());
        // Look up before inserting: building the key clones an owned name.
        match self.folded.get_mut(&key) {
            Some(group) => group.add_task(&figures),
            None => {
                let mut group = GroupProfile::new(&rec.name.to_string(), rec.task_type);
                group.add_task(&figures);
                self.folded.insert(key, group);
            }
        }
        self.folded_tasks += 1;
    }

    fn insert_active(&mut self, rec: &Arc<TaskRecord>) {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.active.push(None);
                self.active.len() - 1
            }
        };
        // Relaxed: the slot is only read under the books' lock.
        rec.slot.store(slot as u32, Relaxed);
        self.active[slot] = Some(Arc::clone(rec));
        self.active_count += 1;
        self.started += 1;
    }

    fn remove_active(&mut self, rec: &TaskRecord) {
        let slot = rec.slot.load(Relaxed) as usize;
        if let Some(entry) = self.active.get_mut(slot).filter(|e| e.is_some()) {
            *entry = None;
            self.free_slots.push(slot);
            self.active_count -= 1;
        }
    }

    /// Folds lingering tasks whose memory has since been freed; amortised O(1) per finish.
    fn sweep_if_due(&mut self, now_ns: u64) {
        if self.lingering.len() < self.next_sweep {
            return;
        }
        let lingering = std::mem::take(&mut self.lingering);
        for rec in lingering {
            self.retire(rec, now_ns);
        }
        self.next_sweep = (self.lingering.len() * 2).max(64);
    }
}

/// The shard holding a task's books: consecutive ids, consecutive shards, so the load
/// spreads evenly and each shard's retention holds its share of the most recent tasks.
fn shard_of(id: TaskId) -> usize {
    (id.as_u64() % SHARDS as u64) as usize
}

/// Locks one shard of the books; a panic elsewhere while holding it does not poison it
/// for us.
fn lock(shard: usize) -> MutexGuard<'static, Books> {
    BOOKS[shard % SHARDS]
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Runs `f` on each shard in turn, each locked only while `f` runs on it.
pub(crate) fn for_each_shard(mut f: impl FnMut(&Books)) {
    for shard in 0..SHARDS {
        f(&lock(shard));
    }
}

/// The most tasks running at once so far.
pub(crate) fn peak_running() -> u64 {
    // Relaxed: a statistic.
    PEAK_RUNNING.load(Relaxed)
}

/// Creates the record of a new task, child of the task running on this thread.
pub(crate) fn register(name: TaskName, task_type: TaskType, future_size: usize) -> Arc<TaskRecord> {
    let parent = current_task_id();
    let _internal = context::internal();
    // The tracker owns the name from here on, so its bytes are the tracker's.
    let name = match name {
        TaskName::Owned(s) => TaskName::Owned(Box::from(&*s)),
        other => other,
    };
    // Relaxed: only uniqueness matters.
    let id = TaskId::from_u64(NEXT_ID.fetch_add(1, Relaxed));
    let rec = Arc::new(TaskRecord::new(id, name, task_type, parent, future_size));
    lock(shard_of(id)).insert_active(&rec);
    // Relaxed: statistics, each exact on its own. The peak is read first: it rarely
    // changes, and a read keeps its cache line shared between the workers.
    let running = RUNNING.fetch_add(1, Relaxed) + 1;
    if running > PEAK_RUNNING.load(Relaxed) {
        PEAK_RUNNING.fetch_max(running, Relaxed);
    }
    rec
}

/// Ends a task's life with `outcome`; later calls for the same task do nothing.
pub(crate) fn finish(rec: &Arc<TaskRecord>, outcome: Outcome) {
    let Some(now_ns) = rec.finish(outcome) else {
        return;
    };
    let _internal = context::internal();
    let retention = Config::current().retention_limit().div_ceil(SHARDS);
    // Relaxed: a statistic.
    RUNNING.fetch_sub(1, Relaxed);
    let mut books = lock(shard_of(rec.id));
    books.remove_active(rec);
    if !books.windows.is_empty() {
        let profile = TaskMemoryProfile::read_unnamed(rec, now_ns);
        for window in books.windows.values_mut() {
            add_to_window(window, &profile);
        }
    }
    books.finished.push_back(Arc::clone(rec));
    while books.finished.len() > retention {
        if let Some(oldest) = books.finished.pop_front() {
            books.retire(oldest, now_ns);
        }
    }
    books.sweep_if_due(now_ns);
}

fn add_to_window(window: &mut BTreeMap<TaskType, GroupProfile>, task: &TaskMemoryProfile) {
    window
        .entry(task.task_type)
        .or_insert_with(|| GroupProfile::new(task.task_type.as_str(), task.task_type))
        .add_task(task);
}

/// Opens a monitoring window in every shard; returns its key.
pub(crate) fn open_window() -> u64 {
    let _internal = context::internal();
    // Relaxed: only uniqueness matters.
    let key = NEXT_WINDOW.fetch_add(1, Relaxed);
    for shard in 0..SHARDS {
        lock(shard).windows.insert(key, BTreeMap::new());
    }
    key
}

/// Closes a window: per type, every task that finished inside it plus those still running.
pub(crate) fn close_window(key: u64) -> Option<BTreeMap<TaskType, GroupProfile>> {
    let _internal = context::internal();
    let now_ns = clock::now_ns();
    let mut all: Option<BTreeMap<TaskType, GroupProfile>> = None;
    for shard in 0..SHARDS {
        let mut books = lock(shard);
        let Some(mut window) = books.windows.remove(&key) else {
            continue;
        };
        for rec in books.active.iter().flatten() {
            add_to_window(&mut window, &TaskMemoryProfile::read_unnamed(rec, now_ns));
        }
        let merged = all.get_or_insert_with(BTreeMap::new);
        for (ty, group) in window {
            merged
                .entry(ty)
                .or_insert_with(|| GroupProfile::new(ty.as_str(), ty))
                .merge(&group);
        }
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finished_tasks_beyond_retention_are_folded_or_linger() {
        let a = register("store-test-a".into(), TaskType::IoIntensive, 8);
        let b = register("store-test-b".into(), TaskType::IoIntensive, 8);
        assert_eq!(b.parent(), None);
        // `b` still holds 100 bytes when it finishes.
        b.flush(&crate::record::Pending {
            alloc_bytes: 100,
            alloc_count: 1,
            delta: 100,
            max_delta: 100,
            ..Default::default()
        });
        finish(&a, Outcome::Completed);
        finish(&b, Outcome::Completed);
        assert!(lock(shard_of(a.id))
            .active
            .iter()
            .flatten()
            .all(|r| r.id != a.id));
        assert!(lock(shard_of(b.id)).records().any(|r| r.id == b.id));
    }
}
