//! Memory charged to a task after it finished, through a `ScopeHandle` kept past the
//! task's end (the spawn path's race with the worker is `spawn_race.rs`).
//!
//! Every block carries a pointer to its owner's record, so the store must keep a record
//! alive while any block charged to it can still be freed. Retention 0 folds a finished
//! task at once, which is where a record dropped too early shows: the late block is
//! missing from the books (checked here against the inner allocator's own count), and
//! its later free writes into freed memory (which valgrind reports).

mod support;

use memscope_runtime::{configure, Config, TaskType, Tracked};
use memscope_test_support::block_on;
use support::{assert_books_match_inner, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

#[test]
fn late_charges_keep_the_record_alive_and_in_the_books() {
    configure(Config::default().with_retention(0));
    drop(memscope_runtime::snapshot());
    assert_books_match_inner(GLOBAL.inner());

    scope_handle_used_after_the_task_was_folded();

    configure(Config::default());
}

fn scope_handle_used_after_the_task_was_folded() {
    let t = Tracked::new(async {}, "late/handle", TaskType::MemoryIntensive);
    let h = t.scope_handle();
    block_on(t); // completed, and with retention 0 retired at once
    let late = h.run(|| std::hint::black_box(vec![7u8; 4096]));
    // The late block must be in the books while it lives…
    let s = assert_books_match_inner(GLOBAL.inner());
    let p = s
        .task(h.id())
        .expect("a task holding memory is held individually");
    assert_eq!((p.heap.allocated_bytes, p.live_bytes), (4096, 4096));
    assert_eq!(p.retained_bytes, 4096);
    drop(h);
    // …and its free, after the last handle is gone, is charged to the same record.
    drop(late);
    let s = assert_books_match_inner(GLOBAL.inner());
    let g = s
        .groups
        .iter()
        .find(|g| g.name == "late/handle")
        .expect("group");
    assert_eq!(
        (g.heap.allocated_bytes, g.heap.freed_bytes, g.live_bytes),
        (4096, 4096, 0)
    );
    assert_eq!((g.task_count, g.completed_count), (1, 1));
}
