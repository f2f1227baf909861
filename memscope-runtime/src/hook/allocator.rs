//! The allocator hook (with the rest of `hook/`, where all of memscope's `unsafe` code is:
//! see the module docs there).
//!
//! Every block has an owner word: in an 8-byte trailer just past the bytes the caller
//! asked for (written unaligned, so the layout's alignment is passed through unchanged), or,
//! for sizes where a trailer would cost a whole size class of the inner allocator, in the
//! out-of-band table of `owner_table` (see [`OwnerPlacement`]). `charge` decides the word
//! (untracked, tracker, or the address of the allocating task's owner cell) and where the
//! traffic is counted; this file only places the word and forwards to the inner allocator.
//!
//! The hook never allocates, never locks, never panics, and reads its thread-local with
//! `try_with`, so it works during thread start-up and teardown.
//!
//! Its common paths are `#[inline(always)]`, down to the charge: they are then one body in
//! the allocation shims (`__rust_alloc`, `__rust_dealloc`) with the inner allocator's call
//! at its end, where calls of their own cost about 1 ns per alloc+free pair (BENCHMARKS.md,
//! 2026-12-03); the rare paths (a due batch, a sample, a foreign or metered free, a new
//! owner-table leaf) stay out of line.

use crate::hook::charge::{self, OWNER_UNTRACKED};
use crate::hook::owner_table;
use crate::hook::placement::{OwnerPlacement, TRAILER_BYTES};
use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;
use std::sync::atomic::Ordering::Relaxed;

/// A [`GlobalAlloc`] that attributes every allocation to the tracked task making it and
/// forwards the work to an inner allocator (the system allocator by default).
///
/// The `memscope` crate installs `TrackingAllocator::system()` as the global allocator
/// by default. To keep your own allocator, turn off memscope's `global-allocator` feature
/// and wrap yours:
///
/// ```ignore
/// // memscope = { version = "0.1", default-features = false, features = ["tokio"] }
/// #[global_allocator]
/// static GLOBAL: memscope::TrackingAllocator<mimalloc::MiMalloc> =
///     memscope::TrackingAllocator::new(mimalloc::MiMalloc);
/// ```
///
/// For the system allocator use [`TrackingAllocator::system`], which picks the owner
/// placement that suits it:
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// static A: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let layout = std::alloc::Layout::from_size_align(100, 8).unwrap();
/// // SAFETY: the layout has a non-zero size; the block is freed with the same layout.
/// unsafe {
///     use std::alloc::GlobalAlloc;
///     let block = A.alloc(layout);
///     assert!(!block.is_null());
///     A.dealloc(block, layout);
/// }
/// ```
///
/// Each block's owner word (see [`OwnerPlacement`]) is how a free finds the task to charge.
/// `realloc` and `alloc_zeroed` reach the inner allocator's own `realloc` and
/// `alloc_zeroed`; a null from the inner allocator is passed through and counted nowhere.
#[derive(Debug, Clone, Copy)]
pub struct TrackingAllocator<A = System> {
    inner: A,
    placement: OwnerPlacement,
}

impl<A> TrackingAllocator<A> {
    /// Wraps `inner`, an allocator with segregated size classes such as mimalloc or
    /// jemalloc ([`OwnerPlacement::SizeClasses`]); `const` so the result can be a `static`.
    /// For the system allocator prefer [`TrackingAllocator::system`].
    pub const fn new(inner: A) -> Self {
        Self::with_placement(inner, OwnerPlacement::SizeClasses)
    }

    /// Wraps `inner`, keeping owner words as `placement` says.
    pub const fn with_placement(inner: A, placement: OwnerPlacement) -> Self {
        TrackingAllocator { inner, placement }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }

    /// Where this allocator keeps owner words.
    pub const fn placement(&self) -> OwnerPlacement {
        self.placement
    }
}

/// Same as [`TrackingAllocator::new`] (owner placement [`OwnerPlacement::SizeClasses`]), also
/// for `System`: use [`TrackingAllocator::system`] for the system allocator's own placement.
impl<A: Default> Default for TrackingAllocator<A> {
    fn default() -> Self {
        Self::new(A::default())
    }
}

impl TrackingAllocator<System> {
    /// Wraps the system allocator, with the owner placement that suits it
    /// ([`OwnerPlacement::for_system_allocator`]).
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// static A: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// assert_eq!(A.placement(), memscope::OwnerPlacement::for_system_allocator());
    /// ```
    pub const fn system() -> Self {
        Self::with_placement(System, OwnerPlacement::for_system_allocator())
    }
}

