//! Per-operation overhead of `TrackingAllocator<System>` against `System` called directly,
//! in one process (ABBA). Argument: rounds (default 201).

use memscope_runtime::TrackingAllocator;
use std::alloc::System;

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::system();
static INNER: System = System;

memscope_bench::installed!(Installed = GLOBAL);

fn main() {
    let reps = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(201);
    memscope_bench::micro::run("system", &Installed, &INNER, reps);
}
