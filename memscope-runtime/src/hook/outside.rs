//! The buckets of heap traffic outside any task: `untracked` (user code outside tracked
//! tasks) and `tracker` (memscope's own books).
//!
//! Untracked traffic is the common case in many programs, so it is striped: each of the
//! first [`STRIPES`] threads owns a cache-padded stripe that only it writes (a plain load
//! and store, no locked instruction); later threads, and threads whose thread-locals are
//! gone, share one stripe updated with `fetch_add`. Totals are sums over the stripes.
//! Counters wrap like `fetch_add` (2^64 bytes is out of reach); views add them saturating.

use crate::base::counters::HeapCounters;
use crossbeam_utils::CachePadded;
use std::cell::Cell;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

const STRIPES: usize = 64;

pub(crate) struct Stripe {
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

    fn counters(&self) -> HeapCounters {
        // Relaxed: independent counters, each eventually current.
        HeapCounters::new(
            self.alloc_bytes.load(Relaxed),
            self.alloc_count.load(Relaxed),
            self.free_bytes.load(Relaxed),
            self.free_count.load(Relaxed),
        )
    }
}

/// A bucket's stripe, and whether the calling thread is its only writer.
#[derive(Clone, Copy)]
pub(crate) enum Bucket {
    /// The calling thread's own stripe: plain loads and stores.
    Owned(&'static Stripe),
    /// A stripe other threads write too: `fetch_add`.
    Shared(&'static Stripe),
}

impl Bucket {
    #[inline]
    fn add(self, bytes: fn(&Stripe) -> &AtomicU64, count: fn(&Stripe) -> &AtomicU64, size: u64) {
        match self {
            Bucket::Owned(s) => {
                // Relaxed: single writer; readers sum eventually current values.
                let (b, c) = (bytes(s), count(s));
                b.store(b.load(Relaxed).wrapping_add(size), Relaxed);
                c.store(c.load(Relaxed).wrapping_add(1), Relaxed);
            }
            Bucket::Shared(s) => {
                // Relaxed: independent counters, summed by readers.
                bytes(s).fetch_add(size, Relaxed);
                count(s).fetch_add(1, Relaxed);
            }
        }
    }

    /// Counts an allocation of `size` bytes.
    #[inline]
    pub(crate) fn alloc(self, size: u64) {
        self.add(|s| &s.alloc_bytes, |s| &s.alloc_count, size);
    }

    /// Counts a free of `size` bytes allocated in this bucket.
    #[inline]
    pub(crate) fn free(self, size: u64) {
        self.add(|s| &s.free_bytes, |s| &s.free_count, size);
    }
}

static UNTRACKED: [CachePadded<Stripe>; STRIPES] =
    [const { CachePadded::new(Stripe::new()) }; STRIPES];
static UNTRACKED_SHARED: CachePadded<Stripe> = CachePadded::new(Stripe::new());
static NEXT_STRIPE: AtomicU32 = AtomicU32::new(0);
static TRACKER: CachePadded<Stripe> = CachePadded::new(Stripe::new());

/// The untracked bucket for a thread whose stripe ticket is `ticket` (0 until the first
/// call assigns one); `None` (a thread whose thread-locals are gone) gets the shared
/// stripe.
#[inline]
pub(crate) fn untracked(ticket: Option<&Cell<u32>>) -> Bucket {
    let Some(ticket) = ticket else {
        return Bucket::Shared(&UNTRACKED_SHARED);
    };
    let mut idx = ticket.get();
    if idx == 0 {
        // Relaxed: only uniqueness of the ticket matters.
        let next = NEXT_STRIPE.fetch_add(1, Relaxed);
        idx = if (next as usize) < STRIPES {
            next + 1
        } else {
            u32::MAX
        };
        ticket.set(idx);
    }
    match UNTRACKED.get((idx as usize).wrapping_sub(1)) {
        Some(s) => Bucket::Owned(s),
        None => Bucket::Shared(&UNTRACKED_SHARED),
    }
}

/// memscope's own bucket.
#[inline]
pub(crate) fn tracker() -> Bucket {
    Bucket::Shared(&TRACKER)
}

/// All traffic outside any task so far.
pub(crate) fn untracked_counters() -> HeapCounters {
    UNTRACKED
        .iter()
        .map(|s| s.counters())
        .chain([UNTRACKED_SHARED.counters()])
        .sum()
}

/// memscope's own traffic so far.
pub(crate) fn tracker_counters() -> HeapCounters {
    TRACKER.counters()
}
