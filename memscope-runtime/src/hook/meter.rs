//! Meters: the running figures of one task tree — a future under `memscope::measure` or
//! `memscope::with_budget` and every task created inside it — kept exact as its tasks'
//! batches land and as anyone frees its blocks.
//!
//! A task belongs to the meter of the task it was created in (its record's and its cell's
//! `meter`, an index into [`METERS`]); `measure` and `with_budget` give their own task a
//! new meter, a child of the one it was in, so a figure added to a meter is added to
//! each of its ancestors too (meters nest as the futures do). What is added, and when:
//! - a batch (allocations, and the net change of live bytes and blocks), when it lands
//!   in the task's record (`TaskRecord::flush`): once per scope, not per allocation;
//! - a free by a thread not running the block's owner, at once (`charge::free`, through
//!   the owner cell's meter, `cell_chunk::meter_of`);
//! - a poll, when it ends, and a task, when it is created.
//!
//! So an allocation and a free by the running task cost nothing more with a meter than
//! without; nothing here locks or allocates except [`open`], which runs outside the hook.
//!
//! A meter is held by the future that opened it, by each owner cell that names it and by
//! each child meter; when the last lets go ([`release`]) its index is reused. The table
//! grows in chunks of [`CHUNK`] meters that are never freed, so it holds about the most
//! meters alive at once: the measured and budgeted futures running, plus those whose
//! tree's memory outlives them (each until that memory is freed).

use crate::hook::batch::Batch;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};
use std::sync::Mutex;

/// Meters per chunk of the table.
pub(crate) const CHUNK: usize = 1024;
/// Chunks the table can have: 4,194,303 meters alive at once (index 0 means none).
const CHUNKS: usize = 4096;
/// No limit.
pub(crate) const UNLIMITED: u64 = u64::MAX;

/// The chunks of the table, allocated as they are first needed.
static METERS: [AtomicPtr<Meter>; CHUNKS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; CHUNKS];
/// Meters held by someone: while zero, a free need not look for its cell's meter.
static OPEN: AtomicU64 = AtomicU64::new(0);
/// Indices given back, and the next never used (from 1).
static FREE: Mutex<(Vec<u32>, u32)> = Mutex::new((Vec::new(), 1));

/// One task tree's figures and limits (see the module docs).
#[derive(Debug)]
#[repr(align(64))]
pub(crate) struct Meter {
    /// Wrapping, like an owner cell's: a free may land before its allocation's batch.
    live_bytes: AtomicU64,
    live_count: AtomicU64,
    alloc_bytes: AtomicU64,
    alloc_count: AtomicU64,
    peak_bytes: AtomicU64,
    polls: AtomicU64,
    tasks: AtomicU64,
    /// Live bytes above which the tree is over budget; [`UNLIMITED`] for none.
    limit: AtomicU64,
    /// Live bytes from which the soft-limit callback is due; [`UNLIMITED`] for none.
    soft_limit: AtomicU64,
    /// Id of the task whose tree this is (the measured or budgeted future's).
    root: AtomicU64,
    /// Id of the task that first saw the tree over its limit; 0 while it is not.
    tripped_by: AtomicU64,
    /// Whether the soft-limit callback ran since live bytes last were below it.
    soft_fired: AtomicU32,
    /// The enclosing meter; 0 for none.
    parent: AtomicU32,
    refs: AtomicU32,
}

impl Meter {
    const fn new() -> Self {
        Meter {
            live_bytes: AtomicU64::new(0),
            live_count: AtomicU64::new(0),
            alloc_bytes: AtomicU64::new(0),
            alloc_count: AtomicU64::new(0),
            peak_bytes: AtomicU64::new(0),
            polls: AtomicU64::new(0),
            tasks: AtomicU64::new(0),
            limit: AtomicU64::new(UNLIMITED),
            soft_limit: AtomicU64::new(UNLIMITED),
            root: AtomicU64::new(0),
            tripped_by: AtomicU64::new(0),
            soft_fired: AtomicU32::new(0),
            parent: AtomicU32::new(0),
            refs: AtomicU32::new(0),
        }
    }

