//! The figures a fleet scrapes: one list, computed from a snapshot, that both the
//! Prometheus exposition (`report::prometheus`) and the `metrics` facade publisher
//! (`export::metrics`) publish, so the two carry the same names, labels and values.
//!
//! Three kinds of families, every name prefixed `memscope_`, in bytes and seconds:
//! - process-wide: `memscope_snapshot_id`, `memscope_tasks_running`,
//!   `memscope_tasks_running_max`, and the heap traffic outside any task
//!   (`memscope_untracked_*`, `memscope_tracker_*`);
//! - per task type, `memscope_task_type_*{task_type}`: one series for each of the six
//!   types, always present, equal to [`MemorySnapshot::by_type`] exactly;
//! - per task name, `memscope_task_name_*{task_type, task}`: the `max_names` groups with
//!   the most live bytes keep their name (ties: most bytes allocated, then by name; across
//!   the scrapes of an endpoint or the rounds of a publisher, those taken while there was
//!   room are kept for good, so no counter falls: [`KeptNames`]); every
//!   other group of a type is summed into the series `task="other"` of that type (a group
//!   literally named `other`, and the books' own `(other names)`, always are). So a family
//!   has at most `max_names` + 6 series, whatever the program names its tasks, and the
//!   name series of a type add up to its type series.
//!
//! Never a label per task instance. The figures of a set of tasks are
//! `sets::SET_FIGURES`, the choice of names `names`; each family's definition is its
//! HELP text.

mod names;
mod sets;
pub(crate) use names::KeptNames;

use crate::base::task::TaskType;
use crate::view::snapshot::MemorySnapshot;
use Kind::{Counter, Gauge};

/// How many task names keep their own `task` label value in the Prometheus exposition
/// (`MemorySnapshot::prometheus`) and in the `metrics` publisher unless told otherwise:
/// the names with the most live bytes; the rest of each task type is summed into
/// `task="other"`.
pub const DEFAULT_METRIC_NAMES: usize = 50;

/// The prefix of every family's name.
pub(crate) const PREFIX: &str = "memscope";

/// The `task` label value that sums every name outside the kept ones.
pub(crate) const OTHER: &str = "other";

/// Gauge (a value now) or counter (cumulative since the process started).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A value now; may go down.
    Gauge,
    /// Cumulative; its exposed name ends in `_total`.
    Counter,
}

/// The base unit a family's name ends in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    /// `_bytes`.
    Bytes,
    /// `_seconds`.
    Seconds,
}

#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
impl Unit {
    /// The name's suffix without its underscore, as OpenMetrics' `# UNIT` line gives it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Unit::Bytes => "bytes",
            Unit::Seconds => "seconds",
        }
    }
}

/// One sample's value: exact integers, or seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Value {
    /// A count or a number of bytes.
    Int(u64),
    /// Seconds.
    Float(f64),
}

/// One metric family: its name's parts, its definition and its series.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Family {
    /// The name without the prefix, the unit and `_total`: `task_type_live`.
    pub stem: String,
    /// The definition (the HELP text): one sentence or more, no quotes or backslashes.
    pub help: String,
    /// Gauge or counter.
    pub kind: Kind,
    /// The unit the exposed name ends in, if any.
    pub unit: Option<Unit>,
    /// One value per label set.
    pub series: Vec<Series>,
}

#[cfg_attr(not(feature = "metrics"), allow(dead_code))]
impl Family {
    /// The sample name Prometheus stores: `memscope_task_type_allocated_bytes_total`.
    pub(crate) fn exposed_name(&self) -> String {
        let mut name = format!("{PREFIX}_{}", self.stem);
        if let Some(unit) = self.unit {
            name.push('_');
            name.push_str(unit.as_str());
        }
        if self.kind == Kind::Counter {
            name.push_str("_total");
        }
        name
    }
}

/// One labelled value of a family.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Series {
    /// Label names and values, in this order in the exposition.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: Value,
}

