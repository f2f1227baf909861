//! The seed document's async web server (`异步 Web 服务器`), unchanged but for the crate
//! path, the two-argument `spawn_tracked(fut, TaskType)` spelled `create_tracked(fut,
//! TaskType)` (SPEC.md settles this), the `get_memory_snapshot` import the seed forgot, a
//! `fn main` calling the seed's `#[tokio::main]` fn, and shorter simulated delays.
//!
//! What the output shows: ten network handler tasks process 100 requests each and send
//! the responses over a channel to one I/O collector task. All eleven run at once, so the
//! peak of concurrent tasks is 11; the total is every byte those tasks allocated, which
//! the checks compare with what building the 1000 requests and responses must allocate.
//!
//! Run: `cargo run --release --example web_server` (exits 1 if a figure is wrong).

mod support;
use memscope::async_memory::{create_tracked, get_memory_snapshot, initialize, TaskType};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use support::{check, STRING};
use tokio::sync::mpsc;
// Used only by the checks below the seed's program.
use memscope::async_memory::MemorySnapshot;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    async_web_server_simulation()
}

#[tokio::main]
async fn async_web_server_simulation() -> Result<(), Box<dyn std::error::Error>> {
    initialize().await?;

    let request_counter = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::channel(1000);

    // 产生请求处理任务
    let mut handlers = Vec::new();
    for worker_id in 0..10 {
        let tx = tx.clone();
        let counter = Arc::clone(&request_counter);

        let handler = create_tracked(
            async move {
                for request_id in 0..100 {
                    // 模拟传入请求
                    let request = format!("Request-{}-{}", worker_id, request_id);

                    // 处理请求
                    let response = process_request(request).await;

                    // 发送响应
                    if tx.send(response).await.is_err() {
                        break;
                    }

                    counter.fetch_add(1, Ordering::Relaxed);

                    // 模拟请求间隔 (the seed sleeps 10 ms)
                    tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
                }
            },
            TaskType::NetworkIntensive,
        );

        handlers.push(handler);
    }

    // 响应收集器
    let collector = create_tracked(
        async move {
            let mut responses = Vec::new();
            while let Some(response) = rx.recv().await {
                responses.push(response);
                if responses.len() >= 1000 {
                    break;
                }
            }
            responses.len()
        },
        TaskType::IoIntensive,
    );

    // 等待所有处理器
    for handler in handlers {
        handler.await?;
    }

    let response_count = collector.await?;
    let total_requests = request_counter.load(Ordering::Relaxed);

    println!("🌐 异步 Web 服务器模拟完成！");
    println!("   - 处理的请求: {}", total_requests);
    println!("   - 收集的响应: {}", response_count);

    // 获取最终内存快照
    let snapshot = get_memory_snapshot();
    println!("   - 峰值并发任务: {}", snapshot.peak_concurrent_tasks());
    println!(
        "   - 分配的总内存: {:.2} MB",
        snapshot.total_memory_bytes() as f64 / (1024.0 * 1024.0)
    );

    check_figures(&snapshot, total_requests, response_count);
    Ok(())
}

async fn process_request(request: String) -> String {
    // 模拟数据库查询 (the seed sleeps 5 ms)
    tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
    let query_result = vec![request.clone(); 10];

    // 模拟业务逻辑
    let processed_data = query_result
        .iter()
        .map(|r| format!("Processed: {}", r))
        .collect::<Vec<_>>();

    // 模拟响应序列化
    format!("{{\"status\":\"ok\",\"data\":{:?}}}", processed_data)
}

/// The fewest bytes a handler allocates for one request: every string's final length
/// (a growing string allocates at least that much in total: a realloc counts its new size)
/// and the two 10-element `Vec<String>` buffers, which are allocated at their exact size.
fn request_floor(worker_id: u64, request_id: u64) -> u64 {
    let request = format!("Request-{}-{}", worker_id, request_id);
    let processed: Vec<String> = (0..10).map(|_| format!("Processed: {}", request)).collect();
    let response = format!("{{\"status\":\"ok\",\"data\":{:?}}}", processed);
    let r = request.len() as u64;
    r // the request
        + 10 * r + 10 * STRING // vec![request.clone(); 10]: one clone, nine clones of it
        + processed.iter().map(|p| p.len() as u64).sum::<u64>() + 10 * STRING
        + response.len() as u64
}

/// Checks the figures against what the 10 handlers and the collector did.
fn check_figures(snapshot: &MemorySnapshot, total_requests: usize, response_count: usize) {
    println!("检查 (checks):");
    check(
        total_requests == 1000,
        format_args!("requests processed {total_requests} == 10 × 100"),
    );
    check(
        response_count == 1000,
        format_args!("responses collected {response_count} == 1000"),
    );
    // Eleven tracked tasks in all (the program tracks nothing else), and all eleven were
    // alive at once: the collector is created microseconds after the handlers, each of
    // which sleeps at least 200 × 1 ms before it can finish.
    check(
        snapshot.peak_concurrent_tasks() == 11,
        format_args!(
            "peak_concurrent_tasks {} == 10 handlers + 1 collector",
            snapshot.peak_concurrent_tasks()
        ),
    );
    check(
        snapshot.active_task_count() == 0,
        format_args!(
            "active_task_count {} == 0 after every handle was awaited",
            snapshot.active_task_count()
        ),
    );
    let net = snapshot.get_task_metrics(TaskType::NetworkIntensive);
    check(
        net.task_count == 10 && net.completed_count == 10,
        format_args!(
            "network tasks: {} started, {} completed == 10, 10",
            net.task_count, net.completed_count
        ),
    );
    check(
        net.completion_rate_percent == 100.0,
        format_args!(
            "network completion {:.1}% == 100%",
            net.completion_rate_percent
        ),
    );
    let io = snapshot.get_task_metrics(TaskType::IoIntensive);
    check(
        io.task_count == 1 && io.completion_rate_percent == 100.0,
        format_args!(
            "I/O collector: {} task, completion {:.1}% == 1, 100%",
            io.task_count, io.completion_rate_percent
        ),
    );

    let handlers_floor: u64 = (0..10)
        .flat_map(|w| (0..100).map(move |r| request_floor(w, r)))
        .sum();
    check(
        net.heap.allocated_bytes >= handlers_floor,
        format_args!(
            "handlers allocated {} >= requests, query copies, processed data, responses = {handlers_floor}",
            net.heap.allocated_bytes
        ),
    );
    // The collector's buffer ends holding 1000 `String`s.
    let collector_floor = 1000 * STRING;
    check(
        io.heap.allocated_bytes >= collector_floor,
        format_args!(
            "collector allocated {} >= 1000 × {STRING} = {collector_floor}",
            io.heap.allocated_bytes
        ),
    );
    check(
        snapshot.total_memory_bytes() == net.heap.allocated_bytes + io.heap.allocated_bytes,
        format_args!(
            "total_memory_bytes {} == handlers + collector (no other tracked task)",
            snapshot.total_memory_bytes()
        ),
    );
    check(
        snapshot.total_memory_bytes() >= handlers_floor + collector_floor,
        format_args!(
            "total_memory_bytes {} >= {}",
            snapshot.total_memory_bytes(),
            handlers_floor + collector_floor
        ),
    );
}