    /// Live bytes now, clamped at zero (see the dip in `hook::cell`).
    pub(crate) fn live_bytes(&self) -> u64 {
        (self.live_bytes.load(Acquire) as i64).max(0) as u64
    }

    /// Live bytes as a batch's base needs them (a dip below zero is kept, signed).
    #[inline]
    pub(crate) fn live_bytes_signed(&self) -> i64 {
        // Relaxed: see `meter::add_batch`.
        self.live_bytes.load(Relaxed) as i64
    }

    /// Every figure, read consistently as a record is (live first, with `Acquire`, then
    /// the allocations, so freed never exceeds allocated).
    pub(crate) fn read(&self) -> MeterReading {
        let live_count = (self.live_count.load(Acquire) as i64).max(0) as u64;
        let live_bytes = self.live_bytes();
        let alloc_bytes = self.alloc_bytes.load(Relaxed);
        let alloc_count = self.alloc_count.load(Relaxed);
        MeterReading {
            alloc_bytes,
            alloc_count,
            live_bytes: live_bytes.min(alloc_bytes),
            live_count: live_count.min(alloc_count),
            peak_bytes: self.peak_bytes.load(Relaxed).max(live_bytes),
            polls: self.polls.load(Relaxed),
            tasks: self.tasks.load(Relaxed),
        }
    }

    /// Id of the task whose tree this is.
    pub(crate) fn root(&self) -> u64 {
        self.root.load(Relaxed)
    }

    /// The limit, if any.
    pub(crate) fn limit(&self) -> Option<u64> {
        Some(self.limit.load(Relaxed)).filter(|l| *l != UNLIMITED)
    }

    /// The soft limit, if any.
    pub(crate) fn soft_limit(&self) -> Option<u64> {
        Some(self.soft_limit.load(Relaxed)).filter(|l| *l != UNLIMITED)
    }

    /// The task that first saw the tree over its limit, if one did.
    pub(crate) fn tripped_by(&self) -> Option<u64> {
        Some(self.tripped_by.load(Acquire)).filter(|t| *t != 0)
    }

    /// Marks the tree over its limit, first seen by task `task`; true for the first call.
    pub(crate) fn trip(&self, task: u64) -> bool {
        self.tripped_by
            .compare_exchange(0, task.max(1), AcqRel, Acquire)
            .is_ok()
    }

    /// Whether the soft-limit callback is due now (true once per crossing): live bytes
    /// are at or above the soft limit and were below it when it last ran.
    pub(crate) fn soft_due(&self, live: u64) -> bool {
        match self.soft_limit() {
            Some(soft) if live >= soft => self.soft_fired.swap(1, AcqRel) == 0,
            Some(_) => {
                if self.soft_fired.load(Relaxed) != 0 {
                    self.soft_fired.store(0, Relaxed);
                }
                false
            }
            None => false,
        }
    }

    /// Counts the task whose meter this is (its ancestors counted it when it was made).
    pub(crate) fn count_task(&self) {
        self.tasks.fetch_add(1, Relaxed);
    }

    /// The enclosing meter's index (0 for none).
    pub(crate) fn parent(&self) -> u32 {
        self.parent.load(Relaxed)
    }
}

/// A meter's figures at one moment: see [`Meter::read`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MeterReading {
    pub alloc_bytes: u64,
    pub alloc_count: u64,
    pub live_bytes: u64,
    pub live_count: u64,
    pub peak_bytes: u64,
    pub polls: u64,
    pub tasks: u64,
}

