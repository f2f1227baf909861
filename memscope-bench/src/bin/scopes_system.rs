//! What a nested tracked fn (created, polled once, finished inside a tracked task) costs
//! over the same future unwrapped, on `TrackingAllocator<System>`. Argument: rounds
//! (default 41).

use memscope_runtime::TrackingAllocator;

#[global_allocator]
static GLOBAL: TrackingAllocator<std::alloc::System> = TrackingAllocator::system();

fn main() {
    memscope_bench::scopes::run("system", memscope_bench::count_arg(41));
}
