//! pprof `profile.proto` heap (in-use) and allocation (cumulative) profiles of a
//! snapshot, gzip-compressed, as `go tool pprof`, Grafana Pyroscope / Alloy, Parca and
//! the OpenTelemetry Collector read them from `/debug/pprof/heap` and
//! `/debug/pprof/allocs`.
//!
//! `profile` mirrors the proto's messages, `samples` decides what the samples are (one
//! concept: which stack and labels every byte goes under), `split` shares a sample's
//! exact figures over its tasks' sampled call sites, `encode` interns strings, functions
//! and locations and compresses. The layout is documented on [`MemorySnapshot::pprof`].

mod encode;
mod profile;
mod samples;
mod split;

use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Which pprof profile [`MemorySnapshot::pprof`] writes. Both carry the same four sample
/// types and samples, as Go's do; they differ in the one a reader shows first.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::PprofKind;
/// assert_eq!(PprofKind::Heap.default_sample_type(), "inuse_space");
/// assert_eq!(PprofKind::Allocs.default_sample_type(), "alloc_space");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PprofKind {
    /// The in-use profile (`/debug/pprof/heap`): shows `inuse_space` first.
    Heap,
    /// The cumulative allocation profile (`/debug/pprof/allocs`): shows `alloc_space`
    /// first.
    Allocs,
}

impl PprofKind {
    /// The sample type a reader shows first (the profile's `default_sample_type`).
    pub const fn default_sample_type(self) -> &'static str {
        match self {
            PprofKind::Heap => "inuse_space",
            PprofKind::Allocs => "alloc_space",
        }
    }
}

/// `snapshot` as a gzip-compressed pprof profile of `kind` (see [`MemorySnapshot::pprof`]).
/// What it allocates is memscope's own (the `tracker` bucket).
pub(crate) fn render(snapshot: &MemorySnapshot, kind: PprofKind) -> Vec<u8> {
    let _internal = thread::internal();
    let samples = samples::collect(snapshot);
    let mut comments = vec![format!(
        "memscope snapshot {} at {:?} since the tracker started: exact figures, \
         every allocation counted (not sampled)",
        snapshot.id, snapshot.taken_at
    )];
    let sites = &snapshot.sites;
    if !sites.stacks.is_empty() {
        comments.push(format!(
            "call stacks under the task frames: each figure shared over its tasks' call \
             sites in proportion to their estimates from {} sampled allocations (mean {} \
             bytes apart now)",
            sites.samples, sites.sample_bytes
        ));
    }
    let header = encode::Header {
        default_sample_type: kind.default_sample_type(),
        time_nanos: nanos(
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        ),
        duration_nanos: nanos(snapshot.taken_at),
        comments,
    };
    encode::gzip(&encode::profile(&samples, &sites.stacks, header))
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}

