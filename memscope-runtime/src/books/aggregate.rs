//! `GroupProfile`: what a set of tasks adds up to (one `(name, type)`, one type, a window).

use crate::base::counters::HeapCounters;
use crate::base::task::{Outcome, TaskType};
use crate::hook::record::Reading;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Aggregate of a set of tasks: every task with one `(name, task type)` in
/// [`MemorySnapshot::groups`](crate::MemorySnapshot::groups) (those still held
/// individually and those folded out of the retention), or every task of one type in
/// [`MemorySnapshot::by_type`](crate::MemorySnapshot::by_type).
///
/// Counters (`*_count`, `*_bytes` of [`heap`](GroupProfile::heap), `poll_*`) add up over
/// the tasks; `max_*` is the largest value of one task, `sum_*` the sum of a per-task
/// figure (for means). Adding saturates.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// memscope::Tracked::new(async { vec![0u8; 4096].len() }, "doc-group", memscope::TaskType::IoIntensive).await;
/// let snap = memscope::snapshot();
/// let g = snap.groups.iter().find(|g| g.name == "doc-group").unwrap();
/// assert_eq!(g.task_count, 1);
/// assert_eq!(g.completed_count, 1);
/// assert!(g.heap.allocated_bytes >= 4096);
/// assert_eq!(g.live_bytes, 0);
/// # });
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupProfile {
    /// The tasks' name (for a per-type aggregate, the type's name).
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
    /// Heap traffic of these tasks' allocations, cumulative.
    #[serde(flatten)]
    pub heap: HeapCounters,
    /// Allocated by these tasks and not yet freed (`heap.live_bytes()`).
    pub live_bytes: u64,
    /// Live bytes of the finished tasks among them (also of those folded out of the
    /// per-task list: each keeps counting what it holds as it is freed).
    pub retained_bytes: u64,
    /// Finished tasks among them that still hold memory.
    #[serde(default)]
    pub retaining_count: u64,
    /// The least and the most one of those holds (0 when none does).
    #[serde(default)]
    pub min_retained_bytes: u64,
    /// See `min_retained_bytes`.
    #[serde(default)]
    pub max_retained_bytes: u64,
    /// The highest peak live bytes of any one task.
    pub max_peak_bytes: u64,
    /// Sum of the tasks' peak live bytes (for the mean, [`GroupProfile::mean_peak_bytes`]).
    pub sum_peak_bytes: u64,
    /// Polls, cumulative.
    pub poll_count: u64,
    /// Time inside polls, cumulative.
    #[serde(with = "crate::base::time::duration_ns")]
    pub poll_duration: Duration,
    /// Sum of the tasks' lifetimes (creation to end, or to the snapshot while running).
    #[serde(with = "crate::base::time::duration_ns", rename = "sum_lifetime_ns")]
    pub sum_lifetime: Duration,
    /// When the first of them started, since the tracker's start.
    #[serde(
        with = "crate::base::time::opt_duration_ns",
        rename = "first_started_at_ns"
    )]
    pub first_started_at: Option<Duration>,
    /// When the last of them completed, since the tracker's start.
    #[serde(
        with = "crate::base::time::opt_duration_ns",
        rename = "last_completed_at_ns"
    )]
    pub last_completed_at: Option<Duration>,
}

fn earliest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn latest(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    a.max(b)
}

impl GroupProfile {
    /// An empty group.
    pub(crate) fn new(name: &str, task_type: TaskType) -> Self {
        GroupProfile {
            name: name.to_owned(),
            task_type,
            ..GroupProfile::default()
        }
    }

    /// Adds one task, as its record read at `now_ns` (in place: this runs once per
    /// finished task, when it is folded).
    pub(crate) fn add(&mut self, r: &Reading, now_ns: u64) {
        let add = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        self.add_counts(r);
        add(&mut self.live_bytes, r.heap.live_bytes());
        add(&mut self.retained_bytes, r.retained_bytes());
        self.poll_duration = self
            .poll_duration
            .saturating_add(Duration::from_nanos(r.poll_ns));
        self.sum_lifetime = self
            .sum_lifetime
            .saturating_add(Duration::from_nanos(r.lifetime_ns(now_ns)));
        let started = Some(Duration::from_nanos(r.created_ns));
        self.first_started_at = earliest(self.first_started_at, started);
        if r.outcome == Outcome::Completed {
            let ended = r.ended_ns.map(Duration::from_nanos);
            self.last_completed_at = latest(self.last_completed_at, ended);
        }
        self.add_retaining(r.retained_bytes());
    }

