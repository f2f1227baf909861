//! Turning the site books' reading into a [`CallSites`]: each hook stack resolved once,
//! the allocator's own frames cut off its innermost end, stacks that read the same merged,
//! and the weights of the samples summed per site and rounded once.

use crate::base::task::TaskId;
use crate::books::site_collector;
use crate::books::sites::{self, SitesReading, OTHER_NAMES, UNTRACKED_GROUP};
use crate::books::symbols;
use crate::hook::stacks;
use crate::view::sites::{
    CallSites, CallStack, GroupSites, SampledAllocation, SiteFigures, StackFrame, TaskSites,
};
use std::collections::{HashMap, HashSet};

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
