//! Point-in-time copies of the books: per task, per `(name, type)` group, and in total.

use crate::buckets::{self, HeapTotals};
use crate::clock;
use crate::config::Config;
use crate::context;
use crate::metrics::TaskPerformanceMetrics;
use crate::record::TaskRecord;
use crate::sampler::{self, TimelineSample};
use crate::store;
use crate::task::{Outcome, TaskId, TaskType};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Version of the snapshot's JSON layout; bumped when a field changes meaning or goes away.
pub const SCHEMA_VERSION: u32 = 1;

/// Bytes in the seed API's "MB": 1024 × 1024.
pub const MB: f64 = 1024.0 * 1024.0;

/// Serialises a `Duration` as whole nanoseconds (`u64`), so JSON readers get one number.
pub(crate) mod duration_ns {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_nanos)
    }
}

/// One task's figures at the time of the snapshot.
///
/// Memory figures are in bytes of requested size (what the program asked the allocator
/// for, not the allocator's rounding); durations are wall-clock.
///
/// ```
/// # #[global_allocator] static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
/// use memscope_runtime::{snapshot, Tracked};
/// let id = tokio::runtime::Runtime::new().unwrap().block_on(Tracked::named(async {
///     let v = vec![0u8; 4096];
///     drop(v);
///     memscope_runtime::current_task_id().unwrap()
/// }, "doc-task"));
/// let task = snapshot().task(id).cloned().unwrap();
/// assert!(task.allocated_bytes >= 4096);
/// assert_eq!(task.live_bytes, 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskMemoryProfile {
    /// Unique id of this task instance.
    pub id: TaskId,
    /// Name: the `#[track]` fn's path, the name given, or the spawn's source location.
    pub name: String,
    /// Kind of task.
    pub task_type: TaskType,
    /// The tracked task that was running where this one was created (awaited inside or
    /// spawned from it), if any.
    pub parent: Option<TaskId>,
    /// Running, or how it ended.
    pub outcome: Outcome,
    /// Bytes this task allocated, cumulative (a realloc counts its new size).
    pub allocated_bytes: u64,
    /// Allocations this task made, cumulative (a realloc counts one).
    pub allocation_count: u64,
    /// Bytes of this task's allocations freed so far, by anyone.
    pub freed_bytes: u64,
    /// Frees of this task's allocations so far, by anyone.
    pub free_count: u64,
    /// Allocated by this task and not yet freed, whoever frees it; never below zero.
    pub live_bytes: u64,
    /// The highest `live_bytes` this task reached.
    pub peak_bytes: u64,
    /// `live_bytes` of a finished task: memory it handed off or leaked; 0 while running.
    pub retained_bytes: u64,
    /// Size of the tracked future's own state (what `tokio::spawn` boxes for it).
    pub future_size_bytes: u64,
    /// Times the task's future was polled.
    pub poll_count: u64,
    /// Time spent inside those polls (zero when poll timing is off).
    #[serde(with = "duration_ns")]
    pub poll_duration: Duration,
    /// From creation to the end (or to the snapshot, while running).
    #[serde(with = "duration_ns")]
    pub lifetime: Duration,
    /// When the task was created, in ns since the tracker's epoch.
    pub started_at_ns: u64,
    /// When it finished, in ns since the tracker's epoch.
    pub ended_at_ns: Option<u64>,
}

impl TaskMemoryProfile {
    pub(crate) fn read(rec: &TaskRecord, now_ns: u64) -> Self {
        TaskMemoryProfile {
            name: rec.name.to_string(),
            ..Self::read_unnamed(rec, now_ns)
        }
    }

    /// The figures without the name (which would allocate): for folding into groups.
    pub(crate) fn read_unnamed(rec: &TaskRecord, now_ns: u64) -> Self {
        // Acquire inside `outcome()`: a finished task's counters read below are final.
        let outcome = rec.outcome();
        let ended_at_ns = outcome.is_finished().then(|| rec.ended_ns_or_now());
        let end = ended_at_ns.unwrap_or(now_ns).max(rec.created_ns);
        // Each counter is read once and live bytes derived from those same reads, so that
        // allocated − freed = live holds within a profile (and so within a group) even
        // while the task runs and its counters move between the reads.
        // Relaxed: counters are independent; see `record.rs` for who writes them.
        let allocated_bytes = rec.alloc_bytes.load(Relaxed);
        let freed_bytes = rec.freed_bytes();
        let live_bytes = allocated_bytes.saturating_sub(freed_bytes);
        TaskMemoryProfile {
            id: rec.id,
            name: String::new(),
            task_type: rec.task_type,
            parent: rec.parent(),
            outcome,
            allocated_bytes,
            allocation_count: rec.alloc_count.load(Relaxed),
            freed_bytes,
            free_count: rec.freed_count(),
            live_bytes,
            peak_bytes: rec.peak_bytes.load(Relaxed).max(live_bytes),
            retained_bytes: if outcome.is_finished() { live_bytes } else { 0 },
            future_size_bytes: rec.future_size,
            poll_count: rec.polls.load(Relaxed),
            poll_duration: Duration::from_nanos(rec.poll_ns.load(Relaxed)),
            lifetime: Duration::from_nanos(end - rec.created_ns),
            started_at_ns: rec.created_ns,
            ended_at_ns,
        }
    }

