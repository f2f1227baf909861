//! The seed document's advanced task tracking (`高级任务跟踪`), unchanged but for the crate
//! path and shorter simulated delays, followed by a check of every figure it printed.
//!
//! What the output shows: an `AsyncResourceMonitor` window around three tasks of three
//! types, run together with `tokio::try_join!`. The analysis counts one task of each type,
//! and its per-task peak is the CPU task's: a vector of 1,000,000 `u64` (8,000,000 bytes,
//! 7.63 MB of 1024 × 1024 bytes) plus tokio's task cell. The checks then read each task's
//! own profile and compare it with the bytes its code must have allocated.
//!
//! Run: `cargo run --release --example advanced_tracking` (exits 1 if a figure is wrong).

mod support;
use memscope::async_memory::{
    create_tracked, initialize, AsyncResourceMonitor, TaskMemoryProfile, TaskType,
};
use support::{check, digits, STRING};
// Used only by the checks below the seed's program.
use memscope::async_memory::MB;
use memscope::async_memory::{get_memory_snapshot, ResourceAnalysis};
use memscope::Outcome;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    initialize().await?;

    // 为详细分析创建资源监控器
    let mut monitor = AsyncResourceMonitor::new();
    monitor.start_monitoring().await?;

    // CPU 密集任务
    let cpu_task = create_tracked(
        async {
            let mut data = vec![0u64; 1_000_000];
            #[allow(clippy::needless_range_loop)] // the seed's loop, kept as written
            for i in 0..data.len() {
                data[i] = (i as u64).pow(2) % 1000;
            }
            data.iter().sum::<u64>()
        },
        TaskType::CpuIntensive,
    );

    // I/O 密集任务
    let io_task = create_tracked(
        async {
            let mut results = Vec::new();
            for i in 0..100 {
                // 模拟文件 I/O (the seed sleeps 10 ms)
                tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
                results.push(format!("Result-{}", i));
            }
            results.len()
        },
        TaskType::IoIntensive,
    );

    // 网络密集任务
    let network_task = create_tracked(
        async {
            let mut responses = Vec::new();
            for i in 0..50 {
                // 模拟网络请求 (the seed sleeps 20 ms)
                tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
                let response = format!("Response-{}: {}", i, "A".repeat(1024));
                responses.push(response);
            }
            responses.len()
        },
        TaskType::NetworkIntensive,
    );

    // 等待所有任务
    let (cpu_result, io_result, network_result) =
        tokio::try_join!(cpu_task, io_task, network_task)?;

    println!("CPU 任务结果: {}", cpu_result);
    println!("I/O 任务结果: {}", io_result);
    println!("网络任务结果: {}", network_result);

    // 停止监控并获取详细分析
    let analysis = monitor.stop_monitoring().await?;

    println!("📊 任务分析：");
    println!("   - CPU 密集任务: {}", analysis.cpu_task_count);
    println!("   - I/O 密集任务: {}", analysis.io_task_count);
    println!("   - 网络密集任务: {}", analysis.network_task_count);
    println!(
        "   - 每任务峰值内存: {:.2} MB",
        analysis.peak_memory_per_task_mb
    );

    check_figures(&analysis, (cpu_result, io_result, network_result));
    Ok(())
}

/// The CPU task's vector: 1,000,000 `u64`.
const CPU_VEC: u64 = 1_000_000 * 8;

