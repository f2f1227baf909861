//! Which task names keep their own `task` label value: a bounded set, the rest of each
//! type summed into `other`.

use super::OTHER;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::books::shard::OTHER_NAMES;
use crate::view::snapshot::MemorySnapshot;
use std::cmp::Reverse;
use std::collections::BTreeSet;

/// The names that keep their own label, across the renderings of one series (an
/// endpoint's scrapes, a publisher's rounds): at most `max`, taken by live bytes while
/// there is room and never given up, so no name moves between its own series and
/// `other` and no counter ever falls. A one-off rendering starts from an empty set.
#[derive(Debug)]
pub(crate) struct KeptNames {
    max: usize,
    kept: BTreeSet<(TaskType, String)>,
}

impl KeptNames {
    /// None kept yet; room for `max`.
    pub(crate) fn new(max: usize) -> Self {
        KeptNames {
            max,
            kept: BTreeSet::new(),
        }
    }
}

/// The groups of `snapshot` as `(task label value, figures)`: the kept ones (see
/// [`KeptNames`]; new ones join by live bytes while there is room) in rank order, then
/// each type's `other` sum (only for types with anything in it).
pub(super) fn name_sets(
    snapshot: &MemorySnapshot,
    names: &mut KeptNames,
) -> Vec<(String, GroupProfile)> {
    let reserved = |g: &GroupProfile| g.name == OTHER || g.name == OTHER_NAMES;
    let mut ranked: Vec<&GroupProfile> = snapshot.groups.iter().filter(|g| !reserved(g)).collect();
    ranked.sort_by(|a, b| {
        let key = |g: &'_ GroupProfile| (Reverse(g.live_bytes), Reverse(g.heap.allocated_bytes));
        key(a)
            .cmp(&key(b))
            .then_with(|| (&a.name, a.task_type).cmp(&(&b.name, b.task_type)))
    });
    let (mut kept, mut rest) = (Vec::new(), Vec::new());
    for g in ranked {
        let key = (g.task_type, g.name.clone());
        if names.kept.contains(&key) || names.kept.len() < names.max && names.kept.insert(key) {
            kept.push(g);
        } else {
            rest.push(g);
        }
    }
    let mut others: Vec<Option<GroupProfile>> = vec![None; TaskType::ALL.len()];
    for g in rest
        .into_iter()
        .chain(snapshot.groups.iter().filter(|g| reserved(g)))
    {
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
        let sets = name_sets(&s, &mut KeptNames::new(5));
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
        let kept: Vec<_> = name_sets(&s, &mut KeptNames::new(2))
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert_eq!(kept, ["y", "x", OTHER]);
    }

    #[test]
    fn a_kept_name_is_never_given_up_so_no_counter_falls() {
        let net = TaskType::NetworkIntensive;
        let mut names = KeptNames::new(1);
        let first = with_groups(vec![group("a", net, 1000, 600), group("b", net, 500, 100)]);
        let labels = |sets: Vec<(String, GroupProfile)>| -> Vec<(String, u64)> {
            sets.into_iter()
                .map(|(n, g)| (n, g.heap.allocated_bytes))
                .collect()
        };
        let one = labels(name_sets(&first, &mut names));
        assert_eq!(one, [("a".to_owned(), 1000), (OTHER.to_owned(), 500)]);
        // b now holds far more: it still stays in `other`, which only grows.
        let second = with_groups(vec![
            group("a", net, 1000, 300),
            group("b", net, 5000, 4000),
        ]);
        let two = labels(name_sets(&second, &mut names));
        assert_eq!(two, [("a".to_owned(), 1000), (OTHER.to_owned(), 5000)]);
    }
}
