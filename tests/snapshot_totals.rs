//! Process-wide figures: `total_memory_bytes`, `total_allocations`,
//! `memory_efficiency_percent`, `active_task_count` and `peak_concurrent_tasks`.
//!
//! They cover every tracked task in the process, so this binary's tests run one at a time
//! (a static mutex) and are the only code in it that tracks anything. Tasks are `Tracked`
//! futures driven by a current-thread `block_on`: they allocate only what their code does.

use memscope::async_memory::{get_memory_snapshot, TaskType};
use memscope::Tracked;
use memscope_test_support::{runtime, Flavor};
use std::hint::black_box;
use std::sync::Mutex;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|p| p.into_inner())
}

#[test]
fn totals_efficiency_and_hand_off() {
    let _serial = serial();
    let before = get_memory_snapshot();
    let rt = runtime(Flavor::CurrentThread);
    // 1000 bytes allocated and freed inside; 3000 bytes handed out to the caller.
    let kept = rt.block_on(Tracked::new(
        async {
            black_box(vec![0u8; 1000]);
            vec![1u8; 3000]
        },
        "snapshot_totals::hand_off",
        TaskType::MemoryIntensive,
    ));
    let s = get_memory_snapshot();
    assert_eq!(s.total_memory_bytes() - before.total_memory_bytes(), 4000);
    assert_eq!(s.total_allocations() - before.total_allocations(), 2);
    assert_eq!(s.tracked().freed_bytes - before.tracked().freed_bytes, 1000);
    assert_eq!(
        s.tracked().live_bytes() - before.tracked().live_bytes(),
        3000
    );
    if before.total_memory_bytes() == 0 {
        // First test to run: the only tracked bytes are these; 1000 of 4000 freed.
        assert_eq!(s.memory_efficiency_percent(), 25.0);
    }
    drop(kept);
    let s = get_memory_snapshot();
    assert_eq!(s.tracked().live_bytes(), before.tracked().live_bytes());
    assert_eq!(s.tracked().freed_bytes - before.tracked().freed_bytes, 4000);
    if before.tracked().live_bytes() == 0 {
        assert_eq!(s.memory_efficiency_percent(), 100.0);
    }
}

#[test]
fn active_and_peak_concurrent_tasks() {
    let _serial = serial();
    let before = get_memory_snapshot();
    assert_eq!(before.active_task_count(), 0);
    // A tracked task exists from its creation to its end: three created, three alive.
    let tasks: Vec<_> = (0..3)
        .map(|_| {
            Tracked::new(
                async { 1 },
                "snapshot_totals::concurrent",
                TaskType::CpuIntensive,
            )
        })
        .collect();
    let during = get_memory_snapshot();
    assert_eq!(during.active_task_count(), 3);
    assert_eq!(
        during.peak_concurrent_tasks(),
        before.peak_concurrent_tasks().max(3)
    );
    // Two complete, one is dropped unpolled (cancelled): none alive; the peak stays.
    let rt = runtime(Flavor::CurrentThread);
    let mut tasks = tasks.into_iter();
    assert_eq!(rt.block_on(tasks.next().unwrap()), 1);
    assert_eq!(get_memory_snapshot().active_task_count(), 2);
    assert_eq!(rt.block_on(tasks.next().unwrap()), 1);
    drop(tasks);
    let after = get_memory_snapshot();
    assert_eq!(after.active_task_count(), 0);
    assert_eq!(
        after.peak_concurrent_tasks(),
        during.peak_concurrent_tasks()
    );
    assert_eq!(after.tasks_started - before.tasks_started, 3);
    let g = after
        .groups
        .iter()
        .find(|g| g.name == "snapshot_totals::concurrent")
        .unwrap();
    assert_eq!(
        (g.task_count, g.completed_count, g.cancelled_count),
        (3, 2, 1)
    );
}

#[test]
fn nothing_tracked_means_full_efficiency_and_zero_totals_for_unused_types() {
    let _serial = serial();
    let s = get_memory_snapshot();
    assert!(s.memory_efficiency_percent() > 0.0 && s.memory_efficiency_percent() <= 100.0);
    let m = s.get_task_metrics(TaskType::Background);
    assert_eq!((m.task_count, m.heap.allocated_bytes), (0, 0));
}
