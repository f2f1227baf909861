//! Which task names keep their own `task` label value: a bounded set, the rest of each
//! type summed into `other`.

use super::OTHER;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::books::shard::OTHER_NAMES;
use crate::view::snapshot::MemorySnapshot;
use std::cmp::Reverse;

/// The groups of `snapshot` as `(task label value, figures)`: the `max_names` kept ones
/// in rank order, then each type's `other` sum (only for types with anything in it).
pub(super) fn name_sets(
    snapshot: &MemorySnapshot,
    max_names: usize,
) -> Vec<(String, GroupProfile)> {
    let reserved = |g: &GroupProfile| g.name == OTHER || g.name == OTHER_NAMES;
    let mut ranked: Vec<&GroupProfile> = snapshot.groups.iter().filter(|g| !reserved(g)).collect();
    ranked.sort_by(|a, b| {
        let key = |g: &'_ GroupProfile| (Reverse(g.live_bytes), Reverse(g.heap.allocated_bytes));
        key(a)
            .cmp(&key(b))
            .then_with(|| (&a.name, a.task_type).cmp(&(&b.name, b.task_type)))
    });
    let kept = &ranked[..max_names.min(ranked.len())];
    let mut others: Vec<Option<GroupProfile>> = vec![None; TaskType::ALL.len()];
    let rest = ranked[kept.len()..].iter().copied();
    for g in rest.chain(snapshot.groups.iter().filter(|g| reserved(g))) {
        let at = TaskType::ALL
            .iter()
            .position(|t| *t == g.task_type)
            .unwrap_or(0);
        others[at]
            .get_or_insert_with(|| GroupProfile::new(OTHER, g.task_type))
            .merge(g);
    }
    let kept = kept.iter().map(|g| (g.name.clone(), (*g).clone()));
    kept.chain(others.into_iter().flatten().map(|g| (OTHER.to_owned(), g)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::tests::{group, with_groups};

    #[test]
    fn a_group_named_other_is_always_in_the_other_sum() {
        let s = with_groups(vec![
            group(OTHER, TaskType::IoIntensive, 10_000, 5000),
            group(OTHER_NAMES, TaskType::IoIntensive, 100, 10),
            group("small", TaskType::IoIntensive, 10, 1),
        ]);
        let sets = name_sets(&s, 5);
        let labels: Vec<_> = sets
            .iter()
            .map(|(n, g)| (n.as_str(), g.live_bytes))
            .collect();
        assert_eq!(labels, [("small", 1), (OTHER, 5010)]);
    }

    #[test]
    fn ties_rank_by_allocated_bytes_then_name() {
        let s = with_groups(vec![
            group("z", TaskType::Background, 100, 0),
            group("y", TaskType::Background, 200, 0),
            group("x", TaskType::Background, 100, 0),
        ]);
        let kept: Vec<_> = name_sets(&s, 2).into_iter().map(|(n, _)| n).collect();
        assert_eq!(kept, ["y", "x", OTHER]);
    }
}
