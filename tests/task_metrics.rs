//! Per-task and per-group figures of the seed API, against hand-computed values.
//!
//! The books are process-wide and these tests run in parallel threads, so each test reads
//! only the tasks it made: by task id, or by a task name unique to the test (a group of
//! the snapshot is one `(name, type)`). Figures over every task of a type or of the whole
//! process live in their own test binaries (`task_type_metrics_cpu.rs`,
//! `task_type_metrics_io.rs`, `task_type_metrics_network.rs`, `snapshot_totals.rs`,
//! `monitor.rs`).
//!
//! Exact peaks: a task built with `Tracked::new` and driven by a current-thread runtime's
//! `block_on` allocates nothing but what its own code allocates (no task cell, no waker),
//! so its peak is exactly the bytes it held at once.

use memscope::async_memory::MB;
use memscope::async_memory::{
    create_tracked, get_memory_snapshot, initialize, spawn_tracked, MemorySnapshot, TaskType,
};
use memscope::{GroupProfile, Outcome, TaskId, Tracked};
use memscope_test_support::{runtime, runtime_with_time, Flavor};
use std::error::Error;
use std::hint::black_box;

const KIB: usize = 1024;

/// Runs a task named `name` that holds `bytes` at once, then frees them; returns its id.
fn hold(
    rt: &tokio::runtime::Runtime,
    name: &'static str,
    task_type: TaskType,
    bytes: usize,
) -> TaskId {
    let task = Tracked::new(
        async move {
            let v = vec![1u8; bytes];
            black_box(&v);
        },
        name,
        task_type,
    );
    let id = task.id();
    rt.block_on(task);
    id
}

/// The group of one `(name, type)` in `snapshot`.
fn group<'a>(snapshot: &'a MemorySnapshot, name: &str, task_type: TaskType) -> &'a GroupProfile {
    snapshot
        .groups
        .iter()
        .find(|g| g.name == name && g.task_type == task_type)
        .unwrap_or_else(|| panic!("no group `{name}` of type {task_type}"))
}

#[test]
fn a_tasks_peak_is_exactly_what_it_held_at_once() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    let id = Tracked::new(
        async {
            let a = vec![1u8; 100 * KIB];
            let b = vec![2u8; 50 * KIB];
            drop(black_box(a));
            let c = vec![3u8; 30 * KIB]; // live 80 KiB: below the 150 KiB peak
            black_box((&b, &c));
        },
        "task_metrics::peak",
        TaskType::MemoryIntensive,
    );
    let task_id = id.id();
    rt.block_on(id);
    let s = get_memory_snapshot();
    let t = s.task(task_id).unwrap();
    assert_eq!(t.outcome, Outcome::Completed);
    assert_eq!(t.heap.allocated_bytes, (180 * KIB) as u64);
    assert_eq!(t.heap.allocation_count, 3);
    assert_eq!(t.heap.freed_bytes, (180 * KIB) as u64);
    assert_eq!(t.heap.free_count, 3);
    assert_eq!(t.peak_bytes, (150 * KIB) as u64);
    assert_eq!(t.live_bytes, 0);
    assert_eq!(t.retained_bytes, 0);
}

#[test]
fn avg_and_peak_memory_are_mean_and_max_of_the_tasks_peaks() {
    // 256, 512, 768, 1024 KiB: mean 640 KiB = 0.625 MB, max 1 MiB = 1.0 MB.
    let rt = runtime_with_time(Flavor::CurrentThread);
    let name = "task_metrics::avg_peak";
    for k in 1..=4 {
        hold(&rt, name, TaskType::CpuIntensive, k * 256 * KIB);
    }
    let s = get_memory_snapshot();
    let g = group(&s, name, TaskType::CpuIntensive);
    assert_eq!(g.task_count, 4);
    assert_eq!(g.completed_count, 4);
    assert_eq!(g.sum_peak_bytes, (2560 * KIB) as u64);
    assert_eq!(g.mean_peak_bytes() / MB, 0.625);
    assert_eq!(g.max_peak_bytes as f64 / MB, 1.0);
    assert_eq!(g.live_bytes, 0);
}

