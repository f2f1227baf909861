//! A thread's sampling countdown: bytes left before its next sampled allocation, drawn
//! from the exponential distribution (see `sampling`, which decides what a crossing does).

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Bytes a thread allocates between two looks at the settings while sampling is off.
pub(crate) const RECHECK_BYTES: i64 = 1 << 20;

/// Threads that drew their first interval: seeds each one apart from the others.
static THREADS: AtomicU64 = AtomicU64::new(0);

/// A thread's countdown, kept in its `ThreadState`.
pub(crate) struct Countdown {
    /// Bytes left before the next sampled allocation (below zero: due).
    pub(crate) left: Cell<i64>,
    /// Generation of the settings the countdown was drawn under; `u64::MAX`: never drawn.
    pub(crate) generation: Cell<u64>,
    /// xorshift64* state; 0 until seeded.
    pub(crate) rng: Cell<u64>,
}

impl Countdown {
    pub(crate) const fn new() -> Self {
        Countdown {
            left: Cell::new(0),
            generation: Cell::new(u64::MAX),
            rng: Cell::new(0),
        }
    }

    /// Counts `size` bytes; true when the allocation may be due a sample (the slow path
    /// decides).
    #[inline(always)]
    pub(crate) fn count(&self, size: u64) -> bool {
        let left = self.left.get() - size as i64;
        self.left.set(left);
        left < 0
    }

    pub(crate) fn restart(&self) {
        self.generation.set(u64::MAX);
        self.left.set(0);
    }

    /// An interval drawn from the exponential distribution of mean `mean` (0 for 1).
    pub(crate) fn draw(&self, mean: u64) -> i64 {
        if mean <= 1 {
            return 0;
        }
        let mut x = self.rng.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.set(x);
        // Uniform in (0, 1].
        let u = ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
        (-u.ln() * mean as f64).min(i64::MAX as f64 / 2.0) as i64
    }

    pub(crate) fn seed(&self, seed: u64) {
        let n = THREADS.fetch_add(1, Relaxed) + 1;
        let base = if seed != 0 {
            seed
        } else {
            // The thread-local's address: apart per thread, and per run (address space
            // layout randomisation); no clock, which would import the thread state back.
            std::ptr::from_ref(self) as u64
        };
        // splitmix64 of the seed and the thread's number: distinct, never 0.
        let mut z = base ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.rng.set((z ^ (z >> 31)) | 1);
    }
}
