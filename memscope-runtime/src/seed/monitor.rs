//! `AsyncResourceMonitor`: figures of the tasks that ran inside a window of time.

use crate::base::error::Error;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::books::windows;
use crate::seed::metrics::TaskPerformanceMetrics;
use crate::seed::MB;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// Watches a window of time: every tracked task that was alive at some point inside it
/// (started before and still running, started inside, or finished inside) is counted.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::async_memory::{AsyncResourceMonitor, TaskType};
/// use memscope::Tracked;
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let mut monitor = AsyncResourceMonitor::new();
/// monitor.start_monitoring().await?;
/// Tracked::new(async { vec![0u8; 1 << 20].len() }, "fill", TaskType::CpuIntensive).await;
/// let analysis = monitor.stop_monitoring().await?;
/// assert_eq!(analysis.cpu_task_count, 1);
/// assert!(analysis.peak_memory_per_task_mb >= 1.0);
/// # Ok::<(), memscope::Error>(())
/// # }).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct AsyncResourceMonitor {
    window: Option<(u64, Instant)>,
}

/// What an [`AsyncResourceMonitor`] saw between start and stop. "MB" is 1024 × 1024 bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResourceAnalysis {
    /// CPU-intensive tasks alive inside the window.
    pub cpu_task_count: usize,
    /// IO-intensive tasks alive inside the window.
    pub io_task_count: usize,
    /// Network-intensive tasks alive inside the window.
    pub network_task_count: usize,
    /// Tasks of any other type alive inside the window.
    pub other_task_count: usize,
    /// All tasks alive inside the window.
    pub total_task_count: usize,
    /// The highest peak live bytes of any one of those tasks, in MB.
    pub peak_memory_per_task_mb: f64,
    /// Mean of those tasks' peak live bytes, in MB.
    pub avg_memory_per_task_mb: f64,
    /// Bytes those tasks allocated (over their whole lives).
    pub total_allocated_bytes: u64,
    /// Length of the window.
    #[serde(with = "crate::base::time::duration_ns")]
    pub duration: Duration,
    /// Per-type figures of those tasks.
    pub by_type: Vec<TaskPerformanceMetrics>,
}

impl AsyncResourceMonitor {
    /// A monitor that is not watching yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens the window (restarting it if already open).
    pub async fn start_monitoring(&mut self) -> Result<(), Error> {
        self.close();
        self.window = Some((windows::open(), Instant::now()));
        Ok(())
    }

    /// Closes the window and returns what it saw.
    pub async fn stop_monitoring(&mut self) -> Result<ResourceAnalysis, Error> {
        let (key, started) = self.window.take().ok_or(Error::MonitorNotStarted)?;
        let per_type = windows::close(key).ok_or(Error::MonitorNotStarted)?;
        let mut all = GroupProfile::new("all", TaskType::Unspecified);
        per_type.values().for_each(|g| all.merge(g));
        let count = |t: TaskType| per_type.get(&t).map_or(0, |g| g.task_count as usize);
        let total = all.task_count as usize;
        let known = count(TaskType::CpuIntensive)
            + count(TaskType::IoIntensive)
            + count(TaskType::NetworkIntensive);
        Ok(ResourceAnalysis {
            cpu_task_count: count(TaskType::CpuIntensive),
            io_task_count: count(TaskType::IoIntensive),
            network_task_count: count(TaskType::NetworkIntensive),
            other_task_count: total - known,
            total_task_count: total,
            peak_memory_per_task_mb: all.max_peak_bytes as f64 / MB,
            avg_memory_per_task_mb: all.mean_peak_bytes() / MB,
            total_allocated_bytes: all.heap.allocated_bytes,
            duration: started.elapsed(),
            by_type: per_type
                .values()
                .map(TaskPerformanceMetrics::from_group)
                .collect(),
        })
    }

    fn close(&mut self) {
        if let Some((key, _)) = self.window.take() {
            windows::close(key);
        }
    }
}

impl Drop for AsyncResourceMonitor {
    fn drop(&mut self) {
        self.close();
    }
}
