//! Where in the tasks memory was allocated: for the names holding the most bytes at
//! sampled call sites, their top sites, one line each (bytes in use, retained by finished
//! tasks, allocated, and the site's `function (file:line)`), then the top sites outside
//! any task. The figures are the sampled estimates of
//! [`CallSites`](crate::view::sites::CallSites); the heading says how they were sampled.

use super::{line_with_name, TOP_N};
use crate::report::units::{human_bytes, plural, thousands};
use crate::view::sites::{CallSites, SiteFigures};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Sites listed under one name.
const SITES_PER_NAME: usize = 3;
/// Sites listed for the memory allocated outside any task.
const UNTRACKED_SITES: usize = 2;
/// The three figure columns and the gap before the site.
const FIGURES: usize = 2 + 3 * 11 + 1;

/// The section, left out when no task's allocation was sampled.
pub(super) fn top_sites(out: &mut String, s: &MemorySnapshot) {
    section(out, &s.sites);
}

/// The section's lines for `sites`.
fn section(out: &mut String, sites: &CallSites) {
    if sites.groups.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nwhere in the tasks: top call sites by name ({})",
        how_sampled(sites.sample_bytes)
    );
    if sites.dropped > 0 {
        let _ = writeln!(
            out,
            "  {} of {} dropped (no free sample slot): the figures are low by their share",
            thousands(sites.dropped),
            plural(sites.samples + sites.dropped, "sample", "samples")
        );
    }
    let _ = writeln!(
        out,
        "  {:>10} {:>10} {:>10}  site",
        "in use", "retained", "allocated"
    );
    for g in sites.groups.iter().take(TOP_N) {
        let heading = format!(" ({}): {}", g.task_type.as_str(), in_use_at(&g.sites));
        let _ = writeln!(out, "{}", line_with_name("", &g.name, &heading));
        listed(out, sites, &g.sites, SITES_PER_NAME);
    }
    if sites.groups.len() > TOP_N {
        let rest = &sites.groups[TOP_N..];
        let bytes: u64 = rest.iter().map(|g| in_use(&g.sites)).sum();
        let _ = writeln!(
            out,
            "… {} more names ({} in use at their sites)",
            thousands(rest.len() as u64),
            human_bytes(bytes)
        );
    }
    if !sites.untracked.is_empty() {
        let _ = writeln!(out, "outside tasks: {}", in_use_at(&sites.untracked));
        listed(out, sites, &sites.untracked, UNTRACKED_SITES);
    }
}

/// How the figures were sampled, for the heading.
fn how_sampled(sample_bytes: u64) -> String {
    match sample_bytes {
        0 => "sampling off now: estimates from the samples taken before".to_owned(),
        1 => "every allocation sampled: exact".to_owned(),
        mean => format!("estimates from sampling, mean {}", human_bytes(mean)),
    }
}

/// Bytes in use at `rows`.
fn in_use(rows: &[SiteFigures]) -> u64 {
    rows.iter().map(|r| r.in_use_bytes).sum()
}

/// "4.9 KiB in use at 3 sites".
fn in_use_at(rows: &[SiteFigures]) -> String {
    format!(
        "{} in use at {}",
        human_bytes(in_use(rows)),
        plural(rows.len() as u64, "site", "sites")
    )
}

/// The first `n` of `rows`, one line each, and one line summing the rest.
fn listed(out: &mut String, sites: &CallSites, rows: &[SiteFigures], n: usize) {
    for r in rows.iter().take(n) {
        let label = sites
            .stacks
            .get(r.stack)
            .map_or_else(|| "(no stack)".to_owned(), |st| st.label());
        let _ = writeln!(out, "{}", site_line(r, &label));
    }
    if rows.len() > n {
        let rest = &rows[n..];
        let _ = writeln!(
            out,
            "  … {} more {} ({} in use, {} allocated)",
            thousands(rest.len() as u64),
            if rest.len() == 1 { "site" } else { "sites" },
            human_bytes(in_use(rest)),
            human_bytes(rest.iter().map(|r| r.allocated_bytes).sum())
        );
    }
}

/// One site's line: its figures, then its label cut to what the width leaves.
fn site_line(r: &SiteFigures, label: &str) -> String {
    let figures = format!(
        "  {:>10} {:>10} {:>10}  ",
        human_bytes(r.in_use_bytes),
        human_bytes(r.retained_bytes),
        human_bytes(r.allocated_bytes)
    );
    debug_assert_eq!(figures.chars().count(), FIGURES);
    line_with_name(&figures, label, "")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::TaskType;
    use crate::view::sites::{CallStack, GroupSites, StackFrame};

    fn stack(function: &str) -> CallStack {
        CallStack {
            frames: vec![StackFrame {
                function: function.into(),
                file: Some("/src/app/src/cache.rs".into()),
                line: Some(12),
                address: 1,
            }],
        }
    }

    fn site(stack: usize, in_use: u64, allocated: u64) -> SiteFigures {
        SiteFigures {
            stack,
            allocated_bytes: allocated,
            allocations: 1,
            in_use_bytes: in_use,
            in_use_blocks: 1,
            retained_bytes: in_use / 2,
            retained_blocks: 1,
        }
    }

    fn render(sites: CallSites) -> String {
        let mut out = String::new();
        section(&mut out, &sites);
        out
    }

    #[test]
    fn each_name_lists_its_top_sites_and_sums_the_rest() {
        let long = format!("app::{}::put", "very_long_module".repeat(8));
        let mut sites = CallSites {
            sample_bytes: 1,
            samples: 9,
            stacks: vec![stack("app::cache::put"), stack(&long), stack("app::main")],
            ..CallSites::default()
        };
        sites.groups.push(GroupSites {
            name: "cache\nwarm".into(),
            task_type: TaskType::MemoryIntensive,
            sites: vec![
                site(0, 4096, 8192),
                site(1, 1000, 1000),
                site(2, 10, 10),
                site(2, 0, 2048),
            ],
        });
        sites.untracked.push(site(2, 100, 300));
        let out = render(sites);
        let lines: Vec<&str> = out.lines().collect();
        // The long label keeps its end, to the 64 columns the figures leave.
        let cut = format!("{long} (src/cache.rs:12)");
        let cut = &cut[cut.len() - 63..];
        assert_eq!(
            lines[1..6],
            [
                "where in the tasks: top call sites by name (every allocation sampled: exact)",
                "      in use   retained  allocated  site",
                "cache?warm (memory): 5.0 KiB in use at 4 sites",
                "     4.0 KiB    2.0 KiB    8.0 KiB  app::cache::put (src/cache.rs:12)",
                &format!("      1000 B      500 B     1000 B  …{cut}"),
            ]
        );
        assert_eq!(
            lines[7..],
            [
                "  … 1 more site (0 B in use, 2.0 KiB allocated)",
                "outside tasks: 100 B in use at 1 site",
                "       100 B       50 B      300 B  app::main (src/cache.rs:12)",
            ]
        );
        assert!(lines
            .iter()
            .all(|l| l.chars().count() <= super::super::WIDTH));
    }

    #[test]
    fn the_heading_says_how_the_figures_were_sampled() {
        assert_eq!(
            how_sampled(512 << 10),
            "estimates from sampling, mean 512.0 KiB"
        );
        assert!(how_sampled(0).starts_with("sampling off now"));
        // Nothing sampled in a task: no section.
        assert_eq!(render(CallSites::default()), "");
    }
}