/// The figures of `snapshot`, with `max_names` task names kept apart (see the module), for
/// a one-off rendering.
#[cfg(test)]
pub(crate) fn figures(snapshot: &MemorySnapshot, max_names: usize) -> Vec<Family> {
    figures_kept(snapshot, &mut KeptNames::new(max_names))
}

/// The figures of `snapshot`, with the task names `names` keeps apart, for one of a
/// series of renderings (see [`KeptNames`]).
pub(crate) fn figures_kept(snapshot: &MemorySnapshot, names: &mut KeptNames) -> Vec<Family> {
    let mut out = process_families(snapshot);
    let types: Vec<_> = TaskType::ALL
        .into_iter()
        .map(|t| {
            (
                vec![("task_type", t.as_str().to_owned())],
                snapshot.by_type(t),
            )
        })
        .collect();
    let help = "every task of one task type.";
    out.extend(sets::families("task_type", help, &types));
    let names: Vec<_> = names::name_sets(snapshot, names)
        .into_iter()
        .map(|(name, g)| {
            let labels = vec![
                ("task_type", g.task_type.as_str().to_owned()),
                ("task", name),
            ];
            (labels, g)
        })
        .collect();
    let help = "the tasks of one name and task type \
        (the names beyond the kept ones summed into the name other).";
    out.extend(sets::families("task_name", help, &names));
    out
}

