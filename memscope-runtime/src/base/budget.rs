//! The figures of a measured task tree and the answers of budgets: plain values.

use crate::base::task::TaskId;

/// 1,024 bytes, for budgets written as `256 * KIB`.
pub const KIB: u64 = 1024;
/// 1,048,576 bytes.
pub const MIB: u64 = 1024 * KIB;
/// 1,073,741,824 bytes.
pub const GIB: u64 = 1024 * MIB;

/// What a future and every task created inside it did with the heap, from its start to
/// its end: [`measure`](crate::measure)'s answer. Exact, whoever frees the memory (a
/// child on another worker freeing the parent's block is charged back to the tree), and
/// only this tree's: measurements running at once in one process (parallel tests) never
/// see each other's allocations.
///
/// A task is in the tree if it was created (`Tracked`, `#[memscope::track]`,
/// `memscope::spawn`) while a task of the tree ran; memory allocated outside tracked
/// tasks (`tokio::spawn` of an untracked future, a thread of its own) is not.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let (len, stats) = rt.block_on(memscope::measure(async {
///     let kept = vec![1u8; 1000];
///     let scratch = vec![2u8; 4000];
///     drop(scratch);
///     std::mem::forget(kept); // outlives the future: retained
///     1000
/// }));
/// assert_eq!(len, 1000);
/// assert_eq!(stats.allocated_bytes, 5000);
/// assert_eq!(stats.allocations, 2);
/// assert_eq!(stats.peak_bytes, 5000);
/// assert_eq!(stats.retained_bytes, 1000);
/// assert_eq!(stats.freed_bytes, 4000);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stats {
    /// The task that ran the measured future (the root of the tree).
    pub task: TaskId,
    /// Bytes allocated by the tree (requested sizes).
    pub allocated_bytes: u64,
    /// Allocations made by the tree (a `realloc` counts as a free and an allocation).
    pub allocations: u64,
    /// Bytes of the tree's allocations freed by the end, by anyone.
    pub freed_bytes: u64,
    /// The tree's allocations freed by the end.
    pub frees: u64,
    /// The most bytes the tree held at once. Exact while its tasks run one at a time (a
    /// future and the tracked fns it awaits); with tasks on several workers, it is the
    /// highest total seen whenever one of them ended a poll (or a batch of 256 KiB or
    /// 4,096 operations), plus that task's rise within it.
    pub peak_bytes: u64,
    /// Bytes still allocated at the end: what the future left behind (leaked, cached,
    /// or handed to something that outlives it), and what tasks it spawned still hold —
    /// on a multi-thread tokio runtime, that includes the task cell (about 256 B) of a
    /// child whose handle just resolved, which its worker frees a moment later.
    pub retained_bytes: u64,
    /// Blocks still allocated at the end.
    pub retained_blocks: u64,
    /// Polls of the tree's tasks.
    pub polls: u64,
    /// Tasks in the tree, the root included.
    pub tasks: u64,
}

impl Stats {
    /// [`Stats::allocated_bytes`]; the keys of `memscope::assert_mem!` are
    /// these methods.
    pub fn allocated(&self) -> u64 {
        self.allocated_bytes
    }
    /// [`Stats::allocations`].
    pub fn allocations(&self) -> u64 {
        self.allocations
    }
    /// [`Stats::freed_bytes`].
    pub fn freed(&self) -> u64 {
        self.freed_bytes
    }
    /// [`Stats::frees`].
    pub fn frees(&self) -> u64 {
        self.frees
    }
    /// [`Stats::peak_bytes`].
    pub fn peak(&self) -> u64 {
        self.peak_bytes
    }
    /// [`Stats::retained_bytes`].
    pub fn retained(&self) -> u64 {
        self.retained_bytes
    }
    /// [`Stats::retained_blocks`].
    pub fn retained_blocks(&self) -> u64 {
        self.retained_blocks
    }
    /// [`Stats::polls`].
    pub fn polls(&self) -> u64 {
        self.polls
    }
    /// [`Stats::tasks`].
    pub fn tasks(&self) -> u64 {
        self.tasks
    }
}

/// A budgeted future was stopped: the live bytes of its task tree passed the budget
/// ([`with_budget`](crate::with_budget)'s error). Also the panic payload of a task
/// spawned inside the tree, which is cancelled at its next poll
/// ([`Error::OverBudget`](crate::Error::OverBudget) from its handle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OverBudget {
    /// The task that ran the budgeted future (the root of the tree).
    pub task: TaskId,
    /// The task that found the tree over its budget, at the end of one of its polls or
    /// before one: the tree's task that was running when it went over, or the next one
    /// to reach a poll boundary.
    pub found_by: TaskId,
    /// The budget: live bytes the tree may hold.
    pub limit_bytes: u64,
    /// Live bytes of the tree when it was stopped, after its futures were dropped: what
    /// it still holds (memory handed out of it, and spawned tasks not yet cancelled).
    pub live_bytes: u64,
    /// The most bytes the tree held at once.
    pub peak_bytes: u64,
}

impl OverBudget {
    /// How far past its budget the tree went: `peak_bytes - limit_bytes`. At most what
    /// its tasks allocated in the polls running when it crossed the budget.
    pub fn overshoot_bytes(&self) -> u64 {
        self.peak_bytes.saturating_sub(self.limit_bytes)
    }
}

impl std::error::Error for OverBudget {}

/// How close the running task's tree is to its budget ([`pressure`](crate::pressure)):
/// code can spill or shed work before the budget stops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pressure {
    /// Live bytes of the tree now, including what this thread's running task allocated
    /// since its poll began.
    pub live_bytes: u64,
    /// The budget.
    pub limit_bytes: u64,
    /// The soft limit, if the budget has one.
    pub soft_limit_bytes: Option<u64>,
}

impl Pressure {
    /// Live bytes as a fraction of the budget (above 1.0 once over it).
    pub fn fraction(&self) -> f64 {
        self.live_bytes as f64 / self.limit_bytes.max(1) as f64
    }

    /// Whether the tree is at or past its soft limit.
    pub fn past_soft_limit(&self) -> bool {
        self.soft_limit_bytes.is_some_and(|s| self.live_bytes >= s)
    }
}
