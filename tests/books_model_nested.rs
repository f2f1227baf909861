//! Property test of the books with nested tasks whose memory outlives them, against an
//! independent model (the companion of `books_model.rs`, which covers the allocator
//! operations inside flat tasks).
//!
//! A case is a random sequence of steps, under a random retention of 0 to 3 tasks (so
//! finished tasks are folded into their group almost at once):
//! - run a program: a random tree of tracked futures, each awaited inline inside its
//!   parent's poll (`Tracked::new` with a type, or `Tracked::named`, which takes the
//!   parent's), each allocating blocks it frees at its end, handing blocks out to a pool
//!   outside the tasks, freeing pooled blocks (its own, its ancestors', or those of tasks
//!   of earlier programs, long folded), and yielding; on one of three threads, the root
//!   sometimes kept held by a `ScopeHandle`;
//! - free some pooled blocks outside any task, on one of three threads;
//! - run filler tasks that push the case's tasks out of the retention, or (`sweep`) as
//!   many as it takes to have every task of the case folded but the pinned roots (each
//!   shard sweeps its lingering records when 64 linger; a task still owning memory is
//!   folded all the same).
//!
//! The `i`-th task of a case is named `nest/{i}` in every case; it is the only task of
//! its name in the case and earlier ones hold nothing any more, so its `(name, type)`
//! group's change since the case began is the task, held or folded. After every step,
//! each group's type (the inherited one for `named`), task count, allocated / freed
//! bytes and counts, live and retained bytes (and `retaining_count`,
//! `min_`/`max_retained_bytes`) must equal the model's; each task still held must show
//! its own figures, its parent, as `inclusive` and `inclusive_retained_bytes` those of
//! its whole subtree, folded descendants included, and as
//! `folded_descendants_retained_bytes` / `_retaining` what the folded tasks it is the
//! nearest listed ancestor of still hold; and `folded_retaining_tasks` must count exactly
//! the case's folded tasks still owning a block. At the end of a case every pooled block
//! is freed and everything reads zero.
//!
//! The tasks run on `block_on` with a no-op waker, which allocates nothing, and every
//! future, name and pool slot is allocated before the tasks run, so the books of a task
//! hold exactly its own blocks. `configure` is process-wide: this binary has one test.

#[path = "support/nested_case.rs"]
mod nested_case;
#[path = "support/nested_check.rs"]
mod nested_check;
#[path = "support/nested_model.rs"]
mod nested_model;
#[path = "support/nested_tasks.rs"]
mod nested_tasks;

use memscope::{configure, snapshot, Config, ScopeHandle, TaskId, TaskType, Tracked};
use memscope_test_support::block_on;
use nested_case::{step, Step};
use nested_check::{baseline, check};
use nested_model::{Compiled, Model};
use nested_tasks::{build, on_thread, Shared};
use proptest::prelude::*;
use std::sync::{Arc, Mutex};

/// One step, compiled: what to do and the model's tasks once it is done.
enum Planned {
    Run {
        root: Compiled,
        thread: usize,
        pin: bool,
    },
    FreeOutside {
        slots: Vec<usize>,
        thread: usize,
    },
    Fold {
        sweep: bool,
    },
}

/// Runs empty tasks: enough to push every earlier task out of a retention of up to 8.
fn push_out() {
    for _ in 0..16 {
        block_on(Tracked::new(async {}, "nest/filler", TaskType::Background));
    }
}

