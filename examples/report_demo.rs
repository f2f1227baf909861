//! A small service-shaped workload that writes all four reports to `target/memscope/`
//! (or the directory given as the first argument) and checks its own figures.
//!
//! ```text
//! cargo run --example report_demo            # then open target/memscope/report.html
//! ```
//!
//! What the reports show:
//! - `cache_warmup` (memory) holds 4 MiB for 300 ms: the hump in the timeline;
//! - 40 `handle_request` tasks (network) each hand a 16 KiB response to a shared outbox,
//!   so each retains exactly that after completing;
//! - `ingest_batch` (io) awaits one tracked `parse_chunk` scope and spawns 8
//!   `checksum` children (cpu): the task tree, self vs inclusive;
//! - `flusher` (background) churns small strings until told to stop.
//!
//! Exits non-zero if a figure is not what the workload did.

use memscope::{sampler, spawn, TaskType, Tracked};
use memscope::{MemorySnapshot, ReportFormat};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const KIB: usize = 1024;
const REQUESTS: usize = 40;
const RESPONSE: usize = 16 * KIB;
const CACHE: usize = 4 * KIB * KIB;

async fn cache_warmup() -> usize {
    let mut cache: Vec<Vec<u8>> = Vec::with_capacity(64);
    for i in 0..64 {
        cache.push(vec![i as u8; CACHE / 64]);
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    cache.iter().map(Vec::len).sum()
}

async fn handle_request(n: usize, outbox: Arc<Mutex<Vec<Vec<u8>>>>) {
    let scratch = vec![0u8; 64 * KIB];
    tokio::time::sleep(Duration::from_millis(5 + (n as u64 % 7) * 10)).await;
    let response = vec![scratch[n] ^ 0x5a; RESPONSE];
    drop(scratch);
    outbox
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .push(response);
}

async fn ingest_batch() -> u64 {
    let chunk = Tracked::new(
        async {
            let text = "id,value\n".repeat(20_000);
            tokio::time::sleep(Duration::from_millis(20)).await;
            text.lines().count()
        },
        "parse_chunk",
        TaskType::CpuIntensive,
    )
    .await;
    let children: Vec<_> = (0..8)
        .map(|i| {
            spawn(Tracked::new(
                async move {
                    let block = vec![i as u8; 256 * KIB];
                    tokio::time::sleep(Duration::from_millis(30)).await;
                    block.iter().map(|&b| u64::from(b)).sum::<u64>()
                },
                "checksum",
                TaskType::CpuIntensive,
            ))
        })
        .collect();
    let mut total = chunk as u64;
    for c in children {
        total += c.await.unwrap_or(0);
    }
    total
}

async fn flusher(stop: Arc<AtomicBool>) -> usize {
    let mut flushed = 0;
    // Relaxed: a plain stop flag; nothing else is published through it.
    while !stop.load(Ordering::Relaxed) {
        let line = format!("flush #{flushed}: {}", "x".repeat(512));
        flushed += line.len();
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    flushed
}

fn check(ok: bool, what: &str, failures: &mut Vec<String>) {
    if !ok {
        failures.push(what.to_owned());
    }
}

#[tokio::main]
async fn main() {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or("target/memscope".into()));
    let handle = sampler::start(Duration::from_millis(10));
    let outbox = Arc::new(Mutex::new(Vec::with_capacity(REQUESTS)));
    let stop = Arc::new(AtomicBool::new(false));

    let flush = spawn(Tracked::new(
        flusher(Arc::clone(&stop)),
        "flusher",
        TaskType::Background,
    ));
    let cache = spawn(Tracked::new(
        cache_warmup(),
        "cache_warmup",
        TaskType::MemoryIntensive,
    ));
    let ingest = spawn(Tracked::new(
        ingest_batch(),
        "ingest_batch",
        TaskType::IoIntensive,
    ));
    let mut requests = Vec::new();
    for n in 0..REQUESTS {
        let fut = handle_request(n, Arc::clone(&outbox));
        requests.push(spawn(Tracked::new(
            fut,
            "handle_request",
            TaskType::NetworkIntensive,
        )));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for r in requests {
        r.await.expect("request task");
    }
    let cached = cache.await.expect("cache task");
    let ingested = ingest.await.expect("ingest task");
    stop.store(true, Ordering::Relaxed);
    let flushed = flush.await.expect("flusher task");
    tokio::time::sleep(Duration::from_millis(30)).await;
    handle.stop();
    sampler::sample_now();

    let snap = memscope::snapshot();
    let mut failures = Vec::new();
    let net = snap.get_task_metrics(TaskType::NetworkIntensive);
    check(
        net.task_count == REQUESTS as u64,
        "40 network tasks",
        &mut failures,
    );
    check(
        net.completion_rate_percent == 100.0,
        "every request completed",
        &mut failures,
    );
    let handlers: Vec<_> = snap
        .tasks
        .iter()
        .filter(|t| t.name == "handle_request")
        .collect();
    check(
        handlers.len() == REQUESTS,
        "every handler held individually",
        &mut failures,
    );
    check(
        handlers
            .iter()
            .all(|t| t.retained_bytes >= RESPONSE as u64 && t.peak_bytes >= 64 * KIB as u64),
        "each handler retains its 16 KiB response and peaked above its 64 KiB scratch",
        &mut failures,
    );
    let mem = snap.get_task_metrics(TaskType::MemoryIntensive);
    check(
        cached == CACHE && mem.peak_memory_mb >= 4.0,
        "cache peak >= 4 MiB",
        &mut failures,
    );
    check(
        mem.retained_bytes == 0,
        "the cache freed everything",
        &mut failures,
    );
    let ingest_task = snap
        .tasks
        .iter()
        .find(|t| t.name == "ingest_batch")
        .expect("ingest held");
    let kids = snap.children(ingest_task.id).count();
    check(
        kids == 9,
        "ingest_batch has parse_chunk + 8 checksum children",
        &mut failures,
    );
    check(
        snap.inclusive_heap(ingest_task.id).allocated_bytes
            >= 8 * 256 * KIB as u64 + ingest_task.heap.allocated_bytes,
        "inclusive figure covers the children",
        &mut failures,
    );
    check(ingested > 0 && flushed > 0, "work was done", &mut failures);
    let cache_in_timeline = snap.timeline.iter().any(|s| {
        s.live_by_type
            .get(&TaskType::MemoryIntensive)
            .copied()
            .unwrap_or(0)
            >= CACHE as u64
    });
    check(
        cache_in_timeline,
        "the timeline saw the 4 MiB cache",
        &mut failures,
    );

    for format in ReportFormat::ALL {
        let path = dir.join(format!("report{}", format.extension()));
        match snap.save(&path) {
            Ok(_) => println!("wrote {}", path.display()),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let json = std::fs::read_to_string(dir.join("report.json")).unwrap_or_default();
    check(
        MemorySnapshot::from_json(&json).ok().as_ref() == Some(&snap),
        "JSON round-trips",
        &mut failures,
    );
    let trace = std::fs::read_to_string(dir.join("report.trace.json")).unwrap_or_default();
    let spans = trace.matches("\"ph\":\"X\"").count();
    check(
        spans == snap.tasks.len(),
        "one trace span per task",
        &mut failures,
    );

    println!("{snap}");
    if !failures.is_empty() {
        eprintln!("report_demo: figures wrong: {}", failures.join("; "));
        std::process::exit(1);
    }
}
