//! The whole snapshot as JSON, with its `schema_version` (fields documented in
//! `docs/report-json.md`).

use crate::context;
use crate::snapshot::{MemorySnapshot, SCHEMA_VERSION};

/// The whole snapshot as pretty-printed JSON with its `schema_version`.
///
/// ```
/// let json = memscope_runtime::report::json::render(&memscope_runtime::snapshot());
/// let back: memscope_runtime::MemorySnapshot = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.schema_version, memscope_runtime::SCHEMA_VERSION);
/// ```
pub fn render(snapshot: &MemorySnapshot) -> String {
    let _internal = context::internal();
    // Plain data with string keys (maps are keyed by task type names): cannot fail.
    serde_json::to_string_pretty(snapshot).unwrap_or_default()
}

/// Reads a snapshot back from [`render`]'s output.
///
/// # Errors
/// The JSON error if `json` is not a snapshot, or a custom error naming both versions
/// if its `schema_version` is newer than this build reads.
///
/// ```
/// use memscope_runtime::report::json;
/// let snap = memscope_runtime::snapshot();
/// assert_eq!(json::parse(&json::render(&snap)).unwrap(), snap);
/// assert!(json::parse("{}").is_err());
/// ```
pub fn parse(json: &str) -> Result<MemorySnapshot, serde_json::Error> {
    let _internal = context::internal();
    let snap: MemorySnapshot = serde_json::from_str(json)?;
    if snap.schema_version > SCHEMA_VERSION {
        return Err(serde::de::Error::custom(format!(
            "memscope report schema_version {} is newer than this build reads ({SCHEMA_VERSION}); \
             upgrade memscope",
            snap.schema_version
        )));
    }
    Ok(snap)
}
