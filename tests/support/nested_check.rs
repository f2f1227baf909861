//! The check of `books_model_nested`: a snapshot's groups and tasks against the model.

use crate::nested_model::{Books, TaskModel};
use crate::nested_tasks::Shared;
use memscope::{snapshot, GroupProfile, MemorySnapshot, TaskId, TaskType};
use proptest::prelude::*;
use std::collections::HashMap;

/// The groups of the case's names before it started, by `(name, type)`.
pub type Baseline = HashMap<(String, TaskType), GroupProfile>;

/// The baseline, read as a case begins.
pub fn baseline() -> Baseline {
    let s = snapshot();
    let ours = s.groups.into_iter().filter(|g| g.name.starts_with("nest/"));
    ours.map(|g| ((g.name.clone(), g.task_type), g)).collect()
}

/// Checks the snapshot `s` against the model's `tasks` (their ids in `shared`), each
/// group's figures as changed since `base`.
pub fn check(
    s: &MemorySnapshot,
    tasks: &[TaskModel],
    shared: &Shared,
    base: &Baseline,
) -> Result<(), TestCaseError> {
    let groups: HashMap<(&str, TaskType), &GroupProfile> = s
        .groups
        .iter()
        .map(|g| ((g.name.as_str(), g.task_type), g))
        .collect();
    let ids: Vec<TaskId> = (0..tasks.len())
        .map(|i| shared.ids[i].lock().unwrap().expect("task ran"))
        .collect();
    // Subtree sums: a child's index is above its parent's.
    let mut subtree: Vec<Books> = tasks.iter().map(|t| t.books).collect();
    for i in (0..tasks.len()).rev() {
        if let Some(p) = tasks[i].parent {
            let child = subtree[i];
            subtree[p].add(child);
        }
    }
    // Per held task, what its folded descendants hold for which it is the nearest
    // ancestor still listed: (bytes, holders).
    let held: Vec<bool> = ids.iter().map(|&id| s.task(id).is_some()).collect();
    let mut folded_below = vec![(0u64, 0u64); tasks.len()];
    for (j, t) in tasks.iter().enumerate() {
        if held[j] || t.books.live_count() == 0 {
            continue;
        }
        let mut at = t.parent;
        while let Some(p) = at.filter(|&p| !held[p]) {
            at = tasks[p].parent;
        }
        if let Some(p) = at {
            folded_below[p].0 += t.books.live_bytes();
            folded_below[p].1 += 1;
        }
    }
    let mut folded_owning = 0;
    for (i, t) in tasks.iter().enumerate() {
        let name = t.name;
        // This case's task is the only one of its name since the baseline, and every
        // earlier one holds nothing any more.
        let empty = GroupProfile::default();
        let before = base.get(&(name.to_owned(), t.task_type)).unwrap_or(&empty);
        prop_assert_eq!(before.live_bytes, 0);
        for ty in TaskType::ALL.iter().filter(|&&ty| ty != t.task_type) {
            let other = groups.get(&(name, *ty)).map_or(0, |g| g.task_count);
            let other_before = base
                .get(&(name.to_owned(), *ty))
                .map_or(0, |g| g.task_count);
            prop_assert_eq!(other, other_before, "{} counted as {}", name, ty);
        }
        let g = groups.get(&(name, t.task_type)).copied();
        prop_assert!(g.is_some(), "no group {} of type {}", name, t.task_type);
        let g = g.unwrap();
        prop_assert_eq!(
            (
                g.task_count - before.task_count,
                g.completed_count - before.completed_count
            ),
            (1, 1),
            "{} counts",
            name
        );
        let heap = Books::of(&g.heap).minus(Books::of(&before.heap));
        prop_assert_eq!(heap, t.books, "{} group heap", name);
        prop_assert_eq!(g.live_bytes, t.books.live_bytes(), "{} live", name);
        prop_assert_eq!(g.retained_bytes, t.books.live_bytes(), "{} retained", name);
        let holds = t.books.live_count() > 0;
        prop_assert_eq!(g.retaining_count, u64::from(holds), "{} holders", name);
        let held_bytes = if holds { t.books.live_bytes() } else { 0 };
        prop_assert_eq!(
            (g.min_retained_bytes, g.max_retained_bytes),
            (held_bytes, held_bytes),
            "{} least and most held",
            name
        );
        match s.task(ids[i]) {
            Some(p) => {
                prop_assert_eq!(p.name.as_str(), name);
                prop_assert_eq!(p.task_type, t.task_type);
                prop_assert_eq!(p.parent, t.parent.map(|p| ids[p]), "{} parent", name);
                prop_assert_eq!(Books::of(&p.heap), t.books, "{} own heap", name);
                prop_assert_eq!(Books::of(&p.inclusive), subtree[i], "{} inclusive", name);
                prop_assert_eq!(
                    p.inclusive_retained_bytes,
                    subtree[i].live_bytes(),
                    "{} inclusive retained",
                    name
                );
                prop_assert_eq!(s.inclusive_heap(ids[i]), p.inclusive);
                prop_assert_eq!(
                    (
                        p.folded_descendants_retained_bytes,
                        p.folded_descendants_retaining
                    ),
                    folded_below[i],
                    "{} folded descendants' holdings",
                    name
                );
            }
            None => folded_owning += u64::from(t.books.live_count() > 0),
        }
    }
    prop_assert_eq!(
        s.folded_retaining_tasks,
        folded_owning,
        "folded still owning"
    );
    Ok(())
}
