//! The hot path: what runs on every allocation, free and poll — nothing on it locks,
//! allocates through the global allocator or panics — and the other code that talks to
//! the operating system. Most of memscope's `unsafe` code is in this folder (`allocator`,
//! `owner_table`, `charge`'s dereference of an owner word, `thread`'s of the current
//! record, `record_ref`'s uncounted `Arc`, `finished_list`'s links, `signals`, `exit`);
//! outside it are calls of its `unsafe` functions, each with its contract in their docs
//! (`thread::enter_raw`/`exit_raw` by `track::tracked`'s poll guard, `RecordRef::new` and
//! `FinishedList::drain` by `books::store`), and the reads of what the hook packed into
//! sampled blocks and records (`books::sites`, `view::scan`, `books::shard`'s `unique`).
//!
//! - [`allocator`]: `TrackingAllocator`, the `GlobalAlloc` that forwards to the inner
//!   allocator and keeps an owner word with each block;
//! - [`placement`]: where a block's owner word goes ([`OwnerPlacement`](placement::OwnerPlacement));
//! - [`charge`]: the one place that decides which bucket an allocation or a free goes to;
//! - [`thread`]: each thread's current-task slot, its batch, and the scope guards;
//! - [`cell`]: what a task's blocks point at, which outlives its record if they do;
//!   [`cell_chunk`]: where cells live, and which meter each belongs to;
//! - [`meter`]: the running figures and limits of a measured or budgeted task tree;
//! - [`record`]: one task's atomic counters and the rules for reading them;
//!   [`finished_list`]: the tasks that ended since their shard was last locked;
//!   [`record_ref`]: the `Tracked`'s uncounted reference to its record;
//! - [`outside`]: the `untracked` and `tracker` buckets;
//! - [`clock`]: the tracker's monotonic clock;
//! - [`poll_sample`]: which polls to time when one in several is;
//! - `signals` (Linux): SIGINT and SIGTERM watched without changing what they do;
//! - [`exit`]: code run at normal process exit (the seed API's report);
//! - [`sampling`]: which allocations are sampled for their call sites ([`countdown`]
//!   is each thread's count of bytes to the next one); [`stack`] walks a
//!   sampled allocation's stack, [`stacks`] interns it, [`sample_slots`] keeps the sample.

pub(crate) mod allocator;
pub(crate) mod batch;
pub(crate) mod cell;
pub(crate) mod cell_chunk;
pub(crate) mod charge;
pub(crate) mod clock;
pub(crate) mod countdown;
pub(crate) mod exit;
pub(crate) mod finished_list;
pub(crate) mod meter;
pub(crate) mod outside;
pub(crate) mod owner_table;
pub(crate) mod placement;
pub(crate) mod poll_sample;
pub(crate) mod record;
pub(crate) mod record_ref;
pub(crate) mod sample_slots;
pub(crate) mod sampling;
#[cfg(target_os = "linux")]
pub(crate) mod signals;
pub(crate) mod stack;
pub(crate) mod stacks;
pub(crate) mod thread;

/// Starts one of memscope's own threads (sampler, call-site collector, endpoint, report
/// rewriter, metrics publisher, signal watcher), named `name`, running `body`. SIGINT and
/// SIGTERM are never delivered to it, from its first instruction on: they are blocked on
/// the calling thread while it is created (a new thread inherits its creator's mask) and
/// unblocked again on the caller after. So the signal handler, which holds its thread
/// until the watcher took its snapshot, never runs on a memscope thread — one that may hold
/// a lock that snapshot needs, or the watcher itself before it began to watch (under load
/// a new thread can wait tens of milliseconds for its first run: a handler on it held the
/// watcher back for its whole 2 s).
pub(crate) fn spawn_own_thread<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<std::thread::JoinHandle<T>> {
    #[cfg(target_os = "linux")]
    let _blocked = signals::BlockedHere::new();
    std::thread::Builder::new().name(name.into()).spawn(body)
}

/// Whether allocations reach memscope's `TrackingAllocator` (it is the
/// `#[global_allocator]`, directly or wrapped). Not on the hot path: it allocates a probe
/// block to see where it is counted.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// // Adding `memscope` with its default features installs the hook.
/// assert!(memscope::hook_installed());
/// ```
pub fn hook_installed() -> bool {
    let before = outside::tracker_counters().allocation_count;
    {
        let _internal = thread::internal();
        drop(std::hint::black_box(Box::new(0u64)));
    }
    outside::tracker_counters().allocation_count > before
}
