//! The "Where in the task" section: the call sites of the sampled allocations
//! ([`CallSites`]) in a sortable table, per task name and outside any task, each site's
//! whole stack one click away (`<details>`); then flame graphs of the bytes in use and
//! of the bytes allocated (drawn by `flame.rs`, no script needed).
//!
//! The graphs go root → task type → task name → the task's frames, outermost first.
//! A task's frames start below its `Tracked` poll: the frames above it are the executor's
//! and the test harness's, the same tower over every site of every task, which would
//! take most of the graph's height and say nothing about the task. Memory allocated
//! outside tasks hangs under its own node with its whole stack.

use super::flame::{self, Node};
use super::table::{self, num, text, Col};
use super::{escape, swatch};
use crate::base::task::TaskType;
use crate::report::units::{human_bytes, thousands};
use crate::view::sites::{CallSites, CallStack, SiteFigures, StackFrame};
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// Names whose sites the table lists (most bytes in use first).
const NAME_ROWS: usize = 25;
/// Sites listed per name, and outside tasks.
const SITES_PER_NAME: usize = 5;
/// Frames of one stack in a flame graph (the innermost ones).
const MAX_FRAMES: usize = 64;
/// Frames a task's own frames start below: its poll, its drop, its scope.
const TASK_ENTRY: [&str; 3] = [
    "<memscope_runtime::track::tracked::Tracked<",
    "memscope_runtime::track::tracked::ScopeHandle::run",
    "<memscope_runtime::track::tracked::ScopeHandle>::run",
];
/// The node and the rows of memory allocated outside any task.
const OUTSIDE: &str = "outside tasks";

const COLS: [Col; 7] = [
    text("name"),
    text("type"),
    text("site").tip("the first frame outside the standard library; a click shows the stack"),
    num("in use"),
    num("retained").tip("in use, allocated by tasks that have finished: handed off or leaked"),
    num("allocated").tip("allocated here since start"),
    num("allocs"),
];

/// The section: how the figures were sampled, the site table and the flame graphs.
pub(super) fn sites(o: &mut String, s: &MemorySnapshot) {
    let sites = &s.sites;
    o.push_str("<section id=\"sites\"><h2>Where in the task</h2>");
    if sites.groups.is_empty() && sites.untracked.is_empty() {
        let why = if sites.sample_bytes == 0 {
            "Sampling is off (<code>Config::with_sample_bytes</code>): no call site recorded."
        } else {
            "No allocation sampled yet."
        };
        let _ = writeln!(o, "<p class=\"empty\">{why}</p></section>");
        return;
    }
    note(o, sites);
    site_table(o, sites);
    graphs(o, sites);
    o.push_str("</section>\n");
}

/// What the figures are: exact, or estimates from samples taken with which mean.
fn note(o: &mut String, sites: &CallSites) {
    let how = match sites.sample_bytes {
        1 => "every allocation sampled: the figures are exact".to_owned(),
        0 => "sampling is off now; estimates from the samples taken before".to_owned(),
        mean => format!(
            "estimates: allocations sampled every {} on average, each sample of <i>s</i> \
             bytes counted 1 / (1 − e<sup>−<i>s</i> / {mean}</sup>) times",
            human_bytes(mean)
        ),
    };
    let dropped = if sites.dropped > 0 {
        format!(
            ", {} dropped (no free sample slot: the figures are low by their share)",
            thousands(sites.dropped)
        )
    } else {
        String::new()
    };
    let _ = write!(
        o,
        "<p class=\"note\">Call sites of the sampled allocations ({how}; {} samples{dropped}), \
         the names holding the most bytes first; click a site for its stack.</p>",
        thousands(sites.samples)
    );
}

