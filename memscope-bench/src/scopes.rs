//! What a nested tracked fn costs: a `Tracked` created, polled once to completion and
//! finished inside a running tracked task (the `#[track]` fn awaited inline), against
//! the same future unwrapped, in one process (ABBA).

use crate::{abba, emit, keep, median, median_diff, noop_waker, per_op};
use memscope_runtime::{TaskType, Tracked};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Nested calls per batch.
const CALLS: u64 = 20_000;

/// An inner fn's body: one small block allocated and freed, or nothing.
async fn body(allocate: bool) -> usize {
    if allocate {
        keep(Box::new(7u64)).as_ref() as *const u64 as usize
    } else {
        0
    }
}

/// Runs `CALLS` inner calls inside one poll of an outer tracked task; ns per call.
fn calls(waker: &Waker, tracked: bool, allocate: bool) -> f64 {
    let outer = Tracked::new(
        async move {
            per_op(CALLS, || {
                let cx = &mut Context::from_waker(waker);
                for _ in 0..CALLS {
                    let out = if tracked {
                        let fut = pin!(Tracked::new(
                            body(allocate),
                            "bench-nested",
                            TaskType::Unspecified
                        ));
                        fut.poll(cx)
                    } else {
                        let fut = pin!(body(allocate));
                        fut.poll(cx)
                    };
                    assert!(matches!(keep(out), Poll::Ready(_)));
                }
            })
        },
        "bench-outer",
        TaskType::Unspecified,
    );
    let cx = &mut Context::from_waker(waker);
    match pin!(outer).poll(cx) {
        Poll::Ready(ns) => ns,
        Poll::Pending => unreachable!("the outer task never waits"),
    }
}

/// The nested-scope benchmark: `label.nested.*` result lines.
pub fn run(label: &str, reps: usize) {
    let waker = &noop_waker();
    for (name, allocate) in [("empty", false), ("alloc", true)] {
        let r = abba(
            reps,
            &mut [&mut || calls(waker, false, allocate), &mut || {
                calls(waker, true, allocate)
            }],
        );
        emit(&format!("{label}.nested.{name}.bare_ns"), median(&r[0]));
        emit(&format!("{label}.nested.{name}.tracked_ns"), median(&r[1]));
        emit(
            &format!("{label}.nested.{name}.delta_ns"),
            median_diff(&r[1], &r[0]),
        );
    }
}
