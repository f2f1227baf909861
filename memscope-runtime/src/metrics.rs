//! Per-task-type performance figures, as the seed API names them.

use crate::snapshot::{GroupProfile, MB};
use crate::task::TaskType;
use serde::{Deserialize, Serialize};

/// Figures of every tracked task of one [`TaskType`], from
/// [`MemorySnapshot::get_task_metrics`](crate::MemorySnapshot::get_task_metrics).
///
/// "MB" is 1024 × 1024 bytes. Every figure is computed from the books; none is estimated.
/// Tasks still running count with their figures so far.
///
/// ```
/// let m = memscope_runtime::snapshot().get_task_metrics(memscope_runtime::TaskType::Background);
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
    /// Bytes allocated by these tasks, cumulative.
    pub total_allocated_bytes: u64,
    /// Bytes of their allocations freed, by anyone.
    pub total_freed_bytes: u64,
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
        let throughput_per_sec = match (g.first_started_at_ns, g.last_completed_at_ns) {
            (Some(first), Some(last)) if g.completed_count > 0 => {
                let secs = (last.saturating_sub(first)).max(1) as f64 / 1e9;
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
            avg_wait_time_ms: per_task_ms(g.total_lifetime.saturating_sub(g.poll_duration)),
            avg_poll_time_ms: per_task_ms(g.poll_duration),
            throughput_per_sec,
            total_allocated_bytes: g.allocated_bytes,
            total_freed_bytes: g.freed_bytes,
            live_bytes: g.live_bytes,
            retained_bytes: g.retained_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::TaskMemoryProfile;
    use crate::task::{Outcome, TaskId};
    use std::time::Duration;

    fn task(id: u64, peak: u64, outcome: Outcome, start: u64, end: u64) -> TaskMemoryProfile {
        TaskMemoryProfile {
            id: TaskId::from_u64(id),
            name: "t".into(),
            task_type: TaskType::CpuIntensive,
            parent: None,
            outcome,
            allocated_bytes: peak,
            allocation_count: 1,
            freed_bytes: peak,
            free_count: 1,
            live_bytes: 0,
            peak_bytes: peak,
            retained_bytes: 0,
            future_size_bytes: 0,
            poll_count: 2,
            poll_duration: Duration::from_millis(1),
            lifetime: Duration::from_nanos(end - start),
            started_at_ns: start,
            ended_at_ns: Some(end),
        }
    }

    #[test]
    fn figures_follow_their_definitions() {
        let mut g = GroupProfile::new("cpu", TaskType::CpuIntensive);
        let kib = 1024;
        g.add_task(&task(1, 256 * kib, Outcome::Completed, 0, 1_000_000_000));
        g.add_task(&task(2, 512 * kib, Outcome::Completed, 0, 2_000_000_000));
        g.add_task(&task(3, 768 * kib, Outcome::Completed, 0, 2_000_000_000));
        g.add_task(&task(4, 1024 * kib, Outcome::Panicked, 0, 3_000_000_000));
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