    /// Time alive but not inside a poll: waiting on I/O, timers, or a worker thread.
    pub fn wait_duration(&self) -> Duration {
        self.lifetime.saturating_sub(self.poll_duration)
    }

    /// The task's heap traffic as a [`HeapTotals`].
    pub fn heap(&self) -> HeapTotals {
        HeapTotals {
            allocated_bytes: self.allocated_bytes,
            allocation_count: self.allocation_count,
            freed_bytes: self.freed_bytes,
            free_count: self.free_count,
        }
    }
}

/// Aggregate of every task with one `(name, task type)`: those still held individually
/// and those folded out of the retention.
///
/// ```
/// let g = memscope_runtime::GroupProfile::new("handler", memscope_runtime::TaskType::IoIntensive);
/// assert_eq!(g.task_count, 0);
/// assert_eq!(g.mean_peak_bytes(), 0.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupProfile {
    /// The tasks' name.
    pub name: String,
    /// The tasks' type.
    pub task_type: TaskType,
    /// Tasks started.
    pub task_count: u64,
    /// Tasks that completed.
    pub completed_count: u64,
    /// Tasks whose poll panicked.
    pub panicked_count: u64,
    /// Tasks dropped before completing.
    pub cancelled_count: u64,
    /// Tasks still running.
    pub running_count: u64,
    /// Bytes allocated, cumulative.
    pub allocated_bytes: u64,
    /// Allocations, cumulative.
    pub allocation_count: u64,
    /// Bytes of these tasks' allocations freed, by anyone.
    pub freed_bytes: u64,
    /// Frees of these tasks' allocations, by anyone.
    pub free_count: u64,
    /// Allocated and not yet freed.
    pub live_bytes: u64,
    /// Live bytes of the finished tasks among them.
    pub retained_bytes: u64,
    /// The highest peak of any one task.
    pub max_peak_bytes: u64,
    /// Sum of the tasks' peaks (for the mean).
    pub total_peak_bytes: u64,
    /// Polls, cumulative.
    pub poll_count: u64,
    /// Time inside polls, cumulative.
    #[serde(with = "duration_ns")]
    pub poll_duration: Duration,
    /// Sum of the tasks' lifetimes.
    #[serde(with = "duration_ns")]
    pub total_lifetime: Duration,
    /// When the first of them started, ns since the tracker's epoch.
    pub first_started_at_ns: Option<u64>,
    /// When the last of them completed, ns since the tracker's epoch.
    pub last_completed_at_ns: Option<u64>,
}

impl GroupProfile {
    /// An empty group.
    pub fn new(name: &str, task_type: TaskType) -> Self {
        GroupProfile {
            name: name.to_owned(),
            task_type,
            ..GroupProfile::default()
        }
    }

    /// Adds one task's figures.
    pub fn add_task(&mut self, t: &TaskMemoryProfile) {
        self.task_count += 1;
        match t.outcome {
            Outcome::Running => self.running_count += 1,
            Outcome::Completed => self.completed_count += 1,
            Outcome::Panicked => self.panicked_count += 1,
            Outcome::Cancelled => self.cancelled_count += 1,
        }
        self.allocated_bytes = self.allocated_bytes.saturating_add(t.allocated_bytes);
        self.allocation_count = self.allocation_count.saturating_add(t.allocation_count);
        self.freed_bytes = self.freed_bytes.saturating_add(t.freed_bytes);
        self.free_count = self.free_count.saturating_add(t.free_count);
        self.live_bytes = self.live_bytes.saturating_add(t.live_bytes);
        self.retained_bytes = self.retained_bytes.saturating_add(t.retained_bytes);
        self.max_peak_bytes = self.max_peak_bytes.max(t.peak_bytes);
        self.total_peak_bytes = self.total_peak_bytes.saturating_add(t.peak_bytes);
        self.poll_count = self.poll_count.saturating_add(t.poll_count);
        self.poll_duration = self.poll_duration.saturating_add(t.poll_duration);
        self.total_lifetime = self.total_lifetime.saturating_add(t.lifetime);
        self.first_started_at_ns = Some(
            self.first_started_at_ns
                .map_or(t.started_at_ns, |s| s.min(t.started_at_ns)),
        );
        if t.outcome == Outcome::Completed {
            let end = t.ended_at_ns.unwrap_or(t.started_at_ns);
            self.last_completed_at_ns = Some(self.last_completed_at_ns.map_or(end, |e| e.max(end)));
        }
    }