/// Layout asked of the inner allocator for a caller's `layout`: grown by the trailer unless
/// the owner goes in the table. `None` when the grown layout is invalid.
#[inline]
fn outer_layout(layout: Layout, band: Option<u32>) -> Option<Layout> {
    match band {
        Some(_) => Some(layout),
        None => {
            Layout::from_size_align(layout.size().checked_add(TRAILER_BYTES)?, layout.align()).ok()
        }
    }
}

/// The owner table's size band of a block of `size` bytes; `None`: a trailer. `TABLE` is
/// whether the placement uses the table at all: a constant in each of the two copies of
/// the hook, so the trailer-only copy has no trace of the table.
#[inline]
fn table_band<const TABLE: bool>(size: usize) -> Option<u32> {
    if TABLE {
        owner_table::band(size, TRAILER_BYTES)
    } else {
        None
    }
}

/// Size of the inner block of a caller's live block of `size` bytes (its layout was valid
/// when it was allocated, so this cannot overflow).
#[inline]
fn outer_size(size: usize, band: Option<u32>) -> usize {
    match band {
        Some(_) => size,
        None => size + TRAILER_BYTES,
    }
}

/// Writes the owner word just past the caller's `size` bytes of `block`.
///
/// # Safety
/// `block` must point to an allocation of at least `size + TRAILER_BYTES` bytes.
#[inline]
unsafe fn write_owner(block: *mut u8, size: usize, owner: usize) {
    // SAFETY: the caller guarantees `size + TRAILER_BYTES` bytes at `block`; the write is
    // unaligned because the trailer sits right after an arbitrary-sized payload.
    unsafe { ptr::write_unaligned(block.add(size).cast::<usize>(), owner) }
}

/// Reads the owner word written by [`write_owner`].
///
/// # Safety
/// `block` must be a live block of this allocator whose caller layout had `size` bytes.
#[inline]
unsafe fn read_owner(block: *mut u8, size: usize) -> usize {
    // SAFETY: every block of this allocator was allocated with `size + TRAILER_BYTES`
    // bytes and had its trailer written right after allocation.
    unsafe { ptr::read_unaligned(block.add(size).cast::<usize>()) }
}

impl<A: GlobalAlloc> TrackingAllocator<A> {
    /// Charges a new block of the caller's `size` bytes at `block` and records its owner.
    ///
    /// # Safety
    /// `block` must be a fresh block of the inner allocator of `outer_size(size, band)`
    /// bytes, with `band` the block's band.
    #[inline(always)]
    unsafe fn own(&self, block: *mut u8, size: usize, band: Option<u32>) {
        match band {
            None => {
                let owner = charge::alloc(size);
                // SAFETY: `block` holds `size + TRAILER_BYTES` bytes (caller's contract).
                unsafe { write_owner(block, size, owner) };
            }
            Some(k) => match owner_table::claim(block as usize, k) {
                Some(slot) => {
                    let owner = charge::alloc(size);
                    if owner != OWNER_UNTRACKED {
                        // The slot is empty (cleared when its last block was freed).
                        slot.store(owner, Relaxed);
                    }
                }
                None => charge::untracked_alloc(size),
            },
        }
    }

    /// Takes the owner of the live block at `block` (caller's `size`, `band`) out of its
    /// record: a table slot is emptied, before the inner allocator may reuse the address.
    ///
    /// # Safety
    /// `block` must be a live block of this allocator allocated with `size` bytes.
    #[inline(always)]
    unsafe fn take_owner(&self, block: *mut u8, size: usize, band: Option<u32>) -> usize {
        match band {
            // SAFETY: a trailer block holds its owner word past `size` (caller's contract).
            None => unsafe { read_owner(block, size) },
            Some(k) => owner_table::take(block as usize, k),
        }
    }
}

