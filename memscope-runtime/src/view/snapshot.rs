//! `MemorySnapshot`: a copy of all books at one moment, and [`snapshot`], the collector.

use crate::base::config::Config;
use crate::base::counters::HeapCounters;
use crate::base::task::{TaskId, TaskType};
use crate::books::aggregate::GroupProfile;
use crate::books::sampler::{self, TimelineSample};
use crate::books::store;
use crate::hook::{clock, outside, thread};
use crate::view::inclusive::{self, Detached, HeldExtra};
use crate::view::scan::{self, group_of};
use crate::view::site_builder;
use crate::view::sites::CallSites;
use crate::view::task::TaskMemoryProfile;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// Version of the snapshot's JSON layout; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 4;

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
    /// Where in the tasks memory was allocated: the sampled call sites (empty with
    /// sampling off, and in a report written before schema 4).
    #[serde(default)]
    pub sites: CallSites,
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
        return groups_snapshot(id, now_ns);
    }
    let mut tasks: Vec<(TaskMemoryProfile, HeldExtra)> = Vec::new();
    let mut detached: Vec<Detached> = Vec::new();
    // Groups by displayed name: a name given as text and the same spawn location are one.
    let mut groups: BTreeMap<(TaskType, String), GroupProfile> = BTreeMap::new();
    let (mut folded_tasks, mut tasks_started) = (0, 0);
    store::for_each_shard(|shard| {
        scan::each_record(shard, |rec| {
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
    let running: HashSet<TaskId> = tasks
        .iter()
        .filter(|t| !t.outcome.is_finished())
        .map(|t| t.id)
        .collect();
    let tasks_running = running.len() as u64;
    let sites = site_builder::read(Config::current().sample_bytes(), &running);
    drop(running);
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
        sites,
    }
}

/// [`Detail::Groups`]: the groups and totals of a groups-only walk of the books.
fn groups_snapshot(id: u64, now_ns: u64) -> MemorySnapshot {
    let scan = scan::groups_only(now_ns);
    MemorySnapshot {
        schema_version: SCHEMA_VERSION,
        id,
        taken_at: Duration::from_nanos(now_ns),
        tasks: Vec::new(),
        groups: scan.groups.into_values().collect(),
        untracked: outside::untracked_counters(),
        tracker: outside::tracker_counters(),
        tasks_started: scan.tasks_started,
        tasks_running: scan.tasks_running,
        max_tasks_running: store::peak_running(),
        folded_tasks: scan.folded_tasks,
        folded_retaining_tasks: scan.folded_retaining_tasks,
        retention: Config::current().retention() as u64,
        timeline: Vec::new(),
        sites: CallSites::default(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::track::tracked::Tracked;
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    fn run<F: Future>(fut: F) -> F::Output {
        let mut fut = std::pin::pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    #[test]
    fn a_groups_only_snapshot_has_the_full_ones_groups_and_totals() {
        // Held, finished and running tasks of several names and types, some named alike
        // by different strings (merged by text in both).
        let owned = String::from("groups-only-b");
        let mut held = Vec::new();
        for i in 0..50u64 {
            let name: std::borrow::Cow<'static, str> = match i % 3 {
                0 => "groups-only-a".into(),
                1 => owned.clone().into(),
                _ => "groups-only-b".into(),
            };
            let ty = if i % 2 == 0 {
                TaskType::IoIntensive
            } else {
                TaskType::Background
            };
            run(Tracked::new(async { vec![1u8; 10] }, name.clone(), ty));
            // Polled once and kept: running.
            let mut running = Box::pin(Tracked::new(std::future::pending::<()>(), name, ty));
            let mut cx = Context::from_waker(Waker::noop());
            assert!(running.as_mut().poll(&mut cx).is_pending());
            held.push(running);
        }
        let full = snapshot();
        let groups = take(Detail::Groups);
        assert!(groups.tasks.is_empty() && groups.id > full.id);
        let ours = |s: &MemorySnapshot| -> Vec<GroupProfile> {
            let mut g: Vec<_> = s
                .groups
                .iter()
                .filter(|g| g.name.starts_with("groups-only"))
                .cloned()
                .collect();
            for g in &mut g {
                // Lifetimes run on between the two snapshots.
                g.sum_lifetime = Duration::ZERO;
            }
            g
        };
        assert_eq!(ours(&groups), ours(&full));
        assert_eq!(ours(&full).iter().map(|g| g.task_count).sum::<u64>(), 100);
        assert_eq!(groups.tasks_started, full.tasks_started);
        assert_eq!(groups.folded_tasks, full.folded_tasks);
        assert_eq!(groups.folded_retaining_tasks, full.folded_retaining_tasks);
        drop(held);
    }
}