/// The meter at `index` (not 0): it must be held, or be named by something held.
#[inline]
pub(crate) fn get(index: u32) -> &'static Meter {
    let index = index as usize;
    // Acquire: pairs with the release that published the chunk in `open`.
    let chunk = METERS[index / CHUNK].load(Acquire);
    debug_assert!(!chunk.is_null());
    // SAFETY: `index` was handed out by `open`, which published its chunk (CHUNK meters,
    // never freed) before returning it; the offset is below CHUNK.
    unsafe { &*chunk.add(index % CHUNK) }
}

/// The meter at `index` and each enclosing one, innermost first, with their indices
/// (none for 0).
#[inline]
pub(crate) fn chain(index: u32) -> impl Iterator<Item = (u32, &'static Meter)> {
    let mut next = index;
    std::iter::from_fn(move || {
        let at = next;
        (at != 0).then(|| {
            let m = get(at);
            next = m.parent();
            (at, m)
        })
    })
}

/// Whether any meter is held (a free then looks for its owner's).
#[inline]
pub(crate) fn any_open() -> bool {
    // Relaxed: a meter is opened before any cell names it, which happens before any block
    // of that cell exists, so a thread freeing such a block sees the count above zero.
    OPEN.load(Relaxed) != 0
}

/// A new meter inside `parent` (0 for none), held once by the caller. The caller is in a
/// tracker-internal section: a new chunk of the table is the tracker's memory.
pub(crate) fn open(root: u64, parent: u32, limit: Option<u64>, soft_limit: Option<u64>) -> u32 {
    let index = {
        let mut free = crate::base::lock::lock(&FREE);
        match free.0.pop() {
            Some(index) => index,
            None => {
                let index = free.1;
                assert!(
                    (index as usize) < CHUNKS * CHUNK,
                    "more than 4,194,303 meters at once"
                );
                if METERS[index as usize / CHUNK].load(Relaxed).is_null() {
                    let chunk: Box<[Meter]> = (0..CHUNK).map(|_| Meter::new()).collect();
                    let chunk = Box::leak(chunk).as_mut_ptr();
                    // Release: see `get`. Under the lock, so only one chunk is made.
                    METERS[index as usize / CHUNK].store(chunk, Release);
                }
                free.1 += 1;
                index
            }
        }
    };
    OPEN.fetch_add(1, Relaxed);
    if parent != 0 {
        retain(parent);
    }
    let m = get(index);
    for counter in [&m.live_bytes, &m.live_count, &m.alloc_bytes, &m.alloc_count] {
        counter.store(0, Relaxed);
    }
    for counter in [&m.peak_bytes, &m.polls, &m.tasks, &m.tripped_by] {
        counter.store(0, Relaxed);
    }
    m.root.store(root, Relaxed);
    m.limit.store(limit.unwrap_or(UNLIMITED), Relaxed);
    m.soft_limit.store(soft_limit.unwrap_or(UNLIMITED), Relaxed);
    m.soft_fired.store(0, Relaxed);
    m.parent.store(parent, Relaxed);
    // Release: whoever gets the index from a record or a cell sees the fields above.
    m.refs.store(1, Release);
    index
}

/// One more holder of the meter at `index` (not 0), which someone already holds.
pub(crate) fn retain(index: u32) {
    get(index).refs.fetch_add(1, Relaxed);
}

/// Puts the meter at `index`, whose tree has not run yet, inside the meter at `parent`
/// instead of the one it was in (its task is first polled in `parent`'s tree, which that
/// one encloses). The caller counts the task in the meters it is new to, and is in a
/// tracker-internal section.
pub(crate) fn replace_parent(index: u32, parent: u32) {
    let m = get(index);
    if parent != 0 {
        retain(parent);
    }
    let old = m.parent.swap(parent, Relaxed);
    release(old);
}

/// Whether the meter at `outer` is the one at `inner` or encloses it; 0 (no meter)
/// encloses every meter.
pub(crate) fn encloses(outer: u32, inner: u32) -> bool {
    outer == 0 || chain(inner).any(|(at, _)| at == outer)
}

