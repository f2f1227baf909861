//! The per-type table: a row per task type, followed by its names indented (those still
//! holding memory first, then by highest peak), so a type's figures never mix fns
//! without saying which.

use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::report::rollup;
use crate::report::units::{fit, human_bytes, thousands};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Names listed under one type before the rest is counted in one line.
const NAMES_PER_TYPE: usize = 5;
/// Width of the first column (the type, or two spaces and a name).
const FIRST: usize = 20;

/// The per-type table with its names, and a note on the tasks that did not complete.
pub(super) fn by_type(out: &mut String, s: &MemorySnapshot) {
    let _ = writeln!(
        out,
        "\n{:<FIRST$} {:>7} {:>6} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8}",
        "by task type",
        "tasks",
        "done %",
        "peak max",
        "mean peak",
        "live",
        "retained",
        "allocs",
        "wait ms"
    );
    let ranked = rollup::ranked_names(s);
    let mut notes = Vec::new();
    for ty in TaskType::ALL {
        let g = s.by_type(ty);
        if g.task_count == 0 {
            continue;
        }
        row(out, ty.as_str(), &g);
        let names: Vec<&GroupProfile> = ranked
            .iter()
            .copied()
            .filter(|n| n.task_type == ty)
            .collect();
        for n in names.iter().take(NAMES_PER_TYPE) {
            row(out, &format!("  {}", fit(&n.name, FIRST - 2)), n);
        }
        if names.len() > NAMES_PER_TYPE {
            let _ = writeln!(
                out,
                "  … {} more names",
                thousands((names.len() - NAMES_PER_TYPE) as u64)
            );
        }
        if g.running_count + g.panicked_count + g.cancelled_count > 0 {
            notes.push(format!(
                "{}: {} running, {} panicked, {} cancelled",
                ty.as_str(),
                g.running_count,
                g.panicked_count,
                g.cancelled_count
            ));
        }
    }
    // One line per type, so that the note stays within the width.
    for note in notes {
        let _ = writeln!(out, "  not completed: {note}");
    }
}

/// One row: a type's figures, or one name's under it.
fn row(out: &mut String, label: &str, g: &GroupProfile) {
    let r = rollup::rates(g);
    let _ = writeln!(
        out,
        "{:<FIRST$} {:>7} {:>6.1} {:>10} {:>10} {:>10} {:>10} {:>9} {:>8.1}",
        label,
        thousands(g.task_count),
        r.done_percent,
        human_bytes(g.max_peak_bytes),
        human_bytes(g.mean_peak_bytes().round() as u64),
        human_bytes(g.live_bytes),
        human_bytes(g.retained_bytes),
        thousands(g.heap.allocation_count),
        r.wait_ms
    );
}
