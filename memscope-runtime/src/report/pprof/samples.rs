//! What a pprof profile of a snapshot holds, before encoding: stacks of task names, with
//! the call stacks of the sampled sites under them, labels and the four heap figures,
//! merged where stack and labels are equal.
//!
//! Every byte the hook saw is in exactly one sample: each listed task's own traffic under
//! its chain of tasks, each group's folded remainder (the group's figures minus those of
//! its listed tasks), and the `untracked` and `tracker` buckets. Each of these exact
//! figures is then shared over the call sites its tasks were sampled at (`split`): a
//! running task's own sites for its memory in use, its group's for the rest (finished
//! tasks' memory in use by what the group's sites retain), the sites outside any task for
//! `untracked`; what no sampled site weighs stays on the task frames alone.

use super::split::{self, Figure, Parts, Weights};
use crate::base::counters::HeapCounters;
use crate::base::task::TaskType;
use crate::view::sites::{CallSites, SiteFigures};
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use std::collections::{BTreeMap, HashMap};

/// The root frame of a chain whose next parent is not listed in the snapshot.
pub(crate) const FOLDED_PARENT: &str = "(folded parent)";
/// The root frame above the group name of tasks folded out of the per-task list.
pub(crate) const FOLDED_TASKS: &str = "(folded tasks)";
/// The root frame of a chain cut at [`MAX_TASK_FRAMES`] tasks.
pub(crate) const DEEPER_TASKS: &str = "(deeper tasks)";
/// The frame and `task_type` label of heap traffic outside any task.
pub(crate) const UNTRACKED: (&str, &str) = ("(untracked)", "untracked");
/// The frame and `task_type` label of memscope's own heap traffic.
pub(crate) const TRACKER: (&str, &str) = ("(memscope tracker)", "tracker");
/// Most task frames in one stack (the leaf side is kept, as Go's profiles do).
pub(crate) const MAX_TASK_FRAMES: usize = 128;

/// The four values of a sample, in the order of the profile's sample types: allocations,
/// bytes allocated, blocks in use, bytes in use.
pub(crate) type Values = [u64; 4];

/// The stack (leaf first) and labels of a sample: what pprof merges samples by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key<'a> {
    /// The `task_type` label.
    pub task_type: &'a str,
    /// The `task` label; `None` for the buckets outside any task.
    pub task: Option<&'a str>,
    /// Task frame names, leaf first.
    pub frames: Vec<&'a str>,
    /// The call stack under the task frames, an index into the snapshot's
    /// [`CallSites::stacks`]; `None`: the task frames alone.
    pub site: Option<usize>,
}

/// The values of `heap`, in the order of [`Values`].
pub(crate) fn values(heap: HeapCounters) -> Values {
    [
        heap.allocation_count,
        heap.allocated_bytes,
        heap.live_count(),
        heap.live_bytes(),
    ]
}

/// The samples of `s`, in a stable order, none of them all zero.
///
/// A running task is split over its own sites on its own; finished tasks under the same
/// chain and labels (and each folded remainder) are added up first and split once, by
/// their group's sites, so the rounding of one split is all there is per sample.
pub(crate) fn collect(s: &MemorySnapshot) -> Vec<(Key<'_>, Values)> {
    let mut out: BTreeMap<Key<'_>, Values> = BTreeMap::new();
    let mut finished: BTreeMap<Key<'_>, (Values, &[SiteFigures])> = BTreeMap::new();
    let mut add_finished = |key, v: Values, group| {
        let (sum, _) = finished.entry(key).or_insert(([0; 4], group));
        plus(sum, v);
    };
    let sites = &s.sites;
    for t in &s.tasks {
        let group = group_sites(sites, t.task_type, &t.name);
        let key = Key {
            task_type: t.task_type.as_str(),
            task: Some(&t.name),
            frames: chain(s, t),
            site: None,
        };
        if t.ended_at.is_some() {
            add_finished(key, values(t.heap), group);
            continue;
        }
        let own = sites.task(t.id).map_or(&[][..], |t| &t.sites[..]);
        let in_use = [by(own, Figure::InUse), by(group, Figure::InUse)];
        let allocated = [by(group, Figure::Allocated)];
        add(
            &mut out,
            &key,
            split::over_sites(values(t.heap), &allocated, &in_use),
        );
    }
    for (task_type, name, heap) in folded_remainders(s) {
        let key = Key {
            task_type: task_type.as_str(),
            task: Some(name),
            frames: vec![name, FOLDED_TASKS],
            site: None,
        };
        add_finished(key, values(heap), group_sites(sites, task_type, name));
    }
    for (key, (v, group)) in finished {
        // Finished tasks' memory in use is what their group's sites retain.
        let in_use = [by(group, Figure::Retained), by(group, Figure::InUse)];
        let allocated = [by(group, Figure::Allocated)];
        add(&mut out, &key, split::over_sites(v, &allocated, &in_use));
    }
    let buckets = [
        (UNTRACKED, s.untracked, &sites.untracked[..]),
        (TRACKER, s.tracker, &[][..]),
    ];
    for ((frame, label), heap, sites) in buckets {
        let key = Key {
            task_type: label,
            task: None,
            frames: vec![frame],
            site: None,
        };
        let allocated = [by(sites, Figure::Allocated)];
        let parts = split::over_sites(values(heap), &allocated, &[by(sites, Figure::InUse)]);
        add(&mut out, &key, parts);
    }
    out.into_iter().collect()
}

