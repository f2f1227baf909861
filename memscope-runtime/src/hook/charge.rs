//! Which bucket an allocation or a free goes to: the one place that decides.
//!
//! | who runs                       | allocation goes to       | owner word        |
//! |--------------------------------|--------------------------|-------------------|
//! | a tracker-internal section     | the `tracker` bucket     | [`OWNER_TRACKER`] |
//! | no tracked task                | the `untracked` bucket   | [`OWNER_UNTRACKED`] |
//! | a tracked task                 | the task's batch         | its cell's address |
//! | a thread whose thread-locals are gone | the shared `untracked` stripe | [`OWNER_UNTRACKED`] |
//!
//! A free goes to the bucket its owner word names: the `tracker` or `untracked` bucket,
//! the running task's batch when the freeing thread runs the owner, and otherwise the
//! owner's cell directly (two `fetch_sub`s: a "foreign" free).

use crate::hook::cell::OwnerCell;
use crate::hook::cell_chunk;
use crate::hook::meter;
use crate::hook::outside;
use crate::hook::sample_slots::{self, FREED, SAMPLED};
use crate::hook::sampling;
use crate::hook::thread::{self, ThreadState};
use std::sync::atomic::Ordering::{Relaxed, Release};

/// Owner word of memory allocated outside any tracked task.
pub(crate) const OWNER_UNTRACKED: usize = 0;
/// Owner word of memscope's own memory.
pub(crate) const OWNER_TRACKER: usize = 1;

/// Runs `f` with this thread's state, or with `None` once its thread-locals are gone:
/// the fallback every charge needs, written once.
#[inline]
fn with_state_or_gone<R>(f: impl Fn(Option<&ThreadState>) -> R) -> R {
    match thread::with_state(|s| f(Some(s))) {
        Some(r) => r,
        None => f(None),
    }
}

/// Counts a new block of `size` bytes; returns the owner word to store with it.
#[inline]
pub(crate) fn alloc(size: usize) -> usize {
    let size = size as u64;
    with_state_or_gone(|state| {
        let Some(s) = state else {
            outside::untracked(None).alloc(size);
            return OWNER_UNTRACKED;
        };
        if s.is_internal() {
            outside::tracker().alloc(size);
            return OWNER_TRACKER;
        }
        let current = s.current_cell();
        let owner = if current.is_null() {
            outside::untracked(Some(&s.stripe)).alloc(size);
            OWNER_UNTRACKED
        } else {
            if s.batch.count_alloc(size) {
                s.flush_running();
            }
            current as usize
        };
        if s.sampling.count(size) {
            return sampling::due(s, owner, size);
        }
        owner
    })
}

/// Counts a new block of `size` bytes as untracked, whoever runs: a table block that got
/// no slot, whose free will find none either.
#[cold]
pub(crate) fn untracked_alloc(size: usize) {
    let size = size as u64;
    with_state_or_gone(|s| outside::untracked(s.map(|s| &s.stripe)).alloc(size));
}

/// Charges the free of a `size`-byte block to the owner its word names.
#[inline(always)]
pub(crate) fn free(owner: usize, size: usize) {
    let size = size as u64;
    match owner {
        OWNER_UNTRACKED => {
            with_state_or_gone(|s| outside::untracked(s.map(|s| &s.stripe)).free(size));
        }
        OWNER_TRACKER => outside::tracker().free(size),
        word if word & SAMPLED != 0 => free_sampled(word, size),
        cell => {
            let own = thread::with_state(|s| {
                if s.current_cell() as usize != cell {
                    return false;
                }
                if s.batch.count_free(size) {
                    s.flush_running();
                }
                true
            });
            if own != Some(true) {
                free_foreign(cell, size);
            }
        }
    }
}

/// The free of a block whose owner is not the task running on this thread: charged to
/// the owner's cell at once. Out of line, so that the common frees stay short.
#[inline(never)]
fn free_foreign(cell: usize, size: u64) {
    // SAFETY: `cell` was stored by `alloc` from the cell of a running task, and cells
    // live in chunks that are never freed, so the reference is to valid memory. It is
    // still this block's owner: the books reuse a cell only once its task's record is
    // gone (the shard held the only `Arc` and the `Tracked` had let go of its uncounted
    // reference, so no scope is open and every batch has landed, which makes the live
    // count exact) and that count is zero, i.e. no block, this one included, points at it.
    let cell = unsafe { &*(cell as *const OwnerCell) };
    if meter::any_open() {
        charge_metered_free(cell, size);
    }
    cell.charge_foreign_free(size);
}

/// A foreign free while meters are open: the owner's meter is charged too, before its
/// cell (whose count keeps the cell, and so its hold on the meter, until then).
#[cold]
#[inline(never)]
fn charge_metered_free(cell: &OwnerCell, size: u64) {
    match cell_chunk::meter_of(cell) {
        0 => {}
        m => meter::charge_foreign_free(m, size),
    }
}

/// The free of a sampled block: the slot is marked freed (the books count it and give it
/// back) and the block's real owner is charged.
#[cold]
#[inline(never)]
fn free_sampled(word: usize, size: u64) {
    // SAFETY: only `sampling::take` makes words with `SAMPLED` set, from a slot's address.
    let slot = unsafe { sample_slots::from_word(word) };
    // Relaxed: written before the word was stored with the block, which the freeing
    // thread received through whatever handed it the block.
    let owner = slot.owner.load(Relaxed);
    // Release: the books give the slot back only after seeing this, after the read above.
    slot.state.fetch_or(FREED, Release);
    free(owner, size as usize);
}
