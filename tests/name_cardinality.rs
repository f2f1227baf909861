//! Names of unbounded cardinality (`format!("req-{i}")`, what a user writes to tell
//! requests apart) cannot grow the books: folded tasks of names past
//! `Config::max_groups` share one `(other names)` group per task type.

use memscope::{configure, snapshot, Config, TaskType, Tracked};

const NAMES_KEPT: usize = 64;
const RETENTION: usize = 64;

fn run(from: usize, to: usize) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        for i in from..to {
            Tracked::new(
                async { vec![0u8; 100].len() },
                format!("req-{i}"),
                TaskType::NetworkIntensive,
            )
            .await;
        }
    });
}

#[test]
fn a_name_per_task_keeps_the_books_bounded_and_the_totals_exact() {
    // The task books alone: the call-site books (sampling) have their own bound, up to
    // 1,024 names, tested in `call_sites.rs`.
    configure(
        Config::default()
            .with_max_groups(NAMES_KEPT)
            .with_retention(RETENTION)
            .with_sample_bytes(0),
    );
    run(0, 10_000);
    // Read with nothing else of the tracker's alive: a snapshot's own vectors are in
    // the figure, and they are about the same size both times.
    let (half_books, half_groups) = {
        let half = snapshot();
        (half.tracker.live_bytes(), half.groups.len())
    };
    run(10_000, 20_000);
    let s = snapshot();

    let requests: Vec<_> = s
        .groups
        .iter()
        .filter(|g| g.name.starts_with("req-"))
        .collect();
    let other = s
        .groups
        .iter()
        .find(|g| g.name == "(other names)" && g.task_type == TaskType::NetworkIntensive)
        .expect("names past the limit are folded into one group");
    // Each of the 8 shards keeps at most NAMES_KEPT names, plus the tasks still held.
    assert!(
        requests.len() <= 8 * NAMES_KEPT + RETENTION + 8,
        "{} groups",
        requests.len()
    );
    let tasks: u64 = requests.iter().map(|g| g.task_count).sum::<u64>() + other.task_count;
    assert_eq!(tasks, 20_000, "every task is counted exactly once");
    let allocated: u64 =
        requests.iter().map(|g| g.heap.allocated_bytes).sum::<u64>() + other.heap.allocated_bytes;
    assert!(allocated >= 20_000 * 100);
    assert_eq!(other.live_bytes, 0);
    // The second 10,000 tasks did not grow the books.
    let grown = s.tracker.live_bytes().saturating_sub(half_books);
    assert!(
        grown < 16 * 1024,
        "the books grew by {grown} B over 10,000 new names"
    );
    assert!(
        s.groups.len() <= half_groups + 8,
        "{} vs {half_groups} groups",
        s.groups.len()
    );
}
