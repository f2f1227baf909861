//! Stress: 2 workers × 100,000 tracked tasks (20,000 in all when `CI` is set;
//! `MEMSCOPE_STRESS_TASKS` overrides) on a multi-thread runtime, with
//! - cross-task and cross-thread frees: blocks sent through a channel to a consumer task
//!   that drops them, blocks moved into `spawn_blocking` closures that drop them on
//!   blocking threads (which start and exit: 1 ms keep-alive);
//! - tasks that migrate between workers (`yield_now` between allocation and free);
//! - tasks that hand a block of known size to a collector outside any task;
//! - a std thread taking a snapshot every millisecond throughout and checking what must
//!   hold at any instant;
//! - a watchdog: the whole workload must finish within the deadline (no deadlock).
//!
//! At the end every figure is exact: each handing-off task holds exactly its block, every
//! other task and group holds nothing and freed all it allocated, and once the collector
//! frees the hand-offs, so do they.

mod support;

use memscope::{snapshot, spawn, MemorySnapshot, Outcome, TaskId, TaskType, Tracked};
use memscope_test_support::{assert_books_add_up, warm_up_tokio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

const BATCH: usize = 1000;

fn tasks_to_run() -> usize {
    support::scale("MEMSCOPE_STRESS_TASKS", 20_000, 200_000)
}

fn size(i: usize) -> usize {
    32 + (i * 7919) % 2048
}

/// Slots for the hand-offs, allocated up front so storing one allocates nothing.
type Collector = Arc<Mutex<Vec<Option<Box<[u8]>>>>>;

async fn one_task(
    i: usize,
    to_consumer: tokio::sync::mpsc::UnboundedSender<Vec<u8>>,
    collector: Collector,
) {
    match i % 4 {
        0 => {
            let v = vec![1u8; size(i)];
            tokio::task::yield_now().await;
            to_consumer.send(v).expect("consumer alive");
        }
        1 => {
            let b = vec![2u8; size(i)].into_boxed_slice();
            tokio::task::spawn_blocking(move || {
                // Freed on a blocking thread, outside any task; plus some untracked churn.
                let churn = vec![0u8; 100];
                drop((b, churn));
            })
            .await
            .expect("blocking closure");
        }
        2 => {
            let v = vec![3u8; size(i)];
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            let w = vec![4u8; size(i + 1)];
            tokio::task::yield_now().await;
            drop((v, w));
        }
        _ => {
            let b = vec![5u8; size(i)].into_boxed_slice();
            tokio::task::yield_now().await;
            collector.lock().unwrap()[i / 4] = Some(b);
        }
    }
}

/// What must hold in any snapshot, even one taken while tasks run.
fn check_any_time(s: &MemorySnapshot) {
    let mut running = 0;
    for g in &s.groups {
        // A task's live bytes never go below zero, so a group's live bytes are at least
        // its allocated − freed (more while a free lands before its allocation's batch).
        assert!(g.live_bytes >= g.heap.allocated_bytes.saturating_sub(g.heap.freed_bytes));
        assert_eq!(
            g.task_count,
            g.completed_count + g.panicked_count + g.cancelled_count + g.running_count
        );
        running += g.running_count;
    }
    // `tasks_running` is counted from the same reads as the groups' running counts.
    assert_eq!(running, s.tasks_running);
    assert!(s.tasks_running <= s.tasks_started);
    assert!(s.tasks.windows(2).all(|w| w[0].id < w[1].id));
}

fn group<'a>(s: &'a MemorySnapshot, name: &str) -> &'a memscope::GroupProfile {
    s.groups
        .iter()
        .find(|g| g.name == name)
        .unwrap_or_else(|| panic!("no group {name}"))
}

const NAMES: [&str; 4] = [
    "stress/send",
    "stress/blocking",
    "stress/migrate",
    "stress/retain",
];

