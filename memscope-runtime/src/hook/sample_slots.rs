//! The records of sampled blocks: a fixed pool of [`SLOTS`] slots in static memory. The
//! allocator hook takes a slot for each sampled allocation (from a lock-free free list,
//! else a never-used slot) and marks it freed when the block is freed; the books count
//! each slot's allocation once and give freed slots back (`books::sites`). A sampled
//! block's owner word is its slot's address with [`SAMPLED`] set, so the free path knows
//! a sampled block from the owner word it already reads.
//!
//! Static memory: `SLOTS × 128 B` = 4 MiB at most, touched only as far as it is used.
//! When every slot is taken, a sample is dropped (counted in [`dropped`]), which makes the
//! estimates low by that share: at the default mean of 512 KiB the pool holds the samples
//! of 16 GiB of live heap.

use crate::base::task::{TaskId, TaskType};
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

/// The [`Slot::task`] word of a task: its id, with its type in the top byte.
pub(crate) fn pack_task(id: TaskId, task_type: TaskType) -> u64 {
    id.as_u64() & TASK_ID_BITS | (task_type as u64) << 56
}

/// The task and type a [`Slot::task`] word names; `None` for 0 (outside tasks).
pub(crate) fn unpack_task(word: u64) -> Option<(TaskId, TaskType)> {
    (word != 0).then(|| {
        let task_type = TaskType::from_u8((word >> 56) as u8).unwrap_or_default();
        (TaskId::from_u64(word & TASK_ID_BITS), task_type)
    })
}

/// The bits of a [`Slot::task`] word that hold the id.
const TASK_ID_BITS: u64 = (1 << 56) - 1;

/// Slots in the pool.
pub(crate) const SLOTS: usize = 32 * 1024;
/// The bit of an owner word that says "sampled: the rest is a slot's address". Cells are
/// 32-byte aligned and slots 128-byte aligned, and the special words are 0 and 1, so no
/// other owner word has it.
pub(crate) const SAMPLED: usize = 4;

/// [`Slot::state`] bits.
pub(crate) const LIVE: u32 = 1;
/// The block was freed (set by the hook).
pub(crate) const FREED: u32 = 2;
/// The books counted the allocation (set by the books).
pub(crate) const COUNTED: u32 = 4;

/// One sampled block.
#[repr(C, align(128))]
pub(crate) struct Slot {
    /// 0: free; else [`LIVE`], with [`FREED`] and [`COUNTED`] as they happen.
    pub state: AtomicU32,
    /// The interned stack (`hook::stacks`).
    pub stack: AtomicU32,
    /// Next free slot + 1 (0: none), while on the free list.
    next: AtomicU32,
    /// Which group the books put the sample in, once counted.
    pub group: AtomicU32,
    /// The block's real owner word (a cell's address, or untracked).
    pub owner: AtomicUsize,
    /// Set for a task whose name is not `'static`: a strong count of its record, which the
    /// books take over (and drop) when they count the sample.
    pub record: AtomicPtr<u8>,
    /// `(tag, address, length)` of a `'static` name, packed by `sampling`.
    pub name: [AtomicUsize; 2],
    /// The allocating task's id and type ([`pack_task`]; 0 outside tasks).
    pub task: AtomicU64,
    /// The caller's size in bytes.
    pub size: AtomicU64,
    /// The sampling mean in force when it was taken, in bytes (1: every allocation).
    pub mean: AtomicU64,
    /// When it was taken, in nanoseconds since the tracker's epoch (0 if its clock had
    /// not started).
    pub at_ns: AtomicU64,
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Slot = Slot {
    state: AtomicU32::new(0),
    stack: AtomicU32::new(0),
    next: AtomicU32::new(0),
    group: AtomicU32::new(0),
    owner: AtomicUsize::new(0),
    record: AtomicPtr::new(std::ptr::null_mut()),
    name: [const { AtomicUsize::new(0) }; 2],
    task: AtomicU64::new(0),
    size: AtomicU64::new(0),
    mean: AtomicU64::new(0),
    at_ns: AtomicU64::new(0),
};

static POOL: [Slot; SLOTS] = [EMPTY; SLOTS];
/// Slots handed out at least once: `POOL[..USED]`.
static USED: AtomicUsize = AtomicUsize::new(0);
/// Head of the free list: `(generation << 32) | (index + 1)`, 0 in the low half for empty.
static FREE_HEAD: AtomicU64 = AtomicU64::new(0);
/// Samples dropped because every slot was taken.
static DROPPED: AtomicU64 = AtomicU64::new(0);

/// A slot for a new sample, or `None` (counted in [`dropped`]) when every slot is taken.
#[inline]
pub(crate) fn take() -> Option<&'static Slot> {
    // Acquire: the slot's `next`, written before it was pushed, is seen.
    let mut head = FREE_HEAD.load(Acquire);
    loop {
        let index = (head & 0xffff_ffff) as usize;
        if index == 0 {
            break;
        }
        let next = POOL[index - 1].next.load(Relaxed) as u64;
        // The generation in the high half makes a head that was popped and pushed back
        // in between differ (no ABA).
        let new = ((head >> 32).wrapping_add(1) << 32) | next;
        match FREE_HEAD.compare_exchange_weak(head, new, Acquire, Acquire) {
            Ok(_) => return Some(&POOL[index - 1]),
            Err(h) => head = h,
        }
    }
    let index = USED.fetch_add(1, Relaxed);
    if index < SLOTS {
        return Some(&POOL[index]);
    }
    USED.fetch_sub(1, Relaxed);
    DROPPED.fetch_add(1, Relaxed);
    None
}

