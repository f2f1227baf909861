//! The alloc-heavy tokio workload: many spawned tasks build strings and vectors and send
//! them over a channel to a collector task.
//!
//! The same code runs in every `tokio_*` binary; only the global allocator differs, and
//! whether the tasks are wrapped in [`Tracked`]. Arguments (all optional):
//! `--mode tracked|untracked|inproc|sampling` (default `untracked`; `sampling`: tracked with
//! call-site sampling off and on against untracked, in one process), `--iters N` (default 1),
//! `--tasks N` (default 20000), `--retain all|window` (default `all`).
//!
//! - `retain all`: the collector keeps every message until the end, so the peak heap is
//!   mostly the tasks' hand-offs (what an owner word per block costs shows in RSS, and so
//!   does the tracker keeping each finished task that still owns memory);
//! - `retain window`: it keeps only the latest 256, like a stream processor.
//!
//! At most `IN_FLIGHT` workers exist at once (the spawner waits for a permit).
//!
//! `inproc` (tracking binaries only) alternates tracked and untracked iterations in the
//! same process, ABBA, and reports both: the cost of `Tracked` plus attribution, with the
//! allocator the same on both sides.

use crate::{emit, median, median_diff, median_ratio, status_kib, Rng};
use memscope_runtime::{spawn, TaskType, Tracked};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// What one task hands to the collector.
#[derive(Debug)]
pub struct Msg {
    label: String,
    data: Vec<u64>,
    tags: Vec<String>,
}

/// Tasks in flight at once: a server bounds its concurrency, and the bound keeps the peak
/// heap (and so the RSS comparison) independent of how the two workers get scheduled.
const IN_FLIGHT: usize = 1000;

async fn worker(i: usize, tx: mpsc::Sender<Msg>, permit: OwnedSemaphorePermit) {
    let mut rng = Rng::new(i as u64 + 1);
    let label = format!("task-{i}:{}", "x".repeat((rng.next_u64() % 64) as usize));
    let n = rng.log_size(1, 1024);
    let mut data = Vec::new();
    for k in 0..n {
        data.push(k as u64 ^ i as u64);
    }
    tokio::task::yield_now().await;
    let scratch: Vec<String> = (0..8).map(|k| format!("{label}/{k}")).collect();
    let tags = scratch
        .iter()
        .take((rng.next_u64() % 4) as usize)
        .cloned()
        .collect();
    drop(scratch);
    let _ = tx.send(Msg { label, data, tags }).await;
    drop(permit);
}

async fn collect(mut rx: mpsc::Receiver<Msg>, retain_all: bool) -> u64 {
    let mut all = Vec::new();
    let mut window = VecDeque::new();
    let mut sum = 0u64;
    while let Some(m) = rx.recv().await {
        sum += (m.label.len() + m.data.len() + m.tags.len()) as u64;
        if retain_all {
            all.push(m);
        } else {
            if window.len() == 256 {
                window.pop_front();
            }
            window.push_back(m);
        }
    }
    sum + all.len() as u64 + window.len() as u64
}

/// Runs the workload once on the current runtime.
pub async fn run_once(tasks: usize, tracked: bool, retain_all: bool) -> u64 {
    let (tx, rx) = mpsc::channel(1024);
    let collector = if tracked {
        let t = Tracked::new(collect(rx, retain_all), "collector", TaskType::IoIntensive);
        tokio::spawn(t)
    } else {
        tokio::spawn(collect(rx, retain_all))
    };
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    for i in 0..tasks {
        let permit = Arc::clone(&limit)
            .acquire_owned()
            .await
            .expect("open semaphore");
        let fut = worker(i, tx.clone(), permit);
        if tracked {
            drop(spawn(Tracked::new(fut, "worker", TaskType::CpuIntensive)));
        } else {
            drop(tokio::spawn(fut));
        }
    }
    drop(tx);
    collector.await.expect("collector task")
}