/// Adds the parts of one exact sample, whose labels and task frames are `key`'s, to `out`.
fn add<'a>(out: &mut BTreeMap<Key<'a>, Values>, key: &Key<'a>, parts: Parts) {
    for (site, v) in parts {
        let key = Key {
            site,
            ..key.clone()
        };
        plus(out.entry(key).or_default(), v);
    }
}

/// `v` added to `sum`, value by value.
fn plus(sum: &mut Values, v: Values) {
    sum.iter_mut()
        .zip(v)
        .for_each(|(a, v)| *a = a.saturating_add(v));
}

/// `sites` weighed by `figure`.
fn by(sites: &[SiteFigures], figure: Figure) -> Weights<'_> {
    Weights { sites, by: figure }
}

/// The sites of the group of tasks named `name` of type `task_type`; none if it was not
/// sampled.
fn group_sites<'a>(sites: &'a CallSites, task_type: TaskType, name: &str) -> &'a [SiteFigures] {
    sites
        .groups
        .iter()
        .find(|g| g.task_type == task_type && g.name == name)
        .map_or(&[][..], |g| &g.sites[..])
}

/// `t`'s name and its ancestors' up to the root, leaf first; ends with [`FOLDED_PARENT`]
/// at a parent not listed and [`DEEPER_TASKS`] past [`MAX_TASK_FRAMES`] (which also ends a
/// cycle a hand-made snapshot could hold).
fn chain<'a>(s: &'a MemorySnapshot, t: &'a TaskMemoryProfile) -> Vec<&'a str> {
    let mut frames = vec![t.name.as_str()];
    let mut parent = t.parent;
    while let Some(id) = parent {
        if frames.len() == MAX_TASK_FRAMES {
            frames.push(DEEPER_TASKS);
            break;
        }
        match s.task(id) {
            Some(p) => {
                frames.push(&p.name);
                parent = p.parent;
            }
            None => {
                frames.push(FOLDED_PARENT);
                break;
            }
        }
    }
    frames
}

/// Per group, what its tasks folded out of the per-task list add up to: the group's
/// figures minus its listed tasks' (a snapshot adds each listed task to its group from the
/// same reading, so the difference is exact).
fn folded_remainders(s: &MemorySnapshot) -> Vec<(TaskType, &str, HeapCounters)> {
    let mut listed: HashMap<(TaskType, &str), HeapCounters> = HashMap::new();
    for t in &s.tasks {
        *listed.entry((t.task_type, &t.name)).or_default() += t.heap;
    }
    s.groups
        .iter()
        .map(|g| {
            let held = listed
                .get(&(g.task_type, g.name.as_str()))
                .copied()
                .unwrap_or_default();
            (g.task_type, g.name.as_str(), minus(g.heap, held))
        })
        .collect()
}

