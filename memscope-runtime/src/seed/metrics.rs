//! Per-task-type performance figures, and the snapshot's figures as the seed API names
//! them.

use crate::base::counters::HeapCounters;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::seed::MB;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use serde::{Deserialize, Serialize};

/// The seed API's names for the snapshot's figures.
impl MemorySnapshot {
    /// Tracked tasks alive at the snapshot ([`MemorySnapshot::tasks_running`]).
    pub fn active_task_count(&self) -> usize {
        self.tasks_running as usize
    }

    /// Bytes allocated by tracked tasks, cumulative (not what they hold now): the
    /// `allocated_bytes` of [`MemorySnapshot::tracked`].
    pub fn total_memory_bytes(&self) -> u64 {
        self.tracked().allocated_bytes
    }

    /// The most tracked tasks alive at the same time since start
    /// ([`MemorySnapshot::max_tasks_running`]).
    pub fn peak_concurrent_tasks(&self) -> usize {
        self.max_tasks_running as usize
    }

    /// Allocations made by tracked tasks, cumulative.
    pub fn total_allocations(&self) -> u64 {
        self.tracked().allocation_count
    }

    /// Bytes freed ÷ bytes allocated × 100, over tracked tasks; 100 when nothing was
    /// allocated (nothing is held).
    pub fn memory_efficiency_percent(&self) -> f64 {
        self.tracked().freed_percent()
    }

    /// Figures of one task type, over every task of that type (see
    /// [`TaskPerformanceMetrics`] for each figure's definition).
    pub fn get_task_metrics(&self, task_type: TaskType) -> TaskPerformanceMetrics {
        TaskPerformanceMetrics::from_group(&self.by_type(task_type))
    }

    /// Every task held individually ([`MemorySnapshot::tasks`]).
    pub fn task_profiles(&self) -> &[TaskMemoryProfile] {
        &self.tasks
    }
}

/// Figures of every tracked task of one [`TaskType`], from
/// [`MemorySnapshot::get_task_metrics`].
///
/// "MB" is 1024 × 1024 bytes. Every figure is computed from the books; none is estimated.
/// Tasks still running count with their figures so far.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::async_memory::{get_memory_snapshot, TaskType};
/// let m = get_memory_snapshot().get_task_metrics(TaskType::Background);
/// assert!(m.completion_rate_percent >= 0.0 && m.completion_rate_percent <= 100.0);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskPerformanceMetrics {
    /// The type these figures cover.
    pub task_type: TaskType,
    /// Tasks of this type started.
    pub task_count: u64,
    /// Of those, completed.
    pub completed_count: u64,
    /// Of those, whose poll panicked.
    pub panicked_count: u64,
    /// Of those, dropped before completing (aborted, timed out, lost a `select!`).
    pub cancelled_count: u64,
    /// Of those, still running.
    pub running_count: u64,
    /// Mean over the tasks of each task's peak live bytes, in MB.
    pub avg_memory_mb: f64,
    /// The highest peak live bytes of any one task, in MB.
    pub peak_memory_mb: f64,
    /// Completed ÷ started × 100 (panicked, cancelled and running tasks count as started,
    /// not completed); 0 when none started.
    pub completion_rate_percent: f64,
    /// Mean over the tasks of (lifetime − time inside poll), in milliseconds: how long a
    /// task waited on I/O, timers or a worker thread.
    pub avg_wait_time_ms: f64,
    /// Mean time inside poll per task, in milliseconds.
    pub avg_poll_time_ms: f64,
    /// Completed tasks ÷ seconds from the first task's start to the last completion;
    /// 0 when none completed.
    pub throughput_per_sec: f64,
    /// Heap traffic of these tasks, cumulative.
    #[serde(flatten)]
    pub heap: HeapCounters,
    /// Bytes they hold now.
    pub live_bytes: u64,
    /// Bytes still held by those of them that finished.
    pub retained_bytes: u64,
}

impl TaskPerformanceMetrics {
    pub(crate) fn from_group(g: &GroupProfile) -> Self {
        let per_task_ms = |total: std::time::Duration| {
            if g.task_count == 0 {
                0.0
            } else {
                total.as_secs_f64() * 1000.0 / g.task_count as f64
            }
        };
        let throughput_per_sec = match (g.first_started_at, g.last_completed_at) {
            (Some(first), Some(last)) if g.completed_count > 0 => {
                let secs = last.saturating_sub(first).as_secs_f64().max(1e-9);
                g.completed_count as f64 / secs
            }
            _ => 0.0,
        };
        TaskPerformanceMetrics {
            task_type: g.task_type,
            task_count: g.task_count,
            completed_count: g.completed_count,
            panicked_count: g.panicked_count,
            cancelled_count: g.cancelled_count,
            running_count: g.running_count,
            avg_memory_mb: g.mean_peak_bytes() / MB,
            peak_memory_mb: g.max_peak_bytes as f64 / MB,
            completion_rate_percent: if g.task_count == 0 {
                0.0
            } else {
                g.completed_count as f64 / g.task_count as f64 * 100.0
            },
            avg_wait_time_ms: per_task_ms(g.sum_lifetime.saturating_sub(g.poll_duration)),
            avg_poll_time_ms: per_task_ms(g.poll_duration),
            throughput_per_sec,
            heap: g.heap,
            live_bytes: g.live_bytes,
            retained_bytes: g.retained_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::Outcome;
    use crate::hook::record::Reading;

    fn task(peak: u64, outcome: Outcome, end: u64) -> Reading {
        Reading {
            outcome,
            heap: HeapCounters::new(peak, 1, peak, 1),
            peak_bytes: peak,
            poll_count: 2,
            poll_ns: 1_000_000,
            created_ns: 0,
            ended_ns: Some(end),
            descendant_alloc: (0, 0),
        }
    }

    #[test]
    fn figures_follow_their_definitions() {
        let mut g = GroupProfile::new("cpu", TaskType::CpuIntensive);
        let kib = 1024;
        g.add(&task(256 * kib, Outcome::Completed, 1_000_000_000), 0);
        g.add(&task(512 * kib, Outcome::Completed, 2_000_000_000), 0);
        g.add(&task(768 * kib, Outcome::Completed, 2_000_000_000), 0);
        g.add(&task(1024 * kib, Outcome::Panicked, 3_000_000_000), 0);
        let m = TaskPerformanceMetrics::from_group(&g);
        assert_eq!(m.avg_memory_mb, 0.625);
        assert_eq!(m.peak_memory_mb, 1.0);
        assert_eq!(m.completion_rate_percent, 75.0);
        // 3 completed between t=0 and the last completion at 2 s.
        assert_eq!(m.throughput_per_sec, 1.5);
        // lifetimes 1+2+2+3 = 8 s, minus 4 × 1 ms in poll, over 4 tasks.
        assert!((m.avg_wait_time_ms - 1999.0).abs() < 1e-9);
    }
}
