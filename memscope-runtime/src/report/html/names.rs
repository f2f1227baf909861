//! The per-name table: one row per task name (folded tasks included), those still
//! holding memory first, then by highest peak; sortable by any column.

use super::table::{self, num, text, Col};
use super::{escape, swatch};
use crate::report::rollup;
use crate::report::units::{human_bytes, thousands};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Rows of the per-name table before the rest is summed up in one row.
const NAME_ROWS: usize = 100;

const COLS: [Col; 10] = [
    text("name"),
    text("type"),
    num("tasks"),
    num("running"),
    num("peak max").tip("the highest peak live bytes of one task"),
    num("mean peak").tip("mean over the tasks of each one's peak live bytes"),
    num("live"),
    num("retained").tip("live bytes of the finished tasks: handed off or leaked"),
    num("allocated"),
    num("allocs"),
];

/// The per-name section.
pub(super) fn by_name(o: &mut String, s: &MemorySnapshot) {
    let names = rollup::ranked_names(s);
    let _ = write!(
        o,
        "<section id=\"names\"><h2>Per task name</h2><p class=\"note\">{} names, those still \
         holding memory first, then by highest peak (includes {} finished tasks folded out of \
         the retention); click a column to sort</p>",
        thousands(names.len() as u64),
        thousands(s.folded_tasks)
    );
    table::open(o, "names-table", &COLS);
    o.push_str("<tbody>");
    for g in names.iter().take(NAME_ROWS) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td data-sort=\"{ty}\">{}</td>",
            escape(&g.name),
            swatch(g.task_type),
            ty = g.task_type.as_str()
        );
        table::count(o, g.task_count);
        table::count(o, g.running_count);
        table::group_memory(o, g);
        o.push_str("</tr>");
    }
    if names.len() > NAME_ROWS {
        let rest = &names[NAME_ROWS..];
        let _ = write!(
            o,
            "<tr class=\"more\"><td colspan=\"7\">… {} more names</td><td class=\"num\">{}</td>\
             <td colspan=\"2\"></td></tr>",
            thousands(rest.len() as u64),
            human_bytes(rest.iter().map(|g| g.retained_bytes).sum())
        );
    }
    o.push_str("</tbody></table>");
    if let Some(root) = rollup::root_holds_top_peak(s) {
        let _ = write!(
            o,
            "<p class=\"tip\">{} holds the top peak ({}): <code>memscope::spawn(fut.tracked(..))</code> \
             charges tokio's task cell to the spawned task, plain <code>tokio::spawn</code> to \
             the spawner.</p>",
            escape(&root.name),
            human_bytes(root.peak_bytes)
        );
    }
    o.push_str("</section>\n");
}
