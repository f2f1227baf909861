//! `AsyncResourceMonitor`: only tasks alive inside the window are counted.
//!
//! A window sees every tracked task in the process, so this binary holds one test.

use memscope::async_memory::MB;
use memscope::async_memory::{AsyncResourceMonitor, TaskType};
use memscope::{Error, Tracked};
use memscope_test_support::{runtime, Flavor};
use std::hint::black_box;

const KIB: usize = 1024;

fn holding(
    bytes: usize,
    name: &'static str,
    t: TaskType,
) -> Tracked<impl std::future::Future<Output = ()>> {
    Tracked::new(
        async move {
            black_box(vec![1u8; bytes]);
        },
        name,
        t,
    )
}

#[test]
fn the_window_counts_the_tasks_alive_inside_it() {
    let rt = runtime(Flavor::CurrentThread);
    rt.block_on(async {
        let mut monitor = AsyncResourceMonitor::new();
        assert!(matches!(
            monitor.stop_monitoring().await,
            Err(Error::MonitorNotStarted)
        ));

        // Finished before the window opens: not counted.
        holding(4 * 1024 * KIB, "before", TaskType::CpuIntensive).await;
        // Created before, still alive when it opens, finishes inside: counted.
        let spanning = holding(300 * KIB, "spanning", TaskType::IoIntensive);
        // Created before and still running when it closes: counted.
        let running = holding(10, "running", TaskType::NetworkIntensive);

        monitor.start_monitoring().await.unwrap();
        spanning.await;
        holding(512 * KIB, "inside", TaskType::CpuIntensive).await;
        holding(100 * KIB, "inside", TaskType::NetworkIntensive).await;
        let created_inside = holding(1, "open", TaskType::Background);
        let analysis = monitor.stop_monitoring().await.unwrap();

        // After the window: not counted.
        holding(8 * 1024 * KIB, "after", TaskType::CpuIntensive).await;

        assert_eq!(analysis.cpu_task_count, 1);
        assert_eq!(analysis.io_task_count, 1);
        assert_eq!(analysis.network_task_count, 2);
        assert_eq!(analysis.other_task_count, 1);
        assert_eq!(analysis.total_task_count, 5);
        // Peaks 512 KiB, 300 KiB, 100 KiB, 0 (not yet polled) and 0: max 0.5 MB, not
        // the 4 MiB before nor the 8 MiB after.
        assert_eq!(analysis.peak_memory_per_task_mb, 0.5);
        assert_eq!(
            analysis.avg_memory_per_task_mb,
            (912 * KIB) as f64 / 5.0 / MB
        );
        assert_eq!(analysis.total_allocated_bytes, (912 * KIB) as u64);
        assert!(analysis.duration > std::time::Duration::ZERO);

        // Stopping twice is an error; a restarted window starts empty.
        assert!(monitor.stop_monitoring().await.is_err());
        monitor.start_monitoring().await.unwrap();
        let empty = monitor.stop_monitoring().await.unwrap();
        assert_eq!(
            empty.total_task_count, 2,
            "the two tasks still alive: {empty:?}"
        );
        drop((running, created_inside));
    });
}
