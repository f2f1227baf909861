//! Interned call stacks: a fixed table of [`STACKS`] entries in static memory, filled by
//! the allocator hook without a lock (claim an entry by compare-and-swap of its hash, then
//! write its frames), read by the books off the hot path.
//!
//! A stack's id is its entry's index. Two stacks are taken as one when their 64-bit hashes
//! and depths are equal (a collision is one chance in 2^64 per pair). When the probe finds
//! no free entry within [`PROBES`] steps, the stack gets [`OVERFLOW`], which the reports
//! show as `(stack table full)`. The table's static memory is at most
//! `STACKS × 272 B` = 4.25 MiB, touched only as far as it is used.

use crate::hook::stack::{Frames, MAX_FRAMES};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering::*};

/// Entries in the table.
pub(crate) const STACKS: usize = 16 * 1024;
/// Entries tried from a stack's home entry before giving up.
const PROBES: usize = 64;
/// The id of a stack that found no entry.
pub(crate) const OVERFLOW: u32 = u32::MAX;

struct Entry {
    /// 0: free; otherwise the stack's hash (never 0).
    hash: AtomicU64,
    /// 0 while the frames are being written; then the depth + 1.
    ready: AtomicU32,
    pcs: [AtomicUsize; MAX_FRAMES],
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY: Entry = Entry {
    hash: AtomicU64::new(0),
    ready: AtomicU32::new(0),
    pcs: [const { AtomicUsize::new(0) }; MAX_FRAMES],
};

static TABLE: [Entry; STACKS] = [EMPTY; STACKS];

fn hash(frames: &Frames) -> u64 {
    // FNV-1a over the words, then a final mix; never 0.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ frames.len as u64;
    for &pc in frames.as_slice() {
        h = (h ^ pc as u64).wrapping_mul(0x0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h.max(1)
}

/// The id of `frames`, adding them to the table if they are new.
pub(crate) fn intern(frames: &Frames) -> u32 {
    let h = hash(frames);
    let home = (h as usize) % STACKS;
    for i in 0..PROBES {
        let index = (home + i) % STACKS;
        let entry = &TABLE[index];
        // Relaxed: the hash alone decides the entry; its frames are published by `ready`.
        match entry.hash.load(Relaxed) {
            0 => match entry.hash.compare_exchange(0, h, Relaxed, Relaxed) {
                Ok(_) => {
                    for (slot, &pc) in entry.pcs.iter().zip(frames.as_slice()) {
                        slot.store(pc, Relaxed);
                    }
                    // Release: a reader that sees `ready` sees the frames.
                    entry.ready.store(frames.len as u32 + 1, Release);
                    return index as u32;
                }
                Err(found) if found == h => return index as u32,
                Err(_) => continue,
            },
            found if found == h => return index as u32,
            _ => continue,
        }
    }
    OVERFLOW
}

/// The frames of stack `id`, once they are written (`None` before, and for [`OVERFLOW`]).
pub(crate) fn frames(id: u32) -> Option<Frames> {
    let entry = TABLE.get(id as usize)?;
    // Acquire: pairs with the `Release` of `intern`.
    let ready = entry.ready.load(Acquire) as usize;
    if ready == 0 {
        return None;
    }
    let mut frames = Frames::EMPTY;
    frames.len = (ready - 1).min(MAX_FRAMES);
    for (pc, slot) in frames.pcs.iter_mut().zip(&entry.pcs).take(frames.len) {
        *pc = slot.load(Relaxed);
    }
    Some(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(pcs: &[usize]) -> Frames {
        let mut f = Frames::EMPTY;
        f.pcs[..pcs.len()].copy_from_slice(pcs);
        f.len = pcs.len();
        f
    }

    #[test]
    fn the_same_stack_gets_the_same_id_and_reads_back() {
        let a = frames_of(&[0x1000, 0x2000, 0x3000]);
        let b = frames_of(&[0x1000, 0x2000, 0x3001]);
        let (ia, ib) = (intern(&a), intern(&b));
        assert_ne!(ia, ib);
        assert_eq!(intern(&a), ia);
        assert_eq!(frames(ia).unwrap().as_slice(), a.as_slice());
        assert_eq!(frames(ib).unwrap().as_slice(), b.as_slice());
        assert!(frames(OVERFLOW).is_none());
    }

    #[test]
    fn an_empty_stack_is_a_stack_too() {
        let id = intern(&Frames::EMPTY);
        assert_eq!(frames(id).unwrap().len, 0);
    }
}
