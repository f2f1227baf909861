//! The key-value server workload (see `memscope_bench::server`) with plain `System` (no
//! tracking) as the global allocator, running the untracked server.

use std::alloc::System;

#[global_allocator]
static GLOBAL: System = System;

fn main() {
    memscope_bench::server::main(false);
}