/// The sortable table: [`SITES_PER_NAME`] sites of each of [`NAME_ROWS`] names, then
/// those outside tasks, and a line on what is not listed.
fn site_table(o: &mut String, sites: &CallSites) {
    table::open(o, "sites-table", &COLS);
    o.push_str("<tbody>");
    let mut unlisted = (0u64, 0u64);
    for (i, g) in sites.groups.iter().enumerate() {
        let shown = if i < NAME_ROWS { SITES_PER_NAME } else { 0 };
        for r in &g.sites[..g.sites.len().min(shown)] {
            row(o, sites, &escape(&g.name), Some(g.task_type), r);
        }
        count_rest(&mut unlisted, &g.sites[g.sites.len().min(shown)..]);
    }
    let outside = format!("<span class=\"note\">{OUTSIDE}</span>");
    let listed = sites.untracked.len().min(SITES_PER_NAME);
    for r in &sites.untracked[..listed] {
        row(o, sites, &outside, None, r);
    }
    count_rest(&mut unlisted, &sites.untracked[listed..]);
    o.push_str("</tbody></table>");
    if unlisted.0 > 0 {
        let _ = write!(
            o,
            "<p class=\"note\">{} more sites not listed ({} in use); listed: {SITES_PER_NAME} \
             per name, {NAME_ROWS} names</p>",
            thousands(unlisted.0),
            human_bytes(unlisted.1)
        );
    }
}

/// Adds the number of `rest` and their bytes in use to `unlisted`.
fn count_rest(unlisted: &mut (u64, u64), rest: &[SiteFigures]) {
    unlisted.0 += rest.len() as u64;
    unlisted.1 += rest.iter().map(|r| r.in_use_bytes).sum::<u64>();
}

/// One site's row; `name` is already escaped, `ty` is `None` outside tasks.
fn row(o: &mut String, sites: &CallSites, name: &str, ty: Option<TaskType>, r: &SiteFigures) {
    let stack = sites.stacks.get(r.stack);
    let label = escape(&stack.map_or_else(|| "(no stack)".to_owned(), CallStack::label));
    let _ = write!(
        o,
        "<tr><td>{name}</td><td data-sort=\"{}\">{}</td><td class=\"site\" data-sort=\"{label}\">\
         <details><summary>{label}</summary><ol class=\"stack\">",
        ty.map_or("", TaskType::as_str),
        ty.map(swatch).unwrap_or_default()
    );
    for f in stack.map_or(&[][..], |s| &s.frames[..]) {
        frame(o, f);
    }
    o.push_str("</ol></details></td>");
    table::bytes(o, r.in_use_bytes);
    table::retained(o, r.retained_bytes);
    table::bytes(o, r.allocated_bytes);
    table::count(o, r.allocations);
    o.push_str("</tr>");
}

/// One frame of a stack: the function, then where, when known.
fn frame(o: &mut String, f: &StackFrame) {
    let _ = write!(o, "<li>{}", escape(&f.function));
    match (&f.file, f.line) {
        (Some(file), Some(line)) => {
            let _ = write!(o, " <span class=\"note\">{}:{line}</span>", escape(file));
        }
        (Some(file), None) => {
            let _ = write!(o, " <span class=\"note\">{}</span>", escape(file));
        }
        _ => {}
    }
    o.push_str("</li>");
}

/// The flame graph of the bytes in use, and the one of the bytes allocated, folded.
fn graphs(o: &mut String, sites: &CallSites) {
    o.push_str(
        "<h3>Flame graph: bytes in use</h3><p class=\"note\">root → task type → task name → \
         the task's frames, outermost first (those above the task's poll, the executor's, \
         left out); width: bytes; hover a frame for its figures</p>",
    );
    let in_use = tree(sites, "all sampled bytes in use", |r| r.in_use_bytes);
    o.push_str(&flame::svg(&in_use, "flame-in-use", "in use"));
    o.push_str(
        "<details class=\"flame\"><summary>Flame graph: bytes allocated since start</summary>",
    );
    let allocated = tree(sites, "all sampled bytes allocated", |r| r.allocated_bytes);
    o.push_str(&flame::svg(&allocated, "flame-allocated", "allocated"));
    o.push_str("</details>");
}

/// The graph's tree: `value` of every site, under its type, name and frames.
fn tree(sites: &CallSites, root: &str, value: impl Fn(&SiteFigures) -> u64) -> Node {
    let mut node = Node::new(root);
    let frames = |r: &SiteFigures, in_task: bool| -> Vec<&str> {
        let all = sites.stacks.get(r.stack).map_or(&[][..], |s| &s.frames[..]);
        let own = if in_task { inside_task(all) } else { all };
        own[..own.len().min(MAX_FRAMES)]
            .iter()
            .rev()
            .map(|f| f.function.as_str())
            .collect()
    };
    for g in &sites.groups {
        for r in g.sites.iter().filter(|r| value(r) > 0) {
            let path = [g.task_type.as_str(), g.name.as_str()];
            node.add(path.into_iter().chain(frames(r, true)), value(r));
        }
    }
    for r in sites.untracked.iter().filter(|r| value(r) > 0) {
        node.add(std::iter::once(OUTSIDE).chain(frames(r, false)), value(r));
    }
    node.sort();
    node
}

