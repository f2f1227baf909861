//! A service that never ends, watched live: what a fleet scrapes.
//!
//! Tracked handlers under steady synthetic load (about 1,000 requests a second): each
//! request is a spawned `handle_request` (network) that parses (cpu) and renders its
//! answer; every 10th answer is kept in a shared cache (bounded, evicted by a
//! `background` task), so the cache's memory shows as retained by `handle_request`. The
//! endpoint serves at `MEMSCOPE_SERVE` (default 127.0.0.1:6060) until SIGINT or SIGTERM;
//! then the service shuts down, prints its summary, writes
//! `target/memscope/service.html` and exits 0.
//!
//! ```sh
//! cargo run --release --example service
//! curl -s localhost:6060/metrics | grep memscope_task_type_live_bytes
//! go tool pprof -top http://localhost:6060/debug/pprof/heap
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::signal::unix::{signal, SignalKind};

/// Answers kept at most; the oldest go first.
const CACHE_ENTRIES: usize = 2_000;
const ANSWER_BYTES: usize = 1_024;

type Cache = Arc<Mutex<VecDeque<Vec<u8>>>>;

#[memscope::track(task_type = "cpu")]
async fn parse(id: u64) -> String {
    format!("GET /items/{id} HTTP/1.1")
}

#[memscope::track(task_type = "cpu")]
async fn render(request: &str) -> Vec<u8> {
    let mut answer = Vec::with_capacity(ANSWER_BYTES);
    while answer.len() < ANSWER_BYTES {
        answer.extend_from_slice(request.as_bytes());
    }
    answer.truncate(ANSWER_BYTES);
    answer
}

#[memscope::track(task_type = "network", label = id)]
async fn handle_request(id: u64, cache: Cache) -> usize {
    let request = parse(id).await;
    let answer = render(&request).await;
    let len = answer.len();
    if id % 10 == 0 {
        cache.lock().unwrap().push_back(answer);
    }
    len
}

#[memscope::track(task_type = "background")]
async fn evict(cache: Cache) {
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    loop {
        tick.tick().await;
        let mut cache = cache.lock().unwrap();
        while cache.len() > CACHE_ENTRIES {
            cache.pop_front();
        }
    }
}

/// Spawns about 1,000 requests a second until the program ends.
async fn load(cache: Cache) {
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    let mut id = 0;
    loop {
        tick.tick().await;
        for _ in 0..10 {
            id += 1;
            tokio::spawn(handle_request(id, Arc::clone(&cache)));
        }
    }
}

#[memscope::main(serve = "127.0.0.1:6060", report = "target/memscope/service.html")]
async fn main() {
    let cache: Cache = Arc::default();
    let evictor = tokio::spawn(evict(Arc::clone(&cache)));
    let generator = tokio::spawn(load(Arc::clone(&cache)));
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    eprintln!("service: running under load; stop it with Ctrl-C (SIGINT) or SIGTERM");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => eprintln!("service: SIGINT, shutting down"),
        _ = terminate.recv() => eprintln!("service: SIGTERM, shutting down"),
    }
    generator.abort();
    evictor.abort();
    cache.lock().unwrap().clear();
}