impl<A: GlobalAlloc> TrackingAllocator<A> {
    /// `alloc` (or `alloc_zeroed`) with the owner placed as `TABLE` says.
    ///
    /// # Safety
    /// As [`GlobalAlloc::alloc`].
    #[inline(always)]
    unsafe fn alloc_placed<const TABLE: bool>(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        let band = table_band::<TABLE>(layout.size());
        let Some(outer) = outer_layout(layout, band) else {
            return ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (the caller's, or at least the trailer) and a
        // valid alignment.
        let block = unsafe {
            if zeroed {
                self.inner.alloc_zeroed(outer)
            } else {
                self.inner.alloc(outer)
            }
        };
        if !block.is_null() {
            // SAFETY: `block` is fresh, `outer` bytes, for this band (a trailer lies past
            // the zeroed bytes the caller sees).
            unsafe { self.own(block, layout.size(), band) };
        }
        block
    }

    /// `dealloc` with the owner placed as `TABLE` says.
    ///
    /// # Safety
    /// As [`GlobalAlloc::dealloc`].
    #[inline(always)]
    unsafe fn dealloc_placed<const TABLE: bool>(&self, block: *mut u8, layout: Layout) {
        let size = layout.size();
        let band = table_band::<TABLE>(size);
        // SAFETY: the caller passes a live block of this allocator with its layout.
        let owner = unsafe { self.take_owner(block, size, band) };
        charge::free(owner, size);
        // SAFETY: the block was allocated by `inner` with exactly this outer layout, which
        // was valid then and is computed the same way now.
        unsafe {
            let outer = Layout::from_size_align_unchecked(outer_size(size, band), layout.align());
            self.inner.dealloc(block, outer)
        }
    }

    /// `realloc` with the owner placed as `TABLE` says.
    ///
    /// # Safety
    /// As [`GlobalAlloc::realloc`].
    #[inline]
    unsafe fn realloc_placed<const TABLE: bool>(
        &self,
        block: *mut u8,
        layout: Layout,
        new_size: usize,
    ) -> *mut u8 {
        let (old_size, align) = (layout.size(), layout.align());
        let (old_band, new_band) = (table_band::<TABLE>(old_size), table_band::<TABLE>(new_size));
        let new_outer = Layout::from_size_align(new_size, align)
            .ok()
            .and_then(|l| outer_layout(l, new_band));
        let Some(new_outer) = new_outer else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this allocator with its layout.
        let owner = unsafe { self.take_owner(block, old_size, old_band) };
        // SAFETY: the old outer layout is the one the block was allocated with (see
        // `dealloc_placed`); `new_outer` is non-zero and a valid size for this alignment.
        let moved = unsafe {
            let old_outer = outer_size(old_size, old_band);
            self.inner.realloc(
                block,
                Layout::from_size_align_unchecked(old_outer, align),
                new_outer.size(),
            )
        };
        if moved.is_null() {
            // The block is still the caller's: give its owner back.
            if let (Some(k), true) = (old_band, owner != OWNER_UNTRACKED) {
                if let Some(slot) = owner_table::claim(block as usize, k) {
                    slot.store(owner, Relaxed);
                }
            }
            return moved;
        }
        // A realloc is the free of the old size, charged to the block's owner, and the
        // allocation of the new size by whoever runs now.
        charge::free(owner, old_size);
        // SAFETY: `moved` is a fresh block of `new_outer` bytes for `new_band`.
        unsafe { self.own(moved, new_size, new_band) };
        moved
    }
}

// SAFETY: every method forwards to `inner` with the caller's layout, grown by the trailer
// when the block carries one (same alignment), so the inner allocator's guarantees hold for
// the caller's part of the block; the trailer is written and read only inside blocks the
// inner allocator returned, and table slots only through `owner_table`. The placement is
// fixed for the allocator's life, so a block is freed by the same copy that made it.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    #[inline(always)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        unsafe {
            match self.placement {
                OwnerPlacement::Trailer => self.alloc_placed::<false>(layout, false),
                OwnerPlacement::SizeClasses => self.alloc_placed::<true>(layout, false),
            }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        unsafe {
            match self.placement {
                OwnerPlacement::Trailer => self.alloc_placed::<false>(layout, true),
                OwnerPlacement::SizeClasses => self.alloc_placed::<true>(layout, true),
            }
        }
    }

    #[inline(always)]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: forwarded from our caller.
        unsafe {
            match self.placement {
                OwnerPlacement::Trailer => self.dealloc_placed::<false>(block, layout),
                OwnerPlacement::SizeClasses => self.dealloc_placed::<true>(block, layout),
            }
        }
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded from our caller.
        unsafe {
            match self.placement {
                OwnerPlacement::Trailer => self.realloc_placed::<false>(block, layout, new_size),
                OwnerPlacement::SizeClasses => self.realloc_placed::<true>(block, layout, new_size),
            }
        }
    }
}
