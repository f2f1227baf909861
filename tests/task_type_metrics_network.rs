//! `get_task_metrics(TaskType::NetworkIntensive)`: throughput and wait time.
//!
//! The tracker times tasks with the real clock (`std::time::Instant`), so tokio's paused
//! clock would not shorten what it measures; these tests use short real sleeps and bounds
//! that follow from them, plus the exact identities between the type's figures and its
//! tasks' own profiles. Type-level figures cover every task of the type in the process,
//! so this binary runs network tasks in one test only.

use memscope::async_memory::{get_memory_snapshot, TaskType};
use memscope::Tracked;
use memscope_test_support::{runtime_with_time, Flavor};
use std::time::{Duration, Instant};

const SLEEP: Duration = Duration::from_millis(10);

#[test]
fn throughput_and_wait_time_of_sequential_network_tasks() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    let started = Instant::now();
    for _ in 0..5 {
        rt.block_on(Tracked::new(
            async { tokio::time::sleep(SLEEP).await },
            "task_type_metrics_network::request",
            TaskType::NetworkIntensive,
        ));
    }
    let wall = started.elapsed();
    let s = get_memory_snapshot();
    let m = s.get_task_metrics(TaskType::NetworkIntensive);
    assert_eq!((m.task_count, m.completed_count), (5, 5));
    assert_eq!(m.completion_rate_percent, 100.0);

    // Throughput: 5 completions ÷ (last completion − first start), exactly as the
    // profiles give them…
    let tasks: Vec<_> = s
        .task_profiles()
        .iter()
        .filter(|t| t.task_type == TaskType::NetworkIntensive)
        .collect();
    assert_eq!(tasks.len(), 5);
    let first = tasks.iter().map(|t| t.started_at).min().unwrap();
    let last = tasks.iter().map(|t| t.ended_at.unwrap()).max().unwrap();
    assert_eq!(m.throughput_per_sec, 5.0 / ((last - first).as_secs_f64()));
    // …and that span holds the five sequential 10 ms sleeps and lies inside the loop.
    assert!(
        m.throughput_per_sec <= 5.0 / (5.0 * SLEEP.as_secs_f64()),
        "{m:?}"
    );
    assert!(
        m.throughput_per_sec >= 5.0 / wall.as_secs_f64(),
        "{m:?} vs {wall:?}"
    );

    // Wait time: the mean over the tasks of (lifetime − time inside poll), in ms…
    let waits: Duration = tasks.iter().map(|t| t.lifetime - t.poll_duration).sum();
    let expected_ms = waits.as_secs_f64() * 1000.0 / 5.0;
    assert!((m.avg_wait_time_ms - expected_ms).abs() < 1e-9, "{m:?}");
    // …and each task spent its 10 ms sleep outside poll, inside the loop's wall time.
    assert!(m.avg_wait_time_ms >= SLEEP.as_secs_f64() * 1000.0, "{m:?}");
    assert!(
        m.avg_wait_time_ms <= wall.as_secs_f64() * 1000.0 / 5.0,
        "{m:?}"
    );
    let polls: Duration = tasks.iter().map(|t| t.poll_duration).sum();
    let poll_ms = polls.as_secs_f64() * 1000.0 / 5.0;
    assert!((m.avg_poll_time_ms - poll_ms).abs() < 1e-9, "{m:?}");
}
