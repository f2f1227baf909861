//! `HeapCounters`: the four cumulative figures of heap traffic, embedded by every view
//! (a task, a group, a task type, the untracked and tracker buckets).

use serde::{Deserialize, Serialize};
use std::ops::AddAssign;

/// Cumulative heap traffic of a task, of a set of tasks, or of a bucket outside any task.
///
/// Sizes are what the program asked the allocator for (not its rounding). A `realloc`
/// counts as one free of the old size and one allocation of the new size. Adding counters
/// together saturates instead of overflowing.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::HeapCounters;
/// let mut all = HeapCounters::default();
/// all += HeapCounters::new(1000, 2, 400, 1);
/// all += HeapCounters::new(24, 1, 24, 1);
/// assert_eq!(all.allocated_bytes, 1024);
/// assert_eq!(all.live_bytes(), 600);
/// assert_eq!(all.live_count(), 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub struct HeapCounters {
    /// Bytes allocated, cumulative.
    pub allocated_bytes: u64,
    /// Allocations made, cumulative.
    pub allocation_count: u64,
    /// Bytes of these allocations freed so far, by anyone (another task, another thread,
    /// code outside any task): a free is charged to whoever allocated the block.
    pub freed_bytes: u64,
    /// Frees of these allocations so far, by anyone.
    pub free_count: u64,
}

impl HeapCounters {
    /// Counters with these four figures.
    pub const fn new(
        allocated_bytes: u64,
        allocation_count: u64,
        freed_bytes: u64,
        free_count: u64,
    ) -> Self {
        HeapCounters {
            allocated_bytes,
            allocation_count,
            freed_bytes,
            free_count,
        }
    }

    /// Allocated and not yet freed, whoever frees it: `allocated_bytes − freed_bytes`,
    /// never below zero.
    pub const fn live_bytes(&self) -> u64 {
        self.allocated_bytes.saturating_sub(self.freed_bytes)
    }

    /// Blocks allocated and not yet freed: `allocation_count − free_count`, never below
    /// zero.
    pub const fn live_count(&self) -> u64 {
        self.allocation_count.saturating_sub(self.free_count)
    }

    /// Freed ÷ allocated bytes × 100; 100 when nothing was allocated (nothing is held).
    pub fn freed_percent(&self) -> f64 {
        if self.allocated_bytes == 0 {
            100.0
        } else {
            self.freed_bytes as f64 / self.allocated_bytes as f64 * 100.0
        }
    }
}

impl AddAssign for HeapCounters {
    fn add_assign(&mut self, other: HeapCounters) {
        self.allocated_bytes = self.allocated_bytes.saturating_add(other.allocated_bytes);
        self.allocation_count = self.allocation_count.saturating_add(other.allocation_count);
        self.freed_bytes = self.freed_bytes.saturating_add(other.freed_bytes);
        self.free_count = self.free_count.saturating_add(other.free_count);
    }
}

impl std::iter::Sum for HeapCounters {
    fn sum<I: Iterator<Item = HeapCounters>>(iter: I) -> Self {
        let mut total = HeapCounters::default();
        for c in iter {
            total += c;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates() {
        let mut c = HeapCounters::new(u64::MAX - 1, 1, 0, 0);
        c += HeapCounters::new(10, u64::MAX, 0, 0);
        assert_eq!(c.allocated_bytes, u64::MAX);
        assert_eq!(c.allocation_count, u64::MAX);
    }

    #[test]
    fn live_figures_never_go_below_zero() {
        let c = HeapCounters::new(10, 1, 20, 2);
        assert_eq!((c.live_bytes(), c.live_count()), (0, 0));
    }
}