    /// Adds one task's counts: tasks by outcome, heap counters, peaks and polls (what
    /// [`GroupProfile::add`] adds but the times and the live and retained figures; a
    /// shard's folds add the times apart, as integers: `books::folded_group`).
    #[inline]
    pub(crate) fn add_counts(&mut self, r: &Reading) {
        let add = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        add(&mut self.task_count, 1);
        match r.outcome {
            Outcome::Completed => add(&mut self.completed_count, 1),
            Outcome::Panicked => add(&mut self.panicked_count, 1),
            Outcome::Cancelled => add(&mut self.cancelled_count, 1),
            Outcome::Running => add(&mut self.running_count, 1),
        }
        self.heap += r.heap;
        self.max_peak_bytes = self.max_peak_bytes.max(r.peak_bytes);
        add(&mut self.sum_peak_bytes, r.peak_bytes);
        add(&mut self.poll_count, r.poll_count);
    }

    /// Counts one finished task holding `bytes` (nothing for 0).
    pub(crate) fn add_retaining(&mut self, bytes: u64) {
        if bytes == 0 {
            return;
        }
        self.min_retained_bytes = match self.retaining_count {
            0 => bytes,
            _ => self.min_retained_bytes.min(bytes),
        };
        self.max_retained_bytes = self.max_retained_bytes.max(bytes);
        self.retaining_count = self.retaining_count.saturating_add(1);
    }

    /// Adds another group's figures (same or different name).
    pub(crate) fn merge(&mut self, g: &GroupProfile) {
        let add = |a: &mut u64, b: u64| *a = a.saturating_add(b);
        add(&mut self.task_count, g.task_count);
        add(&mut self.completed_count, g.completed_count);
        add(&mut self.panicked_count, g.panicked_count);
        add(&mut self.cancelled_count, g.cancelled_count);
        add(&mut self.running_count, g.running_count);
        self.heap += g.heap;
        add(&mut self.live_bytes, g.live_bytes);
        add(&mut self.retained_bytes, g.retained_bytes);
        self.max_peak_bytes = self.max_peak_bytes.max(g.max_peak_bytes);
        add(&mut self.sum_peak_bytes, g.sum_peak_bytes);
        add(&mut self.poll_count, g.poll_count);
        self.poll_duration = self.poll_duration.saturating_add(g.poll_duration);
        self.sum_lifetime = self.sum_lifetime.saturating_add(g.sum_lifetime);
        self.first_started_at = earliest(self.first_started_at, g.first_started_at);
        self.last_completed_at = latest(self.last_completed_at, g.last_completed_at);
        if g.retaining_count > 0 {
            self.min_retained_bytes = match self.retaining_count {
                0 => g.min_retained_bytes,
                _ => self.min_retained_bytes.min(g.min_retained_bytes),
            };
            self.max_retained_bytes = self.max_retained_bytes.max(g.max_retained_bytes);
            add(&mut self.retaining_count, g.retaining_count);
        }
    }

    /// Mean of the tasks' peak live bytes; 0 for an empty group.
    pub fn mean_peak_bytes(&self) -> f64 {
        if self.task_count == 0 {
            0.0
        } else {
            self.sum_peak_bytes as f64 / self.task_count as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(outcome: Outcome, peak: u64, ended_ns: Option<u64>) -> Reading {
        Reading {
            outcome,
            heap: HeapCounters::new(peak, 1, 0, 0),
            peak_bytes: peak,
            poll_count: 2,
            poll_ns: 10,
            created_ns: 100,
            ended_ns,
            descendant_alloc: (0, 0),
        }
    }

    #[test]
    fn a_group_adds_up_its_tasks() {
        let mut g = GroupProfile::new("g", TaskType::IoIntensive);
        g.add(&reading(Outcome::Completed, 300, Some(400)), 1000);
        g.add(&reading(Outcome::Running, 100, None), 1000);
        assert_eq!(
            (g.task_count, g.completed_count, g.running_count),
            (2, 1, 1)
        );
        assert_eq!((g.live_bytes, g.retained_bytes), (400, 300));
        assert_eq!((g.max_peak_bytes, g.sum_peak_bytes), (300, 400));
        assert_eq!(g.sum_lifetime, Duration::from_nanos(300 + 900));
        assert_eq!(g.first_started_at, Some(Duration::from_nanos(100)));
        assert_eq!(g.last_completed_at, Some(Duration::from_nanos(400)));
        assert_eq!(g.mean_peak_bytes(), 200.0);
    }
}
