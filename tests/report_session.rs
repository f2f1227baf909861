//! What `#[memscope::main]` runs around `main`: the report destination is checked at
//! start-up (an unwritable path is a clear error then, never a panic later), the summary
//! is printed at the end whatever happened, `MEMSCOPE_REPORT` overrides the path.
//!
//! Tests that read stderr or set the environment re-run this binary as a child process
//! (`child` below), so they neither race each other nor capture the harness' output.

use memscope::__private::{Session, SessionOptions};
use memscope::ReportFormat;
use memscope::{Error, TaskType, Tracked};
use memscope_test_support::{runtime_with_time, Flavor};
use std::process::Command;
use std::time::Duration;

const UNWRITABLE: &str = "/proc/memscope-cannot-write-here/report.html";

fn work() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    rt.block_on(Tracked::new(
        async {
            let v = vec![0u8; 300_000];
            tokio::time::sleep(Duration::from_millis(25)).await;
            v.len()
        },
        "session_work",
        TaskType::IoIntensive,
    ));
}

/// Runs in the child process only: a `#[memscope::main]`-like life, as the env asks.
#[test]
fn child() {
    let Ok(mode) = std::env::var("MEMSCOPE_TEST_CHILD") else {
        return;
    };
    let report = std::env::var("MEMSCOPE_TEST_REPORT").unwrap();
    let opts = SessionOptions::new()
        .report(report)
        .sample_interval(Duration::from_millis(2));
    let session = Session::start(opts.summary(mode != "quiet"));
    eprintln!("child: body runs");
    work();
    if mode == "panic" {
        // Unwinding drops the session: the summary must still come out.
        let _s = session;
        panic!("child: body panicked");
    }
    if mode == "main" {
        // How `#[memscope::main]` ends `main`.
        memscope::__private::end_main(session, ());
        return;
    }
    session.end().print();
}

fn run_child(mode: &str, report: &str, env_report: Option<&str>) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("MEMSCOPE_TEST_CHILD", mode)
        .env("MEMSCOPE_TEST_REPORT", report)
        .env_remove("MEMSCOPE_REPORT");
    if let Some(p) = env_report {
        cmd.env("MEMSCOPE_REPORT", p);
    }
    let out = cmd.output().unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn main_exits_with_a_failure_after_the_summary_when_its_report_is_lost() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("MEMSCOPE_TEST_CHILD", "main")
        .env("MEMSCOPE_TEST_REPORT", UNWRITABLE)
        .env_remove("MEMSCOPE_REPORT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("memscope ·"),
        "the summary comes out first: {stderr}"
    );
    assert!(
        stderr.contains("cannot write the memscope report"),
        "{stderr}"
    );
}

#[test]
fn unwritable_path_is_an_error_at_start_and_the_summary_is_still_printed() {
    let session = Session::start(SessionOptions::new().report(UNWRITABLE).summary(false));
    let err = session.start_error().expect("rejected at start-up");
    assert!(matches!(err, Error::ReportUnwritable { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(UNWRITABLE) && msg.contains("choose a writable path"),
        "{msg}"
    );
    assert!(session.report_target().is_none());
    let end = session.end();
    assert!(end.summary.starts_with("memscope"));
    assert!(end.report.is_none());

    // As a user sees it: the error first, then the program, then the summary.
    for mode in ["loud", "quiet"] {
        let err = run_child(mode, UNWRITABLE, None);
        let at = |s: &str| {
            err.find(s)
                .unwrap_or_else(|| panic!("{mode}: no {s:?} in:\n{err}"))
        };
        assert!(at("cannot write the memscope report") < at("child: body runs"));
        assert!(at("child: body runs") < at("memscope · "));
        assert!(err.contains("session_work") || err.contains("io "), "{err}");
        assert!(!err.contains("panicked at"), "{err}");
    }
}

#[test]
fn unknown_format_is_an_error_at_start() {
    let session = Session::start(SessionOptions::new().report("target/x.pdf").sampler(false));
    assert!(matches!(
        session.start_error(),
        Some(Error::UnknownReportFormat(_))
    ));
    let explicit = Session::start(
        SessionOptions::new()
            .report(std::env::temp_dir().join("memscope-session-explicit.out"))
            .format("trace")
            .sampler(false),
    );
    assert_eq!(explicit.report_target().unwrap().1, ReportFormat::Trace);
    let end = explicit.end();
    let written = end.report.unwrap().unwrap();
    assert!(std::fs::read_to_string(written)
        .unwrap()
        .contains("traceEvents"));
}

#[test]
fn env_overrides_the_path_and_the_report_is_written_at_the_end() {
    let dir = std::env::temp_dir().join(format!("memscope-session-{}", std::process::id()));
    let attr = dir.join("from-attribute.json");
    let env = dir.join("from-env.trace.json");
    let err = run_child("loud", attr.to_str().unwrap(), Some(env.to_str().unwrap()));
    assert!(
        err.contains(&format!("report written to {}", env.display())),
        "{err}"
    );
    assert!(!attr.exists());
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&env).unwrap()).unwrap();
    let spans = trace["traceEvents"].as_array().unwrap();
    assert!(spans
        .iter()
        .any(|e| e["ph"] == "X" && e["name"] == "session_work"));
    assert!(
        spans.iter().any(|e| e["ph"] == "C"),
        "the session's sampler drew counters"
    );

    let html = dir.join("panic.html");
    let err = run_child("panic", html.to_str().unwrap(), None);
    assert!(
        err.contains("child: body panicked") && err.contains("memscope · "),
        "{err}"
    );
    assert!(std::fs::read_to_string(&html)
        .unwrap()
        .contains("session_work"));
    let _ = std::fs::remove_dir_all(dir);
}
