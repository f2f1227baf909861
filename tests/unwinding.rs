//! Unwinding out of user code, at every point memscope calls into it — a poll, the drop of
//! the future (cancellation), a `ScopeHandle::run` closure — ends the task with the right
//! outcome at once and leaves the books exact: no phantom running task, no lost bytes,
//! the thread's slot restored.

use memscope::{snapshot, Outcome, TaskId, TaskType, Tracked};
use memscope_test_support::yield_once;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// Panics when dropped.
struct Bomb;

impl Drop for Bomb {
    fn drop(&mut self) {
        panic!("bomb went off in Drop");
    }
}

/// Silences the panics these tests cause on purpose, and lets std make its one-time
/// panic state (the hook, stderr's lock, the thread's name) outside any task: it is
/// process state, not the tasks' memory.
fn quiet_panics() -> std::sync::MutexGuard<'static, ()> {
    // One test at a time: they compare the process-wide count of running tasks.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let on_purpose = info
            .payload()
            .downcast_ref::<&str>()
            .is_some_and(|m| m.starts_with("panic in") || m.starts_with("bomb") || *m == "warm-up");
        if !on_purpose {
            default(info);
        }
    }));
    let _ = catch_unwind(|| panic!("warm-up"));
    serial
}

fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn is_running(id: TaskId) -> bool {
    snapshot()
        .tasks
        .iter()
        .any(|t| t.id == id && t.outcome == Outcome::Running)
}

/// Where the user's code unwinds.
#[derive(Clone, Copy, Debug)]
enum Point {
    FirstPoll,
    LaterPoll,
    Drop,
}

/// A future that allocates `bytes` (kept across polls), then unwinds at `point`.
async fn victim(point: Point, bytes: usize) {
    let held = vec![1u8; bytes];
    let _bomb = matches!(point, Point::Drop).then(|| Bomb);
    if matches!(point, Point::FirstPoll) {
        panic!("panic in the first poll");
    }
    yield_once().await;
    if matches!(point, Point::LaterPoll) {
        panic!("panic in a later poll");
    }
    std::future::pending::<()>().await;
    drop(held);
}

#[test]
fn unwinding_at_every_point_ends_the_task_and_keeps_the_books_exact() {
    let _serial = quiet_panics();
    for point in [Point::FirstPoll, Point::LaterPoll, Point::Drop] {
        for bytes in [0, 1, 4096, 300_000] {
            let before = snapshot().tasks_running;
            let mut task = Box::pin(Tracked::new(
                victim(point, bytes),
                "victim",
                TaskType::IoIntensive,
            ));
            let id = task.id();
            // Poll until the panic (an executor that catches it and keeps the future).
            let mut panicked_in_poll = false;
            for _ in 0..3 {
                match catch_unwind(AssertUnwindSafe(|| poll_once(task.as_mut()))) {
                    Ok(_) => {}
                    Err(_) => {
                        panicked_in_poll = true;
                        break;
                    }
                }
            }
            assert_eq!(
                memscope::current_task_id(),
                None,
                "{point:?}: slot restored"
            );
            if panicked_in_poll {
                // The task ended when its poll unwound, not when the future is dropped.
                assert!(
                    !is_running(id),
                    "{point:?}/{bytes}: still running after the poll panicked"
                );
            }
            // The panic's payload is dropped here, outside the task: a foreign free.
            let drop_panicked = catch_unwind(AssertUnwindSafe(move || drop(task))).is_err();
            assert_eq!(drop_panicked, matches!(point, Point::Drop), "{point:?}");
            let s = snapshot();
            let t = s.task(id).expect("the task is retained");
            let expected = match point {
                Point::Drop => Outcome::Cancelled,
                _ => Outcome::Panicked,
            };
            assert_eq!(t.outcome, expected, "{point:?}/{bytes}");
            assert!(t.ended_at.is_some());
            assert_eq!(
                s.tasks_running, before,
                "{point:?}/{bytes}: no phantom running task"
            );
            // Everything the task allocated was freed while unwinding or on drop, and
            // charged to it. (The panic machinery's own exception object may be
            // allocated and freed inside the task: it adds to both sides equally.)
            assert_eq!(t.live_bytes, 0, "{point:?}/{bytes}: {t:?}");
            assert_eq!(t.heap.allocated_bytes - t.heap.freed_bytes, 0);
            assert!(t.heap.allocated_bytes >= bytes as u64);
            assert_eq!(memscope::current_task_id(), None);
        }
    }
}

