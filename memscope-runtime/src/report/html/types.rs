//! The per-type table: one `<tbody class="group">` per task type, its lead row the
//! type's figures and its `tr.sub` rows the type's names (those still holding memory
//! first, then by highest peak). The lead row's button folds the names away; sorting
//! orders the types by their lead rows and the names inside each type.

use super::table::{self, num, text, Col};
use super::{escape, swatch};
use crate::base::task::TaskType;
use crate::books::aggregate::GroupProfile;
use crate::report::rollup;
use crate::report::units::thousands;
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Names listed under one type before the rest is counted in one row.
const NAMES_PER_TYPE: usize = 50;

const COLS: [Col; 15] = [
    text("type / name"),
    num("tasks"),
    num("done %").tip("completed ÷ started × 100"),
    num("running"),
    num("panicked"),
    num("cancelled"),
    num("peak max"),
    num("mean peak"),
    num("live"),
    num("retained"),
    num("allocated"),
    num("allocs"),
    num("wait ms").tip("mean over tasks of lifetime − time in poll"),
    num("poll ms").tip("mean time inside poll per task"),
    num("done/s").tip("completed tasks ÷ seconds from first start to last completion"),
];

/// The per-type section.
pub(super) fn by_type(o: &mut String, s: &MemorySnapshot) {
    o.push_str(
        "<section id=\"types\"><h2>Per task type</h2><p class=\"note\">each type, then its \
         names; ▾ folds a type's names away, a click on a column sorts</p>",
    );
    table::open(o, "types-table", &COLS);
    let ranked = rollup::ranked_names(s);
    for ty in TaskType::ALL {
        let g = s.by_type(ty);
        if g.task_count == 0 {
            continue;
        }
        let names: Vec<&GroupProfile> = ranked
            .iter()
            .copied()
            .filter(|n| n.task_type == ty)
            .collect();
        let _ = write!(
            o,
            "<tbody class=\"group\"><tr class=\"lead\"><td data-sort=\"{}\">\
             <button class=\"toggle\" type=\"button\" aria-expanded=\"true\" \
             title=\"fold or unfold the names\">▾</button>{}</td>",
            ty.as_str(),
            swatch(ty)
        );
        figures(o, &g);
        for n in names.iter().take(NAMES_PER_TYPE) {
            let _ = write!(
                o,
                "<tr class=\"sub\"><td class=\"name\">{}</td>",
                escape(&n.name)
            );
            figures(o, n);
        }
        if names.len() > NAMES_PER_TYPE {
            let _ = write!(
                o,
                "<tr class=\"sub more\"><td colspan=\"15\">… {} more names</td></tr>",
                thousands((names.len() - NAMES_PER_TYPE) as u64)
            );
        }
        o.push_str("</tbody>");
    }
    o.push_str("</table></section>\n");
}

/// The figure cells of a type's or a name's row, closing the row.
fn figures(o: &mut String, g: &GroupProfile) {
    let r = rollup::rates(g);
    table::count(o, g.task_count);
    table::decimal(o, r.done_percent, 1);
    table::count(o, g.running_count);
    table::count(o, g.panicked_count);
    table::count(o, g.cancelled_count);
    table::group_memory(o, g);
    table::decimal(o, r.wait_ms, 2);
    table::decimal(o, r.poll_ms, 3);
    table::decimal(o, r.done_per_sec, 1);
    o.push_str("</tr>");
}
