//! `MemorySnapshot`: a copy of all books at one moment, and [`snapshot`], the collector.

use crate::base::config::Config;
use crate::base::counters::HeapCounters;
use crate::base::name::TaskName;
use crate::base::task::{TaskId, TaskType};
use crate::books::aggregate::GroupProfile;
use crate::books::sampler::{self, TimelineSample};
use crate::books::shard::Shard;
use crate::books::store;
use crate::hook::record::TaskRecord;
use crate::hook::{clock, outside, thread};
use crate::view::inclusive::{self, Detached, HeldExtra};
use crate::view::task::TaskMemoryProfile;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

/// Version of the snapshot's JSON layout; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 3;

/// A consistent-enough copy of all books at one moment.
///
/// Taking one locks the task books briefly (never the allocator hook) and copies the
/// figures of every task still held: running ones, the retention of finished ones, and
/// those something still refers to; older finished tasks are in their groups (with what
/// they still hold, counted by their owner cells) and in their ancestors' inclusive
/// figures. A finished task's figures are final. A running
/// task's figures may lag its current poll by at most one batch (256 KiB or 4096
/// allocations and frees on the thread polling it).
///
/// Write it out with [`save`](MemorySnapshot::save) or
/// [`write_to`](MemorySnapshot::write_to); its `Display` is the text summary.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let s = memscope::snapshot();
/// assert_eq!(s.schema_version, memscope::SCHEMA_VERSION);
/// assert!(s.tasks_running <= s.tasks_started);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemorySnapshot {
    /// Layout version of this structure's JSON form ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// This snapshot's number in the process: 1 for the first one taken, one more for each
    /// after (a live endpoint's `/snapshot.json?since=<id>` and its Prometheus
    /// `memscope_snapshot_id` name one). 0 in a report written before it existed.
    #[serde(default)]
    pub id: u64,
    /// When it was taken, since the tracker's start.
    #[serde(with = "crate::base::time::duration_ns", rename = "taken_at_ns")]
    pub taken_at: Duration,
    /// Every task held individually, by id.
    pub tasks: Vec<TaskMemoryProfile>,
    /// Every `(name, type)` group, including tasks folded out of the retention.
    pub groups: Vec<GroupProfile>,
    /// Heap traffic outside any tracked task.
    pub untracked: HeapCounters,
    /// memscope's own heap traffic (books, names, snapshots, reports).
    pub tracker: HeapCounters,
    /// Tracked tasks created so far.
    pub tasks_started: u64,
    /// Tracked tasks alive now: created and not yet completed, panicked or dropped.
    pub tasks_running: u64,
    /// Most tracked tasks alive at once since start.
    pub max_tasks_running: u64,
    /// Finished tasks whose records were dropped into their group's aggregate.
    pub folded_tasks: u64,
    /// Of those, the ones whose memory is still live: each kept as a 32-byte owner cell
    /// that counts it exactly as it is freed (it shows in its group's `retained_bytes` and
    /// its ancestors' [`inclusive`](TaskMemoryProfile::inclusive) figures).
    #[serde(default)]
    pub folded_retaining_tasks: u64,
    /// Retention limit in force (see [`Config::with_retention`]).
    pub retention: u64,
    /// Live bytes over time, if the sampler ran.
    pub timeline: Vec<TimelineSample>,
}

/// Takes a snapshot of all books now. Cheap (proportional to the tasks held), callable
/// from any thread at any time.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let s = memscope::snapshot();
/// println!("{} bytes live in tracked tasks", s.tracked().live_bytes());
/// ```
pub fn snapshot() -> MemorySnapshot {
    take(Detail::Tasks)
}

/// How much a snapshot reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Detail {
    /// Everything: each task held, with its inclusive figures.
    Tasks,
    /// The groups and totals only (`tasks` and `timeline` left empty): what `/metrics`
    /// and the `metrics` facade publish, read without a string or a row per task.
    Groups,
}

