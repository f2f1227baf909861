//! What meters (`memscope::measure`, `memscope::with_budget`) cost on the hot path, in one
//! process (ABBA), through the binary's tracking allocator:
//!
//! - `pair.*`: alloc+free pairs (8 × 4,096 mixed sizes) inside a tracked task with no
//!   meter open anywhere (`unmetered`), with a meter open for some other task
//!   (`other_open`: `measure` of an unrelated future, so `any_open()` is true), and inside
//!   a task of a tree under `with_budget` with a budget far above what the pairs hold
//!   (`budgeted`); the deltas against `unmetered` are the "no budget set" and
//!   "budget set" costs; `pair_4k.*`: unmetered against budgeted with 4 KiB blocks only,
//!   whose batches are flushed most often (every 32 pairs);
//! - `foreign_free.*`: 4,096 mixed blocks allocated in a task and freed on the same
//!   thread while no task runs (the foreign-free path of `hook::charge`), per free: the
//!   task unmetered with nothing open, unmetered with another meter open, and budgeted;
//! - `flush.*`: one scope of 4 pairs (`ScopeHandle::run`, so one batch flush at its end)
//!   in an unmetered task and in a budgeted one, per scope.
//!
//! Every batch runs in a task made for it, and the tree around it is taken down after
//! it, untimed: a meter stays open until the owner cells of its tree let go of it, which
//! happens when the books fold their finished records; the retention is set to one task
//! per shard while this runs, and a few short tasks are made and dropped after each
//! batch so that those records are folded and no meter is left open for the next batch.
//! Call-site sampling is off, so no sampled event lands in a batch.
//!
//! Each figure is printed with its spread, the 25th and 75th percentiles over rounds
//! (`key.p25`, `key.p75`): of the per-round means for a variant, of the per-round
//! differences for a delta.

use crate::micro::pairs;
use crate::{abba, emit, keep, median, median_diff, noop_waker, per_op};
use memscope_runtime::{
    configure, measure, pressure, with_budget, Budget, Config, Measure, OverBudget, ScopeHandle,
    Tracked,
};
use std::alloc::{GlobalAlloc, Layout};
use std::cell::RefCell;
use std::future::{pending, ready, Future, Pending};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

/// The budget of the budgeted tree: far above anything a batch holds (1 TiB).
const LIMIT: u64 = 1 << 40;
/// Passes over the 4,096 sizes per pair batch.
const PASSES: usize = 8;
/// Scopes per flush batch, and the pairs in each.
const SCOPES: usize = 4096;
const SCOPE_PAIRS: usize = 4;
/// Short tasks made and dropped after a batch: two per shard of the books.
const CHURN: usize = 16;

/// Which tree a batch's task is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A plain tracked task, no meter open anywhere.
    Unmetered,
    /// A plain tracked task, while `measure` holds a meter for an unrelated task.
    OtherOpen,
    /// A task created inside a `with_budget` future: in the budgeted tree.
    Budgeted,
}

type BudgetFuture = Pin<Box<dyn Future<Output = Result<(), OverBudget>>>>;

/// One batch's task and what holds its tree open; dropped in the order that lets the
/// books fold every record of it, so that its meter is closed afterwards.
struct Tree {
    scope: Option<ScopeHandle>,
    task: Option<Tracked<Pending<()>>>,
    other: Option<Measure<Pending<()>>>,
    budget: Option<BudgetFuture>,
}

impl Tree {
    fn open(kind: Kind) -> Tree {
        let mut tree = Tree {
            scope: None,
            task: None,
            other: None,
            budget: None,
        };
        match kind {
            Kind::Unmetered => {
                tree.task = Some(Tracked::named(pending(), "bench-budget-plain"));
            }
            Kind::OtherOpen => {
                tree.other = Some(measure(pending()));
                tree.task = Some(Tracked::named(pending(), "bench-budget-plain"));
            }
            Kind::Budgeted => {
                // The child is created inside one poll of the budgeted future, so it is in
                // that tree; the future stays alive (pending), so the budget stays open.
                let slot: Rc<RefCell<Option<Tracked<Pending<()>>>>> = Rc::default();
                let inside = Rc::clone(&slot);
                let mut budget: BudgetFuture = Box::pin(with_budget(
                    Budget::new(LIMIT).named("bench-budget"),
                    async move {
                        *inside.borrow_mut() = Some(Tracked::named(pending(), "bench-budgeted"));
                        pending::<()>().await;
                    },
                ));
                let waker = noop_waker();
                let poll = budget.as_mut().poll(&mut Context::from_waker(&waker));
                assert!(matches!(poll, Poll::Pending), "the budgeted future ended");
                tree.task = slot.borrow_mut().take();
                tree.budget = Some(budget);
            }
        }
        let scope = tree.task.as_ref().expect("a task").scope_handle();
        // Untimed check that the task is in the tree it should be: only the budgeted one
        // has a budget around it.
        assert_eq!(scope.run(pressure).is_some(), kind == Kind::Budgeted);
        tree.scope = Some(scope);
        tree
    }

    fn scope(&self) -> &ScopeHandle {
        self.scope.as_ref().expect("open")
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        // Handle and task first, then fold them (their records hold the parent's), then
        // what opened the meter, and fold that one too.
        drop(self.scope.take());
        drop(self.task.take());
        churn();
        drop(self.other.take());
        drop(self.budget.take());
        churn();
    }
}

/// Makes and drops [`CHURN`] tasks, so that each shard of the books (retention one) folds
/// the records finished before them.
fn churn() {
    for _ in 0..CHURN {
        drop(keep(Tracked::named(ready(()), "bench-budget-churn")));
    }
}

