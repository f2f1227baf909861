//! Reference row: the same alloc/free pairs and growth through tracking-allocator 0.4
//! (header word per block, a global tracker called on every allocation and free), against
//! `System` called directly, in one process (ABBA). Argument: rounds (default 101).
//!
//! The tracker counts bytes and blocks per allocation group with relaxed atomics, the
//! least a per-group profiler does with it.

use std::alloc::System;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tracking_allocator::{
    AllocationGroupId, AllocationGroupToken, AllocationRegistry, AllocationTracker, Allocator,
};

#[global_allocator]
static GLOBAL: Allocator<System> = Allocator::system();

const GROUPS: usize = 64;
static LIVE: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];
static COUNT: [AtomicU64; GROUPS] = [const { AtomicU64::new(0) }; GROUPS];

struct Counting;

impl AllocationTracker for Counting {
    fn allocated(&self, _addr: usize, size: usize, _wrapped: usize, group: AllocationGroupId) {
        let g = group.as_usize().get() % GROUPS;
        // Relaxed: independent counters.
        LIVE[g].fetch_add(size as u64, Relaxed);
        COUNT[g].fetch_add(1, Relaxed);
    }

    fn deallocated(
        &self,
        _addr: usize,
        size: usize,
        _wrapped: usize,
        source: AllocationGroupId,
        _current: AllocationGroupId,
    ) {
        let g = source.as_usize().get() % GROUPS;
        // Relaxed: independent counters.
        LIVE[g].fetch_sub(size as u64, Relaxed);
        COUNT[g].fetch_add(1, Relaxed);
    }
}

fn main() {
    let reps = memscope_bench::count_arg(101);
    AllocationRegistry::set_global_tracker(Counting).expect("first tracker");
    AllocationRegistry::enable_tracking();
    let token = std::cell::RefCell::new(AllocationGroupToken::register().expect("group"));
    let in_group = |f: &mut dyn FnMut()| {
        let mut token = token.borrow_mut();
        let _guard = token.enter();
        f();
    };
    memscope_bench::micro::peer("tracking_allocator", &GLOBAL, &in_group, reps, 4);
    AllocationRegistry::disable_tracking();
}