/// The frames of a task's stack below its `Tracked` poll (innermost first, as given), or
/// all of them when no [`TASK_ENTRY`] frame is found.
fn inside_task(frames: &[StackFrame]) -> &[StackFrame] {
    let entry = frames
        .iter()
        .position(|f| TASK_ENTRY.iter().any(|p| f.function.starts_with(p)));
    &frames[..entry.unwrap_or(frames.len())]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::sites::GroupSites;

    fn frame(function: &str) -> StackFrame {
        StackFrame {
            function: function.into(),
            file: Some("src/app.rs".into()),
            line: Some(3),
            address: 1,
        }
    }

    fn site(stack: usize, in_use: u64, allocated: u64) -> SiteFigures {
        SiteFigures {
            stack,
            allocated_bytes: allocated,
            allocations: 2,
            in_use_bytes: in_use,
            in_use_blocks: 1,
            retained_bytes: in_use,
            retained_blocks: 1,
        }
    }

    fn sites() -> CallSites {
        let task = CallStack {
            frames: vec![
                frame("alloc::vec::Vec<T>::with_capacity"),
                frame("app::fill"),
                frame("app::run::{{closure}}"),
                frame("<memscope_runtime::track::tracked::Tracked<F> as core::future::future::Future>::poll"),
                frame("tokio::runtime::block_on"),
            ],
        };
        let outside = CallStack {
            frames: vec![frame("app::<init>"), frame("main")],
        };
        CallSites {
            sample_bytes: 1,
            samples: 3,
            stacks: vec![task, outside],
            groups: vec![GroupSites {
                name: "<b>run</b>".into(),
                task_type: TaskType::IoIntensive,
                sites: vec![site(0, 4096, 8192)],
            }],
            untracked: vec![site(1, 0, 100)],
            ..CallSites::default()
        }
    }

    #[test]
    fn the_graph_goes_type_name_then_the_tasks_own_frames() {
        let s = sites();
        let root = tree(&s, "all", |r| r.in_use_bytes);
        let names = |n: &Node| {
            n.children
                .iter()
                .map(|c| c.label.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&root), ["io"]);
        let mut path = vec![];
        let mut at = &root.children[0];
        while let Some(c) = at.children.first() {
            path.push(c.label.as_str());
            at = c;
        }
        assert_eq!(
            path,
            [
                "<b>run</b>",
                "app::run::{{closure}}",
                "app::fill",
                "alloc::vec::Vec<T>::with_capacity"
            ]
        );
        // Nothing of the outside stack is in use; by bytes allocated it is there, whole.
        let allocated = tree(&s, "all", |r| r.allocated_bytes);
        assert_eq!(names(&allocated), ["io", OUTSIDE]);
        assert_eq!(names(&allocated.children[1]), ["main"]);
        assert_eq!(allocated.value, 8292);
    }

    #[test]
    fn rows_escape_names_and_carry_the_stack() {
        let mut o = String::new();
        site_table(&mut o, &sites());
        assert!(o.contains("<tr><td>&lt;b&gt;run&lt;/b&gt;</td><td data-sort=\"io\">"));
        assert!(o.contains(
            "<summary>app::fill (src/app.rs:3)</summary><ol class=\"stack\">\
             <li>alloc::vec::Vec&lt;T&gt;::with_capacity <span class=\"note\">src/app.rs:3</span></li>"
        ));
        assert!(o.contains(
            "<td class=\"num\" data-sort=\"4096\">4.0 KiB</td>\
             <td class=\"num ret\" data-sort=\"4096\">4.0 KiB</td>\
             <td class=\"num\" data-sort=\"8192\">8.0 KiB</td>\
             <td class=\"num\" data-sort=\"2\">2</td></tr>"
        ));
        assert!(o.contains("<td><span class=\"note\">outside tasks</span></td><td data-sort=\"\">"));
        assert!(!o.contains("more sites not listed"));
    }
}
