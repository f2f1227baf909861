//! The seed document's microservice communication (`微服务通信`), unchanged but for the
//! crate path, a `fn main` calling the seed's `#[tokio::main]` fn, and shorter simulated
//! delays.
//!
//! What the output shows: four services (user, payment, analytics, gateway) run as four
//! tracked tasks of three types at once. The snapshot counts every allocation they made;
//! the checks compare it with the allocations their code must make (one per formatted
//! string and per batch vector), and, once every task has ended and freed what it held,
//! memory efficiency (freed ÷ allocated) is 100 %.
//!
//! Run: `cargo run --release --example microservices` (exits 1 if a figure is wrong).

mod support;
use memscope::async_memory::{
    create_tracked, get_memory_snapshot, initialize, TaskMemoryProfile, TaskType,
};
use support::check;
// The seed imports these two without using them; they stay as the seed wrote them.
#[allow(unused_imports)]
use std::collections::HashMap;
#[allow(unused_imports)]
use tokio::sync::oneshot;
// Used only by the checks below the seed's program.
use memscope::async_memory::MemorySnapshot;
use memscope::Outcome;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    microservice_simulation()
}

#[tokio::main]
async fn microservice_simulation() -> Result<(), Box<dyn std::error::Error>> {
    initialize().await?;

    // 服务 A：用户服务
    let user_service = create_tracked(
        async {
            let mut users = Vec::new();
            for i in 0..1000 {
                // 模拟用户数据处理
                let user = format!(
                    "{{\"id\":{},\"name\":\"User{}\",\"email\":\"user{}@example.com\"}}",
                    i, i, i
                );
                users.push(user);

                // 模拟数据库写入 (the seed sleeps 10 ms)
                if i % 100 == 0 {
                    tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
                }
            }
            users.len()
        },
        TaskType::IoIntensive,
    );

    // 服务 B：支付服务
    let payment_service = create_tracked(
        async {
            let mut transactions = Vec::new();
            for i in 0..500 {
                // 模拟支付处理
                let transaction = format!(
                    "{{\"id\":{},\"amount\":{:.2},\"status\":\"completed\"}}",
                    i,
                    i as f64 * 10.50
                );
                transactions.push(transaction);

                // 模拟外部 API 调用 (the seed sleeps 20 ms)
                tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
            }
            transactions.len()
        },
        TaskType::NetworkIntensive,
    );

    // 服务 C：分析服务
    let analytics_service = create_tracked(
        async {
            let mut metrics = Vec::new();
            for batch in 0..50 {
                // 模拟数据聚合
                let mut batch_data = Vec::new();
                for i in 0..1000 {
                    let value = (batch * 1000 + i) as f64;
                    batch_data.push(value.sin().abs());
                }

                // 计算统计
                let sum: f64 = batch_data.iter().sum();
                let avg = sum / batch_data.len() as f64;
                let metric = format!(
                    "{{\"batch\":{},\"avg\":{:.4},\"count\":{}}}",
                    batch,
                    avg,
                    batch_data.len()
                );
                metrics.push(metric);

                // 模拟计算延迟 (the seed sleeps 5 ms)
                tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
            }
            metrics.len()
        },
        TaskType::CpuIntensive,
    );

    // API 网关 - 编排所有服务
    let gateway = create_tracked(
        async {
            let mut responses = Vec::new();

            // 模拟 100 个复合请求
            for request_id in 0..100 {
                // 模拟并行服务调用
                let user_data = format!("User data for request {}", request_id);
                let payment_data = format!("Payment data for request {}", request_id);
                let analytics_data = format!("Analytics for request {}", request_id);

                // 组合响应
                let composite_response = format!(
                    "{{\"request_id\":{},\"user\":\"{}\",\"payment\":\"{}\",\"analytics\":\"{}\"}}",
                    request_id, user_data, payment_data, analytics_data
                );
                responses.push(composite_response);

                // 模拟响应时间 (the seed sleeps 15 ms)
                tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
            }

            responses.len()
        },
        TaskType::NetworkIntensive,
    );

    // 等待所有服务
    let (user_count, payment_count, analytics_count, gateway_count) =
        tokio::try_join!(user_service, payment_service, analytics_service, gateway)?;

    println!("🏗️  微服务模拟完成！");
    println!("   - 用户服务处理: {} 用户", user_count);
    println!("   - 支付服务处理: {} 交易", payment_count);
    println!("   - 分析服务处理: {} 指标", analytics_count);
    println!("   - 网关处理: {} 复合请求", gateway_count);

    // 最终内存分析
    let snapshot = get_memory_snapshot();
    println!("📊 内存分析：");
    println!("   - 峰值并发任务: {}", snapshot.peak_concurrent_tasks());
    println!("   - 跟踪的总分配: {}", snapshot.total_allocations());
    println!(
        "   - 内存效率: {:.1}%",
        snapshot.memory_efficiency_percent()
    );

    let counts = [user_count, payment_count, analytics_count, gateway_count];
    check_figures(&snapshot, counts).await;
    Ok(())
}

