//! The answers the text summary and the HTML page lead with, computed once from a
//! snapshot: task names ranked by what they still hold, retained memory grouped by name
//! and by parent, and the per-group rates of the per-type tables.
//!
//! Every finished task that still holds memory is held individually (a record is folded
//! into its group only once none of its memory is live), so the groupings of retained
//! memory over [`MemorySnapshot::tasks`] are exact: they add up to every retained byte.

use crate::base::task::{TaskId, TaskType};
use crate::books::aggregate::GroupProfile;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// The groups (one per `(name, type)`, folded tasks included), most retained bytes
/// first, then highest peak, then by name.
pub(crate) fn ranked_names(s: &MemorySnapshot) -> Vec<&GroupProfile> {
    let mut v: Vec<&GroupProfile> = s.groups.iter().collect();
    v.sort_by(|a, b| {
        (Reverse(a.retained_bytes), Reverse(a.max_peak_bytes))
            .cmp(&(Reverse(b.retained_bytes), Reverse(b.max_peak_bytes)))
            .then_with(|| (&a.name, a.task_type).cmp(&(&b.name, b.task_type)))
    });
    v
}

/// Retained memory of a set of finished tasks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Held<K> {
    /// What the tasks have in common (a name and type, or a parent).
    pub key: K,
    /// Tasks holding memory.
    pub tasks: u64,
    /// Bytes they hold together.
    pub bytes: u64,
    /// The least and the most one of them holds.
    pub smallest: u64,
    /// See `smallest`.
    pub largest: u64,
}

impl<K> Held<K> {
    fn new(key: K) -> Self {
        Held {
            key,
            tasks: 0,
            bytes: 0,
            smallest: u64::MAX,
            largest: 0,
        }
    }

    fn add(&mut self, bytes: u64) {
        self.tasks += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        self.smallest = self.smallest.min(bytes);
        self.largest = self.largest.max(bytes);
    }
}

/// Retained memory grouped by `key_of` each retaining task, most bytes first (then most
/// tasks, then by key).
fn held_by<'a, K: Ord + Clone>(
    s: &'a MemorySnapshot,
    key_of: impl Fn(&'a TaskMemoryProfile) -> K,
) -> Vec<Held<K>> {
    let mut by: BTreeMap<K, Held<K>> = BTreeMap::new();
    for t in s.tasks.iter().filter(|t| t.retained_bytes > 0) {
        let key = key_of(t);
        by.entry(key.clone())
            .or_insert_with(|| Held::new(key))
            .add(t.retained_bytes);
    }
    let mut v: Vec<Held<K>> = by.into_values().collect();
    // Stable: equal bytes and counts stay in key order.
    v.sort_by_key(|h| (Reverse(h.bytes), Reverse(h.tasks)));
    v
}

/// Retained memory by task name and type: "200 × handle_request hold 195.3 KiB".
pub(crate) fn held_by_name(s: &MemorySnapshot) -> Vec<Held<(&str, TaskType)>> {
    held_by(s, |t| (t.name.as_str(), t.task_type))
}

/// Retained memory by the retaining tasks' parent (`None`: tasks created outside any
/// tracked task): "children of #12 conn hold 195.3 KiB".
pub(crate) fn held_by_parent(s: &MemorySnapshot) -> Vec<Held<Option<TaskId>>> {
    held_by(s, |t| t.parent)
}

/// Bytes and tasks of all retained memory.
pub(crate) fn held_total(s: &MemorySnapshot) -> (u64, u64) {
    s.tasks
        .iter()
        .filter(|t| t.retained_bytes > 0)
        .fold((0, 0), |(b, n), t| (b + t.retained_bytes, n + 1))
}

/// Rates of a group, as the per-type tables show them (the same figures as the seed's
/// `TaskPerformanceMetrics`, computed here from the group).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Rates {
    /// Completed ÷ started × 100.
    pub done_percent: f64,
    /// Mean over the tasks of lifetime − time in poll, in ms.
    pub wait_ms: f64,
    /// Mean time inside poll per task, in ms.
    pub poll_ms: f64,
    /// Completed tasks ÷ seconds from the first start to the last completion.
    pub done_per_sec: f64,
}

/// The [`Rates`] of `g`; all zero for an empty group.
pub(crate) fn rates(g: &GroupProfile) -> Rates {
    let per_task = |x: f64| {
        if g.task_count == 0 {
            0.0
        } else {
            x / g.task_count as f64
        }
    };
    let done_per_sec = match (g.first_started_at, g.last_completed_at) {
        (Some(first), Some(last)) if g.completed_count > 0 => {
            g.completed_count as f64 / last.saturating_sub(first).as_secs_f64().max(1e-9)
        }
        _ => 0.0,
    };
    Rates {
        done_percent: per_task(g.completed_count as f64 * 100.0),
        wait_ms: per_task(g.sum_lifetime.saturating_sub(g.poll_duration).as_secs_f64() * 1e3),
        poll_ms: per_task(g.poll_duration.as_secs_f64() * 1e3),
        done_per_sec,
    }
}