#[test]
fn a_task_whose_poll_panicked_stops_aging() {
    let _serial = quiet_panics();
    let mut task = Box::pin(Tracked::new(
        victim(Point::LaterPoll, 10),
        "ager",
        TaskType::Unspecified,
    ));
    let id = task.id();
    let _ = poll_once(task.as_mut());
    assert!(catch_unwind(AssertUnwindSafe(|| poll_once(task.as_mut()))).is_err());
    let first = snapshot().task(id).unwrap().lifetime;
    std::thread::sleep(std::time::Duration::from_millis(20));
    let later = snapshot().task(id).unwrap().clone();
    assert_eq!(later.outcome, Outcome::Panicked);
    assert_eq!(later.lifetime, first, "the lifetime ends at the panic");
    drop(task);
}

#[test]
fn two_thousand_aborted_tasks_whose_drop_panics_leave_no_phantom() {
    let _serial = quiet_panics();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    // tokio's lazily made state (1,056 B the first time tasks run) is not the tasks' memory.
    rt.block_on(async { tokio::spawn(tokio::task::yield_now()).await.unwrap() });
    let before = snapshot().tasks_running;
    rt.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..2_000 {
            handles.push(memscope::spawn(Tracked::new(
                victim(Point::Drop, 64),
                "aborted",
                TaskType::NetworkIntensive,
            )));
        }
        tokio::task::yield_now().await;
        for h in &handles {
            h.abort();
        }
        for h in handles {
            // tokio turns the panic of the drop into a `JoinError`: either way, an error.
            assert!(h.await.is_err());
        }
    });
    drop(rt);
    let s = snapshot();
    assert_eq!(s.tasks_running, before, "aborted tasks all ended");
    let g = s.groups.iter().find(|g| g.name == "aborted").unwrap();
    assert_eq!(g.task_count, 2_000);
    assert_eq!(
        g.cancelled_count, 2_000,
        "none completes: each waits forever"
    );
    assert_eq!(g.live_bytes, 0);
}

#[test]
fn a_scope_handle_closure_that_panics_restores_the_slot_and_charges_the_task() {
    let _serial = quiet_panics();
    let task = Tracked::new(async {}, "scoped", TaskType::Unspecified);
    let handle = task.scope_handle();
    let r = catch_unwind(AssertUnwindSafe(|| {
        handle.run(|| {
            let v = vec![0u8; 1000];
            std::mem::forget(v);
            panic!("in the closure");
        })
    }));
    assert!(r.is_err());
    assert_eq!(memscope::current_task_id(), None);
    drop(task);
    let t = snapshot().task(handle.id()).unwrap().clone();
    assert_eq!(t.outcome, Outcome::Cancelled);
    assert!(t.live_bytes >= 1000, "{t:?}");
}

/// A future that is ready at once but still holds a `Bomb`: its leftovers are dropped in
/// the completing poll, inside the task.
struct ReadyWithBomb(#[allow(dead_code)] Bomb);

impl Future for ReadyWithBomb {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        Poll::Ready(())
    }
}

#[test]
fn a_drop_that_panics_in_the_completing_poll_ends_the_task_and_restores_the_enclosing_one() {
    let _serial = quiet_panics();
    let outer = Tracked::new(async {}, "outer", TaskType::Unspecified);
    let handle = outer.scope_handle();
    let before = snapshot().tasks_running;
    let inner_id = handle.run(|| {
        let mut inner = Box::pin(Tracked::new(
            ReadyWithBomb(Bomb),
            "leftovers",
            TaskType::Unspecified,
        ));
        let id = inner.id();
        assert!(catch_unwind(AssertUnwindSafe(|| poll_once(inner.as_mut()))).is_err());
        // Back in the enclosing task, not outside any task.
        assert_eq!(memscope::current_task_id(), Some(handle.id()));
        drop(inner);
        id
    });
    assert_eq!(memscope::current_task_id(), None);
    let s = snapshot();
    assert_eq!(s.task(inner_id).unwrap().outcome, Outcome::Panicked);
    assert_eq!(s.tasks_running, before, "the inner task ended");
    drop(outer);
}
