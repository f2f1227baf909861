//! Point-in-time copies of the books, as plain values: one task
//! ([`TaskMemoryProfile`](task::TaskMemoryProfile)), and everything
//! ([`MemorySnapshot`](snapshot::MemorySnapshot), taken by [`snapshot()`](snapshot::snapshot)),
//! and what changed between two ([`SnapshotDiff`](diff::SnapshotDiff)).

pub(crate) mod diff;
pub(crate) mod inclusive;
pub(crate) mod scan;
pub(crate) mod site_builder;
pub(crate) mod sites;
pub(crate) mod snapshot;
pub(crate) mod task;
