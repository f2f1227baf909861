//! The Chrome Trace Event report: valid Trace Event JSON with one lifetime span per task,
//! counter tracks of live bytes per task type, and an instant event per recent sampled
//! allocation on its task's thread.
//!
//! The tests run one at a time (a lock): one of them samples every allocation, and the
//! sampling mean is process-wide.

mod support;

use memscope::ReportFormat;
use support::workload::{self, render};

/// The `pid` of the trace's counter tracks.
const MEMORY_PID: u64 = 100;
use memscope::{configure, Config, TaskType, Tracked};
use memscope_test_support::block_on;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::sync::{Mutex, MutexGuard};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn trace_is_valid_trace_event_json_with_the_expected_events() {
    let _one = one_at_a_time();
    let w = workload::run();
    let s = &w.snapshot;
    let v: Value = serde_json::from_str(&render(s, ReportFormat::Trace)).expect("trace is JSON");
    let events = v["traceEvents"].as_array().expect("traceEvents array");
    assert_eq!(v["displayTimeUnit"], "ms");

    // Every event has the fields its phase requires (Trace Event Format spec).
    for e in events {
        let ph = e["ph"].as_str().expect("ph");
        assert!(e["name"].is_string(), "{e}");
        assert!(e["pid"].is_u64(), "{e}");
        match ph {
            "X" => {
                assert!(e["ts"].as_f64().unwrap() >= 0.0);
                assert!(e["dur"].as_f64().unwrap() >= 0.0);
                assert!(e["tid"].is_u64());
            }
            "C" => {
                assert!(e["ts"].as_f64().unwrap() >= 0.0);
                let args = e["args"].as_object().unwrap();
                assert!(
                    args.values().all(Value::is_u64),
                    "counter values are numbers"
                );
            }
            "M" => assert!(e["args"]["name"].is_string() || e["args"]["sort_index"].is_u64()),
            // A sampled allocation (the default mean samples some of the workload's).
            "i" => {
                assert_eq!(e["s"], "t", "{e}");
                assert!(e["ts"].as_f64().unwrap() >= 0.0);
                assert!(e["tid"].is_u64() && e["args"]["size"].is_u64(), "{e}");
                assert!(e["args"]["stack"].is_array(), "{e}");
            }
            other => panic!("unexpected phase {other}"),
        }
    }

    // One complete event per task, on its own thread (tid = id), spanning its life.
    let spans: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(spans.len(), s.tasks.len());
    let tids: BTreeSet<u64> = spans.iter().map(|e| e["tid"].as_u64().unwrap()).collect();
    assert_eq!(tids.len(), spans.len(), "one track per task");
    for t in &s.tasks {
        let e = spans
            .iter()
            .find(|e| e["tid"] == t.id.as_u64())
            .expect("span of every task");
        assert_eq!(e["name"], t.name.as_str());
        assert_eq!(e["cat"], t.task_type.as_str());
        assert_eq!(e["args"]["peak_bytes"], t.peak_bytes);
        assert_eq!(e["args"]["retained_bytes"], t.retained_bytes);
        let dur_ns = (e["dur"].as_f64().unwrap() * 1000.0).round() as u128;
        assert!(dur_ns.abs_diff(t.lifetime.as_nanos()) <= 1);
        let named = events.iter().any(|m| {
            m["ph"] == "M"
                && m["name"] == "thread_name"
                && m["tid"] == t.id.as_u64()
                && m["args"]["name"] == format!("{} #{}", t.name, t.id.as_u64())
        });
        assert!(named, "thread of task {} is named", t.id);
    }
    let parent = spans
        .iter()
        .find(|e| e["tid"] == w.parent.as_u64())
        .unwrap();
    let child = spans
        .iter()
        .find(|e| e["args"]["parent"] == w.parent.as_u64())
        .unwrap();
    assert!(child["ts"].as_f64() >= parent["ts"].as_f64());

    // Counter tracks: live bytes per type, one event per sample, matching the timeline.
    let counters: Vec<&Value> = events.iter().filter(|e| e["ph"] == "C").collect();
    assert!(counters.iter().all(|e| e["pid"] == MEMORY_PID));
    let mut per_track: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for e in &counters {
        per_track
            .entry(e["name"].as_str().unwrap())
            .or_default()
            .push(e["args"]["bytes"].as_u64().unwrap());
    }
    assert_eq!(per_track["live bytes: untracked"].len(), s.timeline.len());
    let mem = &per_track["live bytes: memory"];
    assert_eq!(mem.len(), s.timeline.len());
    let expected: Vec<u64> = s
        .timeline
        .iter()
        .map(|x| {
            x.live_by_type
                .get(&TaskType::MemoryIntensive)
                .copied()
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(mem, &expected);
    assert!(
        mem.iter().any(|&b| b >= workload::BIG as u64),
        "the 2 MiB buffer held for 60 ms shows on the memory counter"
    );
}

/// Bytes [`fill_trace_buffer`] allocates: a size no other allocation here has.
const FILLED: usize = 12_345;

#[inline(never)]
fn fill_trace_buffer() -> Vec<u8> {
    black_box(Vec::with_capacity(FILLED))
}

#[test]
fn a_sampled_allocation_is_an_instant_event_on_its_tasks_thread() {
    let _one = one_at_a_time();
    configure(Config::default().with_sample_bytes(1)); // every allocation
    let task = Tracked::new(
        async { fill_trace_buffer() },
        "trace_filler",
        TaskType::IoIntensive,
    );
    let id = task.id();
    let kept = block_on(task);
    let s = memscope::snapshot();
    configure(Config::default());
    let v: Value = serde_json::from_str(&render(&s, ReportFormat::Trace)).unwrap();
    let events = v["traceEvents"].as_array().unwrap();
    let filled: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "i" && e["args"]["size"] == FILLED)
        .collect();
    assert_eq!(filled.len(), 1, "one sample of the fill: {filled:?}");
    let e = filled[0];
    let name = e["name"].as_str().unwrap();
    assert!(name.starts_with("report_trace::fill_trace_buffer"), "{e}");
    assert_eq!(e["s"], "t");
    assert_eq!(e["args"]["task"], id.as_u64());
    // On the task's own thread: the track of its lifetime span.
    let span = events
        .iter()
        .find(|x| x["ph"] == "X" && x["tid"] == id.as_u64())
        .expect("the task's span");
    assert_eq!((&e["pid"], &e["tid"]), (&span["pid"], &span["tid"]));
    let (start, end) = (span["ts"].as_f64().unwrap(), span["dur"].as_f64().unwrap());
    let at = e["ts"].as_f64().unwrap();
    assert!(
        start <= at && at <= start + end + 1.0,
        "{at} in {start}+{end}"
    );
    let stack: Vec<&str> = e["args"]["stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap())
        .collect();
    let fill = stack
        .iter()
        .position(|f| f.starts_with("report_trace::fill_trace_buffer"));
    assert!(fill.is_some(), "{stack:#?}");
    assert!(
        stack[..fill.unwrap()]
            .iter()
            .all(|f| !f.contains("report_trace::")),
        "innermost first: {stack:#?}"
    );
    drop(kept);
}
