//! A small service instrumented with the attributes only: `#[memscope::track]` on its
//! async fns and `#[memscope::main]` instead of `#[tokio::main]`.
//!
//! It loads a configuration, serves 200 requests in 10 connection tasks (each request a
//! tracked handler that renders a 4 KiB response; every 10th response is kept in a shared
//! cache, so that memory outlives the handler that made it), and runs a background
//! flusher. At shutdown `#[memscope::main]` prints the summary and writes
//! `target/memscope/attributes.json`. Before that, the example checks its own figures and
//! exits non-zero if one is wrong.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type Cache = Arc<Mutex<HashMap<u32, String>>>;

const CONNECTIONS: u32 = 10;
const REQUESTS_PER_CONNECTION: u32 = 20;
const RESPONSE_BYTES: usize = 4096;

struct Config {
    routes: Vec<String>,
}

#[memscope::track(task_type = "io")]
async fn load_config() -> Config {
    tokio::task::yield_now().await; // reading a file
    Config {
        routes: (0..64).map(|i| format!("/api/v1/resource/{i}")).collect(),
    }
}

#[memscope::track(name = "handle_request", task_type = "network")]
async fn handle_request(id: u32, config: &Config, cache: &Cache) -> Result<usize, String> {
    let route = config
        .routes
        .get(id as usize % config.routes.len())
        .ok_or("no route")?;
    tokio::task::yield_now().await; // waiting on the database
    let mut response = String::with_capacity(RESPONSE_BYTES);
    response.push_str(route);
    while response.len() < RESPONSE_BYTES {
        response.push('x');
    }
    let len = response.len();
    if id % 10 == 0 {
        cache
            .lock()
            .map_err(|e| e.to_string())?
            .insert(id, response);
    }
    Ok(len)
}

#[memscope::track(task_type = "network")]
async fn serve_connection(conn: u32, config: Arc<Config>, cache: Cache) -> Result<usize, String> {
    let mut served = 0;
    for i in 0..REQUESTS_PER_CONNECTION {
        served += handle_request(conn * REQUESTS_PER_CONNECTION + i, &config, &cache).await?;
    }
    Ok(served)
}

#[memscope::track(name = "metrics_flusher", task_type = "background")]
async fn flush_metrics(rounds: u32) -> usize {
    let mut lines = Vec::new();
    for round in 0..rounds {
        lines.push(format!("metrics round={round}"));
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    lines.len()
}

#[memscope::main(report = "target/memscope/attributes.json")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Arc::new(load_config().await);
    let cache: Cache = Arc::default();
    let flusher = tokio::spawn(flush_metrics(5));
    let mut connections = Vec::new();
    for conn in 0..CONNECTIONS {
        connections.push(tokio::spawn(serve_connection(
            conn,
            Arc::clone(&config),
            Arc::clone(&cache),
        )));
    }
    let mut bytes = 0;
    for c in connections {
        bytes += c.await??;
    }
    flusher.await?;
    let requests = CONNECTIONS * REQUESTS_PER_CONNECTION;
    println!("served {requests} requests, {bytes} bytes of responses");
    check(requests, &cache)?;
    Ok(())
}

/// Compares the snapshot with what the service did.
fn check(requests: u32, cache: &Cache) -> Result<(), String> {
    let snapshot = memscope::snapshot();
    let group = |name: &str| {
        snapshot
            .groups
            .iter()
            .find(|g| g.name == name)
            .cloned()
            .ok_or(format!("no group named {name}"))
    };
    let handlers = group("handle_request")?;
    let connections = group("attributes::serve_connection")?;
    let main_task = group("main")?;
    let config = group("attributes::load_config")?;
    let cached = cache.lock().map_err(|e| e.to_string())?.len() as u64;
    let mut failures = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    expect(
        handlers.task_count == requests as u64 && handlers.completed_count == requests as u64,
        format!("{requests} handler tasks completed, got {handlers:?}"),
    );
    expect(
        handlers.max_peak_bytes >= RESPONSE_BYTES as u64,
        format!(
            "a handler's peak holds its response, got {}",
            handlers.max_peak_bytes
        ),
    );
    // The cached responses outlive their handlers: retained after completion.
    expect(
        handlers.retained_bytes >= cached * RESPONSE_BYTES as u64,
        format!(
            "{cached} cached responses retained, got {}",
            handlers.retained_bytes
        ),
    );
    expect(
        connections.task_count == CONNECTIONS as u64 && connections.running_count == 0,
        format!("{CONNECTIONS} connection tasks, got {connections:?}"),
    );
    expect(
        main_task.task_count == 1 && main_task.running_count == 1,
        format!("main is the running root task, got {main_task:?}"),
    );
    // The configuration is returned to main and kept: retained by `load_config`.
    expect(
        config.retained_bytes > 0,
        format!("the config is retained by load_config, got {config:?}"),
    );
    // Handlers are awaited inside their connection task: nested, with a parent link.
    let nested = snapshot
        .task_profiles()
        .iter()
        .filter(|t| t.name == "handle_request")
        .all(|t| {
            t.parent
                .and_then(|p| snapshot.task(p))
                .is_some_and(|p| p.name == "attributes::serve_connection")
        });
    expect(nested, "every handler's parent is its connection".into());
    if failures.is_empty() {
        println!("all figures check out");
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}
