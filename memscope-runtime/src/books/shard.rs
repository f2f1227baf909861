//! One shard of the books: its running tasks, its retention of finished tasks, the
//! aggregates of those folded away, and the owner cells of all of them.
//!
//! A finished task's record moves `active` → `finished` (the retention, most recent
//! last) → folded into its group's aggregate and dropped, or `lingering` while something
//! still refers to it (its `Tracked`, a scope handle, a descendant's record). Memory a
//! folded task still owns stays on its cell ([`Cells`]), which keeps counting it exactly;
//! a folded group stores that memory as freed, and a snapshot adds the cells' live
//! figures back ([`Shard::folded_groups`]).

use crate::base::name::TaskName;
use crate::base::task::{TaskId, TaskType};
use crate::books::aggregate::GroupProfile;
use crate::books::cells::Cells;
use crate::books::folded_group::FoldedGroup;
use crate::books::task_ids::ID_BLOCK;
use crate::hook::cell::OwnerCell;
use crate::hook::record::{NewTask, Reading, TaskRecord};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{fence, Ordering::Acquire, Ordering::Relaxed};
use std::sync::Arc;

/// Name of the group that takes the tasks of names past [`Shard::max_groups`].
pub(crate) const OTHER_NAMES: &str = "(other names)";

type GroupKey = (TaskType, TaskName);

/// Groups remembered by name address (see `Shard::recent_groups`).
const RECENT: usize = 4;
/// Records of folded tasks kept for reuse per shard: a task's start and end then cost no
/// allocation in the steady state. Two blocks of ids' worth: a spawner starts a block's
/// tasks in one shard in a row (`books::task_ids`) while their ends, and so the folds
/// that free records, come to each shard in bursts of their own; with fewer, a shard
/// allocates records while another frees them (with 32, the tokio benchmark's spawner did
/// so under glibc's arena lock, which the workers' frees contend for: BENCHMARKS.md).
const SPARE_RECORDS: usize = 2 * ID_BLOCK as usize;

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
    /// Tasks pushed out of `finished` that something still refers to.
    pub lingering: Vec<Arc<TaskRecord>>,
    next_sweep: usize,
    /// Tasks ended (retained) since the lingering records were last swept.
    ends_since_sweep: usize,
    /// Aggregates of tasks whose records were dropped, with the memory their cells still
    /// hold counted as freed; at most `max_groups` names, the rest in one [`OTHER_NAMES`]
    /// group per type. A detached cell names its group by index here.
    folded: Vec<FoldedGroup>,
    group_index: BTreeMap<GroupKey, u32>,
    /// The groups last folded into by `&'static str` name, by the name's address: most
    /// folds find their group here without comparing names.
    recent_groups: [(TaskType, usize, usize, u32); RECENT],
    next_recent: usize,
    pub folded_tasks: u64,
    /// The owner cells of this shard's tasks.
    pub cells: Cells,
    /// Records of folded tasks, cleared, that new tasks reuse (at most [`SPARE_RECORDS`]).
    spare: Vec<Arc<TaskRecord>>,
    /// Labels of held tasks that have one (`Tracked::labeled`), dropped when they fold.
    pub labels: BTreeMap<TaskId, Box<str>>,
    /// Tasks registered in this shard so far.
    pub started: u64,
    /// Open monitoring windows: per type, every task that finished inside the window.
    pub windows: BTreeMap<u64, Window>,
}

impl Shard {
    /// The empty shard number `index`.
    pub(crate) const fn new(index: usize) -> Self {
        Shard {
            active: Vec::new(),
            free_slots: Vec::new(),
            finished: VecDeque::new(),
            lingering: Vec::new(),
            next_sweep: 64,
            ends_since_sweep: 0,
            folded: Vec::new(),
            group_index: BTreeMap::new(),
            recent_groups: [(TaskType::Unspecified, 0, 0, 0); RECENT],
            next_recent: 0,
            folded_tasks: 0,
            cells: Cells::new(index),
            spare: Vec::new(),
            labels: BTreeMap::new(),
            started: 0,
            windows: BTreeMap::new(),
        }
    }

