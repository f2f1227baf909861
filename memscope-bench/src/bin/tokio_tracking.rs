//! The tokio workload (see `memscope_bench::workload`) with `TrackingAllocator<System>` as the global allocator.

use memscope_runtime::TrackingAllocator;

#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

fn main() {
    memscope_bench::workload::main(true);
}
