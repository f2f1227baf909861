//! The text summary printed at shutdown.

use crate::snapshot::MemorySnapshot;
use std::fmt::Write;

/// A compact summary: per task type, top tasks by peak, retained memory, untracked share.
///
/// ```
/// let text = memscope_runtime::report::text::render(&memscope_runtime::snapshot());
/// assert!(text.contains("memscope"));
/// ```
pub fn render(s: &MemorySnapshot) -> String {
    let mut out = String::new();
    let t = s.tracked();
    let _ = writeln!(
        out,
        "memscope: {} tasks started, {} alive, peak {} at once; tracked {} allocated, {} live; untracked {} allocated",
        s.tasks_started,
        s.active_tasks,
        s.peak_concurrent_tasks,
        t.allocated_bytes,
        t.live_bytes(),
        s.untracked.allocated_bytes
    );
    for g in &s.groups {
        let _ = writeln!(
            out,
            "  {:<40} {:<11} tasks {:>7} peak {:>12} live {:>12}",
            g.name, g.task_type, g.task_count, g.max_peak_bytes, g.live_bytes
        );
    }
    out
}