    /// Adds another group's figures (same or different name).
    pub fn merge(&mut self, g: &GroupProfile) {
        self.task_count += g.task_count;
        self.completed_count += g.completed_count;
        self.panicked_count += g.panicked_count;
        self.cancelled_count += g.cancelled_count;
        self.running_count += g.running_count;
        self.allocated_bytes = self.allocated_bytes.saturating_add(g.allocated_bytes);
        self.allocation_count = self.allocation_count.saturating_add(g.allocation_count);
        self.freed_bytes = self.freed_bytes.saturating_add(g.freed_bytes);
        self.free_count = self.free_count.saturating_add(g.free_count);
        self.live_bytes = self.live_bytes.saturating_add(g.live_bytes);
        self.retained_bytes = self.retained_bytes.saturating_add(g.retained_bytes);
        self.max_peak_bytes = self.max_peak_bytes.max(g.max_peak_bytes);
        self.total_peak_bytes = self.total_peak_bytes.saturating_add(g.total_peak_bytes);
        self.poll_count = self.poll_count.saturating_add(g.poll_count);
        self.poll_duration = self.poll_duration.saturating_add(g.poll_duration);
        self.total_lifetime = self.total_lifetime.saturating_add(g.total_lifetime);
        self.first_started_at_ns = match (self.first_started_at_ns, g.first_started_at_ns) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_completed_at_ns = match (self.last_completed_at_ns, g.last_completed_at_ns) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }

    /// Mean of the tasks' peak bytes; 0 for an empty group.
    pub fn mean_peak_bytes(&self) -> f64 {
        if self.task_count == 0 {
            0.0
        } else {
            self.total_peak_bytes as f64 / self.task_count as f64
        }
    }

    /// The group's heap traffic as a [`HeapTotals`].
    pub fn heap(&self) -> HeapTotals {
        HeapTotals {
            allocated_bytes: self.allocated_bytes,
            allocation_count: self.allocation_count,
            freed_bytes: self.freed_bytes,
            free_count: self.free_count,
        }
    }
}

/// A consistent-enough copy of all books at one moment.
///
/// Taking one locks the task books briefly (never the allocator hook) and copies the
/// figures of every task still held: running ones, the retention of finished ones, and
/// finished ones still holding memory. A finished task's figures are final. A running
/// task's figures may lag its current poll by at most one batch (256 KiB or 4096
/// allocations and frees on the thread polling it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MemorySnapshot {
    /// Layout version of this structure's JSON form ([`SCHEMA_VERSION`]).
    pub schema_version: u32,
    /// When it was taken, ns since the tracker's epoch.
    pub taken_at_ns: u64,
    /// Every task held individually, by id.
    pub tasks: Vec<TaskMemoryProfile>,
    /// Every `(name, type)` group, including tasks folded out of the retention.
    pub groups: Vec<GroupProfile>,
    /// Heap traffic outside any tracked task.
    pub untracked: HeapTotals,
    /// memscope's own heap traffic (books, names, snapshots, reports).
    pub tracker: HeapTotals,
    /// Tracked tasks created so far.
    pub tasks_started: u64,
    /// Tracked tasks alive now.
    pub active_tasks: u64,
    /// Most tracked tasks alive at once.
    pub peak_concurrent_tasks: u64,
    /// Finished tasks whose records were dropped into their group's aggregate.
    pub folded_tasks: u64,
    /// Retention limit in force (see [`crate::Config::retention`]).
    pub retention_limit: u64,
    /// Live bytes over time, if the sampler ran.
    pub timeline: Vec<TimelineSample>,
}

