//! `FoldedGroup`: the sums a shard adds each folded task to, in integers, read out as a
//! [`GroupProfile`] by a snapshot.
//!
//! A fold runs once per finished task (a nested `#[track]` fn awaited inline is one),
//! under the shard's lock. Adding into a `GroupProfile` there cost about 170 instructions
//! a task, most of them `Duration` arithmetic (each add normalises seconds and
//! nanoseconds; `Duration::from_nanos` divides); these integer sums cost about 80, and
//! the conversion happens once per group per snapshot instead.

use crate::base::task::{Outcome, TaskType};
use crate::books::aggregate::GroupProfile;
use crate::hook::record::Reading;
use std::time::Duration;

/// What the tasks folded into one `(name, type)` group add up to: the figures of a
/// [`GroupProfile`] of tasks whose memory is counted as freed (what a folded task still
/// holds is on its cell, added back by the snapshot), with times in nanoseconds.
#[derive(Clone, Debug)]
pub(crate) struct FoldedGroup {
    /// Name, type, counts, heap, peaks and polls; its times stay zero (see below).
    counts: GroupProfile,
    /// Sums of nanoseconds over any number of tasks: `u128`, which no run can fill.
    poll_ns: u128,
    sum_lifetime_ns: u128,
    first_started_ns: Option<u64>,
    last_completed_ns: Option<u64>,
}

impl FoldedGroup {
    /// An empty group.
    pub(crate) fn new(name: &str, task_type: TaskType) -> Self {
        FoldedGroup {
            counts: GroupProfile::new(name, task_type),
            poll_ns: 0,
            sum_lifetime_ns: 0,
            first_started_ns: None,
            last_completed_ns: None,
        }
    }

    /// The tasks' type.
    pub(crate) fn task_type(&self) -> TaskType {
        self.counts.task_type
    }

    /// Adds one task read at `now_ns`, its live memory counted as freed (`Shard::fold`).
    pub(crate) fn add(&mut self, r: &Reading, now_ns: u64) {
        debug_assert_eq!(
            r.heap.live_bytes(),
            0,
            "a folded task's memory counts as freed"
        );
        self.counts.add_counts(r);
        self.poll_ns += u128::from(r.poll_ns);
        self.sum_lifetime_ns += u128::from(r.lifetime_ns(now_ns));
        self.first_started_ns = Some(
            self.first_started_ns
                .map_or(r.created_ns, |first| first.min(r.created_ns)),
        );
        if r.outcome == Outcome::Completed {
            self.last_completed_ns = self.last_completed_ns.max(r.ended_ns);
        }
    }

    /// The group's figures as a snapshot shows them (nothing retained yet: the snapshot
    /// adds what the group's detached cells hold).
    pub(crate) fn profile(&self) -> GroupProfile {
        let mut g = self.counts.clone();
        g.poll_duration = duration(self.poll_ns);
        g.sum_lifetime = duration(self.sum_lifetime_ns);
        g.first_started_at = self.first_started_ns.map(Duration::from_nanos);
        g.last_completed_at = self.last_completed_ns.map(Duration::from_nanos);
        g
    }
}

/// `ns` nanoseconds as a `Duration`, saturating at `Duration::MAX`.
fn duration(ns: u128) -> Duration {
    const NS_PER_S: u128 = 1_000_000_000;
    match u64::try_from(ns / NS_PER_S) {
        Ok(secs) => Duration::new(secs, (ns % NS_PER_S) as u32),
        Err(_) => Duration::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::counters::HeapCounters;

    fn reading(outcome: Outcome, peak: u64, created_ns: u64, ended_ns: Option<u64>) -> Reading {
        Reading {
            outcome,
            heap: HeapCounters::new(peak, 1, peak, 1),
            peak_bytes: peak,
            poll_count: 2,
            poll_ns: 10,
            created_ns,
            ended_ns,
            descendant_alloc: (0, 0),
        }
    }

    #[test]
    fn integer_sums_give_the_profile_that_adding_profiles_gives() {
        let tasks = [
            reading(Outcome::Completed, 300, 100, Some(400)),
            reading(Outcome::Panicked, 50, 40, Some(1_000)),
            reading(Outcome::Cancelled, 700, 2_000_000_123, Some(3_500_000_000)),
            reading(Outcome::Completed, 10, 90, Some(5_000_000_001)),
            reading(Outcome::Running, 0, 6_000_000_000, None),
        ];
        let mut folded = FoldedGroup::new("g", TaskType::IoIntensive);
        let mut expected = GroupProfile::new("g", TaskType::IoIntensive);
        for r in &tasks {
            folded.add(r, 7_000_000_000);
            expected.add(r, 7_000_000_000);
        }
        assert_eq!(folded.profile(), expected);
        assert_eq!(
            folded.profile().sum_lifetime,
            Duration::from_nanos(300 + 960 + 1_499_999_877 + 4_999_999_911 + 1_000_000_000)
        );
    }

    #[test]
    fn sums_beyond_u64_nanoseconds_are_kept() {
        let mut folded = FoldedGroup::new("long", TaskType::Background);
        for _ in 0..4 {
            folded.add(&reading(Outcome::Completed, 0, 0, Some(u64::MAX)), u64::MAX);
        }
        let secs = u64::MAX / 1_000_000_000;
        assert!(folded.profile().sum_lifetime > Duration::from_secs(4 * secs));
        assert_eq!(duration(u128::MAX), Duration::MAX);
    }
}
