//! The tokio workload (see `memscope_bench::workload`) with `TrackingAllocator<MiMalloc>` as the global allocator.

use memscope_runtime::TrackingAllocator;
use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: TrackingAllocator<MiMalloc> = TrackingAllocator::new(MiMalloc);

fn main() {
    memscope_bench::workload::main(true);
}