/// Counts a task in the meter at `from` and in each enclosing one up to, not including,
/// the one at `until` (which, with those around it, counted it already).
pub(crate) fn add_task_until(from: u32, until: u32) {
    for (_, m) in chain(from).take_while(|(at, _)| *at != until) {
        m.count_task();
    }
}

/// A holder lets go of the meter at `index` (0: nothing); the last one gives the index
/// back, and lets go of the enclosing meter.
/// The caller is in a tracker-internal section (the list of free indices may grow).
pub(crate) fn release(mut index: u32) {
    while index != 0 {
        let m = get(index);
        // AcqRel: the last holder sees every other holder's writes before reuse.
        if m.refs.fetch_sub(1, AcqRel) != 1 {
            return;
        }
        let parent = m.parent();
        OPEN.fetch_sub(1, Relaxed);
        crate::base::lock::lock(&FREE).0.push(index);
        index = parent;
    }
}

/// Adds a batch that landed in a record of the meter's tree (see `TaskRecord::flush`).
/// The peak candidate is the batch's highest rise on top of the tree's live bytes when
/// the batch started or, if more, when it lands: exact for a tree whose tasks run one at
/// a time (each scope change flushes) and nobody else frees its memory meanwhile, high by
/// what other threads freed of it during the batch otherwise; with tasks of the tree
/// running at once on several threads, low by what the others held at the moment of the
/// rise beyond what they held at either end (the meter sees batches, not allocations).
/// Only the innermost meter has the batch's base; enclosing ones take their live bytes
/// as the batch lands.
#[inline]
pub(crate) fn add_batch(index: u32, b: &Batch) {
    let net_bytes = b.alloc_bytes.wrapping_sub(b.free_bytes);
    let net_count = b.alloc_count.wrapping_sub(b.free_count);
    let mut base = Some(b.meter_base);
    for (_, m) in chain(index) {
        m.alloc_bytes.fetch_add(b.alloc_bytes, Relaxed);
        m.alloc_count.fetch_add(b.alloc_count, Relaxed);
        // Release: see `Meter::read`.
        let before = m.live_bytes.fetch_add(net_bytes, Release) as i64;
        m.live_count.fetch_add(net_count, Release);
        let start = base.take().map_or(before, |b| b.max(before));
        let candidate = (start as i128 + b.max_delta as i128).max(0) as u64;
        if candidate > m.peak_bytes.load(Relaxed) {
            m.peak_bytes.fetch_max(candidate, Relaxed);
        }
    }
}

/// A block of the meter's tree, `size` bytes, freed by a thread not running its owner.
#[inline]
pub(crate) fn charge_foreign_free(index: u32, size: u64) {
    for (_, m) in chain(index) {
        m.live_bytes.fetch_sub(size, Release);
        m.live_count.fetch_sub(1, Release);
    }
}

/// A poll of a task of the meter's tree ended.
#[inline]
pub(crate) fn add_poll(index: u32) {
    for (_, m) in chain(index) {
        m.polls.fetch_add(1, Relaxed);
    }
}

/// A task was created in the meter's tree.
pub(crate) fn add_task(index: u32) {
    add_task_until(index, 0);
}

/// The first meter from `index` outwards that is over its limit, or was: `(its index,
/// its meter, whether this call tripped it)`. A meter found over its limit is tripped by
/// `task` if none tripped it yet.
pub(crate) fn over_limit(index: u32, task: u64) -> Option<(u32, &'static Meter, bool)> {
    chain(index).find_map(|(at, m)| {
        if m.tripped_by().is_some() {
            return Some((at, m, false));
        }
        let over = m.limit().is_some_and(|limit| m.live_bytes() > limit);
        over.then(|| (at, m, m.trip(task)))
    })
}

/// The innermost meter from `index` outwards that has a limit.
pub(crate) fn limited(index: u32) -> Option<&'static Meter> {
    chain(index).map(|(_, m)| m).find(|m| m.limit().is_some())
}

#[cfg(test)]
#[path = "meter_tests.rs"]
mod tests;
