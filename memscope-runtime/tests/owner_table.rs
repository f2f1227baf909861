//! The out-of-band owner table (`OwnerPlacement::SizeClasses`, what
//! `TrackingAllocator::new` picks): blocks whose size sits on a class boundary reach the
//! inner allocator at exactly the caller's size, and are still charged exactly to their
//! owner whoever frees them, across reallocs that move a block between the table and a
//! trailer, and across failures of the inner allocator.
//!
//! One `#[test]` only: the checks compare the books with the inner allocator's own count,
//! which needs no other test thread allocating meanwhile.

mod support;

use memscope_runtime::{OwnerPlacement, TaskType, Tracked, TrackingAllocator, TRAILER_BYTES};
use memscope_test_support::{assert_books_add_up, task};
use std::alloc::{GlobalAlloc, Layout};
use support::FailingAlloc;

#[global_allocator]
static GLOBAL: TrackingAllocator<FailingAlloc> = TrackingAllocator::new(FailingAlloc::new());

fn inner() -> &'static FailingAlloc {
    GLOBAL.inner()
}

/// Sizes on a class boundary of an allocator with four classes per power of two: their
/// owner goes in the table.
const TABLE_SIZES: [usize; 6] = [80, 128, 1024, 4096, 8192, 1 << 18];
/// Sizes whose trailer fits in their class.
const TRAILER_SIZES: [usize; 4] = [24, 100, 1000, 5000];

#[test]
fn blocks_on_class_boundaries_keep_their_owner_out_of_band() {
    assert_eq!(GLOBAL.placement(), OwnerPlacement::SizeClasses);
    // Nothing but the checks allocates from here on.
    support::quiet_background();
    inner_sees_the_callers_size_for_table_blocks();
    frees_from_another_thread_are_charged_to_the_owner();
    reallocs_move_the_owner_between_table_and_trailer();
    a_failed_realloc_gives_the_owner_back();
    counts_match_the_inner_allocator();
}

/// Allocates `size` bytes (align 8) inside `t`'s scope and returns the block.
fn alloc_in(t: &Tracked<std::future::Ready<()>>, size: usize) -> *mut u8 {
    let layout = Layout::from_size_align(size, 8).unwrap();
    // SAFETY: a valid non-zero layout; the block is checked for null.
    let p = t.scope_handle().run(|| unsafe { GLOBAL.alloc(layout) });
    assert!(!p.is_null());
    p
}

fn free(p: *mut u8, size: usize) {
    // SAFETY: callers pass a live block of GLOBAL with this size and alignment 8.
    unsafe { GLOBAL.dealloc(p, Layout::from_size_align(size, 8).unwrap()) }
}

fn inner_sees_the_callers_size_for_table_blocks() {
    let t = Tracked::new(
        std::future::ready(()),
        "table/sizes",
        TaskType::MemoryIntensive,
    );
    for (sizes, extra) in [(&TABLE_SIZES[..], 0), (&TRAILER_SIZES[..], TRAILER_BYTES)] {
        for &size in sizes {
            let before = inner().counts().alloc_bytes;
            let p = alloc_in(&t, size);
            let seen = inner().counts().alloc_bytes - before;
            assert_eq!(
                seen as usize,
                size + extra,
                "inner request for {size} bytes"
            );
            // SAFETY: `p` holds `size` bytes: the caller's whole block is writable.
            unsafe { std::ptr::write_bytes(p, 0x5A, size) };
            free(p, size);
        }
    }
    let total: usize = TABLE_SIZES.iter().chain(&TRAILER_SIZES).sum();
    let p = task(t.id());
    assert_eq!(p.heap.allocated_bytes as usize, total);
    assert_eq!(p.heap.freed_bytes as usize, total);
    assert_eq!(
        p.heap.allocation_count as usize,
        TABLE_SIZES.len() + TRAILER_SIZES.len()
    );
    assert_eq!(p.peak_bytes, 1 << 18);
}

fn frees_from_another_thread_are_charged_to_the_owner() {
    let t = Tracked::new(
        std::future::ready(()),
        "table/cross",
        TaskType::MemoryIntensive,
    );
    let blocks: Vec<(usize, usize)> = (0..64)
        .map(|i| {
            let size = TABLE_SIZES[i % TABLE_SIZES.len()];
            (alloc_in(&t, size) as usize, size)
        })
        .collect();
    let total: usize = blocks.iter().map(|b| b.1).sum();
    assert_eq!(task(t.id()).live_bytes as usize, total);
    // A thread running no task, and then one running another task, free them.
    let (first, second) = blocks.split_at(32);
    let first = first.to_vec();
    std::thread::spawn(move || first.iter().for_each(|&(p, s)| free(p as *mut u8, s)))
        .join()
        .unwrap();
    let other = Tracked::new(std::future::ready(()), "table/other", TaskType::Background);
    let h = other.scope_handle();
    h.run(|| second.iter().for_each(|&(p, s)| free(p as *mut u8, s)));
    let p = task(t.id());
    assert_eq!(
        (p.heap.freed_bytes as usize, p.heap.free_count, p.live_bytes),
        (total, 64, 0)
    );
    let o = task(other.id());
    assert_eq!(
        (o.heap.freed_bytes, o.heap.free_count),
        (0, 0),
        "not the freeing task's"
    );
}

