//! The tracker's own memory: RSS and the tracker's book size after 1,000,000 finished
//! tracked tasks (argument: task count), next to the same tasks run untracked first.
//!
//! Tasks run on a two-worker tokio runtime in waves of 10,000; each allocates a vector,
//! yields once and frees it, under one of 8 names and 4 task types.

use memscope_bench::{emit, status_kib};
use memscope_runtime::{snapshot, spawn, TaskType, Tracked, TrackingAllocator};
use std::time::Instant;

#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

const WAVE: usize = 10_000;
const NAMES: [&str; 8] = ["a", "b", "c", "d", "e", "f", "g", "h"];
const TYPES: [TaskType; 4] = [
    TaskType::CpuIntensive,
    TaskType::IoIntensive,
    TaskType::NetworkIntensive,
    TaskType::Unspecified,
];

async fn job(i: usize) -> usize {
    let v = vec![i as u8; 64 + i % 512];
    tokio::task::yield_now().await;
    v.len()
}

async fn waves(total: usize, tracked: bool) {
    let mut done = 0;
    for start in (0..total).step_by(WAVE) {
        let wave = start..(start + WAVE).min(total);
        if tracked {
            let handles: Vec<_> = wave
                .map(|i| spawn(Tracked::new(job(i), NAMES[i % 8], TYPES[i % 4])))
                .collect();
            for h in handles {
                done += usize::from(h.await.expect("task") > 0);
            }
        } else {
            let handles: Vec<_> = wave.map(|i| tokio::spawn(job(i))).collect();
            for h in handles {
                done += usize::from(h.await.expect("task") > 0);
            }
        }
    }
    assert_eq!(done, total);
}

fn main() {
    let total = memscope_bench::count_arg(1_000_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let start = Instant::now();
    rt.block_on(waves(total, false));
    let untracked_ns = start.elapsed().as_nanos() as f64 / total as f64;
    let rss_before = status_kib("VmRSS");
    let tracker_before = snapshot().tracker.live_bytes();
    let start = Instant::now();
    rt.block_on(waves(total, true));
    let tracked_ns = start.elapsed().as_nanos() as f64 / total as f64;
    let s = snapshot();
    emit("books.tasks", total);
    emit("books.untracked_task_ns", untracked_ns);
    emit("books.tracked_task_ns", tracked_ns);
    emit("books.rss_before_kib", rss_before);
    emit("books.rss_after_kib", status_kib("VmRSS"));
    emit("books.hwm_kib", status_kib("VmHWM"));
    emit("books.tracker_live_before_bytes", tracker_before);
    emit("books.tracker_live_bytes", s.tracker.live_bytes());
    emit("books.tasks_started", s.tasks_started);
    emit("books.tasks_held", s.tasks.len());
    emit("books.folded_tasks", s.folded_tasks);
    emit("books.groups", s.groups.len());
}