/// Checks the figures against what the three tasks did.
fn check_figures(analysis: &ResourceAnalysis, (cpu, io, network): (u64, usize, usize)) {
    println!("检查 (checks):");
    let expected_sum: u64 = (0..1_000_000u64).map(|i| i.pow(2) % 1000).sum();
    check(
        cpu == expected_sum,
        format_args!("CPU result {cpu} == Σ i² mod 1000 = {expected_sum}"),
    );
    check(io == 100, format_args!("I/O result {io} == 100"));
    check(
        network == 50,
        format_args!("network result {network} == 50"),
    );

    // Exactly the three tasks ran inside the window; the program tracks nothing else.
    check(
        analysis.cpu_task_count == 1,
        format_args!("cpu_task_count {} == 1", analysis.cpu_task_count),
    );
    check(
        analysis.io_task_count == 1,
        format_args!("io_task_count {} == 1", analysis.io_task_count),
    );
    check(
        analysis.network_task_count == 1,
        format_args!("network_task_count {} == 1", analysis.network_task_count),
    );
    check(
        analysis.total_task_count == 3 && analysis.other_task_count == 0,
        format_args!(
            "total {} == 3, other {} == 0",
            analysis.total_task_count, analysis.other_task_count
        ),
    );

    let snapshot = get_memory_snapshot();
    let of_type = |t: TaskType| -> &TaskMemoryProfile {
        let mut found = snapshot.task_profiles().iter().filter(|p| p.task_type == t);
        match (found.next(), found.next()) {
            (Some(p), None) => p,
            _ => {
                eprintln!("✗ expected exactly one {t} task in the snapshot");
                std::process::exit(1);
            }
        }
    };
    let (cpu_task, io_task, net_task) = (
        of_type(TaskType::CpuIntensive),
        of_type(TaskType::IoIntensive),
        of_type(TaskType::NetworkIntensive),
    );
    for t in [cpu_task, io_task, net_task] {
        check(
            t.outcome == Outcome::Completed,
            format_args!("{} task completed (got {})", t.task_type, t.outcome),
        );
    }

    // The CPU task held its 8,000,000-byte vector and its own task cell (which holds its
    // future, so at least `future_size_bytes`) at once. Slack above: tokio's task header
    // (a few hundred bytes); a second count of the vector would exceed it.
    let floor = CPU_VEC + cpu_task.future_size_bytes;
    check(
        cpu_task.peak_bytes >= floor && cpu_task.peak_bytes <= floor + 64 * 1024,
        format_args!(
            "CPU task peak {} within [8,000,000 + future {} = {floor}, +64 KiB]",
            cpu_task.peak_bytes, cpu_task.future_size_bytes
        ),
    );
    // The analysis' per-task peak is the largest task's: the CPU task's, exactly.
    let cpu_peak_mb = cpu_task.peak_bytes as f64 / MB;
    check(
        analysis.peak_memory_per_task_mb == cpu_peak_mb,
        format_args!(
            "peak_memory_per_task_mb {:.4} == CPU task peak {} B / 1 MiB = {cpu_peak_mb:.4}",
            analysis.peak_memory_per_task_mb, cpu_task.peak_bytes
        ),
    );
    check(
        analysis.peak_memory_per_task_mb >= CPU_VEC as f64 / MB,
        format_args!(
            "peak_memory_per_task_mb {:.4} >= 8,000,000 B = {:.4} MB",
            analysis.peak_memory_per_task_mb,
            CPU_VEC as f64 / MB
        ),
    );

    // The I/O task's 100 strings "Result-{i}" and a buffer of at least 100 `String`s
    // (more if growth reallocated: each realloc counts its new size).
    let io_strings: u64 = (0..100).map(|i| 7 + digits(i)).sum();
    let io_floor = io_strings + 100 * STRING;
    check(
        io_task.heap.allocated_bytes >= io_floor,
        format_args!(
            "I/O task allocated {} >= strings {io_strings} + buffer {} = {io_floor}",
            io_task.heap.allocated_bytes,
            100 * STRING
        ),
    );
    // The network task: 50 × ("A" × 1024, freed at once) and 50 responses
    // "Response-{i}: AAAA…" all held until the end, in a buffer of at least 50 `String`s.
    let responses: u64 = (0..50).map(|i| 9 + digits(i) + 2 + 1024).sum();
    let net_alloc_floor = 50 * 1024 + responses + 50 * STRING;
    check(
        net_task.heap.allocated_bytes >= net_alloc_floor,
        format_args!(
            "network task allocated {} >= {net_alloc_floor}",
            net_task.heap.allocated_bytes
        ),
    );
    let net_peak_floor = responses + 50 * STRING + net_task.future_size_bytes;
    check(
        net_task.peak_bytes >= net_peak_floor,
        format_args!(
            "network task peak {} >= responses {responses} + buffer + future = {net_peak_floor}",
            net_task.peak_bytes
        ),
    );
    check(
        analysis.total_allocated_bytes
            == cpu_task.heap.allocated_bytes
                + io_task.heap.allocated_bytes
                + net_task.heap.allocated_bytes,
        format_args!(
            "analysis total_allocated_bytes {} == sum over the three tasks",
            analysis.total_allocated_bytes
        ),
    );
}
