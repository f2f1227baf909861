//! Tests of the pprof profiles: decoded back, their sums per label are the snapshot's.

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
