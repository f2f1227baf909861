//! The snapshot taken when SIGINT or SIGTERM arrives, for a session that watches them.
//!
//! A service stopped by a signal either handles it (`tokio::signal::ctrl_c()` and a
//! graceful shutdown, as most do) or dies of it. Either way the figures worth having are
//! those at the signal: what the service held while it ran. [`arm`] watches the signals
//! (see `hook::signals`: nothing changes in how the program reacts to them); when one
//! arrives, the watcher thread takes a snapshot (on its own thread, while the signal's
//! handler holds the program's own reaction back: a program that frees everything the
//! instant it is told is still seen as it ran) and
//! - if the program handles the signal, writes it as `<report>.at-signal.<ext>` and keeps
//!   its summary for the end of the session, which prints both ("at SIGINT", "at exit");
//! - if not, prints the summary and writes the report (at the session's report path: it
//!   is the run's last), after which the process ends as the signal's default would.

use crate::base::error::Error;
use crate::base::format::ReportFormat;
use crate::base::lock::lock;
use crate::books::sampler;
use crate::hook::thread;
use crate::report;
use crate::view::snapshot::snapshot;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// What the session asked for, while it runs.
#[derive(Clone)]
struct Armed {
    report: Option<(PathBuf, ReportFormat)>,
    summary: bool,
}

/// The snapshot at a signal the program handled, as the session end prints it.
#[derive(Debug)]
pub(crate) struct AtSignal {
    /// `SIGINT` or `SIGTERM`.
    pub signal: &'static str,
    /// The text summary of the snapshot at the signal.
    pub summary: String,
    /// Where its report went, or why it could not be written.
    pub report: Option<Result<PathBuf, Error>>,
}

static ARMED: Mutex<Option<Armed>> = Mutex::new(None);
static AT_SIGNAL: Mutex<Option<AtSignal>> = Mutex::new(None);
/// Held while a signal's snapshot is taken and written, so that [`disarm`] waits for it.
static TAKING: Mutex<()> = Mutex::new(());

/// Watches SIGINT and SIGTERM for a session writing `report` (if any), with the summary
/// on or off; whether the signals are watched (not on this platform, or when the program
/// set its own handlers first).
pub(crate) fn arm(report: Option<(PathBuf, ReportFormat)>, summary: bool) -> bool {
    let _internal = thread::internal();
    *lock(&ARMED) = Some(Armed { report, summary });
    #[cfg(target_os = "linux")]
    return crate::hook::signals::watch(on_signal);
    #[cfg(not(target_os = "linux"))]
    false
}

/// Stops acting on signals (the session ended) and gives back the snapshot at a signal
/// the program handled, if one arrived.
pub(crate) fn disarm() -> Option<AtSignal> {
    let _taking = lock(&TAKING);
    lock(&ARMED).take();
    lock(&AT_SIGNAL).take()
}

/// `report.html` → `report.at-signal.html`; `run.trace.json` → `run.at-signal.trace.json`.
pub(crate) fn at_signal_path(path: &Path, format: ReportFormat) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = format.extension();
    let stem = if name.to_ascii_lowercase().ends_with(ext) {
        &name[..name.len() - ext.len()]
    } else {
        &name[..]
    };
    path.with_file_name(format!("{stem}.at-signal{ext}"))
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        2 => "SIGINT",
        15 => "SIGTERM",
        _ => "a signal",
    }
}

/// On the watcher thread, right after `signal` arrived.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn on_signal(signal: i32, handled_by_the_program: bool) {
    let _internal = thread::internal();
    let _taking = lock(&TAKING);
    let Some(armed) = lock(&ARMED).clone() else {
        return;
    };
    sampler::sample_now();
    let snap = snapshot();
    // Taken: the program may now learn of the signal (its handler runs after ours).
    #[cfg(target_os = "linux")]
    crate::hook::signals::release();
    let signal = signal_name(signal);
    let summary = format!("memscope: at {signal}\n{snap}");
    if handled_by_the_program {
        let report = armed.report.map(|(path, format)| {
            let path = at_signal_path(&path, format);
            report::write_file(&snap, &path, format).map(|()| path)
        });
        *lock(&AT_SIGNAL) = Some(AtSignal {
            signal,
            summary,
            report,
        });
        return;
    }
    // The process ends right after this: the figures at the signal are the run's last.
    let report = armed
        .report
        .map(|(path, format)| report::write_file(&snap, &path, format).map(|()| path));
    // `writeln!`, not `eprintln!`: a closed stderr must not stop the process's end.
    let mut err = std::io::stderr();
    if armed.summary || matches!(report, Some(Err(_))) {
        let _ = writeln!(err, "{summary}");
    }
    match report {
        Some(Ok(path)) => {
            let _ = writeln!(err, "memscope: report written to {}", path.display());
        }
        Some(Err(e)) => {
            let _ = writeln!(err, "memscope: {e}");
        }
        None => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_at_signal_report_sits_beside_the_report() {
        let at = |p: &str, f| at_signal_path(Path::new(p), f);
        assert_eq!(
            at("out/r.html", ReportFormat::Html),
            Path::new("out/r.at-signal.html")
        );
        assert_eq!(
            at("out/run.trace.json", ReportFormat::Trace),
            Path::new("out/run.at-signal.trace.json")
        );
        assert_eq!(
            at("out/x.out", ReportFormat::Json),
            Path::new("out/x.out.at-signal.json")
        );
    }
}
