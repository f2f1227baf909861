//! The JSON report: the whole snapshot, with `schema_version`, round-trips exactly.

mod support;

use memscope::ReportFormat;
use memscope::{MemorySnapshot, SCHEMA_VERSION};
use support::workload::{self, render};

#[test]
fn json_round_trips_a_real_snapshot() {
    let w = workload::run();
    let s = &w.snapshot;
    assert!(s.timeline.len() >= 2, "the sampler recorded a timeline");
    assert!(!s.tasks.is_empty());

    let text = render(s, ReportFormat::Json);
    let back: MemorySnapshot = serde_json::from_str(&text).unwrap();
    assert_eq!(&back, s);
    assert_eq!(MemorySnapshot::from_json(&text).unwrap(), back);
    // And through a file, as users read it.
    let path = std::env::temp_dir().join(format!("memscope-json-{}.json", std::process::id()));
    assert_eq!(s.save(&path).unwrap(), ReportFormat::Json);
    assert_eq!(
        MemorySnapshot::from_json(&std::fs::read_to_string(&path).unwrap()).unwrap(),
        *s
    );
    let _ = std::fs::remove_file(path);
}

#[test]
fn json_field_names_are_the_documented_ones() {
    let w = workload::run();
    let v: serde_json::Value =
        serde_json::from_str(&render(&w.snapshot, ReportFormat::Json)).unwrap();
    assert_eq!(v["schema_version"], SCHEMA_VERSION);
    let keys = |o: &serde_json::Value| {
        let mut k: Vec<String> = o.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/report-json.md"))
        .unwrap();
    let task = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        // By id: other tests of this binary run the same workload in parallel.
        .find(|t| t["id"] == w.handoff.as_u64())
        .unwrap();
    let sample = &v["timeline"][0];
    for (what, obj) in [
        ("snapshot", &v),
        ("task", task),
        ("group", &v["groups"][0]),
        ("heap totals", &v["untracked"]),
        ("timeline sample", sample),
        ("call sites", &v["sites"]),
    ] {
        for k in keys(obj) {
            assert!(
                doc.contains(&format!("`{k}`")),
                "{what} field `{k}` is documented"
            );
        }
    }
    assert_eq!(task["task_type"], "network");
    assert_eq!(task["outcome"], "completed");
    assert_eq!(task["retained_bytes"], workload::HANDOFF as u64);
    assert!(sample["live_by_type"].is_object());
    assert!(sample["top_tasks"].is_array());
}

#[test]
fn a_newer_schema_is_refused_with_a_reason() {
    let w = workload::run();
    let mut v: serde_json::Value =
        serde_json::from_str(&render(&w.snapshot, ReportFormat::Json)).unwrap();
    v["schema_version"] = (SCHEMA_VERSION + 1).into();
    let err = MemorySnapshot::from_json(&v.to_string())
        .unwrap_err()
        .to_string();
    assert!(err.contains("newer than this build reads"), "{err}");
}
