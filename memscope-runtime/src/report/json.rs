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
    let snap: MemorySnapshot = serde_json::from_str(json).map_err(|e| unreadable(e.to_string()))?;
    if snap.schema_version > SCHEMA_VERSION {
        return Err(unreadable(format!(
            "its schema_version {} is newer than this build reads ({SCHEMA_VERSION}); \
             upgrade memscope",
            snap.schema_version
        )));
    }
    Ok(snap)
}

#[cfg(test)]
mod tests {
    use super::*;

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
