//! Allocation failure: when the inner allocator returns null, `TrackingAllocator` passes
//! the null through unchanged and the books count no block that was never made; a failed
//! `realloc` leaves the old block and its owner intact.
//!
//! One `#[test]` only: the final check compares the books with the inner allocator's own
//! count, which needs no other test thread allocating meanwhile.

mod support;

use memscope_runtime::{TaskType, Tracked};
use memscope_test_support::{block_on, task};
use std::alloc::{GlobalAlloc, Layout};
use support::{assert_books_match_inner, outer, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

const BIG: usize = 1 << 20;

fn inner() -> &'static FailingAlloc {
    GLOBAL.inner()
}

#[test]
fn null_from_the_inner_allocator_passes_through_and_is_counted_nowhere() {
    // Warm up whatever the harness and the snapshot allocate lazily, then start exact.
    drop(memscope_runtime::snapshot());
    assert_books_match_inner(inner());

    outside_any_task();
    inside_a_task();
    failed_realloc_keeps_the_block_and_its_owner();
    layouts_too_large_for_the_trailer_fail_before_the_inner_allocator();
    try_reserve_inside_a_polled_future();

    let s = assert_books_match_inner(inner());
    assert_eq!(s.active_task_count(), 0);
}

fn outside_any_task() {
    let before = memscope_runtime::snapshot();
    let nulls = inner().counts().nulls;
    let layout = Layout::from_size_align(BIG, 8).unwrap();
    inner().fail_from(outer(BIG));
    // SAFETY: a valid non-zero layout; a null result is checked, never used.
    let (a, z) = unsafe { (GLOBAL.alloc(layout), GLOBAL.alloc_zeroed(layout)) };
    let mut v: Vec<u8> = Vec::new();
    let reserved = v.try_reserve(BIG);
    inner().heal();
    assert!(a.is_null(), "alloc must pass the inner null through");
    assert!(z.is_null(), "alloc_zeroed must pass the inner null through");
    assert!(reserved.is_err(), "try_reserve must see the failure");
    assert_eq!(v.capacity(), 0);
    assert_eq!(inner().counts().nulls, nulls + 3);
    drop(reserved);
    let after = assert_books_match_inner(inner());
    // The tracked books did not move at all.
    assert_eq!(after.tracked(), before.tracked());
}

fn inside_a_task() {
    let t = Tracked::new(async {}, "null/inside", TaskType::MemoryIntensive);
    let h = t.scope_handle();
    let layout = Layout::from_size_align(BIG, 64).unwrap();
    inner().fail_from(outer(BIG));
    // SAFETY: as above; null results are checked and never used.
    let (a, z, ok) = h.run(|| unsafe {
        let a = GLOBAL.alloc(layout);
        let z = GLOBAL.alloc_zeroed(layout);
        // Below the failure threshold: this one is made, and counted.
        let ok = GLOBAL.alloc(Layout::from_size_align(100, 8).unwrap());
        (a, z, ok)
    });
    inner().heal();
    assert!(a.is_null() && z.is_null() && !ok.is_null());
    let p = task(h.id());
    assert_eq!(p.heap.allocation_count, 1, "a null is no allocation");
    assert_eq!(p.heap.allocated_bytes, 100);
    assert_eq!(p.live_bytes, 100);
    assert_eq!(p.peak_bytes, 100);
    // SAFETY: `ok` came from GLOBAL with this layout.
    unsafe { GLOBAL.dealloc(ok, Layout::from_size_align(100, 8).unwrap()) };
    let p = task(h.id());
    assert_eq!(
        (p.heap.freed_bytes, p.heap.free_count, p.live_bytes),
        (100, 1, 0)
    );
    drop(t);
    assert_books_match_inner(inner());
}

