//! Where owner cells live: chunks of [`CELLS`] cells, 8 KiB each and aligned to 8 KiB,
//! never freed. The chunk's first 32 bytes point at the meters of its cells (a table made
//! the first time a cell of the chunk joins a meter), so a free by another thread finds
//! its owner's meter from the cell's address alone, and a program that never measures
//! keeps 32 bytes per cell (and 32 per chunk).

use crate::hook::cell::OwnerCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering::*};

/// Cells per chunk.
pub(crate) const CELLS: usize = 255;
/// Bytes per chunk, and their alignment.
const CHUNK_BYTES: usize = 8192;

/// The meters of a chunk's cells, by position (0: none).
type Meters = [AtomicU32; CELLS];

/// One chunk: its meters' table, then its cells.
#[repr(C, align(8192))]
pub(crate) struct CellChunk {
    meters: AtomicPtr<Meters>,
    _header: [u64; 3],
    cells: [OwnerCell; CELLS],
}

const _: () = assert!(size_of::<CellChunk>() == CHUNK_BYTES);

impl CellChunk {
    /// A new chunk of free cells, never freed. The caller is in a tracker-internal section.
    pub(crate) fn leak() -> &'static CellChunk {
        Box::leak(Box::new(CellChunk {
            meters: AtomicPtr::new(std::ptr::null_mut()),
            _header: [0; 3],
            cells: [const { OwnerCell::new() }; CELLS],
        }))
    }

    pub(crate) fn cells(&'static self) -> &'static [OwnerCell] {
        &self.cells
    }
}

/// The chunk holding `cell` and the cell's position in it.
#[inline]
fn locate(cell: &OwnerCell) -> (&'static CellChunk, usize) {
    let addr = std::ptr::from_ref(cell) as usize;
    let base = addr & !(CHUNK_BYTES - 1);
    // SAFETY: every cell that blocks or records name is in a `CellChunk` (`leak`), whose
    // alignment puts its start at the cell's address rounded down to 8 KiB; chunks are
    // never freed.
    let chunk = unsafe { &*(base as *const CellChunk) };
    let first = std::ptr::from_ref(&chunk.cells[0]) as usize;
    debug_assert!(addr >= first, "an owner cell outside any chunk");
    let position = (addr - first) / size_of::<OwnerCell>();
    (chunk, position)
}

/// The meter `cell` belongs to (0 for none). `cell` must be in a chunk.
#[inline]
pub(crate) fn meter_of(cell: &OwnerCell) -> u32 {
    let (chunk, position) = locate(cell);
    // Acquire: pairs with the release that published the table in `set_meter`.
    let meters = chunk.meters.load(Acquire);
    if meters.is_null() {
        return 0;
    }
    // SAFETY: a published table is never freed; `position` is below CELLS.
    let meters = unsafe { &*meters };
    meters[position].load(Relaxed)
}

/// Makes `cell` belong to meter `meter` (0: none); returns the one it belonged to. Called
/// in a tracker-internal section (the chunk's first metered cell makes its table), by
/// the books for a new or released cell or by the first poll of its task.
pub(crate) fn set_meter(cell: &OwnerCell, meter: u32) -> u32 {
    let (chunk, position) = locate(cell);
    let mut meters = chunk.meters.load(Acquire);
    if meters.is_null() {
        if meter == 0 {
            return 0;
        }
        let table = Box::into_raw(Box::new([const { AtomicU32::new(0) }; CELLS]));
        // AcqRel: publishes the table (see `meter_of`), or sees the one another thread
        // published first.
        meters = match chunk
            .meters
            .compare_exchange(std::ptr::null_mut(), table, AcqRel, Acquire)
        {
            Ok(_) => table,
            Err(theirs) => {
                // SAFETY: `table` came from `Box::into_raw` above and was never shared.
                drop(unsafe { Box::from_raw(table) });
                theirs
            }
        };
    }
    // SAFETY: as in `meter_of`.
    let meters = unsafe { &*meters };
    meters[position].swap(meter, Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_finds_its_meter_from_its_address() {
        let chunk = CellChunk::leak();
        let (first, last) = (&chunk.cells()[0], &chunk.cells()[CELLS - 1]);
        assert_eq!(meter_of(last), 0);
        assert_eq!(set_meter(last, 9), 0);
        assert_eq!((meter_of(first), meter_of(last)), (0, 9));
        assert_eq!(set_meter(last, 0), 9);
        assert_eq!(meter_of(last), 0);
    }
}
