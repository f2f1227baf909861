//! One shard of the books: its running tasks, its retention of finished tasks, the
//! finished tasks that still own memory, and the aggregates of those folded away.
//!
//! A finished task's record moves `active` → `finished` (the retention, most recent
//! last) → dropped into its group's aggregate, or `lingering` while it still owns memory
//! (blocks point at their owner's record, so it may be dropped only once none is live).

use crate::base::name::TaskName;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::hook::record::{Reading, TaskRecord};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{fence, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;

/// Name of the group that takes the tasks of names past [`Shard::max_groups`].
pub(crate) const OTHER_NAMES: &str = "(other names)";

type GroupKey = (TaskType, TaskName);

/// Per task type, the tasks a monitoring window has seen.
pub(crate) type Window = BTreeMap<TaskType, GroupProfile>;

fn add_to_window(window: &mut Window, rec: &TaskRecord, r: &Reading, now_ns: u64) {
    let ty = rec.task_type;
    window
        .entry(ty)
        .or_insert_with(|| GroupProfile::new(ty.as_str(), ty))
        .add(r, now_ns);
}

pub(crate) struct Shard {
    /// Running tasks, each at its record's `slot`; `None` marks a free slot.
    active: Vec<Option<Arc<TaskRecord>>>,
    free_slots: Vec<usize>,
    /// The most recently finished tasks, oldest first.
    pub finished: VecDeque<Arc<TaskRecord>>,
    /// Tasks pushed out of `finished` that still hold memory; folded once it is freed.
    pub lingering: Vec<Arc<TaskRecord>>,
    next_sweep: usize,
    /// Aggregates of tasks whose records were dropped; at most `max_groups` names per
    /// type, the rest in one [`OTHER_NAMES`] group per type.
    pub folded: BTreeMap<GroupKey, GroupProfile>,
    pub folded_tasks: u64,
    /// Tasks registered in this shard so far.
    pub started: u64,
    /// Open monitoring windows: per type, every task that finished inside the window.
    pub windows: BTreeMap<u64, Window>,
}

impl Shard {
    pub(crate) const fn new() -> Self {
        Shard {
            active: Vec::new(),
            free_slots: Vec::new(),
            finished: VecDeque::new(),
            lingering: Vec::new(),
            next_sweep: 64,
            folded: BTreeMap::new(),
            folded_tasks: 0,
            started: 0,
            windows: BTreeMap::new(),
        }
    }

    /// Running tasks.
    pub(crate) fn active(&self) -> impl Iterator<Item = &Arc<TaskRecord>> {
        self.active.iter().flatten()
    }

    /// Every record the shard still holds: running, retained, lingering.
    pub(crate) fn records(&self) -> impl Iterator<Item = &Arc<TaskRecord>> {
        self.active()
            .chain(self.finished.iter())
            .chain(self.lingering.iter())
    }

    pub(crate) fn insert_active(&mut self, rec: &Arc<TaskRecord>) {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.active.push(None);
                self.active.len() - 1
            }
        };
        // Relaxed: the slot is only read under the shard's lock.
        rec.slot.store(slot as u32, Relaxed);
        self.active[slot] = Some(Arc::clone(rec));
        self.started += 1;
    }

    pub(crate) fn remove_active(&mut self, rec: &TaskRecord) {
        let slot = rec.slot.load(Relaxed) as usize;
        if let Some(entry) = self.active.get_mut(slot).filter(|e| e.is_some()) {
            *entry = None;
            self.free_slots.push(slot);
        }
    }

    /// Counts a task that finished at `now_ns` in every open monitoring window.
    pub(crate) fn note_in_windows(&mut self, rec: &TaskRecord, now_ns: u64) {
        if self.windows.is_empty() {
            return;
        }
        let reading = rec.read();
        for window in self.windows.values_mut() {
            add_to_window(window, rec, &reading, now_ns);
        }
    }

    /// Closes a window: the tasks that finished inside it plus those running now.
    pub(crate) fn close_window(&mut self, key: u64, now_ns: u64) -> Option<Window> {
        let mut window = self.windows.remove(&key)?;
        for rec in self.active() {
            add_to_window(&mut window, rec, &rec.read(), now_ns);
        }
        Some(window)
    }

    /// Adds a finished task to the retention, pushing the oldest beyond `retention` out.
    pub(crate) fn retain(
        &mut self,
        rec: Arc<TaskRecord>,
        retention: usize,
        max_groups: usize,
        now_ns: u64,
    ) {
        self.finished.push_back(rec);
        while self.finished.len() > retention {
            if let Some(oldest) = self.finished.pop_front() {
                self.retire(oldest, max_groups, now_ns);
            }
        }
        self.sweep_if_due(max_groups, now_ns);
    }

    /// Folds a finished task into its group and drops its record, or keeps it lingering.
    ///
    /// Blocks point at their owner's record, so it may be dropped only once nothing can
    /// charge it again: none of its memory is live, and no `Tracked` or `ScopeHandle`
    /// still holds it (either can open a scope and allocate after the task's end, and a
    /// scope still open has a batch that `live_bytes` does not show yet). Once the shard
    /// holds the only `Arc`, no new one can appear, so the check cannot race.
    fn retire(&mut self, rec: Arc<TaskRecord>, max_groups: usize, now_ns: u64) {
        if Arc::strong_count(&rec) == 1 {
            // Acquire: pairs with the release decrement of the last other holder, so the
            // batches it flushed before letting go are seen by `live_bytes` below.
            fence(Acquire);
            if rec.live_bytes() == 0 {
                self.fold(&rec, max_groups, now_ns);
                return;
            }
        }
        self.lingering.push(rec);
    }

    fn fold(&mut self, rec: &TaskRecord, max_groups: usize, now_ns: u64) {
        let reading = rec.read();
        let mut key = (rec.task_type, rec.name.clone());
        if !self.folded.contains_key(&key) && self.folded.len() >= max_groups {
            key.1 = TaskName::Static(OTHER_NAMES);
        }
        self.folded
            .entry(key)
            .or_insert_with_key(|(ty, name)| GroupProfile::new(&name.to_string(), *ty))
            .add(&reading, now_ns);
        self.folded_tasks += 1;
    }

    /// Folds lingering tasks whose memory has since been freed; amortised O(1) per finish.
    fn sweep_if_due(&mut self, max_groups: usize, now_ns: u64) {
        if self.lingering.len() < self.next_sweep {
            return;
        }
        let lingering = std::mem::take(&mut self.lingering);
        for rec in lingering {
            self.retire(rec, max_groups, now_ns);
        }
        self.next_sweep = (self.lingering.len() * 2).max(64);
    }
}
