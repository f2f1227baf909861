//! `CallSites`: where in the tasks memory was allocated, from the sampled allocations
//! (see [`Config::with_sample_bytes`](crate::Config::with_sample_bytes)).
//!
//! Every figure here is an estimate: each sampled allocation of `s` bytes, taken with
//! mean `m`, stands for `1 / (1 - exp(-s / m))` allocations of its size, which makes each
//! sum unbiased (with `m = 1`, every allocation is sampled and the figures are exact).

use crate::base::task::{TaskId, TaskType};
use serde::{Deserialize, Serialize};

/// Where in the tasks memory was allocated: the call sites of the sampled allocations,
/// per task group (name and type), outside tasks, and per running task.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{configure, Config, Tracked};
/// configure(Config::default().with_sample_bytes(1)); // every allocation, exact
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let kept = rt.block_on(Tracked::named(async { vec![0u8; 4096] }, "fill"));
/// let sites = memscope::snapshot().sites;
/// let fill = sites.group("fill").expect("sampled");
/// assert_eq!(fill.sites[0].in_use_bytes, 4096);
/// println!("allocated at {}", sites.stacks[fill.sites[0].stack].label());
/// # drop(kept);
/// # configure(Config::default());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CallSites {
    /// Mean bytes between sampled allocations when the snapshot was taken (0: off, 1:
    /// every allocation).
    pub sample_bytes: u64,
    /// Allocations sampled since the process started.
    pub samples: u64,
    /// Samples lost because every sample slot was in use (the estimates are low by their
    /// share).
    pub dropped: u64,
    /// Every stack the rows below name (by index), innermost frame first.
    pub stacks: Vec<CallStack>,
    /// Per task group, its sites, most bytes in use first.
    pub groups: Vec<GroupSites>,
    /// Allocations made outside any tracked task, most bytes in use first.
    pub untracked: Vec<SiteFigures>,
    /// Per running task held in the snapshot's `tasks`, the sites of its own live memory.
    pub tasks: Vec<TaskSites>,
    /// The most recent samples (at most 4096), oldest first.
    pub recent: Vec<SampledAllocation>,
}

/// One call stack, innermost frame first, without the allocator's own frames.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallStack {
    /// The frames; a return address that the compiler inlined calls into is several.
    pub frames: Vec<StackFrame>,
}

/// One frame of a [`CallStack`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StackFrame {
    /// The function (`app::cache::Cache::put`), or its address in hex if it did not resolve.
    pub function: String,
    /// Source file, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Source line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The return address the frame was resolved from.
    pub address: u64,
}

/// Estimated allocations at one call site.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteFigures {
    /// Index of the site's stack in [`CallSites::stacks`].
    pub stack: usize,
    /// Bytes allocated here since start (estimate).
    pub allocated_bytes: u64,
    /// Allocations made here since start (estimate).
    pub allocations: u64,
    /// Bytes allocated here and still live (estimate).
    pub in_use_bytes: u64,
    /// Blocks allocated here and still live (estimate).
    pub in_use_blocks: u64,
    /// Of the bytes in use, those whose task has finished: what finished tasks retain
    /// from this site (estimate).
    pub retained_bytes: u64,
    /// Of the blocks in use, those whose task has finished (estimate).
    pub retained_blocks: u64,
}

/// The call sites of one task group.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GroupSites {
    /// The group's task name (`(other names)` past the site books' 1,024 names).
    pub name: String,
    /// The group's task type.
    pub task_type: TaskType,
    /// Its sites, most bytes in use first, then most allocated.
    pub sites: Vec<SiteFigures>,
}

/// The sites of one running task's live memory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskSites {
    /// The task.
    pub id: TaskId,
    /// Its sites, most bytes in use first (in-use figures only: allocations are counted
    /// per group).
    pub sites: Vec<SiteFigures>,
}

/// One sampled allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledAllocation {
    /// When, in nanoseconds since the tracker's start.
    pub at_ns: u64,
    /// The allocating task, if any.
    pub task: Option<TaskId>,
    /// Index of its stack in [`CallSites::stacks`].
    pub stack: usize,
    /// Its size in bytes.
    pub size: u64,
}

/// Library code a site's label looks past, for the first frame of the program's own.
const LIBRARY_FRAMES: &[&str] = &[
    "alloc::",
    "<alloc::",
    "core::",
    "<core::",
    "std::",
    "<std::",
    "hashbrown::",
    "<hashbrown::",
];

impl CallStack {
    /// The frame a reader looks for: the innermost one outside the standard library
    /// (`Vec::push` is how, this is where), or the innermost frame.
    pub fn site(&self) -> Option<&StackFrame> {
        self.frames
            .iter()
            .find(|f| !LIBRARY_FRAMES.iter().any(|p| f.function.starts_with(p)))
            .or(self.frames.first())
    }

    /// [`CallStack::site`] as `function (file:line)`, or `(no stack)`.
    pub fn label(&self) -> String {
        match self.site() {
            None => "(no stack)".to_string(),
            Some(f) => match (&f.file, f.line) {
                (Some(file), Some(line)) => format!("{} ({}:{line})", f.function, short(file)),
                _ => f.function.clone(),
            },
        }
    }
}

/// The last two components of a source path (`src/cache.rs`).
fn short(file: &str) -> &str {
    let mut cut = file.len();
    for _ in 0..2 {
        match file[..cut].rfind('/') {
            Some(i) => cut = i,
            None => return file,
        }
    }
    &file[cut + 1..]
}

impl CallSites {
    /// The sites of the group named `name` (any type; the first found).
    pub fn group(&self, name: &str) -> Option<&GroupSites> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The sites of running task `id`'s live memory.
    pub fn task(&self, id: TaskId) -> Option<&TaskSites> {
        self.tasks.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_is_the_first_frame_outside_the_standard_library() {
        let frame = |f: &str, file: Option<&str>| StackFrame {
            function: f.into(),
            file: file.map(Into::into),
            line: file.map(|_| 7),
            address: 1,
        };
        let stack = CallStack {
            frames: vec![
                frame("alloc::raw_vec::RawVec<T>::grow_one", None),
                frame("app::cache::Cache::put", Some("/src/app/src/cache.rs")),
                frame("app::main", None),
            ],
        };
        assert_eq!(stack.label(), "app::cache::Cache::put (src/cache.rs:7)");
        assert_eq!(CallStack::default().label(), "(no stack)");
    }
}
