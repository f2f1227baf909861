//! A tracked future dropped half-way: losing a `tokio::select!`, timing out in
//! `tokio::time::timeout`, aborted through its join handle, dropped by a tracked parent.
//! Its outcome is `Cancelled`, the memory its state held is freed while it is dropped,
//! inside its own scope, so charged to it, and it holds nothing afterwards.

mod support;

use memscope_runtime::{Outcome, TaskType, Tracked};
use memscope_test_support::{
    block_on, runtime, runtime_with_time, task, warm_up_tokio, yield_once, Flavor,
};
use std::time::Duration;
use support::{assert_books_match_inner, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

const HELD: usize = 10_000;
const BOXED: usize = 500;

/// Allocates, then waits forever holding what it allocated.
async fn hold_forever() {
    let v = std::hint::black_box(vec![1u8; HELD]);
    let b = std::hint::black_box(Box::new([2u8; BOXED]));
    std::future::pending::<()>().await;
    drop((v, b));
}

fn assert_cancelled_clean(id: memscope_runtime::TaskId, polls: u64) {
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Cancelled, "{}", t.name);
    assert_eq!(
        (t.heap.allocated_bytes, t.heap.allocation_count),
        ((HELD + BOXED) as u64, 2)
    );
    assert_eq!(
        (t.heap.freed_bytes, t.heap.free_count),
        ((HELD + BOXED) as u64, 2)
    );
    assert_eq!((t.live_bytes, t.retained_bytes), (0, 0));
    assert_eq!(t.peak_bytes, (HELD + BOXED) as u64);
    assert_eq!(t.poll_count, polls);
}

#[test]
fn futures_dropped_half_way_are_cancelled_with_exact_books() {
    let rt = runtime_with_time(Flavor::CurrentThread);
    // Warm the timer driver up outside any task.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(1)).await });
    warm_up_tokio();
    drop(memscope_runtime::snapshot());

    // 1. Losing a select!.
    let id = rt.block_on(async {
        let fut = Tracked::new(hold_forever(), "cancel/select", TaskType::IoIntensive);
        let id = fut.id();
        // Biased: the tracked branch is polled first, at the start and again when the
        // timer fires, so it is polled exactly twice.
        tokio::select! {
            biased;
            _ = fut => unreachable!("pending forever"),
            _ = tokio::time::sleep(Duration::from_millis(2)) => {}
        }
        id
    });
    assert_cancelled_clean(id, 2);

    // 2. Timing out.
    let id = rt.block_on(async {
        let fut = Tracked::new(hold_forever(), "cancel/timeout", TaskType::IoIntensive);
        let id = fut.id();
        let r = tokio::time::timeout(Duration::from_millis(2), fut).await;
        assert!(r.is_err());
        id
    });
    // `timeout` polls the inner future before its timer: at the start and on expiry.
    assert_cancelled_clean(id, 2);

    // 3. A tracked parent drops its child half-way: the child's memory, freed in the
    //    drop, is the child's, not the parent's.
    let parent = Tracked::new(
        async {
            let child = Tracked::new(hold_forever(), "cancel/child", TaskType::IoIntensive);
            let child_id = child.id();
            let mut child = Box::pin(child);
            let polled = futures_poll_once(child.as_mut()).await;
            assert!(!polled);
            drop(child);
            yield_once().await;
            child_id
        },
        "cancel/parent",
        TaskType::IoIntensive,
    );
    let parent_id = parent.id();
    let child_id = block_on(parent);
    assert_cancelled_clean(child_id, 1);
    let p = task(parent_id);
    assert_eq!(p.outcome, Outcome::Completed);
    // The parent's own traffic is the box holding the child's state, nothing more.
    assert_eq!(p.heap.allocation_count, 1);
    assert_eq!(p.heap.freed_bytes, p.heap.allocated_bytes);
    assert_eq!(task(child_id).parent, Some(parent_id));

    // 4. Aborted through its join handle, on both runtime flavours.
    for flavor in Flavor::ALL {
        let rt = runtime(flavor);
        let id = rt.block_on(async {
            let t = Tracked::new(hold_forever(), "cancel/abort", TaskType::IoIntensive);
            let (id, scope) = (t.id(), t.scope_handle());
            let h = scope.run(|| tokio::spawn(t));
            // Abort only once it was polled (holds its memory).
            for _ in 0..10_000 {
                tokio::task::yield_now().await;
                if task(id).poll_count > 0 {
                    break;
                }
            }
            h.abort();
            assert!(h.await.unwrap_err().is_cancelled());
            id
        });
        drop(rt);
        let t = task(id);
        assert_eq!(t.outcome, Outcome::Cancelled);
        assert_eq!(t.poll_count, 1);
        // Its own two blocks plus the runtime's task cell (charged to it by the spawn),
        // all freed: the blocks when the future was dropped, the cell with the handle.
        assert_eq!(t.heap.allocation_count, 3);
        assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
        assert_eq!(t.heap.free_count, 3);
        assert_eq!(t.live_bytes, 0);
    }

    drop(rt);
    assert_books_match_inner(GLOBAL.inner());
}

/// Polls `fut` once; whether it completed.
async fn futures_poll_once<F: std::future::Future>(fut: std::pin::Pin<&mut F>) -> bool {
    let mut fut = Some(fut);
    std::future::poll_fn(move |cx| {
        let f = fut.take().expect("polled once");
        std::task::Poll::Ready(f.poll(cx).is_ready())
    })
    .await
}
