//! Property test of the books against an independent model.
//!
//! Random sequences of `alloc` / `alloc_zeroed` / `realloc` (grow, shrink, same size) /
//! `dealloc`, with sizes from 0 to beyond the batch flush threshold and alignments from 1
//! to 4096, run on three threads, inside the scopes of three fresh tracked tasks or
//! outside any task. The model is a plain map from block to (owner, size) plus per-task
//! counters; after every case each task's allocated / freed bytes and counts, live and
//! peak bytes must equal the model's exactly.
//!
//! The operations call `GlobalAlloc` methods of a `TrackingAllocator<System>` directly
//! (the same code, and the same books, as the installed global allocator), once with
//! every owner in a trailer and once with `OwnerPlacement::SizeClasses` (class-boundary
//! sizes keep their owner in the out-of-band table), each inside
//! `ScopeHandle::run`, so nothing of the harness runs inside a task's scope. Payloads are
//! filled with a pattern and checked on every realloc and free: the owner trailer never
//! overlaps what the caller was given. Size 0 is passed on purpose: `TrackingAllocator`
//! turns it into a non-zero inner request (its trailer), which the spec requires to work.

use memscope::{snapshot, OwnerPlacement, ScopeHandle, TaskType, Tracked, TrackingAllocator};
use proptest::prelude::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::OnceLock;

static TRAILER: TrackingAllocator =
    TrackingAllocator::with_placement(System, OwnerPlacement::Trailer);
static SIZE_CLASSES: TrackingAllocator =
    TrackingAllocator::with_placement(System, OwnerPlacement::SizeClasses);

const TASKS: usize = 3;
const THREADS: usize = 3;

#[derive(Clone, Debug)]
enum Op {
    Alloc {
        size: usize,
        align_log2: u32,
        zeroed: bool,
    },
    Realloc {
        pick: usize,
        how: Resize,
    },
    Free {
        pick: usize,
    },
}

#[derive(Clone, Copy, Debug)]
enum Resize {
    Grow(usize),
    Shrink,
    Same,
}

/// One step: which scope (a task, or `TASKS` for none) and which thread run `op`.
#[derive(Clone, Debug)]
struct Step {
    op: Op,
    scope: usize,
    thread: usize,
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 0usize..=256,
        // Class boundaries: with `SizeClasses` their owner goes in the out-of-band table.
        3 => prop::sample::select(vec![80, 96, 128, 256, 1024, 4096, 8192, 65_536, 262_144]),
        4 => 257usize..=5000,
        1 => 60_000usize..=300_000, // past the 256 KiB batch threshold in a few steps
    ]
}

fn step() -> impl Strategy<Value = Step> {
    let op = prop_oneof![
        4 => (size(), 0u32..=12, any::<bool>())
            .prop_map(|(size, align_log2, zeroed)| Op::Alloc { size, align_log2, zeroed }),
        3 => (any::<usize>(), prop_oneof![
                (1usize..=70_000).prop_map(Resize::Grow),
                Just(Resize::Shrink),
                Just(Resize::Same),
            ])
            .prop_map(|(pick, how)| Op::Realloc { pick, how }),
        3 => any::<usize>().prop_map(|pick| Op::Free { pick }),
    ];
    (op, 0..=TASKS, 0..THREADS).prop_map(|(op, scope, thread)| Step { op, scope, thread })
}

/// Worker threads that run closures on request, one at a time, and answer.
type Job = Box<dyn FnOnce() -> usize + Send>;
type Worker = mpsc::SyncSender<(Job, mpsc::SyncSender<usize>)>;

fn workers() -> &'static Vec<Worker> {
    static W: OnceLock<Vec<Worker>> = OnceLock::new();
    W.get_or_init(|| {
        (1..THREADS)
            .map(|_| {
                let (tx, rx) = mpsc::sync_channel::<(Job, mpsc::SyncSender<usize>)>(0);
                std::thread::spawn(move || {
                    for (job, reply) in rx {
                        let _ = reply.send(job());
                    }
                });
                tx
            })
            .collect()
    })
}