/// A snapshot with the `detail` asked for; numbered like any other.
pub(crate) fn take(detail: Detail) -> MemorySnapshot {
    static TAKEN: AtomicU64 = AtomicU64::new(0);
    let _internal = thread::internal();
    let id = TAKEN.fetch_add(1, Relaxed) + 1;
    let now_ns = clock::now_ns();
    if detail == Detail::Groups {
        return groups_only(id, now_ns);
    }
    let mut tasks: Vec<(TaskMemoryProfile, HeldExtra)> = Vec::new();
    let mut detached: Vec<Detached> = Vec::new();
    // Groups by displayed name: a name given as text and the same spawn location are one.
    let mut groups: BTreeMap<(TaskType, String), GroupProfile> = BTreeMap::new();
    let (mut folded_tasks, mut tasks_started) = (0, 0);
    store::for_each_shard(|shard| {
        each_record(shard, |rec| {
            let reading = rec.read();
            let mut profile = TaskMemoryProfile::new(rec, &reading, now_ns);
            profile.label = shard.labels.get(&rec.id).map(|l| l.to_string());
            group_of(&mut groups, profile.task_type, &profile.name).add(&reading, now_ns);
            let extra = HeldExtra {
                cell: std::ptr::from_ref(rec.cell) as usize,
                descendant_alloc: reading.descendant_alloc,
            };
            tasks.push((profile, extra));
        });
        let folded = shard.folded_groups(|cell, (live_bytes, live_count)| {
            detached.push(Detached {
                cell: std::ptr::from_ref(cell) as usize,
                parent: cell.parent() as usize,
                live_bytes,
                live_count,
            });
        });
        for g in folded {
            group_of(&mut groups, g.task_type, &g.name).merge(&g);
        }
        folded_tasks += shard.folded_tasks;
        tasks_started += shard.started;
    });
    tasks.sort_by_key(|(t, _)| t.id);
    let (mut tasks, extra): (Vec<_>, Vec<_>) = tasks.into_iter().unzip();
    inclusive::fill(&mut tasks, &extra, &detached);
    // Detached cells that own nothing are kept only for their descendants' links.
    let folded_retaining_tasks = detached.iter().filter(|d| d.live_count > 0).count() as u64;
    // Freed before the buckets are read below, so the snapshot's own traffic is all in them.
    drop((extra, detached));
    // Counted from the same reads as the groups' `running_count`.
    let tasks_running = tasks.iter().filter(|t| !t.outcome.is_finished()).count() as u64;
    MemorySnapshot {
        schema_version: SCHEMA_VERSION,
        id,
        taken_at: Duration::from_nanos(now_ns),
        tasks,
        groups: groups.into_values().collect(),
        untracked: outside::untracked_counters(),
        tracker: outside::tracker_counters(),
        tasks_started,
        tasks_running,
        max_tasks_running: store::peak_running(),
        folded_tasks,
        folded_retaining_tasks,
        retention: Config::current().retention() as u64,
        timeline: sampler::timeline(),
    }
}

/// One shard's groups in [`groups_only`], by type and name address.
type ShardGroups<'s> =
    HashMap<(TaskType, (u8, usize, usize)), (&'s TaskName, GroupProfile), ByAddress>;

/// [`Detail::Groups`]: each shard's records added up per `(type, name)` under its lock
/// (no string per task), then merged by displayed name as the full snapshot does.
fn groups_only(id: u64, now_ns: u64) -> MemorySnapshot {
    let mut groups: BTreeMap<(TaskType, String), GroupProfile> = BTreeMap::new();
    let (mut folded_tasks, mut tasks_started, mut running, mut retaining) = (0, 0, 0, 0);
    store::for_each_shard(|shard| {
        // Keyed by where the name is (its text's address): no hashing of text per task.
        let mut local: ShardGroups = HashMap::default();
        each_record(shard, |rec| {
            let reading = rec.read();
            running += u64::from(!reading.outcome.is_finished());
            local
                .entry((rec.task_type, rec.name.address()))
                .or_insert_with(|| (&rec.name, GroupProfile::default()))
                .1
                .add(&reading, now_ns);
        });
        for ((ty, _), (name, g)) in local {
            group_of(&mut groups, ty, &name.to_string()).merge(&g);
        }
        let folded =
            shard.folded_groups(|_, (_, live_count)| retaining += u64::from(live_count > 0));
        for g in folded {
            group_of(&mut groups, g.task_type, &g.name).merge(&g);
        }
        folded_tasks += shard.folded_tasks;
        tasks_started += shard.started;
    });
    MemorySnapshot {
        schema_version: SCHEMA_VERSION,
        id,
        taken_at: Duration::from_nanos(now_ns),
        tasks: Vec::new(),
        groups: groups.into_values().collect(),
        untracked: outside::untracked_counters(),
        tracker: outside::tracker_counters(),
        tasks_started,
        tasks_running: running,
        max_tasks_running: store::peak_running(),
        folded_tasks,
        folded_retaining_tasks: retaining,
        retention: Config::current().retention() as u64,
        timeline: Vec::new(),
    }
}

/// Calls `f` with each record of `shard`. Records are scattered over the heap and reading
/// one stalls on memory: the record `AHEAD` places on, and the cell of the one half as
/// far, are fetched while `f` reads this one, so the misses overlap instead of following
/// one another (a `/metrics` scrape of 100,000 live tasks: 54 → 9 ms, BENCHMARKS.md).
fn each_record<'s>(shard: &'s Shard, mut f: impl FnMut(&'s Arc<TaskRecord>)) {
    const AHEAD: usize = 32;
    let records: Vec<&Arc<TaskRecord>> = shard.records().collect();
    for (i, rec) in records.iter().enumerate() {
        if let Some(next) = records.get(i + AHEAD) {
            prefetch(Arc::as_ptr(next).cast(), 3);
        }
        if let Some(next) = records.get(i + AHEAD / 2) {
            prefetch(std::ptr::from_ref(next.cell).cast(), 1);
        }
        f(rec);
    }
}

/// Asks the CPU to bring the `lines` cache lines at `p` in; no effect on other targets.
#[inline(always)]
fn prefetch(p: *const u8, lines: usize) {
    #[cfg(target_arch = "x86_64")]
    for line in 0..lines {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        // SAFETY: a prefetch is a hint: it never faults nor reads into the program, whatever
        // the address (`wrapping_add` keeps the computation itself defined).
        #[allow(unused_unsafe)]
        unsafe {
            _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64).cast())
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, lines);
}

