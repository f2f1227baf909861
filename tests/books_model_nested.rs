//! Property test of the books with nested tasks whose memory outlives them, against an
//! independent model (the companion of `books_model.rs`, which covers the allocator
//! operations inside flat tasks).
//!
//! A case is a random sequence of steps, under a random retention of 0 to 3 tasks (so
//! finished tasks are folded into their group almost at once):
//! - run a program: a random tree of tracked futures, each awaited inline inside its
//!   parent's poll (`Tracked::new` with a type, or `Tracked::named`, which takes the
//!   parent's), each allocating blocks it frees at its end, handing blocks out to a pool
//!   outside the tasks, freeing pooled blocks (its own, its ancestors', or those of tasks
//!   of earlier programs, long folded), and yielding; on one of three threads, the root
//!   sometimes kept held by a `ScopeHandle`;
//! - free some pooled blocks outside any task, on one of three threads;
//! - run filler tasks that push the case's tasks out of the retention, or (`sweep`) as
//!   many as it takes to have every task of the case folded but the pinned roots (each
//!   shard sweeps its lingering records when 64 linger; a task still owning memory is
//!   folded all the same).
//!
//! The `i`-th task of a case is named `nest/{i}` in every case; it is the only task of
//! its name in the case and earlier ones hold nothing any more, so its `(name, type)`
//! group's change since the case began is the task, held or folded. After every step,
//! each group's type (the inherited one for `named`), task count, allocated / freed
//! bytes and counts, live and retained bytes (and `retaining_count`,
//! `min_`/`max_retained_bytes`) must equal the model's; each task still held must show
//! its own figures, its parent, as `inclusive` and `inclusive_retained_bytes` those of
//! its whole subtree, folded descendants included, and as
//! `folded_descendants_retained_bytes` / `_retaining` what the folded tasks it is the
//! nearest listed ancestor of still hold; and `folded_retaining_tasks` must count exactly
//! the case's folded tasks still owning a block. At the end of a case every pooled block
//! is freed and everything reads zero.
//!
//! The tasks run on `block_on` with a no-op waker, which allocates nothing, and every
//! future, name and pool slot is allocated before the tasks run, so the books of a task
//! hold exactly its own blocks. `configure` is process-wide: this binary has one test.

use memscope::{configure, snapshot, Config, MemorySnapshot, ScopeHandle, TaskId, TaskType};
use memscope::{GroupProfile, Tracked};
use memscope_test_support::{block_on, yield_once};
use proptest::prelude::*;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{mpsc, Arc, Mutex, OnceLock};

const THREADS: usize = 3;
const TYPES: [TaskType; 4] = [
    TaskType::CpuIntensive,
    TaskType::IoIntensive,
    TaskType::NetworkIntensive,
    TaskType::MemoryIntensive,
];

#[derive(Clone, Debug)]
enum Act {
    /// A block freed at the task's end.
    Keep(usize),
    /// A block put in the pool.
    HandOut(usize),
    /// Frees a pooled block (picked among those live), if any.
    Free(usize),
    Yield,
    Child(Node),
}

#[derive(Clone, Debug)]
struct Node {
    /// `None`: `Tracked::named`, the parent's type.
    task_type: Option<TaskType>,
    acts: Vec<Act>,
}

#[derive(Clone, Debug)]
enum Step {
    Run {
        root: Node,
        thread: usize,
        pin: bool,
    },
    FreeOutside {
        picks: Vec<usize>,
        thread: usize,
    },
    Fold {
        sweep: bool,
    },
}

fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        8 => 1usize..=256,
        2 => 257usize..=5000,
        1 => 200_000usize..=300_000, // past the 256 KiB batch threshold
    ]
}

fn task_type() -> impl Strategy<Value = Option<TaskType>> {
    prop_oneof![
        Just(None),
        prop::sample::select(TYPES.to_vec()).prop_map(Some)
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        2 => size().prop_map(Act::Keep),
        5 => size().prop_map(Act::HandOut),
        2 => any::<usize>().prop_map(Act::Free),
        1 => Just(Act::Yield),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = (task_type(), prop::collection::vec(act(), 0..5))
        .prop_map(|(task_type, acts)| Node { task_type, acts });
    leaf.prop_recursive(4, 16, 5, |inner| {
        let act = prop_oneof![3 => act(), 2 => inner.prop_map(Act::Child)];
        (task_type(), prop::collection::vec(act, 0..6))
            .prop_map(|(task_type, acts)| Node { task_type, acts })
    })
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (node(), 0..THREADS, any::<bool>())
            .prop_map(|(root, thread, pin)| Step::Run { root, thread, pin }),
        2 => (prop::collection::vec(any::<usize>(), 1..6), 0..THREADS)
            .prop_map(|(picks, thread)| Step::FreeOutside { picks, thread }),
        3 => prop::bool::weighted(0.6).prop_map(|sweep| Step::Fold { sweep }),
    ]
}

