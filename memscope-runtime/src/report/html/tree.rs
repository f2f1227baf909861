//! The task-tree table: every task under the task that created it, in depth-first order,
//! children by inclusive bytes allocated.
//!
//! Three steps: link each task to its parent and sum inclusive counters ([`Tree::build`]),
//! order roots and children, then walk the tree writing one row per task ([`rows`]). The
//! walk is cut at [`TREE_ROWS`] rows and lists at most [`TREE_CHILDREN`] children under
//! one task, so a huge tree keeps the page small.

use super::{escape, swatch};
use crate::base::counters::HeapCounters;
use crate::report::units::{human_bytes, thousands};
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use std::fmt::Write;

/// Rows of the task tree before it is cut.
const TREE_ROWS: usize = 400;
/// Children shown under one task before the rest is summed up in one row.
const TREE_CHILDREN: usize = 25;

/// The task tree section.
pub(super) fn tree(o: &mut String, s: &MemorySnapshot) {
    let tree = Tree::build(&s.tasks);
    let _ = write!(
        o,
        "<section class=\"tree\" id=\"tree\"><h2>Task tree</h2><p class=\"note\">self: the task's own heap traffic; \
         inclusive: with all its descendants, also those folded out of this list ({} tasks listed; \
         awaited scopes and spawned children nest under the task that created them)</p><table><thead><tr><th>task</th><th>type</th>\
         <th>state</th><th class=\"num\">self allocated</th><th class=\"num\">self live</th>\
         <th class=\"num\">self peak</th><th class=\"num\">inclusive allocated</th>\
         <th class=\"num\">inclusive live</th></tr></thead><tbody>",
        thousands(s.tasks.len() as u64)
    );
    rows(o, &s.tasks, &tree);
    o.push_str("</tbody></table></section>\n");
}

/// The tree over a snapshot's tasks, by index into its (id-sorted) task list.
struct Tree {
    /// Tasks without a parent in the snapshot, largest inclusive allocation first.
    roots: Vec<usize>,
    /// Each task's children, largest inclusive allocation first.
    children: Vec<Vec<usize>>,
    /// Each task's heap counters plus those of all its descendants (`inclusive`).
    incl: Vec<HeapCounters>,
}

impl Tree {
    /// Links, sums and orders the tree of `tasks`.
    fn build(tasks: &[TaskMemoryProfile]) -> Self {
        let (mut roots, mut children) = links(tasks);
        let incl: Vec<HeapCounters> = tasks.iter().map(|t| t.inclusive).collect();
        let by_incl =
            |v: &mut Vec<usize>| v.sort_by_key(|&i| std::cmp::Reverse(incl[i].allocated_bytes));
        by_incl(&mut roots);
        children.iter_mut().for_each(by_incl);
        Self {
            roots,
            children,
            incl,
        }
    }
}

/// The index of task `i`'s parent, if the parent is in the snapshot.
fn parent_of(tasks: &[TaskMemoryProfile], i: usize) -> Option<usize> {
    let id = tasks[i].parent?;
    tasks.binary_search_by_key(&id, |t| t.id).ok()
}

/// The roots and each task's children, in task order.
fn links(tasks: &[TaskMemoryProfile]) -> (Vec<usize>, Vec<Vec<usize>>) {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    let mut roots = Vec::new();
    for i in 0..tasks.len() {
        match parent_of(tasks, i) {
            Some(p) if p != i => children[p].push(i),
            _ => roots.push(i),
        }
    }
    (roots, children)
}

/// A row of the task tree: a task, or the sum of the children not listed.
enum Row {
    Task(usize, usize),
    More(usize, HeapCounters, usize),
}

/// The rows, depth first, cut at [`TREE_ROWS`].
fn rows(o: &mut String, tasks: &[TaskMemoryProfile], tree: &Tree) {
    let mut written = 0;
    // Pushed in reverse so that the largest pops first.
    let mut stack: Vec<Row> = tree.roots.iter().rev().map(|&r| Row::Task(r, 0)).collect();
    while let Some(row) = stack.pop() {
        if written >= TREE_ROWS {
            let _ = write!(
                o,
                "<tr class=\"more\"><td colspan=\"8\">… the tree is cut at {TREE_ROWS} rows</td></tr>"
            );
            break;
        }
        written += 1;
        match row {
            Row::Task(i, depth) => {
                task_row(o, &tasks[i], &tree.incl[i], depth);
                push_children(&mut stack, tree, i, depth + 1);
            }
            Row::More(count, rest, depth) => more_row(o, count, &rest, depth),
        }
    }
}

