//! The whole snapshot as JSON, with its `schema_version` (fields documented in
//! `docs/report-json.md`).

use crate::base::error::Error;
use crate::hook::thread;
use crate::view::snapshot::{MemorySnapshot, SCHEMA_VERSION};

/// The whole snapshot as pretty-printed JSON with its `schema_version`.
pub(crate) fn render(snapshot: &MemorySnapshot) -> String {
    let _internal = thread::internal();
    // Plain data with string keys (maps are keyed by task type names): cannot fail.
    serde_json::to_string_pretty(snapshot).unwrap_or_default()
}

/// Reads a snapshot back from [`render`]'s output.
pub(crate) fn parse(json: &str) -> Result<MemorySnapshot, Error> {
    let _internal = thread::internal();
    let unreadable = |reason: String| Error::UnreadableReport { reason };
    let mut snap: MemorySnapshot =
        serde_json::from_str(json).map_err(|e| unreadable(e.to_string()))?;
    if snap.schema_version > SCHEMA_VERSION {
        return Err(unreadable(format!(
            "its schema_version {} is newer than this build reads ({SCHEMA_VERSION}); \
             upgrade memscope",
            snap.schema_version
        )));
    }
    if snap.schema_version < 3 {
        fill_before_3(&mut snap);
    }
    Ok(snap)
}

/// Figures schema 3 added, recomputed from what a schema 1 or 2 report holds (every
/// finished task still holding memory was listed then): each task's inclusive figures
/// from its listed descendants, each group's retaining tasks from its listed ones.
fn fill_before_3(snap: &mut MemorySnapshot) {
    for t in &mut snap.tasks {
        t.inclusive = t.heap;
        t.inclusive_retained_bytes = t.retained_bytes;
    }
    let index: std::collections::HashMap<_, _> = snap
        .tasks
        .iter()
        .enumerate()
        .map(|(i, t)| (t.id, i))
        .collect();
    // Children have larger ids than their parents: add from the last.
    for i in (0..snap.tasks.len()).rev() {
        let parent = snap.tasks[i].parent.and_then(|p| index.get(&p).copied());
        if let Some(p) = parent.filter(|&p| p < i) {
            let (heap, retained) = (
                snap.tasks[i].inclusive,
                snap.tasks[i].inclusive_retained_bytes,
            );
            snap.tasks[p].inclusive += heap;
            snap.tasks[p].inclusive_retained_bytes = snap.tasks[p]
                .inclusive_retained_bytes
                .saturating_add(retained);
        }
    }
    for g in &mut snap.groups {
        let (name, ty) = (g.name.clone(), g.task_type);
        let retaining = snap
            .tasks
            .iter()
            .filter(|t| t.name == name && t.task_type == ty && t.retained_bytes > 0);
        for t in retaining {
            g.add_retaining(t.retained_bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_2_report_gets_its_inclusive_and_retaining_figures() {
        let mut snap = crate::report::rollup::tests::snap(vec![
            crate::report::rollup::tests::task(1, "conn", None, 10, 0),
            crate::report::rollup::tests::task(2, "req", Some(1), 300, 100),
        ]);
        for g in &mut snap.groups {
            (
                g.retaining_count,
                g.min_retained_bytes,
                g.max_retained_bytes,
            ) = (0, 0, 0);
        }
        let old = render(&snap).replacen(
            &format!("\"schema_version\": {SCHEMA_VERSION}"),
            "\"schema_version\": 2",
            1,
        );
        let back = parse(&old).unwrap();
        let conn = back.task(crate::base::task::TaskId::from_u64(1)).unwrap();
        assert_eq!(conn.inclusive.allocated_bytes, 310);
        assert_eq!(conn.inclusive_retained_bytes, 100);
        let req = back.groups.iter().find(|g| g.name == "req").unwrap();
        assert_eq!((req.retaining_count, req.max_retained_bytes), (1, 100));
    }

    #[test]
    fn a_snapshot_round_trips() {
        let snap = crate::view::snapshot::snapshot();
        assert_eq!(parse(&render(&snap)).unwrap(), snap);
        let newer = render(&snap).replacen(
            &format!("\"schema_version\": {SCHEMA_VERSION}"),
            "\"schema_version\": 999",
            1,
        );
        assert!(parse(&newer)
            .unwrap_err()
            .to_string()
            .contains("upgrade memscope"));
    }
}
