//! Memory that finished tasks still hold: grouped by name and by parent in a highlighted
//! section near the top, and the tasks themselves, largest first, further down.

use super::table::{self, num, text, Col};
use super::{escape, swatch};
use crate::base::task::{TaskId, TaskType};
use crate::report::rollup::{self, Held};
use crate::report::units::{human_bytes, thousands};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Rows of each retained table (the largest first).
const RETAINED_ROWS: usize = 50;

const BY_NAME: [Col; 5] = [
    num("tasks"),
    text("name"),
    text("type"),
    num("hold"),
    num("each").tip("the least and the most one task holds"),
];
const BY_PARENT: [Col; 5] = [
    num("tasks"),
    text("children of"),
    text("type"),
    num("hold"),
    num("each").tip("the least and the most one task holds"),
];

/// The highlighted section: retained memory by name and by parent.
pub(super) fn grouped(o: &mut String, s: &MemorySnapshot) {
    let (bytes, count) = rollup::held_total(s);
    o.push_str("<section id=\"retained-groups\" class=\"retained\"><h2>Retained after completion: who holds it</h2>");
    if count == 0 {
        o.push_str("<p class=\"empty\">No finished task holds memory.</p></section>\n");
        return;
    }
    let _ = write!(
        o,
        "<p class=\"lead\"><strong>{}</strong> held by <strong>{}</strong> finished tasks: \
         memory handed off to others or leaked</p><div class=\"row\"><div><h3>by name</h3>",
        human_bytes(bytes),
        thousands(count)
    );
    table::open(o, "retained-by-name", &BY_NAME);
    o.push_str("<tbody>");
    let by_name = rollup::held_by_name(s);
    for h in by_name.iter().take(RETAINED_ROWS) {
        let (name, ty) = h.key;
        row(o, h, &escape(name), ty);
    }
    more(o, &by_name, "names");
    o.push_str("</tbody></table></div><div><h3>by parent</h3>");
    table::open(o, "retained-by-parent", &BY_PARENT);
    o.push_str("<tbody>");
    let by_parent = rollup::held_by_parent(s);
    for h in by_parent.iter().take(RETAINED_ROWS) {
        let (label, ty) = parent(s, h.key);
        row(o, h, &label, ty);
    }
    more(o, &by_parent, "parents");
    o.push_str("</tbody></table></div></div></section>\n");
}

/// The parent's cell (already escaped) and type; no type for no parent.
fn parent(s: &MemorySnapshot, id: Option<TaskId>) -> (String, Option<TaskType>) {
    match id.map(|id| (id, s.task(id))) {
        None => ("<span class=\"note\">no tracked parent</span>".into(), None),
        Some((id, None)) => (
            format!(
                "<span class=\"note\">#{} (no longer held)</span>",
                id.as_u64()
            ),
            None,
        ),
        Some((id, Some(p))) => (
            format!(
                "{} <span class=\"note\">#{}</span>",
                escape(&p.display_name()),
                id.as_u64()
            ),
            Some(p.task_type),
        ),
    }
}

/// One group's row: "200 × | handle_request | network | 195.3 KiB | 1000 B".
fn row<K>(o: &mut String, h: &Held<K>, label: &str, ty: impl Into<Option<TaskType>>) {
    let ty = ty.into();
    let _ = write!(o, "<tr>");
    table::cell(o, h.tasks, &format!("{} ×", thousands(h.tasks)), "");
    let _ = write!(
        o,
        "<td>{label}</td><td data-sort=\"{}\">{}</td>",
        ty.map_or("", TaskType::as_str),
        ty.map(swatch).unwrap_or_default()
    );
    table::retained(o, h.bytes);
    let each = if h.partly_folded {
        format!("{} on average", human_bytes(h.bytes / h.tasks.max(1)))
    } else if h.smallest == h.largest {
        human_bytes(h.largest)
    } else {
        format!("{} – {}", human_bytes(h.smallest), human_bytes(h.largest))
    };
    table::cell(o, h.largest, &each, "");
    o.push_str("</tr>");
}

/// The row summing the groups past [`RETAINED_ROWS`].
fn more<K>(o: &mut String, all: &[Held<K>], what: &str) {
    if all.len() <= RETAINED_ROWS {
        return;
    }
    let rest = &all[RETAINED_ROWS..];
    let _ = write!(
        o,
        "<tr class=\"more\"><td colspan=\"3\">… {} more {what}</td><td class=\"num\">{}</td>\
         <td></td></tr>",
        thousands(rest.len() as u64),
        human_bytes(rest.iter().map(|h| h.bytes).sum())
    );
}

const INSTANCES: [Col; 8] = [
    text("task"),
    text("type"),
    text("ended"),
    num("retained"),
    num("peak"),
    num("allocated"),
    num("allocs"),
    num("frees"),
];

/// The retained tasks themselves, largest first.
pub(super) fn instances(o: &mut String, s: &MemorySnapshot) {
    let tasks = s.retained_tasks();
    o.push_str("<section id=\"retained\"><h2>Retained after completion, per task</h2>");
    if tasks.is_empty() {
        o.push_str("<p class=\"empty\">No finished task holds memory.</p></section>\n");
        return;
    }
    let total: u64 = tasks.iter().map(|t| t.retained_bytes).sum();
    let _ = write!(
        o,
        "<p class=\"note\">{} in {} finished tasks, largest first</p>",
        human_bytes(total),
        thousands(tasks.len() as u64)
    );
    table::open(o, "retained-table", &INSTANCES);
    o.push_str("<tbody>");
    for t in tasks.iter().take(RETAINED_ROWS) {
        let _ = write!(
            o,
            "<tr><td>{} <span class=\"note\">#{}</span></td><td data-sort=\"{}\">{}</td>\
             <td><span class=\"pill {state}\">{state}</span></td>",
            escape(&t.display_name()),
            t.id.as_u64(),
            t.task_type.as_str(),
            swatch(t.task_type),
            state = t.outcome
        );
        table::retained(o, t.retained_bytes);
        table::bytes(o, t.peak_bytes);
        table::bytes(o, t.heap.allocated_bytes);
        table::count(o, t.heap.allocation_count);
        table::count(o, t.heap.free_count);
        o.push_str("</tr>");
    }
    if tasks.len() > RETAINED_ROWS {
        let rest: u64 = tasks[RETAINED_ROWS..]
            .iter()
            .map(|t| t.retained_bytes)
            .sum();
        let _ = write!(
            o,
            "<tr class=\"more\"><td colspan=\"3\">… {} more tasks</td><td class=\"num\">{}</td>\
             <td colspan=\"4\"></td></tr>",
            thousands((tasks.len() - RETAINED_ROWS) as u64),
            human_bytes(rest)
        );
    }
    o.push_str("</tbody></table></section>\n");
}
