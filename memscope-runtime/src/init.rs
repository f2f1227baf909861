//! Start-up: checking that the allocator hook is installed.

use crate::buckets;
use crate::context;
use crate::error::Error;

/// Whether allocations reach memscope's [`TrackingAllocator`](crate::TrackingAllocator)
/// (it is the `#[global_allocator]`, directly or wrapped).
///
/// ```
/// // Doctests have no global allocator of memscope's unless they install one.
/// assert!(!memscope_runtime::hook_installed());
/// ```
pub fn hook_installed() -> bool {
    let before = buckets::tracker_totals().allocation_count;
    {
        let _internal = context::internal();
        drop(std::hint::black_box(Box::new(0u64)));
    }
    buckets::tracker_totals().allocation_count > before
}

/// Checks that tracking works; idempotent and cheap.
///
/// # Errors
/// [`Error::HookNotInstalled`], saying how to install it, when allocations do not reach
/// the allocator hook.
///
/// ```
/// # #[global_allocator] static A: memscope_runtime::TrackingAllocator = memscope_runtime::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// memscope_runtime::initialize().await?;
/// memscope_runtime::initialize().await?; // again: fine
/// # Ok::<(), memscope_runtime::Error>(())
/// # }).unwrap();
/// ```
pub async fn initialize() -> Result<(), Error> {
    if hook_installed() {
        Ok(())
    } else {
        Err(Error::HookNotInstalled)
    }
}