fn process_families(s: &MemorySnapshot) -> Vec<Family> {
    let one = |stem: &str, kind, unit, help: &str, value: u64| Family {
        stem: stem.to_owned(),
        help: help.to_owned(),
        kind,
        unit,
        series: vec![Series {
            labels: Vec::new(),
            value: Value::Int(value),
        }],
    };
    let bytes = Some(Unit::Bytes);
    vec![
        one(
            "snapshot_id",
            Gauge,
            None,
            "Number of the snapshot these figures come from: 1 for the first snapshot the \
             process took, one more for each after.",
            s.id,
        ),
        one(
            "tasks_running",
            Gauge,
            None,
            "Tracked tasks created and not finished yet, all types together.",
            s.tasks_running,
        ),
        one(
            "tasks_running_max",
            Gauge,
            None,
            "The most tracked tasks alive at once since the process started.",
            s.max_tasks_running,
        ),
        one(
            "untracked_live",
            Gauge,
            bytes,
            "Live heap bytes allocated outside any tracked task.",
            s.untracked.live_bytes(),
        ),
        one(
            "untracked_allocated",
            Counter,
            bytes,
            "Heap bytes allocated outside any tracked task.",
            s.untracked.allocated_bytes,
        ),
        one(
            "tracker_live",
            Gauge,
            bytes,
            "Live heap bytes of memscope itself: its books, snapshots, reports and exporters.",
            s.tracker.live_bytes(),
        ),
        one(
            "tracker_allocated",
            Counter,
            bytes,
            "Heap bytes memscope itself allocated.",
            s.tracker.allocated_bytes,
        ),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::base::counters::HeapCounters;
    use crate::books::aggregate::GroupProfile;
    use crate::report::rollup::tests::snap;
    use std::time::Duration;

    /// A group of `tasks` tasks, `live` of whose `alloc` bytes are still held.
    pub(crate) fn group(name: &str, ty: TaskType, alloc: u64, live: u64) -> GroupProfile {
        let mut g = GroupProfile::new(name, ty);
        g.task_count = 3;
        (g.completed_count, g.panicked_count, g.running_count) = (1, 1, 1);
        g.heap = HeapCounters::new(alloc, 10, alloc - live, 4);
        g.live_bytes = live;
        g.retained_bytes = live / 2;
        g.add_retaining(live / 2);
        g.max_peak_bytes = alloc / 2;
        g.poll_count = 7;
        g.poll_duration = Duration::from_micros(1500);
        g
    }

    /// A snapshot with exactly `groups` (and no tasks).
    pub(crate) fn with_groups(groups: Vec<GroupProfile>) -> MemorySnapshot {
        let mut s = snap(Vec::new());
        s.groups = groups;
        s
    }

    fn value(f: &Family, labels: &[(&str, &str)]) -> Option<Value> {
        let want: Vec<(&str, &str)> = labels.to_vec();
        f.series
            .iter()
            .find(|s| {
                s.labels
                    .iter()
                    .map(|(k, v)| (*k, v.as_str()))
                    .eq(want.iter().copied())
            })
            .map(|s| s.value)
    }

    fn family<'a>(all: &'a [Family], stem: &str) -> &'a Family {
        all.iter()
            .find(|f| f.stem == stem)
            .unwrap_or_else(|| panic!("no {stem}"))
    }

    #[test]
    fn type_series_are_by_type_exactly_and_names_add_up_to_them() {
        let s = with_groups(vec![
            group("a", TaskType::NetworkIntensive, 1000, 600),
            group("b", TaskType::NetworkIntensive, 500, 100),
            group("c", TaskType::NetworkIntensive, 300, 0),
            group("d", TaskType::CpuIntensive, 9000, 10),
        ]);
        let all = figures(&s, 1);
        for t in TaskType::ALL {
            let g = s.by_type(t);
            let ty = [("task_type", t.as_str())];
            let f = |stem: &str| value(family(&all, stem), &ty);
            assert_eq!(f("task_type_live"), Some(Value::Int(g.live_bytes)));
            assert_eq!(
                f("task_type_live_blocks"),
                Some(Value::Int(g.heap.live_count()))
            );
            assert_eq!(f("task_type_peak"), Some(Value::Int(g.max_peak_bytes)));
            assert_eq!(
                f("task_type_allocations"),
                Some(Value::Int(g.heap.allocation_count))
            );
            let secs = Value::Float(g.poll_duration.as_secs_f64());
            assert_eq!(f("task_type_poll_duration"), Some(secs));
            let done = [("task_type", t.as_str()), ("outcome", "panicked")];
            let finished = value(family(&all, "task_type_tasks_finished"), &done);
            assert_eq!(finished, Some(Value::Int(g.panicked_count)));
        }
        // `a` has the most live bytes; `b` and `c` are network's `other`, `d` cpu's.
        let names = family(&all, "task_name_allocated");
        let sum = |ty: &str| -> u64 {
            let of_type = names.series.iter().filter(|s| s.labels[0].1 == ty);
            of_type
                .map(|s| match s.value {
                    Value::Int(v) => v,
                    Value::Float(_) => 0,
                })
                .sum()
        };
        assert_eq!(
            sum("network"),
            s.by_type(TaskType::NetworkIntensive).heap.allocated_bytes
        );
        assert_eq!(sum("cpu"), 9000);
        let other = [("task_type", "network"), ("task", OTHER)];
        assert_eq!(value(names, &other), Some(Value::Int(800)));
        assert_eq!(
            value(names, &[("task_type", "network"), ("task", "a")]),
            Some(Value::Int(1000))
        );
        assert_eq!(names.series.len(), 3);
    }

    #[test]
    fn names_are_prefixed_unique_and_end_in_their_unit_and_total() {
        let all = figures(
            &with_groups(vec![group("a", TaskType::Unspecified, 1, 1)]),
            5,
        );
        let mut names: Vec<String> = all.iter().map(Family::exposed_name).collect();
        assert!(names.contains(&"memscope_task_type_poll_duration_seconds_total".to_owned()));
        assert!(names.contains(&"memscope_task_name_live_bytes".to_owned()));
        assert!(names.contains(&"memscope_snapshot_id".to_owned()));
        for f in &all {
            let name = f.exposed_name();
            assert_eq!(name.ends_with("_total"), f.kind == Kind::Counter, "{name}");
            assert!(!f.help.contains(['"', '\\', '\n']), "{name}: {}", f.help);
            assert!(f.help.ends_with('.'), "{name}");
            let seconds = f.unit == Some(Unit::Seconds);
            let fractional = |s: &Series| matches!(s.value, Value::Float(_));
            assert!(f.series.iter().all(|s| fractional(s) == seconds), "{name}");
        }
        let n = names.len();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), n);
    }
}
