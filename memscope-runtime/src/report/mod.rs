//! Reports: the text summary, JSON, a self-contained HTML page and a Chrome/Perfetto
//! trace, one file per format.
//!
//! Write one from any snapshot at any time, the format following the file name:
//!
//! ```
//! let dir = std::env::temp_dir().join("memscope-doc-reports");
//! let snap = memscope_runtime::snapshot();
//! for name in ["report.txt", "report.json", "report.html", "report.trace.json"] {
//!     memscope_runtime::report::save(&snap, &dir.join(name)).unwrap();
//! }
//! assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().starts_with("<!DOCTYPE html>"));
//! ```

pub mod html;
pub mod json;
pub mod text;
pub mod trace;

use crate::context;
use crate::error::Error;
use crate::snapshot::MemorySnapshot;
use std::fs;
use std::path::Path;

/// The formats memscope writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReportFormat {
    /// The aligned text summary (`.txt`, `"text"`).
    Text,
    /// The whole snapshot as JSON (`.json`, `"json"`); see `docs/report-json.md`.
    Json,
    /// One self-contained HTML page with charts (`.html`, `"html"`).
    Html,
    /// Chrome Trace Event JSON, for ui.perfetto.dev or `chrome://tracing`
    /// (`.trace.json`, `"trace"`).
    Trace,
}

impl ReportFormat {
    /// Every format, in the order the docs list them.
    pub const ALL: [ReportFormat; 4] = [
        ReportFormat::Text,
        ReportFormat::Json,
        ReportFormat::Html,
        ReportFormat::Trace,
    ];

    /// The format's name, as [`ReportFormat::from_name`] accepts it.
    pub const fn name(self) -> &'static str {
        match self {
            ReportFormat::Text => "text",
            ReportFormat::Json => "json",
            ReportFormat::Html => "html",
            ReportFormat::Trace => "trace",
        }
    }

    /// The file-name ending that selects the format.
    pub const fn extension(self) -> &'static str {
        match self {
            ReportFormat::Text => ".txt",
            ReportFormat::Json => ".json",
            ReportFormat::Html => ".html",
            ReportFormat::Trace => ".trace.json",
        }
    }

    /// The format called `name` (`text`/`txt`, `json`, `html`/`htm`, `trace`/`perfetto`),
    /// any case.
    ///
    /// ```
    /// use memscope_runtime::report::ReportFormat;
    /// assert_eq!(ReportFormat::from_name("HTML").unwrap(), ReportFormat::Html);
    /// assert!(ReportFormat::from_name("pdf").is_err());
    /// ```
    pub fn from_name(name: &str) -> Result<Self, Error> {
        match name.trim().to_ascii_lowercase().as_str() {
            "txt" | "text" => Ok(ReportFormat::Text),
            "json" => Ok(ReportFormat::Json),
            "html" | "htm" => Ok(ReportFormat::Html),
            "trace" | "perfetto" | "chrome" | "trace.json" => Ok(ReportFormat::Trace),
            _ => Err(Error::UnknownReportFormat(name.to_owned())),
        }
    }

    /// The format a file name asks for; `.trace.json` wins over `.json`.
    ///
    /// ```
    /// use memscope_runtime::report::ReportFormat;
    /// use std::path::Path;
    /// assert_eq!(ReportFormat::from_path(Path::new("out/run.trace.json")).unwrap(), ReportFormat::Trace);
    /// assert_eq!(ReportFormat::from_path(Path::new("out/run.json")).unwrap(), ReportFormat::Json);
    /// assert!(ReportFormat::from_path(Path::new("out/run")).is_err());
    /// ```
    pub fn from_path(path: &Path) -> Result<Self, Error> {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if file.ends_with(".trace.json") {
            return Ok(ReportFormat::Trace);
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) => Self::from_name(ext),
            None => Err(Error::UnknownReportFormat(file)),
        }
    }

    /// The `explicit` format if given, else the one `path`'s name asks for.
    ///
    /// ```
    /// use memscope_runtime::report::ReportFormat;
    /// use std::path::Path;
    /// assert_eq!(ReportFormat::choose(Path::new("x.out"), Some("json")).unwrap(), ReportFormat::Json);
    /// ```
    pub fn choose(path: &Path, explicit: Option<&str>) -> Result<Self, Error> {
        match explicit {
            Some(name) => Self::from_name(name),
            None => Self::from_path(path),
        }
    }

    /// Renders `snapshot` in this format.
    ///
    /// ```
    /// use memscope_runtime::report::ReportFormat;
    /// let snap = memscope_runtime::snapshot();
    /// assert!(ReportFormat::Trace.render(&snap).contains("traceEvents"));
    /// ```
    pub fn render(self, snapshot: &MemorySnapshot) -> String {
        let _internal = context::internal();
        match self {
            ReportFormat::Text => text::render(snapshot),
            ReportFormat::Json => json::render(snapshot),
            ReportFormat::Html => html::render(snapshot),
            ReportFormat::Trace => trace::render(snapshot),
        }
    }
}

