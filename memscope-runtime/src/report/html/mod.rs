//! One self-contained HTML page: inline CSS, inline JS drawing inline SVG, no network.
//!
//! Tables (per type, per name, retained memory, and the task tree, in `tree.rs`) are
//! written with every name escaped; the two charts (live bytes over time per task type,
//! top tasks by peak) are drawn by the page's script from JSON embedded in a
//! `<script type="application/json">` block, in which `<`, `>` and `&` are written as
//! `\u003c`, `\u003e`, `\u0026`, so no name can close the block. The script inserts
//! names with `textContent` only.

use super::human_bytes;
use super::text::thousands;
use crate::base::task::TaskType;
use crate::hook::placement::TRAILER_BYTES;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use serde_json::json;
use std::fmt::Write;

/// The task-tree table, the one section that needs a tree built first.
mod tree;

const CSS: &str = include_str!("page.css");
const SCRIPT: &str = include_str!("page.js");
/// Bars in the "top tasks by peak" chart.
pub(crate) const TOP_BARS: usize = 15;
/// Rows of the retained-after-completion table (the largest first).
const RETAINED_ROWS: usize = 50;

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
    o.push_str(
        "<div class=\"row\"><section><h2>Live bytes over time, per task type</h2>\
         <div id=\"chart-timeline\" class=\"chart\"></div><div class=\"legend\" id=\"legend-timeline\">\
         <label><input type=\"checkbox\" id=\"show-untracked\"> untracked (dashed)</label></div></section>\n\
         <section><h2>Top tasks by peak</h2><div id=\"chart-top\" class=\"chart\"></div>\
         <div class=\"legend\" id=\"legend-top\"></div>\
         <p class=\"note\">bar: peak live bytes; dark underline: live now</p></section></div>\n",
    );
    by_type(&mut o, s);
    by_name(&mut o, s);
    retained(&mut o, s);
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

fn top_by_peak(s: &MemorySnapshot, n: usize) -> Vec<&TaskMemoryProfile> {
    let mut v: Vec<_> = s.tasks.iter().filter(|t| t.peak_bytes > 0).collect();
    v.sort_by(|a, b| b.peak_bytes.cmp(&a.peak_bytes).then(a.id.cmp(&b.id)));
    v.truncate(n);
    v
}

fn cards(o: &mut String, s: &MemorySnapshot) {
    let tracked = s.tracked();
    let all = s.all_heap_traffic();
    let blocks = all.allocation_count.saturating_sub(all.free_count);
    let owner_words = blocks.saturating_mul(TRAILER_BYTES as u64);
    let retained: u64 = s.tasks.iter().map(|t| t.retained_bytes).sum();
    let untracked_share = if all.allocated_bytes == 0 {
        0.0
    } else {
        s.untracked.allocated_bytes as f64 / all.allocated_bytes as f64 * 100.0
    };
    let cards = [
        (thousands(s.tasks_started), "tasks started".to_owned()),
        (
            thousands(s.tasks_running),
            format!("running · at most {} at once", s.max_tasks_running),
        ),
        (
            human_bytes(tracked.allocated_bytes),
            format!(
                "allocated by tasks · {} allocations",
                thousands(tracked.allocation_count)
            ),
        ),
        (
            human_bytes(tracked.live_bytes()),
            "live in tasks now".to_owned(),
        ),
        (
            human_bytes(retained),
            "retained after completion".to_owned(),
        ),
        (
            format!("{untracked_share:.1}%"),
            format!(
                "untracked share of heap bytes · {} live",
                human_bytes(s.untracked.live_bytes())
            ),
        ),
        (
            human_bytes(s.tracker.live_bytes() + owner_words),
            format!(
                "memscope overhead: {} books + {} owner words",
                human_bytes(s.tracker.live_bytes()),
                human_bytes(owner_words)
            ),
        ),
    ];
    o.push_str("<section class=\"cards\">");
    for (v, k) in cards {
        let _ = write!(
            o,
            "<div class=\"card\"><div class=\"v\">{}</div><div class=\"k\">{}</div></div>",
            escape(&v),
            escape(&k)
        );
    }
    o.push_str("</section>\n");
}

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

