//! Process-wide settings of the tracker.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering::Relaxed};

static RETENTION: AtomicUsize = AtomicUsize::new(Config::DEFAULT_RETENTION);
static MAX_GROUPS: AtomicUsize = AtomicUsize::new(Config::DEFAULT_MAX_GROUPS);
static TIMING: AtomicBool = AtomicBool::new(true);
/// 0: polls are not timed; 1: every poll is; n: about one poll in n is (see
/// [`Config::with_poll_timing_sampled`]).
static TIMING_EVERY: AtomicU32 = AtomicU32::new(1);
/// The `n` of [`Config::with_poll_timing_sampled`], kept while timing is off.
static TIMING_SAMPLED: AtomicU32 = AtomicU32::new(1);

/// Settings of the tracker, applied with [`configure`]. Setters are `with_*`, getters
/// have the setting's name.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{configure, Config};
/// configure(Config::default().with_retention(10_000).with_poll_timing(true));
/// assert_eq!(Config::current().retention(), 10_000);
/// assert!(Config::current().poll_timing());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    retention: usize,
    max_groups: usize,
    poll_timing: bool,
    poll_timing_every: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retention: Self::DEFAULT_RETENTION,
            max_groups: Self::DEFAULT_MAX_GROUPS,
            poll_timing: true,
            poll_timing_every: 1,
        }
    }
}

impl Config {
    /// Finished tasks kept with their own profile by default.
    pub const DEFAULT_RETENTION: usize = 1024;
    /// Names whose folded tasks get a group of their own, by default.
    pub const DEFAULT_MAX_GROUPS: usize = 1024;

    /// The settings in force now.
    pub fn current() -> Self {
        Config {
            // Relaxed: independent settings, read when next needed.
            retention: RETENTION.load(Relaxed),
            max_groups: MAX_GROUPS.load(Relaxed),
            poll_timing: TIMING.load(Relaxed),
            poll_timing_every: TIMING_SAMPLED.load(Relaxed),
        }
    }

    /// How many finished tasks keep their own profile. Older ones are folded into the
    /// aggregate of their `(name, task type)` and into their ancestors' inclusive
    /// figures; one that still holds memory keeps only a 32-byte owner cell, which counts
    /// that memory exactly (in its group's `retained_bytes`) until it is freed. The books
    /// are split into 8 shards by task id, each keeping its most recent `ceil(tasks / 8)`,
    /// so together they hold about the `tasks` most recently finished.
    pub fn with_retention(mut self, tasks: usize) -> Self {
        self.retention = tasks;
        self
    }

    /// How many distinct names the aggregates of folded tasks keep apart (per shard of
    /// the books). Tasks of further names are folded into one group per task type named
    /// `(other names)`, so names of unbounded cardinality (`format!("req-{i}")`) cannot
    /// grow the books without bound.
    pub fn with_max_groups(mut self, names: usize) -> Self {
        self.max_groups = names;
        self
    }

    /// Whether each poll is timed (two clock reads per poll). Without it, poll counts
    /// and memory are still exact but time inside poll and wait time read zero.
    pub fn with_poll_timing(mut self, on: bool) -> Self {
        self.poll_timing = on;
        self
    }

    /// Times about one poll in `every`, each chosen at random (independently, with
    /// probability `1 / every`), and counts its duration `every` times: an unbiased
    /// estimate of the time inside poll, per task and per group, for a fraction of the
    /// clock reads. The estimate of a task polled a few times is coarse (0 or a multiple
    /// of one poll's time); sums over many polls (a group, a long-lived task) are close.
    /// `1` (the default) times every poll exactly; `0` is taken as `1`. Poll counts and
    /// memory figures are exact either way.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{configure, Config};
    /// configure(Config::default().with_poll_timing_sampled(8));
    /// assert_eq!(Config::current().poll_timing_sampled(), 8);
    /// # configure(Config::default());
    /// ```
    pub fn with_poll_timing_sampled(mut self, every: u32) -> Self {
        self.poll_timing_every = every.max(1);
        self
    }

    /// One poll in how many is timed (see [`Config::with_poll_timing_sampled`]).
    pub fn poll_timing_sampled(&self) -> u32 {
        self.poll_timing_every
    }

    /// Finished tasks kept with their own profile (see [`Config::with_retention`]).
    pub fn retention(&self) -> usize {
        self.retention
    }

    /// Names kept apart in the aggregates (see [`Config::with_max_groups`]).
    pub fn max_groups(&self) -> usize {
        self.max_groups
    }

    /// Whether polls are timed (see [`Config::with_poll_timing`]).
    pub fn poll_timing(&self) -> bool {
        self.poll_timing
    }
}

/// How polls are timed now, in one hot-path read: 0 when they are not, else one poll
/// in how many ([`Config::poll_timing`], [`Config::poll_timing_sampled`]).
#[inline]
pub(crate) fn poll_timing_every() -> u32 {
    // Relaxed: see `Config::current`.
    TIMING_EVERY.load(Relaxed)
}

/// Applies `config` to the whole process, from now on.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// memscope::configure(memscope::Config::default());
/// ```
pub fn configure(config: Config) {
    // Relaxed: see `Config::current`.
    RETENTION.store(config.retention, Relaxed);
    MAX_GROUPS.store(config.max_groups, Relaxed);
    TIMING.store(config.poll_timing, Relaxed);
    let every = if config.poll_timing {
        config.poll_timing_every.max(1)
    } else {
        0
    };
    TIMING_EVERY.store(every, Relaxed);
    TIMING_SAMPLED.store(config.poll_timing_every.max(1), Relaxed);
}