/// Takes a snapshot of all books now. Cheap (proportional to the tasks held), callable
/// from any thread at any time.
///
/// ```
/// let s = memscope_runtime::snapshot();
/// assert_eq!(s.schema_version, memscope_runtime::SCHEMA_VERSION);
/// ```
pub fn snapshot() -> MemorySnapshot {
    let _internal = context::internal();
    let now_ns = clock::now_ns();
    let mut tasks: Vec<TaskMemoryProfile> = Vec::new();
    // Groups by displayed name: a name given as text and the same spawn location are one.
    let mut groups: BTreeMap<(TaskType, String), GroupProfile> = BTreeMap::new();
    let (mut folded_tasks, mut tasks_started) = (0, 0);
    store::for_each_shard(|books| {
        tasks.extend(
            books
                .records()
                .map(|rec| TaskMemoryProfile::read(rec, now_ns)),
        );
        for g in books.folded.values() {
            groups
                .entry((g.task_type, g.name.clone()))
                .or_insert_with(|| GroupProfile::new(&g.name, g.task_type))
                .merge(g);
        }
        folded_tasks += books.folded_tasks;
        tasks_started += books.started;
    });
    let peak_concurrent_tasks = store::peak_running();
    tasks.sort_by_key(|t| t.id);
    for t in &tasks {
        groups
            .entry((t.task_type, t.name.clone()))
            .or_insert_with(|| GroupProfile::new(&t.name, t.task_type))
            .add_task(t);
    }
    // Counted from the same reads as the groups' `running_count`.
    let active_tasks = tasks.iter().filter(|t| !t.outcome.is_finished()).count() as u64;
    MemorySnapshot {
        schema_version: SCHEMA_VERSION,
        taken_at_ns: now_ns,
        tasks,
        groups: groups.into_values().collect(),
        untracked: buckets::untracked_totals(),
        tracker: buckets::tracker_totals(),
        tasks_started,
        active_tasks,
        peak_concurrent_tasks,
        folded_tasks,
        retention_limit: Config::current().retention_limit() as u64,
        timeline: sampler::timeline(),
    }
}

impl MemorySnapshot {
    /// Tracked tasks alive at the snapshot: created and not yet completed, panicked or
    /// dropped.
    pub fn active_task_count(&self) -> usize {
        self.active_tasks as usize
    }

    /// Bytes allocated by tracked tasks, cumulative (not what they hold now: see
    /// [`MemorySnapshot::live_bytes`]).
    pub fn total_memory_bytes(&self) -> u64 {
        self.tracked().allocated_bytes
    }

    /// Bytes allocated by tracked tasks and not yet freed.
    pub fn live_bytes(&self) -> u64 {
        self.tracked().live_bytes()
    }

    /// The most tracked tasks alive at the same time since start.
    pub fn peak_concurrent_tasks(&self) -> usize {
        self.peak_concurrent_tasks as usize
    }

    /// Allocations made by tracked tasks, cumulative.
    pub fn total_allocations(&self) -> u64 {
        self.tracked().allocation_count
    }

    /// Bytes freed ÷ bytes allocated × 100, over tracked tasks; 100 when nothing was
    /// allocated (nothing is held).
    pub fn memory_efficiency_percent(&self) -> f64 {
        let t = self.tracked();
        if t.allocated_bytes == 0 {
            100.0
        } else {
            t.freed_bytes as f64 / t.allocated_bytes as f64 * 100.0
        }
    }

    /// Heap traffic of all tracked tasks together (every group, folded tasks included).
    pub fn tracked(&self) -> HeapTotals {
        let mut t = HeapTotals::default();
        for g in &self.groups {
            t.add(&g.heap());
        }
        t
    }

    /// Everything seen by the allocator hook: tracked + untracked + tracker.
    pub fn all_heap_traffic(&self) -> HeapTotals {
        let mut t = self.tracked();
        t.add(&self.untracked);
        t.add(&self.tracker);
        t
    }

    /// Figures of one task type, over every task of that type (see
    /// [`TaskPerformanceMetrics`] for each figure's definition).
    pub fn get_task_metrics(&self, task_type: TaskType) -> TaskPerformanceMetrics {
        let mut all = GroupProfile::new(task_type.as_str(), task_type);
        for g in self.groups.iter().filter(|g| g.task_type == task_type) {
            all.merge(g);
        }
        TaskPerformanceMetrics::from_group(&all)
    }

    /// Every task held individually (running, retained, or still holding memory).
    pub fn task_profiles(&self) -> &[TaskMemoryProfile] {
        &self.tasks
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

    /// A task's figures plus those of all its descendants still held individually
    /// (the task tree's "inclusive" view; the task's own profile is the "self" view).
    pub fn inclusive_heap(&self, id: TaskId) -> HeapTotals {
        let mut children: BTreeMap<TaskId, Vec<&TaskMemoryProfile>> = BTreeMap::new();
        for t in &self.tasks {
            if let Some(p) = t.parent {
                children.entry(p).or_default().push(t);
            }
        }
        let mut total = HeapTotals::default();
        let mut stack: Vec<&TaskMemoryProfile> = self.task(id).into_iter().collect();
        while let Some(t) = stack.pop() {
            total.add(&t.heap());
            stack.extend(children.get(&t.id).into_iter().flatten());
        }
        total
    }
}
