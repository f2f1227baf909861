//! The books of all tasks: who is running, the bounded retention of finished tasks, the
//! per-`(name, task type)` aggregates they are folded into, monitoring windows, and the
//! timeline sampler. Locked per shard; never touched by the allocator hook.
//!
//! - [`store`]: registering and finishing tasks, the shards and their locks;
//! - [`shard`]: one shard's tables: running tasks, retention, lingering records, folds;
//! - [`aggregate`]: [`GroupProfile`](aggregate::GroupProfile), what a set of tasks adds up to;
//!   [`folded_group`]: the integer sums a shard folds finished tasks into;
//! - [`windows`]: the tasks alive inside a monitoring window;
//! - [`sampler`]: live bytes over time;
//! - [`sites`]: what the sampled allocations add up to per task group and call stack,
//!   kept current by [`site_collector`]'s thread;
//! - [`symbols`]: function names, files and lines of the sampled stacks.
//! - [`budgets`]: the wakers and soft-limit callbacks of the budgets in force.

pub(crate) mod aggregate;
pub(crate) mod budgets;
pub(crate) mod cells;
pub(crate) mod folded_group;
pub mod sampler;
pub(crate) mod shard;
pub(crate) mod site_collector;
pub(crate) mod sites;
pub(crate) mod store;
pub(crate) mod symbols;
pub(crate) mod task_ids;
pub(crate) mod windows;
