//! Per-operation overhead of `TrackingAllocator<MiMalloc>` against `MiMalloc` called
//! directly, in one process (ABBA). Argument: rounds (default 201).

use memscope_runtime::TrackingAllocator;
use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: TrackingAllocator<MiMalloc> = TrackingAllocator::new(MiMalloc);
static INNER: MiMalloc = MiMalloc;

memscope_bench::installed!(Installed = GLOBAL);

fn main() {
    let reps = memscope_bench::count_arg(201);
    memscope_bench::micro::run("mimalloc", &Installed, &INNER, reps);
}