impl MemorySnapshot {
    /// This snapshot as a gzip-compressed pprof `profile.proto` (what Go's
    /// `/debug/pprof/heap` and `/debug/pprof/allocs` serve): save it to a file for
    /// `go tool pprof`, or serve it to a continuous profiler.
    ///
    /// **Sample types**, the same in both kinds (`kind` picks the one shown first), each
    /// exactly a [`HeapCounters`](crate::HeapCounters) figure of the sample's tasks:
    /// - `alloc_objects` (count): allocations made, cumulative (`allocation_count`);
    /// - `alloc_space` (bytes): bytes allocated, cumulative (`allocated_bytes`);
    /// - `inuse_objects` (count): blocks allocated and not yet freed, by anyone
    ///   ([`live_count`](crate::HeapCounters::live_count));
    /// - `inuse_space` (bytes): bytes allocated and not yet freed, by anyone
    ///   ([`live_bytes`](crate::HeapCounters::live_bytes)).
    ///
    /// The figures are counted, not sampled, so nothing is scaled: `period` is 1
    /// (`space`/`bytes`), and the sums of the samples under any labels or task frames are
    /// memscope's exact counters (only their split over call sites, below, comes from
    /// sampled estimates). `time_nanos` is the wall clock when the profile is written,
    /// `duration_nanos` the snapshot's [`taken_at`](MemorySnapshot::taken_at): the time
    /// the cumulative figures cover.
    ///
    /// **Samples and labels.** Every byte the allocator hook saw is in exactly one sample,
    /// labelled `task_type` (the short name: `network`, `cpu`, …) and `task` (the task's
    /// name), never a task id, so a profiler's series stay as few as the names:
    /// - each task listed in [`tasks`](MemorySnapshot::tasks), its own traffic (not its
    ///   children's), under the stack of its chain of tasks: root task → … → the task, one
    ///   frame per task named after it, so a flame graph splits memory by task. A chain
    ///   whose next parent is not listed starts at a `(folded parent)` frame; one deeper
    ///   than 128 tasks keeps the task and its 127 nearest ancestors under a
    ///   `(deeper tasks)` frame.
    ///   Tasks with the same chain of names and the same type are one sample (pprof adds
    ///   such samples up anyway);
    /// - per [group](MemorySnapshot::groups), what its tasks folded out of the per-task
    ///   list add up to (the group's figures minus its listed tasks'), under
    ///   `(folded tasks)` → the group's name (their parents are no longer known);
    /// - [`untracked`](MemorySnapshot::untracked), heap traffic outside any task: frame
    ///   `(untracked)`, label `task_type="untracked"`, no `task` label;
    /// - [`tracker`](MemorySnapshot::tracker), memscope's own: frame
    ///   `(memscope tracker)`, label `task_type="tracker"`, no `task` label.
    ///
    /// **Call stacks under the tasks.** Where allocations were sampled
    /// ([`Config::with_sample_bytes`](crate::Config::with_sample_bytes), the snapshot's
    /// [`sites`](MemorySnapshot::sites)), each of these samples is split over the call
    /// sites of the tasks it stands for, and a part's stack is the site's call stack
    /// (innermost frame first) followed by the task frames. Each value is shared in
    /// proportion to the matching estimate of the sites: allocations and bytes allocated
    /// by the sites' allocated figures of the task's group; blocks and bytes in use by a
    /// running task's own sites, by what the group's sites retain for finished and folded
    /// tasks, and by the group's in-use figures when those weigh nothing; `untracked` by
    /// the sites outside any task. Shares are whole units, the rounding's remainder going
    /// to the largest, so every figure above stays exact, to the byte; what no sampled
    /// site weighs stays under the task frames alone. The frames of one return address
    /// (calls inlined there) are one location with one line each, innermost first, as in
    /// Go's profiles; functions carry their source file and locations their line, so no
    /// mapping is needed (and none is written).
    ///
    /// Samples whose four figures are all zero are left out. So the samples labelled
    /// `task_type="network"` add up to `by_type(TaskType::NetworkIntensive).heap`, those
    /// labelled `task="conn"` to the `heap` of the groups named `conn` (names past
    /// [`Config::max_groups`](crate::Config::max_groups) are folded under `(other names)`,
    /// as in every report), and all samples to
    /// [`all_heap_traffic`](MemorySnapshot::all_heap_traffic). The cumulative figures of a
    /// task frame in `go tool pprof -top` are those of the tasks of that name and the
    /// tasks under them; with nothing sampled, its flat figures are those of the tasks of
    /// that name.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{PprofKind, TaskType, Tracked};
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let kept = rt.block_on(Tracked::new(async { vec![7u8; 4096] }, "fetch", TaskType::NetworkIntensive));
    ///
    /// let heap = memscope::snapshot().pprof(PprofKind::Heap);
    /// assert_eq!(heap[..2], [0x1f, 0x8b]); // gzip
    /// let path = std::env::temp_dir().join("memscope-doc-heap.pb.gz");
    /// std::fs::write(&path, &heap)?; // then: go tool pprof -sample_index=inuse_space -top <path>
    /// # drop(kept);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn pprof(&self, kind: PprofKind) -> Vec<u8> {
        render(self, kind)
    }
}

#[cfg(test)]
mod tests;
