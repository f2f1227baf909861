//! 100 concurrent "queries" under `with_budget(16 MiB)` on a multi-thread runtime, one of
//! which grows to ten times its budget: only that one is stopped, its overshoot is at most
//! what it allocated in one poll, the other 99 complete with their results, and every
//! tree's memory — and the process's tracked memory — is back where it started. Alone in
//! its binary, so the process-wide figures are this test's.

use memscope::{measure, with_budget, Budget, OverBudget, Stats, KIB, MIB};
use memscope_test_support::yield_once;
use std::hint::black_box;

const QUERIES: u64 = 100;
const GREEDY: u64 = 37;
const BUDGET: u64 = 16 * MIB;
/// What the greedy query allocates per poll.
const STEP: usize = MIB as usize;

/// A well-behaved query: builds up to 4 MiB of intermediate results over several polls,
/// folds them into its answer and frees them.
async fn query(i: u64) -> u64 {
    let mut parts: Vec<Vec<u8>> = Vec::new();
    for round in 0..16u64 {
        parts.push(vec![(i + round) as u8; 256 * KIB as usize]);
        yield_once().await;
    }
    parts.iter().map(|p| u64::from(p[0]) * p.len() as u64).sum()
}

/// The runaway query: grows by one step per poll until stopped (ten times its budget).
async fn greedy() -> u64 {
    let mut held: Vec<Vec<u8>> = Vec::with_capacity(200);
    for _ in 0..(10 * BUDGET as usize / STEP) {
        held.push(black_box(vec![1u8; STEP]));
        yield_once().await;
    }
    held.len() as u64
}

fn expected(i: u64) -> u64 {
    (0..16u64).map(|r| ((i + r) as u8) as u64 * 256 * KIB).sum()
}

#[test]
fn only_the_query_over_its_budget_is_stopped_and_all_memory_comes_back() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    // Warm the runtime up, so its lazily made state is not counted against the baseline.
    rt.block_on(async { tokio::spawn(async {}).await.unwrap() });
    let baseline = memscope::snapshot().tracked().live_bytes();

    let results: Vec<(Result<u64, OverBudget>, Stats)> = rt.block_on(async {
        let handles: Vec<_> = (0..QUERIES)
            .map(|i| {
                tokio::spawn(measure(with_budget(
                    Budget::new(BUDGET).named(format!("query {i}")),
                    async move {
                        match i {
                            GREEDY => greedy().await,
                            _ => query(i).await,
                        }
                    },
                )))
            })
            .collect();
        let mut results = Vec::new();
        for h in handles {
            results.push(h.await.unwrap());
        }
        results
    });

    for (i, (result, stats)) in results.iter().enumerate() {
        let i = i as u64;
        assert_eq!(
            stats.retained_bytes, 0,
            "query {i} left memory behind: {stats}"
        );
        match (i, result) {
            (GREEDY, Err(over)) => {
                assert_eq!(over.limit_bytes, BUDGET);
                assert!(over.peak_bytes > BUDGET, "{over}");
                // At most one poll's step (and the growth of the Vec of steps, which
                // starts with room for 200).
                assert!(over.overshoot_bytes() <= STEP as u64, "{over}");
                assert_eq!(over.live_bytes, 0, "{over}");
                assert!(stats.allocated_bytes < 2 * BUDGET, "{stats}");
            }
            (GREEDY, Ok(n)) => panic!("the greedy query completed with {n}"),
            (_, Ok(n)) => {
                assert_eq!(*n, expected(i), "query {i}");
                assert!(
                    stats.peak_bytes >= 4 * MIB && stats.peak_bytes < BUDGET,
                    "{stats}"
                );
            }
            (_, Err(over)) => panic!("query {i} was stopped: {over}"),
        }
    }
    drop(rt);
    let after = memscope::snapshot().tracked().live_bytes();
    // The runtime is gone; what the test keeps (`results`) is the only tracked memory:
    // `results` was allocated in the test's own thread, outside any task.
    assert!(
        after <= baseline,
        "tracked live bytes {baseline} before, {after} after"
    );
}
