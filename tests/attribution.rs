//! Exact attribution of a task's own memory: held across `.await`, returned, leaked,
//! nested, panicking, cancelled.
//!
//! These tasks are polled with a no-op waker (`memscope_test_support::block_on`) or a
//! current-thread runtime, so nothing but the task body allocates inside its scope and
//! the figures are exact, except where a test says which fixed slack it allows and why.

use memscope::{current_task_id, Outcome, TaskType, Tracked};
use memscope_test_support::{block_on, runtime_with_time, task, yield_once, Flavor};
use std::hint::black_box; // release builds drop allocations nobody reads
use std::panic::{catch_unwind, AssertUnwindSafe};

const N: usize = 1 << 20;

#[test]
fn vec_held_across_await_is_charged_exactly() {
    let fut = Tracked::new(
        async {
            let v = black_box(vec![1u8; N]);
            yield_once().await;
            let sum: u64 = v.iter().map(|&b| b as u64).sum();
            drop(v);
            sum
        },
        "held-across-await",
        TaskType::MemoryIntensive,
    );
    let id = fut.id();
    assert_eq!(block_on(fut), N as u64);
    let t = task(id);
    assert_eq!(t.heap.allocated_bytes, N as u64);
    assert_eq!(t.heap.allocation_count, 1);
    assert_eq!(t.peak_bytes, N as u64);
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
    assert_eq!(t.heap.free_count, 1);
    assert_eq!(t.live_bytes, 0);
    assert_eq!(t.retained_bytes, 0);
    assert_eq!(t.poll_count, 2);
    assert_eq!(t.outcome, Outcome::Completed);
    assert_eq!(t.task_type, TaskType::MemoryIntensive);
    assert_eq!(t.name, "held-across-await");
}

#[test]
fn vec_held_across_a_tokio_sleep_on_a_multi_thread_runtime() {
    let rt = runtime_with_time(Flavor::MultiThread);
    let fut = Tracked::new(
        async {
            let v = black_box(vec![1u8; N]);
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            v.len()
        },
        "held-across-sleep",
        TaskType::IoIntensive,
    );
    let id = fut.id();
    assert_eq!(rt.block_on(fut), N);
    drop(rt);
    let t = task(id);
    // Slack: registering the timer may allocate inside the task's poll (tokio's own
    // bookkeeping); whatever it is, it is charged to the task and freed again.
    assert!(t.heap.allocated_bytes >= N as u64, "{t:?}");
    assert!(t.peak_bytes >= N as u64, "{t:?}");
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes, "{t:?}");
    assert_eq!(t.live_bytes, 0);
}

#[test]
fn returned_value_is_retained_by_the_finished_task_until_freed() {
    let fut = Tracked::named(async { vec![9u8; 4096] }, "returns-a-buffer");
    let id = fut.id();
    let buffer = block_on(fut);
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Completed);
    assert_eq!(t.retained_bytes, 4096);
    assert_eq!(t.live_bytes, 4096);
    drop(buffer); // freed outside any task: still charged to the task that allocated it
    let t = task(id);
    assert_eq!(t.retained_bytes, 0);
    assert_eq!(t.heap.freed_bytes, 4096);
    assert_eq!(t.heap.free_count, 1);
}

#[test]
fn leaked_memory_stays_retained() {
    let fut = Tracked::named(
        async {
            let leaked: &'static mut [u8] = Box::leak(black_box(vec![3u8; 777]).into_boxed_slice());
            leaked.len()
        },
        "leaks",
    );
    let id = fut.id();
    assert_eq!(block_on(fut), 777);
    let t = task(id);
    assert_eq!(t.retained_bytes, 777);
    assert_eq!(t.heap.freed_bytes, 0);
}

#[test]
fn memory_sent_to_main_is_retained_then_released() {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
    let fut = Tracked::named(
        async move {
            tx.send(vec![5u8; 10_000]).unwrap();
        },
        "sends-to-main",
    );
    let id = fut.id();
    block_on(fut);
    let received = rx.recv().unwrap();
    assert_eq!(task(id).retained_bytes, 10_000);
    drop(received);
    let t = task(id);
    assert_eq!((t.retained_bytes, t.heap.freed_bytes), (0, 10_000));
}

#[test]
fn nested_scopes_charge_the_inner_task_and_link_the_parent() {
    let outer = Tracked::named(
        async {
            let mine = black_box(vec![0u8; 1000]);
            let inner = Tracked::named(
                async {
                    let theirs = black_box(vec![0u8; 300]);
                    yield_once().await;
                    (current_task_id().unwrap(), theirs.len())
                },
                "inner",
            );
            let (inner_id, _) = inner.await;
            // The outer task's batch was flushed when the inner scope began and restarts
            // after it: its peak still sees both of its own blocks at once.
            let later = black_box(vec![0u8; 500]);
            drop((mine, later));
            inner_id
        },
        "outer",
    );
    let outer_id = outer.id();
    let inner_id = block_on(outer);
    let (o, i) = (task(outer_id), task(inner_id));
    assert_eq!(i.parent, Some(outer_id));
    assert_eq!(o.parent, None);
    assert_eq!((o.heap.allocated_bytes, o.heap.freed_bytes), (1500, 1500));
    assert_eq!((o.heap.allocation_count, o.heap.free_count), (2, 2));
    assert_eq!(o.peak_bytes, 1500);
    assert_eq!((i.heap.allocated_bytes, i.heap.freed_bytes), (300, 300));
    assert_eq!(i.peak_bytes, 300);
    let s = memscope::snapshot();
    assert_eq!(s.inclusive_heap(outer_id).allocated_bytes, 1800);
}

#[test]
fn a_panicking_task_is_recorded_and_its_unwound_memory_charged_to_it() {
    let fut = Tracked::named(
        async {
            let _held = black_box(vec![1u8; 5000]);
            yield_once().await;
            // `resume_unwind` skips the panic hook (which would allocate its message).
            std::panic::resume_unwind(Box::new(()));
        },
        "panics",
    );
    let id = fut.id();
    let caught = catch_unwind(AssertUnwindSafe(|| block_on(fut)));
    assert!(caught.is_err());
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Panicked);
    // Slack: the unwinder boxes its exception object while inside the task's poll (a few
    // dozen bytes, freed when caught).
    assert!(
        t.heap.allocated_bytes >= 5000 && t.heap.allocated_bytes < 5000 + 256,
        "{t:?}"
    );
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
    assert_eq!(t.live_bytes, 0);
    assert_eq!(t.peak_bytes, t.heap.allocated_bytes);
}

#[test]
fn a_task_dropped_by_timeout_is_cancelled_and_its_drop_charged_to_it() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    let fut = Tracked::named(
        async {
            let _held = black_box(vec![2u8; 8192]);
            std::future::pending::<()>().await;
        },
        "times-out",
    );
    let id = fut.id();
    let out =
        rt.block_on(async { tokio::time::timeout(std::time::Duration::from_millis(5), fut).await });
    assert!(out.is_err());
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Cancelled);
    assert_eq!(
        (t.heap.allocated_bytes, t.heap.freed_bytes, t.live_bytes),
        (8192, 8192, 0)
    );
    assert_eq!(t.peak_bytes, 8192);
}

#[test]
fn an_unpolled_task_dropped_is_cancelled() {
    let fut = Tracked::named(async { 1 }, "never-polled");
    let id = fut.id();
    drop(fut);
    let t = task(id);
    assert_eq!(
        (t.outcome, t.poll_count, t.heap.allocated_bytes),
        (Outcome::Cancelled, 0, 0)
    );
}