/// Queues the children of task `i` (at most [`TREE_CHILDREN`], then one row summing
/// the rest) so that they pop next, largest first.
fn push_children(stack: &mut Vec<Row>, tree: &Tree, i: usize, depth: usize) {
    let kids = &tree.children[i];
    if kids.len() > TREE_CHILDREN {
        let mut rest = HeapCounters::default();
        kids[TREE_CHILDREN..]
            .iter()
            .for_each(|&k| rest += tree.incl[k]);
        stack.push(Row::More(kids.len() - TREE_CHILDREN, rest, depth));
    }
    for &k in kids.iter().take(TREE_CHILDREN).rev() {
        stack.push(Row::Task(k, depth));
    }
}

/// One task's row: its own counters, then the inclusive ones.
fn task_row(o: &mut String, t: &TaskMemoryProfile, inc: &HeapCounters, depth: usize) {
    let _ = write!(
        o,
        "<tr><td class=\"name\" style=\"padding-left:{}px\">{}{} <span class=\"note\">#{}</span></td>\
         <td>{}</td><td><span class=\"pill {state}\">{state}</span></td><td class=\"num\">{}</td>\
         <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        indent(depth),
        if depth > 0 { "<span class=\"note\">└ </span>" } else { "" },
        escape(&t.display_name()),
        t.id.as_u64(),
        swatch(t.task_type),
        human_bytes(t.heap.allocated_bytes),
        human_bytes(t.live_bytes),
        human_bytes(t.peak_bytes),
        human_bytes(inc.allocated_bytes),
        human_bytes(inc.live_bytes()),
        state = t.outcome
    );
}

/// The row standing for `count` children not listed, with their inclusive sum `rest`.
fn more_row(o: &mut String, count: usize, rest: &HeapCounters, depth: usize) {
    let _ = write!(
        o,
        "<tr class=\"more\"><td class=\"name\" style=\"padding-left:{}px\" colspan=\"6\">\
         … {} more children</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
        indent(depth),
        thousands(count as u64),
        human_bytes(rest.allocated_bytes),
        human_bytes(rest.live_bytes())
    );
}

/// Left padding in pixels for a row at `depth`; capped so that deep chains stay readable.
fn indent(depth: usize) -> usize {
    8 + 18 * depth.min(20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::{Outcome, TaskId, TaskType};
    use std::time::Duration;

    fn task(id: u64, parent: Option<u64>, allocated_bytes: u64) -> TaskMemoryProfile {
        TaskMemoryProfile {
            id: TaskId::from_u64(id),
            name: format!("t{id}"),
            label: None,
            task_type: TaskType::Unspecified,
            parent: parent.map(TaskId::from_u64),
            outcome: Outcome::Completed,
            heap: HeapCounters::new(allocated_bytes, 1, allocated_bytes, 1),
            live_bytes: 0,
            peak_bytes: allocated_bytes,
            retained_bytes: 0,
            future_size_bytes: 0,
            poll_count: 0,
            poll_duration: Duration::ZERO,
            lifetime: Duration::ZERO,
            started_at: Duration::ZERO,
            ended_at: None,
            inclusive: HeapCounters::new(allocated_bytes, 1, allocated_bytes, 1),
            inclusive_retained_bytes: 0,
            folded_descendants_retained_bytes: 0,
            folded_descendants_retaining: 0,
        }
    }

    /// The tree section of a snapshot holding `tasks`, their inclusive figures summed as
    /// a snapshot sums them.
    fn page(mut tasks: Vec<TaskMemoryProfile>) -> String {
        let extra: Vec<_> = tasks
            .iter()
            .map(|t| crate::view::inclusive::HeldExtra {
                cell: t.id.as_u64() as usize,
                descendant_alloc: (0, 0),
            })
            .collect();
        crate::view::inclusive::fill(&mut tasks, &extra, &[]);
        let mut snap = crate::view::snapshot::snapshot();
        snap.tasks = tasks;
        let mut o = String::new();
        tree(&mut o, &snap);
        o
    }

    #[test]
    fn children_are_ordered_by_inclusive_bytes_and_the_rest_summed() {
        // Task 2 allocates least itself but most with its child, so it comes first.
        let mut tasks = vec![task(1, None, 0), task(2, Some(1), 1), task(3, Some(1), 5)];
        tasks.push(task(4, Some(2), 10));
        // Two children and this many more: the last two listed fold into one row.
        tasks.extend((5..5 + TREE_CHILDREN as u64).map(|id| task(id, Some(1), 0)));
        let o = page(tasks);
        assert!(o.find(">t2 <").unwrap() < o.find(">t4 <").unwrap());
        assert!(o.find(">t4 <").unwrap() < o.find(">t3 <").unwrap());
        assert!(o.contains("… 2 more children</td><td class=\"num\">0 B</td>"));
        assert!(!o.contains("cut at"));
    }

    #[test]
    fn a_long_tree_is_cut() {
        let o = page(
            (1..=TREE_ROWS as u64 + 1)
                .map(|id| task(id, None, 0))
                .collect(),
        );
        assert_eq!(o.matches("<tr><td class=\"name\"").count(), TREE_ROWS);
        assert!(o.contains("… the tree is cut at 400 rows"));
    }
}
