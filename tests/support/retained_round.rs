//! The workload of `retained_books`: a round of finished tasks that each leave one block
//! behind, spawned in batches by a tracked parent and from outside any task, with the
//! tracker's figures read between batches.

use memscope::{snapshot, spawn, TaskId, TaskType, Tracked, TrackedHandle};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::runtime::Runtime;
use tokio::sync::oneshot;

/// Tasks spawned at once, then awaited, before the next batch.
pub const BATCH: usize = 1000;
/// One task in this many is the parent's child.
pub const PARENT_SHARE: usize = 10;
/// The group of the tasks spawned from outside any task.
pub const LEAF: &str = "retained/leaf";
pub const LEAF_TYPE: TaskType = TaskType::MemoryIntensive;
/// The group of the parent's children (`Tracked::named`: the parent's type).
pub const CHILD: &str = "retained/child";
/// The tracked parent, which stays running through the round.
pub const PARENT: &str = "retained/parent";
pub const PARENT_TYPE: TaskType = TaskType::IoIntensive;

/// What a task hands back: its id and the block it leaves behind.
pub type Left = (TaskId, Box<[u8]>);
/// The blocks a round's tasks left behind, kept outside them.
pub type Held = Vec<Left>;

/// The size of the block task `i` leaves behind.
fn block_size(i: usize) -> usize {
    1 + i % 64
}

/// A task's body: one block of a known size, handed to the caller.
async fn leave_block(i: usize) -> Left {
    let block = vec![i as u8; block_size(i)].into_boxed_slice();
    (memscope::current_task_id().expect("inside a task"), block)
}

/// Spawns `count` tasks in batches from wherever it runs, `make` building each tracked
/// future; their blocks go to `out`, which has room for all of them (so pushing allocates
/// nothing inside a parent task). `handles` too is allocated by the caller.
async fn spawn_batches<F>(
    count: usize,
    first: usize,
    make: impl Fn(usize) -> Tracked<F>,
    out: &Mutex<Held>,
    handles: &mut Vec<TrackedHandle<Left>>,
    mut after_batch: impl FnMut(usize),
) where
    F: std::future::Future<Output = Left> + Send + 'static,
{
    let mut done = 0;
    while done < count {
        let end = (done + BATCH).min(count);
        for i in done..end {
            handles.push(spawn(make(first + i)));
        }
        for h in handles.drain(..) {
            let held = h.await.expect("task completed");
            out.lock().unwrap().push(held);
        }
        done = end;
        after_batch(done);
    }
}

/// What the tracker and the books looked like between two batches.
pub struct Checkpoint {
    pub done: usize,
    pub held: usize,
    pub tracker_live: u64,
    pub folded_retaining: u64,
}

fn checkpoint(done: usize) -> Checkpoint {
    let s = snapshot();
    Checkpoint {
        done,
        held: s.tasks.len(),
        tracker_live: s.tracker.live_bytes(),
        folded_retaining: s.folded_retaining_tasks,
    }
}

/// One round: the parent's children, then the rest, all holding one block each.
pub struct Round {
    pub leaves: Held,
    pub children: Held,
    pub parent: TaskId,
    pub release: oneshot::Sender<()>,
    pub parent_done: TrackedHandle<()>,
    pub checkpoints: Vec<Checkpoint>,
    pub elapsed: Duration,
}

/// Runs a round of `n` tasks on `rt`; the parent waits for `release` before it ends.
pub fn run_round(rt: &Runtime, n: usize) -> Round {
    let start = Instant::now();
    let n_children = n / PARENT_SHARE;
    let tenth = (n / 10).max(BATCH);
    let children = Arc::new(Mutex::new(Held::with_capacity(n_children)));
    let leaves = Mutex::new(Held::with_capacity(n - n_children));
    let mut checkpoints = Vec::new();
    let (spawned_tx, spawned_rx) = oneshot::channel::<()>();
    let (release, release_rx) = oneshot::channel::<()>();
    let (parent, parent_done) = rt.block_on(async {
        // Everything the parent needs is allocated here, outside it: its own live bytes
        // are then only tokio's cell for it.
        let out = Arc::clone(&children);
        let mut handles = Vec::with_capacity(BATCH);
        let parent = Tracked::new(
            async move {
                let make = |i| Tracked::named(leave_block(i), CHILD);
                spawn_batches(n_children, 0, make, &out, &mut handles, |_| {}).await;
                spawned_tx.send(()).expect("test waits");
                let _ = release_rx.await;
                drop(handles);
            },
            PARENT,
            PARENT_TYPE,
        );
        let id = parent.id();
        let done = spawn(parent);
        spawned_rx.await.expect("parent spawned its children");
        checkpoints.push(checkpoint(n_children));
        let mut handles = Vec::with_capacity(BATCH);
        let make = |i| Tracked::new(leave_block(i), LEAF, LEAF_TYPE);
        let count = n - n_children;
        spawn_batches(count, n_children, make, &leaves, &mut handles, |done| {
            if done % tenth == 0 || done == count {
                checkpoints.push(checkpoint(n_children + done));
            }
        })
        .await;
        (id, done)
    });
    let children = std::mem::take(&mut *children.lock().unwrap());
    Round {
        leaves: leaves.into_inner().unwrap(),
        children,
        parent,
        release,
        parent_done,
        checkpoints,
        elapsed: start.elapsed(),
    }
}

/// Prints the round's rate and checkpoints.
pub fn report(label: &str, n: usize, round: &Round) {
    eprintln!(
        "retained_books {label}: {n} tasks in {:.2?} ({:.0} tasks/s)",
        round.elapsed,
        n as f64 / round.elapsed.as_secs_f64()
    );
    for c in &round.checkpoints {
        eprintln!(
            "  after {:>8} tasks: held {:>5}, folded still owning {:>8}, tracker live {:>9} B",
            c.done, c.held, c.folded_retaining, c.tracker_live
        );
    }
}

/// The most the tracker held at a checkpoint of the round.
pub fn peak(round: &Round) -> u64 {
    let peak = round.checkpoints.iter().map(|c| c.tracker_live).max();
    peak.unwrap_or(0)
}