impl std::str::FromStr for ReportFormat {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::from_name(s)
    }
}

fn unwritable(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::ReportUnwritable {
        path: path.to_owned(),
        source,
    }
}

/// Checks at start-up that a report can be written to `path` and picks its format:
/// creates the directory and opens the file for writing (a file that did not exist is
/// removed again, so an early crash leaves no empty report behind).
///
/// # Errors
/// [`Error::UnknownReportFormat`] for a format it does not know;
/// [`Error::ReportUnwritable`], saying how to choose another path, when the file cannot
/// be written.
///
/// ```
/// use memscope_runtime::report::{prepare, ReportFormat};
/// let path = std::env::temp_dir().join("memscope-doc-prepare/r.html");
/// assert_eq!(prepare(&path, None).unwrap(), ReportFormat::Html);
/// assert!(prepare(std::path::Path::new("/proc/memscope/r.json"), None).is_err());
/// ```
pub fn prepare(path: &Path, explicit: Option<&str>) -> Result<ReportFormat, Error> {
    let _internal = context::internal();
    let format = ReportFormat::choose(path, explicit)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(unwritable(path))?;
    }
    let existed = path.exists();
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(unwritable(path))?;
    if !existed {
        // Only a check; the file is written at shutdown.
        let _ = fs::remove_file(path);
    }
    Ok(format)
}

/// Writes `snapshot` to `path` in `format`, creating the directory if needed.
///
/// # Errors
/// [`Error::ReportUnwritable`] when the file cannot be written.
///
/// ```
/// let path = std::env::temp_dir().join("memscope-doc-report.json");
/// let snap = memscope_runtime::snapshot();
/// memscope_runtime::report::write(&snap, &path, memscope_runtime::report::ReportFormat::Json).unwrap();
/// assert!(std::fs::read_to_string(&path).unwrap().contains("schema_version"));
/// ```
pub fn write(snapshot: &MemorySnapshot, path: &Path, format: ReportFormat) -> Result<(), Error> {
    let body = format.render(snapshot);
    let _internal = context::internal();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(unwritable(path))?;
    }
    fs::write(path, body).map_err(unwritable(path))
}

/// Writes `snapshot` to `path` in the format its name asks for; returns that format.
///
/// # Errors
/// As [`ReportFormat::from_path`] and [`write()`].
///
/// ```
/// let path = std::env::temp_dir().join("memscope-doc-save.txt");
/// let format = memscope_runtime::report::save(&memscope_runtime::snapshot(), &path).unwrap();
/// assert_eq!(format, memscope_runtime::report::ReportFormat::Text);
/// ```
pub fn save(snapshot: &MemorySnapshot, path: &Path) -> Result<ReportFormat, Error> {
    let format = ReportFormat::from_path(path)?;
    write(snapshot, path, format)?;
    Ok(format)
}

impl MemorySnapshot {
    /// The text summary (see [`text::render`]).
    ///
    /// ```
    /// assert!(memscope_runtime::snapshot().render_text().starts_with("memscope"));
    /// ```
    pub fn render_text(&self) -> String {
        ReportFormat::Text.render(self)
    }

    /// Writes this snapshot to `path` in the format its name asks for (see [`save`]).
    ///
    /// # Errors
    /// As [`save`].
    ///
    /// ```
    /// let path = std::env::temp_dir().join("memscope-doc-write-report.html");
    /// memscope_runtime::snapshot().write_report(&path).unwrap();
    /// ```
    pub fn write_report(&self, path: impl AsRef<Path>) -> Result<ReportFormat, Error> {
        save(self, path.as_ref())
    }
}

/// Every group of one task type merged into one (folded tasks included).
pub(crate) fn type_group(s: &MemorySnapshot, ty: crate::TaskType) -> crate::GroupProfile {
    let mut all = crate::GroupProfile::new(ty.as_str(), ty);
    for g in s.groups.iter().filter(|g| g.task_type == ty) {
        all.merge(g);
    }
    all
}

/// `bytes` in binary units with one decimal: `512 B`, `1.5 KiB`, `12.0 MiB`, `3.2 GiB`.
///
/// ```
/// use memscope_runtime::report::human_bytes;
/// assert_eq!(human_bytes(512), "512 B");
/// assert_eq!(human_bytes(1536), "1.5 KiB");
/// assert_eq!(human_bytes(3 * 1024 * 1024), "3.0 MiB");
/// ```
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1023.95 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn trace_json_wins_over_json() {
        let p = PathBuf::from("a/b.Trace.JSON");
        assert_eq!(ReportFormat::from_path(&p).unwrap(), ReportFormat::Trace);
        for f in ReportFormat::ALL {
            let p = PathBuf::from(format!("r{}", f.extension()));
            assert_eq!(ReportFormat::from_path(&p).unwrap(), f);
            assert_eq!(ReportFormat::from_name(f.name()).unwrap(), f);
        }
    }

    #[test]
    fn units_round_at_the_boundary() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(1024 * 1024 - 1), "1.0 MiB");
    }
}
