//! A runtime shut down with tracked tasks still pending: the runtime drops their futures,
//! each inside its task's scope, so they end `Cancelled` with the memory they held freed
//! and charged to them; tasks never polled end `Cancelled` with zero polls. Covers a
//! multi-thread runtime dropped, one shut down with a timeout, and a current-thread one.

mod support;

use memscope_runtime::{Outcome, TaskType, Tracked};
use memscope_test_support::{runtime_with_time, warm_up_tokio, Flavor};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};
use support::{assert_books_match_inner, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

const TASKS: usize = 100;
const HELD: usize = 1000;

static POLLED: AtomicUsize = AtomicUsize::new(0);

async fn hold_then_wait(forever: bool) {
    let v = std::hint::black_box(vec![1u8; HELD]);
    POLLED.fetch_add(1, SeqCst);
    if forever {
        std::future::pending::<()>().await;
    } else {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    drop(v);
}

enum Ending {
    Drop,
    ShutdownTimeout,
}

fn run(name: &'static str, flavor: Flavor, ending: Ending, poll_first: bool) {
    POLLED.store(0, SeqCst);
    let rt = runtime_with_time(flavor);
    let mut handles = Vec::with_capacity(TASKS);
    for i in 0..TASKS {
        let t = Tracked::new(hold_then_wait(i % 2 == 0), name, TaskType::IoIntensive);
        let scope = t.scope_handle();
        let _guard = rt.enter();
        handles.push(scope.run(|| tokio::spawn(t)));
    }
    if poll_first {
        let deadline = Instant::now() + Duration::from_secs(10);
        if flavor == Flavor::MultiThread {
            while POLLED.load(SeqCst) < TASKS && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
        } else {
            rt.block_on(async {
                while POLLED.load(SeqCst) < TASKS {
                    tokio::task::yield_now().await;
                }
            });
        }
        assert_eq!(POLLED.load(SeqCst), TASKS, "{name}: every task got polled");
    }
    match ending {
        Ending::Drop => drop(rt),
        Ending::ShutdownTimeout => rt.shutdown_timeout(Duration::from_secs(10)),
    }
    drop(handles);

    let s = assert_books_match_inner(GLOBAL.inner());
    let g = s.groups.iter().find(|g| g.name == name).expect("group");
    assert_eq!(g.task_count, TASKS as u64, "{name}");
    assert_eq!(
        g.cancelled_count, TASKS as u64,
        "{name}: every pending task is cancelled"
    );
    assert_eq!((g.live_bytes, g.retained_bytes), (0, 0), "{name}");
    assert_eq!(g.heap.allocated_bytes, g.heap.freed_bytes, "{name}");
    assert_eq!(g.heap.allocation_count, g.heap.free_count, "{name}");
    let polls = if poll_first { TASKS as u64 } else { 0 };
    assert_eq!(g.poll_count, polls, "{name}");
    // Each task: the runtime's task cell, plus its vector if it was polled.
    let per_task_blocks = if poll_first { 2 } else { 1 };
    assert_eq!(
        g.heap.allocation_count,
        per_task_blocks * TASKS as u64,
        "{name}"
    );
    for t in s.tasks.iter().filter(|t| t.name == name) {
        assert_eq!(t.outcome, Outcome::Cancelled);
        assert_eq!(t.live_bytes, 0);
    }
}

#[test]
fn runtime_shut_down_with_pending_tasks_cancels_them_with_exact_books() {
    warm_up_tokio();
    drop(memscope_runtime::snapshot());
    assert_books_match_inner(GLOBAL.inner());
    run(
        "shutdown/multi-drop",
        Flavor::MultiThread,
        Ending::Drop,
        true,
    );
    run(
        "shutdown/multi-timeout",
        Flavor::MultiThread,
        Ending::ShutdownTimeout,
        true,
    );
    run(
        "shutdown/current-drop",
        Flavor::CurrentThread,
        Ending::Drop,
        true,
    );
    run(
        "shutdown/current-never-polled",
        Flavor::CurrentThread,
        Ending::Drop,
        false,
    );
}
