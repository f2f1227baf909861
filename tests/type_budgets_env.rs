//! `MEMSCOPE_TYPE_BUDGETS` at start-up: set before the first task, it gives every spawned
//! task of the named types its budget. Alone in its binary: the variable is read once.

use memscope::{spawn, Config, Error, TaskType, TrackedExt, KIB, MIB};
use std::hint::black_box;

#[test]
fn the_variable_sets_per_type_budgets_when_the_first_task_starts() {
    std::env::set_var(memscope::TYPE_BUDGETS_ENV, "background=2MiB, io = 1GiB");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let greedy = rt.block_on(async {
        spawn(
            async {
                let mut held = Vec::new();
                for _ in 0..64 {
                    held.push(black_box(vec![0u8; 256 * KIB as usize]));
                    memscope_test_support::yield_once().await;
                }
                held.len()
            }
            .tracked("compactor", TaskType::Background),
        )
        .await
    });
    assert_eq!(
        Config::current().type_budget(TaskType::Background),
        Some(2 * MIB)
    );
    assert_eq!(
        Config::current().type_budget(TaskType::IoIntensive),
        Some(1 << 30)
    );
    assert_eq!(Config::current().type_budget(TaskType::CpuIntensive), None);
    match greedy {
        Err(Error::OverBudget { over, .. }) => assert_eq!(over.limit_bytes, 2 * MIB),
        other => panic!("the background task ran past its type's budget: {other:?}"),
    }
}
