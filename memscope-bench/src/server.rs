//! The key-value server workload: the server of `memscope-test-support`
//! ([`kv_server!`](memscope_test_support::kv_server)) and its bounded client, in one
//! process, over loopback TCP.
//!
//! The server runs on a tokio runtime of 2 workers (one task per connection, three inner
//! tasks per command in the tracked expansion), the client on a current-thread runtime
//! of its own (on the main thread). By default 32 connections × 2000 commands: 1200 `SET`s
//! of 64 B–4 KiB values (uniform), then 400 `DEL`s of another connection's keys and 400
//! `GET`s interleaved, every reply checked; the store keeps ~53 MB at the end (25,600
//! values), allocated by the tracked `read_frame` tasks that parsed them. The map is not
//! pre-sized: its table grows in the tracked `execute` tasks, as in a real server.
//!
//! The same code runs in `server_system` (plain `System`, untracked server) and
//! `server_tracking` (`TrackingAllocator<System>`); the client's own work is part of the
//! figures in both (in the tracking binary its allocations go through the tracking
//! allocator, outside any task). Arguments (all optional): `--mode
//! tracked|untracked|inproc` (default `tracked` in `server_tracking`, `untracked` in
//! `server_system`), `--iters N` (default 1; with more, one more runs first, untimed),
//! `--connections N` (default 32), `--commands N` per connection (default 2000).
//!
//! `inproc` (tracking binary only) alternates tracked and untracked iterations in the
//! same process, ABBA, `--iters` rounds after a warm-up round, and reports the medians of
//! the per-round ratios.

use crate::{emit, median, median_ratio, status_kib, Rng};
use memscope_test_support::server::client::{self, Plan};
use memscope_test_support::server::proto::{self, Db};
use std::time::Instant;
use tokio::runtime::Runtime;

memscope_test_support::kv_server!(
    /// The server with tracked tasks (built as `#[memscope::track]` builds them).
    pub mod tracked = runtime
);

memscope_test_support::kv_server!(
    /// The same server, untracked.
    pub mod untracked = untracked
);

/// Value lengths: 64 B–4 KiB, uniform, the same in every process.
fn value_len(c: usize, i: usize) -> usize {
    let seed = ((c as u64) << 32 | i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    64 + (Rng::new(seed).next_u64() % (4096 - 64 + 1)) as usize
}

/// The plan for `connections` × `commands`: 60 % `SET`s, 20 % `DEL`s, 20 % `GET`s.
pub fn plan(connections: usize, commands: usize) -> Plan {
    let gets = commands / 5;
    Plan {
        connections,
        sets: commands - 2 * gets,
        gets,
        dels: gets,
        value_len,
    }
}

/// This process's CPU time so far, user + system, in nanoseconds (`getrusage`).
pub fn process_cpu_ns() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes one `rusage` through the pointer, which points to one.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(rc, 0, "getrusage");
    // SAFETY: zeroed (all of `rusage` is integers) and then filled in by the call.
    let usage = unsafe { usage.assume_init() };
    let ns = |t: libc::timeval| t.tv_sec as u64 * 1_000_000_000 + t.tv_usec as u64 * 1_000;
    ns(usage.ru_utime) + ns(usage.ru_stime)
}

/// What one iteration measured.
#[derive(Clone, Copy, Debug)]
pub struct Measured {
    /// Requests answered per second of wall time.
    pub requests_per_s: f64,
    /// Process CPU time (all threads, client included) per request, in nanoseconds.
    pub cpu_ns_per_request: f64,
}

/// The server's and the client's runtimes, kept over the iterations.
pub struct Bench {
    server: Runtime,
    client: Runtime,
    plan: Plan,
}

impl Bench {
    /// Runtimes for `plan`: the server's with 2 workers, the client's current-thread.
    pub fn new(plan: Plan) -> Self {
        let server = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_io()
            .build()
            .expect("server runtime");
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()
            .expect("client runtime");
        Bench {
            server,
            client,
            plan,
        }
    }

    /// One run of the plan against a fresh server and store; gives the store back.
    pub fn once(&self, tracked: bool) -> (Db, Measured) {
        let n = self.plan.connections;
        let db = proto::new_db(0);
        let listener = self
            .server
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("listener");
        let addr = listener.local_addr().expect("listener address");
        let (cpu, start) = (process_cpu_ns(), Instant::now());
        let server = if tracked {
            self.server
                .spawn(tracked::serve(listener, n, Db::clone(&db)))
        } else {
            self.server
                .spawn(untracked::serve(listener, n, Db::clone(&db)))
        };
        let clients = self.client.block_on(client::run(addr, self.plan));
        let served = self.server.block_on(server).expect("accept loop");
        let wall_ns = start.elapsed().as_nanos() as f64;
        let cpu_ns = (process_cpu_ns() - cpu) as f64;
        let (clients, served) = (clients.expect("replies"), served.expect("server"));
        assert_eq!((clients.len(), served.len()), (n, n));
        assert_eq!(proto::stored_bytes(&db), self.plan.retained());
        let requests = self.plan.commands() as f64;
        let measured = Measured {
            requests_per_s: requests * 1e9 / wall_ns,
            cpu_ns_per_request: cpu_ns / requests,
        };
        (db, measured)
    }
}

