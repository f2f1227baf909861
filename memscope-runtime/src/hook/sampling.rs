//! Sampling allocations by bytes: each thread counts its allocated bytes down from an
//! interval drawn from the exponential distribution (mean `Config::sample_bytes`), and
//! the allocation that crosses zero is sampled: its stack is walked (`stack`), interned
//! (`stacks`) and kept in a slot (`sample_slots`) with its task, size and the mean in
//! force. By the exponential's memorylessness an allocation of `s` bytes is sampled with
//! probability `1 - exp(-s / mean)` whatever came before, independently of the others, so
//! weighing it by the inverse of that probability is unbiased ([`weight`]).
//!
//! On the hot path this is one subtraction and one branch on a thread-local the hook reads
//! anyway; the free of a sampled block is told apart by a bit of the owner word it already
//! reads ([`SAMPLED`](sample_slots::SAMPLED)).

use crate::base::config::{self, Config};
use crate::hook::record::TaskRecord;
use crate::hook::sample_slots::{self, LIVE};
use crate::hook::stack;
use crate::hook::stacks;
use crate::hook::thread::{self, ThreadState};
use crate::hook::{charge, clock};
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;

/// Bytes a thread allocates between two looks at the settings while sampling is off.
const RECHECK_BYTES: i64 = 1 << 20;

/// Samples taken so far (each in a slot; those dropped for want of one are not counted).
static TAKEN: AtomicU64 = AtomicU64::new(0);
/// Threads that drew their first interval: seeds each one apart from the others.
static THREADS: AtomicU64 = AtomicU64::new(0);

/// Applies `config` to the whole process, from now on; the calling thread's sampling
/// starts over under the new settings at once.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// memscope::configure(memscope::Config::default());
/// ```
pub fn configure(config: Config) {
    config::apply(config);
    thread::with_state(|s| s.sampling.restart());
}

/// How many allocations a sample of `size` bytes taken with `mean` stands for: the
/// inverse of its chance of being sampled, `1 - exp(-size / mean)`; 1 when every
/// allocation is sampled.
pub(crate) fn weight(size: u64, mean: u64) -> f64 {
    if mean <= 1 {
        return 1.0;
    }
    let p = -(-(size as f64) / mean as f64).exp_m1();
    if p > 0.0 {
        1.0 / p
    } else {
        1.0
    }
}

/// Samples taken so far.
pub(crate) fn taken() -> u64 {
    TAKEN.load(Relaxed)
}

/// A thread's countdown, kept in its `ThreadState`.
pub(crate) struct Countdown {
    /// Bytes left before the next sampled allocation (below zero: due).
    left: std::cell::Cell<i64>,
    /// Generation of the settings the countdown was drawn under; `u64::MAX`: never drawn.
    generation: std::cell::Cell<u64>,
    /// xorshift64* state; 0 until seeded.
    rng: std::cell::Cell<u64>,
}

impl Countdown {
    pub(crate) const fn new() -> Self {
        Countdown {
            left: std::cell::Cell::new(0),
            generation: std::cell::Cell::new(u64::MAX),
            rng: std::cell::Cell::new(0),
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

    fn restart(&self) {
        self.generation.set(u64::MAX);
        self.left.set(0);
    }

    /// An interval drawn from the exponential distribution of mean `mean` (0 for 1).
    fn draw(&self, mean: u64) -> i64 {
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

    fn seed(&self, seed: u64) {
        let n = THREADS.fetch_add(1, Relaxed) + 1;
        let base = if seed != 0 {
            seed
        } else {
            clock::now_ns_if_started() ^ (std::ptr::from_ref(self) as u64)
        };
        // splitmix64 of the seed and the thread's number: distinct, never 0.
        let mut z = base ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        self.rng.set((z ^ (z >> 31)) | 1);
    }
}

/// The slow path of a countdown that ran out at an allocation of `size` bytes whose owner
/// word is `owner`: returns the word to store, `owner` itself or a sampled slot's.
#[inline(never)]
#[cold]
pub(crate) fn due(s: &ThreadState, owner: usize, size: u64) -> usize {
    let c = &s.sampling;
    let (mean, seed, generation) = config::sampling();
    if mean == 0 {
        c.generation.set(generation);
        c.left.set(RECHECK_BYTES);
        return owner;
    }
    if c.generation.get() != generation {
        // New settings (or the thread's first look): a fresh interval from here, which
        // this allocation may already cross.
        if c.rng.get() == 0 || c.generation.get() == u64::MAX {
            c.seed(seed);
        }
        c.generation.set(generation);
        let left = c.draw(mean) - size as i64;
        c.left.set(left);
        if left >= 0 {
            return owner;
        }
    }
    c.left.set(c.draw(mean));
    take(s, owner, size, mean)
}

/// Records a sample of the block about to get `owner`; returns its slot's owner word.
fn take(s: &ThreadState, owner: usize, size: u64, mean: u64) -> usize {
    let Some(slot) = sample_slots::take() else {
        return owner;
    };
    let stack = stacks::intern(&stack::capture());
    let (task, name, record) = match s.current_record() {
        Some(rec) if owner != charge::OWNER_UNTRACKED => describe(s, rec),
        _ => (0, [0, 0], std::ptr::null_mut()),
    };
    // Relaxed: published by the `Release` store of the state.
    slot.stack.store(stack, Relaxed);
    slot.owner.store(owner, Relaxed);
    slot.task.store(task, Relaxed);
    slot.name[0].store(name[0], Relaxed);
    slot.name[1].store(name[1], Relaxed);
    slot.record.store(record, Relaxed);
    slot.size.store(size, Relaxed);
    slot.mean.store(mean, Relaxed);
    slot.at_ns.store(clock::now_ns_if_started(), Relaxed);
    slot.state.store(LIVE, Release);
    TAKEN.fetch_add(1, Relaxed);
    sample_slots::tag(slot)
}

/// The task fields of a slot for the running task `rec`: its id with its type in the top
/// byte, its `'static` name packed (tag, address, length), or else a strong count of its
/// record for the books to read the name from.
fn describe(s: &ThreadState, rec: &TaskRecord) -> (u64, [usize; 2], *mut u8) {
    let task = rec.id.as_u64() & ((1 << 56) - 1) | (rec.task_type as u64) << 56;
    let (tag, address, len) = rec.name.address();
    if tag < 2 {
        return (
            task,
            [address, len << 8 | tag as usize],
            std::ptr::null_mut(),
        );
    }
    let current = s.current_ptr();
    // SAFETY: `current` is `Arc::as_ptr` of the running task's record, alive for this call
    // by `enter_raw`'s contract (see `thread::current_record_arc`); one more strong count
    // is made, and the books give it back with `Arc::from_raw`.
    unsafe { Arc::increment_strong_count(current) };
    (task, [0, 2], current.cast_mut().cast())
}
