//! Counters for heap traffic outside any task: the `untracked` bucket (user code outside
//! tracked tasks) and the `tracker` bucket (memscope's own books).
//!
//! Untracked traffic is the common case in many programs, so it is striped: each of the
//! first [`STRIPES`] threads owns a cache-padded stripe that only it writes (a plain load
//! and store, no locked instruction); later threads, and threads whose thread-locals are
//! gone, share one stripe updated with `fetch_add`. Totals are sums over the stripes.

use crate::context::ThreadState;
use crossbeam_utils::CachePadded;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

const STRIPES: usize = 64;

/// Cumulative heap traffic of one bucket.
///
/// ```
/// let t = memscope_runtime::HeapTotals { allocated_bytes: 10, allocation_count: 1, freed_bytes: 4, free_count: 1 };
/// assert_eq!(t.live_bytes(), 6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapTotals {
    /// Bytes allocated, cumulative (requested sizes; a realloc counts its new size).
    pub allocated_bytes: u64,
    /// Allocations made, cumulative (a realloc counts one).
    pub allocation_count: u64,
    /// Bytes freed, cumulative (a realloc counts its old size).
    pub freed_bytes: u64,
    /// Frees made, cumulative (a realloc counts one).
    pub free_count: u64,
}

impl HeapTotals {
    /// Allocated minus freed, never below zero.
    pub fn live_bytes(&self) -> u64 {
        self.allocated_bytes.saturating_sub(self.freed_bytes)
    }

    /// Adds another bucket's figures to these.
    pub fn add(&mut self, other: &HeapTotals) {
        self.allocated_bytes = self.allocated_bytes.wrapping_add(other.allocated_bytes);
        self.allocation_count = self.allocation_count.wrapping_add(other.allocation_count);
        self.freed_bytes = self.freed_bytes.wrapping_add(other.freed_bytes);
        self.free_count = self.free_count.wrapping_add(other.free_count);
    }
}

#[derive(Default)]
struct Stripe {
    alloc_bytes: AtomicU64,
    alloc_count: AtomicU64,
    free_bytes: AtomicU64,
    free_count: AtomicU64,
}

impl Stripe {
    const fn new() -> Self {
        Stripe {
            alloc_bytes: AtomicU64::new(0),
            alloc_count: AtomicU64::new(0),
            free_bytes: AtomicU64::new(0),
            free_count: AtomicU64::new(0),
        }
    }

    /// Single-writer update: only the owning thread writes this stripe.
    #[inline]
    fn add_owned(&self, bytes: &AtomicU64, count: &AtomicU64, size: u64) {
        // Relaxed: single writer; readers sum eventually current values.
        bytes.store(bytes.load(Relaxed).wrapping_add(size), Relaxed);
        count.store(count.load(Relaxed).wrapping_add(1), Relaxed);
    }

    #[inline]
    fn add_shared(bytes: &AtomicU64, count: &AtomicU64, size: u64) {
        // Relaxed: independent counters, summed by readers.
        bytes.fetch_add(size, Relaxed);
        count.fetch_add(1, Relaxed);
    }

    fn totals(&self) -> HeapTotals {
        HeapTotals {
            allocated_bytes: self.alloc_bytes.load(Relaxed),
            allocation_count: self.alloc_count.load(Relaxed),
            freed_bytes: self.free_bytes.load(Relaxed),
            free_count: self.free_count.load(Relaxed),
        }
    }
}

static UNTRACKED: [CachePadded<Stripe>; STRIPES] =
    [const { CachePadded::new(Stripe::new()) }; STRIPES];
static UNTRACKED_SHARED: CachePadded<Stripe> = CachePadded::new(Stripe::new());
static NEXT_STRIPE: AtomicU32 = AtomicU32::new(0);
static TRACKER: CachePadded<Stripe> = CachePadded::new(Stripe::new());

/// This thread's own stripe, assigning one on first use; `None` once they are all taken.
#[inline]
fn own_stripe(state: &ThreadState) -> Option<&'static Stripe> {
    let mut idx = state.stripe.get();
    if idx == 0 {
        // Relaxed: only uniqueness of the ticket matters.
        let ticket = NEXT_STRIPE.fetch_add(1, Relaxed);
        idx = if (ticket as usize) < STRIPES {
            ticket + 1
        } else {
            u32::MAX
        };
        state.stripe.set(idx);
    }
    UNTRACKED.get((idx as usize).wrapping_sub(1)).map(|s| &**s)
}

/// Counts an allocation outside any task.
#[inline]
pub(crate) fn untracked_alloc(state: Option<&ThreadState>, size: u64) {
    match state.and_then(own_stripe) {
        Some(s) => s.add_owned(&s.alloc_bytes, &s.alloc_count, size),
        None => Stripe::add_shared(
            &UNTRACKED_SHARED.alloc_bytes,
            &UNTRACKED_SHARED.alloc_count,
            size,
        ),
    }
}

/// Counts a free of memory allocated outside any task.
#[inline]
pub(crate) fn untracked_free(state: Option<&ThreadState>, size: u64) {
    match state.and_then(own_stripe) {
        Some(s) => s.add_owned(&s.free_bytes, &s.free_count, size),
        None => Stripe::add_shared(
            &UNTRACKED_SHARED.free_bytes,
            &UNTRACKED_SHARED.free_count,
            size,
        ),
    }
}

/// Counts an allocation made by memscope itself.
pub(crate) fn tracker_alloc(size: u64) {
    Stripe::add_shared(&TRACKER.alloc_bytes, &TRACKER.alloc_count, size);
}

/// Counts a free of memory allocated by memscope itself.
pub(crate) fn tracker_free(size: u64) {
    Stripe::add_shared(&TRACKER.free_bytes, &TRACKER.free_count, size);
}

/// All traffic outside any task so far.
pub(crate) fn untracked_totals() -> HeapTotals {
    let mut t = UNTRACKED_SHARED.totals();
    for s in &UNTRACKED {
        t.add(&s.totals());
    }
    t
}

/// memscope's own traffic so far.
pub(crate) fn tracker_totals() -> HeapTotals {
    TRACKER.totals()
}
