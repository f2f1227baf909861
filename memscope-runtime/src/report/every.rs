//! The report rewritten at an interval while the program runs (`MEMSCOPE_REPORT_EVERY=30s`),
//! each time atomically (a temporary file renamed over it), for a service that never ends.

use crate::base::format::ReportFormat;
use crate::hook::thread;
use crate::report::write_file;
use crate::view::snapshot::snapshot;
use std::io::Write;
use std::path::PathBuf;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

/// Environment variable: rewrite the session's report this often (`30s`, `500ms`, `5m`,
/// `1h`, or seconds alone), besides at the end.
pub const REPORT_EVERY_ENV: &str = "MEMSCOPE_REPORT_EVERY";

/// The shortest interval taken; a shorter one is raised to it.
pub(crate) const MIN_EVERY: Duration = Duration::from_millis(100);

/// A running rewriter; [`Periodic::stop`] (or dropping it) stops it.
#[derive(Debug)]
pub(crate) struct Periodic {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Periodic {
    /// Stops it and waits for a rewrite in progress.
    pub(crate) fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Periodic {
    fn drop(&mut self) {
        self.halt();
    }
}

/// `30s`, `500ms`, `5m`, `1h`, `2` (seconds): the interval, or `None` if it is not one.
pub(crate) fn parse_every(text: &str) -> Option<Duration> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_ms = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return None,
    };
    Some(Duration::from_millis(n.checked_mul(unit_ms)?).max(MIN_EVERY))
}

/// Rewrites `path` in `format` every `every` on a thread of its own (its memory
/// memscope's), until stopped. A failed write is said once on stderr and tried again.
pub(crate) fn start(path: PathBuf, format: ReportFormat, every: Duration) -> Option<Periodic> {
    let _internal = thread::internal();
    let (stop, stopped) = mpsc::channel::<()>();
    let thread = crate::hook::spawn_own_thread("memscope-report-every", move || {
        let _internal = thread::internal();
        let mut said = false;
        while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
            match write_file(&snapshot(), &path, format) {
                Ok(()) => said = false,
                Err(e) if !said => {
                    said = true;
                    let _ = writeln!(
                        std::io::stderr(),
                        "memscope: {e} (rewriting every {every:?})"
                    );
                }
                Err(_) => {}
            }
        }
    })
    .ok()?;
    Some(Periodic {
        stop: Some(stop),
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_read_as_people_write_them() {
        assert_eq!(parse_every("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_every("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_every("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse_every("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_every("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_every("1ms"), Some(MIN_EVERY));
        for bad in ["", "s", "fast", "3 weeks", "-1s", "1.5s"] {
            assert_eq!(parse_every(bad), None, "{bad}");
        }
    }
}