fn reallocs_move_the_owner_between_table_and_trailer() {
    let t = Tracked::new(
        std::future::ready(()),
        "table/realloc",
        TaskType::MemoryIntensive,
    );
    let path = [96, 100, 128, 1000, 4096, 4090, 8192, 80];
    let mut size = path[0];
    let mut p = alloc_in(&t, size);
    // SAFETY: `p` holds `size` bytes.
    unsafe { std::ptr::write_bytes(p, 0xC3, size) };
    let h = t.scope_handle();
    for &next in &path[1..] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // The move runs outside the task: the old size is freed from the task's books and
        // the new block is untracked.
        // SAFETY: `p` is live with `layout`; the result is checked for null.
        let q = unsafe { GLOBAL.realloc(p, layout, next) };
        assert!(!q.is_null());
        let kept = size.min(next);
        // SAFETY: `q` holds `next` bytes, the first `kept` copied from `p`.
        let payload = unsafe { std::slice::from_raw_parts(q, kept) };
        assert!(
            payload.iter().all(|&b| b == 0xC3),
            "{size} → {next}: payload intact"
        );
        // SAFETY: `q` holds `next` bytes.
        unsafe { std::ptr::write_bytes(q, 0xC3, next) };
        // Give the block back to the task for the next step.
        let layout = Layout::from_size_align(next, 8).unwrap();
        // SAFETY: `q` is live with `layout`; same size, so only the owner changes.
        p = h.run(|| unsafe { GLOBAL.realloc(q, layout, next) });
        assert!(!p.is_null());
        size = next;
    }
    free(p, size);
    let prof = task(t.id());
    // The task allocated the first block and each same-size realloc inside it, and freed
    // each of those (by the moves outside it and the final free).
    let allocated: usize = path.iter().sum();
    assert_eq!(prof.heap.allocated_bytes as usize, allocated);
    assert_eq!(prof.heap.freed_bytes as usize, allocated);
    assert_eq!(prof.live_bytes, 0);
    let s = memscope_runtime::snapshot();
    assert_books_add_up(&s);
}

fn a_failed_realloc_gives_the_owner_back() {
    let t = Tracked::new(
        std::future::ready(()),
        "table/null",
        TaskType::MemoryIntensive,
    );
    let p = alloc_in(&t, 4096);
    let layout = Layout::from_size_align(4096, 8).unwrap();
    // 8192 bytes is a table size too: table → table fails, and so does a fresh one.
    inner().fail_from(8192);
    // SAFETY: `p` is live with `layout`; a null leaves it valid.
    let failed = unsafe { GLOBAL.realloc(p, layout, 8192) };
    // SAFETY: valid layout; a null result is never used.
    let none = unsafe { GLOBAL.alloc(Layout::from_size_align(8192, 8).unwrap()) };
    inner().heal();
    assert!(failed.is_null() && none.is_null());
    // Freed from another thread: still the task's block, so the owner was put back.
    let addr = p as usize;
    std::thread::spawn(move || free(addr as *mut u8, 4096))
        .join()
        .unwrap();
    let prof = task(t.id());
    assert_eq!(
        (
            prof.heap.allocated_bytes,
            prof.heap.freed_bytes,
            prof.live_bytes
        ),
        (4096, 4096, 0)
    );
}

fn counts_match_the_inner_allocator() {
    let s = memscope_runtime::snapshot();
    let c = inner().counts();
    let all = s.all_heap_traffic();
    assert_eq!(
        all.allocation_count, c.allocs,
        "allocations: books vs inner"
    );
    assert_eq!(all.free_count, c.frees, "frees: books vs inner");
    // Blocks with a trailer reach the inner allocator 8 bytes larger, table blocks not.
    let extra_alloc = c.alloc_bytes - all.allocated_bytes;
    let extra_free = c.free_bytes - all.freed_bytes;
    for extra in [extra_alloc, extra_free] {
        assert_eq!(extra % TRAILER_BYTES as u64, 0);
        assert!(extra < TRAILER_BYTES as u64 * all.allocation_count);
    }
    assert_books_add_up(&s);
}
