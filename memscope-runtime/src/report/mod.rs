//! Reports: text summary, JSON, HTML and Chrome/Perfetto trace, one file per format.

pub mod json;
pub mod text;

use crate::error::Error;
use crate::snapshot::MemorySnapshot;
use std::fs;
use std::path::Path;

/// The formats memscope writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReportFormat {
    /// The aligned text summary.
    Text,
    /// The whole snapshot as JSON.
    Json,
}

impl ReportFormat {
    /// Picks the format from an explicit name, or else from the path's extension.
    pub fn choose(path: &Path, explicit: Option<&str>) -> Result<Self, Error> {
        let name = match explicit {
            Some(f) => f.to_owned(),
            None => path
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or("")
                .to_owned(),
        };
        match name.as_str() {
            "txt" | "text" => Ok(ReportFormat::Text),
            "json" => Ok(ReportFormat::Json),
            _ => Err(Error::UnknownReportFormat(name)),
        }
    }

    /// Renders `snapshot` in this format.
    pub fn render(self, snapshot: &MemorySnapshot) -> String {
        match self {
            ReportFormat::Text => text::render(snapshot),
            ReportFormat::Json => json::render(snapshot),
        }
    }
}

/// Checks at start-up that a report can be written to `path`: creates its directory and
/// opens the file for writing.
pub fn prepare(path: &Path, explicit: Option<&str>) -> Result<ReportFormat, Error> {
    let format = ReportFormat::choose(path, explicit)?;
    let unwritable = |source| Error::ReportUnwritable {
        path: path.to_owned(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(unwritable)?;
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(unwritable)?;
    Ok(format)
}

/// Writes `snapshot` to `path` in `format`.
///
/// ```
/// let path = std::env::temp_dir().join("memscope-doc-report.json");
/// let snap = memscope_runtime::snapshot();
/// memscope_runtime::report::write(&snap, &path, memscope_runtime::report::ReportFormat::Json).unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains("schema_version"));
/// ```
pub fn write(snapshot: &MemorySnapshot, path: &Path, format: ReportFormat) -> Result<(), Error> {
    fs::write(path, format.render(snapshot)).map_err(|source| Error::ReportUnwritable {
        path: path.to_owned(),
        source,
    })
}