/// The task with the highest peak, when it is the program's root task (`main`, no
/// parent) and others ran: then the tasks it spawned with plain `tokio::spawn` may have
/// left their task cells charged to it.
pub(crate) fn root_holds_top_peak(s: &MemorySnapshot) -> Option<&TaskMemoryProfile> {
    let top = s
        .tasks
        .iter()
        .max_by(|a, b| a.peak_bytes.cmp(&b.peak_bytes).then(b.id.cmp(&a.id)))?;
    let root = top.parent.is_none() && top.name == "main" && top.peak_bytes > 0;
    (root && s.tasks.len() > 1).then_some(top)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::base::counters::HeapCounters;
    use crate::base::task::Outcome;
    use std::time::Duration;

    /// A finished task `id` under `parent`, peaking at `peak` and retaining `retained`.
    pub(crate) fn task(
        id: u64,
        name: &str,
        parent: Option<u64>,
        peak: u64,
        retained: u64,
    ) -> TaskMemoryProfile {
        TaskMemoryProfile {
            id: TaskId::from_u64(id),
            name: name.to_owned(),
            task_type: TaskType::NetworkIntensive,
            parent: parent.map(TaskId::from_u64),
            outcome: Outcome::Completed,
            heap: HeapCounters::new(peak, 1, peak - retained, 1),
            live_bytes: retained,
            peak_bytes: peak,
            retained_bytes: retained,
            future_size_bytes: 0,
            poll_count: 1,
            poll_duration: Duration::ZERO,
            lifetime: Duration::ZERO,
            started_at: Duration::ZERO,
            ended_at: Some(Duration::ZERO),
            inclusive: HeapCounters::new(peak, 1, peak - retained, 1),
            inclusive_retained_bytes: retained,
        }
    }

    /// A snapshot holding exactly `tasks` (and no groups, timeline or counters of its own).
    pub(crate) fn snap(tasks: Vec<TaskMemoryProfile>) -> MemorySnapshot {
        let mut s = crate::view::snapshot::snapshot();
        s.tasks = tasks;
        s.groups.clear();
        s.timeline.clear();
        s
    }

    #[test]
    fn retained_memory_groups_by_name_and_by_parent() {
        let s = snap(vec![
            task(1, "conn", None, 10, 0),
            task(2, "handle_request", Some(1), 2000, 1000),
            task(3, "handle_request", Some(1), 2000, 1000),
            task(4, "handle_request", Some(1), 2000, 500),
            task(5, "cache", None, 9000, 4000),
            task(6, "handle_request", Some(99), 900, 100),
        ]);
        let by_name = held_by_name(&s);
        assert_eq!(by_name.len(), 2);
        assert_eq!(by_name[0].key.0, "cache");
        let requests = &by_name[1];
        assert_eq!(requests.key, ("handle_request", TaskType::NetworkIntensive));
        assert_eq!((requests.tasks, requests.bytes), (4, 2600));
        assert_eq!((requests.smallest, requests.largest), (100, 1000));
        let by_parent = held_by_parent(&s);
        let keys: Vec<_> = by_parent.iter().map(|h| (h.key, h.bytes)).collect();
        assert_eq!(
            keys,
            [
                (None, 4000),
                (Some(TaskId::from_u64(1)), 2500),
                (Some(TaskId::from_u64(99)), 100)
            ]
        );
        assert_eq!(held_total(&s), (6600, 5));
    }

    #[test]
    fn the_hint_needs_main_at_the_top() {
        let main = task(1, "main", None, 5000, 0);
        assert!(root_holds_top_peak(&snap(vec![main.clone()])).is_none());
        let s = snap(vec![main.clone(), task(2, "worker", None, 100, 0)]);
        assert_eq!(root_holds_top_peak(&s).map(|t| t.id.as_u64()), Some(1));
        let s = snap(vec![main, task(2, "worker", None, 9000, 0)]);
        assert!(root_holds_top_peak(&s).is_none());
    }

    #[test]
    fn rates_match_the_seed_formulas() {
        let mut g = GroupProfile::new("g", TaskType::IoIntensive);
        g.task_count = 4;
        g.completed_count = 3;
        g.sum_lifetime = Duration::from_millis(40);
        g.poll_duration = Duration::from_millis(8);
        g.first_started_at = Some(Duration::from_secs(1));
        g.last_completed_at = Some(Duration::from_secs(3));
        let r = rates(&g);
        assert_eq!(r.done_percent, 75.0);
        assert!((r.wait_ms - 8.0).abs() < 1e-9 && (r.poll_ms - 2.0).abs() < 1e-9);
        assert_eq!(r.done_per_sec, 1.5);
        assert_eq!(rates(&GroupProfile::default()).done_percent, 0.0);
    }
}
