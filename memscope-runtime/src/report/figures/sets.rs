//! The figures of a set of tasks (one task type, or one name and type), one family each.

use super::{Family, Kind, Series, Unit, Value};
use crate::books::aggregate::GroupProfile;
use Kind::{Counter, Gauge};

/// What a set figure reads from a group: one value, or one per way a task ended.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Read {
    /// One value.
    One(fn(&GroupProfile) -> Value),
    /// One series per outcome, labelled `outcome`: completed, panicked, cancelled.
    ByOutcome,
}

/// A figure of a set of tasks (one task type, or one name and type).
#[derive(Clone, Copy, Debug)]
pub(crate) struct SetFigure {
    /// The stem after `task_type_` or `task_name_`.
    pub stem: &'static str,
    /// Gauge or counter.
    pub kind: Kind,
    /// The unit, if any.
    pub unit: Option<Unit>,
    /// The definition, completed by the set it is of.
    pub help: &'static str,
    /// The value(s) of a group.
    pub read: Read,
}

const fn fig(
    stem: &'static str,
    kind: Kind,
    unit: Option<Unit>,
    help: &'static str,
    read: fn(&GroupProfile) -> Value,
) -> SetFigure {
    SetFigure {
        stem,
        kind,
        unit,
        help,
        read: Read::One(read),
    }
}

const BYTES: Option<Unit> = Some(Unit::Bytes);

/// Every figure of a set of tasks, in exposition order. Tasks folded out of the per-task
/// list count in all of them.
pub(crate) const SET_FIGURES: [SetFigure; 14] = [
    fig(
        "live",
        Gauge,
        BYTES,
        "Heap bytes allocated by these tasks and not freed yet, by anyone, running and finished \
         tasks alike.",
        |g| Value::Int(g.live_bytes),
    ),
    fig(
        "live_blocks",
        Gauge,
        None,
        "Heap blocks allocated by these tasks and not freed yet.",
        |g| Value::Int(g.heap.live_count()),
    ),
    fig(
        "peak",
        Gauge,
        BYTES,
        "The highest live heap bytes any one of these tasks reached in its life, since the \
         process started (a maximum over tasks, not a sum).",
        |g| Value::Int(g.max_peak_bytes),
    ),
    fig(
        "retained",
        Gauge,
        BYTES,
        "Live heap bytes of these tasks that have finished: memory a finished task allocated \
         that nobody freed yet.",
        |g| Value::Int(g.retained_bytes),
    ),
    fig(
        "retaining_tasks",
        Gauge,
        None,
        "Finished tasks among these that still hold live heap memory.",
        |g| Value::Int(g.retaining_count),
    ),
    fig(
        "allocated",
        Counter,
        BYTES,
        "Heap bytes these tasks allocated (a realloc counts as a free and an allocation).",
        |g| Value::Int(g.heap.allocated_bytes),
    ),
    fig(
        "freed",
        Counter,
        BYTES,
        "Heap bytes allocated by these tasks and freed since, by anyone.",
        |g| Value::Int(g.heap.freed_bytes),
    ),
    fig(
        "allocations",
        Counter,
        None,
        "Heap allocations these tasks made.",
        |g| Value::Int(g.heap.allocation_count),
    ),
    fig(
        "frees",
        Counter,
        None,
        "Frees of heap blocks these tasks allocated, by anyone.",
        |g| Value::Int(g.heap.free_count),
    ),
    fig("tasks_started", Counter, None, "Tasks created.", |g| {
        Value::Int(g.task_count)
    }),
    SetFigure {
        stem: "tasks_finished",
        kind: Counter,
        unit: None,
        help: "Tasks that ended, by outcome: completed, panicked (a poll panicked) or cancelled \
               (dropped before completing).",
        read: Read::ByOutcome,
    },
    fig(
        "tasks_running",
        Gauge,
        None,
        "Tasks created and not finished yet.",
        |g| Value::Int(g.running_count),
    ),
    fig("polls", Counter, None, "Polls of these tasks.", |g| {
        Value::Int(g.poll_count)
    }),
    fig(
        "poll_duration",
        Counter,
        Some(Unit::Seconds),
        "Time spent inside polls of these tasks.",
        |g| Value::Float(g.poll_duration.as_secs_f64()),
    ),
];

/// One family per [`SET_FIGURES`] entry, named `<scope>_<stem>`, one series per set.
pub(super) fn families(
    scope: &str,
    these: &str,
    sets: &[(Vec<(&'static str, String)>, GroupProfile)],
) -> Vec<Family> {
    SET_FIGURES
        .iter()
        .map(|f| Family {
            stem: format!("{scope}_{}", f.stem),
            help: format!("{} These tasks: {these}", f.help),
            kind: f.kind,
            unit: f.unit,
            series: sets
                .iter()
                .flat_map(|(labels, g)| series_of(f.read, labels, g))
                .collect(),
        })
        .collect()
}

fn series_of(read: Read, labels: &[(&'static str, String)], g: &GroupProfile) -> Vec<Series> {
    match read {
        Read::One(value) => vec![Series {
            labels: labels.to_vec(),
            value: value(g),
        }],
        Read::ByOutcome => [
            ("completed", g.completed_count),
            ("panicked", g.panicked_count),
            ("cancelled", g.cancelled_count),
        ]
        .into_iter()
        .map(|(outcome, n)| {
            let mut labels = labels.to_vec();
            labels.push(("outcome", outcome.to_owned()));
            Series {
                labels,
                value: Value::Int(n),
            }
        })
        .collect(),
    }
}
