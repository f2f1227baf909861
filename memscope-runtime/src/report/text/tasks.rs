//! The instance tables: one line per task (id, name, type, state, two byte figures,
//! allocations, lifetime), and the "top tasks by peak" table built on it.

use super::TOP_N;
use crate::report::units::{fit, human_bytes, human_duration, thousands};
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use std::fmt::Write;

/// The [`TOP_N`] tasks with the highest peak.
pub(super) fn top_tasks(out: &mut String, s: &MemorySnapshot) {
    if s.tasks.is_empty() {
        return;
    }
    let mut top: Vec<&TaskMemoryProfile> = s.tasks.iter().collect();
    top.sort_by(|a, b| b.peak_bytes.cmp(&a.peak_bytes).then(a.id.cmp(&b.id)));
    top.truncate(TOP_N);
    let _ = writeln!(
        out,
        "\ntop {} tasks by peak (of {} held individually; {} more folded into their groups)",
        top.len(),
        thousands(s.tasks.len() as u64),
        thousands(s.folded_tasks)
    );
    task_table(out, &top, ["peak", "live"], |t| {
        [t.peak_bytes, t.live_bytes]
    });
}

/// A table of `tasks`, with the two byte figures `values` gives under the titles `keys`.
pub(super) fn task_table(
    out: &mut String,
    tasks: &[&TaskMemoryProfile],
    keys: [&str; 2],
    values: impl Fn(&TaskMemoryProfile) -> [u64; 2],
) {
    let _ = writeln!(
        out,
        "{:<7} {:<28} {:<10} {:<9} {:>10} {:>10} {:>8} {:>10}",
        "id", "name", "type", "state", keys[0], keys[1], "allocs", "lifetime"
    );
    for t in tasks {
        let [a, b] = values(t);
        let _ = writeln!(
            out,
            "{:<7} {:<28} {:<10} {:<9} {:>10} {:>10} {:>8} {:>10}",
            format!("#{}", t.id.as_u64()),
            fit(&t.display_name(), 28),
            t.task_type.as_str(),
            t.outcome.to_string(),
            human_bytes(a),
            human_bytes(b),
            thousands(t.heap.allocation_count),
            human_duration(t.lifetime.as_secs_f64())
        );
    }
}
