//! A task that panics in the middle of an allocation burst: what its locals held is freed
//! while unwinding, inside its scope, so it is charged to it; its outcome is `Panicked`;
//! the panic machinery's own blocks (exception, payload) are the task's too and are freed
//! by whoever drops the payload. Checked with a no-op-waker executor, a current-thread
//! and a multi-thread runtime, and for a panicking child awaited by a tracked parent.

mod support;

use memscope_runtime::{Outcome, TaskType, Tracked};
use memscope_test_support::{block_on, runtime, task, warm_up_tokio, yield_once, Flavor};
use std::panic::{catch_unwind, AssertUnwindSafe};
use support::{assert_books_match_inner, FailingAlloc, TRAILER};

#[global_allocator]
static GLOBAL: memscope_runtime::TrackingAllocator<FailingAlloc> =
    memscope_runtime::TrackingAllocator::with_placement(FailingAlloc::new(), TRAILER);

const BLOCK: usize = 1000;
const BURST: usize = 100;
const PANIC_AT: usize = 50;

/// Allocates `PANIC_AT` blocks held in a local, then panics with a static message.
async fn burst_then_panic(panic: bool) -> usize {
    let mut held: Vec<Box<[u8]>> = Vec::with_capacity(BURST);
    for i in 0..BURST {
        if panic && i == PANIC_AT {
            panic!("burst interrupted");
        }
        held.push(vec![i as u8; BLOCK].into_boxed_slice());
        if i % 10 == 0 {
            yield_once().await;
        }
    }
    held.len()
}

#[test]
fn a_task_panicking_mid_burst_leaves_exact_books() {
    // The default hook prints (and allocates) inside the task; stay silent for the
    // panics this test raises, and speak for a failing assertion.
    std::panic::set_hook(Box::new(|info| {
        let ours = matches!(info.payload().downcast_ref::<&str>(), Some(&m) if m == "burst interrupted" || m == "warm-up");
        if !ours {
            eprintln!("{info}");
        }
    }));
    // Warm up the unwinder's one-time allocations outside any task.
    let _ = catch_unwind(|| panic!("warm-up"));
    warm_up_tokio();
    drop(memscope_runtime::snapshot());
    assert_books_match_inner(GLOBAL.inner());

    let cost = panic_cost();
    no_op_waker_executor(cost);
    tokio_runtimes();
    panicking_child_of_a_tracked_parent(cost);

    let _ = std::panic::take_hook();
    assert_books_match_inner(GLOBAL.inner());
}

/// What one panic of this kind allocates inside the task's scope (the unwinder's
/// exception and the payload), measured on a task that does nothing else.
#[derive(Clone, Copy)]
struct PanicCost {
    bytes: u64,
    count: u64,
    /// Still held once `catch_unwind` has returned the payload.
    payload_bytes: u64,
}

fn panic_cost() -> PanicCost {
    let fut = Tracked::new(
        async {
            panic!("burst interrupted");
        },
        "panic/control",
        TaskType::CpuIntensive,
    );
    let id = fut.id();
    let err = catch_unwind(AssertUnwindSafe(|| block_on(fut))).unwrap_err();
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Panicked);
    let payload = t.live_bytes;
    drop(err);
    let t = task(id);
    assert_eq!(t.live_bytes, 0, "dropping the payload frees the rest");
    assert_eq!(t.heap.allocated_bytes, t.heap.freed_bytes);
    PanicCost {
        bytes: t.heap.allocated_bytes,
        count: t.heap.allocation_count,
        payload_bytes: payload,
    }
}