    /// The record of a new task: a spare one if there is, else a new allocation.
    #[inline]
    pub(crate) fn new_record(&mut self, task: NewTask) -> Arc<TaskRecord> {
        match self.spare.pop() {
            Some(mut rec) => {
                *unique(&mut rec) = TaskRecord::new(task);
                rec
            }
            None => Arc::new(TaskRecord::new(task)),
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

    #[inline]
    pub(crate) fn insert_active(&mut self, rec: Arc<TaskRecord>) {
        let slot = match self.free_slots.pop() {
            Some(slot) => slot,
            None => {
                self.active.push(None);
                self.active.len() - 1
            }
        };
        // Relaxed: the slot is only read under the shard's lock.
        rec.slot.store(slot as u32, Relaxed);
        self.active[slot] = Some(rec);
        self.started += 1;
    }

    /// Takes a finished task out of the running ones; the shard's `Arc` of it (which the
    /// caller moves on to the retention: no count changes hands).
    #[inline]
    pub(crate) fn remove_active(&mut self, rec: &TaskRecord) -> Option<Arc<TaskRecord>> {
        let slot = rec.slot.load(Relaxed) as usize;
        let entry = self.active.get_mut(slot)?;
        if !entry
            .as_ref()
            .is_some_and(|e| std::ptr::eq(Arc::as_ptr(e), rec))
        {
            return None;
        }
        self.free_slots.push(slot);
        entry.take()
    }

    /// Counts a task that finished at `now_ns` in every open monitoring window.
    #[inline]
    pub(crate) fn note_in_windows(&mut self, rec: &TaskRecord, now_ns: u64) {
        if !self.windows.is_empty() {
            self.note_in_open_windows(rec, now_ns);
        }
    }

    #[cold]
    #[inline(never)]
    fn note_in_open_windows(&mut self, rec: &TaskRecord, now_ns: u64) {
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
    #[inline]
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
    /// A record may be dropped once nothing can charge it again: no `Tracked` or
    /// `ScopeHandle` still holds it (either can open a scope and allocate after the task's
    /// end, and a scope still open has a batch its cell does not show yet), and no
    /// descendant's record (whose fold adds to it). The `Tracked`'s reference is uncounted
    /// (`hook::record_ref`) and says when it lets go. The flag is read first: while the
    /// `Tracked` lives it may give out new counted `Arc`s (`scope_handle`, a child's parent
    /// link), each before it lets go, so once the flag reads false (acquire) the count read
    /// after it includes them all; read the other way round, a clone and a let-go between
    /// the two reads would fold a record a `ScopeHandle` still holds. Once the shard holds
    /// the only `Arc` and the `Tracked` let go, no new reference can appear.
    fn retire(&mut self, rec: Arc<TaskRecord>, max_groups: usize, now_ns: u64) {
        if !rec.held_by_tracked() && Arc::strong_count(&rec) == 1 {
            // Acquire: pairs with the release decrement of the last other holder and the
            // release in `TaskRecord::let_go`, so the batches they flushed before letting
            // go are seen by the fold's reading.
            fence(Acquire);
            self.fold(&rec, max_groups, now_ns);
            self.keep_spare(rec);
            return;
        }
        self.lingering.push(rec);
    }

    /// Adds a finished task to its group, as if its live memory were freed (its cell,
    /// kept while it owns memory, holds that part), and its allocations to its parent's.
    fn fold(&mut self, rec: &TaskRecord, max_groups: usize, now_ns: u64) {
        let mut reading = rec.read();
        if let Some(parent) = rec.parent_record() {
            let (bytes, count) = reading.descendant_alloc;
            let bytes = reading.heap.allocated_bytes.wrapping_add(bytes);
            let count = reading.heap.allocation_count.wrapping_add(count);
            // Nothing to add for a subtree that allocated nothing (two locked adds saved).
            if bytes != 0 || count != 0 {
                parent.add_descendant_alloc(bytes, count);
            }
        }
        reading.heap.freed_bytes = reading.heap.allocated_bytes;
        reading.heap.free_count = reading.heap.allocation_count;
        let group = self.group_for(rec.task_type, &rec.name, max_groups);
        self.folded[group as usize].add(&reading, now_ns);
        self.folded_tasks += 1;
        if !self.labels.is_empty() {
            self.labels.remove(&rec.id);
        }
        self.cells.retire(rec.cell, group);
    }

    /// Keeps a folded task's record for reuse, its parent and name let go at once.
    /// Called by `retire` only, with a record it found unique.
    fn keep_spare(&mut self, mut rec: Arc<TaskRecord>) {
        if self.spare.len() < SPARE_RECORDS {
            unique(&mut rec).clear();
            self.spare.push(rec);
        }
    }

    fn group_for(&mut self, ty: TaskType, name: &TaskName, max_groups: usize) -> u32 {
        let by_address = match name {
            TaskName::Static(s) => Some((ty, s.as_ptr() as usize, s.len())),
            _ => None,
        };
        if let Some((ty, at, len)) = by_address {
            let hit = self
                .recent_groups
                .iter()
                .find(|r| (r.0, r.1, r.2) == (ty, at, len));
            if let Some(&(.., i)) = hit {
                return i;
            }
        }
        let i = self.group_by_name(ty, name, max_groups);
        if let Some((ty, at, len)) = by_address {
            self.recent_groups[self.next_recent] = (ty, at, len, i);
            self.next_recent = (self.next_recent + 1) % RECENT;
        }
        i
    }

    fn group_by_name(&mut self, ty: TaskType, name: &TaskName, max_groups: usize) -> u32 {
        let mut key = (ty, name.clone());
        if !self.group_index.contains_key(&key) && self.group_index.len() >= max_groups {
            key.1 = TaskName::Static(OTHER_NAMES);
        }
        if let Some(&i) = self.group_index.get(&key) {
            return i;
        }
        let i = self.folded.len() as u32;
        self.folded.push(FoldedGroup::new(&key.1.to_string(), ty));
        self.group_index.insert(key, i);
        i
    }

    /// The folded groups, with what their detached cells still hold added back as live
    /// (retained) memory; `each` gets every detached cell with the (live bytes, live
    /// blocks) read for it, so the caller sees the same figures as the groups.
    pub(crate) fn folded_groups(
        &self,
        mut each: impl FnMut(&'static OwnerCell, (u64, u64)),
    ) -> Vec<GroupProfile> {
        let mut groups: Vec<GroupProfile> = self.folded.iter().map(FoldedGroup::profile).collect();
        for cell in self.cells.detached() {
            if let Some(g) = groups.get_mut(cell.group()) {
                let live = cell.live();
                add_retained(g, live);
                each(cell, live);
            }
        }
        groups
    }

    /// Runs `f` on each detached cell (a folded task's memory) with its group.
    pub(crate) fn for_each_detached(&self, mut f: impl FnMut(&'static OwnerCell, &FoldedGroup)) {
        for cell in self.cells.detached() {
            if let Some(g) = self.folded.get(cell.group()) {
                f(cell, g);
            }
        }
    }

    /// Folds lingering tasks nothing refers to any more, and reuses cells that own
    /// nothing; each amortised O(1) per finish.
    ///
    /// The lingering records are swept once they doubled since the last sweep, or once as
    /// many tasks ended since as there are lingering records (at least 64): either way a
    /// sweep's cost, O(lingering), is O(1) per task's end, and a record nothing refers to
    /// any more is folded within that many ends even when no more records linger.
    #[inline]
    fn sweep_if_due(&mut self, max_groups: usize, now_ns: u64) {
        self.cells.sweep_if_due();
        self.ends_since_sweep += 1;
        let lingering = self.lingering.len();
        if lingering != 0
            && (lingering >= self.next_sweep || self.ends_since_sweep >= lingering.max(64))
        {
            self.sweep_lingering(max_groups, now_ns);
        }
    }

    #[cold]
    #[inline(never)]
    fn sweep_lingering(&mut self, max_groups: usize, now_ns: u64) {
        let lingering = std::mem::take(&mut self.lingering);
        for rec in lingering {
            self.retire(rec, max_groups, now_ns);
        }
        self.next_sweep = (self.lingering.len() * 2).max(64);
        self.ends_since_sweep = 0;
    }
}

/// The record of an `Arc` that is the only one of it: a retired record (`retire` saw its
/// `Tracked` let go and a strong count of 1, then an acquire fence) or a spare (only the
/// shard, under its lock, holds spares). `Arc::get_mut` would check again with a compare-and-swap on the weak
/// count, twice per task (keeping a spare, reusing it); nothing ever makes a `Weak` of a
/// record, so the strong count alone says it is unique, once its `Tracked` let go.
fn unique(rec: &mut Arc<TaskRecord>) -> &mut TaskRecord {
    debug_assert_eq!(Arc::strong_count(rec), 1);
    debug_assert!(!rec.held_by_tracked());
    // SAFETY: `rec` is the only `Arc` of its record, no `Weak` exists and its `Tracked`'s
    // uncounted reference is gone (see above), so no other reference to the record
    // exists, nor can one be made while `rec` is borrowed mutably; the pointer is the `Arc`'s own, valid for writes (what the unstable
    // `Arc::get_mut_unchecked` returns).
    unsafe { &mut *Arc::as_ptr(rec).cast_mut() }
}

/// Counts what a detached cell still holds (`live`: bytes, blocks) back into its group as
/// live, retained memory.
fn add_retained(g: &mut GroupProfile, (bytes, count): (u64, u64)) {
    g.heap.freed_bytes = g.heap.freed_bytes.saturating_sub(bytes);
    g.heap.free_count = g.heap.free_count.saturating_sub(count);
    g.live_bytes = g.live_bytes.saturating_add(bytes);
    g.retained_bytes = g.retained_bytes.saturating_add(bytes);
    g.add_retaining(bytes);
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