struct Args {
    mode: String,
    iters: usize,
    tasks: usize,
    retain_all: bool,
}

fn args() -> Args {
    let mut a = Args {
        mode: "untracked".into(),
        iters: 1,
        tasks: 20_000,
        retain_all: true,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        match pair[0].as_str() {
            "--mode" => a.mode = value,
            "--iters" => a.iters = value.parse().expect("--iters N"),
            "--tasks" => a.tasks = value.parse().expect("--tasks N"),
            "--retain" => a.retain_all = value != "window",
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Entry point of the `tokio_*` binaries. `tracking` says whether the binary's global
/// allocator is memscope's (only then are `tracked` and `inproc` meaningful).
pub fn main(tracking: bool) {
    let a = args();
    assert!(
        tracking || a.mode == "untracked",
        "--mode {} needs the tracking allocator",
        a.mode
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("tokio runtime");
    let time = |tracked: bool| {
        let start = Instant::now();
        // The spawner is a task too: two busy threads on this two-core machine, not three.
        let run = run_once(a.tasks, tracked, a.retain_all);
        let sum = rt.block_on(async { tokio::spawn(run).await.expect("spawner task") });
        assert!(sum > 0);
        start.elapsed().as_nanos() as f64
    };
    if a.mode == "sampling" {
        // Tracked with call-site sampling off and on (default mean), against untracked,
        // alternated in one process: what sampling moves the in-process ratio by.
        use memscope_runtime::{configure, Config};
        let off = Config::default().with_sample_bytes(0);
        let on = Config::default().with_sample_bytes(Config::DEFAULT_SAMPLE_BYTES);
        let timed = |config: Config, tracked: bool| {
            configure(config);
            time(tracked)
        };
        let (mut u, mut t_off, mut t_on) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..=a.iters {
            let (u1, f1, n1) = (timed(off, false), timed(off, true), timed(on, true));
            let (n2, f2, u2) = (timed(on, true), timed(off, true), timed(off, false));
            if round > 0 {
                u.push((u1 + u2) / 2.0);
                t_off.push((f1 + f2) / 2.0);
                t_on.push((n1 + n2) / 2.0);
            }
        }
        configure(Config::default());
        let ratio_off: Vec<f64> = t_off.iter().zip(&u).map(|(t, u)| t / u).collect();
        let ratio_on: Vec<f64> = t_on.iter().zip(&u).map(|(t, u)| t / u).collect();
        emit("sampling.ratio_off", median(&ratio_off));
        emit("sampling.ratio_on", median(&ratio_on));
        emit("sampling.ratio_delta", median_diff(&ratio_on, &ratio_off));
    } else if a.mode == "inproc" {
        let (mut t, mut u) = (Vec::new(), Vec::new());
        for round in 0..=a.iters {
            let (u1, t1, t2, u2) = (time(false), time(true), time(true), time(false));
            if round > 0 {
                u.push((u1 + u2) / 2.0);
                t.push((t1 + t2) / 2.0);
            }
        }
        emit("inproc.tracked_wall_ns", median(&t));
        emit("inproc.untracked_wall_ns", median(&u));
        emit("inproc.ratio", median_ratio(&t, &u));
    } else {
        let tracked = a.mode == "tracked";
        let warm_up = a.iters > 1;
        let mut walls: Vec<f64> = (0..a.iters + usize::from(warm_up))
            .map(|_| time(tracked))
            .collect();
        if warm_up {
            walls.remove(0);
        }
        emit("wall_ns", median(&walls));
    }
    emit("hwm_kib", status_kib("VmHWM"));
    emit("rss_kib", status_kib("VmRSS"));
    if tracking {
        let s = memscope_runtime::snapshot();
        emit("tracker_live_bytes", s.tracker.live_bytes());
        emit("tasks_started", s.tasks_started);
        emit("tasks_held", s.tasks.len());
        emit("folded_tasks", s.folded_tasks);
    }
}
