//! `#[memscope::test]` for real: tests whose memory is held to budgets, on either tokio
//! flavor, returning `()` or `Result`, and tests that go over budget and fail with
//! `assert_mem!`'s message, whatever the body returned. The tests of this file run at
//! once; each sees only its own memory.
#![deny(warnings)]

use memscope::{TaskType, TrackedExt};
use std::hint::black_box;

/// The example of the attribute's documentation.
#[memscope::test(peak = "256 KiB", retained = 0, allocations = 96)]
async fn parses_small_requests() {
    let v = vec![0u8; 1000];
    assert_eq!(v.len(), 1000);
}

/// Every budget, each at the body's exact figure: a budget is `<=`, so equal passes.
#[memscope::test(
    allocated = "1 MiB",
    allocations = 1,
    freed = 1048576,
    frees = 1,
    peak = "1024 KiB",
    retained = 0,
    retained_blocks = 0,
    polls = 1,
    tasks = 1
)]
async fn every_budget_at_its_exact_figure() {
    let block = black_box(vec![7u8; 1 << 20]);
    assert_eq!(block[1000], 7);
}

/// Two workers and a tree of three tasks: the children's memory is the test's.
///
/// `retained` is not 0 here: a child's tokio task cell (256 B) is freed by the worker
/// that ran it, which may happen just after the join has given the test its output, so
/// up to two cells may still be live when the figures are read. A leaked block of a
/// child (10,000 B or more) is still far over.
#[memscope::test(
    flavor = "multi_thread",
    worker_threads = 2,
    tasks = 3,
    peak = "64 KiB",
    retained = "1 KiB"
)]
async fn multi_thread_counts_spawned_tasks() {
    let workers = tokio::runtime::Handle::current().metrics().num_workers();
    assert_eq!(workers, 2);
    let child = |n: usize| {
        memscope::spawn(async move { vec![1u8; n] }.tracked("fill", TaskType::CpuIntensive))
    };
    let (a, b) = (child(10_000), child(20_000));
    let total = a.await.unwrap().len() + b.await.unwrap().len();
    assert_eq!(total, 30_000);
}

/// `?` converts into the declared error type; the test passes with `Ok`.
#[memscope::test(allocations = 4, retained = 0)]
async fn returns_a_result() -> Result<(), std::num::ParseIntError> {
    let n: u32 = "42".parse()?;
    let text = format!("{n}");
    assert_eq!(text, "42");
    Ok(())
}

/// One byte over: `#[should_panic]` written below the attribute stays on the test fn,
/// and the message names the test (its path) and the figure.
#[memscope::test(allocated = 4095)]
#[should_panic(
    expected = "memscope::assert_mem! failed for `mem_test_attr::one_byte_over_the_budget_fails`"
)]
async fn one_byte_over_the_budget_fails() {
    drop(black_box(vec![0u8; 4096]));
}

/// `#[should_panic]` written above the attribute works as well.
#[should_panic(expected = "retained <= 0")]
#[memscope::test(retained = 0)]
async fn a_leak_fails_a_retained_budget() {
    std::mem::forget(black_box(vec![0u8; 100]));
}

/// Leaks and returns `Err`: the budget is checked before the error is returned.
#[memscope::test(retained = 0, retained_blocks = 0)]
#[ignore = "run by `budgets_are_checked_before_an_err_is_returned`, which expects it to panic"]
async fn leaks_then_returns_an_error() -> Result<(), &'static str> {
    std::mem::forget(black_box(vec![0u8; 64]));
    Err("the body failed")
}

#[test]
fn budgets_are_checked_before_an_err_is_returned() {
    let panic = std::panic::catch_unwind(leaks_then_returns_an_error).unwrap_err();
    let message = panic
        .downcast_ref::<String>()
        .expect("a formatted panic message");
    assert!(
        message.contains("retained <= 0 B (0): retained is 64 B (64)"),
        "{message}"
    );
    assert!(
        message.contains("retained_blocks <= 0: retained_blocks is 1"),
        "{message}"
    );
}
