//! Retained memory of folded tasks: a million finished tasks that each still own one
//! block. Their records are folded into their `(name, type)` group once the retention is
//! full; each keeps only its 32-byte owner cell, which counts its live bytes exactly as
//! anyone frees them. The test checks that the books stay small and exact all along.
//!
//! Size: 1,000,000 tasks; 100,000 when `CI` is set; `MEMSCOPE_RETAINED_TASKS` overrides
//! both. A tenth of them are spawned by one tracked parent (which stays running, so its
//! inclusive figures can be read), the rest from outside any task. Each task allocates a
//! block of 1..=64 bytes and returns it with its id; the blocks are kept outside the
//! tasks. Checked:
//! - tasks held individually ≤ retention (1024) + tasks in flight (one batch, 1000) +
//!   the parent + 2 × 64 (lingering records are swept when their number doubles);
//! - the tracker's own live bytes ≤ 40 B per folded task still owning memory + 4 MiB.
//!   The stated cost is one 32-byte cell per such task (cells come in 8 KiB chunks of
//!   256, one chunk list per shard); the fixed part is the retention (1024 records of
//!   160 B plus their cells and names), the groups, the runtime's own books and the
//!   snapshot being read (its `tasks` list). The per-task figure is printed: keeping the
//!   records instead would cost 160 B + the record's slot (and its profile in every
//!   snapshot, ~250 B more). Measured (release): 32.4 B per task over a fixed 0.69 MB
//!   (with 128 spare records per shard);
//! - exact figures: each group's `retained_bytes` is the sum of the blocks still held
//!   (`retaining_count`, `min_`/`max_retained_bytes` their number and extremes),
//!   `folded_retaining_tasks` counts exactly the holders not held individually, the
//!   parent's `inclusive_retained_bytes` / `inclusive.live_bytes()` are what its children
//!   left and its `folded_descendants_retained_bytes` / `_retaining` what its folded ones
//!   left; after half the blocks are freed on a thread running no task (the owners are
//!   long folded), and after all are, each figure drops by exactly what was freed;
//! - the children's group has the parent's type (they were created with `Tracked::named`);
//! - a second round of as many tasks keeps the tracker's memory within the first round's
//!   peak + 1 MiB: the cells freed in between are reused.

#[path = "support/retained_round.rs"]
mod retained_round;
mod support;

use memscope::{snapshot, GroupProfile, MemorySnapshot, TaskId};
use memscope_test_support::{assert_books_add_up, runtime, warm_up_tokio, Flavor};
use retained_round::{peak, report, run_round, Checkpoint, Held, Left, Round};
use retained_round::{BATCH, CHILD, LEAF, LEAF_TYPE, PARENT, PARENT_SHARE, PARENT_TYPE};
use std::collections::HashSet;
use std::time::{Duration, Instant};

fn tasks_to_run() -> usize {
    support::scale("MEMSCOPE_RETAINED_TASKS", 100_000, 1_000_000)
}

fn group<'a>(s: &'a MemorySnapshot, name: &str) -> &'a GroupProfile {
    let mut of_name = s.groups.iter().filter(|g| g.name == name);
    let g = of_name.next().unwrap_or_else(|| panic!("no group {name}"));
    assert!(of_name.next().is_none(), "{name} is in two groups (types)");
    g
}

fn bytes(held: &[Left]) -> u64 {
    held.iter().map(|(_, b)| b.len() as u64).sum()
}

