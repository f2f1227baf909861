//! Sortable tables: a header row whose columns the page's script sorts on a click, and
//! cells that carry their raw value in `data-sort` (bytes as a byte count, not as
//! "1.2 MiB"), so that numeric columns sort by value.
//!
//! A table's rows are sorted within their `<tbody>`; a table of several
//! `<tbody class="group">` (a lead row and its `tr.sub` rows) sorts the groups by their
//! lead rows and the rows inside each group. Rows of class `more` stay last.

use super::escape;
use crate::books::aggregate::GroupProfile;
use crate::report::units::{human_bytes, thousands};
use std::fmt::Write;

/// A column of a sortable table.
#[derive(Clone, Copy)]
pub(super) struct Col {
    title: &'static str,
    numeric: bool,
    tip: &'static str,
}

/// A column of text (names, types, states), sorted alphabetically.
pub(super) const fn text(title: &'static str) -> Col {
    Col {
        title,
        numeric: false,
        tip: "",
    }
}

/// A column of numbers, right-aligned and sorted by value (largest first on the first
/// click).
pub(super) const fn num(title: &'static str) -> Col {
    Col {
        title,
        numeric: true,
        tip: "",
    }
}

impl Col {
    /// The same column with a tooltip on its title.
    pub(super) const fn tip(self, tip: &'static str) -> Col {
        Col { tip, ..self }
    }
}

/// Opens table `id` with its header row of `cols` (the caller writes the bodies and
/// closes it with `</table>`).
pub(super) fn open(o: &mut String, id: &str, cols: &[Col]) {
    let _ = write!(
        o,
        "<table class=\"sortable\" id=\"{}\"><thead><tr>",
        escape(id)
    );
    for c in cols {
        let class = if c.numeric { " class=\"num\"" } else { "" };
        let kind = if c.numeric { "num" } else { "text" };
        let tip = if c.tip.is_empty() {
            String::new()
        } else {
            format!(" title=\"{}\"", escape(c.tip))
        };
        let _ = write!(
            o,
            "<th{class} data-type=\"{kind}\"{tip}>{}</th>",
            escape(c.title)
        );
    }
    o.push_str("</tr></thead>");
}

/// A numeric cell showing `shown`, sorted by `raw`; `class` adds classes (or is empty).
pub(super) fn cell(o: &mut String, raw: impl std::fmt::Display, shown: &str, class: &str) {
    let _ = write!(
        o,
        "<td class=\"num{}{class}\" data-sort=\"{raw}\">{}</td>",
        if class.is_empty() { "" } else { " " },
        escape(shown)
    );
}

/// A byte figure in binary units, sorted by the byte count.
pub(super) fn bytes(o: &mut String, b: u64) {
    cell(o, b, &human_bytes(b), "");
}

/// A byte figure of retained memory: highlighted when not zero.
pub(super) fn retained(o: &mut String, b: u64) {
    cell(o, b, &human_bytes(b), if b > 0 { "ret" } else { "" });
}

/// The memory cells every per-group row shows, in this order: highest and mean peak,
/// live, retained (highlighted), allocated bytes and allocations.
pub(super) fn group_memory(o: &mut String, g: &GroupProfile) {
    bytes(o, g.max_peak_bytes);
    bytes(o, g.mean_peak_bytes().round() as u64);
    bytes(o, g.live_bytes);
    retained(o, g.retained_bytes);
    bytes(o, g.heap.allocated_bytes);
    count(o, g.heap.allocation_count);
}

/// A count with thousands separators.
pub(super) fn count(o: &mut String, n: u64) {
    cell(o, n, &thousands(n), "");
}

/// A decimal figure with `decimals` digits after the point.
pub(super) fn decimal(o: &mut String, v: f64, decimals: usize) {
    cell(o, v, &format!("{v:.decimals$}"), "");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_say_how_to_sort_and_cells_carry_raw_values() {
        let mut o = String::new();
        open(&mut o, "t", &[text("name"), num("live").tip("a <b>")]);
        assert_eq!(
            o,
            "<table class=\"sortable\" id=\"t\"><thead><tr><th data-type=\"text\">name</th>\
             <th class=\"num\" data-type=\"num\" title=\"a &lt;b&gt;\">live</th></tr></thead>"
        );
        let mut o = String::new();
        retained(&mut o, 5000);
        bytes(&mut o, 0);
        decimal(&mut o, 12.345, 1);
        assert_eq!(
            o,
            "<td class=\"num ret\" data-sort=\"5000\">4.9 KiB</td>\
             <td class=\"num\" data-sort=\"0\">0 B</td>\
             <td class=\"num\" data-sort=\"12.345\">12.3</td>"
        );
    }
}
