//! Reports: the text summary, JSON, a self-contained HTML page and a Chrome/Perfetto
//! trace, one module per format (`text` and `html` are folders, a file per section).
//! What the summary and the page both lead with (names ranked by retained memory,
//! retained memory by name and by parent) is computed once in `rollup`; `units` writes
//! figures for people. The one door is on the snapshot: [`MemorySnapshot::save`] (format
//! by file ending), [`MemorySnapshot::write_to`] (to any `Write`), and `Display` (the
//! text summary).

/// The report rewritten at an interval (`MEMSCOPE_REPORT_EVERY`).
pub(crate) mod every;
/// The figures the Prometheus exposition and the `metrics` publisher share.
#[cfg(any(feature = "prometheus", feature = "metrics"))]
pub(crate) mod figures;
/// The HTML page.
pub(crate) mod html;
/// The JSON report (the snapshot itself).
pub(crate) mod json;
/// `assert_mem!`'s failure message, and how budgets' answers read.
pub(crate) mod mem_assert;
/// pprof `profile.proto` heap and allocation profiles.
#[cfg(feature = "pprof")]
pub(crate) mod pprof;
/// Prometheus / OpenMetrics text exposition.
#[cfg(feature = "prometheus")]
pub(crate) mod prometheus;
/// The answers both summaries lead with.
pub(crate) mod rollup;
/// The text summary.
pub(crate) mod text;
/// The Chrome/Perfetto trace.
pub(crate) mod trace;
/// Bytes, counts, shares, durations and names, written for people.
pub(crate) mod units;

use crate::base::error::Error;
use crate::base::format::ReportFormat;
use crate::hook::thread;
use crate::view::snapshot::MemorySnapshot;
use std::fmt;
use std::fs;
use std::io;
use std::path::Path;

/// Renders `snapshot` in `format`.
pub(crate) fn render(snapshot: &MemorySnapshot, format: ReportFormat) -> String {
    let _internal = thread::internal();
    match format {
        ReportFormat::Text => text::render(snapshot),
        ReportFormat::Json => json::render(snapshot),
        ReportFormat::Html => html::render(snapshot),
        ReportFormat::Trace => trace::render(snapshot),
    }
}

fn unwritable(path: &Path) -> impl FnOnce(io::Error) -> Error + '_ {
    move |source| Error::ReportUnwritable {
        path: path.to_owned(),
        source,
    }
}

/// Checks at start-up that a report can be written to `path` and picks its format (the
/// `explicit` one, else the one its ending asks for): creates the directory and opens the
/// file for writing (a file that did not exist is removed again, so an early crash leaves
/// no empty report behind).
pub(crate) fn prepare(path: &Path, explicit: Option<&str>) -> Result<ReportFormat, Error> {
    let _internal = thread::internal();
    let format = match explicit {
        Some(name) => name.parse()?,
        None => ReportFormat::from_path(path)?,
    };
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
pub(crate) fn write_file(
    snapshot: &MemorySnapshot,
    path: &Path,
    format: ReportFormat,
) -> Result<(), Error> {
    let body = render(snapshot, format);
    let _internal = thread::internal();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(unwritable(path))?;
    }
    // A device, a pipe or a link (`/dev/stdout`, a FIFO) is written in place.
    let regular = fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_file());
    if !regular {
        return fs::write(path, body).map_err(unwritable(path));
    }
    // Atomically: a temporary file beside it (one name per write), renamed over it, so a
    // reader (a person reloading the page, a script polling the file) never sees half a
    // report, and two writers never share a temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let write = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}-{write}.tmp", std::process::id()));
    let temporary = std::path::PathBuf::from(temporary);
    let written = fs::write(&temporary, &body).and_then(|()| fs::rename(&temporary, path));
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
        // A directory where only the report itself may be written (it was checked at
        // start-up): in place, then.
        return fs::write(path, body).map_err(unwritable(path));
    }
    Ok(())
}

impl MemorySnapshot {
    /// Writes this snapshot to `path` in the format its ending asks for (`.txt`, `.json`,
    /// `.html`, `.trace.json`), creating the directory if needed; returns that format.
    ///
    /// # Errors
    /// [`Error::UnknownReportFormat`] for another ending, [`Error::ReportUnwritable`] when
    /// the file cannot be written.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// let dir = std::env::temp_dir().join("memscope-doc-save");
    /// let snap = memscope::snapshot();
    /// for name in ["report.txt", "report.json", "report.html", "report.trace.json"] {
    ///     snap.save(dir.join(name))?;
    /// }
    /// assert!(std::fs::read_to_string(dir.join("report.html"))?.starts_with("<!DOCTYPE html>"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<ReportFormat, Error> {
        let path = path.as_ref();
        let format = ReportFormat::from_path(path)?;
        write_file(self, path, format)?;
        Ok(format)
    }

    /// Writes this snapshot in `format` to `out` (a file, a socket, a `Vec<u8>`, stdout).
    ///
    /// # Errors
    /// What `out` returns.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::ReportFormat;
    /// let mut json = Vec::new();
    /// memscope::snapshot().write_to(&mut json, ReportFormat::Json)?;
    /// let back = memscope::MemorySnapshot::from_json(std::str::from_utf8(&json)?)?;
    /// assert_eq!(back.schema_version, memscope::SCHEMA_VERSION);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn write_to(&self, mut out: impl io::Write, format: ReportFormat) -> io::Result<()> {
        out.write_all(render(self, format).as_bytes())
    }

    /// Reads a snapshot back from its JSON report.
    ///
    /// # Errors
    /// [`Error::UnreadableReport`] when `json` is not a snapshot, or was written by a
    /// newer memscope (its `schema_version` is newer than this build reads).
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// assert!(memscope::MemorySnapshot::from_json("{}").is_err());
    /// ```
    pub fn from_json(json: &str) -> Result<MemorySnapshot, Error> {
        json::parse(json)
    }
}

/// The text summary, as printed at shutdown.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let summary = memscope::snapshot().to_string();
/// assert!(summary.starts_with("memscope"));
/// assert!(summary.lines().all(|l| l.chars().count() <= 100));
/// ```
impl fmt::Display for MemorySnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&render(self, ReportFormat::Text))
    }
}
