//! What changed between two snapshots, per task type and per name: what a live endpoint's
//! `/snapshot.json?since=<id>` answers, so a user can poll for changes.

use crate::base::counters::HeapCounters;
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::view::snapshot::MemorySnapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// The figures of a name or a type at one snapshot, as its [`GroupProfile`] holds them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupFigures {
    /// Tasks started so far (cumulative).
    pub task_count: u64,
    /// Tasks alive at the snapshot.
    pub running_count: u64,
    /// Heap traffic so far (cumulative allocated and freed bytes and counts).
    #[serde(flatten)]
    pub heap: HeapCounters,
    /// Bytes live at the snapshot, running and finished tasks together.
    pub live_bytes: u64,
    /// Of those, the bytes finished tasks still hold (retained after completion).
    pub retained_bytes: u64,
    /// Polls so far (cumulative).
    pub poll_count: u64,
}

impl GroupFigures {
    fn of(g: &GroupProfile) -> GroupFigures {
        GroupFigures {
            task_count: g.task_count,
            running_count: g.running_count,
            heap: g.heap,
            live_bytes: g.live_bytes,
            retained_bytes: g.retained_bytes,
            poll_count: g.poll_count,
        }
    }
}

/// One name's (or type's) figures at the earlier snapshot and now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GroupChange {
    /// The tasks' name; for a per-type row, the type's name.
    pub name: String,
    /// The tasks' type.
    pub task_type: TaskType,
    /// At the earlier snapshot (all zero for a name first seen since).
    pub then: GroupFigures,
    /// At the later snapshot.
    pub now: GroupFigures,
}

impl GroupChange {
    /// Live bytes now minus live bytes then: what this name holds more (or, negative,
    /// less) than it did.
    pub fn live_bytes_change(&self) -> i128 {
        i128::from(self.now.live_bytes) - i128::from(self.then.live_bytes)
    }
}

/// What changed between an earlier snapshot and a later one, made by
/// [`MemorySnapshot::changes_since`].
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let before = memscope::snapshot();
/// let kept = memscope::Tracked::new(async { vec![7u8; 1000] }, "doc-diff", memscope::TaskType::IoIntensive).await;
/// let diff = memscope::snapshot().changes_since(&before);
/// let change = diff.names.iter().find(|c| c.name == "doc-diff").unwrap();
/// assert_eq!(change.live_bytes_change(), 1000);
/// assert_eq!(change.now.task_count - change.then.task_count, 1);
/// # drop(kept);
/// # });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SnapshotDiff {
    /// The earlier snapshot's [`id`](MemorySnapshot::id).
    pub since: u64,
    /// When the earlier one was taken, since the tracker's start.
    #[serde(with = "crate::base::time::duration_ns", rename = "since_taken_at_ns")]
    pub since_taken_at: Duration,
    /// The later snapshot's id.
    pub id: u64,
    /// When the later one was taken.
    #[serde(with = "crate::base::time::duration_ns", rename = "taken_at_ns")]
    pub taken_at: Duration,
    /// Every task type, whether it changed or not (so the earlier totals are all here).
    pub types: Vec<GroupChange>,
    /// The `(name, type)` groups whose figures changed, largest change of live bytes first.
    pub names: Vec<GroupChange>,
    /// Heap traffic outside tasks, then and now.
    pub untracked: [HeapCounters; 2],
    /// memscope's own heap traffic, then and now.
    pub tracker: [HeapCounters; 2],
}

impl MemorySnapshot {
    /// What changed from `earlier` to this snapshot, per type and per name (see
    /// [`SnapshotDiff`]).
    pub fn changes_since(&self, earlier: &MemorySnapshot) -> SnapshotDiff {
        let mut rows: BTreeMap<(TaskType, &str), GroupChange> = BTreeMap::new();
        for (g, later) in earlier.groups.iter().map(|g| (g, false)).chain(
            self.groups.iter().map(|g| (g, true)), //
        ) {
            let row = rows
                .entry((g.task_type, &g.name))
                .or_insert_with(|| GroupChange {
                    name: g.name.clone(),
                    task_type: g.task_type,
                    then: GroupFigures::default(),
                    now: GroupFigures::default(),
                });
            *(if later { &mut row.now } else { &mut row.then }) = GroupFigures::of(g);
        }
        let mut names: Vec<GroupChange> = rows.into_values().filter(|c| c.then != c.now).collect();
        names.sort_by_key(|c| std::cmp::Reverse(c.live_bytes_change().unsigned_abs()));
        let types = TaskType::ALL
            .iter()
            .map(|&t| GroupChange {
                name: t.as_str().to_owned(),
                task_type: t,
                then: GroupFigures::of(&earlier.by_type(t)),
                now: GroupFigures::of(&self.by_type(t)),
            })
            .collect();
        SnapshotDiff {
            since: earlier.id,
            since_taken_at: earlier.taken_at,
            id: self.id,
            taken_at: self.taken_at,
            types,
            names,
            untracked: [earlier.untracked, self.untracked],
            tracker: [earlier.tracker, self.tracker],
        }
    }
}