/// Runs `f` on thread `thread` (0 = this one) and returns its result.
fn on_thread(thread: usize, f: impl FnOnce() -> usize + Send + 'static) -> usize {
    if thread == 0 {
        return f();
    }
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    workers()[thread - 1]
        .send((Box::new(f), reply_tx))
        .expect("worker alive");
    reply_rx.recv().expect("worker answered")
}

/// Runs `f` inside the scope of task `scope` (or outside any task) on `thread`.
fn run(
    handles: &[ScopeHandle],
    scope: usize,
    thread: usize,
    f: impl FnOnce() -> usize + Send + 'static,
) -> usize {
    let handle = handles.get(scope).cloned();
    on_thread(thread, move || match handle {
        Some(h) => h.run(f),
        None => f(),
    })
}

fn pattern(ptr: usize, i: usize) -> u8 {
    (ptr.wrapping_mul(31) ^ i.wrapping_mul(7)) as u8
}

/// Fills `len` bytes at `ptr` with its pattern.
fn fill(ptr: usize, len: usize) {
    // SAFETY: callers pass a live block of at least `len` bytes.
    let s = unsafe { std::slice::from_raw_parts_mut(ptr as *mut u8, len) };
    for (i, b) in s.iter_mut().enumerate() {
        *b = pattern(ptr, i);
    }
}