/// Runs empty tasks until every task of `ids` but the `pinned` ones is folded, whether it
/// still owns memory or not. A parent pushed out of the retention while a child's record
/// is still held lingers until its shard sweeps its lingering records, which it does when
/// 64 linger: each round runs 65 tasks per shard under retention 0, where every task
/// lingers for a moment (it ends inside its last poll, its `Tracked` still alive), so
/// every shard sweeps. A subtree of depth `d` needs up to `d + 1` rounds.
fn fold_all(ids: &[TaskId], pinned: &[TaskId], retention: usize) -> Result<(), TestCaseError> {
    configure(config(0));
    let mut folded = false;
    for _ in 0..8 {
        for _ in 0..8 * 65 {
            block_on(Tracked::new(async {}, "nest/filler", TaskType::Background));
        }
        let s = snapshot();
        folded = ids
            .iter()
            .all(|id| pinned.contains(id) || s.task(*id).is_none());
        if folded {
            break;
        }
    }
    configure(config(retention));
    prop_assert!(folded, "finished tasks still held after 8 sweeps");
    Ok(())
}

fn config(retention: usize) -> Config {
    Config::default()
        .with_retention(retention)
        .with_max_groups(1 << 20)
}

fn run_case(retention: usize, steps: Vec<Step>) -> Result<(), TestCaseError> {
    configure(config(retention));
    let base = baseline();
    let mut model = Model::default();
    // Compiled first, so the pool and id slots are allocated before any task runs.
    let mut plan = Vec::new();
    for step in &steps {
        let planned = match step {
            Step::Run { root, thread, pin } => Planned::Run {
                root: model.compile(root, None),
                thread: *thread,
                pin: *pin,
            },
            Step::FreeOutside { picks, thread } => Planned::FreeOutside {
                slots: picks.iter().filter_map(|&p| model.free_pick(p)).collect(),
                thread: *thread,
            },
            Step::Fold { sweep } => Planned::Fold { sweep: *sweep },
        };
        plan.push((planned, model.tasks.clone()));
    }
    let shared = Arc::new(Shared {
        pool: (0..model.pool.len()).map(|_| Mutex::new(None)).collect(),
        ids: (0..model.tasks.len()).map(|_| Mutex::new(None)).collect(),
    });
    let mut pinned: Vec<ScopeHandle> = Vec::new();
    for (planned, tasks) in plan {
        match planned {
            Planned::Run { root, thread, pin } => {
                let (name, ty) = (root.name, root.task_type);
                let body = build(root, &shared);
                let root = match ty {
                    Some(ty) => Tracked::new(body, name, ty),
                    None => Tracked::named(body, name),
                };
                if pin {
                    pinned.push(root.scope_handle());
                }
                on_thread(thread, move || block_on(root));
            }
            Planned::FreeOutside { slots, thread } => {
                let blocks: Vec<_> = slots
                    .iter()
                    .map(|&s| shared.pool[s].lock().unwrap().take().expect("live block"))
                    .collect();
                on_thread(thread, move || drop(blocks));
            }
            Planned::Fold { sweep: false } => push_out(),
            Planned::Fold { sweep: true } => {
                let ids: Vec<TaskId> = (0..tasks.len())
                    .map(|i| shared.ids[i].lock().unwrap().expect("task ran"))
                    .collect();
                let pinned: Vec<TaskId> = pinned.iter().map(|h| h.id()).collect();
                fold_all(&ids, &pinned, retention)?;
            }
        }
        check(&snapshot(), &tasks, &shared, &base)?;
    }

    // Everything left is freed here, outside any task: every figure goes back to zero.
    for &slot in &model.live {
        let (owner, size) = model.pool[slot].take().expect("live slot");
        model.tasks[owner].books.free(size);
        drop(
            shared.pool[slot]
                .lock()
                .unwrap()
                .take()
                .expect("live block"),
        );
    }
    push_out();
    check(&snapshot(), &model.tasks, &shared, &base)?;
    for t in &model.tasks {
        prop_assert_eq!(t.books.live_bytes(), 0);
    }
    drop(pinned);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var_os("CI").is_some() { 96 } else { 384 },
        ..ProptestConfig::default()
    })]

    #[test]
    fn nested_and_folded_books_match_a_model(
        retention in 0usize..4,
        steps in prop::collection::vec(step(), 1..12),
    ) {
        run_case(retention, steps)?;
    }
}
