//! Process-wide settings of the tracker.

use crate::base::config_env::{sample_bytes_from_env, type_budgets_from_env};
use crate::base::task::TaskType;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};

static RETENTION: AtomicUsize = AtomicUsize::new(Config::DEFAULT_RETENTION);
static MAX_GROUPS: AtomicUsize = AtomicUsize::new(Config::DEFAULT_MAX_GROUPS);
static TIMING: AtomicBool = AtomicBool::new(true);
/// 0: polls are not timed; 1: every poll is; n: about one poll in n is (see
/// [`Config::with_poll_timing_sampled`]).
static TIMING_EVERY: AtomicU32 = AtomicU32::new(1);
/// The `n` of [`Config::with_poll_timing_sampled`], kept while timing is off.
static TIMING_SAMPLED: AtomicU32 = AtomicU32::new(1);
/// Mean bytes between sampled allocations (0: off, 1: every allocation).
static SAMPLE_BYTES: AtomicU64 = AtomicU64::new(Config::DEFAULT_SAMPLE_BYTES);
/// Seed of the sampling intervals (0: from each thread-local's address).
static SAMPLE_SEED: AtomicU64 = AtomicU64::new(0);
/// Bumped whenever the sampling mean or seed changes: each thread compares it when its
/// countdown runs out and restarts the countdown under the new settings.
static SAMPLE_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Per task type (`as usize`), the budget of each spawned task of that type; 0: none.
static TYPE_BUDGETS: [AtomicU64; TYPES] = [const { AtomicU64::new(0) }; TYPES];
const TYPES: usize = TaskType::ALL.len();

/// Settings of the tracker, applied with [`configure`](crate::configure). Setters are `with_*`, getters
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
    sample_bytes: u64,
    sample_seed: u64,
    type_budgets: [u64; TYPES],
}

impl Default for Config {
    fn default() -> Self {
        Config {
            retention: Self::DEFAULT_RETENTION,
            max_groups: Self::DEFAULT_MAX_GROUPS,
            poll_timing: true,
            poll_timing_every: 1,
            sample_bytes: sample_bytes_from_env(false).unwrap_or(Self::DEFAULT_SAMPLE_BYTES),
            sample_seed: 0,
            type_budgets: type_budgets_from_env(false).unwrap_or([0; TYPES]),
        }
    }
}

impl Config {
    /// Finished tasks kept with their own profile by default.
    pub const DEFAULT_RETENTION: usize = 1024;
    /// Names whose folded tasks get a group of their own, by default.
    pub const DEFAULT_MAX_GROUPS: usize = 1024;
    /// Mean bytes between sampled allocations by default: 512 KiB, as jemalloc's and Go's
    /// heap profilers.
    pub const DEFAULT_SAMPLE_BYTES: u64 = 512 * 1024;

    /// The settings in force now.
    pub fn current() -> Self {
        Config {
            // Relaxed: independent settings, read when next needed.
            retention: RETENTION.load(Relaxed),
            max_groups: MAX_GROUPS.load(Relaxed),
            poll_timing: TIMING.load(Relaxed),
            poll_timing_every: TIMING_SAMPLED.load(Relaxed),
            sample_bytes: SAMPLE_BYTES.load(Relaxed),
            sample_seed: SAMPLE_SEED.load(Relaxed),
            type_budgets: std::array::from_fn(|t| TYPE_BUDGETS[t].load(Relaxed)),
        }
    }

    /// Gives every task of type `task_type` spawned with [`spawn`](crate::spawn) from now
    /// on a budget of `limit_bytes` live bytes for its tree (it and the tasks created
    /// inside it), as [`with_budget`](crate::with_budget) would: over it, the task is
    /// stopped at its next poll boundary and its handle gives
    /// [`Error::OverBudget`](crate::Error::OverBudget). `0` removes the type's budget
    /// (the default: none, or what [`TYPE_BUDGETS_ENV`](crate::base::config_env::TYPE_BUDGETS_ENV) says at start-up).
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{configure, Config, TaskType, MIB};
    /// configure(Config::current().with_type_budget(TaskType::CpuIntensive, 64 * MIB));
    /// assert_eq!(Config::current().type_budget(TaskType::CpuIntensive), Some(64 * MIB));
    /// assert_eq!(Config::current().type_budget(TaskType::IoIntensive), None);
    /// # configure(Config::current().with_type_budget(TaskType::CpuIntensive, 0));
    /// ```
    pub fn with_type_budget(mut self, task_type: TaskType, limit_bytes: u64) -> Self {
        self.type_budgets[task_type as usize] = limit_bytes;
        self
    }

    /// The budget of each spawned task of type `task_type`, if it has one.
    pub fn type_budget(&self, task_type: TaskType) -> Option<u64> {
        Some(self.type_budgets[task_type as usize]).filter(|b| *b != 0)
    }

