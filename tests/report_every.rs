//! `MEMSCOPE_REPORT_EVERY`: the session's report is rewritten at the interval while the
//! program runs, each time whole (a temporary file renamed over it), and at the end.

use memscope::{MemorySnapshot, Session, SessionOptions, TaskType, Tracked};
use std::time::{Duration, Instant};

/// The holder group's retained bytes in the report at `path`, once it shows `want`.
fn wait_for(path: &std::path::Path, want: u64) -> MemorySnapshot {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Never half a file: whenever it exists, it parses.
        if let Ok(json) = std::fs::read_to_string(path) {
            let snap = MemorySnapshot::from_json(&json).expect("a whole report");
            let held = snap
                .groups
                .iter()
                .find(|g| g.name == "every-holder")
                .map_or(0, |g| g.retained_bytes);
            if held == want {
                return snap;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the report never showed {want} B"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_report_is_rewritten_whole_at_the_interval() {
    let dir = std::env::temp_dir().join(format!("memscope-every-{}", std::process::id()));
    let path = dir.join("report.json");
    let _ = std::fs::remove_dir_all(&dir);
    // This binary's only test: setting the variable races with no other thread.
    std::env::set_var("MEMSCOPE_REPORT_EVERY", "100ms");
    std::env::remove_var("MEMSCOPE_REPORT");
    let session = Session::start(SessionOptions::new().report(&path).summary(false));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let mut kept = Vec::new();
    for round in 1..=3u64 {
        rt.block_on(async {
            let task = Tracked::new(
                async { vec![7u8; 1000] },
                "every-holder",
                TaskType::IoIntensive,
            );
            kept.push(task.await);
        });
        let snap = wait_for(&path, round * 1000);
        assert!(snap.id > 0);
    }
    drop(kept);
    let end = session.end(); // stops the rewriter, then writes the last report
    assert!(end.report.unwrap().is_ok());
    wait_for(&path, 0);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