/// Checks the first `len` bytes at `ptr` carry the pattern of block `origin`.
fn check(ptr: usize, origin: usize, len: usize) -> bool {
    // SAFETY: callers pass a live block of at least `len` bytes.
    let s = unsafe { std::slice::from_raw_parts(ptr as *const u8, len) };
    s.iter().enumerate().all(|(i, &b)| b == pattern(origin, i))
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Books {
    allocated_bytes: u64,
    allocation_count: u64,
    freed_bytes: u64,
    free_count: u64,
    live_bytes: u64,
    peak_bytes: u64,
}

impl Books {
    fn alloc(&mut self, size: usize) {
        self.allocated_bytes += size as u64;
        self.allocation_count += 1;
        self.live_bytes += size as u64;
        self.peak_bytes = self.peak_bytes.max(self.live_bytes);
    }

    fn free(&mut self, size: usize) {
        self.freed_bytes += size as u64;
        self.free_count += 1;
        self.live_bytes -= size as u64;
    }
}

struct Block {
    owner: Option<usize>,
    size: usize,
    align: usize,
}

struct Model {
    blocks: HashMap<usize, Block>,
    order: Vec<usize>,
    tasks: [Books; TASKS],
}

impl Model {
    fn charge_alloc(&mut self, ptr: usize, scope: usize, size: usize, align: usize) {
        let owner = (scope < TASKS).then_some(scope);
        if let Some(t) = owner {
            self.tasks[t].alloc(size);
        }
        assert!(self
            .blocks
            .insert(ptr, Block { owner, size, align })
            .is_none());
        self.order.push(ptr);
    }

    fn charge_free(&mut self, ptr: usize) -> Block {
        let block = self.blocks.remove(&ptr).expect("live block");
        self.order.retain(|&p| p != ptr);
        if let Some(t) = block.owner {
            self.tasks[t].free(block.size);
        }
        block
    }

    fn pick(&self, pick: usize) -> Option<usize> {
        (!self.order.is_empty()).then(|| self.order[pick % self.order.len()])
    }
}

fn actual(handles: &[ScopeHandle]) -> Vec<Books> {
    let s = snapshot();
    handles
        .iter()
        .map(|h| {
            let t = s.task(h.id()).expect("task held");
            Books {
                allocated_bytes: t.heap.allocated_bytes,
                allocation_count: t.heap.allocation_count,
                freed_bytes: t.heap.freed_bytes,
                free_count: t.heap.free_count,
                live_bytes: t.live_bytes,
                peak_bytes: t.peak_bytes,
            }
        })
        .collect()
}

fn run_case(a: &'static TrackingAllocator, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let tracked: Vec<_> = (0..TASKS)
        .map(|i| Tracked::new(async {}, format!("prop/{i}"), TaskType::MemoryIntensive))
        .collect();
    let handles: Vec<ScopeHandle> = tracked.iter().map(|t| t.scope_handle()).collect();
    let mut model = Model {
        blocks: HashMap::new(),
        order: Vec::new(),
        tasks: [Books::default(); TASKS],
    };

    for Step { op, scope, thread } in steps {
        match op {
            Op::Alloc {
                size,
                align_log2,
                zeroed,
            } => {
                let align = 1usize << align_log2;
                let layout = Layout::from_size_align(size, align).unwrap();
                let ptr = run(&handles, scope, thread, move || {
                    // SAFETY: a valid layout (size 0 is fine for TrackingAllocator: see
                    // the module docs); the result is checked before use.
                    unsafe {
                        if zeroed {
                            a.alloc_zeroed(layout) as usize
                        } else {
                            a.alloc(layout) as usize
                        }
                    }
                });
                prop_assert!(ptr != 0);
                prop_assert_eq!(ptr % align, 0, "alignment {}", align);
                if zeroed {
                    // SAFETY: `ptr` is a live block of `size` bytes.
                    let s = unsafe { std::slice::from_raw_parts(ptr as *const u8, size) };
                    prop_assert!(
                        s.iter().all(|&b| b == 0),
                        "alloc_zeroed gave non-zero bytes"
                    );
                }
                fill(ptr, size);
                model.charge_alloc(ptr, scope, size, align);
            }
            Op::Realloc { pick, how } => {
                let Some(ptr) = model.pick(pick) else {
                    continue;
                };
                let (old, align) = {
                    let b = &model.blocks[&ptr];
                    (b.size, b.align)
                };
                let new = match how {
                    Resize::Grow(by) => old + by,
                    Resize::Shrink => old / 2,
                    Resize::Same => old,
                };
                let layout = Layout::from_size_align(old, align).unwrap();
                prop_assert!(check(ptr, ptr, old), "payload damaged before realloc");
                let moved = run(&handles, scope, thread, move || {
                    // SAFETY: `ptr` is live with `layout`; `new` rounded up to `align`
                    // does not overflow isize for these sizes.
                    unsafe { a.realloc(ptr as *mut u8, layout, new) as usize }
                });
                prop_assert!(moved != 0);
                prop_assert_eq!(moved % align, 0);
                prop_assert!(check(moved, ptr, old.min(new)), "realloc lost the payload");
                model.charge_free(ptr);
                fill(moved, new);
                model.charge_alloc(moved, scope, new, align);
            }
            Op::Free { pick } => {
                let Some(ptr) = model.pick(pick) else {
                    continue;
                };
                let (size, align) = {
                    let b = &model.blocks[&ptr];
                    (b.size, b.align)
                };
                prop_assert!(check(ptr, ptr, size), "payload damaged before free");
                let layout = Layout::from_size_align(size, align).unwrap();
                run(&handles, scope, thread, move || {
                    // SAFETY: `ptr` is live with `layout`, freed once.
                    unsafe { a.dealloc(ptr as *mut u8, layout) };
                    0
                });
                model.charge_free(ptr);
            }
        }
    }

    prop_assert_eq!(actual(&handles), model.tasks.to_vec());

    // Free what is left, from this thread outside any task: charged back to the owners.
    for ptr in model.order.clone() {
        let b = &model.blocks[&ptr];
        let layout = Layout::from_size_align(b.size, b.align).unwrap();
        // SAFETY: `ptr` is live with `layout`, freed once.
        unsafe { a.dealloc(ptr as *mut u8, layout) };
        model.charge_free(ptr);
    }
    let after = actual(&handles);
    prop_assert_eq!(&after, &model.tasks.to_vec());
    for b in after {
        prop_assert_eq!(b.live_bytes, 0);
        prop_assert_eq!(b.freed_bytes, b.allocated_bytes);
    }
    drop(handles);
    drop(tracked);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("CI").is_some() { 128 } else { 512 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn books_match_an_independent_model(steps in prop::collection::vec(step(), 1..80)) {
        run_case(&TRAILER, steps)?;
    }

    #[test]
    fn books_match_with_owners_out_of_band(steps in prop::collection::vec(step(), 1..80)) {
        run_case(&SIZE_CLASSES, steps)?;
    }
}
