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
mod tests {
    use super::profile::{Profile, Sample};
    use super::*;
    use crate::base::counters::HeapCounters;
    use crate::base::task::TaskType;
    use crate::report::rollup::tests::{snap, task};
    use crate::view::sites::{CallSites, CallStack, GroupSites, SiteFigures, StackFrame};
    use prost::Message;
    use std::collections::BTreeMap;
    use std::io::Read;

    fn decode(gz: &[u8]) -> Profile {
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(gz)
            .read_to_end(&mut raw)
            .unwrap();
        Profile::decode(raw.as_slice()).unwrap()
    }

    /// Listed tasks of two types in a chain, a folded remainder, both buckets.
    fn snapshot() -> MemorySnapshot {
        let mut cpu = task(4, "hash", Some(2), 700, 100);
        cpu.task_type = TaskType::CpuIntensive;
        let mut s = snap(vec![
            task(1, "conn", None, 100, 0),
            task(2, "request", Some(1), 2000, 1000),
            task(3, "request", Some(1), 3000, 0),
            cpu,
        ]);
        let g = s.groups.iter_mut().find(|g| g.name == "request").unwrap();
        g.heap += HeapCounters::new(50_000, 40, 45_000, 35);
        s.untracked = HeapCounters::new(9000, 90, 1000, 10);
        s.tracker = HeapCounters::new(300, 3, 0, 0);
        // Not the sites this test process sampled.
        s.sites = CallSites::default();
        s
    }

    fn frame(function: &str, file: Option<&str>, line: u32, address: u64) -> StackFrame {
        StackFrame {
            function: function.into(),
            file: file.map(Into::into),
            line: Some(line).filter(|_| file.is_some()),
            address,
        }
    }

    /// [`snapshot`] with sites sampled in the `request` group and outside any task:
    /// stack 0 has a call inlined at its innermost return address.
    fn sampled() -> MemorySnapshot {
        let mut s = snapshot();
        let app = Some("/src/app.rs");
        s.sites.stacks = vec![
            CallStack {
                frames: vec![
                    frame("alloc::raw_vec::grow", Some("/rust/raw_vec.rs"), 10, 0x1000),
                    frame("app::fill", app, 20, 0x1000),
                    frame("app::run", app, 30, 0x2000),
                ],
            },
            CallStack {
                frames: vec![
                    frame("app::other", None, 0, 0x3000),
                    frame("app::run", app, 31, 0x2001),
                ],
            },
        ];
        let site = |stack, bytes| SiteFigures {
            stack,
            allocated_bytes: bytes,
            allocations: 1,
            in_use_bytes: bytes,
            in_use_blocks: 1,
            retained_bytes: bytes,
            retained_blocks: 1,
        };
        s.sites.groups.push(GroupSites {
            name: "request".into(),
            task_type: TaskType::NetworkIntensive,
            sites: vec![site(0, 3000), site(1, 1000)],
        });
        s.sites.untracked = vec![site(1, 64)];
        s
    }

    /// The four values of every sample added up per value of label `key`.
    fn sums_by(p: &Profile, key: &str) -> BTreeMap<String, [i64; 4]> {
        let s = |i: i64| p.string_table[i as usize].clone();
        let mut out = BTreeMap::new();
        for sample in &p.sample {
            let Some(l) = sample.label.iter().find(|l| s(l.key) == key) else {
                continue;
            };
            let sum: &mut [i64; 4] = out.entry(s(l.str)).or_default();
            for (a, v) in sum.iter_mut().zip(&sample.value) {
                *a += v;
            }
        }
        out
    }

    fn figures(h: HeapCounters) -> [i64; 4] {
        [
            h.allocation_count,
            h.allocated_bytes,
            h.live_count(),
            h.live_bytes(),
        ]
        .map(|v| v as i64)
    }

    #[test]
    fn the_sums_per_label_are_the_snapshots_figures() {
        for s in [snapshot(), sampled()] {
            for kind in [PprofKind::Heap, PprofKind::Allocs] {
                sums_are_the_figures(&s, &decode(&s.pprof(kind)));
            }
        }
    }

    fn sums_are_the_figures(s: &MemorySnapshot, p: &Profile) {
        let by_type = sums_by(p, "task_type");
        for ty in [TaskType::NetworkIntensive, TaskType::CpuIntensive] {
            assert_eq!(by_type[ty.as_str()], figures(s.by_type(ty).heap), "{ty}");
        }
        assert_eq!(by_type["untracked"], figures(s.untracked));
        assert_eq!(by_type["tracker"], figures(s.tracker));
        assert_eq!(by_type.len(), 4);
        let by_task = sums_by(p, "task");
        for g in &s.groups {
            assert_eq!(by_task[&g.name], figures(g.heap), "{}", g.name);
        }
        assert_eq!(by_task.len(), s.groups.len());
        let mut all = [0; 4];
        for v in by_type.values() {
            all.iter_mut().zip(v).for_each(|(a, v)| *a += v);
        }
        assert_eq!(all, figures(s.all_heap_traffic()));
    }

