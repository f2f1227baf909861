//! Chrome Trace Event JSON (opens in ui.perfetto.dev and `chrome://tracing`).
//!
//! Layout: one process per task type (`pid` = its position in [`TaskType::ALL`] + 1,
//! named "`<type>` tasks"), one thread per task (`tid` = the task id, named
//! "`<name>` #`<id>`"), holding one complete (`"X"`) event spanning the task's life with
//! its figures in `args`. A "memory" process (`pid` [`MEMORY_PID`]) holds the counter
//! (`"C"`) tracks from the timeline: live bytes per task type and untracked. Timestamps
//! are microseconds since memscope's epoch. Tasks folded out of the retention have no
//! individual profile any more, so they have no span; `otherData` says how many.

use crate::base::task::TaskType;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use serde_json::{json, Value};

/// The `pid` of the counter tracks.
pub(crate) const MEMORY_PID: u64 = 100;

fn type_pid(ty: TaskType) -> u64 {
    TaskType::ALL.iter().position(|&t| t == ty).unwrap_or(0) as u64 + 1
}

fn us(d: std::time::Duration) -> f64 {
    d.as_nanos() as f64 / 1000.0
}

/// The snapshot as a Trace Event JSON object (`{"traceEvents": [...], ...}`).
pub(crate) fn render(s: &MemorySnapshot) -> String {
    let _internal = thread::internal();
    serde_json::to_string(&to_value(s)).unwrap_or_default()
}

/// The trace as a JSON value.
fn to_value(s: &MemorySnapshot) -> Value {
    let _internal = thread::internal();
    let mut events = Vec::new();
    for ty in TaskType::ALL {
        if s.tasks.iter().any(|t| t.task_type == ty) {
            let pid = type_pid(ty);
            events.push(meta("process_name", pid, None, format!("{ty} tasks")));
            events.push(json!({"name": "process_sort_index", "ph": "M", "pid": pid,
                "args": {"sort_index": pid}}));
        }
    }
    for t in &s.tasks {
        events.push(meta(
            "thread_name",
            type_pid(t.task_type),
            Some(t.id.as_u64()),
            format!("{} #{}", t.display_name(), t.id.as_u64()),
        ));
        events.push(span(t));
    }
    counters(s, &mut events);
    json!({
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "generator": "memscope",
            "schema_version": s.schema_version,
            "taken_at_ns": s.taken_at.as_nanos() as u64,
            "tasks_started": s.tasks_started,
            "folded_tasks_without_span": s.folded_tasks,
        }
    })
}

fn meta(name: &str, pid: u64, tid: Option<u64>, value: String) -> Value {
    let mut e = json!({"name": name, "ph": "M", "pid": pid, "args": {"name": value}});
    if let Some(tid) = tid {
        e["tid"] = json!(tid);
    }
    e
}

fn span(t: &TaskMemoryProfile) -> Value {
    json!({
        "name": t.name,
        "cat": t.task_type.as_str(),
        "ph": "X",
        "ts": us(t.started_at),
        "dur": us(t.lifetime),
        "pid": type_pid(t.task_type),
        "tid": t.id.as_u64(),
        "args": {
            "id": t.id.as_u64(),
            "parent": t.parent.map(|p| p.as_u64()),
            "outcome": t.outcome.to_string(),
            "allocated_bytes": t.heap.allocated_bytes,
            "allocation_count": t.heap.allocation_count,
            "freed_bytes": t.heap.freed_bytes,
            "live_bytes": t.live_bytes,
            "peak_bytes": t.peak_bytes,
            "retained_bytes": t.retained_bytes,
            "poll_count": t.poll_count,
            "poll_duration_us": us(t.poll_duration),
        }
    })
}

fn counters(s: &MemorySnapshot, events: &mut Vec<Value>) {
    if s.timeline.is_empty() {
        return;
    }
    events.push(meta("process_name", MEMORY_PID, None, "memory".into()));
    let types: Vec<TaskType> = TaskType::ALL
        .into_iter()
        .filter(|ty| s.timeline.iter().any(|x| x.live_by_type.contains_key(ty)))
        .collect();
    for sample in &s.timeline {
        for ty in &types {
            let bytes = sample.live_by_type.get(ty).copied().unwrap_or(0);
            events.push(json!({"name": format!("live bytes: {ty}"), "ph": "C",
                "ts": us(sample.at), "pid": MEMORY_PID, "args": {"bytes": bytes}}));
        }
        events.push(json!({"name": "live bytes: untracked", "ph": "C",
            "ts": us(sample.at), "pid": MEMORY_PID,
            "args": {"bytes": sample.untracked_live_bytes}}));
    }
}