#[test]
fn memory_a_task_hands_off_is_retained_and_charged_back_when_freed() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    let task = Tracked::new(
        async {
            let kept = vec![7u8; 3000];
            let scratch = vec![0u8; 1000];
            black_box(scratch);
            kept
        },
        "task_metrics::hand_off",
        TaskType::IoIntensive,
    );
    let id = task.id();
    let kept = rt.block_on(task);
    let t = get_memory_snapshot().task(id).cloned().unwrap();
    assert_eq!((t.heap.allocated_bytes, t.heap.freed_bytes), (4000, 1000));
    assert_eq!(
        (t.live_bytes, t.retained_bytes, t.peak_bytes),
        (3000, 3000, 4000)
    );
    // Freed outside any task: still charged to the task that allocated it.
    drop(kept);
    let t = get_memory_snapshot().task(id).cloned().unwrap();
    assert_eq!((t.heap.freed_bytes, t.heap.free_count), (4000, 2));
    assert_eq!((t.live_bytes, t.retained_bytes, t.peak_bytes), (0, 0, 4000));
}

#[test]
fn a_dropped_task_counts_as_cancelled_and_its_memory_is_freed_inside_it() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    let name = "task_metrics::cancelled";
    let done = hold(&rt, name, TaskType::NetworkIntensive, 10);
    let task = Tracked::new(
        async {
            let held = vec![1u8; 5000];
            std::future::pending::<()>().await;
            black_box(held);
        },
        name,
        TaskType::NetworkIntensive,
    );
    let id = task.id();
    rt.block_on(async {
        // One poll: allocates, then waits forever; the timeout drops it.
        let r = tokio::time::timeout(std::time::Duration::from_millis(1), task).await;
        assert!(r.is_err());
    });
    let s = get_memory_snapshot();
    let t = s.task(id).unwrap();
    assert_eq!(t.outcome, Outcome::Cancelled);
    assert_eq!(
        (t.heap.allocated_bytes, t.heap.freed_bytes, t.live_bytes),
        (5000, 5000, 0)
    );
    assert_eq!(s.task(done).unwrap().outcome, Outcome::Completed);
    let g = group(&s, name, TaskType::NetworkIntensive);
    assert_eq!(
        (
            g.task_count,
            g.completed_count,
            g.cancelled_count,
            g.panicked_count
        ),
        (2, 1, 1, 0)
    );
}

#[test]
fn wait_time_is_lifetime_minus_time_inside_poll() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    // The clock starts before the task is created: its lifetime runs from its creation.
    let started = std::time::Instant::now();
    let task = Tracked::new(
        async {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        },
        "task_metrics::wait",
        TaskType::IoIntensive,
    );
    let id = task.id();
    rt.block_on(task);
    let wall = started.elapsed();
    let t = get_memory_snapshot().task(id).cloned().unwrap();
    assert_eq!(
        t.poll_count, 2,
        "one poll registers the timer, one completes"
    );
    assert_eq!(t.wait_duration(), t.lifetime - t.poll_duration);
    // The 20 ms sleep is spent outside poll; the task lived no longer than the call.
    assert!(
        t.wait_duration() >= std::time::Duration::from_millis(20),
        "{t:?}"
    );
    assert!(t.lifetime <= wall, "{t:?} vs {wall:?}");
    assert_eq!(t.ended_at.unwrap() - t.started_at, t.lifetime);
}

