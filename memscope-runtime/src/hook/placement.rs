//! Where each block's owner word goes: in a trailer past the caller's bytes, or, for
//! sizes where a trailer would cost a whole size class of the inner allocator, in the
//! out-of-band table of `owner_table`.

/// Bytes an owner trailer adds to a block.
pub const TRAILER_BYTES: usize = size_of::<usize>();

/// Where [`TrackingAllocator`](crate::TrackingAllocator) keeps each block's owner word, chosen for the size classes of
/// the inner allocator so that the word costs as little memory as it can.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{OwnerPlacement, TrackingAllocator};
/// use std::alloc::System;
///
/// // A user who knows their allocator rounds like glibc's:
/// static A: TrackingAllocator = TrackingAllocator::with_placement(System, OwnerPlacement::Trailer);
/// assert_eq!(A.placement(), OwnerPlacement::Trailer);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerPlacement {
    /// Every block carries its owner in a [`TRAILER_BYTES`] trailer past the caller's bytes.
    /// Right for glibc's malloc (and other dlmalloc-style allocators): its chunks round
    /// `size + 8` up to 16 bytes, so the trailer is free for half of all sizes, every
    /// multiple of 16 among them, and costs 16 bytes for the others.
    Trailer,
    /// Blocks of (64 B, 256 KiB] whose size ends within 8 bytes of a class boundary of an
    /// allocator with four size classes per power of two (mimalloc, jemalloc, snmalloc,
    /// tcmalloc, …: 80, 96, 112, 128, 160, …) keep their owner out of band, in a table
    /// indexed by address (at most 8 bytes per 64 bytes of the heap it describes, usually
    /// far less), because a trailer would push them into the next class, 25 % larger. All
    /// other blocks use the trailer, which fits in their class's slack (small blocks pay
    /// the 8 bytes).
    SizeClasses,
}

impl OwnerPlacement {
    /// The placement suited to the system allocator of the target: [`Trailer`] on glibc,
    /// [`SizeClasses`] elsewhere (macOS, musl's mallocng, Windows).
    ///
    /// [`Trailer`]: OwnerPlacement::Trailer
    /// [`SizeClasses`]: OwnerPlacement::SizeClasses
    pub const fn for_system_allocator() -> Self {
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            OwnerPlacement::Trailer
        } else {
            OwnerPlacement::SizeClasses
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::allocator::TrackingAllocator;
    use std::alloc::System;

    #[test]
    fn the_system_allocator_keeps_the_trailer_on_glibc() {
        let expected = if cfg!(all(target_os = "linux", target_env = "gnu")) {
            OwnerPlacement::Trailer
        } else {
            OwnerPlacement::SizeClasses
        };
        assert_eq!(TrackingAllocator::system().placement(), expected);
        assert_eq!(
            TrackingAllocator::new(System).placement(),
            OwnerPlacement::SizeClasses
        );
    }
}