/// Gives a slot back to the pool (the books, once they counted its freed block).
pub(crate) fn give_back(slot: &'static Slot) {
    slot.state.store(0, Relaxed);
    let index = index_of(slot) as u64 + 1;
    let mut head = FREE_HEAD.load(Relaxed);
    loop {
        slot.next.store((head & 0xffff_ffff) as u32, Relaxed);
        let new = ((head >> 32).wrapping_add(1) << 32) | index;
        // Release: the `next` and the cleared state are seen by whoever takes the slot.
        match FREE_HEAD.compare_exchange_weak(head, new, Release, Relaxed) {
            Ok(_) => return,
            Err(h) => head = h,
        }
    }
}

/// Every slot handed out so far (free or in use): what the books scan.
pub(crate) fn used() -> &'static [Slot] {
    &POOL[..USED.load(Acquire).min(SLOTS)]
}

/// The slot whose tagged owner word is `word`.
///
/// # Safety
/// `word` must be an owner word with [`SAMPLED`] set, made by [`tag`].
#[inline]
pub(crate) unsafe fn from_word(word: usize) -> &'static Slot {
    // SAFETY: `tag` made `word` from the address of a slot of `POOL`, a static.
    unsafe { &*((word & !SAMPLED) as *const Slot) }
}

/// The owner word that names `slot`.
#[inline]
pub(crate) fn tag(slot: &'static Slot) -> usize {
    std::ptr::from_ref(slot) as usize | SAMPLED
}

/// The slot's index in the pool.
pub(crate) fn index_of(slot: &Slot) -> usize {
    (std::ptr::from_ref(slot) as usize - POOL.as_ptr() as usize) / size_of::<Slot>()
}

/// Samples dropped so far because every slot was taken.
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_go_round_the_free_list() {
        let a = take().unwrap();
        let b = take().unwrap();
        assert_ne!(index_of(a), index_of(b));
        assert_eq!(tag(a) & SAMPLED, SAMPLED);
        // SAFETY: `tag` made the word.
        assert!(std::ptr::eq(unsafe { from_word(tag(a)) }, a));
        give_back(a);
        give_back(b);
        // Other tests' allocations may take them meanwhile: only the pool's bounds hold.
        let c = take().unwrap();
        assert!(index_of(c) < SLOTS);
        give_back(c);
    }
}