/// Worker threads that run closures on request, one at a time.
type Job = Box<dyn FnOnce() + Send>;
type Worker = mpsc::SyncSender<(Job, mpsc::SyncSender<()>)>;

fn workers() -> &'static Vec<Worker> {
    static W: OnceLock<Vec<Worker>> = OnceLock::new();
    W.get_or_init(|| {
        (1..THREADS)
            .map(|_| {
                let (tx, rx) = mpsc::sync_channel::<(Job, mpsc::SyncSender<()>)>(0);
                std::thread::spawn(move || {
                    for (job, reply) in rx {
                        job();
                        let _ = reply.send(());
                    }
                });
                tx
            })
            .collect()
    })
}

/// Runs `f` on thread `thread` (0 = this one), outside any task, and waits for it.
fn on_thread(thread: usize, f: impl FnOnce() + Send + 'static) {
    if thread == 0 {
        return f();
    }
    let (reply_tx, reply_rx) = mpsc::sync_channel(1);
    workers()[thread - 1]
        .send((Box::new(f), reply_tx))
        .expect("worker alive");
    reply_rx.recv().expect("worker answered");
}

/// One task's figures, as the model counts them: every block is its allocator's, freed
/// by whoever frees it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Books {
    allocated_bytes: u64,
    allocation_count: u64,
    freed_bytes: u64,
    free_count: u64,
}

impl Books {
    fn alloc(&mut self, size: usize) {
        self.allocated_bytes += size as u64;
        self.allocation_count += 1;
    }

    fn free(&mut self, size: usize) {
        self.freed_bytes += size as u64;
        self.free_count += 1;
    }

    fn add(&mut self, other: Books) {
        self.allocated_bytes += other.allocated_bytes;
        self.allocation_count += other.allocation_count;
        self.freed_bytes += other.freed_bytes;
        self.free_count += other.free_count;
    }

    fn minus(self, earlier: Books) -> Books {
        Books {
            allocated_bytes: self.allocated_bytes - earlier.allocated_bytes,
            allocation_count: self.allocation_count - earlier.allocation_count,
            freed_bytes: self.freed_bytes - earlier.freed_bytes,
            free_count: self.free_count - earlier.free_count,
        }
    }

    fn live_bytes(&self) -> u64 {
        self.allocated_bytes - self.freed_bytes
    }

    fn live_count(&self) -> u64 {
        self.allocation_count - self.free_count
    }

    fn of(heap: &memscope::HeapCounters) -> Books {
        Books {
            allocated_bytes: heap.allocated_bytes,
            allocation_count: heap.allocation_count,
            freed_bytes: heap.freed_bytes,
            free_count: heap.free_count,
        }
    }
}

#[derive(Clone, Debug)]
struct TaskModel {
    name: &'static str,
    task_type: TaskType,
    parent: Option<usize>,
    books: Books,
}

/// The name of a case's task `index`: the same in every case (so the groups stay few),
/// leaked once.
fn task_name(index: usize) -> &'static str {
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap();
    while names.len() <= index {
        let name = format!("nest/{}", names.len());
        names.push(Box::leak(name.into_boxed_str()));
    }
    names[index]
}

/// The groups of the case's names before it started, by `(name, type)`.
type Baseline = HashMap<(String, TaskType), GroupProfile>;

fn baseline() -> Baseline {
    let s = snapshot();
    let ours = s.groups.into_iter().filter(|g| g.name.starts_with("nest/"));
    ours.map(|g| ((g.name.clone(), g.task_type), g)).collect()
}

/// What one node of a program does, with its blocks and pool slots resolved.
enum Run {
    Keep(usize),
    HandOut { slot: usize, size: usize },
    Free(usize),
    Yield,
    Child(Compiled),
}

struct Compiled {
    index: usize,
    name: &'static str,
    task_type: Option<TaskType>,
    runs: Vec<Run>,
}