struct Args {
    mode: String,
    iters: usize,
    connections: usize,
    commands: usize,
}

fn args(tracking: bool) -> Args {
    let mut a = Args {
        mode: if tracking { "tracked" } else { "untracked" }.into(),
        iters: 1,
        connections: 32,
        commands: 2000,
    };
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let value = pair.get(1).cloned().unwrap_or_default();
        let count = |what: &str| value.parse().unwrap_or_else(|_| panic!("{what} N"));
        match pair[0].as_str() {
            "--mode" => a.mode = value.clone(),
            "--iters" => a.iters = count("--iters"),
            "--connections" => a.connections = count("--connections"),
            "--commands" => a.commands = count("--commands"),
            other => panic!("unknown argument {other}"),
        }
    }
    a
}

/// Entry point of the `server_*` binaries. `tracking` says whether the binary's global
/// allocator is memscope's (only then are `tracked` and `inproc` meaningful).
pub fn main(tracking: bool) {
    let a = args(tracking);
    assert!(
        tracking || a.mode == "untracked",
        "--mode {} needs the tracking allocator",
        a.mode
    );
    let plan = plan(a.connections, a.commands);
    let bench = Bench::new(plan);
    emit("requests", plan.commands());
    emit("map_bytes", plan.retained());
    if a.mode == "inproc" {
        let (mut t, mut u) = (Vec::new(), Vec::new());
        for round in 0..=a.iters {
            let runs = [false, true, true, false].map(|tracked| bench.once(tracked).1);
            if round > 0 {
                let mean = |x: Measured, y: Measured| Measured {
                    requests_per_s: (x.requests_per_s + y.requests_per_s) / 2.0,
                    cpu_ns_per_request: (x.cpu_ns_per_request + y.cpu_ns_per_request) / 2.0,
                };
                u.push(mean(runs[0], runs[3]));
                t.push(mean(runs[1], runs[2]));
            }
        }
        let cpu = |m: &[Measured]| m.iter().map(|m| m.cpu_ns_per_request).collect::<Vec<_>>();
        let rps = |m: &[Measured]| m.iter().map(|m| m.requests_per_s).collect::<Vec<_>>();
        emit("inproc.tracked_cpu_ns_per_request", median(&cpu(&t)));
        emit("inproc.untracked_cpu_ns_per_request", median(&cpu(&u)));
        emit("inproc.cpu_ratio", median_ratio(&cpu(&t), &cpu(&u)));
        emit(
            "inproc.requests_per_s_ratio",
            median_ratio(&rps(&t), &rps(&u)),
        );
        return;
    }
    let tracked = a.mode == "tracked";
    let warm_up = usize::from(a.iters > 1);
    let mut runs = Vec::with_capacity(a.iters + warm_up);
    let mut db = None;
    for _ in 0..a.iters + warm_up {
        // The previous store is freed before the next run starts.
        drop(db.take());
        let (kept, measured) = bench.once(tracked);
        db = Some(kept);
        runs.push(measured);
    }
    runs.drain(..warm_up);
    let rps: Vec<f64> = runs.iter().map(|m| m.requests_per_s).collect();
    let cpu: Vec<f64> = runs.iter().map(|m| m.cpu_ns_per_request).collect();
    emit("requests_per_s", median(&rps));
    emit("cpu_ns_per_request", median(&cpu));
    emit("hwm_kib", status_kib("VmHWM"));
    emit("rss_kib", status_kib("VmRSS"));
    if tracking {
        // With the last run's store still held: what the books cost next to the heap
        // they describe.
        let s = memscope_runtime::snapshot();
        let (books, heap) = (s.tracker.live_bytes(), s.tracked().live_bytes());
        emit("tracker_live_bytes", books);
        emit("tracked_live_bytes", heap);
        emit("books_per_heap", books as f64 / heap.max(1) as f64);
        emit("tasks_started", s.tasks_started);
        emit("tasks_held", s.tasks.len());
        emit("folded_tasks", s.folded_tasks);
    }
    drop(db);
}
