//! Where in the task: sampled allocation call sites.
//!
//! With a sampling mean of 1 byte every allocation is sampled and the per-site figures
//! are exact; with the default mean they are estimates, unbiased. The tests run one at a
//! time (a lock) because the sampling mean is process-wide.

use memscope::{
    configure, snapshot, CallSites, Config, GroupSites, SiteFigures, TaskType, Tracked,
};
use memscope_test_support::block_on;
use std::hint::black_box;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn sampling(mean: u64, seed: u64) -> std::sync::MutexGuard<'static, ()> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    configure(
        Config::default()
            .with_sample_bytes(mean)
            .with_sample_seed(seed),
    );
    guard
}

#[inline(never)]
fn keep_small() -> Vec<u8> {
    black_box(Vec::with_capacity(100))
}

#[inline(never)]
fn churn_large() {
    drop(black_box(Vec::<u8>::with_capacity(1000)));
}

/// The figures of `group`'s sites whose label names `function`, added up (two calls of
/// one fn from two lines are two sites).
fn at(sites: &CallSites, group: &GroupSites, function: &str) -> SiteFigures {
    let mut sum = SiteFigures::default();
    for s in group
        .sites
        .iter()
        .filter(|s| sites.stacks[s.stack].label().contains(function))
    {
        sum.allocated_bytes += s.allocated_bytes;
        sum.allocations += s.allocations;
        sum.in_use_bytes += s.in_use_bytes;
        sum.in_use_blocks += s.in_use_blocks;
        sum.retained_bytes += s.retained_bytes;
        sum.retained_blocks += s.retained_blocks;
    }
    sum
}

#[test]
fn with_every_allocation_sampled_each_site_is_exact() {
    let _s = sampling(1, 0);
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(block_on(Tracked::named(
            async {
                churn_large();
                keep_small()
            },
            "sites-exact-a",
        )));
    }
    kept.push(block_on(Tracked::new(
        async {
            let mut v = keep_small();
            v.extend(keep_small());
            v
        },
        "sites-exact-b",
        TaskType::IoIntensive,
    )));
    let snap = snapshot();
    let sites = &snap.sites;
    assert_eq!(sites.sample_bytes, 1);
    let a = sites.group("sites-exact-a").expect("group a sampled");
    let small = at(sites, a, "call_sites::keep_small");
    assert_eq!(
        (
            small.allocated_bytes,
            small.allocations,
            small.in_use_bytes,
            small.in_use_blocks
        ),
        (300, 3, 300, 3)
    );
    // The tasks finished: what they hold is retained.
    assert_eq!((small.retained_bytes, small.retained_blocks), (300, 3));
    let large = at(sites, a, "call_sites::churn_large");
    assert_eq!(
        (large.allocated_bytes, large.allocations, large.in_use_bytes),
        (3000, 3, 0)
    );
    let b = sites.group("sites-exact-b").expect("group b sampled");
    assert_eq!(b.task_type, TaskType::IoIntensive);
    // Two calls from two lines: two sites. Extending by an empty vector keeps the first
    // block as it is; the second is freed.
    let small_b = at(sites, b, "call_sites::keep_small");
    assert_eq!(
        (
            small_b.allocated_bytes,
            small_b.allocations,
            small_b.in_use_bytes
        ),
        (200, 2, 100)
    );
    drop(kept);
    let after = snapshot();
    let a = after.sites.group("sites-exact-a").unwrap();
    let small = at(&after.sites, a, "call_sites::keep_small");
    assert_eq!((small.allocated_bytes, small.in_use_bytes), (300, 0));
    configure(Config::default());
}
