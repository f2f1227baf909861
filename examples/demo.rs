//! The main demo: a small service instrumented with two lines — `#[memscope::track]` on
//! its async fns and `#[memscope::main]` instead of `#[tokio::main]` — that answers
//! "which task is holding my memory?".
//!
//! It accepts 8 connections; each runs a tracked `Connection::serve` that reads 25
//! requests, parses each in a tracked `parse_request`, and renders a response in a tracked
//! `Renderer::render`. Every 5th response is kept in a shared cache, so that memory
//! outlives the request that made it: the summary shows it as retained, by name and by
//! the connection it came from. At shutdown the summary goes to stderr and the HTML
//! report to `target/memscope/demo.html` (one offline file: open it in a browser).
//!
//! ```sh
//! cargo run --release --example demo
//! ```

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const CONNECTIONS: u32 = 8;
const REQUESTS: u32 = 25;
const RESPONSE_BYTES: usize = 2048;

type Cache = Arc<Mutex<HashMap<(u32, u32), String>>>;

struct Request {
    path: String,
}

#[memscope::track(task_type = "cpu")]
async fn parse_request(raw: &str) -> Request {
    let path = raw.split_whitespace().nth(1).unwrap_or("/").to_owned();
    Request { path }
}

struct Renderer;

impl Renderer {
    #[memscope::track(task_type = "cpu")]
    async fn render(&self, request: &Request) -> String {
        let mut body = String::with_capacity(RESPONSE_BYTES);
        while body.len() < RESPONSE_BYTES {
            body.push_str(&request.path);
        }
        body.truncate(RESPONSE_BYTES);
        body
    }
}

struct Connection {
    id: u32,
    cache: Cache,
}

impl Connection {
    #[memscope::track(task_type = "network")]
    async fn serve(self) -> usize {
        let mut served = 0;
        for n in 0..REQUESTS {
            let raw = format!("GET /conn/{}/item/{n} HTTP/1.1", self.id);
            tokio::task::yield_now().await; // the socket
            let request = parse_request(&raw).await;
            let response = Renderer.render(&request).await;
            served += response.len();
            if n % 5 == 0 {
                self.cache.lock().unwrap().insert((self.id, n), response);
            }
        }
        served
    }
}

#[memscope::main(report = "target/memscope/demo.html")]
async fn main() {
    let cache: Cache = Arc::default();
    let mut connections = Vec::new();
    for id in 0..CONNECTIONS {
        let conn = Connection {
            id,
            cache: Arc::clone(&cache),
        };
        // `memscope::spawn` charges tokio's task cell to the spawned task.
        connections.push(memscope::spawn(memscope::TrackedExt::tracked(
            conn.serve(),
            "connection",
            memscope::TaskType::NetworkIntensive,
        )));
    }
    let mut bytes = 0;
    for c in connections {
        bytes += c.await.expect("a connection failed");
    }
    let cached = cache.lock().unwrap().len();
    println!(
        "demo: served {} requests, {bytes} bytes; {cached} responses cached",
        CONNECTIONS * REQUESTS
    );
    let snap = memscope::snapshot();
    let serve = snap
        .groups
        .iter()
        .find(|g| g.name.ends_with("demo::Connection::serve"))
        .expect("tracked methods are named Type::method");
    let retained: u64 = snap
        .groups
        .iter()
        .filter(|g| g.name.ends_with("Renderer::render"))
        .map(|g| g.retained_bytes)
        .sum();
    // The cached responses were made by `Renderer::render` and outlive it.
    let expected = cached as u64 * RESPONSE_BYTES as u64;
    if serve.task_count != u64::from(CONNECTIONS) || retained < expected {
        eprintln!("demo: figures wrong: {serve:?}, retained {retained} < {expected}");
        std::process::exit(1);
    }
    keep(cache); // hand the cache to main's end: it is retained at exit
}

fn keep(cache: Cache) {
    std::mem::forget(cache);
}
