//! The allocator hook: the only `unsafe` code of memscope.
//!
//! Every block carries its owner in an 8-byte trailer just past the bytes the caller
//! asked for (written unaligned, so the layout's alignment is passed through unchanged).
//! The owner word is `UNTRACKED` (0), `TRACKER` (1) or the address of the allocating task's
//! record. A free reads it back, so it is charged to the task that allocated the block,
//! whoever frees it: when the freeing thread runs that same task the free joins its
//! thread-local batch; otherwise it is one `fetch_add` on the owner's record.
//!
//! The hook never allocates, never locks, never panics, and reads its thread-local with
//! `try_with`, so it works during thread start-up and teardown.

use crate::buckets;
use crate::context::{self, ThreadState};
use crate::record::TaskRecord;
use std::alloc::{GlobalAlloc, Layout, System};
use std::ptr;

/// Owner word of memory allocated outside any tracked task.
const UNTRACKED: usize = 0;
/// Owner word of memscope's own memory.
const TRACKER: usize = 1;
/// Bytes added to every block to hold its owner word.
pub const TRAILER_BYTES: usize = size_of::<usize>();

/// A [`GlobalAlloc`] that attributes every allocation to the tracked task making it and
/// forwards the work to an inner allocator (the system allocator by default).
///
/// The `memscope` crate installs `TrackingAllocator<System>` as the global allocator by
/// default. To keep your own allocator, turn off memscope's `global-allocator` feature and
/// wrap yours:
///
/// ```
/// use memscope_runtime::TrackingAllocator;
/// use std::alloc::System; // or mimalloc::MiMalloc, tikv_jemallocator::Jemalloc, …
///
/// #[global_allocator]
/// static GLOBAL: TrackingAllocator<System> = TrackingAllocator::new(System);
///
/// let v = vec![1u8; 100];
/// assert_eq!(v.len(), 100);
/// ```
///
/// Each block costs [`TRAILER_BYTES`] more in the inner allocator: that is how a free finds
/// the task to charge. `realloc` and `alloc_zeroed` reach the inner allocator's own
/// `realloc` and `alloc_zeroed`; a null from the inner allocator is passed through and
/// counted nowhere.
#[derive(Debug, Default, Clone, Copy)]
pub struct TrackingAllocator<A = System> {
    inner: A,
}

impl<A> TrackingAllocator<A> {
    /// Wraps `inner`; `const` so the result can be a `static`.
    pub const fn new(inner: A) -> Self {
        TrackingAllocator { inner }
    }

    /// The wrapped allocator.
    pub const fn inner(&self) -> &A {
        &self.inner
    }
}

impl TrackingAllocator<System> {
    /// Wraps the system allocator.
    ///
    /// ```
    /// static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
    /// ```
    pub const fn system() -> Self {
        TrackingAllocator { inner: System }
    }
}

/// The layout asked of the inner allocator: the caller's plus the trailer.
#[inline]
fn outer_size(layout: Layout) -> Option<Layout> {
    let size = layout.size().checked_add(TRAILER_BYTES)?;
    Layout::from_size_align(size, layout.align()).ok()
}

/// Records a new block of `size` bytes and returns the owner word to store with it.
#[inline]
fn charge_alloc(size: usize) -> usize {
    let size = size as u64;
    let owner = context::with_state(|s| {
        if s.is_internal() {
            buckets::tracker_alloc(size);
            return TRACKER;
        }
        let current = s.current_ptr();
        if current.is_null() {
            buckets::untracked_alloc(Some(s), size);
            return UNTRACKED;
        }
        if s.pending_alloc(size) {
            flush_current(s, current);
        }
        current as usize
    });
    owner.unwrap_or_else(|| {
        buckets::untracked_alloc(None, size);
        UNTRACKED
    })
}