/// The model: the case's tasks and its pool of handed-out blocks.
#[derive(Default)]
struct Model {
    tasks: Vec<TaskModel>,
    /// Per slot, (owner, size) while the block is live.
    pool: Vec<Option<(usize, usize)>>,
    /// Live slots, in the order they were filled.
    live: Vec<usize>,
}

impl Model {
    fn free_pick(&mut self, pick: usize) -> Option<usize> {
        if self.live.is_empty() {
            return None;
        }
        let slot = self.live.remove(pick % self.live.len());
        let (owner, size) = self.pool[slot].take().expect("live slot");
        self.tasks[owner].books.free(size);
        Some(slot)
    }

    /// Walks `node` in the order its task runs it, counting what each task allocates and
    /// frees.
    fn compile(&mut self, node: &Node, parent: Option<usize>) -> Compiled {
        let index = self.tasks.len();
        let inherited = parent.map_or(TaskType::Unspecified, |p| self.tasks[p].task_type);
        let name = task_name(index);
        self.tasks.push(TaskModel {
            name,
            task_type: node.task_type.unwrap_or(inherited),
            parent,
            books: Books::default(),
        });
        let mut runs = Vec::new();
        let mut kept = Vec::new();
        for act in &node.acts {
            match act {
                Act::Keep(size) => {
                    self.tasks[index].books.alloc(*size);
                    kept.push(*size);
                    runs.push(Run::Keep(*size));
                }
                Act::HandOut(size) => {
                    let slot = self.pool.len();
                    self.pool.push(Some((index, *size)));
                    self.live.push(slot);
                    self.tasks[index].books.alloc(*size);
                    runs.push(Run::HandOut { slot, size: *size });
                }
                Act::Free(pick) => runs.extend(self.free_pick(*pick).map(Run::Free)),
                Act::Yield => runs.push(Run::Yield),
                Act::Child(child) => runs.push(Run::Child(self.compile(child, Some(index)))),
            }
        }
        for size in kept {
            self.tasks[index].books.free(size);
        }
        Compiled {
            index,
            name,
            task_type: node.task_type,
            runs,
        }
    }
}

/// What the tasks share with the test: the pool, and each task's id once it ran.
struct Shared {
    pool: Vec<Mutex<Option<Box<[u8]>>>>,
    ids: Vec<Mutex<Option<TaskId>>>,
}

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