/// Hashes the `(type, address)` keys of [`groups_only`] with one multiply.
#[derive(Default)]
struct ByAddress;

impl std::hash::BuildHasher for ByAddress {
    type Hasher = AddressHasher;
    fn build_hasher(&self) -> AddressHasher {
        AddressHasher(0)
    }
}

/// See [`ByAddress`].
struct AddressHasher(u64);

impl std::hash::Hasher for AddressHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }
    fn write_u64(&mut self, x: u64) {
        self.0 = (self.0.rotate_left(5) ^ x).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_usize(&mut self, x: usize) {
        self.write_u64(x as u64);
    }
}

fn group_of<'a>(
    groups: &'a mut BTreeMap<(TaskType, String), GroupProfile>,
    ty: TaskType,
    name: &str,
) -> &'a mut GroupProfile {
    groups
        .entry((ty, name.to_owned()))
        .or_insert_with(|| GroupProfile::new(name, ty))
}

impl MemorySnapshot {
    /// Heap traffic of all tracked tasks together (every group, folded tasks included).
    pub fn tracked(&self) -> HeapCounters {
        self.groups.iter().map(|g| g.heap).sum()
    }

    /// Everything seen by the allocator hook: tracked + untracked + tracker.
    pub fn all_heap_traffic(&self) -> HeapCounters {
        let mut all = self.tracked();
        all += self.untracked;
        all += self.tracker;
        all
    }

    /// Every group of one task type merged into one (folded tasks included), named after
    /// the type.
    pub fn by_type(&self, task_type: TaskType) -> GroupProfile {
        let mut all = GroupProfile::new(task_type.as_str(), task_type);
        for g in self.groups.iter().filter(|g| g.task_type == task_type) {
            all.merge(g);
        }
        all
    }

    /// One task by id, if still held individually.
    pub fn task(&self, id: TaskId) -> Option<&TaskMemoryProfile> {
        self.tasks
            .binary_search_by_key(&id, |t| t.id)
            .ok()
            .map(|i| &self.tasks[i])
    }

    /// Finished tasks that still hold memory, largest first.
    pub fn retained_tasks(&self) -> Vec<&TaskMemoryProfile> {
        let mut v: Vec<_> = self.tasks.iter().filter(|t| t.retained_bytes > 0).collect();
        v.sort_by(|a, b| {
            b.retained_bytes
                .cmp(&a.retained_bytes)
                .then(a.id.cmp(&b.id))
        });
        v
    }

    /// Tasks whose parent is `id`.
    pub fn children(&self, id: TaskId) -> impl Iterator<Item = &TaskMemoryProfile> {
        self.tasks.iter().filter(move |t| t.parent == Some(id))
    }

    /// A task's heap traffic plus that of all its descendants, those folded out of the
    /// per-task list included: [`TaskMemoryProfile::inclusive`] (empty for a task not held).
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{snapshot, TaskType, Tracked};
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let (id, kept) = rt.block_on(Tracked::new(
    ///     async {
    ///         let kept = Tracked::named(async { vec![1u8; 1000] }, "load").await;
    ///         (memscope::current_task_id().unwrap(), kept)
    ///     },
    ///     "request",
    ///     TaskType::IoIntensive,
    /// ));
    /// let snap = snapshot();
    /// assert_eq!(snap.inclusive_heap(id).live_bytes(), 1000); // left by `load`, held here
    /// # drop(kept);
    /// ```
    pub fn inclusive_heap(&self, id: TaskId) -> HeapCounters {
        self.task(id).map(|t| t.inclusive).unwrap_or_default()
    }
}
