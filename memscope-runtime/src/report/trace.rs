//! Chrome Trace Event JSON (opens in ui.perfetto.dev and `chrome://tracing`).
//!
//! Layout: one process per task type (`pid` = its position in [`TaskType::ALL`] + 1,
//! named "`<type>` tasks"), one thread per task (`tid` = the task id, named
//! "`<name>` #`<id>`"), holding one complete (`"X"`) event spanning the task's life with
//! its figures in `args`. A "memory" process (`pid` [`MEMORY_PID`]) holds the counter
//! (`"C"`) tracks from the timeline: live bytes per task type and untracked. Each of the
//! most recent sampled allocations ([`CallSites::recent`]) is an instant (`"i"`, thread
//! scope) event named after its site's label, with its size, task and call stack in
//! `args`: on its task's thread when the task has one, else on the "sampled
//! allocations" thread (`tid` [`SAMPLED_TID`]) of the memory process. Timestamps are
//! microseconds since memscope's epoch. Tasks folded out of the retention have no
//! individual profile any more, so they have no span; `otherData` says how many.

use crate::base::task::{TaskId, TaskType};
use crate::hook::thread;
use crate::view::sites::{CallSites, SampledAllocation, StackFrame};
use crate::view::snapshot::MemorySnapshot;
use crate::view::task::TaskMemoryProfile;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

/// The `pid` of the counter tracks.
pub(crate) const MEMORY_PID: u64 = 100;
/// The `tid`, in the memory process, of the sampled allocations made outside any task
/// (or by a task without a thread of its own in the trace).
pub(crate) const SAMPLED_TID: u64 = 1;

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
    let on_memory_thread = sampled(s, &mut events);
    if !s.timeline.is_empty() || on_memory_thread {
        events.push(meta("process_name", MEMORY_PID, None, "memory".into()));
    }
    if on_memory_thread {
        events.push(meta(
            "thread_name",
            MEMORY_PID,
            Some(SAMPLED_TID),
            "sampled allocations".into(),
        ));
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

/// One instant event per sample of `s.sites.recent`, on its task's thread or the memory
/// process's "sampled allocations" thread; whether any went to the latter.
fn sampled(s: &MemorySnapshot, events: &mut Vec<Value>) -> bool {
    let threads: HashMap<TaskId, u64> = s
        .tasks
        .iter()
        .map(|t| (t.id, type_pid(t.task_type)))
        .collect();
    // Per stack index: its label and its frames as text, made once.
    let mut stacks: HashMap<usize, (String, Value)> = HashMap::new();
    let mut on_memory_thread = false;
    for a in &s.sites.recent {
        let (name, stack) = stacks
            .entry(a.stack)
            .or_insert_with(|| described(&s.sites, a.stack))
            .clone();
        let track = a
            .task
            .and_then(|id| Some((*threads.get(&id)?, id.as_u64())));
        let (pid, tid) = track.unwrap_or((MEMORY_PID, SAMPLED_TID));
        on_memory_thread |= track.is_none();
        events.push(instant(a, name, stack, pid, tid));
    }
    on_memory_thread
}

fn instant(a: &SampledAllocation, name: String, stack: Value, pid: u64, tid: u64) -> Value {
    json!({
        "name": name,
        "cat": "sampled allocation",
        "ph": "i",
        "s": "t",
        "ts": us(Duration::from_nanos(a.at_ns)),
        "pid": pid,
        "tid": tid,
        "args": {
            "size": a.size,
            "task": a.task.map(|t| t.as_u64()),
            "stack": stack,
        }
    })
}

/// The label of stack `index` of `sites` and its frames, innermost first, as strings
/// (`function (file:line)`).
fn described(sites: &CallSites, index: usize) -> (String, Value) {
    let Some(stack) = sites.stacks.get(index) else {
        return ("(no stack)".into(), json!([]));
    };
    let frames: Vec<String> = stack.frames.iter().map(frame_text).collect();
    (stack.label(), json!(frames))
}

fn frame_text(f: &StackFrame) -> String {
    match (&f.file, f.line) {
        (Some(file), Some(line)) => format!("{} ({file}:{line})", f.function),
        (Some(file), None) => format!("{} ({file})", f.function),
        _ => f.function.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rollup::tests::{snap, task};
    use crate::view::sites::CallStack;

    #[test]
    fn a_sampled_allocation_is_an_instant_on_its_tasks_thread_or_the_memory_process() {
        let mut s = snap(vec![task(7, "fill", None, 100, 0)]);
        s.sites = CallSites::default();
        s.sites.stacks.push(CallStack {
            frames: vec![StackFrame {
                function: "app::fill".into(),
                file: Some("/src/app/src/fill.rs".into()),
                line: Some(3),
                address: 0x10,
            }],
        });
        let sample = |task: Option<u64>, size| SampledAllocation {
            at_ns: 1500,
            task: task.map(TaskId::from_u64),
            stack: 0,
            size,
        };
        // Task 7 has a thread; task 8 (folded away) and no task go to the memory process.
        s.sites.recent = vec![sample(Some(7), 64), sample(Some(8), 32), sample(None, 16)];
        let v = to_value(&s);
        let events = v["traceEvents"].as_array().unwrap();
        let instants: Vec<_> = events.iter().filter(|e| e["ph"] == "i").collect();
        let at = |e: &Value| {
            (
                e["pid"].as_u64(),
                e["tid"].as_u64(),
                e["args"]["size"].as_u64(),
            )
        };
        let network = type_pid(TaskType::NetworkIntensive);
        assert_eq!(
            instants.iter().map(|e| at(e)).collect::<Vec<_>>(),
            [
                (Some(network), Some(7), Some(64)),
                (Some(MEMORY_PID), Some(SAMPLED_TID), Some(32)),
                (Some(MEMORY_PID), Some(SAMPLED_TID), Some(16)),
            ]
        );
        let e = instants[0];
        assert_eq!(e["name"], "app::fill (src/fill.rs:3)");
        assert_eq!((e["s"].as_str(), e["ts"].as_f64()), (Some("t"), Some(1.5)));
        assert_eq!(
            e["args"]["stack"],
            json!(["app::fill (/src/app/src/fill.rs:3)"])
        );
        let named = |pid, tid: Option<u64>, name: &str| {
            events.iter().any(|m| {
                m["ph"] == "M"
                    && m["pid"] == pid
                    && m["tid"].as_u64() == tid
                    && m["args"]["name"] == name
            })
        };
        assert!(named(MEMORY_PID, None, "memory"));
        assert!(named(MEMORY_PID, Some(SAMPLED_TID), "sampled allocations"));
    }
}
