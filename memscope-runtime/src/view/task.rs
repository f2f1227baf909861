//! `TaskMemoryProfile`: one task's figures at the time of a snapshot.

use crate::base::counters::HeapCounters;
use crate::base::task::{Outcome, TaskId, TaskType};
use crate::hook::record::{Reading, TaskRecord};
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One task's figures at the time of the snapshot.
///
/// Memory figures are in bytes of requested size (what the program asked the allocator
/// for, not the allocator's rounding); durations are wall-clock; instants (`*_at`) count
/// from the tracker's start.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{snapshot, Tracked};
/// let rt = tokio::runtime::Runtime::new().unwrap();
/// let id = rt.block_on(Tracked::named(async {
///     let v = vec![0u8; 4096];
///     drop(v);
///     memscope::current_task_id().unwrap()
/// }, "doc-task"));
/// let task = snapshot().task(id).cloned().unwrap();
/// assert!(task.heap.allocated_bytes >= 4096);
/// assert_eq!(task.live_bytes, 0);
/// assert!(task.peak_bytes >= 4096);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskMemoryProfile {
    /// Unique id of this task instance.
    pub id: TaskId,
    /// Name: the `#[track]` fn's path, the name given, or the spawn's source location.
    pub name: String,
    /// This instance's label, if it was given one (`#[track(label = …)]`,
    /// [`Tracked::labeled`](crate::Tracked::labeled)): shown beside the name, grouped by
    /// the name alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Kind of task.
    pub task_type: TaskType,
    /// The tracked task that was running where this one was created (awaited inside or
    /// spawned from it), if any.
    pub parent: Option<TaskId>,
    /// Running, or how it ended.
    pub outcome: Outcome,
    /// The task's heap traffic, cumulative; a free is charged to the task whoever frees.
    #[serde(flatten)]
    pub heap: HeapCounters,
    /// Allocated by this task and not yet freed, whoever frees it (`heap.live_bytes()`).
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
    #[serde(with = "crate::base::time::duration_ns")]
    pub poll_duration: Duration,
    /// From creation to the end (or to the snapshot, while running).
    #[serde(with = "crate::base::time::duration_ns")]
    pub lifetime: Duration,
    /// When the task was created, since the tracker's start.
    #[serde(with = "crate::base::time::duration_ns", rename = "started_at_ns")]
    pub started_at: Duration,
    /// When it finished, since the tracker's start; `None` while running.
    #[serde(with = "crate::base::time::opt_duration_ns", rename = "ended_at_ns")]
    pub ended_at: Option<Duration>,
    /// Heap traffic of this task and all its descendants (the tasks created while it or
    /// one of them ran), including those folded out of the per-task list: its "inclusive"
    /// view; `heap` is the "self" view. Exact whatever was folded (read shard by shard, a
    /// descendant folded during the snapshot may count twice or not at all that once).
    #[serde(default)]
    pub inclusive: HeapCounters,
    /// Live bytes that finished tasks of this subtree (itself included) still hold: what
    /// its finished descendants left behind, also those folded away.
    #[serde(default)]
    pub inclusive_retained_bytes: u64,
    /// Of those, what finished descendants folded out of the per-task list still hold, for
    /// which this task is the nearest ancestor still listed (so each byte is counted once
    /// over all tasks: "the folded children of #12 conn hold 195 KiB").
    #[serde(default)]
    pub folded_descendants_retained_bytes: u64,
    /// How many such folded descendants still hold memory.
    #[serde(default)]
    pub folded_descendants_retaining: u64,
}

impl TaskMemoryProfile {
    /// The profile of `rec` as `reading` saw it at `now_ns`.
    pub(crate) fn new(rec: &TaskRecord, r: &Reading, now_ns: u64) -> Self {
        TaskMemoryProfile {
            id: rec.id,
            name: rec.name.to_string(),
            label: None,
            task_type: rec.task_type,
            parent: rec.parent(),
            outcome: r.outcome,
            heap: r.heap,
            live_bytes: r.heap.live_bytes(),
            peak_bytes: r.peak_bytes,
            retained_bytes: r.retained_bytes(),
            future_size_bytes: u64::from(rec.future_size),
            poll_count: r.poll_count,
            poll_duration: Duration::from_nanos(r.poll_ns),
            lifetime: Duration::from_nanos(r.lifetime_ns(now_ns)),
            started_at: Duration::from_nanos(r.created_ns),
            ended_at: r.ended_ns.map(Duration::from_nanos),
            // Filled in by the snapshot, which sees the descendants.
            inclusive: r.heap,
            inclusive_retained_bytes: r.retained_bytes(),
            folded_descendants_retained_bytes: 0,
            folded_descendants_retaining: 0,
        }
    }

    /// The name, with the label in brackets if the task has one: `connection [10.0.0.7:51234]`.
    pub fn display_name(&self) -> String {
        match &self.label {
            Some(label) => format!("{} [{label}]", self.name),
            None => self.name.clone(),
        }
    }

    /// Time alive but not inside a poll: waiting on I/O, timers, or a worker thread.
    pub fn wait_duration(&self) -> Duration {
        self.lifetime.saturating_sub(self.poll_duration)
    }
}
