//! The snapshots the endpoint served last, by id, for `/snapshot.json?since=<id>`.

use crate::serve::limits::HISTORY;
use crate::view::snapshot::MemorySnapshot;
use std::collections::VecDeque;

/// The last [`HISTORY`] snapshots served, their groups only (each at most one row per
/// `(name, type)`, whose number is bounded by `Config::max_groups`).
#[derive(Default)]
pub(crate) struct History {
    kept: VecDeque<MemorySnapshot>,
}

impl History {
    /// Keeps `snap`'s groups and totals (its tasks and timeline are dropped), forgetting
    /// the oldest kept past [`HISTORY`].
    pub(crate) fn keep(&mut self, mut snap: MemorySnapshot) {
        snap.tasks = Vec::new();
        snap.timeline = Vec::new();
        if self.kept.len() == HISTORY {
            self.kept.pop_front();
        }
        self.kept.push_back(snap);
    }

    /// The kept snapshot numbered `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&MemorySnapshot> {
        self.kept.iter().find(|s| s.id == id)
    }

    /// The ids kept, oldest first (for the message when one asked for is gone).
    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.kept.iter().map(|s| s.id)
    }
}
