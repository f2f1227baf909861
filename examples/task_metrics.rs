//! The seed document's task analysis metrics (`任务分析指标`): its
//! `analyze_task_performance`, unchanged but for the crate path and the
//! `get_memory_snapshot` and `TaskType` imports the seed forgot, run after real tasks of
//! each type whose sizes and timings are known, followed by a check of every figure.
//!
//! The tasks (spawned with `create_tracked` on a multi-thread runtime):
//! - CPU: four tasks holding 256 KiB, 512 KiB, 768 KiB and 1 MiB at their peaks, so the
//!   mean of the peaks is 0.625 MB and the highest 1.0 MB (MB = 1024 × 1024 bytes), plus
//!   each task's own tokio task cell;
//! - I/O: five tasks holding 64 KiB across a 5 ms sleep; one is aborted while it sleeps,
//!   so 4 of 5 complete (80 %) and each waited at least 5 ms;
//! - network: ten tasks run one after another, each holding 16 KiB across a 2 ms sleep, so
//!   the throughput is at most 10 ÷ 20 ms = 500 per second.
//!
//! Run: `cargo run --release --example task_metrics` (exits 1 if a figure is wrong).

mod support;
use memscope::async_memory::{TaskMemoryProfile, TaskPerformanceMetrics};
use support::{check, fail, within};
// The seed's function calls these without importing them.
use memscope::async_memory::{get_memory_snapshot, TaskType};
// Used only by `main`, which runs the tasks and the checks.
use memscope::async_memory::MB;
use memscope::async_memory::{create_tracked, initialize};
use std::time::{Duration, Instant};

async fn analyze_task_performance() -> Result<(), Box<dyn std::error::Error>> {
    let snapshot = get_memory_snapshot();

    // 获取每种任务类型的性能指标
    let cpu_metrics = snapshot.get_task_metrics(TaskType::CpuIntensive);
    let io_metrics = snapshot.get_task_metrics(TaskType::IoIntensive);
    let network_metrics = snapshot.get_task_metrics(TaskType::NetworkIntensive);

    println!("🎯 任务性能分析：");
    println!("CPU 任务：");
    println!("   - 平均内存: {:.2} MB", cpu_metrics.avg_memory_mb);
    println!("   - 峰值内存: {:.2} MB", cpu_metrics.peak_memory_mb);
    println!("   - 完成率: {:.1}%", cpu_metrics.completion_rate_percent);

    println!("I/O 任务：");
    println!("   - 平均内存: {:.2} MB", io_metrics.avg_memory_mb);
    println!("   - 等待时间: {:.2}ms", io_metrics.avg_wait_time_ms);

    println!("网络任务：");
    println!("   - 平均内存: {:.2} MB", network_metrics.avg_memory_mb);
    println!(
        "   - 吞吐量: {:.1} 请求/秒",
        network_metrics.throughput_per_sec
    );

    Ok(())
}

const KIB: usize = 1024;
/// Slack above a task's known bytes: tokio's task cell, which `create_tracked` charges to
/// the task. It holds the future (reported as `future_size_bytes`, counted separately
/// below) plus tokio's header, scheduler handle and trailer: a few hundred bytes.
const CELL_SLACK: f64 = 4.0 * 1024.0;
const IO_SLEEP: Duration = Duration::from_millis(5);
const NET_SLEEP: Duration = Duration::from_millis(2);

/// Wall-clock time each group of tasks took, measured around it.
struct Walls {
    io: Duration,
    network: Duration,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    initialize().await?;

    // CPU: k × 256 KiB each, touched, summed and freed within one poll.
    let mut cpu = Vec::new();
    for k in 1..=4 {
        cpu.push(create_tracked(
            async move {
                let data = vec![1u8; k * 256 * KIB];
                std::hint::black_box(&data)
                    .iter()
                    .map(|&b| b as u64)
                    .sum::<u64>()
            },
            TaskType::CpuIntensive,
        ));
    }
    for task in cpu {
        task.await?;
    }

    // I/O: 64 KiB held across a sleep; the fifth task sleeps far longer and is aborted.
    let io_start = Instant::now();
    let mut io = Vec::new();
    for i in 0..5 {
        let sleep = if i == 4 {
            Duration::from_secs(60)
        } else {
            IO_SLEEP
        };
        io.push(create_tracked(
            async move {
                let buffer = vec![0u8; 64 * KIB];
                tokio::time::sleep(sleep).await;
                std::hint::black_box(buffer).len()
            },
            TaskType::IoIntensive,
        ));
    }
    let stuck = io.pop().expect("five I/O tasks");
    for task in io {
        task.await?;
    }
    stuck.abort();
    if stuck.await.is_ok() {
        fail("the aborted I/O task returned an output");
    }
    let io_wall = io_start.elapsed();

    // Network: one after another, 16 KiB held across a 2 ms sleep.
    let network_start = Instant::now();
    for _ in 0..10 {
        create_tracked(
            async {
                let response = vec![b'A'; 16 * KIB];
                tokio::time::sleep(NET_SLEEP).await;
                std::hint::black_box(response).len()
            },
            TaskType::NetworkIntensive,
        )
        .await?;
    }
    let network_wall = network_start.elapsed();

    analyze_task_performance().await?;

