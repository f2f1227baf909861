//! `ReportFormat`: the formats memscope writes, their names and file endings.

use memscope_vocab::one_of;
use std::fmt;
use std::path::Path;

/// The formats memscope writes. [`MemorySnapshot::save`](crate::MemorySnapshot::save)
/// picks one from the file's ending; `#[memscope::main(format = "…")]` by name.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::ReportFormat;
/// use std::path::Path;
/// assert_eq!("html".parse::<ReportFormat>().unwrap(), ReportFormat::Html);
/// assert_eq!(ReportFormat::from_path(Path::new("out/run.trace.json")).unwrap(), ReportFormat::Trace);
/// assert_eq!(ReportFormat::from_path(Path::new("out/run.json")).unwrap(), ReportFormat::Json);
/// assert!(ReportFormat::from_path(Path::new("out/run")).is_err());
/// ```
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

    /// The format's name, as `format = "…"` and [`str::parse`] accept it.
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

    /// The format a file name asks for; `.trace.json` wins over `.json`.
    ///
    /// # Errors
    /// [`UnknownReportFormat`] for any other ending.
    pub fn from_path(path: &Path) -> Result<Self, UnknownReportFormat> {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        Self::ALL
            .into_iter()
            .rev() // `.trace.json` before `.json`
            .find(|f| file.ends_with(f.extension()))
            .ok_or(UnknownReportFormat(file))
    }
}

/// The error of naming a report format memscope does not write; its message lists the
/// formats and file endings it does.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let e = "pdf".parse::<memscope::ReportFormat>().unwrap_err();
/// assert!(e.to_string().starts_with("unknown report format `pdf`; expected one of `text`"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownReportFormat(pub String);

impl fmt::Display for UnknownReportFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown report format `{}`; expected one of {} (a path ending in {})",
            self.0,
            one_of(&ReportFormat::ALL.map(ReportFormat::name)),
            one_of(&ReportFormat::ALL.map(ReportFormat::extension))
        )
    }
}

impl std::error::Error for UnknownReportFormat {}

impl std::str::FromStr for ReportFormat {
    type Err = UnknownReportFormat;

    /// The format called `name`, any case.
    fn from_str(name: &str) -> Result<Self, UnknownReportFormat> {
        let lower = name.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|f| f.name() == lower)
            .ok_or_else(|| UnknownReportFormat(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn every_format_round_trips_through_its_name_and_ending() {
        assert_eq!(
            ReportFormat::from_path(&PathBuf::from("a/b.Trace.JSON")).unwrap(),
            ReportFormat::Trace
        );
        for f in ReportFormat::ALL {
            let p = PathBuf::from(format!("r{}", f.extension()));
            assert_eq!(ReportFormat::from_path(&p).unwrap(), f);
            assert_eq!(f.name().parse::<ReportFormat>().unwrap(), f);
        }
        // `#[memscope::main(format = "…")]` accepts the same names.
        let names = ReportFormat::ALL.map(|f| (f.name(), f.extension()));
        assert_eq!(names, memscope_vocab::REPORT_FORMATS);
    }

    #[test]
    fn the_message_lists_names_and_endings() {
        assert_eq!(
            UnknownReportFormat("pdf".into()).to_string(),
            "unknown report format `pdf`; expected one of `text`, `json`, `html`, or `trace` \
             (a path ending in `.txt`, `.json`, `.html`, or `.trace.json`)"
        );
    }
}
