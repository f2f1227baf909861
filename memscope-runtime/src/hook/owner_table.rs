//! Owner words kept beside the heap instead of inside it, for blocks whose trailer would
//! cost a whole size class.
//!
//! Allocators with segregated size classes (mimalloc, jemalloc, snmalloc, …) space their
//! classes four per power of two above 64 B. A block whose size is exactly a class (every
//! `Vec` grown by doubling is) has no slack, so an 8-byte trailer moves it into the next
//! class, 25 % larger. Such blocks keep their owner word here instead, in a slot found
//! from the block's address: the address space is cut into 1 GiB regions; a region has one
//! leaf per power-of-two size band `(2^k, 2^(k+1)]`, a flat array with one slot per `2^k`
//! bytes of addresses. Two live blocks of one band never share a slot (they are more than
//! `2^k` bytes apart), and the slots of a band cost at most 8 bytes per `2^k` bytes of the
//! heap pages they describe, far less than the class a trailer would waste.
//!
//! Leaves are mapped from the operating system (never through the global allocator) the
//! first time a block of their band appears in their region, and are zero until written:
//! an empty slot means "untracked". Slots of freed blocks are cleared before the inner
//! allocator gets the block back, so the next block at that address starts from zero.
//! When a leaf cannot be mapped, or an address lies beyond 48 bits, the block is counted as
//! untracked: the books still add up, only its attribution is lost.

use std::ptr;
use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
use std::sync::atomic::{AtomicPtr, AtomicUsize};

/// Blocks of at most this many bytes always use the trailer: below it, classes are spaced
/// by 8 or 16 bytes, so an out-of-band slot (one per 16–64 bytes of heap) would cost as
/// much as the trailer.
const MIN_SHIFT: u32 = 6;
/// Blocks larger than `2^(MAX_SHIFT + 1)` bytes (256 KiB) use the trailer: allocators hand
/// them whole pages, and a trailer touches at most one more page.
const MAX_SHIFT: u32 = 17;
const BANDS: usize = (MAX_SHIFT - MIN_SHIFT + 1) as usize;
/// Each region covers `2^REGION_SHIFT` bytes of addresses.
const REGION_SHIFT: u32 = 30;
/// Addresses the table covers: user space of x86-64 and aarch64 with 4-level paging.
const ADDRESS_BITS: u32 = 48;
const REGIONS: usize = 1 << (ADDRESS_BITS - REGION_SHIFT);

/// One region's leaves, one per size band; null until needed.
struct Region {
    leaves: [AtomicPtr<AtomicUsize>; BANDS],
}

/// The region directory, 2^18 region pointers (2 MiB of virtual memory, of which only the
/// pages holding used regions are touched), mapped at the first table block. A `static` directory would save one
/// load per table block (about 1 ns per alloc+free pair on mimalloc) but moves the heap of
/// every program, table or not: with glibc, `Vec` growth measured ×1.1–1.6 slower then.
type Directory = [AtomicPtr<Region>; REGIONS];
static DIRECTORY: AtomicPtr<Directory> = AtomicPtr::new(ptr::null_mut());

/// The size band of a block whose owner belongs in the table, or `None` when its owner goes
/// in a trailer: sizes in (64 B, 256 KiB] that end within 8 bytes of a class boundary of
/// an allocator with four classes per power of two.
///
/// ```text
/// 96 → table (class 96)   100 → trailer (108 fits in 112)   1024 → table   1000 → trailer
/// ```
#[inline]
pub(crate) fn band(size: usize, trailer_bytes: usize) -> Option<u32> {
    if size <= 1 << MIN_SHIFT || size > 1 << (MAX_SHIFT + 1) {
        return None;
    }
    // 2^k < size ≤ 2^(k+1), so k is in MIN_SHIFT..=MAX_SHIFT.
    let k = usize::BITS - 1 - (size - 1).leading_zeros();
    let class_step = 1usize << (k - 2);
    let slack = size.wrapping_neg() & (class_step - 1);
    (slack < trailer_bytes).then_some(k)
}

/// The slot of the block at `addr` in band `k`; with `create`, maps what is missing.
#[inline]
fn slot(addr: usize, k: u32, create: bool) -> Option<&'static AtomicUsize> {
    let region = addr >> REGION_SHIFT;
    if region >= REGIONS {
        return None;
    }
    let mut directory = DIRECTORY.load(Acquire);
    if directory.is_null() {
        if !create {
            return None;
        }
        directory = install(&DIRECTORY, size_of::<Directory>())?;
    }
    // SAFETY: a non-null `DIRECTORY` points to a mapped, zeroed (all null) directory that is
    // never unmapped; `region` is in bounds (checked above).
    let entry = unsafe { (*directory).get_unchecked(region) };
    let mut node = entry.load(Acquire);
    if node.is_null() {
        if !create {
            return None;
        }
        node = install(entry, size_of::<Region>())?;
    }
    // SAFETY: a non-null directory entry points to a `Region` mapped by `install` (zeroed
    // memory is a valid `Region`: null pointers) that is never unmapped.
    let leaves = unsafe { &(*node).leaves };
    let leaf_entry = &leaves[(k - MIN_SHIFT) as usize];
    let mut leaf = leaf_entry.load(Acquire);
    if leaf.is_null() {
        if !create {
            return None;
        }
        leaf = install(leaf_entry, leaf_bytes(k))?;
    }
    let index = (addr & ((1 << REGION_SHIFT) - 1)) >> k;
    // SAFETY: a leaf of band `k` holds `2^(REGION_SHIFT - k)` zero-initialised slots and
    // is never unmapped; `index` is below that count because `addr & (2^REGION_SHIFT - 1)`
    // is below `2^REGION_SHIFT`.
    Some(unsafe { &*leaf.add(index) })
}

