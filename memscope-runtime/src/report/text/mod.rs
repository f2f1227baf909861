//! The text summary printed at shutdown, answers first, in at most 100 columns:
//!
//! ```text
//! memscope · 52 tasks started, 0 running, at most 17 at once · 0.6 s since start
//! tracked    9.4 MiB allocated in 308 allocations · 640.0 KiB live · 93.3% freed
//! untracked  54.9 KiB allocated (0.6% of all heap bytes allocated) · 52.1 KiB live
//! overhead   40.9 KiB live in memscope's books + 3.1 KiB owner words (402 live blocks × 8 B)
//!
//! by task name (6 names)      type          tasks running   peak max  mean peak       live   retained
//! ! handle_request            network          40       0   80.4 KiB   80.4 KiB  640.0 KiB  640.0 KiB
//!   cache_warmup              memory            1       0    4.0 MiB    4.0 MiB        0 B        0 B
//! …
//! RETAINED after completion: 640.0 KiB in 40 finished tasks (handed off or leaked)
//! ! by name     40 × handle_request (network) hold 640.0 KiB, 16.0 KiB each
//! ! by parent   children of #3 accept_loop (io) hold 640.0 KiB in 40 tasks
//!
//! by task type           tasks done %   peak max  mean peak       live   retained    allocs  wait ms
//! cpu                        9  100.0  256.4 KiB  247.4 KiB        0 B        0 B        17     39.5
//!   checksum                 8  100.0  256.4 KiB  256.4 KiB        0 B        0 B        16     41.7
//!   parse_chunk              1  100.0  175.8 KiB  175.8 KiB        0 B        0 B         1     21.8
//! …
//!
//! where in the tasks: top call sites by name (estimates from sampling, mean 512.0 KiB)
//!       in use   retained  allocated  site
//! handle_request (network): 640.0 KiB in use at 2 sites
//!    640.0 KiB  640.0 KiB    1.2 MiB  app::handler::read_body (src/handler.rs:41)
//!          0 B        0 B    3.1 MiB  app::handler::parse (src/handler.rs:58)
//! cache_warmup (memory): 0 B in use at 1 site
//!          0 B        0 B    4.0 MiB  app::cache::fill (src/cache.rs:17)
//! outside tasks: 48.0 KiB in use at 1 site
//!     48.0 KiB        0 B   48.0 KiB  app::main (src/main.rs:9)
//! ```
//!
//! then the instances: the top tasks by peak and the retained tasks, largest first.
//! Sections are one file each: `names` (the per-name table), `retained` (grouped and
//! per task), `types` (per type, broken down by name), `sites` (the top call sites of
//! the sampled allocations per name, left out when none was sampled) and `tasks` (the
//! instance table).

use super::units::{human_bytes, percent, thousands};
use crate::hook::placement::TRAILER_BYTES;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use std::fmt::Write;

/// The per-name table and its spawner hint.
mod names;
/// Retained memory grouped by name and by parent, and the retained tasks.
mod retained;
/// The top call sites of the sampled allocations, per name.
mod sites;
/// The "top tasks by peak" and "retained" instance tables.
mod tasks;
/// The per-type table, each type followed by its names.
mod types;

/// Rows of each ranked list (names, groups of retained memory, tasks) before the rest is
/// summed up in one line.
pub(crate) const TOP_N: usize = 10;
/// Widest line of the summary.
pub(crate) const WIDTH: usize = 100;

/// The summary: totals; per name; retained memory by name and by parent; per type and
/// name; the top call sites per name; the top [`TOP_N`] tasks by peak and the tasks whose
/// memory outlived them.
pub(crate) fn render(s: &MemorySnapshot) -> String {
    let _internal = thread::internal();
    let mut out = String::new();
    header(&mut out, s);
    names::by_name(&mut out, s);
    retained::grouped(&mut out, s);
    types::by_type(&mut out, s);
    sites::top_sites(&mut out, s);
    tasks::top_tasks(&mut out, s);
    retained::instances(&mut out, s);
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
        tracked.freed_percent()
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

/// `prefix`, `name` and `suffix` on one line of at most [`WIDTH`] characters: the name is
/// cut (keeping its end) to what the rest leaves, but never below 12 characters.
pub(crate) fn line_with_name(prefix: &str, name: &str, suffix: &str) -> String {
    let rest = prefix.chars().count() + suffix.chars().count();
    let room = WIDTH.saturating_sub(rest).max(12);
    format!("{prefix}{}{suffix}", super::units::fit(name, room))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_name_is_cut_to_the_room_left() {
        let name = "a::very::long::module::path::to::the::handler_that_retains";
        let line = line_with_name(
            "! by name     ",
            name,
            &format!(" holds {}", "x".repeat(60)),
        );
        assert_eq!(line.chars().count(), WIDTH);
        assert!(line.contains("…"));
        assert_eq!(line_with_name("a ", "b", " c"), "a b c");
    }
}
