//! The answers the text summary and the HTML page lead with, computed once from a
//! snapshot: task names ranked by what they still hold, retained memory grouped by name
//! and by parent, and the per-group rates of the per-type tables.
//!
//! A finished task that still holds memory is either held individually (in
//! [`MemorySnapshot::tasks`]) or folded into its group, whose `retained_bytes` and
//! `retaining_count` include it, and into the figures of its nearest ancestor still held
//! (`folded_descendants_retained_bytes`). The groupings below use both, so they are exact:
//! by name and by parent, they add up to every retained byte.

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
    /// Whether some of the tasks were folded away (counted together, not one by one):
    /// `smallest` and `largest` are then only bounds of a mean, not of each task.
    pub partly_folded: bool,
}

impl<K> Held<K> {
    fn new(key: K) -> Self {
        Held {
            key,
            tasks: 0,
            bytes: 0,
            smallest: u64::MAX,
            largest: 0,
            partly_folded: false,
        }
    }

    fn add(&mut self, bytes: u64) {
        self.tasks = self.tasks.saturating_add(1);
        self.bytes = self.bytes.saturating_add(bytes);
        self.smallest = self.smallest.min(bytes);
        self.largest = self.largest.max(bytes);
    }

    /// Adds `tasks` folded tasks holding `bytes` together (each one's share unknown).
    fn add_folded(&mut self, bytes: u64, tasks: u64) {
        self.tasks = self.tasks.saturating_add(tasks);
        self.bytes = self.bytes.saturating_add(bytes);
        let mean = bytes / tasks.max(1);
        self.smallest = self.smallest.min(mean);
        self.largest = self.largest.max(mean);
        self.partly_folded = true;
    }
}

/// Retained memory by task name and type: "200 × handle_request hold 195.3 KiB", from
/// the groups (folded tasks included).
pub(crate) fn held_by_name(s: &MemorySnapshot) -> Vec<Held<(&str, TaskType)>> {
    let mut v: Vec<_> = s
        .groups
        .iter()
        .filter(|g| g.retaining_count > 0)
        .map(|g| Held {
            key: (g.name.as_str(), g.task_type),
            tasks: g.retaining_count,
            bytes: g.retained_bytes,
            smallest: g.min_retained_bytes,
            largest: g.max_retained_bytes,
            partly_folded: false,
        })
        .collect();
    v.sort_by(|a, b| {
        (Reverse(a.bytes), Reverse(a.tasks), a.key).cmp(&(
            Reverse(b.bytes),
            Reverse(b.tasks),
            b.key,
        ))
    });
    v
}

/// Retained memory by the retaining tasks' parent: held tasks by their parent, folded
/// ones by their nearest ancestor still held (`None`: no tracked parent, or none held
/// any more): "children of #12 conn hold 195.3 KiB".
pub(crate) fn held_by_parent(s: &MemorySnapshot) -> Vec<Held<Option<TaskId>>> {
    let mut by: BTreeMap<Option<TaskId>, Held<Option<TaskId>>> = BTreeMap::new();
    fn entry(
        by: &mut BTreeMap<Option<TaskId>, Held<Option<TaskId>>>,
        key: Option<TaskId>,
    ) -> &mut Held<Option<TaskId>> {
        by.entry(key).or_insert_with(|| Held::new(key))
    }
    for t in s.tasks.iter().filter(|t| t.retained_bytes > 0) {
        entry(&mut by, t.parent).add(t.retained_bytes);
    }
    for t in s
        .tasks
        .iter()
        .filter(|t| t.folded_descendants_retaining > 0)
    {
        let h = entry(&mut by, Some(t.id));
        h.add_folded(
            t.folded_descendants_retained_bytes,
            t.folded_descendants_retaining,
        );
    }
    // Folded tasks with no ancestor still held: what the groups hold beyond the above.
    let (total, tasks) = held_total(s);
    let listed: (u64, u64) = by
        .values()
        .fold((0, 0), |(b, n), h| (b + h.bytes, n + h.tasks));
    if total > listed.0 {
        entry(&mut by, None).add_folded(total - listed.0, tasks.saturating_sub(listed.1).max(1));
    }
    let mut v: Vec<Held<Option<TaskId>>> = by.into_values().collect();
    // Stable: equal bytes and counts stay in key order.
    v.sort_by_key(|h| (Reverse(h.bytes), Reverse(h.tasks)));
    v
}

/// Bytes and tasks of all retained memory, folded tasks included.
pub(crate) fn held_total(s: &MemorySnapshot) -> (u64, u64) {
    s.groups.iter().fold((0, 0), |(b, n), g| {
        (b + g.retained_bytes, n + g.retaining_count)
    })
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
            label: None,
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
            folded_descendants_retained_bytes: 0,
            folded_descendants_retaining: 0,
        }
    }

    /// A snapshot holding exactly `tasks` and their groups (no timeline or counters of
    /// its own).
    pub(crate) fn snap(tasks: Vec<TaskMemoryProfile>) -> MemorySnapshot {
        let mut s = crate::view::snapshot::snapshot();
        let mut groups: BTreeMap<(TaskType, String), GroupProfile> = BTreeMap::new();
        for t in &tasks {
            let g = groups
                .entry((t.task_type, t.name.clone()))
                .or_insert_with(|| GroupProfile::new(&t.name, t.task_type));
            g.task_count += 1;
            g.heap += t.heap;
            g.live_bytes += t.live_bytes;
            g.retained_bytes += t.retained_bytes;
            g.add_retaining(t.retained_bytes);
        }
        s.tasks = tasks;
        s.groups = groups.into_values().collect();
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
