//! The owner cell: what every block a task allocated points at, 32 bytes.
//!
//! A block's owner word is the address of its task's cell, not of the task's record, so
//! that a finished task whose memory outlives it keeps only its cell: the record (its
//! name, times, polls, its place in the per-task list) is folded into its group and
//! dropped, while the cell keeps counting the task's live bytes exactly as anyone frees
//! them. The cell also links to its parent task's cell, so memory a folded task still
//! holds rolls up to its ancestors (a connection's inclusive figures include what its
//! folded inner calls left behind).
//!
//! Who writes what:
//! - `live_bytes` / `live_count`: the task's batches add (allocations minus own frees)
//!   when they are flushed; a free by another thread subtracts at once. Both wrap: a free
//!   handed to another thread before its allocation's batch landed makes them dip below
//!   zero for that instant (readers clamp).
//! - `parent` and `state`: set under the lock of the shard that holds the cell.
//! - `children`: detached cells whose `parent` is this one; counted up when a child's
//!   cell is detached (its task folded while its memory outlives it) and down when that
//!   cell is released, by any shard, so atomically. A child whose record is still held
//!   needs no count: its record holds its parent's record (`Arc`), which holds this cell,
//!   until the child is folded; most cells end free, never detached, and their tasks pay
//!   no locked instruction on the parent's cell.
//!
//! A cell is released (back to its shard's free list) only when no record holds it, no
//! block points at it (`live_count` is zero) and no detached child cell links to it. A
//! free that empties a detached cell counts it in its shard's [`emptied`] counter, so the
//! shard sweeps (reuses such cells) before it allocates new ones.

use crossbeam_utils::CachePadded;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering::*};

/// Shards of the books (each with its own cells); a detached cell's state names its shard.
pub(crate) const SHARDS: usize = 8;
/// [`OwnerCell::state`] of a cell on its shard's free list.
pub(crate) const FREE: u32 = u32::MAX;
/// [`OwnerCell::state`] of a cell whose task's record is still held.
pub(crate) const ATTACHED: u32 = u32::MAX - 1;
/// A detached cell's state is `shard << SHARD_SHIFT | group`.
const SHARD_SHIFT: u32 = 28;
/// Groups a shard can name in a detached cell's state.
pub(crate) const MAX_GROUP_INDEX: u32 = (1 << SHARD_SHIFT) - 1;

/// Per shard: detached cells emptied by a free so far (a hint for when to sweep: a
/// cell emptied while being detached may be missed, and is then found by the next sweep).
static EMPTIED: [CachePadded<AtomicU64>; SHARDS] =
    [const { CachePadded::new(AtomicU64::new(0)) }; SHARDS];

/// Detached cells of `shard` emptied by frees so far.
pub(crate) fn emptied(shard: usize) -> u64 {
    // Relaxed: a hint; the sweep reads each cell's count itself.
    EMPTIED[shard % SHARDS].load(Relaxed)
}

/// One task's live memory, as its blocks see it (see the module docs).
#[derive(Debug)]
#[repr(C, align(32))]
pub(crate) struct OwnerCell {
    live_bytes: AtomicU64,
    live_count: AtomicU64,
    /// The cell of the task that was running where this task was created; null for none.
    /// For a free cell, the next free cell.
    parent: AtomicPtr<OwnerCell>,
    /// [`FREE`], [`ATTACHED`], or (folded task) the index of its group in its shard.
    state: AtomicU32,
    children: AtomicU32,
}

impl OwnerCell {
    pub(crate) const fn new() -> Self {
        OwnerCell {
            live_bytes: AtomicU64::new(0),
            live_count: AtomicU64::new(0),
            parent: AtomicPtr::new(ptr::null_mut()),
            state: AtomicU32::new(FREE),
            children: AtomicU32::new(0),
        }
    }

    /// Adds a batch's net change (allocations minus its own frees). `Release`: a reader
    /// that sees it (`Acquire`, [`OwnerCell::live`]) sees the allocation counts the record
    /// took before (see `TaskRecord::flush`).
    #[inline]
    pub(crate) fn add_net(&self, bytes: i64, count: i64) {
        self.live_bytes.fetch_add(bytes as u64, Release);
        self.live_count.fetch_add(count as u64, Release);
    }

    /// Charges a free made by a thread that is not running this task. The count is
    /// written last, with `Release`: once a shard sees it at zero (`Acquire`) after the
    /// task's record is gone, no thread changes the cell's figures again, which is what
    /// allows it to be reused (the free that emptied it may still read its state, below:
    /// cells are never freed, so that read is of valid memory whatever it finds).
    #[inline]
    pub(crate) fn charge_foreign_free(&self, size: u64) {
        self.live_bytes.fetch_sub(size, Release);
        if self.live_count.fetch_sub(1, Release) == 1 {
            self.note_emptied();
        }
    }

    /// A free took the count to zero: if the cell is detached, tell its shard.
    #[cold]
    fn note_emptied(&self) {
        let state = self.state.load(Relaxed);
        if state < ATTACHED {
            EMPTIED[(state >> SHARD_SHIFT) as usize % SHARDS].fetch_add(1, Relaxed);
        }
    }

