//! The per-name table: one row per task name (folded tasks included), the names still
//! holding memory first and marked `!`, then by highest peak; and, when the program's
//! root task holds the top peak, a tip on where tokio's task cells are charged.

use super::TOP_N;
use crate::books::aggregate::GroupProfile;
use crate::report::rollup;
use crate::report::units::{fit, human_bytes, thousands};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Characters of a name in the table.
const NAME: usize = 25;

/// The per-name table, [`TOP_N`] rows, then one line for the rest.
pub(super) fn by_name(out: &mut String, s: &MemorySnapshot) {
    let names = rollup::ranked_names(s);
    if names.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\n{:<width$} {:<11} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10}",
        format!("by task name ({} names)", thousands(names.len() as u64)),
        "type",
        "tasks",
        "running",
        "peak max",
        "mean peak",
        "live",
        "retained",
        width = NAME + 2
    );
    for g in names.iter().take(TOP_N) {
        row(out, g);
    }
    if names.len() > TOP_N {
        let rest = &names[TOP_N..];
        let retained: u64 = rest.iter().map(|g| g.retained_bytes).sum();
        let _ = writeln!(
            out,
            "  … {} more names ({} retained)",
            thousands(rest.len() as u64),
            human_bytes(retained)
        );
    }
    hint(out, s);
}

/// One name's row, marked `!` when its finished tasks still hold memory.
fn row(out: &mut String, g: &GroupProfile) {
    let _ = writeln!(
        out,
        "{} {:<NAME$} {:<11} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10}",
        if g.retained_bytes > 0 { '!' } else { ' ' },
        fit(&g.name, NAME),
        g.task_type.as_str(),
        thousands(g.task_count),
        thousands(g.running_count),
        human_bytes(g.max_peak_bytes),
        human_bytes(g.mean_peak_bytes().round() as u64),
        human_bytes(g.live_bytes),
        human_bytes(g.retained_bytes)
    );
}

/// The tip printed when the root task holds the top peak: the snapshot cannot tell how a
/// task was spawned, so the likely cause is named instead.
fn hint(out: &mut String, s: &MemorySnapshot) {
    let Some(root) = rollup::root_holds_top_peak(s) else {
        return;
    };
    let _ = writeln!(
        out,
        "tip: {} holds the top peak ({}): plain `tokio::spawn` charges tokio's task cell\n     \
         to the spawner, `memscope::spawn(fut.tracked(..))` charges it to the spawned task",
        fit(&root.name, 12),
        human_bytes(root.peak_bytes)
    );
}

#[cfg(test)]
mod tests {
    use crate::report::rollup::tests::{snap, task};

    #[test]
    fn the_root_task_at_the_top_gets_the_spawn_tip() {
        let mut s = snap(vec![
            task(1, "main", None, 70_000, 0),
            task(2, "worker", None, 100, 0),
        ]);
        let mut out = String::new();
        super::hint(&mut out, &s);
        assert!(
            out.starts_with("tip: main holds the top peak (68.4 KiB): plain `tokio::spawn`"),
            "{out}"
        );
        assert!(out
            .lines()
            .all(|l| l.chars().count() <= super::super::WIDTH));
        // The widest figure still fits.
        s.tasks[0].peak_bytes = 1023 << 20;
        let mut out = String::new();
        super::hint(&mut out, &s);
        assert!(
            out.lines()
                .all(|l| l.chars().count() <= super::super::WIDTH),
            "{out}"
        );
        s.tasks[1].peak_bytes = 1 << 30;
        let mut out = String::new();
        super::hint(&mut out, &s);
        assert!(out.is_empty());
    }
}