fn minus(a: HeapCounters, b: HeapCounters) -> HeapCounters {
    HeapCounters::new(
        a.allocated_bytes.saturating_sub(b.allocated_bytes),
        a.allocation_count.saturating_sub(b.allocation_count),
        a.freed_bytes.saturating_sub(b.freed_bytes),
        a.free_count.saturating_sub(b.free_count),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::TaskId;
    use crate::report::rollup::tests::{snap, task};
    use crate::view::sites::{GroupSites, TaskSites};

    /// `snap` of `tasks` without the process's own sampled sites.
    fn unsampled(tasks: Vec<TaskMemoryProfile>) -> MemorySnapshot {
        let mut s = snap(tasks);
        s.sites = CallSites::default();
        s
    }

    fn frames<'a>(samples: &'a [(Key<'a>, Values)], task: &str) -> Vec<Vec<&'a str>> {
        let of = |k: &&(Key<'a>, Values)| k.0.task == Some(task);
        samples
            .iter()
            .filter(of)
            .map(|(k, _)| k.frames.clone())
            .collect()
    }

    #[test]
    fn a_task_stands_under_its_chain_of_listed_tasks() {
        let mut s = unsampled(vec![
            task(1, "conn", None, 100, 0),
            task(2, "request", Some(1), 200, 50),
            task(3, "load", Some(2), 300, 300),
            task(4, "orphan", Some(99), 10, 0),
        ]);
        s.untracked = HeapCounters::default();
        s.tracker = HeapCounters::new(1, 1, 0, 0);
        let samples = collect(&s);
        assert_eq!(frames(&samples, "load"), [["load", "request", "conn"]]);
        assert_eq!(frames(&samples, "orphan"), [["orphan", FOLDED_PARENT]]);
        // All listed: no folded remainder; an empty bucket is no sample.
        assert_eq!(samples.len(), 5);
        assert!(samples.iter().all(|(k, _)| k.task_type != UNTRACKED.1));
        assert!(samples.iter().all(|(k, _)| k.site.is_none()));
    }

    #[test]
    fn tasks_with_the_same_chain_and_labels_are_one_sample() {
        let s = unsampled(vec![
            task(1, "conn", None, 100, 0),
            task(2, "request", Some(1), 200, 50),
            task(3, "request", Some(1), 300, 300),
        ]);
        let samples = collect(&s);
        let (_, v) = samples
            .iter()
            .find(|(k, _)| k.task == Some("request"))
            .unwrap();
        assert_eq!(*v, values(HeapCounters::new(500, 2, 150, 2)));
    }

    #[test]
    fn a_group_adds_what_its_folded_tasks_hold_under_the_folded_frame() {
        let mut s = unsampled(vec![task(1, "conn", None, 100, 40)]);
        let g = s.groups.iter_mut().find(|g| g.name == "conn").unwrap();
        g.heap += HeapCounters::new(1000, 10, 900, 9);
        let samples = collect(&s);
        let folded: Vec<_> = samples
            .iter()
            .filter(|(k, _)| k.frames == ["conn", FOLDED_TASKS])
            .collect();
        assert_eq!(folded.len(), 1);
        assert_eq!(folded[0].1, values(HeapCounters::new(1000, 10, 900, 9)));
        assert_eq!(folded[0].0.task_type, "network");
    }

    #[test]
    fn a_chain_is_cut_at_the_frame_limit() {
        let n = MAX_TASK_FRAMES as u64 + 10;
        let tasks = (1..=n)
            .map(|i| task(i, "level", (i > 1).then_some(i - 1), 10, 0))
            .collect();
        let s = unsampled(tasks);
        let leaf = s.task(TaskId::from_u64(n)).unwrap();
        let frames = chain(&s, leaf);
        assert_eq!(frames.len(), MAX_TASK_FRAMES + 1);
        assert_eq!(frames.last(), Some(&DEEPER_TASKS));
    }

    fn site(stack: usize, allocated: u64, in_use: u64, retained: u64) -> SiteFigures {
        SiteFigures {
            stack,
            allocated_bytes: allocated,
            allocations: 1,
            in_use_bytes: in_use,
            in_use_blocks: u64::from(in_use > 0),
            retained_bytes: retained,
            retained_blocks: u64::from(retained > 0),
        }
    }

    /// The samples labelled `task` under task frames `frames`, as (call stack, values).
    fn of(samples: &[(Key<'_>, Values)], task: Option<&str>, frames: &[&str]) -> Parts {
        samples
            .iter()
            .filter(|(k, _)| k.task == task && k.frames == frames)
            .map(|(k, v)| (k.site, *v))
            .collect()
    }

    #[test]
    fn each_sample_is_shared_over_the_sites_of_the_tasks_it_stands_for() {
        // Task 2 runs and has sites of its own; task 3 finished; more of the group folded.
        let mut running = task(2, "request", None, 1000, 1000);
        running.ended_at = None;
        let mut s = unsampled(vec![running, task(3, "request", None, 600, 300)]);
        let g = s.groups.iter_mut().find(|g| g.name == "request").unwrap();
        g.heap += HeapCounters::new(400, 4, 300, 3);
        s.untracked = HeapCounters::new(90, 3, 0, 0);
        s.tracker = HeapCounters::new(7, 1, 0, 0);
        s.sites.groups.push(GroupSites {
            name: "request".into(),
            task_type: TaskType::NetworkIntensive,
            // Site 0 is where the running task's memory is, site 1 what finished ones keep.
            sites: vec![site(0, 3000, 1000, 0), site(1, 1000, 100, 100)],
        });
        s.sites.tasks.push(TaskSites {
            id: TaskId::from_u64(2),
            sites: vec![site(0, 0, 1000, 0)],
        });
        s.sites.untracked = vec![site(2, 60, 0, 0), site(3, 30, 0, 0)];
        let samples = collect(&s);
        let request = of(&samples, Some("request"), &["request"]);
        // Allocated (1000 + 600 bytes, 2 blocks) by the group's sites, 3:1 and 1:1 (the
        // odd block to the first); the running task's 1000 bytes in use at its own site
        // 0, the finished one's 300 where the group's finished tasks retain: site 1.
        assert_eq!(
            request,
            [(Some(0), [2, 1200, 0, 1000]), (Some(1), [0, 400, 0, 300])]
        );
        let folded = of(&samples, Some("request"), &["request", FOLDED_TASKS]);
        assert_eq!(
            folded,
            [(Some(0), [2, 300, 0, 0]), (Some(1), [2, 100, 1, 100])]
        );
        // Outside tasks, nothing sampled is in use any more: the 90 bytes in use stay on
        // the `(untracked)` frame alone.
        let untracked = of(&samples, None, &[UNTRACKED.0]);
        assert_eq!(
            untracked,
            [
                (None, [0, 0, 3, 90]),
                (Some(2), [2, 60, 0, 0]),
                (Some(3), [1, 30, 0, 0])
            ]
        );
        // No sites for memscope's own traffic: its task frames alone.
        assert_eq!(of(&samples, None, &[TRACKER.0]), [(None, [1, 7, 1, 7])]);
    }
}
