//! Per-operation overhead of `TrackingAllocator<System>` against `System` called directly,
//! in one process (ABBA). Argument: rounds (default 201).

use memscope_runtime::TrackingAllocator;
use std::alloc::System;

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::system();
static INNER: System = System;

memscope_bench::installed!(Installed = GLOBAL);

fn main() {
    let reps = memscope_bench::count_arg(201);
    memscope_bench::micro::run("system", &Installed, &INNER, reps);
}
