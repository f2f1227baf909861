//! A service stopped by SIGTERM (what service managers send; SIGINT takes the same path,
//! but a shell starts background jobs with SIGINT ignored, and memscope leaves an ignored
//! signal alone): the figures at the signal are what it held while it ran,
//! exact and the same run after run, and the program reacts to the signal as it would
//! without memscope — it dies of it when it does not handle it (after the summary and the
//! report are written), or shuts down gracefully when it does (and the end prints both
//! the figures at the signal and at exit).
//!
//! The service runs in a child process (this binary, `child` below), stopped with `kill`.
#![cfg(target_os = "linux")]

use memscope::{Session, SessionOptions, TaskType, Tracked};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

const CONNECTIONS: u32 = 20;
const VALUES: u32 = 10;
const VALUE_BYTES: usize = 1000;

type Map = Arc<Mutex<HashMap<(u32, u32), Vec<u8>>>>;

/// One connection: stores its values in the shared map and ends; they stay there. (No
/// `yield_now`: tokio grows its list of deferred wakers inside whichever task yields
/// when it is full — correct by the definitions, but not what this test is about.)
async fn connection(id: u32, map: Map) {
    for v in 0..VALUES {
        let value = vec![id as u8; VALUE_BYTES];
        map.lock().unwrap().insert((id, v), value);
    }
}

/// Runs in the child process only.
#[test]
fn child() {
    let Ok(mode) = std::env::var("MEMSCOPE_SIGNAL_CHILD") else {
        return;
    };
    let report = std::env::var("MEMSCOPE_SIGNAL_REPORT").unwrap();
    let session = Session::start(
        SessionOptions::new()
            .report(report)
            .summary(mode == "graceful")
            .sampler(false),
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Sized up front, outside any task: no connection pays for the table's growth.
        let map: Map = Arc::new(Mutex::new(HashMap::with_capacity(
            (CONNECTIONS * VALUES) as usize,
        )));
        // tokio grows some state of its own (its workers' queues) the first time a load
        // like this one runs: the same load untracked first, so that is not the service's.
        let warm_up: Vec<_> = (0..CONNECTIONS)
            .map(|_| {
                tokio::spawn(async {
                    for _ in 0..VALUES {
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for w in warm_up {
            w.await.unwrap();
        }
        let mut handles = Vec::new();
        for id in 0..CONNECTIONS {
            let task = Tracked::new(
                connection(id, Arc::clone(&map)),
                "connection",
                TaskType::NetworkIntensive,
            );
            // `tokio::spawn`: what tokio allocates for its own queues while spawning stays
            // the spawner's (`memscope::spawn` would charge it to the new task).
            handles.push(tokio::spawn(task));
        }
        for h in handles {
            h.await.unwrap();
        }
        let mut interrupt = (mode == "graceful").then(|| {
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap()
        });
        println!("ready");
        match &mut interrupt {
            Some(signal) => {
                // No draining first: the map goes the instant tokio says the signal came;
                // memscope's handler holds that back until its snapshot is taken.
                signal.recv().await;
            }
            None => std::future::pending::<()>().await,
        }
        drop(map); // a graceful shutdown frees what the service held
    });
    drop(rt);
    session.end().print();
}

/// Runs the service, stops it with SIGTERM once it is ready; its exit status and stderr.
fn run_and_terminate(mode: &str, report: &std::path::Path) -> (std::process::ExitStatus, String) {
    let _ = std::fs::remove_file(report);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child", "--nocapture", "--test-threads=1"])
        .env("MEMSCOPE_SIGNAL_CHILD", mode)
        .env("MEMSCOPE_SIGNAL_REPORT", report)
        .env_remove("MEMSCOPE_REPORT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap()).lines();
    // libtest prints "test child ... " before the child's own "ready" on the same line.
    let ready = stdout
        .by_ref()
        .any(|l| l.is_ok_and(|l| l.ends_with("ready")));
    assert!(ready, "the service never got ready");
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    // Read stdout to its end on a thread (a closed pipe would fail the child's last
    // writes), and bound the wait: a child that outlives its signal fails the test, it
    // does not hang it.
    std::thread::spawn(move || stdout.for_each(drop));
    let mut stderr = child.stderr.take().unwrap();
    let said = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the service did not end within 60 s of SIGTERM");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    (status, said.join().unwrap())
}

/// The connections' retained bytes in a JSON report.
fn retained_by_connections(report: &std::path::Path) -> u64 {
    let json =
        std::fs::read_to_string(report).unwrap_or_else(|e| panic!("{}: {e}", report.display()));
    let snap = memscope::MemorySnapshot::from_json(&json).unwrap();
    snap.groups
        .iter()
        .filter(|g| g.name == "connection")
        .map(|g| g.retained_bytes)
        .sum()
}

#[test]
fn a_service_that_does_not_handle_sigterm_dies_of_it_after_an_exact_report() {
    let report = std::env::temp_dir().join(format!("memscope-signal-{}.json", std::process::id()));
    let expected = u64::from(CONNECTIONS * VALUES) * VALUE_BYTES as u64;
    for run in 0..10 {
        let (status, stderr) = run_and_terminate("dies", &report);
        assert_eq!(
            status.signal(),
            Some(SIGTERM),
            "run {run}: {status:?}\n{stderr}"
        );
        assert_eq!(retained_by_connections(&report), expected, "run {run}");
    }
}

#[test]
fn a_service_that_handles_sigterm_shuts_down_and_reports_at_the_signal_and_at_exit() {
    let report = std::env::temp_dir().join(format!(
        "memscope-signal-graceful-{}.json",
        std::process::id()
    ));
    let at_signal = report.with_file_name(format!(
        "memscope-signal-graceful-{}.at-signal.json",
        std::process::id()
    ));
    let expected = u64::from(CONNECTIONS * VALUES) * VALUE_BYTES as u64;
    for run in 0..10 {
        let _ = std::fs::remove_file(&at_signal);
        let (status, stderr) = run_and_terminate("graceful", &report);
        assert!(status.success(), "run {run}: {status:?}\n{stderr}");
        assert!(stderr.contains("memscope: at SIGTERM"), "{stderr}");
        assert!(stderr.contains("memscope: at exit"), "{stderr}");
        assert_eq!(
            retained_by_connections(&at_signal),
            expected,
            "run {run}: what it held at the signal"
        );
        assert_eq!(
            retained_by_connections(&report),
            0,
            "run {run}: freed by the graceful shutdown"
        );
    }
}

/// SIGTERM's number on Linux.
const SIGTERM: i32 = 15;