fn leaf_bytes(k: u32) -> usize {
    (1usize << (REGION_SHIFT - k)) * size_of::<AtomicUsize>()
}

/// Maps `bytes` of zeroed memory and publishes it in `entry`, or returns the mapping
/// another thread published first. `None` when the system refuses the mapping.
#[cold]
fn install<T>(entry: &AtomicPtr<T>, bytes: usize) -> Option<*mut T> {
    let fresh = os::map_zeroed(bytes)?.cast::<T>();
    match entry.compare_exchange(ptr::null_mut(), fresh, AcqRel, Acquire) {
        Ok(_) => Some(fresh),
        Err(winner) => {
            os::unmap(fresh.cast(), bytes);
            Some(winner)
        }
    }
}

/// The slot for the owner of a new block of band `k` at `addr`, mapped if needed; `None`
/// when none can be had (the caller then counts the block as untracked). Store with
/// `Relaxed`: whoever frees the block got its address through synchronisation that also
/// orders the store before their read.
#[inline]
pub(crate) fn claim(addr: usize, k: u32) -> Option<&'static AtomicUsize> {
    slot(addr, k, true)
}

/// Takes the owner of the block of band `k` at `addr` out of its slot, leaving it empty;
/// 0 (untracked) when the block never had a slot.
#[inline]
pub(crate) fn take(addr: usize, k: u32) -> usize {
    match slot(addr, k, false) {
        Some(s) => {
            let owner = s.load(Relaxed);
            if owner != 0 {
                s.store(0, Relaxed);
            }
            owner
        }
        None => 0,
    }
}

#[cfg(unix)]
mod os {
    /// Anonymous private pages, zero until touched; reserved lazily (no swap reservation).
    pub(super) fn map_zeroed(bytes: usize) -> Option<*mut u8> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE;
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let flags = libc::MAP_PRIVATE | libc::MAP_ANON;
        // SAFETY: an anonymous mapping at an address of the kernel's choosing touches no
        // existing memory; the arguments are valid for `mmap`.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                flags,
                -1,
                0,
            )
        };
        (p != libc::MAP_FAILED).then_some(p.cast())
    }

    pub(super) fn unmap(p: *mut u8, bytes: usize) {
        // SAFETY: `p` is a mapping of `bytes` bytes made by `map_zeroed` and never published.
        unsafe { libc::munmap(p.cast(), bytes) };
    }
}

#[cfg(not(unix))]
mod os {
    use std::alloc::{GlobalAlloc, Layout, System};

    const PAGE: usize = 4096;

    pub(super) fn map_zeroed(bytes: usize) -> Option<*mut u8> {
        let layout = Layout::from_size_align(bytes, PAGE).ok()?;
        // SAFETY: `layout` has a non-zero size; the system allocator is not the hook.
        let p = unsafe { System.alloc_zeroed(layout) };
        (!p.is_null()).then_some(p)
    }

    pub(super) fn unmap(p: *mut u8, bytes: usize) {
        // SAFETY: `p` was allocated by `map_zeroed` with this layout and never published.
        unsafe { System.dealloc(p, Layout::from_size_align_unchecked(bytes, PAGE)) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_class_boundaries() {
        let t = 8;
        assert_eq!(band(64, t), None, "small blocks keep the trailer");
        assert_eq!(band(80, t), Some(6));
        assert_eq!(band(96, t), Some(6));
        assert_eq!(band(100, t), None, "108 still fits in the 112 class");
        assert_eq!(band(105, t), Some(6), "113 would not fit in 112");
        assert_eq!(band(128, t), Some(6));
        assert_eq!(band(129, t), None);
        assert_eq!(band(1024, t), Some(9));
        assert_eq!(band(1000, t), None);
        assert_eq!(band(8192, t), Some(12));
        assert_eq!(band(256 * 1024, t), Some(17));
        assert_eq!(
            band(256 * 1024 + 64 * 1024, t),
            None,
            "large blocks keep the trailer"
        );
    }

    #[test]
    fn slots_start_empty_and_are_cleared_by_take() {
        let block = Box::new([0u8; 4096]);
        let addr = &*block as *const _ as usize;
        assert_eq!(take(addr, 12), 0);
        claim(addr, 12).expect("a slot").store(0xabc0, Relaxed);
        assert_eq!(take(addr, 12), 0xabc0);
        assert_eq!(take(addr, 12), 0);
    }

    #[test]
    fn addresses_beyond_the_table_have_no_slot() {
        assert!(claim(1 << 60, 7).is_none());
        assert_eq!(take(1 << 60, 7), 0);
    }
}
