//! `go tool pprof` reads memscope's heap and allocation profiles, and the figures it
//! prints per label are memscope's exact counters: tracked tasks of known types hold known
//! bytes (some folded out of a small retention), both profiles are written from one
//! snapshot, and `go tool pprof -raw` (all samples, then `-tagfocus task_type=network`)
//! and `-top` (`-sample_index=inuse_space`, in bytes) add up to that snapshot's figures.
//!
//! With every allocation sampled, the samples' call stacks stand under the task frames:
//! `go tool pprof -top` names the function that allocated, with its exact bytes, and the
//! sums per label stay the exact counters.
//!
//! Without `go` the tests are skipped with the reason printed, except under `CI=true`,
//! where a missing `go` is a failure (`.ci/run` installs Debian's `golang-go`). They run
//! one at a time (a lock): the configuration, sampling included, is process-wide.

use memscope::{Config, HeapCounters, MemorySnapshot, PprofKind, TaskType, TrackedExt};
use memscope_test_support::block_on;
use memscope_test_support::tools::{external_tool, go_pprof, go_pprof_top, pprof_cum, pprof_top};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The lock, and `config` in force until the guard's end brings the default back.
fn configured(config: Config) -> Configured {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    memscope::configure(config);
    Configured(guard)
}

/// Holds the lock; the default configuration again when dropped, even on a failure.
struct Configured(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Configured {
    fn drop(&mut self) {
        memscope::configure(Config::default());
    }
}

const CONNS: usize = 12;
const FETCHES: usize = 3;
const FETCH_BYTES: usize = 3000;
const HASH_BYTES: usize = 5000;
/// Small, so most tasks are folded into their groups.
const RETENTION: usize = 8;
const FETCH: &str = "pprof_go_tool::fetch";
const HASH: &str = "pprof_go_tool::hash";

#[memscope::track(task_type = "network")]
async fn fetch(i: usize) -> Vec<u8> {
    vec![i as u8; FETCH_BYTES]
}

#[memscope::track(task_type = "cpu")]
async fn hash(data: &[Vec<u8>]) -> u64 {
    let scratch = vec![1u8; HASH_BYTES];
    data.iter()
        .flatten()
        .chain(&scratch)
        .map(|&b| u64::from(b))
        .sum()
}

/// Connections (network, spawned) each fetching buffers it keeps (network, awaited) and
/// hashing them (cpu, freed); returns the buffers, still charged to the fetches.
fn workload() -> Vec<Vec<Vec<u8>>> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let kept = rt.block_on(async {
        let conns: Vec<_> = (0..CONNS)
            .map(|c| {
                let conn = async move {
                    let mut bufs = Vec::with_capacity(FETCHES);
                    for i in 0..FETCHES {
                        bufs.push(fetch(c + i).await);
                        tokio::task::yield_now().await;
                    }
                    std::hint::black_box(hash(&bufs).await);
                    bufs
                };
                memscope::spawn(conn.tracked("conn", TaskType::NetworkIntensive))
            })
            .collect();
        let mut kept = Vec::new();
        for c in conns {
            kept.push(c.await.unwrap());
        }
        kept
    });
    drop(rt);
    kept
}

/// The four values of `-raw`'s samples, added up per value of label `key`: a sample is
/// a line `v1 v2 v3 v4: <location ids>` followed by a line of its labels,
/// `key:[value] key:[value]`.
fn raw_sums(raw: &str, key: &str) -> BTreeMap<String, [i64; 4]> {
    let samples = raw.split_once("Samples:\n").expect("a Samples section").1;
    let samples = samples.split("\nLocations").next().unwrap();
    let mut out: BTreeMap<String, [i64; 4]> = BTreeMap::new();
    let mut current: Option<[i64; 4]> = None;
    for line in samples.lines().skip(1).map(str::trim) {
        if let Some((values, _ids)) = line.split_once(':').filter(|(v, _)| is_values(v)) {
            let v: Vec<i64> = values
                .split_whitespace()
                .map(|x| x.parse().unwrap())
                .collect();
            current = Some(v.try_into().expect("four values per sample"));
        } else if let Some(value) = label(line, key) {
            let sum = out.entry(value.to_owned()).or_default();
            let v = current.take().expect("one label line after each sample");
            sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
    }
    out
}

/// The value of `key:[value]` in a `-raw` label line.
fn label<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let tag = format!("{key}:[");
    let at = line
        .match_indices(&tag)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || line[..i].ends_with(' '))?;
    let rest = &line[at + tag.len()..];
    Some(&rest[..rest.find(']')?])
}

