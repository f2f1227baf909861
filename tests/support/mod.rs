//! Helpers of the facade's integration tests (`mod support;` in each binary that needs
//! them). What the runtime's tests need too (`block_on`, `yield_once`, `task`, runtimes,
//! `assert_books_add_up`, `warm_up_tokio`) lives in the `memscope-test-support` crate.
#![allow(dead_code)]

pub mod workload;

use memscope::{TaskId, TaskMemoryProfile};
use memscope_test_support::task;
use std::time::{Duration, Instant};

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

/// How many tasks a soak or stress test runs: `$var` if set, else `ci` under `CI`
/// (so CI stays within its time budget), else `full`.
pub fn scale(var: &str, ci: usize, full: usize) -> usize {
    if let Some(n) = std::env::var(var).ok().and_then(|v| v.parse().ok()) {
        return n;
    }
    if std::env::var_os("CI").is_some() {
        ci
    } else {
        full
    }
}
