//! What a pprof profile of a snapshot holds, before encoding: stacks of task names, with
//! labels and the four heap figures, merged where stack and labels are equal.
//!
//! Every byte the hook saw is in exactly one sample: each listed task's own traffic under
//! its chain of tasks, each group's folded remainder (the group's figures minus those of
//! its listed tasks), and the `untracked` and `tracker` buckets.

use crate::base::counters::HeapCounters;
use crate::base::task::TaskType;
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

/// The stack (leaf first) and labels of a sample: what pprof merges samples by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Key<'a> {
    /// The `task_type` label.
    pub task_type: &'a str,
    /// The `task` label; `None` for the buckets outside any task.
    pub task: Option<&'a str>,
    /// Frame names, leaf first.
    pub frames: Vec<&'a str>,
}

/// The samples of `s`, in a stable order, none of them all zero.
pub(crate) fn collect(s: &MemorySnapshot) -> Vec<(Key<'_>, HeapCounters)> {
    let mut out: BTreeMap<Key<'_>, HeapCounters> = BTreeMap::new();
    let mut add = |key, heap: HeapCounters| {
        if heap != HeapCounters::default() {
            *out.entry(key).or_default() += heap;
        }
    };
    for t in &s.tasks {
        let key = Key {
            task_type: t.task_type.as_str(),
            task: Some(&t.name),
            frames: chain(s, t),
        };
        add(key, t.heap);
    }
    for (task_type, name, heap) in folded_remainders(s) {
        let key = Key {
            task_type: task_type.as_str(),
            task: Some(name),
            frames: vec![name, FOLDED_TASKS],
        };
        add(key, heap);
    }
    for ((frame, label), heap) in [(UNTRACKED, s.untracked), (TRACKER, s.tracker)] {
        let key = Key {
            task_type: label,
            task: None,
            frames: vec![frame],
        };
        add(key, heap);
    }
    out.into_iter().collect()
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

    fn frames<'a>(samples: &'a [(Key<'a>, HeapCounters)], task: &str) -> Vec<Vec<&'a str>> {
        let of = |k: &&(Key<'a>, HeapCounters)| k.0.task == Some(task);
        samples
            .iter()
            .filter(of)
            .map(|(k, _)| k.frames.clone())
            .collect()
    }

    #[test]
    fn a_task_stands_under_its_chain_of_listed_tasks() {
        let mut s = snap(vec![
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
    }

    #[test]
    fn tasks_with_the_same_chain_and_labels_are_one_sample() {
        let s = snap(vec![
            task(1, "conn", None, 100, 0),
            task(2, "request", Some(1), 200, 50),
            task(3, "request", Some(1), 300, 300),
        ]);
        let samples = collect(&s);
        let (_, heap) = samples
            .iter()
            .find(|(k, _)| k.task == Some("request"))
            .unwrap();
        assert_eq!(*heap, HeapCounters::new(500, 2, 150, 2));
    }

    #[test]
    fn a_group_adds_what_its_folded_tasks_hold_under_the_folded_frame() {
        let mut s = snap(vec![task(1, "conn", None, 100, 40)]);
        let g = s.groups.iter_mut().find(|g| g.name == "conn").unwrap();
        g.heap += HeapCounters::new(1000, 10, 900, 9);
        let samples = collect(&s);
        let folded: Vec<_> = samples
            .iter()
            .filter(|(k, _)| k.frames == ["conn", FOLDED_TASKS])
            .collect();
        assert_eq!(folded.len(), 1);
        assert_eq!(folded[0].1, HeapCounters::new(1000, 10, 900, 9));
        assert_eq!(folded[0].0.task_type, "network");
    }

    #[test]
    fn a_chain_is_cut_at_the_frame_limit() {
        let n = MAX_TASK_FRAMES as u64 + 10;
        let tasks = (1..=n)
            .map(|i| task(i, "level", (i > 1).then_some(i - 1), 10, 0))
            .collect();
        let s = snap(tasks);
        let leaf = s.task(TaskId::from_u64(n)).unwrap();
        let frames = chain(&s, leaf);
        assert_eq!(frames.len(), MAX_TASK_FRAMES + 1);
        assert_eq!(frames.last(), Some(&DEEPER_TASKS));
    }
}
