//! `assert_mem!`: checks of a measured future's [`Stats`], whose failure shows the
//! figures, the task tree and its top call sites; and how budgets' values read.

use crate::base::budget::{OverBudget, Pressure, Stats};
use crate::base::task::TaskId;
use crate::report::units::{human_bytes, thousands};
use crate::view::snapshot::{snapshot, MemorySnapshot};
use std::fmt::{self, Write};

/// Checks figures of [`Stats`] (from [`measure`](crate::measure)) against bounds:
/// `assert_mem!(stats, KEY OP VALUE, …)` with `KEY` one of `allocated`, `allocations`,
/// `freed`, `frees`, `peak`, `retained`, `retained_blocks`, `polls`, `tasks` (the methods
/// of [`Stats`]; a misspelt key does not compile) and `OP` one of `<=`, `<`, `==`, `>=`,
/// `>`. Every check is made; if any fails, it panics with the failed ones, all the
/// figures, the measured task tree (each task's own figures) and, where allocations
/// were sampled, the top call sites of the tree's task names. Like dhat's heap
/// assertions, but per measured future, so tests running at once in one binary each
/// see only their own.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{assert_mem, measure, KIB};
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (_, stats) = rt.block_on(measure(async { vec![0u64; 1000].iter().sum::<u64>() }));
/// assert_mem!(stats, peak <= 8 * KIB, retained == 0, allocations <= 1);
/// ```
///
/// ```should_panic
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// # let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (_, stats) = rt.block_on(memscope::measure(async { Box::leak(Box::new([0u8; 100])); }));
/// memscope::assert_mem!(stats, retained == 0); // panics: "retained == 0: retained is 100 B (100)"
/// ```
#[macro_export]
macro_rules! assert_mem {
    ($stats:expr, $($key:ident $op:tt $value:expr),+ $(,)?) => {{
        let __memscope_stats: &$crate::Stats = &$stats;
        let mut __memscope_failed: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
        $(
            let __memscope_value: u64 = $value;
            let __memscope_actual: u64 = $crate::Stats::$key(__memscope_stats);
            if !(__memscope_actual $op __memscope_value) {
                __memscope_failed.push($crate::__private_mem_assert::failed_check(
                    stringify!($key),
                    stringify!($op),
                    __memscope_value,
                    __memscope_actual,
                ));
            }
        )+
        if !__memscope_failed.is_empty() {
            $crate::__private_mem_assert::fail(__memscope_stats, &__memscope_failed);
        }
    }};
}

/// What `assert_mem!` expands to; not part of the API.
#[doc(hidden)]
pub mod private {
    use super::*;

    /// One failed check, as the message lists it.
    pub fn failed_check(key: &str, op: &str, bound: u64, actual: u64) -> String {
        let bytes = matches!(key, "allocated" | "freed" | "peak" | "retained");
        let shown = |v: u64| match bytes {
            true => format!("{} ({})", human_bytes(v), thousands(v)),
            false => thousands(v),
        };
        format!("{key} {op} {}: {key} is {}", shown(bound), shown(actual))
    }

    /// Panics with the failed checks, the figures, the task tree and its top sites.
    #[track_caller]
    pub fn fail(stats: &Stats, failed: &[String]) -> ! {
        panic!("{}", failure_message(stats, failed, &snapshot()))
    }
}

/// The message of a failed `assert_mem!`, from `snap`.
pub(crate) fn failure_message(stats: &Stats, failed: &[String], snap: &MemorySnapshot) -> String {
    let mut out = String::new();
    let root = snap
        .task(stats.task)
        .map_or("(folded)", |t| t.name.as_str());
    let _ = writeln!(
        out,
        "memscope::assert_mem! failed for `{root}` ({}):",
        stats.task
    );
    for f in failed {
        let _ = writeln!(out, "  {f}");
    }
    let _ = writeln!(out, "figures: {stats}");
    let _ = writeln!(out, "task tree (own figures of each task):");
    let mut names = Vec::new();
    tree(&mut out, snap, stats.task, 1, &mut names);
    sites(&mut out, snap, &names);
    out
}

/// Tasks shown in the tree, at most.
const TREE_ROWS: usize = 40;

/// Writes `id` and its descendants still held by the books, indented by depth.
fn tree(
    out: &mut String,
    snap: &MemorySnapshot,
    id: TaskId,
    depth: usize,
    names: &mut Vec<String>,
) {
    if names.len() >= TREE_ROWS {
        return;
    }
    let Some(t) = snap.task(id) else {
        let _ = writeln!(
            out,
            "{:w$}{id}: folded into its group's totals",
            "",
            w = depth * 2
        );
        return;
    };
    let _ = writeln!(
        out,
        "{:w$}{} ({id}, {}): allocated {} in {}, live {}, peak {}, {} polls",
        "",
        t.display_name(),
        t.outcome,
        human_bytes(t.heap.allocated_bytes),
        thousands(t.heap.allocation_count),
        human_bytes(t.live_bytes),
        human_bytes(t.peak_bytes),
        thousands(t.poll_count),
        w = depth * 2
    );
    if !names.contains(&t.name) {
        names.push(t.name.clone());
    }
    let children: Vec<TaskId> = snap.children(id).map(|c| c.id).collect();
    for child in children {
        tree(out, snap, child, depth + 1, names);
    }
}

/// Sites listed per name.
const SITES_PER_NAME: usize = 3;

/// The top sampled sites of the tree's names (all tasks of those names).
fn sites(out: &mut String, snap: &MemorySnapshot, names: &[String]) {
    let sites = &snap.sites;
    let groups: Vec<_> = names.iter().filter_map(|n| sites.group(n)).collect();
    if groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "top sampled call sites of these names (all their tasks):"
    );
    for g in groups {
        for s in g.sites.iter().take(SITES_PER_NAME) {
            let label = sites
                .stacks
                .get(s.stack)
                .map_or("(no stack)".into(), |c| c.label());
            let _ = writeln!(
                out,
                "  {}: {} allocated, {} in use at {label}",
                g.name,
                human_bytes(s.allocated_bytes),
                human_bytes(s.in_use_bytes)
            );
        }
    }
}

impl fmt::Display for Stats {
    /// `allocated 4.9 KiB in 2 allocations, freed 3.9 KiB in 1, peak 4.9 KiB, retained
    /// 1000 B in 1 block, 1 poll, 1 task`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "allocated {} in {} allocations, freed {} in {}, peak {}, retained {} in {} blocks, {} polls, {} tasks",
            human_bytes(self.allocated_bytes),
            thousands(self.allocations),
            human_bytes(self.freed_bytes),
            thousands(self.frees),
            human_bytes(self.peak_bytes),
            human_bytes(self.retained_bytes),
            thousands(self.retained_blocks),
            thousands(self.polls),
            thousands(self.tasks),
        )
    }
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "task {} went over its budget of {} (found by task {}): peak {}, {} over; {} still live",
            self.task,
            human_bytes(self.limit_bytes),
            self.found_by,
            human_bytes(self.peak_bytes),
            human_bytes(self.overshoot_bytes()),
            human_bytes(self.live_bytes),
        )
    }
}

impl fmt::Display for Pressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {} ({:.0} %)",
            human_bytes(self.live_bytes),
            human_bytes(self.limit_bytes),
            self.fraction() * 100.0
        )
    }
}