fn workload(n: usize) -> Vec<(TaskId, usize)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4)
        .thread_keep_alive(Duration::from_millis(1))
        .build()
        .unwrap();
    let collector: Collector = Arc::new(Mutex::new((0..n / 4 + 1).map(|_| None).collect()));
    let mut retained = Vec::with_capacity(n / 4 + 1);
    rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
        let consumer = spawn(Tracked::new(
            async move {
                let mut n = 0u64;
                while let Some(v) = rx.recv().await {
                    n += v.len() as u64;
                    drop(v); // someone else's block, freed here
                }
                n
            },
            "stress/consumer",
            TaskType::IoIntensive,
        ));
        let mut handles = Vec::with_capacity(BATCH);
        let mut i = 0;
        while i < n {
            for j in i..(i + BATCH).min(n) {
                let t = Tracked::new(
                    one_task(j, tx.clone(), Arc::clone(&collector)),
                    NAMES[j % 4],
                    TaskType::MemoryIntensive,
                );
                if j % 4 == 3 {
                    retained.push((t.id(), size(j)));
                }
                handles.push(spawn(t));
            }
            for h in handles.drain(..) {
                h.await.expect("task");
            }
            i += BATCH;
        }
        drop(tx);
        let consumed = consumer.await.expect("consumer");
        let sent: u64 = (0..n).filter(|j| j % 4 == 0).map(|j| size(j) as u64).sum();
        assert_eq!(consumed, sent);
    });
    drop(rt);

    // Every task finished; each hand-off is held by the collector. A blocking-pool thread
    // started from inside a `stress/blocking` task is charged to it (its handle and boxed
    // closure) and frees that on its way out, which can be just after the runtime's drop
    // returns: give the last ones a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    let s = loop {
        let s = snapshot();
        if group(&s, "stress/blocking").live_bytes == 0 || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert_books_add_up(&s);
    assert_eq!(s.active_task_count(), 0);
    for name in [
        "stress/send",
        "stress/blocking",
        "stress/migrate",
        "stress/consumer",
    ] {
        let g = group(&s, name);
        assert_eq!(g.live_bytes, 0, "{name}");
        assert_eq!(g.heap.allocated_bytes, g.heap.freed_bytes, "{name}");
        assert_eq!(g.heap.allocation_count, g.heap.free_count, "{name}");
        assert_eq!(g.completed_count, g.task_count, "{name}");
    }
    let expected_retained: u64 = retained.iter().map(|&(_, b)| b as u64).sum();
    let g = group(&s, "stress/retain");
    assert_eq!(g.live_bytes, expected_retained);
    assert_eq!(g.retained_bytes, expected_retained);
    // Those still in the retention are held individually, exact; the others were folded
    // into the group (checked above), each leaving a cell that counts what it holds.
    let mut held = 0;
    for &(id, bytes) in &retained {
        if let Some(t) = s.task(id) {
            assert_eq!(t.outcome, Outcome::Completed);
            assert_eq!(t.live_bytes, bytes as u64, "{id}");
            assert_eq!(t.retained_bytes, bytes as u64, "{id}");
            held += 1;
        }
    }
    assert!(held + s.folded_retaining_tasks as usize >= retained.len());
    assert_eq!(g.retaining_count, retained.len() as u64);

    // The collector frees the hand-offs outside any task: charged back to their owners.
    drop(collector);
    let s = snapshot();
    assert_books_add_up(&s);
    let g = group(&s, "stress/retain");
    assert_eq!((g.live_bytes, g.retained_bytes), (0, 0));
    assert_eq!(g.heap.allocated_bytes, g.heap.freed_bytes);
    assert_eq!(g.heap.allocation_count, g.heap.free_count);
    retained
}

#[test]
fn two_workers_hundred_thousand_tasks_each_with_concurrent_snapshots() {
    warm_up_tokio();
    let n = tasks_to_run();
    let deadline = Duration::from_secs(if std::env::var_os("CI").is_some() {
        120
    } else {
        600
    });

    let stop = Arc::new(AtomicBool::new(false));
    let snapshots = Arc::new(AtomicU64::new(0));
    let snapshotter = {
        let (stop, snapshots) = (Arc::clone(&stop), Arc::clone(&snapshots));
        std::thread::spawn(move || {
            while !stop.load(Relaxed) {
                check_any_time(&snapshot());
                snapshots.fetch_add(1, Relaxed);
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };

    let (done_tx, done_rx) = mpsc::channel();
    let start = Instant::now();
    let worker = std::thread::spawn(move || {
        let r = std::panic::catch_unwind(|| workload(n));
        let _ = done_tx.send(());
        r
    });
    if done_rx.recv_timeout(deadline).is_err() {
        eprintln!("watchdog: the workload did not finish within {deadline:?}: deadlock?");
        std::process::exit(101);
    }
    let elapsed = start.elapsed();
    stop.store(true, Relaxed);
    snapshotter.join().expect("snapshot thread panicked");
    let retained = match worker.join().expect("worker thread") {
        Ok(r) => r,
        Err(p) => std::panic::resume_unwind(p),
    };
    let taken = snapshots.load(Relaxed);
    eprintln!(
        "stress: {n} tasks in {elapsed:.2?}, {taken} concurrent snapshots, {} hand-offs checked",
        retained.len()
    );
    assert!(taken > 0);
}
