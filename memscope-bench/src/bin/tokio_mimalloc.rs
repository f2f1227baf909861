//! The tokio workload (see `memscope_bench::workload`) with plain `MiMalloc` (no tracking) as the global allocator.

use mimalloc::MiMalloc;

#[global_allocator]
static GLOBAL: MiMalloc = MiMalloc;

fn main() {
    memscope_bench::workload::main(false);
}