#[test]
fn spawn_tracked_charges_tokios_task_allocation_to_the_child() {
    let rt = runtime(Flavor::MultiThread);
    let (spawner, child) = rt.block_on(async {
        let spawner = Tracked::new(
            async {
                // A future of at least 16 KiB: the array lives across the await.
                let handle = spawn_tracked(async {
                    let big = [7u8; 16 * KIB];
                    tokio::task::yield_now().await;
                    black_box(&big)[16 * KIB - 1]
                });
                let child = handle.id();
                assert_eq!(handle.await.unwrap(), 7);
                child
            },
            "task_metrics::spawner",
            TaskType::Unspecified,
        );
        let spawner_id = spawner.id();
        (spawner_id, spawner.await)
    });
    let s = get_memory_snapshot();
    let c = s.task(child).unwrap();
    assert!(c.future_size_bytes >= (16 * KIB) as u64, "{c:?}");
    assert!(c.heap.allocated_bytes >= c.future_size_bytes, "{c:?}");
    assert!(c.peak_bytes >= c.future_size_bytes, "{c:?}");
    assert_eq!(c.parent, Some(spawner));
    // The spawner allocated none of it.
    let p = s.task(spawner).unwrap();
    assert!(p.heap.allocated_bytes < c.future_size_bytes, "{p:?}");
}

#[test]
fn plain_tokio_spawn_charges_the_task_allocation_to_the_spawner() {
    // The contrast that `spawn_tracked` exists for.
    let rt = runtime(Flavor::MultiThread);
    let spawner = Tracked::new(
        async {
            tokio::spawn(async {
                let big = [7u8; 16 * KIB];
                tokio::task::yield_now().await;
                black_box(&big)[0]
            })
            .await
            .unwrap()
        },
        "task_metrics::plain_spawner",
        TaskType::Unspecified,
    );
    let id = spawner.id();
    rt.block_on(spawner);
    let p = get_memory_snapshot().task(id).cloned().unwrap();
    assert!(p.heap.allocated_bytes >= (16 * KIB) as u64, "{p:?}");
}

#[test]
fn handles_work_with_question_mark_and_try_join() -> Result<(), Box<dyn Error>> {
    runtime(Flavor::MultiThread).block_on(async {
        initialize().await?;
        initialize().await?; // idempotent
        let one = spawn_tracked(async { 1 }).await?;
        let (a, b, c) = tokio::try_join!(
            create_tracked(async { 2 }, TaskType::CpuIntensive),
            create_tracked(async { "three" }, TaskType::IoIntensive),
            create_tracked(async { vec![4u8; 4] }, TaskType::NetworkIntensive),
        )?;
        assert_eq!((one, a, b, c), (1, 2, "three", vec![4u8; 4]));
        Ok(())
    })
}

#[test]
fn a_failed_task_is_an_error_for_question_mark_and_try_join() {
    async fn run() -> Result<u32, Box<dyn Error>> {
        let aborted = create_tracked(std::future::pending::<u32>(), TaskType::IoIntensive);
        aborted.abort();
        let (a, b) = tokio::try_join!(
            create_tracked(async { 1u32 }, TaskType::CpuIntensive),
            aborted
        )?;
        Ok(a + b)
    }
    let err = runtime(Flavor::MultiThread).block_on(run()).unwrap_err();
    assert!(err.to_string().contains("was cancelled"), "{err}");
}

#[test]
fn task_type_parses_from_its_short_names() {
    assert_eq!("cpu".parse::<TaskType>().unwrap(), TaskType::CpuIntensive);
    assert_eq!("io".parse::<TaskType>().unwrap(), TaskType::IoIntensive);
    assert_eq!(
        "network".parse::<TaskType>().unwrap(),
        TaskType::NetworkIntensive
    );
    for t in [
        TaskType::CpuIntensive,
        TaskType::IoIntensive,
        TaskType::NetworkIntensive,
    ] {
        assert_eq!(t.to_string().parse::<TaskType>().unwrap(), t);
    }
    let err = "gpu".parse::<TaskType>().unwrap_err().to_string();
    assert!(err.contains("`gpu`") && err.contains("`cpu`"), "{err}");
}
