//! `get_task_metrics(TaskType::CpuIntensive)`: memory figures over every CPU task.
//!
//! Type-level figures cover every task of the type in the process, so this binary runs
//! CPU tasks in one test only. Each task is a `Tracked` future driven by a current-thread
//! runtime's `block_on`, so it allocates nothing but its own vector and its peak is exact.

use memscope::async_memory::{get_memory_snapshot, TaskType};
use memscope::Tracked;
use memscope_test_support::{runtime, Flavor};
use std::hint::black_box;

const KIB: usize = 1024;

#[test]
fn avg_and_peak_memory_of_four_cpu_tasks() {
    let rt = runtime(Flavor::CurrentThread);
    // Peaks 256, 512, 768 and 1024 KiB: mean 640 KiB = 0.625 MB, max 1 MiB = 1.0 MB.
    for k in 1..=4 {
        rt.block_on(Tracked::new(
            async move {
                let v = vec![1u8; k * 256 * KIB];
                black_box(&v).len()
            },
            "task_type_metrics_cpu::task",
            TaskType::CpuIntensive,
        ));
    }
    let m = get_memory_snapshot().get_task_metrics(TaskType::CpuIntensive);
    assert_eq!(m.task_type, TaskType::CpuIntensive);
    assert_eq!(
        (m.task_count, m.completed_count, m.running_count),
        (4, 4, 0)
    );
    assert_eq!(m.avg_memory_mb, 0.625);
    assert_eq!(m.peak_memory_mb, 1.0);
    assert_eq!(m.completion_rate_percent, 100.0);
    assert_eq!(m.heap.allocated_bytes, (2560 * KIB) as u64);
    assert_eq!(m.heap.freed_bytes, (2560 * KIB) as u64);
    assert_eq!((m.live_bytes, m.retained_bytes), (0, 0));

    // No task of another type ran: their figures are empty, not made up.
    let io = get_memory_snapshot().get_task_metrics(TaskType::IoIntensive);
    assert_eq!(io.task_count, 0);
    assert_eq!(
        (
            io.avg_memory_mb,
            io.peak_memory_mb,
            io.completion_rate_percent
        ),
        (0.0, 0.0, 0.0)
    );
    assert_eq!((io.avg_wait_time_ms, io.throughput_per_sec), (0.0, 0.0));
}