fn by_type(o: &mut String, s: &MemorySnapshot) {
    o.push_str(
        "<section><h2>Per task type</h2><table><thead><tr><th>type</th><th class=\"num\">tasks</th>\
         <th class=\"num\" title=\"completed ÷ started × 100\">done %</th><th class=\"num\">running</th><th class=\"num\">panicked</th>\
         <th class=\"num\">cancelled</th><th class=\"num\">peak max</th><th class=\"num\">mean peak</th>\
         <th class=\"num\">live</th><th class=\"num\">retained</th><th class=\"num\">allocated</th>\
         <th class=\"num\">allocs</th><th class=\"num\" title=\"mean over tasks of lifetime − time in poll\">wait ms</th><th class=\"num\" title=\"mean time inside poll per task\">poll ms</th>\
         <th class=\"num\" title=\"completed tasks ÷ seconds from first start to last completion\">done/s</th></tr></thead><tbody>",
    );
    for ty in TaskType::ALL {
        let g = s.by_type(ty);
        if g.task_count == 0 {
            continue;
        }
        let m = s.get_task_metrics(ty);
        let _ = write!(
            o,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{:.2}</td><td class=\"num\">{:.3}</td><td class=\"num\">{:.1}</td></tr>",
            swatch(ty),
            thousands(g.task_count),
            m.completion_rate_percent,
            g.running_count,
            g.panicked_count,
            g.cancelled_count,
            human_bytes(g.max_peak_bytes),
            human_bytes(g.mean_peak_bytes().round() as u64),
            human_bytes(g.live_bytes),
            human_bytes(g.retained_bytes),
            human_bytes(g.heap.allocated_bytes),
            thousands(g.heap.allocation_count),
            m.avg_wait_time_ms,
            m.avg_poll_time_ms,
            m.throughput_per_sec
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn by_name(o: &mut String, s: &MemorySnapshot) {
    let mut groups: Vec<_> = s.groups.iter().collect();
    groups.sort_by_key(|g| std::cmp::Reverse(g.heap.allocated_bytes));
    let _ = write!(
        o,
        "<section><h2>Per task name</h2><p class=\"note\">{} names, largest allocators first \
         (includes {} finished tasks folded out of the retention)</p><table><thead><tr><th>name</th>\
         <th>type</th><th class=\"num\">tasks</th><th class=\"num\">completed</th>\
         <th class=\"num\">peak max</th><th class=\"num\">mean peak</th><th class=\"num\">live</th>\
         <th class=\"num\">allocated</th><th class=\"num\">allocs</th></tr></thead><tbody>",
        groups.len(),
        thousands(s.folded_tasks)
    );
    for g in groups.iter().take(100) {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&g.name),
            swatch(g.task_type),
            thousands(g.task_count),
            thousands(g.completed_count),
            human_bytes(g.max_peak_bytes),
            human_bytes(g.mean_peak_bytes().round() as u64),
            human_bytes(g.live_bytes),
            human_bytes(g.heap.allocated_bytes),
            thousands(g.heap.allocation_count)
        );
    }
    o.push_str("</tbody></table></section>\n");
}

fn retained(o: &mut String, s: &MemorySnapshot) {
    let tasks = s.retained_tasks();
    o.push_str("<section id=\"retained\"><h2>Retained after completion</h2>");
    if tasks.is_empty() {
        o.push_str("<p class=\"empty\">No finished task holds memory.</p></section>\n");
        return;
    }
    let total: u64 = tasks.iter().map(|t| t.retained_bytes).sum();
    let _ = write!(
        o,
        "<p class=\"note\">{} in {} finished tasks: memory handed off to others or leaked</p>\
         <table><thead><tr><th>task</th><th>type</th><th>ended</th><th class=\"num\">retained</th>\
         <th class=\"num\">peak</th><th class=\"num\">allocated</th><th class=\"num\">allocs</th>\
         <th class=\"num\">frees</th></tr></thead><tbody>",
        human_bytes(total),
        thousands(tasks.len() as u64)
    );
    for t in tasks.iter().take(RETAINED_ROWS) {
        let _ = write!(
            o,
            "<tr><td>{} <span class=\"note\">#{}</span></td><td>{}</td><td><span class=\"pill {state}\">{state}</span></td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(&t.name),
            t.id.as_u64(),
            swatch(t.task_type),
            human_bytes(t.retained_bytes),
            human_bytes(t.peak_bytes),
            human_bytes(t.heap.allocated_bytes),
            thousands(t.heap.allocation_count),
            thousands(t.heap.free_count),
            state = t.outcome
        );
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
