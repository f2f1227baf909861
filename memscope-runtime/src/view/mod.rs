//! Point-in-time copies of the books, as plain values: one task
//! ([`TaskMemoryProfile`](task::TaskMemoryProfile)), and everything
//! ([`MemorySnapshot`](snapshot::MemorySnapshot), taken by [`snapshot()`](snapshot::snapshot)).

pub(crate) mod inclusive;
pub(crate) mod snapshot;
pub(crate) mod task;
