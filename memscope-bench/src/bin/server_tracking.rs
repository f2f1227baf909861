//! The key-value server workload (see `memscope_bench::server`) with
//! `TrackingAllocator<System>` as the global allocator, running the tracked server
//! (`--mode tracked`, the default), the untracked one (`--mode untracked`) or both
//! alternated (`--mode inproc`).

use memscope_runtime::TrackingAllocator;

#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

fn main() {
    memscope_bench::server::main(true);
}
