//! The seed document's quick start (`快速开始`), unchanged but for the crate path and a
//! shorter simulated delay, followed by a check of every figure it printed.
//!
//! What the output shows: one task spawned with `spawn_tracked` allocated 1 MiB, held it
//! across an `.await`, and freed it; the snapshot taken after it finished shows no task
//! alive and at least that 1 MiB in the cumulative total. The checks then read that task's
//! own profile: its peak is the 1 MiB vector plus tokio's task cell (charged to the task
//! itself), and it holds nothing after the end.
//!
//! Run: `cargo run --release --example quickstart` (exits 1 if a figure is wrong).

mod support;
use memscope::async_memory::{get_memory_snapshot, initialize, spawn_tracked};
use support::check;
// Used only by the checks below the seed's program.
use memscope::async_memory::{MemorySnapshot, TaskMemoryProfile};
use memscope::Outcome;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // 初始化异步内存跟踪
    initialize().await?;

    // 创建被跟踪的异步任务
    let task = spawn_tracked(async {
        let data = vec![0u8; 1024 * 1024]; // 1MB 分配

        // 模拟异步工作 (the seed sleeps 100 ms; 1 ms simulates the same)
        tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;

        // 处理数据
        let processed = data.iter().map(|&x| x as u64).sum::<u64>();
        processed
    });

    // 等待结果
    let result = task.await?;
    println!("处理了 {} 字节，总和: {}", 1024 * 1024, result);

    // 获取内存快照
    let snapshot = get_memory_snapshot();
    println!("活跃任务: {}", snapshot.active_task_count());
    println!("跟踪的总内存: {} 字节", snapshot.total_memory_bytes());

    check_figures(&snapshot, result).await;
    Ok(())
}

const MIB: u64 = 1024 * 1024;

/// Checks the printed figures against what the program did: exactly one tracked task,
/// which allocated one 1 MiB vector of zeros and freed it before it ended.
async fn check_figures(snapshot: &MemorySnapshot, result: u64) {
    println!("检查 (checks):");
    check(
        result == 0,
        format_args!("sum of 1 MiB of zeros is 0 (got {result})"),
    );
    check(
        snapshot.active_task_count() == 0,
        format_args!(
            "no tracked task alive after the only one was awaited (got {})",
            snapshot.active_task_count()
        ),
    );
    check(
        snapshot.total_memory_bytes() >= MIB,
        format_args!(
            "total_memory_bytes {} >= the task's 1 MiB vector ({MIB})",
            snapshot.total_memory_bytes()
        ),
    );
    let tasks: &[TaskMemoryProfile] = snapshot.task_profiles();
    check(
        tasks.len() == 1,
        format_args!(
            "exactly one tracked task in the books (got {})",
            tasks.len()
        ),
    );
    let task = &tasks[0];
    check(
        task.outcome == Outcome::Completed,
        format_args!("the task completed (got {})", task.outcome),
    );
    // The task's own bytes are its 1 MiB vector plus the task cell tokio allocated for it,
    // which `spawn_tracked` charges to the task and which holds its future (so it is at
    // least `future_size_bytes`). Both were live together while the task slept.
    let floor = MIB + task.future_size_bytes;
    check(
        task.peak_bytes >= floor,
        format_args!(
            "task peak {} >= 1 MiB + its future's {} bytes = {floor}",
            task.peak_bytes, task.future_size_bytes
        ),
    );
    // Slack above that floor: tokio's task header and scheduler fields around the future
    // (a few hundred bytes). A second count of the 1 MiB would exceed it.
    let ceiling = floor + 64 * 1024;
    check(
        task.peak_bytes <= ceiling,
        format_args!(
            "task peak {} <= floor + 64 KiB = {ceiling}",
            task.peak_bytes
        ),
    );
    check(
        task.heap.allocated_bytes >= floor,
        format_args!("task allocated {} >= {floor}", task.heap.allocated_bytes),
    );
    // tokio frees the task cell when both the worker and the (consumed) handle have let go
    // of it; the worker may do so a moment after the handle returned the output.
    let mut live = task.live_bytes;
    for _ in 0..100 {
        if live == 0 {
            break;
        }
        tokio::time::sleep(tokio::time::Duration::from_millis(1)).await;
        live = get_memory_snapshot()
            .task(task.id)
            .map_or(0, |t| t.live_bytes);
    }
    check(
        live == 0,
        format_args!("the finished task holds 0 bytes (got {live})"),
    );
}
