//! What meters (`measure`, `with_budget`) cost on the hot path of
//! `TrackingAllocator<System>`, in one process (ABBA): pairs in an unmetered task, with
//! another task's meter open, and in a budgeted task; foreign frees of an unmetered and a
//! metered task's blocks; one batch flush with and without a meter. Argument: rounds
//! (default 101).

use memscope_runtime::TrackingAllocator;
use std::alloc::System;

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::system();

memscope_bench::installed!(Installed = GLOBAL);

fn main() {
    let reps = memscope_bench::count_arg(101);
    memscope_bench::budget::run("system", &Installed, reps);
}
