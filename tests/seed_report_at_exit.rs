//! A program written against the design document's API (`async_memory::initialize` under
//! a plain `#[tokio::main]`) gets its report when `MEMSCOPE_REPORT` is set: written when
//! the process exits, exact, and announced on stderr. The program runs in a child process
//! (this binary, `child` below).
#![cfg(unix)]

use memscope::async_memory::{create_tracked, initialize};
use memscope::MemorySnapshot;
use std::process::Command;

const KEPT: usize = 4096;

/// Runs in the child process only: a seed program that keeps one block of a task.
#[test]
fn child() {
    if std::env::var_os("MEMSCOPE_SEED_CHILD").is_none() {
        return;
    }
    // As `#[memscope::main]` does: a session of its own, which writes the report.
    let session = std::env::var_os("MEMSCOPE_SEED_SESSION")
        .map(|_| memscope::Session::start(memscope::SessionOptions::new().summary(false)));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let kept = rt.block_on(async {
        initialize().await.expect("the hook is installed");
        create_tracked(async { vec![7u8; KEPT] }, memscope::TaskType::IoIntensive)
            .await
            .unwrap()
    });
    drop(rt);
    // Still held when the process exits: the report must show it retained.
    std::mem::forget(kept);
    if let Some(session) = session {
        session.end().print();
    }
}

/// Runs the child with `MEMSCOPE_REPORT` at `report` (and a session of its own with
/// `session`); returns its stderr, after checking the report was announced once.
fn run_child(report: &std::path::Path, session: bool) -> String {
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("MEMSCOPE_SEED_CHILD", "1")
        .env("MEMSCOPE_REPORT", report);
    if session {
        child.env("MEMSCOPE_SEED_SESSION", "1");
    }
    let out = child.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let line = format!("memscope: report written to {}", report.display());
    assert_eq!(stderr.matches(&line).count(), 1, "{stderr}");
    stderr
}

#[test]
fn under_a_session_the_report_is_written_once() {
    let dir = std::env::temp_dir().join(format!("memscope-seed-session-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    run_child(&dir.join("seed.json"), true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_seed_api_writes_memscope_report_at_exit() {
    let dir = std::env::temp_dir().join(format!("memscope-seed-exit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let report = dir.join("seed.json");
    run_child(&report, false);
    let snap = MemorySnapshot::from_json(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let io = snap.by_type(memscope::TaskType::IoIntensive);
    assert_eq!((io.task_count, io.completed_count), (1, 1));
    // The task's block, kept past its end; tokio's task cell is charged to the spawner.
    assert_eq!(io.retained_bytes, KEPT as u64);
    std::fs::remove_dir_all(&dir).unwrap();
}
