//! What call-site sampling costs on `TrackingAllocator<System>`, in one process (ABBA):
//! the pair with sampling on (default mean) against off, and one sampled event 32 frames
//! deep. Argument: rounds (default 101).

use memscope_runtime::TrackingAllocator;
use std::alloc::System;

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::system();

memscope_bench::installed!(Installed = GLOBAL);

fn main() {
    let reps = memscope_bench::count_arg(101);
    memscope_bench::sampling::run("system", &Installed, reps);
}
