//! `CallSites`: where in the tasks memory was allocated, from the sampled allocations
//! (see [`Config::with_sample_bytes`](crate::Config::with_sample_bytes)).
//!
//! Every figure here is an estimate: each sampled allocation of `s` bytes, taken with
//! mean `m`, stands for `1 / (1 - exp(-s / m))` allocations of its size, which makes each
//! sum unbiased (with `m = 1`, every allocation is sampled and the figures are exact).

use crate::base::task::{TaskId, TaskType};
use crate::books::site_collector;
use crate::books::sites::{self, SitesReading, OTHER_NAMES, UNTRACKED_GROUP};
use crate::books::symbols;
use crate::hook::stacks;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

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

/// Functions of the allocator itself: a stack starts after the outermost of them found
/// among its innermost [`ALLOCATOR_DEPTH`] frames.
const ALLOCATOR_FRAMES: &[&str] = &[
    "memscope_runtime::hook::",
    "<memscope_runtime::hook::",
    "__rust_alloc",
    "__rust_realloc",
    "__rust_alloc_zeroed",
    "__rustc::__rust_",
    "__rg_",
    "__rdl_",
    "alloc::alloc::",
    "<alloc::alloc::Global",
    "std::alloc::",
    "<std::alloc::",
];

/// How deep into a stack the allocator's own frames are looked for.
const ALLOCATOR_DEPTH: usize = 24;

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

/// Reads the site books into a [`CallSites`]; `running` are the tasks running now.
pub(crate) fn read(sample_bytes: u64, running: &HashSet<TaskId>) -> CallSites {
    site_collector::ensure_started();
    let reading = sites::read();
    let sites = Builder::default().build(reading, sample_bytes, running);
    symbols::release();
    sites
}

#[derive(Default)]
struct Builder {
    stacks: Vec<CallStack>,
    /// Trimmed frames → index in `stacks`.
    by_frames: HashMap<Vec<StackFrame>, usize>,
    /// Hook stack id → index in `stacks`.
    by_id: HashMap<u32, usize>,
}

/// Sums of weights, rounded once at the end.
#[derive(Default, Clone, Copy)]
struct Sums {
    allocated: (f64, f64),
    in_use: (f64, f64),
    retained: (f64, f64),
}

impl Sums {
    fn figures(&self, stack: usize) -> SiteFigures {
        let r = |x: f64| x.round() as u64;
        SiteFigures {
            stack,
            allocated_bytes: r(self.allocated.0),
            allocations: r(self.allocated.1),
            in_use_bytes: r(self.in_use.0),
            in_use_blocks: r(self.in_use.1),
            retained_bytes: r(self.retained.0),
            retained_blocks: r(self.retained.1),
        }
    }
}

fn sorted(rows: HashMap<usize, Sums>) -> Vec<SiteFigures> {
    let mut v: Vec<SiteFigures> = rows.iter().map(|(&s, sums)| sums.figures(s)).collect();
    v.sort_by(|a, b| {
        (b.in_use_bytes, b.allocated_bytes, a.stack).cmp(&(
            a.in_use_bytes,
            a.allocated_bytes,
            b.stack,
        ))
    });
    v
}

impl Builder {
    /// The index of hook stack `id`, its frames resolved and trimmed on first sight.
    fn stack(&mut self, id: u32) -> usize {
        if let Some(&i) = self.by_id.get(&id) {
            return i;
        }
        let pcs: Vec<usize> = stacks::frames(id)
            .map(|f| f.as_slice().to_vec())
            .unwrap_or_default();
        let mut frames: Vec<StackFrame> = pcs
            .iter()
            .flat_map(|&pc| {
                symbols::resolve(pc)
                    .iter()
                    .map(|s| StackFrame {
                        function: s.function.clone(),
                        file: s.file.clone(),
                        line: s.line,
                        address: pc as u64,
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let allocator = frames
            .iter()
            .take(ALLOCATOR_DEPTH)
            .rposition(|f| ALLOCATOR_FRAMES.iter().any(|p| f.function.starts_with(p)));
        if let Some(last) = allocator {
            frames.drain(..=last);
        }
        let index = match self.by_frames.get(&frames) {
            Some(&i) => i,
            None => {
                self.stacks.push(CallStack {
                    frames: frames.clone(),
                });
                self.by_frames.insert(frames, self.stacks.len() - 1);
                self.stacks.len() - 1
            }
        };
        self.by_id.insert(id, index);
        index
    }

    fn build(mut self, r: SitesReading, sample_bytes: u64, running: &HashSet<TaskId>) -> CallSites {
        let mut by_group: HashMap<u32, HashMap<usize, Sums>> = HashMap::new();
        let mut by_task: HashMap<TaskId, HashMap<usize, Sums>> = HashMap::new();
        for ((group, id), a) in &r.allocated {
            let stack = self.stack(*id);
            let sums = by_group
                .entry(*group)
                .or_default()
                .entry(stack)
                .or_default();
            sums.allocated.0 += a.bytes;
            sums.allocated.1 += a.count;
        }
        for live in &r.live {
            let stack = self.stack(live.stack);
            let sums = by_group
                .entry(live.group)
                .or_default()
                .entry(stack)
                .or_default();
            sums.in_use.0 += live.bytes;
            sums.in_use.1 += live.count;
            match live.task {
                Some(task) if running.contains(&task) => {
                    let own = by_task.entry(task).or_default().entry(stack).or_default();
                    own.in_use.0 += live.bytes;
                    own.in_use.1 += live.count;
                }
                Some(_) => {
                    sums.retained.0 += live.bytes;
                    sums.retained.1 += live.count;
                }
                None => {}
            }
        }
        let untracked = by_group
            .remove(&UNTRACKED_GROUP)
            .map(sorted)
            .unwrap_or_default();
        let mut groups: Vec<GroupSites> = by_group
            .into_iter()
            .filter_map(|(g, rows)| {
                let (name, task_type) = r.groups.get(g as usize)?.clone()?;
                Some(GroupSites {
                    name,
                    task_type,
                    sites: sorted(rows),
                })
            })
            .collect();
        groups.sort_by(|a, b| {
            let used = |g: &GroupSites| g.sites.iter().map(|s| s.in_use_bytes).sum::<u64>();
            (used(b), a.name == OTHER_NAMES, &a.name, a.task_type).cmp(&(
                used(a),
                b.name == OTHER_NAMES,
                &b.name,
                b.task_type,
            ))
        });
        let mut tasks: Vec<TaskSites> = by_task
            .into_iter()
            .map(|(id, rows)| TaskSites {
                id,
                sites: sorted(rows),
            })
            .collect();
        tasks.sort_by_key(|t| t.id);
        let recent = r
            .recent
            .iter()
            .map(|s| SampledAllocation {
                at_ns: s.at_ns,
                task: s.task,
                stack: self.stack(s.stack),
                size: s.size,
            })
            .collect();
        CallSites {
            sample_bytes,
            samples: r.samples,
            dropped: r.dropped,
            stacks: self.stacks,
            groups,
            untracked,
            tasks,
            recent,
        }
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
