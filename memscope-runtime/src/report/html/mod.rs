//! One self-contained HTML page: inline CSS, inline JS drawing inline SVG, no network.
//!
//! Answers first: the per-name table (`names.rs`), retained memory grouped by name and by
//! parent in a highlighted section (`retained.rs`), the per-type table broken down by
//! name (`types.rs`), where in the tasks memory was allocated: the sampled call sites
//! and their flame graphs (`sites.rs`, `flame.rs`); then the charts; then the
//! instances: the retained tasks and the task tree (`tree.rs`). Every table but the tree
//! is sortable (`table.rs`: a click on a header sorts by the cells' raw `data-sort`
//! values, a second click reverses).
//!
//! Tables and the flame graphs' SVG are written with every name escaped; the two charts
//! (live bytes over time per task type, top tasks by peak) are drawn by the page's script
//! from JSON embedded in a `<script type="application/json">` block, in which `<`, `>`
//! and `&` are written as `\u003c`, `\u003e`, `\u0026`, so no name can close the block.
//! The script inserts names with `textContent` only.

use super::units::{human_bytes, percent, thousands};
use crate::base::task::TaskType;
use crate::hook::placement::TRAILER_BYTES;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use serde_json::json;
use std::fmt::Write;

/// Flame graphs as inline SVG, from a tree of labelled byte counts.
mod flame;
/// The per-name table.
mod names;
/// Retained memory, grouped and per task.
mod retained;
/// Where in the tasks memory was allocated: the sampled call sites and their flame graphs.
mod sites;
/// Sortable tables: header cells and cells with raw values.
mod table;
/// The task-tree table, the one section that needs a tree built first.
mod tree;
/// The per-type table, broken down by name.
mod types;

const CSS: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// Bars in the "top tasks by peak" chart.
pub(crate) const TOP_BARS: usize = 15;

/// `s` with `&`, `<`, `>`, `"` and `'` escaped, safe in HTML text and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The report page.
pub(crate) fn render(s: &MemorySnapshot) -> String {
    let _internal = thread::internal();
    let mut o = String::with_capacity(64 * 1024);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>memscope report</title><style>{CSS}</style></head>\n\
         <body data-rendered=\"pending\">\n<h1>memscope report</h1>\
         <p class=\"sub\">snapshot taken {:.2} s after memscope started · schema_version {}</p>\n",
        s.taken_at.as_secs_f64(),
        s.schema_version
    );
    cards(&mut o, s);
    names::by_name(&mut o, s);
    retained::grouped(&mut o, s);
    types::by_type(&mut o, s);
    sites::sites(&mut o, s);
    o.push_str(
        "<div class=\"row\"><section><h2>Live bytes over time, per task type</h2>\
         <div id=\"chart-timeline\" class=\"chart\"></div><div class=\"legend\" id=\"legend-timeline\">\
         <label><input type=\"checkbox\" id=\"show-untracked\"> untracked (dashed)</label></div></section>\n\
         <section><h2>Top tasks by peak</h2><div id=\"chart-top\" class=\"chart\"></div>\
         <div class=\"legend\" id=\"legend-top\"></div>\
         <p class=\"note\">bar: peak live bytes; dark underline: live now</p></section></div>\n",
    );
    retained::instances(&mut o, s);
    tree::tree(&mut o, s);
    let data = serde_json::to_string(&chart_data(s)).unwrap_or_else(|_| "{}".into());
    let data = data
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    let _ = write!(
        o,
        "<script type=\"application/json\" id=\"memscope-data\">{data}</script>\n\
         <script>{SCRIPT}</script>\n</body></html>\n"
    );
    o
}

