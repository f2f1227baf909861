//! The snapshot as JSON (see the README for the schema).

use crate::snapshot::MemorySnapshot;

/// The whole snapshot as pretty-printed JSON with its `schema_version`.
///
/// ```
/// let json = memscope_runtime::report::json::render(&memscope_runtime::snapshot());
/// let back: memscope_runtime::MemorySnapshot = serde_json::from_str(&json).unwrap();
/// assert_eq!(back.schema_version, memscope_runtime::SCHEMA_VERSION);
/// ```
pub fn render(snapshot: &MemorySnapshot) -> String {
    // Serialising plain data with string keys cannot fail.
    serde_json::to_string_pretty(snapshot).unwrap_or_default()
}