fn failed_realloc_keeps_the_block_and_its_owner() {
    let t = Tracked::new(async {}, "null/realloc", TaskType::MemoryIntensive);
    let h = t.scope_handle();
    let small = Layout::from_size_align(100, 16).unwrap();
    // SAFETY: valid layout; the block is written within its 100 bytes only.
    let block = h.run(|| unsafe {
        let p = GLOBAL.alloc(small);
        assert!(!p.is_null());
        std::ptr::write_bytes(p, 0xAB, 100);
        p
    });
    inner().fail_from(outer(BIG));
    // SAFETY: `block` is live with layout `small`; on null it stays valid.
    let failed = h.run(|| unsafe { GLOBAL.realloc(block, small, BIG) });
    inner().heal();
    assert!(failed.is_null(), "realloc must pass the inner null through");
    // SAFETY: the failed realloc left `block` valid, 100 bytes.
    let intact = unsafe { std::slice::from_raw_parts(block, 100) };
    assert!(
        intact.iter().all(|&b| b == 0xAB),
        "payload survived the failed realloc"
    );
    let p = task(h.id());
    assert_eq!((p.heap.allocated_bytes, p.heap.allocation_count), (100, 1));
    assert_eq!((p.heap.freed_bytes, p.heap.free_count), (0, 0));

    // Now it succeeds, from outside the task: the old size is freed from the task's books,
    // the new block belongs to nobody (untracked), and its later free is not the task's.
    // SAFETY: `block` is still live with layout `small`.
    let grown = unsafe { GLOBAL.realloc(block, small, BIG) };
    assert!(!grown.is_null());
    let p = task(h.id());
    assert_eq!((p.heap.allocated_bytes, p.heap.allocation_count), (100, 1));
    assert_eq!(
        (p.heap.freed_bytes, p.heap.free_count, p.live_bytes),
        (100, 1, 0)
    );
    // SAFETY: `grown` is live with size BIG and the same alignment.
    unsafe { GLOBAL.dealloc(grown, Layout::from_size_align(BIG, 16).unwrap()) };
    let p = task(h.id());
    assert_eq!((p.heap.freed_bytes, p.heap.free_count), (100, 1));
    drop(t);
    assert_books_match_inner(inner());
}

fn layouts_too_large_for_the_trailer_fail_before_the_inner_allocator() {
    let before = inner().counts();
    // The largest size Layout accepts at align 1; adding the trailer makes it invalid.
    let huge = Layout::from_size_align(isize::MAX as usize - 3, 1).unwrap();
    let t = Tracked::new(async {}, "null/huge", TaskType::MemoryIntensive);
    let h = t.scope_handle();
    // SAFETY: valid layout; results are checked and never used.
    let (a, z) = h.run(|| unsafe { (GLOBAL.alloc(huge), GLOBAL.alloc_zeroed(huge)) });
    assert!(a.is_null() && z.is_null());
    let small = Layout::from_size_align(8, 1).unwrap();
    // SAFETY: valid layout; the block is freed below.
    let b = h.run(|| unsafe { GLOBAL.alloc(small) });
    // SAFETY: `b` is live with layout `small`; a null result leaves it valid.
    let r = h.run(|| unsafe { GLOBAL.realloc(b, small, huge.size()) });
    assert!(r.is_null());
    // SAFETY: the failed realloc left `b` live.
    unsafe { GLOBAL.dealloc(b, small) };
    let after = inner().counts();
    assert_eq!(
        after.nulls, before.nulls,
        "never reached the inner allocator"
    );
    let p = task(h.id());
    assert_eq!((p.heap.allocation_count, p.heap.allocated_bytes), (1, 8));
    assert_eq!((p.heap.free_count, p.heap.freed_bytes), (1, 8));
    drop(t);
    assert_books_match_inner(inner());
}

fn try_reserve_inside_a_polled_future() {
    let fut = Tracked::new(
        async {
            let mut v: Vec<u8> = Vec::with_capacity(1000);
            inner().fail_from(outer(BIG));
            let failed = v.try_reserve_exact(BIG).is_err();
            inner().heal();
            // The task goes on normally after the failure.
            v.extend_from_slice(&[1; 1000]);
            (failed, v.len())
        },
        "null/try-reserve",
        TaskType::MemoryIntensive,
    );
    let id = fut.id();
    assert_eq!(block_on(fut), (true, 1000));
    let p = task(id);
    assert_eq!((p.heap.allocation_count, p.heap.allocated_bytes), (1, 1000));
    assert_eq!(
        (p.heap.free_count, p.heap.freed_bytes, p.live_bytes),
        (1, 1000, 0)
    );
    assert_eq!(p.outcome, memscope_runtime::Outcome::Completed);
    assert_books_match_inner(inner());
}