/// What the page's script draws the charts from: the timeline per type and the top tasks.
fn chart_data(s: &MemorySnapshot) -> serde_json::Value {
    let types: Vec<&str> = TaskType::ALL
        .into_iter()
        .filter(|ty| s.timeline.iter().any(|x| x.live_by_type.contains_key(ty)))
        .map(TaskType::as_str)
        .collect();
    let timeline: Vec<_> = s
        .timeline
        .iter()
        .map(|x| {
            let by: serde_json::Map<String, serde_json::Value> = x
                .live_by_type
                .iter()
                .map(|(ty, b)| (ty.as_str().to_owned(), json!(b)))
                .collect();
            json!({"t": x.at.as_secs_f64(), "by": by, "u": x.untracked_live_bytes})
        })
        .collect();
    let top = top_by_peak(s, TOP_BARS);
    let top_types: Vec<&str> = TaskType::ALL
        .into_iter()
        .filter(|ty| top.iter().any(|t| t.task_type == *ty))
        .map(TaskType::as_str)
        .collect();
    let top: Vec<_> = top
        .iter()
        .map(|t| {
            json!({"id": t.id.as_u64(), "name": t.name, "type": t.task_type.as_str(),
                "outcome": t.outcome.to_string(), "peak": t.peak_bytes, "live": t.live_bytes,
                "allocated": t.heap.allocated_bytes})
        })
        .collect();
    json!({"types": types, "timeline": timeline, "top": top, "top_types": top_types})
}

/// The `n` tasks with the highest peak (ties by id), leaving out those that never held
/// memory.
fn top_by_peak(s: &MemorySnapshot, n: usize) -> Vec<&TaskMemoryProfile> {
    let mut v: Vec<_> = s.tasks.iter().filter(|t| t.peak_bytes > 0).collect();
    v.sort_by(|a, b| b.peak_bytes.cmp(&a.peak_bytes).then(a.id.cmp(&b.id)));
    v.truncate(n);
    v
}

/// The row of headline figures at the top of the page.
fn cards(o: &mut String, s: &MemorySnapshot) {
    o.push_str("<section class=\"cards\">");
    for (v, k, highlight) in card_list(s) {
        let class = if highlight { "card ret" } else { "card" };
        let _ = write!(
            o,
            "<div class=\"{class}\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            escape(&v),
            escape(&k)
        );
    }
    o.push_str("</section>\n");
}

/// Each card's value, caption, and whether it is highlighted (retained memory, like the
/// retained section).
fn card_list(s: &MemorySnapshot) -> [(String, String, bool); 7] {
    let tracked = s.tracked();
    let all = s.all_heap_traffic();
    let blocks = all.allocation_count.saturating_sub(all.free_count);
    let owner_words = blocks.saturating_mul(TRAILER_BYTES as u64);
    let retained: u64 = s.tasks.iter().map(|t| t.retained_bytes).sum();
    let books = s.tracker.live_bytes();
    let allocs = thousands(tracked.allocation_count);
    [
        (thousands(s.tasks_started), "tasks started".into(), false),
        (
            thousands(s.tasks_running),
            format!("running · at most {} at once", s.max_tasks_running),
            false,
        ),
        (
            human_bytes(tracked.allocated_bytes),
            format!("allocated by tasks · {allocs} allocations"),
            false,
        ),
        (
            human_bytes(tracked.live_bytes()),
            "live in tasks now".into(),
            false,
        ),
        (
            human_bytes(retained),
            "retained after completion".into(),
            retained > 0,
        ),
        (
            percent(s.untracked.allocated_bytes, all.allocated_bytes),
            format!(
                "untracked share of heap bytes · {} live",
                human_bytes(s.untracked.live_bytes())
            ),
            false,
        ),
        (
            human_bytes(books + owner_words),
            format!(
                "memscope overhead: {} books + {} owner words",
                human_bytes(books),
                human_bytes(owner_words)
            ),
            false,
        ),
    ]
}

/// A colour swatch and the type's name.
fn swatch(ty: TaskType) -> String {
    let color = match ty {
        TaskType::CpuIntensive => "#e4572e",
        TaskType::IoIntensive => "#17a2b8",
        TaskType::NetworkIntensive => "#4c6ef5",
        TaskType::MemoryIntensive => "#f2b705",
        TaskType::Background => "#76b041",
        _ => "#98a2b3",
    };
    format!(
        "<span class=\"swatch\" style=\"background:{color}\"></span>{}",
        ty.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_text_and_attributes() {
        assert_eq!(
            escape("<img src=x onerror='a()'>&\""),
            "&lt;img src=x onerror=&#39;a()&#39;&gt;&amp;&quot;"
        );
    }
}
