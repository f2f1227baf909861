//! `get_task_metrics(TaskType::IoIntensive)`: completion rate with a panicking task.
//!
//! Type-level figures cover every task of the type in the process, so this binary runs
//! I/O tasks in one test only.

use memscope::async_memory::MB;
use memscope::async_memory::{create_tracked, get_memory_snapshot, TaskType};
use memscope::{Outcome, Tracked};
use memscope_test_support::{runtime, Flavor};
use std::hint::black_box;

const KIB: usize = 1024;

#[test]
fn one_of_five_io_tasks_panics() {
    // Keep the expected panics' messages out of the test output, and no other.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let expected = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .is_some_and(|m| m.ends_with("fails"));
        if !expected {
            default_hook(info);
        }
    }));
    let rt = runtime(Flavor::CurrentThread);
    // Each task holds 64 KiB at its peak. The panicking one frees its vector first: the
    // panic machinery then allocates the payload inside the task's poll (charged to the
    // task, freed by `catch_unwind` outside it), which would otherwise sit on top of the
    // 64 KiB in its peak.
    let mut ids = Vec::new();
    for i in 0..5 {
        let task = Tracked::new(
            async move {
                let v = vec![1u8; 64 * KIB];
                if i == 2 {
                    drop(v);
                    panic!("task {i} fails");
                }
                black_box(&v).len()
            },
            "task_type_metrics_io::task",
            TaskType::IoIntensive,
        );
        ids.push(task.id());
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rt.block_on(task)));
        assert_eq!(result.is_err(), i == 2);
    }
    let s = get_memory_snapshot();
    assert_eq!(s.task(ids[2]).unwrap().outcome, Outcome::Panicked);
    assert_eq!(s.task(ids[2]).unwrap().live_bytes, 0);
    let m = s.get_task_metrics(TaskType::IoIntensive);
    assert_eq!(m.task_count, 5);
    assert_eq!(m.completed_count, 4);
    assert_eq!(m.panicked_count, 1);
    assert_eq!(m.cancelled_count, 0);
    assert_eq!(m.completion_rate_percent, 80.0);
    assert_eq!(m.avg_memory_mb, 64.0 * 1024.0 / MB);
    assert_eq!(m.peak_memory_mb, 0.0625);
    assert_eq!(m.live_bytes, 0);

    // A panic inside a spawned task: the handle gives an error, the task is panicked,
    // and the rate counts it as started, not completed: 4 of 6.
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()
        .unwrap();
    let err = mt
        .block_on(async {
            create_tracked(
                async {
                    let v = black_box(vec![0u8; 10]);
                    if black_box(true) {
                        panic!("spawned task fails");
                    }
                    v.len()
                },
                TaskType::IoIntensive,
            )
            .await
        })
        .unwrap_err();
    let boxed: Box<dyn std::error::Error> = err.into();
    assert!(boxed.to_string().contains("panicked"), "{boxed}");
    let m = get_memory_snapshot().get_task_metrics(TaskType::IoIntensive);
    assert_eq!(
        (m.task_count, m.completed_count, m.panicked_count),
        (6, 4, 2)
    );
    assert_eq!(m.completion_rate_percent, 4.0 / 6.0 * 100.0);
}
