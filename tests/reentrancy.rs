//! Reentrancy: memscope's own bookkeeping allocates (task records, names, snapshots)
//! through the very allocator hook it feeds. Those allocations must go to the tracker's
//! bucket, never to the task that triggered them, and never recurse or deadlock.
//! (A binary of its own: the global allocator applies to a whole binary.)

use memscope::async_memory::spawn_tracked;
use memscope::{snapshot, TaskType, Tracked};
use memscope_test_support::{block_on, runtime, task, yield_once, Flavor};

#[test]
fn bookkeeping_inside_a_task_is_charged_to_the_tracker_not_the_task() {
    let before = snapshot().tracker;
    let fut = Tracked::named(
        async {
            // Creating child tasks allocates their records and names; a snapshot copies
            // every profile; none of it is this task's memory.
            let mut children = Vec::with_capacity(16);
            for _ in 0..16 {
                children.push(Tracked::at_caller(async { 0u8 }, TaskType::Background));
            }
            let s = snapshot();
            assert!(s.tasks_started >= 17);
            drop(s);
            yield_once().await;
            let mut sum = 0;
            for c in children {
                sum += c.await;
            }
            sum
        },
        "bookkeeping-inside",
    );
    let id = fut.id();
    block_on(fut);
    let t = task(id);
    // Exactly the children Vec: 16 × size_of::<Tracked<_>>() bytes.
    let child_size = std::mem::size_of::<Tracked<std::future::Ready<u8>>>();
    assert!(child_size > 0);
    assert_eq!(t.heap.allocation_count, 1, "{t:?}");
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
    let after = snapshot().tracker;
    assert!(after.allocation_count > before.allocation_count);
}

#[test]
fn snapshots_and_spawns_from_many_threads_do_not_deadlock() {
    let rt = runtime(Flavor::MultiThread);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let s = snapshot();
                assert!(s.tracked().live_bytes() <= s.tracked().allocated_bytes);
                n += 1;
            }
            n
        })
    };
    rt.block_on(async {
        let mut handles = Vec::new();
        for i in 0..2000 {
            handles.push(spawn_tracked(async move {
                let s = format!("payload-{i}");
                tokio::task::yield_now().await;
                s.len()
            }));
        }
        for h in handles {
            h.await.unwrap();
        }
    });
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);
}

#[test]
fn initialize_sees_the_hook() {
    assert!(memscope::hook_installed());
    runtime(Flavor::CurrentThread)
        .block_on(memscope::async_memory::initialize())
        .unwrap();
}
