//! The snapshots the endpoint served last, by id, for `/snapshot.json?since=<id>`: those
//! `/snapshot.json` handed out (what a poller holds) apart from the scrapes' (`/metrics`,
//! pprof, the reports), so a scrape every second never pushes a poller's id out.

use crate::serve::limits::HISTORY;
use crate::view::snapshot::MemorySnapshot;
use std::collections::VecDeque;

/// The last [`HISTORY`] snapshots `/snapshot.json` served and the last [`HISTORY`] of the
/// other routes, their groups only (one row per `(name, type)`: the names of running
/// tasks, plus folded groups bounded by `Config::max_groups` per shard).
#[derive(Default)]
pub(crate) struct History {
    polled: VecDeque<MemorySnapshot>,
    scraped: VecDeque<MemorySnapshot>,
}

/// Which answer a kept snapshot was made for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Served {
    /// `/snapshot.json` (full, or `?since=`).
    Polled,
    /// `/metrics`, pprof, the reports.
    Scraped,
}

impl History {
    /// Keeps `snap`'s groups and totals (its tasks and timeline are dropped), forgetting
    /// the oldest kept past [`HISTORY`].
    pub(crate) fn keep(&mut self, mut snap: MemorySnapshot, served: Served) {
        snap.tasks = Vec::new();
        snap.timeline = Vec::new();
        let kept = match served {
            Served::Polled => &mut self.polled,
            Served::Scraped => &mut self.scraped,
        };
        if kept.len() == HISTORY {
            kept.pop_front();
        }
        kept.push_back(snap);
    }

    /// The kept snapshot numbered `id`.
    pub(crate) fn get(&self, id: u64) -> Option<&MemorySnapshot> {
        self.polled.iter().chain(&self.scraped).find(|s| s.id == id)
    }

    /// The ids `/snapshot.json` served and kept, oldest first (for the message when one
    /// asked for is gone).
    pub(crate) fn ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.polled.iter().map(|s| s.id)
    }
}
