//! The text summary printed at shutdown: a compact table that fits 100 columns.
//!
//! ```text
//! memscope · 1,203 tasks started, 3 running, at most 57 at once · 8.2 s since start
//! tracked    12.3 MiB allocated in 45,678 allocations · 1.2 MiB live · 90.1% freed
//! untracked  4.0 MiB allocated (24.5% of all heap bytes allocated) · 1.1 MiB live
//! overhead   300.0 KiB live in memscope's books + 96.4 KiB owner words (12,345 live blocks × 8 B)
//!
//! by task type     tasks  done %   peak max  mean peak       live   retained     allocs  wait ms
//! …
//! ```

use super::human_bytes;
use crate::base::task::TaskType;
use crate::hook::placement::TRAILER_BYTES;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use std::fmt::Write;

/// Tasks listed in the "top tasks by peak" and "retained" tables.
pub(crate) const TOP_N: usize = 10;

/// The summary: totals, per task type, top [`TOP_N`] tasks by peak, tasks whose memory
/// outlived them, untracked share of all heap traffic, and memscope's own overhead.
pub(crate) fn render(s: &MemorySnapshot) -> String {
    let _internal = thread::internal();
    let mut out = String::new();
    header(&mut out, s);
    by_type(&mut out, s);
    top_tasks(&mut out, s);
    retained(&mut out, s);
    out
}

fn header(out: &mut String, s: &MemorySnapshot) {
    let tracked = s.tracked();
    let all = s.all_heap_traffic();
    let _ = writeln!(
        out,
        "memscope · {} tasks started, {} running, at most {} at once · {:.1} s since start",
        thousands(s.tasks_started),
        thousands(s.tasks_running),
        thousands(s.max_tasks_running),
        s.taken_at.as_secs_f64()
    );
    let _ = writeln!(
        out,
        "tracked    {} allocated in {} allocations · {} live · {:.1}% freed",
        human_bytes(tracked.allocated_bytes),
        thousands(tracked.allocation_count),
        human_bytes(tracked.live_bytes()),
        s.memory_efficiency_percent()
    );
    let _ = writeln!(
        out,
        "untracked  {} allocated ({} of all heap bytes allocated) · {} live",
        human_bytes(s.untracked.allocated_bytes),
        percent(s.untracked.allocated_bytes, all.allocated_bytes),
        human_bytes(s.untracked.live_bytes())
    );
    let blocks = all.allocation_count.saturating_sub(all.free_count);
    let _ = writeln!(
        out,
        "overhead   {} live in memscope's books + {} owner words ({} live blocks × {} B)",
        human_bytes(s.tracker.live_bytes()),
        human_bytes(blocks.saturating_mul(TRAILER_BYTES as u64)),
        thousands(blocks),
        TRAILER_BYTES
    );
}

fn by_type(out: &mut String, s: &MemorySnapshot) {
    let _ = writeln!(
        out,
        "\n{:<12} {:>8} {:>7} {:>10} {:>10} {:>10} {:>10} {:>11} {:>9}",
        "by task type",
        "tasks",
        "done %",
        "peak max",
        "mean peak",
        "live",
        "retained",
        "allocs",
        "wait ms"
    );
    let mut notes = Vec::new();
    for ty in TaskType::ALL {
        let m = s.get_task_metrics(ty);
        if m.task_count == 0 {
            continue;
        }
        let g = s.by_type(ty);
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:>7.1} {:>10} {:>10} {:>10} {:>10} {:>11} {:>9.1}",
            ty.as_str(),
            thousands(m.task_count),
            m.completion_rate_percent,
            human_bytes(g.max_peak_bytes),
            human_bytes(g.mean_peak_bytes().round() as u64),
            human_bytes(g.live_bytes),
            human_bytes(g.retained_bytes),
            thousands(g.heap.allocation_count),
            m.avg_wait_time_ms
        );
        if m.running_count + m.panicked_count + m.cancelled_count > 0 {
            notes.push(format!(
                "{}: {} running, {} panicked, {} cancelled",
                ty.as_str(),
                m.running_count,
                m.panicked_count,
                m.cancelled_count
            ));
        }
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "  not completed: {}", notes.join("; "));
    }
}

fn top_tasks(out: &mut String, s: &MemorySnapshot) {
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

fn retained(out: &mut String, s: &MemorySnapshot) {
    let all = s.retained_tasks();
    if all.is_empty() {
        let _ = writeln!(out, "\nno memory retained after completion");
        return;
    }
    let total: u64 = all.iter().map(|t| t.retained_bytes).sum();
    let _ = writeln!(
        out,
        "\nretained after completion: {} in {} finished tasks (handed off or leaked)",
        human_bytes(total),
        thousands(all.len() as u64)
    );
    task_table(
        out,
        &all[..all.len().min(TOP_N)],
        ["retained", "allocated"],
        |t| [t.retained_bytes, t.heap.allocated_bytes],
    );
}

fn task_table(
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
            fit(&t.name, 28),
            t.task_type.as_str(),
            t.outcome.to_string(),
            human_bytes(a),
            human_bytes(b),
            thousands(t.heap.allocation_count),
            human_duration(t.lifetime.as_secs_f64())
        );
    }
}

/// `part` as a percentage of `whole`, one decimal; "0.0%" when `whole` is zero.
fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        "0.0%".into()
    } else {
        format!("{:.1}%", part as f64 / whole as f64 * 100.0)
    }
}

/// `n` with thin thousands separators: `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn human_duration(secs: f64) -> String {
    if secs >= 1.0 {
        format!("{secs:.2} s")
    } else if secs >= 1e-3 {
        format!("{:.1} ms", secs * 1e3)
    } else {
        format!("{:.0} µs", secs * 1e6)
    }
}

/// A name on one line of at most `width` characters: control characters shown as `?`,
/// and a long name keeps its end (the fn's own name) behind a leading `…`.
fn fit(name: &str, width: usize) -> String {
    let clean: Vec<char> = name
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.len() <= width {
        clean.into_iter().collect()
    } else {
        std::iter::once('…')
            .chain(clean[clean.len() - (width - 1)..].iter().copied())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_format_as_documented() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(percent(1, 4), "25.0%");
        assert_eq!(fit("a\nb", 10), "a?b");
        assert_eq!(fit("crate::module::handler", 8), "…handler");
        assert_eq!(human_duration(0.0123), "12.3 ms");
    }
}
