//! The same tracked workload under tokio (current-thread and multi-thread), smol and
//! `futures::executor` (`block_on` and `LocalPool`): `Tracked` and `#[track]` need no
//! particular executor, and every figure is the same, exactly, under each.
//!
//! The workload awaits only an executor-agnostic yield (wake itself, return `Pending`
//! once), so nothing but the workload allocates inside its tasks' scopes; the root task
//! is handed to each executor from outside its scope, so the executor's own allocation
//! for it is not the task's.

use memscope::{snapshot, Outcome, TaskId, TaskType, Tracked};
use memscope_test_support::{runtime, yield_once, Flavor};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;

/// A nested tracked task: 2000 + 500 held across a yield, 500 freed, 300 handed back.
#[memscope::track(name = "runtimes/child", task_type = "cpu")]
async fn child() -> Vec<u8> {
    let keep = std::hint::black_box(vec![1u8; 2000]);
    let scratch = std::hint::black_box(vec![2u8; 500]);
    yield_once().await;
    drop(scratch);
    let out = std::hint::black_box(vec![3u8; 300]);
    yield_once().await;
    drop(keep);
    out
}

/// Holds 400 bytes and never finishes; dropped by its parent after one poll.
async fn abandoned() {
    let _held = std::hint::black_box(vec![4u8; 400]);
    std::future::pending::<()>().await;
}

#[derive(Debug)]
struct Ids {
    root: TaskId,
    child: TaskId,
    abandoned: TaskId,
}

fn root() -> (Tracked<impl Future<Output = Ids>>, TaskId) {
    let fut = Tracked::new(
        async {
            let mine = std::hint::black_box(vec![0u8; 1000]);
            let handed = child().await;
            // The child's 300 bytes, freed by its parent: still the child's.
            drop(handed);
            let child = snapshot()
                .children(current_id())
                .find(|t| t.name == "runtimes/child")
                .map(|t| t.id)
                .expect("child");
            let abandoned = Tracked::new(abandoned(), "runtimes/abandoned", TaskType::IoIntensive);
            let abandoned_id = abandoned.id();
            {
                let mut abandoned = pin!(abandoned);
                let ready =
                    std::future::poll_fn(|cx| Poll::Ready(abandoned.as_mut().poll(cx).is_ready()))
                        .await;
                assert!(!ready);
            } // dropped half-way: cancelled
            yield_once().await;
            drop(mine);
            Ids {
                root: current_id(),
                child,
                abandoned: abandoned_id,
            }
        },
        "runtimes/root",
        TaskType::CpuIntensive,
    );
    let id = fut.id();
    (fut, id)
}

fn current_id() -> TaskId {
    memscope::current_task_id().expect("inside the root task")
}

fn check(executor: &str, ids: Ids, root_id: TaskId) {
    assert_eq!(ids.root, root_id, "{executor}");
    let s = snapshot();
    let root = s.task(ids.root).expect("root");
    let child = s.task(ids.child).expect("child");
    let gone = s.task(ids.abandoned).expect("abandoned");

    assert_eq!(root.outcome, Outcome::Completed, "{executor}");
    // Its 1000 bytes; the snapshot it took inside is the tracker's, not the task's.
    assert_eq!(
        (root.heap.allocated_bytes, root.heap.allocation_count),
        (1000, 1),
        "{executor}"
    );
    assert_eq!(
        (root.heap.freed_bytes, root.heap.free_count, root.live_bytes),
        (1000, 1, 0),
        "{executor}"
    );
    assert_eq!(root.peak_bytes, 1000, "{executor}");
    assert_eq!(
        root.poll_count, 4,
        "{executor}: two yields in the child, one in the root"
    );

    assert_eq!(child.outcome, Outcome::Completed, "{executor}");
    assert_eq!(child.parent, Some(ids.root), "{executor}");
    assert_eq!(child.task_type, TaskType::CpuIntensive);
    assert_eq!(
        (child.heap.allocated_bytes, child.heap.allocation_count),
        (2800, 3),
        "{executor}"
    );
    assert_eq!(
        (
            child.heap.freed_bytes,
            child.heap.free_count,
            child.live_bytes
        ),
        (2800, 3, 0),
        "{executor}"
    );
    assert_eq!(child.peak_bytes, 2500, "{executor}");
    assert_eq!(child.poll_count, 3, "{executor}");

    assert_eq!(gone.outcome, Outcome::Cancelled, "{executor}");
    assert_eq!(gone.parent, Some(ids.root), "{executor}");
    assert_eq!(
        (
            gone.heap.allocated_bytes,
            gone.heap.freed_bytes,
            gone.live_bytes
        ),
        (400, 400, 0),
        "{executor}"
    );
    assert_eq!(gone.poll_count, 1, "{executor}");

    let inclusive = s.inclusive_heap(ids.root);
    assert_eq!(inclusive.allocated_bytes, 1000 + 2800 + 400, "{executor}");
    assert_eq!(inclusive.live_bytes(), 0, "{executor}");
}

#[test]
fn tokio_current_thread() {
    let rt = runtime(Flavor::CurrentThread);
    let (fut, id) = root();
    let ids = rt.block_on(fut);
    check("tokio current-thread", ids, id);
}

#[test]
fn tokio_multi_thread_on_a_worker() {
    let rt = runtime(Flavor::MultiThread);
    let (fut, id) = root();
    // Plain `spawn`, outside the task's scope: tokio's task cell is not the task's.
    let ids = rt.block_on(rt.spawn(fut)).unwrap();
    check("tokio multi-thread", ids, id);
}

#[test]
fn smol_executor_and_block_on() {
    let (fut, id) = root();
    check("smol::block_on", smol::block_on(fut), id);

    let ex = smol::Executor::new();
    let (fut, id) = root();
    let task = ex.spawn(fut);
    check("smol::Executor", smol::block_on(ex.run(task)), id);
}

#[test]
fn futures_executor_block_on_and_local_pool() {
    let (fut, id) = root();
    check(
        "futures::executor::block_on",
        futures::executor::block_on(fut),
        id,
    );

    use futures::task::LocalSpawnExt;
    let mut pool = futures::executor::LocalPool::new();
    let (fut, id) = root();
    let handle = pool.spawner().spawn_local_with_handle(fut).unwrap();
    check("futures LocalPool", pool.run_until(handle), id);
}