fn no_op_waker_executor(cost: PanicCost) {
    let fut = Tracked::new(
        burst_then_panic(true),
        "panic/burst",
        TaskType::CpuIntensive,
    );
    let id = fut.id();
    let err = catch_unwind(AssertUnwindSafe(|| block_on(fut))).unwrap_err();
    let burst = (BURST * std::mem::size_of::<Box<[u8]>>() + PANIC_AT * BLOCK) as u64;
    let t = task(id);
    assert_eq!(t.outcome, Outcome::Panicked);
    assert_eq!(t.poll_count, (PANIC_AT / 10 + 1) as u64);
    assert_eq!(t.heap.allocated_bytes, burst + cost.bytes);
    // The `held` vector, the blocks pushed before the panic, the panic's own.
    assert_eq!(t.heap.allocation_count, 1 + PANIC_AT as u64 + cost.count);
    // Everything the burst held was freed while unwinding, charged to the task; only
    // the payload, held by the catcher, is still out.
    assert_eq!(t.live_bytes, cost.payload_bytes);
    assert_eq!(t.heap.free_count, t.heap.allocation_count - 1);
    drop(err);
    let t = task(id);
    assert_eq!((t.live_bytes, t.retained_bytes), (0, 0));
    assert_eq!(t.heap.freed_bytes, t.heap.allocated_bytes);
    assert_eq!(t.heap.free_count, t.heap.allocation_count);
    assert_books_match_inner(GLOBAL.inner());
}

fn tokio_runtimes() {
    for flavor in Flavor::ALL {
        let rt = runtime(flavor);
        let name = match flavor {
            Flavor::CurrentThread => "panic/tokio-current",
            Flavor::MultiThread => "panic/tokio-multi",
        };
        let ids: Vec<_> = rt.block_on(async {
            let mut handles = Vec::new();
            for _ in 0..20 {
                let t = Tracked::new(burst_then_panic(true), name, TaskType::CpuIntensive);
                let scope = t.scope_handle();
                handles.push((t.id(), scope.run(|| tokio::spawn(t))));
            }
            let mut ids = Vec::new();
            for (id, h) in handles {
                let err = h.await.unwrap_err();
                assert!(err.is_panic());
                ids.push(id);
            }
            ids
        });
        drop(rt);
        let s = assert_books_match_inner(GLOBAL.inner());
        let g = s.groups.iter().find(|g| g.name == name).expect("group");
        assert_eq!((g.task_count, g.panicked_count), (20, 20), "{name}");
        assert_eq!(g.live_bytes, 0, "{name}");
        assert_eq!(g.heap.allocated_bytes, g.heap.freed_bytes, "{name}");
        assert_eq!(g.heap.allocation_count, g.heap.free_count, "{name}");
        let burst = (BURST * std::mem::size_of::<Box<[u8]>>() + PANIC_AT * BLOCK) as u64;
        assert!(g.heap.allocated_bytes >= 20 * burst, "{name}");
        for id in ids {
            if let Some(t) = s.task(id) {
                assert_eq!(t.outcome, Outcome::Panicked);
                assert_eq!(t.live_bytes, 0);
            }
        }
    }
}

fn panicking_child_of_a_tracked_parent(cost: PanicCost) {
    let parent = Tracked::new(
        async {
            let mine = vec![0u8; 300];
            let child = Tracked::new(
                burst_then_panic(true),
                "panic/child",
                TaskType::CpuIntensive,
            );
            // The parent holds `mine` across the child's panic.
            let n = child.await;
            n + mine.len()
        },
        "panic/parent",
        TaskType::CpuIntensive,
    );
    let parent_id = parent.id();
    let err = catch_unwind(AssertUnwindSafe(|| block_on(parent))).unwrap_err();
    drop(err);
    let s = assert_books_match_inner(GLOBAL.inner());
    let p = s.task(parent_id).expect("parent");
    assert_eq!(p.outcome, Outcome::Panicked);
    // The parent's own books: its 300 bytes, freed while unwinding. The child's burst and
    // the panic machinery (raised inside the child's scope) are the child's.
    assert_eq!(
        (p.heap.allocated_bytes, p.heap.freed_bytes, p.live_bytes),
        (300, 300, 0)
    );
    let c = s.children(parent_id).next().expect("child");
    assert_eq!(c.outcome, Outcome::Panicked);
    let burst = (BURST * std::mem::size_of::<Box<[u8]>>() + PANIC_AT * BLOCK) as u64;
    assert_eq!(c.heap.allocated_bytes, burst + cost.bytes);
    assert_eq!(c.heap.freed_bytes, c.heap.allocated_bytes);
}
