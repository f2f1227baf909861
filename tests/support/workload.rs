//! A small tokio workload shared by the `report_*` tests, whose snapshot they render.

use memscope::{sampler, spawn, MemorySnapshot, ReportFormat, TaskId, TaskType, Tracked};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A task name that would break out of HTML, a script block, or a JSON string if it were
/// not escaped.
pub const HOSTILE: &str = "</script><script>document.body.dataset.pwned='1'</script>\
                           <img src=x onerror=\"document.body.dataset.pwned='2'\">&amp;\"'\n";

/// `snapshot` rendered in `format`, through the public door (`write_to`).
pub fn render(snapshot: &MemorySnapshot, format: ReportFormat) -> String {
    let mut out = Vec::new();
    snapshot
        .write_to(&mut out, format)
        .expect("a Vec takes any write");
    String::from_utf8(out).expect("reports are UTF-8")
}

/// `bytes` as the text summary shows them (binary units, one decimal).
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// What the workload did, for the tests to compare against.
pub struct Workload {
    /// Taken after the runtime shut down, with a final timeline sample.
    pub snapshot: MemorySnapshot,
    /// Task that handed 32 KiB to `keep` and finished.
    pub handoff: TaskId,
    /// Task holding 2 MiB for 60 ms.
    pub big: TaskId,
    /// Parent of three spawned children.
    pub parent: TaskId,
    /// Task named [`HOSTILE`].
    pub hostile: TaskId,
    /// Parent of [`REQUESTS`] `handle_request` children that each retain [`REQUEST`] bytes.
    pub conn: TaskId,
    /// Where the hand-off task's 32 KiB and the requests' bytes went (kept alive, so they
    /// stay retained).
    pub keep: Arc<Mutex<Vec<Vec<u8>>>>,
}

/// Bytes `big_buffer` holds.
pub const BIG: usize = 2 << 20;
/// Bytes `hand_off` hands to `keep`.
pub const HANDOFF: usize = 32 << 10;
/// `handle_request` tasks `conn` spawns.
pub const REQUESTS: usize = 5;
/// Bytes each `handle_request` hands to `keep`.
pub const REQUEST: usize = 1000;

/// The `conn` task: spawns [`REQUESTS`] `handle_request` children that each hand [`REQUEST`]
/// bytes to `keep`, and waits for them.
fn conn_task(keep: &Arc<Mutex<Vec<Vec<u8>>>>) -> Tracked<impl std::future::Future<Output = ()>> {
    let keep = Arc::clone(keep);
    Tracked::new(
        async move {
            let kids: Vec<_> = (0..REQUESTS)
                .map(|i| {
                    let k = Arc::clone(&keep);
                    spawn(Tracked::new(
                        async move {
                            let v = vec![i as u8; REQUEST];
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            k.lock().unwrap().push(v);
                        },
                        "handle_request",
                        TaskType::NetworkIntensive,
                    ))
                })
                .collect();
            for k in kids {
                k.await.unwrap();
            }
        },
        "conn",
        TaskType::IoIntensive,
    )
}

/// The `parent` task: spawns three `child` tasks holding 100,000 bytes for 10 ms each,
/// and returns the bytes they held.
fn parent_task() -> Tracked<impl std::future::Future<Output = usize>> {
    Tracked::new(
        async {
            let kids: Vec<_> = (0..3)
                .map(|i| {
                    spawn(Tracked::new(
                        async move {
                            let v = vec![i as u8; 100_000];
                            tokio::time::sleep(Duration::from_millis(10)).await;
                            v.len()
                        },
                        "child",
                        TaskType::CpuIntensive,
                    ))
                })
                .collect();
            let mut n = 0;
            for k in kids {
                n += k.await.unwrap();
            }
            n
        },
        "parent",
        TaskType::IoIntensive,
    )
}

/// Runs the workload with the sampler on (every 2 ms) and takes a snapshot.
pub fn run() -> Workload {
    // Its tasks' figures are compared exactly: parking_lot's table must not grow in one.
    memscope_test_support::warm_up_parking_lot();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // Room for every buffer kept: a push never reallocates inside a task.
    let keep = Arc::new(Mutex::new(Vec::with_capacity(4 + REQUESTS)));
    let handle = sampler::start(Duration::from_millis(2));
    let (handoff, big, parent, hostile, conn) = rt.block_on(async {
        let k = Arc::clone(&keep);
        let handoff = spawn(Tracked::new(
            async move {
                let v = vec![7u8; HANDOFF];
                tokio::time::sleep(Duration::from_millis(5)).await;
                k.lock().unwrap().push(v);
            },
            "hand_off",
            TaskType::NetworkIntensive,
        ));
        let big = spawn(Tracked::new(
            async {
                let v = vec![1u8; BIG];
                tokio::time::sleep(Duration::from_millis(60)).await;
                v.len()
            },
            "big_buffer",
            TaskType::MemoryIntensive,
        ));
        let parent = spawn(parent_task());
        let hostile = spawn(Tracked::new(
            async {
                let s = "x".repeat(3000);
                tokio::time::sleep(Duration::from_millis(3)).await;
                s.len()
            },
            HOSTILE,
            TaskType::Unspecified,
        ));
        let conn = spawn(conn_task(&keep));
        let ids = (handoff.id(), big.id(), parent.id(), hostile.id(), conn.id());
        conn.await.unwrap();
        handoff.await.unwrap();
        assert_eq!(big.await.unwrap(), BIG);
        assert_eq!(parent.await.unwrap(), 300_000);
        hostile.await.unwrap();
        ids
    });
    drop(rt);
    handle.stop();
    sampler::sample_now();
    Workload {
        snapshot: memscope::snapshot(),
        handoff,
        big,
        parent,
        hostile,
        conn,
        keep,
    }
}
