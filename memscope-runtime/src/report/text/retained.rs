//! Memory that finished tasks still hold: first grouped (by name, then by parent), each
//! line marked `!` under a `RETAINED` heading so it stands out; further down, the tasks
//! themselves, largest first.

use super::{line_with_name, tasks, TOP_N};
use crate::base::task::{TaskId, TaskType};
use crate::report::rollup::{self, Held};
use crate::report::units::{human_bytes, plural, thousands};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Left column of the first line of each grouping.
const BY_NAME: &str = "! by name     ";
const BY_PARENT: &str = "! by parent   ";
/// Left column of the following lines.
const MORE: &str = "!             ";

/// The `RETAINED` section: totals, then [`TOP_N`] lines by name and by parent.
pub(super) fn grouped(out: &mut String, s: &MemorySnapshot) {
    let (bytes, count) = rollup::held_total(s);
    if count == 0 {
        let _ = writeln!(out, "\nno memory retained after completion");
        return;
    }
    let _ = writeln!(
        out,
        "\nRETAINED after completion: {} in {} (handed off or leaked)",
        human_bytes(bytes),
        plural(count, "finished task", "finished tasks")
    );
    let by_name = rollup::held_by_name(s);
    let lines = by_name.iter().map(name_line);
    section(out, BY_NAME, lines, &by_name, "names");
    let by_parent = rollup::held_by_parent(s);
    let lines = by_parent.iter().map(|h| parent_line(s, h));
    section(out, BY_PARENT, lines, &by_parent, "parents");
}

/// Writes the first [`TOP_N`] `lines` behind `first` (then [`MORE`]), and one line
/// summing the groups past them.
fn section<K>(
    out: &mut String,
    first: &str,
    lines: impl Iterator<Item = (String, String)>,
    all: &[Held<K>],
    what: &str,
) {
    for (i, (name, rest)) in lines.take(TOP_N).enumerate() {
        let prefix = if i == 0 { first } else { MORE };
        let _ = writeln!(out, "{}", line_with_name(prefix, &name, &rest));
    }
    if all.len() > TOP_N {
        let rest = &all[TOP_N..];
        let _ = writeln!(
            out,
            "{MORE}… {} more {what} hold {} in {}",
            thousands(rest.len() as u64),
            human_bytes(rest.iter().map(|h| h.bytes).sum()),
            plural(rest.iter().map(|h| h.tasks).sum(), "task", "tasks")
        );
    }
}

/// "200 × handle_request (network) hold 195.3 KiB, 1000 B each", as the name and the
/// text around it.
fn name_line(h: &Held<(&str, TaskType)>) -> (String, String) {
    let (name, ty) = h.key;
    let (verb, each) = match h.tasks {
        1 => ("holds", String::new()),
        _ if h.smallest == h.largest => ("hold", format!(", {} each", human_bytes(h.largest))),
        _ => (
            "hold",
            format!(
                ", {} to {} each",
                human_bytes(h.smallest),
                human_bytes(h.largest)
            ),
        ),
    };
    let rest = format!(" ({}) {verb} {}{each}", ty.as_str(), human_bytes(h.bytes));
    (format!("{} × {name}", thousands(h.tasks)), rest)
}

/// "children of #12 conn (io) hold 195.3 KiB in 200 tasks", as the name and the text
/// around it.
fn parent_line(s: &MemorySnapshot, h: &Held<Option<TaskId>>) -> (String, String) {
    let tail = format!(
        " hold {} in {}",
        human_bytes(h.bytes),
        plural(h.tasks, "task", "tasks")
    );
    match h.key.map(|id| (id, s.task(id))) {
        None => ("tasks with no tracked parent".to_owned(), tail),
        Some((id, None)) => (
            format!("children of #{} (no longer held)", id.as_u64()),
            tail,
        ),
        Some((id, Some(p))) => (
            format!("children of #{} {}", id.as_u64(), p.display_name()),
            format!(" ({}){tail}", p.task_type.as_str()),
        ),
    }
}

/// The retained tasks themselves, largest first ([`TOP_N`] of them).
pub(super) fn instances(out: &mut String, s: &MemorySnapshot) {
    let all = s.retained_tasks();
    if all.is_empty() {
        return;
    }
    let total: u64 = all.iter().map(|t| t.retained_bytes).sum();
    let _ = writeln!(
        out,
        "\nretained after completion: {} in {}, largest first",
        human_bytes(total),
        plural(all.len() as u64, "finished task", "finished tasks")
    );
    tasks::task_table(
        out,
        &all[..all.len().min(TOP_N)],
        ["retained", "allocated"],
        |t| [t.retained_bytes, t.heap.allocated_bytes],
    );
}

#[cfg(test)]
mod tests {
    use crate::report::rollup::tests::{snap, task};

    #[test]
    fn groups_read_as_sentences() {
        let mut tasks = vec![task(1, "conn", None, 10, 0)];
        tasks.extend((2..=4).map(|id| task(id, "handle_request", Some(1), 2000, 1000)));
        tasks.push(task(6, "handle_request", Some(1), 2000, 24));
        tasks.push(task(5, "cache", Some(77), 9000, 4000));
        let mut out = String::new();
        super::grouped(&mut out, &snap(tasks));
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[1..],
            [
                "RETAINED after completion: 6.9 KiB in 5 finished tasks (handed off or leaked)",
                "! by name     1 × cache (network) holds 3.9 KiB",
                "!             4 × handle_request (network) hold 3.0 KiB, 24 B to 1000 B each",
                "! by parent   children of #77 (no longer held) hold 3.9 KiB in 1 task",
                "!             children of #1 conn (network) hold 3.0 KiB in 4 tasks",
            ]
        );
    }
}
