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
use crate::hook::clock;
use crate::hook::countdown::RECHECK_BYTES;
use crate::hook::record::TaskRecord;
use crate::hook::sample_slots::{self, LIVE};
use crate::hook::stack;
use crate::hook::stacks;
use crate::hook::thread::{self, ThreadState};
use std::sync::atomic::{AtomicU64, Ordering::*};
use std::sync::Arc;

/// Samples taken so far (each in a slot; those dropped for want of one are not counted).
static TAKEN: AtomicU64 = AtomicU64::new(0);

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
        Some(rec) if !s.current_cell().is_null() => describe(s, rec),
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
    let task = sample_slots::pack_task(rec.id, rec.task_type);
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
