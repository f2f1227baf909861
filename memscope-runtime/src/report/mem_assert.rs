//! The failure of `memscope::assert_mem!` (the macro is the facade's): the failed checks of
//! a measured future's [`Stats`], its figures, the task tree and its top call sites; and
//! how budgets' values read.

use crate::base::budget::{OverBudget, Pressure, Stats};
use crate::base::task::TaskId;
use crate::report::units::{human_bytes, plural, thousands};
use crate::view::snapshot::{snapshot, MemorySnapshot};
use std::fmt::{self, Write};

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

    /// Panics with what to do if allocations do not reach memscope: every figure would be
    /// zero and every bound would hold.
    pub fn require_hook() {
        static INSTALLED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if !*INSTALLED.get_or_init(crate::hook::hook_installed) {
            panic!(
                "memscope::assert_mem!: {}",
                crate::base::error::Error::HookNotInstalled
            );
        }
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
    let (mut names, mut rows) = (Vec::new(), 0);
    tree(&mut out, snap, stats.task, 1, &mut names, &mut rows);
    sites(&mut out, snap, &names);
    out
}

/// Tasks shown in the tree, at most.
const TREE_ROWS: usize = 40;

/// Writes `id` and its descendants still held by the books, indented by depth, at most
/// [`TREE_ROWS`] rows (`rows` counts them), noting the names seen.
fn tree(
    out: &mut String,
    snap: &MemorySnapshot,
    id: TaskId,
    depth: usize,
    names: &mut Vec<String>,
    rows: &mut usize,
) {
    if *rows == TREE_ROWS {
        let _ = writeln!(out, "{:w$}… (more tasks not shown)", "", w = depth * 2);
    }
    *rows += 1;
    if *rows > TREE_ROWS {
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
        "{:w$}{} ({id}, {}): allocated {} in {}, live {}, peak {}, {}",
        "",
        t.display_name(),
        t.outcome,
        human_bytes(t.heap.allocated_bytes),
        thousands(t.heap.allocation_count),
        human_bytes(t.live_bytes),
        human_bytes(t.peak_bytes),
        plural(t.poll_count, "poll", "polls"),
        w = depth * 2
    );
    if !names.contains(&t.name) {
        names.push(t.name.clone());
    }
    let children: Vec<TaskId> = snap.children(id).map(|c| c.id).collect();
    for child in children {
        tree(out, snap, child, depth + 1, names, rows);
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
            "allocated {} in {}, freed {} in {}, peak {}, retained {} in {}, {}, {}",
            human_bytes(self.allocated_bytes),
            plural(self.allocations, "allocation", "allocations"),
            human_bytes(self.freed_bytes),
            thousands(self.frees),
            human_bytes(self.peak_bytes),
            human_bytes(self.retained_bytes),
            plural(self.retained_blocks, "block", "blocks"),
            plural(self.polls, "poll", "polls"),
            plural(self.tasks, "task", "tasks"),
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
