//! The tokio workload (see `memscope_bench::workload`) with plain `System` (no tracking) as the global allocator.

use std::alloc::System;

#[global_allocator]
static GLOBAL: System = System;

fn main() {
    memscope_bench::workload::main(false);
}
