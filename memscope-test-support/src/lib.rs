//! Helpers shared by the integration tests of the `memscope` facade and of
//! `memscope-runtime`; not published.
//!
//! The tests live in two packages because a test binary has one `#[global_allocator]`:
//! the facade's tests run under its default `TrackingAllocator<System>`, while the
//! runtime's tests install their own (a `TrackingAllocator` around a counting, failing
//! inner allocator) and so cannot link the facade. This crate depends on
//! `memscope-runtime` only (the facade re-exports the same types), installs no allocator,
//! and holds what both packages' tests use; each package's `tests/support/mod.rs` keeps
//! what is its own.

pub mod http;
pub mod server;
pub mod tools;

use memscope_runtime::{
    snapshot, HeapCounters, MemorySnapshot, TaskId, TaskMemoryProfile, TaskType, Tracked,
};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tokio::runtime::{Builder, Runtime};

/// Polls `fut` to completion on this thread with a no-op waker: unlike a real executor it
/// allocates nothing, so a tracked task's books hold exactly what its body allocated.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Returns `Pending` once (waking itself), then `Ready`: an `.await` point that allocates
/// nothing and works under any executor.
pub async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// The task's profile now; panics if the store no longer holds it individually.
pub fn task(id: TaskId) -> TaskMemoryProfile {
    snapshot()
        .task(id)
        .cloned()
        .unwrap_or_else(|| panic!("{id} is not in the snapshot"))
}

/// The identities every snapshot's books satisfy once no task is mid-batch: per group
/// and per task, allocated − freed = live; a group's tasks are each in exactly one state;
/// the groups add up to the tracked total, in bytes and in live bytes; tracked +
/// untracked + tracker is all the traffic the hook saw.
pub fn assert_books_add_up(s: &MemorySnapshot) {
    let mut sum = HeapCounters::default();
    let mut live = 0u64;
    for g in &s.groups {
        assert_eq!(
            g.heap.allocated_bytes.checked_sub(g.heap.freed_bytes),
            Some(g.live_bytes),
            "group {}/{}: allocated − freed ≠ live",
            g.name,
            g.task_type
        );
        assert_eq!(
            g.task_count,
            g.completed_count + g.panicked_count + g.cancelled_count + g.running_count,
            "group {}/{}: outcomes do not add up",
            g.name,
            g.task_type
        );
        sum += g.heap;
        live += g.live_bytes;
    }
    assert_eq!(sum, s.tracked(), "groups vs tracked total");
    assert_eq!(
        s.tracked().live_bytes(),
        live,
        "groups' live bytes vs tracked"
    );
    for t in &s.tasks {
        assert_eq!(
            t.heap.allocated_bytes.checked_sub(t.heap.freed_bytes),
            Some(t.live_bytes),
            "{}: allocated − freed ≠ live",
            t.id
        );
    }
    let mut all = s.tracked();
    all += s.untracked;
    all += s.tracker;
    assert_eq!(
        all,
        s.all_heap_traffic(),
        "tracked + untracked + tracker vs all"
    );
}

/// Which kind of tokio runtime [`runtime`] and [`runtime_with_time`] build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    /// `new_current_thread`: `block_on` polls on the calling thread.
    CurrentThread,
    /// `new_multi_thread` with two workers (the machines running the suite have two cores).
    MultiThread,
}

impl Flavor {
    /// Both flavours, for tests that check each.
    pub const ALL: [Flavor; 2] = [Flavor::CurrentThread, Flavor::MultiThread];

    fn builder(self) -> Builder {
        match self {
            Flavor::CurrentThread => Builder::new_current_thread(),
            Flavor::MultiThread => {
                // Two workers and the caller's threads may be enough for the table to grow
                // inside a task (see `warm_up_parking_lot`).
                warm_up_parking_lot();
                let mut b = Builder::new_multi_thread();
                b.worker_threads(2);
                b
            }
        }
    }
}

/// A tokio runtime without drivers: nothing of a driver runs or allocates in its tasks.
pub fn runtime(flavor: Flavor) -> Runtime {
    flavor.builder().build().expect("tokio runtime")
}

/// Threads [`warm_up_parking_lot`] makes known to `parking_lot` at once.
const PARKING_LOT_THREADS: usize = 32;

/// Grows `parking_lot`'s process-wide table of parked threads (tokio's mutexes are
/// `parking_lot`'s here, through feature unification) to room for
/// 32 threads at once (`PARKING_LOT_THREADS`), outside any task. The table grows, and is
/// never freed, when a thread first parks while more threads than a third of its buckets
/// know it: a tokio worker that first waits for the blocking pool's lock inside a task
/// grows it there (seen: 1,056 B past 5 threads, 2,080 B past 10, in
/// `tests/stress.rs`, whose blocking threads come and go), and that task then keeps it.
///
/// Once per process; later calls return at once.
pub fn warm_up_parking_lot() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(grow_parking_lot_table);
}

fn grow_parking_lot_table() {
    static KEY: u8 = 0;
    let all_known = std::sync::Barrier::new(PARKING_LOT_THREADS);
    std::thread::scope(|threads| {
        for _ in 0..PARKING_LOT_THREADS {
            threads.spawn(|| {
                // SAFETY: the key is the address of a static of this function, which no
                // synchronisation primitive uses; `validate` returns false at once (no
                // panic, no call into parking_lot), so the thread never sleeps, and the
                // other callbacks are never called. What remains is the thread's
                // parking_lot state, made on its first park: the table's growth.
                let _ = unsafe {
                    parking_lot_core::park(
                        std::ptr::from_ref(&KEY) as usize,
                        || false,
                        || {},
                        |_, _| {},
                        parking_lot_core::DEFAULT_PARK_TOKEN,
                        None,
                    )
                };
                // Known to parking_lot together: its count of threads is of live ones.
                all_known.wait();
            });
        }
    });
}

/// A tokio runtime with the time driver only, for `sleep` and `timeout`.
pub fn runtime_with_time(flavor: Flavor) -> Runtime {
    flavor
        .builder()
        .enable_time()
        .build()
        .expect("tokio runtime")
}

/// Runs 2000 tracked tasks on a throw-away multi-thread runtime, unchecked, after growing
/// `parking_lot`'s table of parked threads ([`warm_up_parking_lot`]). The first tasks a
/// fresh process runs on tokio's workers may make a one-time, process-wide allocation
/// inside their scope, rightly charged to that task; tests that expect every task to free
/// all it allocated warm up first.
pub fn warm_up_tokio() {
    warm_up_parking_lot();
    let rt = Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut handles = Vec::with_capacity(2000);
    for i in 0..2000usize {
        let t = Tracked::new(
            async move {
                tokio::task::yield_now().await;
                std::hint::black_box(vec![0u8; 64 + i % 7]).len()
            },
            "warm-up",
            TaskType::Background,
        );
        // Spawned inside the task's scope, so tokio's task cell is the task's (as with
        // `memscope::spawn`, which needs the runtime's `tokio` feature).
        let scope = t.scope_handle();
        handles.push(scope.run(|| rt.spawn(t)));
    }
    rt.block_on(async {
        for h in handles {
            h.await.expect("warm-up task");
        }
    });
}
