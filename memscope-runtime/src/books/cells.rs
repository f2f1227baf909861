//! A shard's owner cells: handed out to new tasks, kept for folded tasks whose memory
//! outlives them, reused once nothing points at them.
//!
//! Cells come in chunks of [`CHUNK`] (8 KiB, `hook::cell_chunk`), allocated as tracker
//! memory and never freed, so a cell's address stays valid for any block that names it.
//! Free cells form a list through their `parent` field. A folded task's cell is *detached*: it stays until
//! its memory is freed and no child cell links to it, which [`Cells::sweep_if_due`] checks,
//! amortised O(1) per detach (it scans when the detached cells have doubled since the last
//! scan), and [`Cells::take`] before it allocates a chunk, once frees have emptied a
//! chunk's worth (and an eighth) of the detached cells (`hook::cell::emptied` counts
//! them). The shard's memory for cells is 32 bytes × about the most cells in use at once
//! (running, held and detached tasks), rounded up to a chunk.

use crate::hook::cell::{self, OwnerCell};
use crate::hook::cell_chunk::{self, CellChunk};
use crate::hook::meter;
use std::ptr;

/// Cells per chunk.
pub(crate) const CHUNK: usize = cell_chunk::CELLS;

pub(crate) struct Cells {
    /// The shard these cells belong to.
    shard: usize,
    /// Its [`cell::emptied`] count at the last sweep.
    emptied_seen: u64,
    chunks: Vec<&'static [OwnerCell]>,
    free: Option<&'static OwnerCell>,
    /// Cells detached since the last sweep, plus those the last sweep kept.
    detached: usize,
    next_sweep: usize,
}

impl Cells {
    pub(crate) const fn new(shard: usize) -> Self {
        Cells {
            shard,
            emptied_seen: 0,
            chunks: Vec::new(),
            free: None,
            detached: 0,
            next_sweep: 64,
        }
    }

    /// A cell for a new task, child of the task owning `parent`. The caller is inside a
    /// tracker-internal section (a new chunk is the tracker's memory).
    pub(crate) fn take(&mut self, parent: Option<&OwnerCell>) -> &'static OwnerCell {
        if self.free.is_none() && self.enough_emptied() {
            // Frees emptied many detached cells since the last sweep: reuse them first.
            self.sweep();
        }
        let cell = match self.free {
            Some(cell) => cell,
            None => self.grow(),
        };
        debug_assert!(self.free.is_some_and(|f| ptr::eq(f, cell)));
        self.free = cell.next_free();
        cell.attach(parent);
        cell
    }

    /// Whether frees have emptied enough detached cells since the last sweep for a scan
    /// of all of them to pay: a chunk's worth, and an eighth of those detached, so a
    /// sweep from here costs O(1) amortised per cell it frees.
    fn enough_emptied(&self) -> bool {
        let emptied = cell::emptied(self.shard).wrapping_sub(self.emptied_seen);
        emptied >= (CHUNK as u64).max(self.detached as u64 / 8)
    }

    /// Cells allocated (free, attached or detached): what a scan of them visits.
    pub(crate) fn allocated(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    /// Adds a chunk of free cells; returns the one now at the head of the free list.
    #[cold]
    fn grow(&mut self) -> &'static OwnerCell {
        let chunk = CellChunk::leak().cells();
        self.chunks.push(chunk);
        for cell in chunk.iter().rev() {
            self.push_free(cell);
        }
        &chunk[0]
    }

    fn push_free(&mut self, cell: &'static OwnerCell) {
        // Nothing names the cell any more: it lets go of its meter. With no meter open,
        // no cell has one (each holds its meter open), and the chunk's header is left alone.
        if meter::any_open() {
            meter::release(cell_chunk::set_meter(cell, 0));
        }
        let next = self
            .free
            .map_or(ptr::null_mut(), |c| ptr::from_ref(c).cast_mut());
        cell.release(next);
        self.free = Some(cell);
    }

    /// The cell of a task whose record is being folded into group `group`: reused at once
    /// if it owns nothing, else kept (detached) until it does not.
    pub(crate) fn retire(&mut self, cell: &'static OwnerCell, group: u32) {
        if cell.owns_memory() || cell.has_children() {
            cell.detach(self.shard, group);
            self.detached += 1;
        } else {
            self.push_free(cell);
        }
    }

    /// Every detached cell: what folded tasks still hold.
    pub(crate) fn detached(&self) -> impl Iterator<Item = &'static OwnerCell> + '_ {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.iter())
            .filter(|c| c.is_detached())
    }

    /// Reuses the detached cells that own nothing and have no child any more, once the
    /// detached cells have doubled since the last sweep.
    pub(crate) fn sweep_if_due(&mut self) {
        if self.detached < self.next_sweep {
            return;
        }
        self.sweep();
    }

    /// Reuses every detached cell that owns nothing and has no child.
    pub(crate) fn sweep(&mut self) {
        self.emptied_seen = cell::emptied(self.shard);
        let mut kept = 0;
        for i in 0..self.chunks.len() {
            let chunk = self.chunks[i];
            for cell in chunk {
                if !cell.is_detached() {
                    continue;
                }
                if cell.owns_memory() || cell.has_children() {
                    kept += 1;
                } else {
                    self.push_free(cell);
                }
            }
        }
        self.detached = kept;
        self.next_sweep = (kept * 2).max(64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_reused_once_they_own_nothing() {
        let mut cells = Cells::new(0);
        let a = cells.take(None);
        let b = cells.take(Some(a));
        b.add_net(100, 1);
        // A child's record holds its parent's, so the child is folded first.
        cells.retire(b, 0); // owns memory: kept, and counted by its parent
        cells.retire(a, 0); // a detached child links to it: kept
        assert_eq!(cells.detached().count(), 2);
        b.charge_foreign_free(100);
        cells.sweep(); // b goes, and with it a's last child
        cells.sweep();
        assert_eq!(cells.detached().count(), 0);
        let c = cells.take(None);
        assert_eq!(c.live(), (0, 0));
    }
}
