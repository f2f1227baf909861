//! Threads whose thread-locals are being destroyed while they allocate and free: a
//! thread-local whose `Drop` allocates and frees outside any task, one whose `Drop` runs
//! inside a tracked task's scope and frees that task's memory, and one whose `Drop`
//! creates and polls a whole new tracked task. The hook must keep working (its own state
//! is a const thread-local without destructor) and the books must stay exact.

mod support;

use memscope_runtime::{Outcome, ScopeHandle, TaskId, TaskType, Tracked};
use memscope_test_support::{block_on, task};
use std::cell::RefCell;
use std::sync::Mutex;
use support::{assert_books_match_inner, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

/// Allocates and frees outside any task while the thread tears down.
struct Untracked;

impl Drop for Untracked {
    fn drop(&mut self) {
        let v = vec![3u8; 1000];
        let b = Box::new(v.len());
        std::hint::black_box((v, b));
    }
}

/// Holds a task's scope and a block the task allocated; at teardown, frees the block
/// (the task's own free, on the thread running its scope) and churns inside the scope.
struct InScope {
    handle: Option<ScopeHandle>,
    block: Option<Vec<u8>>,
}

impl Drop for InScope {
    fn drop(&mut self) {
        if let Some(h) = self.handle.take() {
            let block = self.block.take();
            h.run(|| {
                drop(block);
                let churn = vec![4u8; 777];
                std::hint::black_box(churn);
            });
        }
    }
}

/// Creates and polls a new tracked task during teardown.
struct NewTask;

static BORN_IN_TEARDOWN: Mutex<Option<TaskId>> = Mutex::new(None);

impl Drop for NewTask {
    fn drop(&mut self) {
        let fut = Tracked::new(
            async { std::hint::black_box(vec![5u8; 2048]).len() },
            "tls/born-in-teardown",
            TaskType::Background,
        );
        let id = fut.id();
        assert_eq!(block_on(fut), 2048);
        *BORN_IN_TEARDOWN.lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
    }
}

thread_local! {
    static UNTRACKED: RefCell<Option<Untracked>> = const { RefCell::new(None) };
    static IN_SCOPE: RefCell<Option<InScope>> = const { RefCell::new(None) };
    static NEW_TASK: RefCell<Option<NewTask>> = const { RefCell::new(None) };
}

#[test]
fn thread_local_destructors_allocate_and_free_with_exact_books() {
    drop(memscope_runtime::snapshot());
    assert_books_match_inner(GLOBAL.inner());

    let t = Tracked::new(async {}, "tls/in-scope", TaskType::Background);
    let handle = t.scope_handle();
    let id = t.id();
    // The task's block, made on this thread inside its scope.
    let block = handle.run(|| std::hint::black_box(vec![6u8; 4096]));

    let thread_handle = handle.clone();
    std::thread::Builder::new()
        .name("tls-teardown".into())
        .spawn(move || {
            UNTRACKED.with(|u| *u.borrow_mut() = Some(Untracked));
            NEW_TASK.with(|n| *n.borrow_mut() = Some(NewTask));
            IN_SCOPE.with(|s| {
                *s.borrow_mut() = Some(InScope {
                    handle: Some(thread_handle),
                    block: Some(block),
                })
            });
        })
        .unwrap()
        .join()
        .unwrap();
    drop(handle);
    drop(t);

    let s = assert_books_match_inner(GLOBAL.inner());
    let p = s.task(id).expect("task");
    assert_eq!(p.outcome, Outcome::Cancelled);
    assert_eq!(
        (p.heap.allocated_bytes, p.heap.allocation_count),
        (4096 + 777, 2)
    );
    assert_eq!((p.heap.freed_bytes, p.heap.free_count), (4096 + 777, 2));
    assert_eq!(p.live_bytes, 0);

    let born = BORN_IN_TEARDOWN
        .lock()
        .unwrap()
        .expect("the destructor ran its task");
    let b = task(born);
    assert_eq!(b.outcome, Outcome::Completed);
    assert_eq!(
        (b.heap.allocated_bytes, b.heap.freed_bytes, b.live_bytes),
        (2048, 2048, 0)
    );
    assert_eq!(b.poll_count, 1);

    // Many short threads doing the same, to cover teardown of threads that got a stripe
    // of the untracked counters and of threads beyond the striped ones.
    for _ in 0..100 {
        std::thread::spawn(|| {
            UNTRACKED.with(|u| *u.borrow_mut() = Some(Untracked));
        })
        .join()
        .unwrap();
    }
    assert_books_match_inner(GLOBAL.inner());
}