    #[test]
    fn the_profile_is_well_formed_and_names_its_figures() {
        let s = snapshot();
        let p = decode(&render(&s, PprofKind::Heap));
        let str_of = |i: i64| p.string_table[i as usize].as_str();
        assert_eq!(p.string_table[0], "");
        let types: Vec<_> = p
            .sample_type
            .iter()
            .map(|t| (str_of(t.r#type), str_of(t.unit)))
            .collect();
        assert_eq!(types, encode::SAMPLE_TYPES);
        assert_eq!(str_of(p.default_sample_type), "inuse_space");
        let allocs = decode(&render(&s, PprofKind::Allocs));
        assert_eq!(
            allocs.string_table[allocs.default_sample_type as usize],
            "alloc_space"
        );
        assert_eq!(p.period, 1);
        assert_eq!(p.duration_nanos, s.taken_at.as_nanos() as i64);
        assert!(p.time_nanos > 1_600_000_000_000_000_000);
        let frame = |id: u64| {
            let loc = p.location.iter().find(|l| l.id == id).unwrap();
            let f = p
                .function
                .iter()
                .find(|f| f.id == loc.line[0].function_id)
                .unwrap();
            str_of(f.name)
        };
        let stacks: Vec<Vec<&str>> = p
            .sample
            .iter()
            .map(|s| s.location_id.iter().map(|&id| frame(id)).collect())
            .collect();
        assert!(stacks.contains(&vec!["hash", "request", "conn"]));
        assert!(stacks.contains(&vec!["request", "(folded tasks)"]));
        assert!(stacks.contains(&vec!["(untracked)"]));
        assert!(p
            .sample
            .iter()
            .all(|s| s.value.len() == 4 && s.value.iter().any(|&v| v != 0)));
    }

    #[test]
    fn call_stacks_stand_under_the_task_frames_with_inlined_calls_as_lines() {
        let s = sampled();
        let p = decode(&s.pprof(PprofKind::Heap));
        let str_of = |i: i64| p.string_table[i as usize].as_str();
        let location = |id: u64| p.location.iter().find(|l| l.id == id).unwrap();
        let function = |id: u64| p.function.iter().find(|f| f.id == id).unwrap();
        // (address, [(function, file, line)]) of each location of a stack, leaf first.
        type Frames<'a> = Vec<(u64, Vec<(&'a str, &'a str, i64)>)>;
        let stack = |sample: &Sample| -> Frames<'_> {
            sample
                .location_id
                .iter()
                .map(|&id| {
                    let l = location(id);
                    let lines = l.line.iter().map(|line| {
                        let f = function(line.function_id);
                        (str_of(f.name), str_of(f.filename), line.line)
                    });
                    (l.address, lines.collect())
                })
                .collect()
        };
        let stacks: Vec<_> = p.sample.iter().map(stack).collect();
        let app = "/src/app.rs";
        let under_request: Frames<'_> = vec![
            (
                0x1000,
                vec![
                    ("alloc::raw_vec::grow", "/rust/raw_vec.rs", 10),
                    ("app::fill", app, 20),
                ],
            ),
            (0x2000, vec![("app::run", app, 30)]),
            (0, vec![("request", "", 0)]),
            (0, vec![("conn", "", 0)]),
        ];
        assert!(stacks.contains(&under_request), "{stacks:#?}");
        let other: Frames<'_> = vec![
            (0x3000, vec![("app::other", "", 0)]),
            (0x2001, vec![("app::run", app, 31)]),
            (0, vec![("(untracked)", "", 0)]),
        ];
        assert!(stacks.contains(&other), "{stacks:#?}");
        // One function per name and file, one location per address (and task frame).
        let names: Vec<_> = p.function.iter().map(|f| str_of(f.name)).collect();
        assert_eq!(names.iter().filter(|&&n| n == "app::run").count(), 1);
        let mut addresses: Vec<_> = p.location.iter().map(|l| l.address).collect();
        addresses.retain(|&a| a != 0);
        addresses.sort_unstable();
        assert_eq!(addresses, [0x1000, 0x2000, 0x2001, 0x3000]);
        assert!(p.mapping.is_empty());
        // No system name: `go tool pprof` would take the names for ones to simplify.
        assert!(p.function.iter().all(|f| f.system_name == 0));
        // No sites sampled for `hash`: its chain alone.
        let hash: Frames<'_> = ["hash", "request", "conn"]
            .map(|n| (0, vec![(n, "", 0)]))
            .to_vec();
        assert!(stacks.contains(&hash));
        assert!(p
            .comment
            .iter()
            .any(|&c| str_of(c).starts_with("call stacks")));
    }
}