/// Waits (up to 30 s) until both groups retain exactly what is held: tokio frees a
/// task's cell a moment after its handle resolves. Returns the last snapshot.
fn settled(leaves: &Held, children: &Held) -> MemorySnapshot {
    let (leaf_bytes, child_bytes) = (bytes(leaves), bytes(children));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let s = snapshot();
        let done = group(&s, LEAF).retained_bytes == leaf_bytes
            && group(&s, CHILD).retained_bytes == child_bytes;
        if done || Instant::now() > deadline {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Holders of `held` that the snapshot no longer holds individually.
fn folded_holders(s: &MemorySnapshot, held: &[&Held]) -> u64 {
    let ids: HashSet<TaskId> = s.tasks.iter().map(|t| t.id).collect();
    held.iter()
        .flat_map(|h| h.iter())
        .filter(|(id, _)| !ids.contains(id))
        .count() as u64
}

/// Checks every exact figure of the round against the blocks still held; `others` is
/// the number of folded tasks still holding memory that are not ours.
fn check_exact(s: &MemorySnapshot, leaves: &Held, children: &Held, parent: TaskId, others: u64) {
    let (leaf_bytes, child_bytes) = (bytes(leaves), bytes(children));
    let leaf = group(s, LEAF);
    let child = group(s, CHILD);
    assert_eq!(leaf.task_type, LEAF_TYPE);
    assert_eq!(
        child.task_type, PARENT_TYPE,
        "a named child takes its parent's type"
    );
    assert_eq!(leaf.retained_bytes, leaf_bytes, "{LEAF} retained");
    assert_eq!(leaf.live_bytes, leaf_bytes, "{LEAF} live");
    assert_eq!(child.retained_bytes, child_bytes, "{CHILD} retained");
    assert_eq!(child.live_bytes, child_bytes, "{CHILD} live");
    for (g, held) in [(leaf, leaves), (child, children)] {
        let sizes = held.iter().map(|(_, b)| b.len() as u64);
        assert_eq!(g.retaining_count, held.len() as u64, "{} holders", g.name);
        assert_eq!(g.min_retained_bytes, sizes.clone().min().unwrap_or(0));
        assert_eq!(g.max_retained_bytes, sizes.max().unwrap_or(0));
    }
    assert_eq!(
        s.folded_retaining_tasks,
        folded_holders(s, &[leaves, children]) + others,
        "folded tasks still owning memory"
    );
    let p = s.task(parent).expect("the running parent is held");
    // Its folded children (those out of the retention) have it as nearest listed ancestor.
    let ids: HashSet<TaskId> = s.tasks.iter().map(|t| t.id).collect();
    let folded: Vec<_> = children
        .iter()
        .filter(|(id, _)| !ids.contains(id))
        .collect();
    let folded_bytes: u64 = folded.iter().map(|(_, b)| b.len() as u64).sum();
    assert_eq!(p.folded_descendants_retaining, folded.len() as u64);
    assert_eq!(p.folded_descendants_retained_bytes, folded_bytes);
    assert_eq!(p.retained_bytes, 0, "the parent runs");
    assert_eq!(
        p.inclusive_retained_bytes, child_bytes,
        "parent's inclusive retained"
    );
    assert_eq!(
        p.inclusive.live_bytes(),
        p.live_bytes + child_bytes,
        "parent's inclusive live"
    );
    assert_eq!(s.inclusive_heap(parent), p.inclusive);
}

/// Frees every other block of each list on a thread that runs no task; returns the
/// blocks kept.
fn free_half_elsewhere(leaves: Held, children: Held) -> (Held, Held) {
    let split = |held: Held| -> (Held, Held) {
        let (gone, kept): (Vec<_>, Vec<_>) =
            held.into_iter().enumerate().partition(|(k, _)| k % 2 == 0);
        let strip = |v: Vec<(usize, Left)>| v.into_iter().map(|(_, h)| h).collect();
        (strip(gone), strip(kept))
    };
    let (gone_leaves, leaves) = split(leaves);
    let (gone_children, children) = split(children);
    free_elsewhere(gone_leaves, gone_children);
    (leaves, children)
}

fn free_elsewhere(leaves: Held, children: Held) {
    std::thread::spawn(move || {
        assert!(memscope::current_task_id().is_none());
        drop(leaves);
        drop(children);
    })
    .join()
    .expect("freeing thread");
}

/// Checks the bounds at each checkpoint. Cell chunks are never freed, so the tracker's
/// memory follows the most folded tasks owning memory at once so far: `prior_peak` of an
/// earlier round, or this round's.
fn check_checkpoints(
    checkpoints: &[Checkpoint],
    held_bound: usize,
    tracker_fixed: u64,
    prior_peak: u64,
) {
    let mut most = prior_peak;
    for c in checkpoints {
        assert!(c.held <= held_bound, "held {} > {held_bound}", c.held);
        most = most.max(c.folded_retaining);
        let bound = 40 * most + tracker_fixed;
        assert!(
            c.tracker_live <= bound,
            "tracker live {} > {bound} after {} tasks",
            c.tracker_live,
            c.done
        );
    }
}

#[test]
fn folded_tasks_owning_memory_cost_a_cell_each_and_stay_exact() {
    warm_up_tokio();
    let n = tasks_to_run();
    assert!(n >= 10 * BATCH, "at least {} tasks", 10 * BATCH);
    let retention = memscope::Config::current().retention();
    let rt = runtime(Flavor::MultiThread);
    let held_bound = retention + BATCH + 1 + 2 * 64;
    const TRACKER_FIXED: u64 = 4 << 20;
    let before = snapshot();
    let base_tracker = before.tracker.live_bytes();
    let base_folded_retaining = before.folded_retaining_tasks;
    drop(before);

    let round = run_round(&rt, n);
    report("round 1", n, &round);
    check_checkpoints(&round.checkpoints, held_bound, TRACKER_FIXED, 0);
    let first_peak = peak(&round);
    let Round {
        leaves,
        children,
        parent,
        release,
        parent_done,
        ..
    } = round;
    let s = settled(&leaves, &children);
    assert!(
        s.folded_retaining_tasks as usize >= n - retention,
        "folded still owning: {} < {n} − {retention}",
        s.folded_retaining_tasks
    );
    // Tasks of the warm-up that keep tokio's one-time allocation, say.
    let others = s.folded_retaining_tasks - folded_holders(&s, &[&leaves, &children]);
    assert!(
        others <= base_folded_retaining + 8,
        "{others} other holders"
    );
    check_exact(&s, &leaves, &children, parent, others);
    let tracker = s.tracker.live_bytes();
    let most_retaining = s.folded_retaining_tasks;
    let per_task = (tracker - base_tracker) as f64 / s.folded_retaining_tasks as f64;
    eprintln!(
        "  tracker: {base_tracker} B before, {tracker} B with {} folded tasks still owning \
         memory: {per_task:.1} B per task (a record would be 160 B + its profile)",
        s.folded_retaining_tasks
    );
    let tracker_alloc = s.tracker.allocated_bytes;
    drop(s);
    let taken = Instant::now();
    let s = snapshot();
    eprintln!(
        "  one snapshot takes {:.2?} and allocates {:.1} B per folded task still owning \
         memory (freed before it returns)",
        taken.elapsed(),
        (s.tracker.allocated_bytes - tracker_alloc) as f64 / s.folded_retaining_tasks as f64
    );
    drop(s);

    // Half the blocks freed on a thread running no task, long after their owners were
    // folded: every figure drops by exactly that.
    let (leaves, children) = free_half_elsewhere(leaves, children);
    check_exact(&snapshot(), &leaves, &children, parent, others);

    // Then the rest: nothing is retained any more.
    free_elsewhere(leaves, children);
    let s = snapshot();
    check_exact(&s, &Held::new(), &Held::new(), parent, others);
    assert_books_add_up(&s);
    drop(s);
    release.send(()).expect("parent waits");
    rt.block_on(parent_done).expect("parent completed");

    // A second round of as many tasks: exact again, and the cells freed above are reused
    // (the tracker's bounds are checked last, so that a failure there hides nothing).
    let round = run_round(&rt, n);
    report("round 2", n, &round);
    let second_peak = peak(&round);
    let Round {
        leaves,
        children,
        parent,
        release,
        parent_done,
        checkpoints,
        ..
    } = round;
    let s = settled(&leaves, &children);
    let others = s.folded_retaining_tasks - folded_holders(&s, &[&leaves, &children]);
    check_exact(&s, &leaves, &children, parent, others);
    drop(s);
    free_elsewhere(leaves, children);
    release.send(()).expect("parent waits");
    rt.block_on(parent_done).expect("parent completed");
    drop(rt);
    let s = snapshot();
    assert_eq!(group(&s, LEAF).retained_bytes, 0);
    assert_eq!(group(&s, CHILD).retained_bytes, 0);
    assert_eq!(
        group(&s, LEAF).task_count,
        2 * (n - n / PARENT_SHARE) as u64
    );
    assert_eq!(group(&s, CHILD).task_count, 2 * (n / PARENT_SHARE) as u64);
    assert_eq!(group(&s, PARENT).completed_count, 2);
    assert_books_add_up(&s);
    drop(s);

    eprintln!("  tracker peak: round 1 {first_peak} B, round 2 {second_peak} B");
    check_checkpoints(&checkpoints, held_bound, TRACKER_FIXED, most_retaining);
    assert!(
        second_peak <= first_peak + (1 << 20),
        "tracker grew in round 2: {first_peak} B -> {second_peak} B"
    );
}