    check_figures(Walls {
        io: io_wall,
        network: network_wall,
    });
    Ok(())
}

/// Checks one type's memory figures. Each task's peak is its known bytes plus its own task
/// cell (at least its future, at most the future + `CELL_SLACK`); `avg_memory_mb` and
/// `peak_memory_mb` are exactly the mean and the max of those peaks, in MB.
/// `profiles` and `known` are in creation order.
fn check_memory(m: &TaskPerformanceMetrics, profiles: &[&TaskMemoryProfile], known: &[usize]) {
    let name = m.task_type;
    check(
        profiles.len() == known.len(),
        format_args!(
            "{name}: {} task profiles == {}",
            profiles.len(),
            known.len()
        ),
    );
    for (p, &k) in profiles.iter().zip(known) {
        let floor = k as u64 + p.future_size_bytes;
        check(
            (floor..=floor + CELL_SLACK as u64).contains(&p.peak_bytes),
            format_args!(
                "{name} {}: peak {} within [{k} + future {} = {floor}, + cell slack]",
                p.id, p.peak_bytes, p.future_size_bytes
            ),
        );
    }
    let peaks: Vec<u64> = profiles.iter().map(|p| p.peak_bytes).collect();
    let mean = peaks.iter().sum::<u64>() as f64 / peaks.len() as f64 / MB;
    let max = *peaks.iter().max().unwrap_or(&0) as f64 / MB;
    check(
        m.avg_memory_mb == mean && m.peak_memory_mb == max,
        format_args!(
            "{name} avg {:.6} / peak {:.6} MB == mean {mean:.6} / max {max:.6} of those peaks",
            m.avg_memory_mb, m.peak_memory_mb
        ),
    );
}

fn check_figures(walls: Walls) {
    println!("检查 (checks):");
    let snapshot = get_memory_snapshot();
    // Profiles come sorted by id: creation order, as every task here is made on one thread.
    let of_type = |t: TaskType| -> Vec<&TaskMemoryProfile> {
        snapshot
            .task_profiles()
            .iter()
            .filter(|p| p.task_type == t)
            .collect()
    };

    let cpu = snapshot.get_task_metrics(TaskType::CpuIntensive);
    check(
        (cpu.task_count, cpu.completed_count) == (4, 4) && cpu.completion_rate_percent == 100.0,
        format_args!(
            "cpu: {} started, {} completed, {:.1}% == 4, 4, 100%",
            cpu.task_count, cpu.completed_count, cpu.completion_rate_percent
        ),
    );
    check_memory(
        &cpu,
        &of_type(TaskType::CpuIntensive),
        &[256 * KIB, 512 * KIB, 768 * KIB, 1024 * KIB],
    );
    within(
        "cpu avg_memory_mb",
        cpu.avg_memory_mb,
        0.625,
        0.625 + CELL_SLACK / MB,
        "(256 + 512 + 768 + 1024) KiB ÷ 4 = 0.625 MB, + cell",
    );
    within(
        "cpu peak_memory_mb",
        cpu.peak_memory_mb,
        1.0,
        1.0 + CELL_SLACK / MB,
        "1 MiB, + cell",
    );

    let io = snapshot.get_task_metrics(TaskType::IoIntensive);
    check(
        (
            io.task_count,
            io.completed_count,
            io.cancelled_count,
            io.panicked_count,
        ) == (5, 4, 1, 0),
        format_args!(
            "io: {} started, {} completed, {} cancelled, {} panicked == 5, 4, 1, 0",
            io.task_count, io.completed_count, io.cancelled_count, io.panicked_count
        ),
    );
    check(
        io.completion_rate_percent == 80.0,
        format_args!(
            "io completion {:.1}% == 4 ÷ 5 = 80%",
            io.completion_rate_percent
        ),
    );
    check_memory(&io, &of_type(TaskType::IoIntensive), &[64 * KIB; 5]);
    // Every I/O task spent its 5 ms sleep outside poll (the aborted one slept at least as
    // long, until the others had finished); none lived longer than the whole I/O phase.
    within(
        "io avg_wait_time_ms",
        io.avg_wait_time_ms,
        IO_SLEEP.as_secs_f64() * 1000.0,
        walls.io.as_secs_f64() * 1000.0,
        "the 5 ms sleep ≤ wait ≤ the I/O phase's wall time",
    );

    let net = snapshot.get_task_metrics(TaskType::NetworkIntensive);
    check(
        (net.task_count, net.completed_count) == (10, 10) && net.completion_rate_percent == 100.0,
        format_args!(
            "network: {} started, {} completed, {:.1}% == 10, 10, 100%",
            net.task_count, net.completed_count, net.completion_rate_percent
        ),
    );
    check_memory(&net, &of_type(TaskType::NetworkIntensive), &[16 * KIB; 10]);
    // 10 completions over the span from the first start to the last completion: the span
    // is at least the ten sequential 2 ms sleeps and at most the phase's wall time.
    within(
        "network throughput_per_sec",
        net.throughput_per_sec,
        10.0 / walls.network.as_secs_f64(),
        10.0 / (10.0 * NET_SLEEP.as_secs_f64()),
        "10 ÷ wall time ≤ throughput ≤ 10 ÷ (10 × 2 ms)",
    );
}