    /// Samples allocations by bytes, one every `mean` bytes on average, to find their call
    /// sites (`Where in the task` of the reports): each thread counts down an interval
    /// drawn from the exponential distribution of mean `mean` and records the stack of the
    /// allocation that crosses it, so an allocation of `s` bytes is sampled with
    /// probability `1 - exp(-s / mean)` and stands for `1 / that` allocations (an unbiased
    /// estimate). `1` records every allocation (exact per-site figures, for tests and
    /// debugging: each sample costs about a microsecond); `0` turns sampling off. Default
    /// [`Config::DEFAULT_SAMPLE_BYTES`], or what [`SAMPLE_BYTES_ENV`](crate::base::config_env::SAMPLE_BYTES_ENV) says. The calling
    /// thread switches at once, the others when their current interval runs out.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{configure, Config};
    /// configure(Config::default().with_sample_bytes(1));
    /// assert_eq!(Config::current().sample_bytes(), 1);
    /// configure(Config::default().with_sample_bytes(0)); // off
    /// # configure(Config::default());
    /// ```
    pub fn with_sample_bytes(mut self, mean: u64) -> Self {
        self.sample_bytes = mean;
        self
    }

    /// Mean bytes between sampled allocations (see [`Config::with_sample_bytes`]).
    pub fn sample_bytes(&self) -> u64 {
        self.sample_bytes
    }

    /// Seeds the sampling intervals, so that a program that allocates the same way on the
    /// same threads samples the same allocations (for tests); `0` (the default) seeds
    /// each thread from its thread-local's address (apart per thread and per run).
    pub fn with_sample_seed(mut self, seed: u64) -> Self {
        self.sample_seed = seed;
        self
    }

    /// Seed of the sampling intervals (see [`Config::with_sample_seed`]).
    pub fn sample_seed(&self) -> u64 {
        self.sample_seed
    }

    /// How many finished tasks keep their own profile. Older ones are folded into the
    /// aggregate of their `(name, task type)` and into their ancestors' inclusive
    /// figures; one that still holds memory keeps only a 32-byte owner cell, which counts
    /// that memory exactly (in its group's `retained_bytes`) until it is freed. The books
    /// are split into 8 shards by task id (each thread's ids 64 at a time, a block to a
    /// shard, in turn), each keeping its most recent `ceil(tasks / 8)`, so together they
    /// hold about the `tasks` most recently finished; a shard a thread used last for only
    /// a few tasks also keeps some older ones.
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

/// Applies what the `MEMSCOPE_*` settings variables say ([`SAMPLE_BYTES_ENV`](crate::base::config_env::SAMPLE_BYTES_ENV),
/// [`TYPE_BUDGETS_ENV`](crate::base::config_env::TYPE_BUDGETS_ENV)), warning on stderr about values that do not parse: done once,
/// when the first task starts.
pub(crate) fn apply_environment() {
    let (mean, budgets) = (sample_bytes_from_env(true), type_budgets_from_env(true));
    if mean.is_none() && budgets.is_none() {
        return;
    }
    let mut config = Config::current();
    if let Some(mean) = mean {
        config = config.with_sample_bytes(mean);
    }
    if let Some(budgets) = budgets {
        config.type_budgets = budgets;
    }
    apply(config);
}

/// The retention and the group limit now: what finishing a task reads.
#[inline]
pub(crate) fn books_limits() -> (usize, usize) {
    // Relaxed: see `Config::current`.
    (RETENTION.load(Relaxed), MAX_GROUPS.load(Relaxed))
}

/// The budget of spawned tasks of type `task_type` now, if any.
pub(crate) fn type_budget(task_type: TaskType) -> Option<u64> {
    // Relaxed: see `Config::current`.
    Some(TYPE_BUDGETS[task_type as usize].load(Relaxed)).filter(|b| *b != 0)
}

/// The sampling mean, seed and generation now (see [`Config::with_sample_bytes`]).
#[inline]
pub(crate) fn sampling() -> (u64, u64, u64) {
    // Relaxed: see `Config::current`.
    (
        SAMPLE_BYTES.load(Relaxed),
        SAMPLE_SEED.load(Relaxed),
        SAMPLE_GENERATION.load(Relaxed),
    )
}

/// Applies `config` to the whole process, from now on (`hook::sampling::configure`, the
/// public `configure`, also restarts the calling thread's sampling countdown).
pub(crate) fn apply(config: Config) {
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
    for (budget, limit) in TYPE_BUDGETS.iter().zip(config.type_budgets) {
        budget.store(limit, Relaxed);
    }
    let sampling = (SAMPLE_BYTES.load(Relaxed), SAMPLE_SEED.load(Relaxed));
    if sampling != (config.sample_bytes, config.sample_seed) {
        SAMPLE_BYTES.store(config.sample_bytes, Relaxed);
        SAMPLE_SEED.store(config.sample_seed, Relaxed);
        SAMPLE_GENERATION.fetch_add(1, Relaxed);
    }
}
