//! Process-wide settings of the tracker.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

static RETENTION: AtomicUsize = AtomicUsize::new(Config::DEFAULT_RETENTION);
static TIMING: AtomicBool = AtomicBool::new(true);

/// Settings of the tracker, applied with [`configure`].
///
/// ```
/// use memscope_runtime::{configure, Config};
/// configure(Config::default().retention(10_000).poll_timing(true));
/// assert_eq!(Config::current().retention_limit(), 10_000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    retention: usize,
    poll_timing: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retention: Self::DEFAULT_RETENTION,
            poll_timing: true,
        }
    }
}

impl Config {
    /// Finished tasks kept with their own profile by default.
    pub const DEFAULT_RETENTION: usize = 1024;

    /// The settings in force now.
    pub fn current() -> Self {
        Config {
            // Relaxed: independent settings, read when next needed.
            retention: RETENTION.load(Relaxed),
            poll_timing: TIMING.load(Relaxed),
        }
    }

    /// How many finished tasks keep their own profile. Older ones are folded into the
    /// aggregate of their `(name, task type)`; a finished task that still holds memory
    /// keeps its profile until that memory is freed. The books are split into 8 shards by
    /// task id, each keeping its most recent `ceil(tasks / 8)`, so together they hold
    /// about the `tasks` most recently finished.
    pub fn retention(mut self, tasks: usize) -> Self {
        self.retention = tasks;
        self
    }

    /// Whether each poll is timed (two clock reads per poll). Without it, poll counts
    /// and memory are still exact but time inside poll and wait time read zero.
    pub fn poll_timing(mut self, on: bool) -> Self {
        self.poll_timing = on;
        self
    }

    /// The retention limit of these settings.
    pub fn retention_limit(&self) -> usize {
        self.retention
    }

    /// Whether these settings time polls.
    pub fn times_polls(&self) -> bool {
        self.poll_timing
    }
}

/// Whether polls are timed now (the hot-path read of [`Config::times_polls`]).
#[inline]
pub(crate) fn times_polls() -> bool {
    // Relaxed: see `Config::current`.
    TIMING.load(Relaxed)
}

/// Applies `config` to the whole process, from now on.
pub fn configure(config: Config) {
    // Relaxed: see `Config::current`.
    RETENTION.store(config.retention, Relaxed);
    TIMING.store(config.poll_timing, Relaxed);
}
