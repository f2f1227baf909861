//! Helpers shared by the integration tests.
#![allow(dead_code)]

use memscope::{snapshot, TaskId, TaskMemoryProfile};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

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
/// nothing.
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

/// Waits (up to 5 s) until `cond` holds for the task's profile, then returns it; runtimes
/// free a finished task's last memory a moment after its handle resolves.
pub fn eventually(id: TaskId, cond: impl Fn(&TaskMemoryProfile) -> bool) -> TaskMemoryProfile {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = task(id);
        if cond(&t) || Instant::now() > deadline {
            return t;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}