    /// Live bytes and blocks, each clamped at zero (see the module docs for the dip).
    #[inline]
    pub(crate) fn live(&self) -> (u64, u64) {
        let count = self.live_count.load(Acquire) as i64;
        let bytes = self.live_bytes.load(Acquire) as i64;
        (bytes.max(0) as u64, count.max(0) as u64)
    }

    /// Live bytes as the batch base needs them (may be a dip below zero, as a signed value).
    #[inline]
    pub(crate) fn live_bytes_signed(&self) -> i64 {
        // Relaxed: a lower bound of what this thread has not charged itself is enough.
        self.live_bytes.load(Relaxed) as i64
    }

    /// Whether any block still points at this cell.
    pub(crate) fn owns_memory(&self) -> bool {
        self.live_count.load(Acquire) != 0
    }

    pub(crate) fn parent(&self) -> *const OwnerCell {
        self.parent.load(Relaxed)
    }

    pub(crate) fn state(&self) -> u32 {
        self.state.load(Relaxed)
    }

    /// Whether the cell stands for a folded task (neither free nor attached).
    pub(crate) fn is_detached(&self) -> bool {
        self.state() < ATTACHED
    }

    /// The group of a detached cell in its shard's list of folded groups.
    pub(crate) fn group(&self) -> usize {
        (self.state() & MAX_GROUP_INDEX) as usize
    }

    pub(crate) fn has_children(&self) -> bool {
        self.children.load(Acquire) != 0
    }

    /// Takes a free cell for a new task whose parent's cell is `parent` (null for none).
    /// Called under the lock of the shard that owns the cell. The parent's cell does not
    /// count this child until it is detached (see the module docs).
    pub(crate) fn attach(&self, parent: Option<&OwnerCell>) {
        debug_assert_eq!(self.state(), FREE);
        self.live_bytes.store(0, Relaxed);
        self.live_count.store(0, Relaxed);
        self.children.store(0, Relaxed);
        let parent = parent.map_or(ptr::null_mut(), |p| ptr::from_ref(p).cast_mut());
        self.parent.store(parent, Relaxed);
        self.state.store(ATTACHED, Relaxed);
    }

    /// The task's record is being folded: the cell now stands for it in group `group`
    /// (at most [`MAX_GROUP_INDEX`]) of shard `shard`, and its parent's cell counts it.
    /// Called while the record still holds its parent's record (so the parent's cell is
    /// not released meanwhile).
    pub(crate) fn detach(&self, shard: usize, group: u32) {
        debug_assert_eq!(self.state(), ATTACHED);
        let parent = self.parent.load(Relaxed);
        if !parent.is_null() {
            // SAFETY: the parent's cell is held by the parent's record, alive while this
            // task's record holds it (the caller's contract); cells live in chunks that are
            // never freed.
            unsafe { &*parent }.children.fetch_add(1, Relaxed);
        }
        let shard = (shard % SHARDS) as u32;
        self.state
            .store(shard << SHARD_SHIFT | group.min(MAX_GROUP_INDEX), Relaxed);
    }

    /// Puts the cell on a free list whose head was `next`; returns its parent, whose
    /// child count this drops if the cell was detached. Called by the owning shard, once
    /// the cell owns nothing.
    pub(crate) fn release(&self, next: *mut OwnerCell) -> *const OwnerCell {
        // A load and a store, not a swap: only the owning shard, under its lock, writes a
        // cell's link (here and in `attach`); readers only load it.
        let parent = self.parent.load(Relaxed);
        let counted = self.is_detached();
        self.parent.store(next, Relaxed);
        self.state.store(FREE, Relaxed);
        if counted && !parent.is_null() {
            // SAFETY: a parent cell is not released while a detached child links to it
            // (its `children` count is above zero until the `fetch_sub` below), and cells
            // live in chunks that are never freed.
            unsafe { &*parent }.children.fetch_sub(1, Release);
        }
        parent
    }

    /// The next cell of a free list (the `parent` field of a free cell).
    pub(crate) fn next_free(&self) -> Option<&'static OwnerCell> {
        // SAFETY: a free cell's `parent` is null or another free cell, put there by
        // `release`; cells live in chunks that are never freed.
        unsafe { self.parent.load(Relaxed).as_ref() }
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    #[test]
    fn a_cell_is_32_bytes() {
        assert_eq!(size_of::<OwnerCell>(), 32);
    }

    #[test]
    fn foreign_frees_and_batches_add_up() {
        let c = OwnerCell::new();
        c.attach(None);
        c.charge_foreign_free(10); // ahead of its batch: a dip, read as zero
        assert_eq!(c.live(), (0, 0));
        c.add_net(30, 2);
        assert_eq!(c.live(), (20, 1));
        assert!(c.owns_memory());
    }

    #[test]
    fn detached_children_keep_count() {
        let (p, c) = (OwnerCell::new(), OwnerCell::new());
        p.attach(None);
        c.attach(Some(&p));
        assert!(!p.has_children(), "a held child is not counted");
        c.detach(0, 3);
        assert!(p.has_children());
        assert_eq!(c.release(ptr::null_mut()), ptr::from_ref(&p));
        assert!(!p.has_children());
        assert_eq!(c.state(), FREE);
        // A child released straight from its record, never detached, leaves the count.
        c.attach(Some(&p));
        c.release(ptr::null_mut());
        assert!(!p.has_children());
    }
}