fn is_values(s: &str) -> bool {
    let mut words = s.split_whitespace().peekable();
    words.peek().is_some() && words.all(|w| w.parse::<i64>().is_ok())
}

fn figures(h: HeapCounters) -> [i64; 4] {
    [
        h.allocation_count,
        h.allocated_bytes,
        h.live_count(),
        h.live_bytes(),
    ]
    .map(|v| v as i64)
}

fn group(s: &MemorySnapshot, name: &str) -> HeapCounters {
    let groups = s.groups.iter().filter(|g| g.name == name);
    groups.map(|g| g.heap).sum()
}

/// `snap`'s heap and allocation profiles written to a fresh directory named after `what`:
/// (the directory, the heap profile, the allocation profile).
fn profiles(snap: &MemorySnapshot, what: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("memscope-pprof-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (heap, allocs) = (dir.join("heap.pb.gz"), dir.join("allocs.pb.gz"));
    std::fs::write(&heap, snap.pprof(PprofKind::Heap)).unwrap();
    std::fs::write(&allocs, snap.pprof(PprofKind::Allocs)).unwrap();
    (dir, heap, allocs)
}

#[test]
fn go_tool_pprof_reads_the_exact_figures_per_label() {
    let Some(go) = external_tool("go", "MEMSCOPE_GO", "golang-go") else {
        return;
    };
    // Nothing sampled: every sample's stack is its chain of tasks alone.
    let config = Config::default()
        .with_retention(RETENTION)
        .with_sample_bytes(0);
    let _configured = configured(config);
    let kept = workload();
    let snap = memscope::snapshot();
    let (dir, heap, allocs) = profiles(&snap, "exact");

    // What the workload made is known to the byte, folded tasks included.
    let (fetches, n) = (figures(group(&snap, FETCH)), (CONNS * FETCHES) as i64);
    assert_eq!(
        fetches,
        [n, n * FETCH_BYTES as i64, n, n * FETCH_BYTES as i64]
    );
    let hashes = figures(group(&snap, HASH));
    assert_eq!(hashes, [CONNS as i64, (CONNS * HASH_BYTES) as i64, 0, 0]);
    assert!(snap.folded_tasks > 0, "the retention folded nothing");

    let network = figures(snap.by_type(TaskType::NetworkIntensive).heap);
    for (profile, default) in [(&heap, "inuse_space"), (&allocs, "alloc_space")] {
        let raw = go_pprof(&go, &dir, &["-raw"], profile);
        assert!(raw.contains(&format!(" {default}/bytes[dflt]")), "{raw}");
        let by_type = raw_sums(&raw, "task_type");
        assert_eq!(by_type["network"], network, "{raw}");
        assert_eq!(
            by_type["cpu"],
            figures(snap.by_type(TaskType::CpuIntensive).heap)
        );
        assert_eq!(by_type["untracked"], figures(snap.untracked));
        assert_eq!(by_type["tracker"], figures(snap.tracker));
        let by_task = raw_sums(&raw, "task");
        assert_eq!(by_task[FETCH], fetches);
        assert_eq!(by_task[HASH], hashes);
        assert_eq!(by_task["conn"], figures(group(&snap, "conn")));

        let focused = go_pprof(&go, &dir, &["-raw", "-tagfocus=task_type=network"], profile);
        let by_type = raw_sums(&focused, "task_type");
        assert_eq!(by_type.keys().collect::<Vec<_>>(), ["network"], "{focused}");
        assert_eq!(by_type["network"], network);

        let top = go_pprof_top(&go, &dir, profile, "inuse_space", "network");
        let (focused, total, flat) = pprof_top(&top);
        assert_eq!(focused, network[3] as u64);
        assert_eq!(total, snap.all_heap_traffic().live_bytes());
        assert_eq!(flat[FETCH], fetches[3] as u64);
    }
    drop(kept);
    let _ = std::fs::remove_dir_all(&dir);
}

const KEEPERS: usize = 7;
/// Bytes each keeper keeps, from [`keep_block`].
const KEEP_BYTES: usize = 40_000;
/// Bytes each keeper allocates and frees, in [`churn_block`].
const CHURN_BYTES: usize = 9_000;
const KEEPER: &str = "pprof_go_tool::keeper";
const KEEP_BLOCK: &str = "pprof_go_tool::keep_block";
const CHURN_BLOCK: &str = "pprof_go_tool::churn_block";

#[inline(never)]
fn keep_block(i: usize) -> Vec<u8> {
    black_box(vec![i as u8; KEEP_BYTES])
}

#[inline(never)]
fn churn_block() {
    drop(black_box(vec![1u8; CHURN_BYTES]));
}

#[memscope::track(task_type = "io")]
async fn keeper(i: usize) -> Vec<u8> {
    churn_block();
    keep_block(i)
}

#[test]
fn with_every_allocation_sampled_the_call_stacks_stand_under_the_tasks() {
    let Some(go) = external_tool("go", "MEMSCOPE_GO", "golang-go") else {
        return;
    };
    let _configured = configured(Config::default().with_sample_bytes(1));
    let kept: Vec<Vec<u8>> = (0..KEEPERS).map(|i| block_on(keeper(i))).collect();
    let snap = memscope::snapshot();
    let (dir, heap, allocs) = profiles(&snap, "sampled");
    let n = KEEPERS as i64;
    let keepers = figures(group(&snap, KEEPER));
    let (keep, churn) = (
        (KEEPERS * KEEP_BYTES) as u64,
        (KEEPERS * CHURN_BYTES) as u64,
    );
    assert_eq!(keepers, [2 * n, (keep + churn) as i64, n, keep as i64]);
    let sampled = snap.sites.groups.iter().any(|g| g.name == KEEPER);
    assert!(sampled, "{:?}", snap.sites.groups);

    let io = figures(snap.by_type(TaskType::IoIntensive).heap);
    for (profile, index, at, bytes) in [
        (&heap, "inuse_space", KEEP_BLOCK, keep),
        (&allocs, "alloc_space", CHURN_BLOCK, churn),
    ] {
        // Split over the call sites, the samples still add up to the exact counters.
        let raw = go_pprof(&go, &dir, &["-raw"], profile);
        let by_type = raw_sums(&raw, "task_type");
        assert_eq!(by_type["io"], io, "{raw}");
        assert_eq!(by_type["untracked"], figures(snap.untracked));
        assert_eq!(by_type["tracker"], figures(snap.tracker));
        assert_eq!(raw_sums(&raw, "task")[KEEPER], keepers);
        let top = go_pprof_top(&go, &dir, profile, index, "io");
        println!("go tool pprof -top -sample_index={index} -tagfocus=task_type=io:\n{top}");
        let (focused, total, _) = pprof_top(&top);
        let all = snap.all_heap_traffic();
        let expected = if index == "inuse_space" {
            (io[3], all.live_bytes())
        } else {
            (io[1], all.allocated_bytes)
        };
        assert_eq!((focused as i64, total), expected, "{top}");
        // The allocating function is named, with its bytes exactly (every allocation
        // sampled), and the task frame holds all of its tasks'.
        let cum = pprof_cum(&top);
        assert_eq!(cum.get(at), Some(&bytes), "{top}");
        let task = if index == "inuse_space" {
            keepers[3]
        } else {
            keepers[1]
        };
        assert_eq!(cum.get(KEEPER), Some(&(task as u64)), "{top}");
    }
    // Leaf first: the allocating function, the async fn's body, then the task frame.
    let traces = go_pprof(&go, &dir, &["-traces", "-sample_index=inuse_space"], &heap);
    let trace = traces
        .split("-----------+")
        .find(|t| t.contains(KEEP_BLOCK))
        .unwrap_or_else(|| panic!("no trace through {KEEP_BLOCK}:\n{traces}"));
    // A trace is its labels (`key:  value`), then its frames, the first after its value.
    let frames: Vec<&str> = trace
        .lines()
        .filter(|l| !l.contains(":  "))
        .filter_map(|l| l.split_whitespace().last())
        .collect();
    let at = |f: &str| frames.iter().position(|x| *x == f);
    assert!(at(KEEP_BLOCK) < at(KEEPER), "{trace}");
    assert_eq!(frames.last(), Some(&KEEPER), "{trace}");
    assert!(trace.contains(&format!("task:  {KEEPER}")), "{trace}");
    drop(kept);
    let _ = std::fs::remove_dir_all(&dir);
}
