//! Which tasks a measured or budgeted tree holds, and how its peak is read: futures built
//! in one tree and measured in another, tasks spawned around `memscope::spawn`, frees by
//! other threads in the middle of a poll.

use memscope::{measure, with_budget, Budget, TaskType, Tracked, TrackedExt, KIB, MIB};
use memscope_test_support::yield_once;
use std::hint::black_box;

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

#[test]
fn a_future_built_in_one_measurement_and_measured_in_a_nested_one_counts_in_both_once() {
    let (inner, outer) = current_thread().block_on(measure(async {
        let fill = Tracked::named(async { black_box(vec![0u8; 5000]).len() }, "fill");
        let (n, inner) = measure(fill).await;
        assert_eq!(n, 5000);
        inner
    }));
    assert_eq!((inner.allocated_bytes, inner.tasks), (5000, 2));
    // The outer tree: its root, the nested measurement's root, `fill`; each once.
    assert_eq!((outer.allocated_bytes, outer.tasks), (5000, 3));
}

#[test]
fn a_budget_around_a_future_built_inside_a_measurement_stops_it() {
    let ((), _) = current_thread().block_on(measure(async {
        let greedy = async {
            let mut held = Vec::new();
            for _ in 0..64 {
                held.push(black_box(vec![0u8; 64 * KIB as usize]));
                yield_once().await;
            }
            held.len()
        }
        .tracked("greedy", TaskType::MemoryIntensive);
        let over = with_budget(Budget::new(MIB), greedy).await.unwrap_err();
        assert_eq!(over.limit_bytes, MIB);
        assert!(over.overshoot_bytes() <= 64 * KIB, "{over}");
    }));
}

#[test]
fn a_child_spawned_with_tokio_spawn_that_goes_over_wakes_and_stops_its_budgeted_parent() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    let result = rt.block_on(with_budget(Budget::new(MIB), async {
        // Counted in the tree (created inside it), but not stopped itself: only
        // `memscope::spawn`'s tasks check at their own polls. Its polls still find the
        // tree over budget and wake the budgeted future, which is stopped at once.
        let child = tokio::spawn(
            async {
                let mut held = Vec::new();
                for _ in 0..64 {
                    held.push(black_box(vec![0u8; 64 * KIB as usize]));
                    tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                }
                held.len()
            }
            .tracked("untracked-spawn", TaskType::MemoryIntensive),
        );
        // The parent waits on something else entirely.
        tokio::time::sleep(std::time::Duration::from_secs(30)).await;
        child.await.unwrap()
    }));
    let over = result.unwrap_err();
    // One poll's 64 KiB past the budget, and what the child adds before the budgeted
    // future runs (it keeps going: nothing stops a task `tokio::spawn` started).
    assert!(
        over.peak_bytes > MIB && over.overshoot_bytes() <= 4 * 64 * KIB,
        "{over}"
    );
}

#[test]
fn a_free_by_another_thread_in_the_middle_of_a_poll_does_not_hide_the_peak() {
    let ((), stats) = current_thread().block_on(measure(async {
        let a = black_box(vec![1u8; 100_000]);
        yield_once().await; // `a` is in the tree's books
        let b = black_box(vec![2u8; 100_000]);
        std::thread::scope(|s| {
            s.spawn(move || drop(a));
        });
        drop(b);
        yield_once().await;
    }));
    // `a` and `b` were held at once (the thread's own allocations come on top).
    assert!(stats.peak_bytes >= 200_000, "{stats}");
}

#[test]
fn a_task_that_owns_memory_before_its_first_poll_keeps_its_tree() {
    let rt = current_thread();
    let early = Tracked::named(async { 1 }, "early");
    // Allocated in the task's scope before any measurement: this block was never a
    // measured tree's, so no tree may count its free.
    let block = early.scope_handle().run(|| black_box(vec![0u8; 1000]));
    let (n, stats) = rt.block_on(measure(async move {
        let n = early.await;
        drop(block);
        n
    }));
    assert_eq!(n, 1);
    assert_eq!(stats.tasks, 1, "`early` stays out of the tree");
    assert_eq!((stats.freed_bytes, stats.retained_bytes), (0, 0), "{stats}");
}

#[test]
fn a_future_built_outside_and_spawned_from_inside_a_measurement_is_in_its_tree() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let fill = async { black_box(vec![0u8; 7000]).len() }.tracked("fill", TaskType::CpuIntensive);
    let (n, stats) = rt.block_on(measure(async move { memscope::spawn(fill).await.unwrap() }));
    assert_eq!(n, 7000);
    assert_eq!(stats.tasks, 2);
    // The block, and tokio's task cell of the spawned task (charged to it).
    assert!(
        stats.allocated_bytes > 7000 && stats.allocations >= 2,
        "{stats}"
    );
}
