//! Helpers of the runtime's integration tests, which install their own global allocator
//! (what `block_on`, `yield_once`, `task`, runtimes, `assert_books_add_up` and
//! `warm_up_tokio` they share with the facade's tests is in `memscope-test-support`).
//!
//! Each binary but `layers` declares
//! `#[global_allocator] static GLOBAL: TrackingAllocator<FailingAlloc> = …` and so sees,
//! beside memscope's books, an independent count of what reached the inner allocator:
//! at a quiet moment (no tracked scope open, no other thread running) the books'
//! `all_heap_traffic()` must equal that count exactly, bytes less one trailer per block.
//! They keep every owner in a trailer ([`TRAILER`]) so that this holds byte for byte;
//! `owner_table.rs` covers the out-of-band placement.
#![allow(dead_code)]

use memscope_runtime::{
    configure, snapshot, Config, MemorySnapshot, OwnerPlacement, TRAILER_BYTES,
};
use memscope_test_support::assert_books_add_up;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// The owner placement of the binaries that compare bytes with the inner allocator.
pub const TRAILER: OwnerPlacement = OwnerPlacement::Trailer;

/// The system allocator, counting every block it hands out and takes back, and failing
/// on demand: while [`FailingAlloc::fail_from`] is set, any request of at least that many
/// bytes (the trailer included) returns null.
pub struct FailingAlloc {
    fail_from: AtomicUsize,
    failing: AtomicBool,
    allocs: AtomicU64,
    alloc_bytes: AtomicU64,
    frees: AtomicU64,
    free_bytes: AtomicU64,
    nulls: AtomicU64,
}

/// What reached the inner allocator so far (its own sizes: requested + trailer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct InnerCounts {
    pub allocs: u64,
    pub alloc_bytes: u64,
    pub frees: u64,
    pub free_bytes: u64,
    pub nulls: u64,
}

impl FailingAlloc {
    pub const fn new() -> Self {
        FailingAlloc {
            fail_from: AtomicUsize::new(usize::MAX),
            failing: AtomicBool::new(false),
            allocs: AtomicU64::new(0),
            alloc_bytes: AtomicU64::new(0),
            frees: AtomicU64::new(0),
            free_bytes: AtomicU64::new(0),
            nulls: AtomicU64::new(0),
        }
    }

    /// From now on, requests of `bytes` or more (as the inner allocator sees them) fail.
    pub fn fail_from(&self, bytes: usize) {
        // Relaxed: the test thread that sets the flag is the one that allocates next.
        self.fail_from.store(bytes, Relaxed);
        self.failing.store(true, Relaxed);
    }

    /// Stops failing.
    pub fn heal(&self) {
        self.failing.store(false, Relaxed);
        self.fail_from.store(usize::MAX, Relaxed);
    }

    pub fn counts(&self) -> InnerCounts {
        InnerCounts {
            allocs: self.allocs.load(Relaxed),
            alloc_bytes: self.alloc_bytes.load(Relaxed),
            frees: self.frees.load(Relaxed),
            free_bytes: self.free_bytes.load(Relaxed),
            nulls: self.nulls.load(Relaxed),
        }
    }

    fn fails(&self, size: usize) -> bool {
        if self.failing.load(Relaxed) && size >= self.fail_from.load(Relaxed) {
            self.nulls.fetch_add(1, Relaxed);
            true
        } else {
            false
        }
    }

    fn counted_alloc(&self, p: *mut u8, size: usize) -> *mut u8 {
        if !p.is_null() {
            self.allocs.fetch_add(1, Relaxed);
            self.alloc_bytes.fetch_add(size as u64, Relaxed);
        }
        p
    }

    fn counted_free(&self, size: usize) {
        self.frees.fetch_add(1, Relaxed);
        self.free_bytes.fetch_add(size as u64, Relaxed);
    }
}

impl Default for FailingAlloc {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards to `System` with the caller's arguments, or returns null
// (which `GlobalAlloc` allows) without touching memory; the counters are plain atomics.
unsafe impl GlobalAlloc for FailingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if self.fails(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged from our caller.
        self.counted_alloc(unsafe { System.alloc(layout) }, layout.size())
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if self.fails(layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged from our caller.
        self.counted_alloc(unsafe { System.alloc_zeroed(layout) }, layout.size())
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.counted_free(layout.size());
        // SAFETY: forwarded unchanged from our caller.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if self.fails(new_size) {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged from our caller.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // The books count a realloc as one free of the old size and one allocation
            // of the new size; count it the same way here.
            self.counted_free(layout.size());
            self.counted_alloc(p, new_size);
        }
        p
    }
}

/// Turns call-site sampling off and lets memscope's collector thread (started by the
/// first snapshot) through its start-up and a pass over what was sampled: from then on
/// it finds nothing new and allocates nothing, so only the test allocates.
pub fn quiet_background() {
    static QUIET: std::sync::Once = std::sync::Once::new();
    configure(Config::current().with_sample_bytes(0));
    drop(snapshot());
    QUIET.call_once(|| std::thread::sleep(std::time::Duration::from_millis(300)));
}

/// Takes a snapshot and reads the inner allocator's counts with nothing allocated in
/// between (the snapshot reads its buckets after its own last allocation), then checks
/// the books against those counts. Call it only when no other thread allocates and no
/// tracked scope is open, so that every batch has been flushed.
pub fn assert_books_match_inner(inner: &FailingAlloc) -> MemorySnapshot {
    quiet_background();
    let s = snapshot();
    let c = inner.counts();
    let all = s.all_heap_traffic();
    let trailer = TRAILER_BYTES as u64;
    assert_eq!(
        all.allocation_count, c.allocs,
        "allocations: books vs inner"
    );
    assert_eq!(all.free_count, c.frees, "frees: books vs inner");
    assert_eq!(
        all.allocated_bytes + trailer * all.allocation_count,
        c.alloc_bytes,
        "allocated bytes (+ one trailer each): books vs inner"
    );
    assert_eq!(
        all.freed_bytes + trailer * all.free_count,
        c.free_bytes,
        "freed bytes (+ one trailer each): books vs inner"
    );
    assert_books_add_up(&s);
    s
}

/// Bytes as seen by the inner allocator for a block of `size` requested bytes.
pub const fn outer(size: usize) -> usize {
    size + TRAILER_BYTES
}