/// Allocates one block of each size into `out` (whose capacity suffices).
#[inline(never)]
fn alloc_all<G: GlobalAlloc>(g: &G, sizes: &[usize], out: &mut Vec<usize>) {
    for &size in sizes {
        // SAFETY: sizes are non-zero and the alignment is a power of two; the block is
        // written within its size.
        unsafe {
            let p = g.alloc(Layout::from_size_align_unchecked(size, 8));
            keep(p).write(size as u8);
            out.push(p as usize);
        }
    }
}

/// Frees the blocks of [`alloc_all`]. Returns the frees done.
#[inline(never)]
fn free_all<G: GlobalAlloc>(g: &G, sizes: &[usize], ptrs: &[usize]) -> u64 {
    for (&p, &size) in ptrs.iter().zip(sizes) {
        // SAFETY: `p` was allocated by `g` with this size and alignment 8 and is freed once.
        unsafe {
            g.dealloc(
                keep(p) as *mut u8,
                Layout::from_size_align_unchecked(size, 8),
            )
        };
    }
    ptrs.len() as u64
}

/// The `q`-quantile of `xs` (linear between the nearest ranks); 0 when empty.
fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let at = q * (v.len() - 1) as f64;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (at - lo as f64)
}

/// Prints `key` (the median of `xs`) and its spread, `key.p25` and `key.p75`.
fn emit_spread(key: &str, xs: &[f64]) {
    emit(key, median(xs));
    emit(&format!("{key}.p25"), quantile(xs, 0.25));
    emit(&format!("{key}.p75"), quantile(xs, 0.75));
}

/// Prints each variant of `r` (named by `names`) and, for each after the first, its
/// difference from the first (`{name}_delta_ns`, the median of per-round differences).
fn emit_variants(prefix: &str, names: &[&str], r: &[Vec<f64>]) {
    for (name, xs) in names.iter().zip(r) {
        emit_spread(&format!("{prefix}.{name}_ns"), xs);
    }
    for (name, xs) in names.iter().zip(r).skip(1) {
        let d: Vec<f64> = xs.iter().zip(&r[0]).map(|(a, b)| a - b).collect();
        debug_assert_eq!(median(&d), median_diff(xs, &r[0]));
        emit_spread(&format!("{prefix}.{name}_delta_ns"), &d);
    }
}

/// Runs the meter benchmarks through `global` and prints `label.budget.*` lines.
pub fn run<G: GlobalAlloc + Sync + 'static>(label: &str, global: &'static G, reps: usize) {
    let before = Config::current();
    configure(before.with_retention(1).with_sample_bytes(0));
    let sizes: Vec<usize> = crate::mixed_sizes(4096);
    let prefix = format!("{label}.budget");

    // 1–3. Pairs inside a task: no meter open, another task's meter open, budgeted.
    let pair_batch = |kind: Kind, sizes: &[usize]| {
        let tree = Tree::open(kind);
        let scope = tree.scope();
        let ns = per_op((sizes.len() * PASSES) as u64, || {
            scope.run(|| (0..PASSES).map(|_| keep(pairs(global, sizes))).sum::<u64>())
        });
        drop(tree);
        ns
    };
    let r = abba(
        reps,
        &mut [
            &mut || pair_batch(Kind::Unmetered, &sizes),
            &mut || pair_batch(Kind::OtherOpen, &sizes),
            &mut || pair_batch(Kind::Budgeted, &sizes),
        ],
    );
    emit_variants(
        &format!("{prefix}.pair"),
        &["unmetered", "other_open", "budgeted"],
        &r,
    );

    // The same with 4 KiB blocks only: a batch is flushed every 32 pairs (256 KiB of
    // traffic), so this is the most a flush adds per pair.
    let large = vec![4096usize; sizes.len()];
    let r = abba(
        reps,
        &mut [&mut || pair_batch(Kind::Unmetered, &large), &mut || {
            pair_batch(Kind::Budgeted, &large)
        }],
    );
    emit_variants(&format!("{prefix}.pair_4k"), &["unmetered", "budgeted"], &r);

    // 4. Foreign frees (allocated in the task, freed here while no task runs).
    let ptrs: RefCell<Vec<usize>> = RefCell::new(Vec::with_capacity(sizes.len()));
    let foreign_batch = |kind: Kind| {
        let tree = Tree::open(kind);
        let mut ptrs = ptrs.borrow_mut();
        ptrs.clear();
        tree.scope().run(|| alloc_all(global, &sizes, &mut ptrs));
        let ns = per_op(ptrs.len() as u64, || free_all(global, &sizes, &ptrs));
        drop(tree);
        ns
    };
    let r = abba(
        reps,
        &mut [
            &mut || foreign_batch(Kind::Unmetered),
            &mut || foreign_batch(Kind::OtherOpen),
            &mut || foreign_batch(Kind::Budgeted),
        ],
    );
    emit_variants(
        &format!("{prefix}.foreign_free"),
        &["unmetered", "other_open", "metered"],
        &r,
    );

    // 5. One batch flush: a scope of a few pairs, unmetered against budgeted.
    let small = &sizes[..SCOPE_PAIRS];
    let flush_batch = |kind: Kind| {
        let tree = Tree::open(kind);
        let scope = tree.scope();
        let ns = per_op(SCOPES as u64, || {
            (0..SCOPES)
                .map(|_| scope.run(|| keep(pairs(global, small))))
                .sum::<u64>()
        });
        drop(tree);
        ns
    };
    let r = abba(
        reps,
        &mut [&mut || flush_batch(Kind::Unmetered), &mut || {
            flush_batch(Kind::Budgeted)
        }],
    );
    emit_variants(&format!("{prefix}.flush"), &["unmetered", "metered"], &r);

    configure(before);
}