/// Charges the free of a `size`-byte block to its owner.
#[inline]
fn charge_free(owner: usize, size: usize) {
    let size = size as u64;
    match owner {
        UNTRACKED => {
            if context::with_state(|s| buckets::untracked_free(Some(s), size)).is_none() {
                buckets::untracked_free(None, size);
            }
        }
        TRACKER => buckets::tracker_free(size),
        record => {
            let own = context::with_state(|s| {
                let current = s.current_ptr();
                if current as usize != record {
                    return false;
                }
                if s.pending_free(size) {
                    flush_current(s, current);
                }
                true
            });
            if own != Some(true) {
                // SAFETY: `record` was stored by `charge_alloc` from a live record of a
                // task, and the store keeps that record alive while any block charged to it
                // is unfreed (it drops a record only once its live bytes reach zero), so it
                // is valid until the charge below, after which this thread never touches it.
                let rec = unsafe { &*(record as *const TaskRecord) };
                rec.charge_foreign_free(size);
            }
        }
    }
}

#[inline]
fn flush_current(state: &ThreadState, current: *const TaskRecord) {
    // SAFETY: `current` is non-null and was set by `context::enter` from a `&TaskRecord`
    // whose `Scope` guard is still alive on this thread (it resets the slot on drop), so
    // the record outlives this call.
    let rec = unsafe { &*current };
    state.flush_into(rec);
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

// SAFETY: every method forwards to `inner` with the caller's layout grown by the trailer
// (same alignment), so the inner allocator's guarantees hold for the caller's part of the
// block; the trailer is written and read only inside blocks the inner allocator returned.
unsafe impl<A: GlobalAlloc> GlobalAlloc for TrackingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(outer) = outer_size(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: `outer` has a non-zero size (at least the trailer) and a valid alignment.
        let block = unsafe { self.inner.alloc(outer) };
        if !block.is_null() {
            let owner = charge_alloc(layout.size());
            // SAFETY: `block` holds `outer.size() = layout.size() + TRAILER_BYTES` bytes.
            unsafe { write_owner(block, layout.size(), owner) };
        }
        block
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let Some(outer) = outer_size(layout) else {
            return ptr::null_mut();
        };
        // SAFETY: as in `alloc`.
        let block = unsafe { self.inner.alloc_zeroed(outer) };
        if !block.is_null() {
            let owner = charge_alloc(layout.size());
            // SAFETY: as in `alloc`; the trailer lies past the zeroed bytes the caller sees.
            unsafe { write_owner(block, layout.size(), owner) };
        }
        block
    }

    #[inline]
    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        // SAFETY: the caller passes a live block of this allocator with its layout.
        let owner = unsafe { read_owner(block, layout.size()) };
        charge_free(owner, layout.size());
        // SAFETY: the block was allocated by `inner` with exactly this outer layout, which
        // was valid then and is computed the same way now.
        unsafe {
            self.inner.dealloc(
                block,
                Layout::from_size_align_unchecked(layout.size() + TRAILER_BYTES, layout.align()),
            )
        }
    }

    #[inline]
    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align(new_size, layout.align()).ok();
        let Some(new_outer) = new_layout.and_then(outer_size) else {
            return ptr::null_mut();
        };
        // SAFETY: the caller passes a live block of this allocator with its layout.
        let owner = unsafe { read_owner(block, layout.size()) };
        // SAFETY: the old outer layout is the one the block was allocated with (see
        // `dealloc`); `new_outer.size()` is non-zero and valid for this alignment.
        let moved = unsafe {
            self.inner.realloc(
                block,
                Layout::from_size_align_unchecked(layout.size() + TRAILER_BYTES, layout.align()),
                new_outer.size(),
            )
        };
        if !moved.is_null() {
            // A realloc is the free of the old size, charged to the block's owner, and the
            // allocation of the new size by whoever runs now.
            charge_free(owner, layout.size());
            let new_owner = charge_alloc(new_size);
            // SAFETY: `moved` holds `new_size + TRAILER_BYTES` bytes.
            unsafe { write_owner(moved, new_size, new_owner) };
        }
        moved
    }
}
