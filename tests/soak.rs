//! Soak: a million short tracked tasks on a multi-thread runtime. The tracker's own
//! memory, the number of tasks it holds individually and the process's resident set stay
//! bounded (finished tasks are folded into per-`(name, type)` aggregates), and at the end
//! the aggregates still add up exactly.
//!
//! Size: 1,000,000 tasks; 100,000 when `CI` is set; `MEMSCOPE_SOAK_TASKS` overrides both.
//! The bounds, checked at every tenth of the run after the first:
//! - tasks held individually ≤ retention (1024) + tasks in flight (one batch, 1000) +
//!   tasks still holding memory (at most 100 between checkpoints) + 2 × 64 (the sweep
//!   of lingering tasks runs when their number doubles, from 64);
//! - tracker live bytes ≤ 4 MiB, and at the end ≤ its first checkpoint + 1 MiB;
//! - resident set at the end ≤ its first checkpoint + 32 MiB.

mod support;

use memscope::{snapshot, spawn, Outcome, TaskType, Tracked};
use memscope_test_support::{assert_books_add_up, runtime, warm_up_tokio, Flavor};
use std::time::Instant;

const BATCH: usize = 1000;
const RETAIN_EVERY: usize = 1000;
const GROUPS: [(&str, TaskType); 4] = [
    ("soak/cpu", TaskType::CpuIntensive),
    ("soak/io", TaskType::IoIntensive),
    ("soak/net", TaskType::NetworkIntensive),
    ("soak/mem", TaskType::MemoryIntensive),
];

fn tasks_to_run() -> usize {
    support::scale("MEMSCOPE_SOAK_TASKS", 100_000, 1_000_000)
}

/// Resident set size of this process, from `/proc/self/status` (`VmRSS`, in KiB).
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

/// Bytes task `i` allocates for itself (besides the runtime's task cell).
fn work_bytes(i: usize) -> (usize, usize) {
    (1 + i % 256, 16 + i % 64)
}

async fn work(i: usize) -> Option<Box<[u8]>> {
    let (a, b) = work_bytes(i);
    let v = vec![i as u8; a];
    tokio::task::yield_now().await;
    let boxed = vec![0u8; b].into_boxed_slice();
    std::hint::black_box(&v);
    // Every thousandth task hands its second block to the caller: memory that outlives it.
    (i % RETAIN_EVERY == 0).then_some(boxed)
}

struct Checkpoint {
    done: usize,
    held: usize,
    tracker_live: u64,
    rss: u64,
}

fn checkpoint(done: usize) -> Checkpoint {
    let s = snapshot();
    Checkpoint {
        done,
        held: s.tasks.len(),
        tracker_live: s.tracker.live_bytes(),
        rss: rss_bytes(),
    }
}

#[test]
fn a_million_short_tasks_keep_the_books_bounded_and_exact() {
    warm_up_tokio();
    let n = tasks_to_run();
    let retention = memscope::Config::current().retention();
    let rt = runtime(Flavor::MultiThread);
    let start = Instant::now();
    let tenth = (n / 10).max(BATCH);
    let mut checkpoints: Vec<Checkpoint> = Vec::with_capacity(16);
    let mut retained: Vec<Box<[u8]>> = Vec::with_capacity(n / RETAIN_EVERY + 1);
    let mut retained_total = 0usize;
    let mut expected_work = [0u64; 4];
    rt.block_on(async {
        let mut handles = Vec::with_capacity(BATCH);
        let mut i = 0;
        while i < n {
            for j in i..(i + BATCH).min(n) {
                let (name, ty) = GROUPS[j % 4];
                let (a, b) = work_bytes(j);
                expected_work[j % 4] += (a + b) as u64;
                handles.push(spawn(Tracked::new(work(j), name, ty)));
            }
            for h in handles.drain(..) {
                if let Some(b) = h.await.unwrap() {
                    retained_total += b.len();
                    retained.push(b);
                }
            }
            i = (i + BATCH).min(n);
            if i % tenth == 0 || i == n {
                // Hand-offs are freed at each checkpoint: the tasks holding them may then
                // be folded too.
                retained.clear();
                checkpoints.push(checkpoint(i));
            }
        }
    });
    let elapsed = start.elapsed();
    drop(rt);
    drop(retained);

    let first = &checkpoints[0];
    let held_bound = retention + BATCH + n.min(tenth) / RETAIN_EVERY + 2 * 64;
    eprintln!(
        "soak: {n} tasks in {elapsed:.2?} ({:.0} tasks/s); retained {retained_total} bytes in hand-offs",
        n as f64 / elapsed.as_secs_f64()
    );
    for c in &checkpoints {
        eprintln!(
            "  after {:>8} tasks: held {:>5} tasks, tracker live {:>8} B, RSS {:>6} KiB",
            c.done,
            c.held,
            c.tracker_live,
            c.rss / 1024
        );
        assert!(c.held <= held_bound, "held {} > {held_bound}", c.held);
        assert!(c.tracker_live <= 4 << 20, "tracker live {}", c.tracker_live);
    }
    let last = checkpoints.last().unwrap();
    assert!(
        last.tracker_live <= first.tracker_live + (1 << 20),
        "tracker memory grew: {} -> {}",
        first.tracker_live,
        last.tracker_live
    );
    if first.rss > 0 {
        assert!(
            last.rss <= first.rss + (32 << 20),
            "RSS grew: {} KiB -> {} KiB",
            first.rss / 1024,
            last.rss / 1024
        );
    }

    // Exact at the end: every task finished, nothing of theirs is live any more.
    let s = snapshot();
    assert_books_add_up(&s);
    for (k, (name, ty)) in GROUPS.iter().enumerate() {
        let g = s
            .groups
            .iter()
            .find(|g| g.name == *name && g.task_type == *ty)
            .expect("group");
        let count = (0..n).filter(|j| j % 4 == k).count() as u64;
        assert_eq!(g.task_count, count, "{name}");
        assert_eq!(g.completed_count, count, "{name}");
        assert_eq!(g.live_bytes, 0, "{name}");
        assert_eq!(g.heap.allocated_bytes, g.heap.freed_bytes, "{name}");
        assert_eq!(g.heap.allocation_count, g.heap.free_count, "{name}");
        // Two blocks of known size per task, plus the runtime's task cell (and whatever
        // the runtime allocates inside a task's poll, which is the task's).
        assert!(g.heap.allocation_count >= 3 * count, "{name}");
        assert!(g.heap.allocated_bytes > expected_work[k], "{name}");
        assert_eq!(g.poll_count, 2 * count, "{name}: one yield each");
    }
    for t in s.tasks.iter().filter(|t| t.name.starts_with("soak/")) {
        assert_eq!(t.outcome, Outcome::Completed);
        assert_eq!(t.live_bytes, 0);
    }
    assert_eq!(s.active_task_count(), 0);
    assert!(s.folded_tasks as usize + s.tasks.len() >= n);
}