enum Ready {
    Run(Run),
    Child(&'static str, Option<TaskType>, BoxFuture),
}

fn block(size: usize) -> Box<[u8]> {
    vec![size as u8; size].into_boxed_slice()
}

/// The future of one task's body, built (with its children's) outside any task.
fn build(c: Compiled, shared: &Arc<Shared>) -> BoxFuture {
    let index = c.index;
    let keeps = c.runs.iter().filter(|r| matches!(r, Run::Keep(_))).count();
    let mut kept: Vec<Box<[u8]>> = Vec::with_capacity(keeps);
    let steps: Vec<Ready> = c
        .runs
        .into_iter()
        .map(|r| match r {
            Run::Child(c) => Ready::Child(c.name, c.task_type, build(c, shared)),
            other => Ready::Run(other),
        })
        .collect();
    let shared = Arc::clone(shared);
    Box::pin(async move {
        *shared.ids[index].lock().unwrap() = memscope::current_task_id();
        for step in steps {
            match step {
                Ready::Run(Run::Keep(size)) => kept.push(block(size)),
                Ready::Run(Run::HandOut { slot, size }) => {
                    *shared.pool[slot].lock().unwrap() = Some(block(size));
                }
                Ready::Run(Run::Free(slot)) => drop(shared.pool[slot].lock().unwrap().take()),
                Ready::Run(Run::Yield) => yield_once().await,
                Ready::Run(Run::Child(_)) => unreachable!("built as Ready::Child"),
                Ready::Child(name, Some(ty), fut) => Tracked::new(fut, name, ty).await,
                Ready::Child(name, None, fut) => Tracked::named(fut, name).await,
            }
        }
        drop(kept);
    })
}

/// One step, compiled: what to do and the model's tasks once it is done.
enum Planned {
    Run {
        root: Compiled,
        thread: usize,
        pin: bool,
    },
    FreeOutside {
        slots: Vec<usize>,
        thread: usize,
    },
    Fold {
        sweep: bool,
    },
}

/// Runs empty tasks: enough to push every earlier task out of a retention of up to 8.
fn push_out() {
    for _ in 0..16 {
        block_on(Tracked::new(async {}, "nest/filler", TaskType::Background));
    }
}

/// Runs empty tasks until every task of `ids` but the `pinned` ones is folded, whether it
/// still owns memory or not. A parent pushed out of the retention while a child's record
/// is still held lingers until its shard sweeps its lingering records, which it does when
/// 64 linger: each round runs 65 tasks per shard under retention 0, where every task
/// lingers for a moment (it ends inside its last poll, its `Tracked` still alive), so
/// every shard sweeps. A subtree of depth `d` needs up to `d + 1` rounds.
fn fold_all(ids: &[TaskId], pinned: &[TaskId], retention: usize) -> Result<(), TestCaseError> {
    configure(config(0));
    let mut folded = false;
    for _ in 0..8 {
        for _ in 0..8 * 65 {
            block_on(Tracked::new(async {}, "nest/filler", TaskType::Background));
        }
        let s = snapshot();
        folded = ids
            .iter()
            .all(|id| pinned.contains(id) || s.task(*id).is_none());
        if folded {
            break;
        }
    }
    configure(config(retention));
    prop_assert!(folded, "finished tasks still held after 8 sweeps");
    Ok(())
}

fn config(retention: usize) -> Config {
    Config::default()
        .with_retention(retention)
        .with_max_groups(1 << 20)
}

fn check(
    s: &MemorySnapshot,
    tasks: &[TaskModel],
    shared: &Shared,
    base: &Baseline,
) -> Result<(), TestCaseError> {
    let groups: HashMap<(&str, TaskType), &GroupProfile> = s
        .groups
        .iter()
        .map(|g| ((g.name.as_str(), g.task_type), g))
        .collect();
    let ids: Vec<TaskId> = (0..tasks.len())
        .map(|i| shared.ids[i].lock().unwrap().expect("task ran"))
        .collect();
    // Subtree sums: a child's index is above its parent's.
    let mut subtree: Vec<Books> = tasks.iter().map(|t| t.books).collect();
    for i in (0..tasks.len()).rev() {
        if let Some(p) = tasks[i].parent {
            let child = subtree[i];
            subtree[p].add(child);
        }
    }
    // Per held task, what its folded descendants hold for which it is the nearest
    // ancestor still listed: (bytes, holders).
    let held: Vec<bool> = ids.iter().map(|&id| s.task(id).is_some()).collect();
    let mut folded_below = vec![(0u64, 0u64); tasks.len()];
    for (j, t) in tasks.iter().enumerate() {
        if held[j] || t.books.live_count() == 0 {
            continue;
        }
        let mut at = t.parent;
        while let Some(p) = at.filter(|&p| !held[p]) {
            at = tasks[p].parent;
        }
        if let Some(p) = at {
            folded_below[p].0 += t.books.live_bytes();
            folded_below[p].1 += 1;
        }
    }
    let mut folded_owning = 0;
    for (i, t) in tasks.iter().enumerate() {
        let name = t.name;
        // This case's task is the only one of its name since the baseline, and every
        // earlier one holds nothing any more.
        let empty = GroupProfile::default();
        let before = base.get(&(name.to_owned(), t.task_type)).unwrap_or(&empty);
        prop_assert_eq!(before.live_bytes, 0);
        for ty in TaskType::ALL.iter().filter(|&&ty| ty != t.task_type) {
            let other = groups.get(&(name, *ty)).map_or(0, |g| g.task_count);
            let other_before = base
                .get(&(name.to_owned(), *ty))
                .map_or(0, |g| g.task_count);
            prop_assert_eq!(other, other_before, "{} counted as {}", name, ty);
        }
        let g = groups.get(&(name, t.task_type)).copied();
        prop_assert!(g.is_some(), "no group {} of type {}", name, t.task_type);
        let g = g.unwrap();
        prop_assert_eq!(
            (
                g.task_count - before.task_count,
                g.completed_count - before.completed_count
            ),
            (1, 1),
            "{} counts",
            name
        );
        let heap = Books::of(&g.heap).minus(Books::of(&before.heap));
        prop_assert_eq!(heap, t.books, "{} group heap", name);
        prop_assert_eq!(g.live_bytes, t.books.live_bytes(), "{} live", name);
        prop_assert_eq!(g.retained_bytes, t.books.live_bytes(), "{} retained", name);
        let holds = t.books.live_count() > 0;
        prop_assert_eq!(g.retaining_count, u64::from(holds), "{} holders", name);
        let held_bytes = if holds { t.books.live_bytes() } else { 0 };
        prop_assert_eq!(
            (g.min_retained_bytes, g.max_retained_bytes),
            (held_bytes, held_bytes),
            "{} least and most held",
            name
        );
        match s.task(ids[i]) {
            Some(p) => {
                prop_assert_eq!(p.name.as_str(), name);
                prop_assert_eq!(p.task_type, t.task_type);
                prop_assert_eq!(p.parent, t.parent.map(|p| ids[p]), "{} parent", name);
                prop_assert_eq!(Books::of(&p.heap), t.books, "{} own heap", name);
                prop_assert_eq!(Books::of(&p.inclusive), subtree[i], "{} inclusive", name);
                prop_assert_eq!(
                    p.inclusive_retained_bytes,
                    subtree[i].live_bytes(),
                    "{} inclusive retained",
                    name
                );
                prop_assert_eq!(s.inclusive_heap(ids[i]), p.inclusive);
                prop_assert_eq!(
                    (
                        p.folded_descendants_retained_bytes,
                        p.folded_descendants_retaining
                    ),
                    folded_below[i],
                    "{} folded descendants' holdings",
                    name
                );
            }
            None => folded_owning += u64::from(t.books.live_count() > 0),
        }
    }
    prop_assert_eq!(
        s.folded_retaining_tasks,
        folded_owning,
        "folded still owning"
    );
    Ok(())
}

fn run_case(retention: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    configure(config(retention));
    let base = baseline();
    let mut model = Model::default();
    // Compiled first, so the pool and id slots are allocated before any task runs.
    let mut plan = Vec::new();
    for step in &steps {
        let planned = match step {
            Step::Run { root, thread, pin } => Planned::Run {
                root: model.compile(root, None),
                thread: *thread,
                pin: *pin,
            },
            Step::FreeOutside { picks, thread } => Planned::FreeOutside {
                slots: picks.iter().filter_map(|&p| model.free_pick(p)).collect(),
                thread: *thread,
            },
            Step::Fold { sweep } => Planned::Fold { sweep: *sweep },
        };
        plan.push((planned, model.tasks.clone()));
    }
    let shared = Arc::new(Shared {
        pool: (0..model.pool.len()).map(|_| Mutex::new(None)).collect(),
        ids: (0..model.tasks.len()).map(|_| Mutex::new(None)).collect(),
    });
    let mut pinned: Vec<ScopeHandle> = Vec::new();
    for (planned, tasks) in plan {
        match planned {
            Planned::Run { root, thread, pin } => {
                let (name, ty) = (root.name, root.task_type);
                let body = build(root, &shared);
                let root = match ty {
                    Some(ty) => Tracked::new(body, name, ty),
                    None => Tracked::named(body, name),
                };
                if pin {
                    pinned.push(root.scope_handle());
                }
                on_thread(thread, move || block_on(root));
            }
            Planned::FreeOutside { slots, thread } => {
                let blocks: Vec<_> = slots
                    .iter()
                    .map(|&s| shared.pool[s].lock().unwrap().take().expect("live block"))
                    .collect();
                on_thread(thread, move || drop(blocks));
            }
            Planned::Fold { sweep: false } => push_out(),
            Planned::Fold { sweep: true } => {
                let ids: Vec<TaskId> = (0..tasks.len())
                    .map(|i| shared.ids[i].lock().unwrap().expect("task ran"))
                    .collect();
                let pinned: Vec<TaskId> = pinned.iter().map(|h| h.id()).collect();
                fold_all(&ids, &pinned, retention)?;
            }
        }
        check(&snapshot(), &tasks, &shared, &base)?;
    }

    // Everything left is freed here, outside any task: every figure goes back to zero.
    for &slot in &model.live {
        let (owner, size) = model.pool[slot].take().expect("live slot");
        model.tasks[owner].books.free(size);
        drop(
            shared.pool[slot]
                .lock()
                .unwrap()
                .take()
                .expect("live block"),
        );
    }
    push_out();
    check(&snapshot(), &model.tasks, &shared, &base)?;
    for t in &model.tasks {
        prop_assert_eq!(t.books.live_bytes(), 0);
    }
    drop(pinned);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("CI").is_some() { 96 } else { 384 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn nested_and_folded_books_match_a_model(
        retention in 0usize..4,
        steps in prop::collection::vec(step(), 1..12),
    ) {
        run_case(retention, steps)?;
    }
}
