//! Runs the whole benchmark suite and prints the results as Markdown tables.
//!
//! ```text
//! cargo run --release -p memscope-bench --bin suite
//! ```
//!
//! Run through cargo, it first builds the other binaries of this crate (a global allocator
//! is per binary, so each set-up is its own binary); run directly, it expects them beside
//! itself. Set `MEMSCOPE_BENCH_QUICK=1` for a short smoke run (numbers then mean little).
//! See `BENCHMARKS.md` for the method.

use memscope_bench::median;
use memscope_bench::processes::{alternate, alternate_all, build_siblings, column, setup};
use memscope_bench::processes::{Results, Suite};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn ratios(a: &[f64], b: &[f64]) -> f64 {
    memscope_bench::median_ratio(a, b)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

fn main() {
    build_siblings();
    let exe = std::env::current_exe().expect("own path");
    let dir = exe.parent().map(Path::to_path_buf).expect("own directory");
    let s = Suite {
        dir,
        quick: std::env::var_os("MEMSCOPE_BENCH_QUICK").is_some(),
    };
    let started = Instant::now();
    let mut r = Results::new();
    let micro_reps = if s.quick { "11" } else { "301" };
    eprintln!("micro-benchmarks (in-process ABBA)…");
    r.extend(s.run("micro_system", &[micro_reps]));
    r.extend(s.run("micro_mimalloc", &[micro_reps]));
    eprintln!("peers…");
    r.extend(s.run(
        "peer_tracking_allocator",
        &[if s.quick { "5" } else { "101" }],
    ));
    r.extend(s.run("peer_dhat", &[if s.quick { "3" } else { "15" }]));

    let tasks = if s.quick { "2000" } else { "20000" };
    eprintln!("tokio workload, wall time (processes alternated)…");
    let mut wall = BTreeMap::new();
    for (label, plain, tracking) in [
        ("glibc", "tokio_system", "tokio_tracking"),
        ("mimalloc", "tokio_mimalloc", "tokio_tracking_mimalloc"),
    ] {
        let setups = [
            setup(plain, "untracked"),
            setup(tracking, "untracked"),
            setup(tracking, "tracked"),
        ];
        let extra = ["--iters", "5", "--tasks", tasks, "--retain", "window"];
        let w = alternate(&s, &setups, &extra, "wall_ns", s.rounds(5));
        let inproc = s.run(
            tracking,
            &[
                "--mode",
                "inproc",
                "--iters",
                if s.quick { "1" } else { "7" },
                "--tasks",
                tasks,
                "--retain",
                "window",
            ],
        );
        wall.insert(label, (w, inproc));
    }
    eprintln!("tokio workload, peak RSS (processes alternated)…");
    let mut rss = BTreeMap::new();
    for (label, plain, tracking) in [
        ("glibc", "tokio_system", "tokio_tracking"),
        ("mimalloc", "tokio_mimalloc", "tokio_tracking_mimalloc"),
    ] {
        for retain in ["all", "window"] {
            let setups = [setup(plain, "untracked"), setup(tracking, "tracked")];
            let extra = ["--tasks", tasks, "--retain", retain];
            let h = alternate(&s, &setups, &extra, "hwm_kib", s.rounds(5));
            rss.insert((label, retain), h);
        }
    }
    let (conns, commands) = if s.quick {
        ("8", "500")
    } else {
        ("32", "2000")
    };
    eprintln!("key-value server (processes alternated)…");
    let server_setups = [
        setup("server_system", "untracked"),
        setup("server_tracking", "tracked"),
    ];
    let server_args = [
        "--iters",
        if s.quick { "1" } else { "3" },
        "--connections",
        conns,
        "--commands",
        commands,
    ];
    let server = alternate_all(&s, &server_setups, &server_args, s.rounds(3));
    let mut inproc_args = vec!["--mode", "inproc"];
    inproc_args.extend_from_slice(&server_args);
    let server_inproc = s.run("server_tracking", &inproc_args);
    eprintln!("books after 1,000,000 tasks…");
    r.extend(s.run("books", &[if s.quick { "50000" } else { "1000000" }]));
    let state_bytes = thread_state_bytes(&s.dir.join("books"));

    // ---- report ----
    let g = |k: &str| r.get(k).copied().unwrap_or(f64::NAN);
    println!("## Per-operation overhead (in-process ABBA, medians of per-round means)\n");
    println!("| benchmark | inner allocator | inner direct | through memscope | overhead | target | verdict |");
    println!("|---|---|---:|---:|---:|---:|---|");
    for (label, name) in [("system", "glibc"), ("mimalloc", "mimalloc")] {
        let d = g(&format!("{label}.pair.tracked_delta_ns"));
        println!(
            "| alloc+free pair 16 B–4 KiB, inside a task | {name} | {:.2} ns | {:.2} ns | +{d:.2} ns | ≤ +2.5 ns | {} |",
            g(&format!("{label}.pair.inner_ns")),
            g(&format!("{label}.pair.tracked_ns")),
            verdict(d <= 2.5)
        );
        let d = g(&format!("{label}.pair.untracked_delta_ns"));
        println!(
            "| alloc+free pair 16 B–4 KiB, outside any task | {name} | {:.2} ns | {:.2} ns | +{d:.2} ns | ≤ +2.5 ns | {} |",
            g(&format!("{label}.pair.inner_ns")),
            g(&format!("{label}.pair.untracked_ns")),
            verdict(d <= 2.5)
        );
        for (k, what) in [
            ("grow1k", "Vec growth by push to 1,000 u64"),
            ("grow64k", "Vec growth by push to 65,536 u64"),
        ] {
            let ratio = g(&format!("{label}.{k}.ratio"));
            println!(
                "| {what} (realloc) | {name} | {:.0} ns | {:.0} ns | ×{ratio:.3} | ≤ ×1.05 | {} |",
                g(&format!("{label}.{k}.inner_ns")),
                g(&format!("{label}.{k}.tracked_ns")),
                verdict(ratio <= 1.05)
            );
        }
        println!(
            "| cross-thread free (alloc in a task, free on another thread), per pair | {name} | {:.2} ns | {:.2} ns | +{:.2} ns | — | — |",
            g(&format!("{label}.xthread.inner_ns")),
            g(&format!("{label}.xthread.tracked_ns")),
            g(&format!("{label}.xthread.delta_ns")),
        );
    }
    for (label, name) in [("system", "glibc"), ("mimalloc", "mimalloc")] {
        let (nt, t) = (
            g(&format!("{label}.poll.no_timing_delta_ns")),
            g(&format!("{label}.poll.timing_delta_ns")),
        );
        println!(
            "| `Tracked` poll, timing off ({name} binary) | — | {:.2} ns (bare poll) | {:.2} ns | +{nt:.2} ns | ≤ 5 ns | {} |",
            g(&format!("{label}.poll.bare_ns")),
            g(&format!("{label}.poll.bare_ns")) + nt,
            verdict(nt <= 5.0)
        );
        println!(
            "| `Tracked` poll, timing on ({name} binary) | — | {:.2} ns (bare poll) | {:.2} ns | +{t:.2} ns | ≤ 15 ns | {} |",
            g(&format!("{label}.poll.bare_ns")),
            g(&format!("{label}.poll.bare_ns")) + t,
            verdict(t <= 15.0)
        );
    }
    println!(
        "\n`Instant::now()` on this machine: {:.1} ns; one read of the time-stamp counter \
         (what memscope's clock reads, twice per timed poll): {:.1} ns.\n",
        g("system.clock.instant_now_ns"),
        g("system.clock.tsc_read_ns")
    );

    println!("## Peers (same pairs and growth, in-process ABBA against glibc called directly)\n");
    println!("| profiler | pair, glibc direct | pair, profiled | overhead per pair | Vec growth to 1,000 u64 |");
    println!("|---|---:|---:|---:|---:|");
    for (label, name) in [
        ("system", "memscope (inside a task)"),
        (
            "tracking_allocator",
            "tracking-allocator 0.4 (inside a group, counting tracker)",
        ),
        ("dhat", "dhat 0.3 (heap profiling)"),
    ] {
        println!(
            "| {name} | {:.2} ns | {:.2} ns | +{:.2} ns | ×{:.3} |",
            g(&format!("{label}.pair.inner_ns")),
            g(&format!("{label}.pair.tracked_ns")),
            g(&format!("{label}.pair.tracked_delta_ns")),
            g(&format!("{label}.grow1k.ratio")),
        );
    }

    println!("\n## Tokio workload: {tasks} spawned tasks, ≤ 1,000 in flight, strings and vectors sent to a collector\n");
    println!("Wall time: median per process of 5 iterations after a warm-up; processes run ABC-CBA for 5 rounds; ratio = median over rounds.\n");
    println!("| allocator | plain (no memscope) | memscope allocator, no `Tracked` | memscope, tracked tasks | tracked / plain | in-process tracked / untracked | target | verdict |");
    println!("|---|---:|---:|---:|---:|---:|---:|---|");
    for (label, (w, inproc)) in &wall {
        let ratio = ratios(&w[2], &w[0]);
        println!(
            "| {label} | {:.1} ms | {:.1} ms | {:.1} ms | ×{ratio:.3} | ×{:.3} | ≤ ×1.03 | {} |",
            median(&w[0]) / 1e6,
            median(&w[1]) / 1e6,
            median(&w[2]) / 1e6,
            inproc.get("inproc.ratio").copied().unwrap_or(f64::NAN),
            verdict(ratio <= 1.03)
        );
    }
    println!("\nPeak RSS (VmHWM of a process that runs the workload once; 5 alternated rounds, medians):\n");
    println!(
        "| allocator | collector keeps | plain | memscope, tracked | ratio | target | verdict |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    for ((label, retain), h) in &rss {
        let ratio = median(&h[1]) / median(&h[0]);
        println!(
            "| {label} | {} | {:.1} MiB | {:.1} MiB | ×{ratio:.3} | ≤ ×1.10 | {} |",
            if *retain == "all" {
                "every message"
            } else {
                "the last 256"
            },
            median(&h[0]) / 1024.0,
            median(&h[1]) / 1024.0,
            verdict(ratio <= 1.10)
        );
    }

    print_server(conns, commands, &server, &server_inproc);

    println!("\n## The tracker's own memory\n");
    let books = g("books.tracker_live_bytes");
    println!("| figure | value |");
    println!("|---|---:|");
    println!(
        "| tasks run (tokio, 2 workers, waves of 10,000) | {:.0} |",
        g("books.tasks")
    );
    println!(
        "| tracker bucket live bytes after them (target ≤ 16 MiB: {}) | {:.2} MiB |",
        verdict(books <= 16.0 * 1024.0 * 1024.0),
        books / (1024.0 * 1024.0)
    );
    println!(
        "| task records still held / folded into groups / groups | {:.0} / {:.0} / {:.0} |",
        g("books.tasks_held"),
        g("books.folded_tasks"),
        g("books.groups")
    );
    println!(
        "| RSS before / after the tracked tasks (the untracked run came first) | {:.1} MiB / {:.1} MiB |",
        g("books.rss_before_kib") / 1024.0,
        g("books.rss_after_kib") / 1024.0
    );
    println!(
        "| per task, spawn to join, untracked / tracked | {:.0} ns / {:.0} ns |",
        g("books.untracked_task_ns"),
        g("books.tracked_task_ns")
    );
    println!("| per-thread state (the hook's thread-local) | {state_bytes} |");
    println!("| static untracked-counter stripes (whole process) | 64 × 128 B = 8 KiB |");
    eprintln!("suite done in {:.0} s", started.elapsed().as_secs_f64());
}

/// The key-value server's table: `server` holds, per set-up (plain, tracked), per round,
/// the results of its two processes.
fn print_server(conns: &str, commands: &str, server: &[Vec<Results>], inproc: &Results) {
    println!(
        "\n## Key-value server: {conns} connections × {commands} commands over loopback TCP\n"
    );
    println!(
        "One process runs the server (tokio, 2 workers; in the tracked run one task per \
         connection and per command three tracked inner fns) and its client (a \
         current-thread runtime); 60 % SETs of 64 B–4 KiB values, then 20 % DELs and 20 % \
         GETs, every reply checked; the store keeps {:.0} MB at the end. Medians of 3 \
         iterations after a warm-up per process; processes run ABBA for 3 rounds; ratio = \
         median over rounds. CPU is the process's user + system time (client included).\n",
        median(&column(&server[0], "map_bytes")) / 1e6
    );
    println!("| figure | plain (System, untracked) | memscope, tracked | tracked / plain |");
    println!("|---|---:|---:|---:|");
    for (key, what, scale, unit) in [
        ("requests_per_s", "requests per second", 1.0, ""),
        ("cpu_ns_per_request", "CPU per request", 1e3, " µs"),
        ("hwm_kib", "peak RSS (VmHWM)", 1024.0, " MiB"),
    ] {
        let (plain, tracked) = (column(&server[0], key), column(&server[1], key));
        println!(
            "| {what} | {:.1}{unit} | {:.1}{unit} | ×{:.3} |",
            median(&plain) / scale,
            median(&tracked) / scale,
            ratios(&tracked, &plain)
        );
    }
    let g = |k: &str| inproc.get(k).copied().unwrap_or(f64::NAN);
    println!(
        "| in one process, tracked / untracked (ABBA): CPU per request, requests per second | — | — | ×{:.3}, ×{:.3} |",
        g("inproc.cpu_ratio"),
        g("inproc.requests_per_s_ratio")
    );
    let (books, heap) = (
        median(&column(&server[1], "tracker_live_bytes")),
        median(&column(&server[1], "tracked_live_bytes")),
    );
    println!(
        "| memscope's books / the tracked live heap they describe, at the end | — | {:.1} MiB / {:.1} MiB | ×{:.3} |",
        books / (1024.0 * 1024.0),
        heap / (1024.0 * 1024.0),
        median(&column(&server[1], "books_per_heap"))
    );
}

/// Size of the hook's thread-local, read from the symbol table (`nm`), if available.
fn thread_state_bytes(bin: &Path) -> String {
    let out = Command::new("nm").args(["-S", "-C"]).arg(bin).output();
    let Ok(out) = out else {
        return "n/a (no `nm`)".into();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.contains("memscope_runtime::hook::thread::STATE"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|hex| u64::from_str_radix(hex, 16).ok())
        .map_or_else(|| "n/a (symbol not found)".into(), |b| format!("{b} B"))
}
