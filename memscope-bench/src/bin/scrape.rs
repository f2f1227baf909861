//! The live endpoint's cost: CPU time per `/metrics` scrape (and per `/debug/pprof/heap`)
//! on a service with 100,000 live tracked tasks (argument: task count), as a share of one
//! core at one scrape a second.
//!
//! The tasks are spawned on a two-worker tokio runtime and each holds a 256-byte buffer
//! while it waits for the end; the endpoint serves on its own thread. CPU is the process's
//! (`getrusage`) while the tasks are parked, so it is the endpoint's work plus this
//! binary's small client; 7 rounds of 10 scrapes each.

use memscope_bench::{count_arg, emit, median};
use memscope_runtime::{serve, spawn, TaskType, Tracked, TrackingAllocator};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: TrackingAllocator = TrackingAllocator::system();

const ROUNDS: usize = 7;
const SCRAPES: usize = 10;
const NAMES: [&str; 8] = [
    "accept", "read", "parse", "route", "query", "render", "write", "log",
];

/// CPU time of the whole process so far (user + system).
fn cpu() -> Duration {
    // SAFETY: a zeroed `rusage` is a valid out-parameter for `getrusage`.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// One GET, answer read to its end; the body's length.
fn scrape(addr: SocketAddr, path: &str) -> usize {
    let answer = memscope_test_support::http::get(addr, path, "");
    assert_eq!(answer.status, 200, "{path} failed");
    answer.body.len()
}

/// Median and spread of CPU milliseconds per scrape of `path`.
fn measure(addr: SocketAddr, path: &str) -> (f64, f64, f64, usize) {
    let mut per_scrape = Vec::new();
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let start = cpu();
        for _ in 0..SCRAPES {
            bytes = scrape(addr, path);
        }
        per_scrape.push((cpu() - start).as_secs_f64() * 1000.0 / SCRAPES as f64);
    }
    let (min, max) = per_scrape
        .iter()
        .fold((f64::MAX, 0.0f64), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    (median(&per_scrape), min, max, bytes)
}

fn main() {
    let tasks = count_arg(100_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .expect("runtime");
    let (release, wait) = tokio::sync::watch::channel(false);
    let started = Instant::now();
    let handles: Vec<_> = rt.block_on(async {
        (0..tasks)
            .map(|i| {
                let mut wait = wait.clone();
                let job = async move {
                    let held = vec![i as u8; 256];
                    let _ = wait.wait_for(|end| *end).await;
                    held.len()
                };
                spawn(Tracked::new(job, NAMES[i % 8], TaskType::NetworkIntensive))
            })
            .collect()
    });
    std::thread::sleep(Duration::from_millis(500)); // every task polled once and parked
    let live = memscope_runtime::snapshot().tasks_running;
    emit("scrape.live_tasks", live);
    emit(
        "scrape.setup_s",
        format!("{:.2}", started.elapsed().as_secs_f64()),
    );
    let server = serve("127.0.0.1:0").expect("serve");
    let addr = server.addr();
    // `SCRAPE_ROUTES=metrics` measures one route alone (for a profiler's view of it).
    let only = std::env::var("SCRAPE_ROUTES").unwrap_or_default();
    for (key, path) in [("metrics", "/metrics"), ("pprof_heap", "/debug/pprof/heap")] {
        if !only.is_empty() && !only.contains(key) {
            continue;
        }
        scrape(addr, path); // warm
        let (med, min, max, bytes) = measure(addr, path);
        emit(&format!("scrape.{key}.cpu_ms_median"), format!("{med:.2}"));
        emit(
            &format!("scrape.{key}.cpu_ms_range"),
            format!("{min:.2}-{max:.2}"),
        );
        emit(
            &format!("scrape.{key}.core_share_at_1_per_s_pct"),
            format!("{:.2}", med / 10.0),
        );
        emit(&format!("scrape.{key}.answer_bytes"), bytes);
    }
    server.stop();
    release.send(true).expect("release");
    rt.block_on(async {
        for h in handles {
            h.await.expect("task");
        }
    });
}