/// Checks the figures against what the four services did.
async fn check_figures(snapshot: &MemorySnapshot, counts: [usize; 4]) {
    println!("检查 (checks):");
    check(
        counts == [1000, 500, 50, 100],
        format_args!("service counts {counts:?} == [1000, 500, 50, 100]"),
    );
    // Four tracked tasks in all, created back to back before any could finish (each
    // sleeps at least 10 × 1 ms), so all four were alive at once.
    check(
        snapshot.peak_concurrent_tasks() == 4,
        format_args!(
            "peak_concurrent_tasks {} == 4 services",
            snapshot.peak_concurrent_tasks()
        ),
    );
    // At least one allocation per string and batch vector the code builds: users 1000;
    // payments 500; analytics 50 batch vectors + 50 metrics; gateway 100 × (3 parts +
    // 1 composite). Formatting and `Vec` growth (a realloc counts one) and tokio's task
    // cells add more; none is counted twice.
    let floor = 1000 + 500 + (50 + 50) + 100 * 4;
    check(
        snapshot.total_allocations() >= floor,
        format_args!(
            "total_allocations {} >= 1000 + 500 + 100 + 400 = {floor}",
            snapshot.total_allocations()
        ),
    );
    let efficiency = snapshot.memory_efficiency_percent();
    check(
        efficiency > 0.0 && efficiency <= 100.0,
        format_args!("memory efficiency {efficiency:.3}% within (0, 100]"),
    );
    let tasks: &[TaskMemoryProfile] = snapshot.task_profiles();
    check(
        tasks.len() == 4 && tasks.iter().all(|t| t.outcome == Outcome::Completed),
        format_args!("4 tracked tasks, all completed (got {})", tasks.len()),
    );
    // Each service frees everything it built before it returns a count; only tokio's task
    // cells (charged to the tasks) may outlive the handles by a moment, until the worker
    // lets go of them. Once they are freed, freed == allocated: efficiency is 100 %.
    let mut later = get_memory_snapshot();
    for _ in 0..100 {
        if later.tracked().live_bytes() == 0 {
            break;
        }
        tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
        later = get_memory_snapshot();
    }
    check(
        later.tracked().live_bytes() == 0 && later.memory_efficiency_percent() == 100.0,
        format_args!(
            "after the tasks' cells are freed: live {} B == 0, efficiency {:.3}% == 100%",
            later.tracked().live_bytes(),
            later.memory_efficiency_percent()
        ),
    );
    check(
        later.total_allocations() == snapshot.total_allocations(),
        format_args!(
            "no allocation charged after every task ended ({} == {})",
            later.total_allocations(),
            snapshot.total_allocations()
        ),
    );
    // The user service's 1000 strings, all held until it returned: its peak covers them.
    let users: u64 = (0..1000)
        .map(|i: u64| {
            format!("{{\"id\":{i},\"name\":\"User{i}\",\"email\":\"user{i}@example.com\"}}").len()
                as u64
        })
        .sum();
    let user_task = tasks.iter().find(|t| t.task_type == TaskType::IoIntensive);
    let user_peak = user_task.map_or(0, |t| t.peak_bytes);
    check(
        user_peak >= users + 1000 * size_of::<String>() as u64,
        format_args!(
            "user service peak {user_peak} >= 1000 JSON strings {users} + 1000-String buffer"
        ),
    );
}
