//! A query engine's per-query memory limit: 20 queries run at once, each under
//! `with_budget(8 MiB)`; one of them (a runaway join) keeps growing. Only that query is
//! stopped — at a poll boundary, with its figures — the others return their results, a
//! soft limit at 6 MiB lets a query spill before it is stopped, and every query's memory
//! comes back. Then checks the figures it printed.
//!
//! Run: `cargo run --release --example query_budgets` (exits 1 if a figure is wrong).

mod support;
use memscope::{measure, with_budget, Budget, Stats, MIB};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use support::check;

const QUERIES: usize = 20;
const RUNAWAY: usize = 13;
const BUDGET: u64 = 8 * MIB;

/// Scans `batches` batches of 512 KiB, keeping them until the end; a query that reaches
/// its soft limit spills (drops what it holds but the running sum).
#[memscope::track(task_type = "memory")]
async fn scan(batches: usize, spilled: Arc<AtomicUsize>) -> u64 {
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut sum = 0;
    for b in 0..batches {
        let batch = vec![(b % 251) as u8; 512 * 1024];
        sum += batch.iter().map(|&x| x as u64).sum::<u64>();
        held.push(batch);
        if memscope::pressure().is_some_and(|p| p.past_soft_limit()) {
            held.clear(); // spill
            spilled.fetch_add(1, Relaxed);
        }
        yield_now().await;
    }
    sum
}

/// Lets the other queries run: ends the poll and wakes the task at once. Not
/// `tokio::task::yield_now`, which defers the waker into a per-worker list that tokio
/// grows as more tasks yield at once: the query that grows it owns the new block from
/// then on (memory that truly outlives it, 64–512 B, which the checks below would see).
async fn yield_now() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if std::mem::replace(&mut yielded, true) {
            return std::task::Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    })
    .await
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let spilled = Arc::new(AtomicUsize::new(0));
    let soft_calls = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..QUERIES)
        .map(|q| {
            let calls = Arc::clone(&soft_calls);
            let budget = Budget::new(BUDGET)
                .with_soft_limit(6 * MIB, move |_| {
                    calls.fetch_add(1, Relaxed);
                })
                .named(format!("query {q}"));
            // The runaway join ignores pressure: it holds everything it reads.
            let work = match q {
                RUNAWAY => runaway(),
                _ => Box::pin(scan(4 + q % 12, Arc::clone(&spilled))) as _,
            };
            tokio::spawn(measure(with_budget(budget, work)))
        })
        .collect();
    let mut results: Vec<(Result<u64, memscope::OverBudget>, Stats)> = Vec::new();
    for h in handles {
        results.push(h.await.unwrap());
    }

    for (q, (result, stats)) in results.iter().enumerate() {
        match result {
            Ok(sum) => println!("query {q:2}: {sum:>12}   {stats}"),
            Err(over) => println!("query {q:2}: stopped — {over}"),
        }
    }
    println!("soft-limit callbacks: {}", soft_calls.load(Relaxed));

    println!("checks:");
    let stopped: Vec<usize> = (0..QUERIES).filter(|q| results[*q].0.is_err()).collect();
    check(
        stopped == [RUNAWAY],
        format_args!("only query {RUNAWAY} was stopped ({stopped:?})"),
    );
    let over = results[RUNAWAY].0.unwrap_err();
    check(
        over.overshoot_bytes() <= 1024 * 1024,
        format_args!(
            "its overshoot ({} B) is at most one poll's batch and its Vec's growth",
            over.overshoot_bytes()
        ),
    );
    check(
        results.iter().all(|(_, s)| s.retained_bytes == 0),
        "every query's memory came back, the stopped one's included",
    );
    check(
        results
            .iter()
            .all(|(_, s)| s.peak_bytes <= BUDGET + 1024 * 1024),
        "no query held much more than its budget at any time",
    );
    let spills = spilled.load(Relaxed);
    check(
        spills > 0,
        format_args!("queries past their soft limit spilled ({spills} times)"),
    );
    check(
        soft_calls.load(Relaxed) > 0,
        "the soft-limit callback ran when a query reached 6 MiB",
    );
}

/// A join that keeps every row it reads: 40 batches of 512 KiB, 20 MiB in all.
fn runaway() -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>> {
    Box::pin(async {
        let mut rows: Vec<Vec<u8>> = Vec::with_capacity(64);
        for _ in 0..40 {
            rows.push(vec![1u8; 512 * 1024]);
            yield_now().await;
        }
        rows.len() as u64
    })
}
