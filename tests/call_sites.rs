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

#[inline(never)]
fn churn(size: usize) {
    drop(black_box(Vec::<u8>::with_capacity(size)));
}

/// Sizes of the unbiasedness workload: small blocks are sampled rarely and weigh much,
/// large ones often and weigh little.
const MIXED: [usize; 5] = [16, 100, 1000, 5000, 20_000];

#[test]
fn the_estimates_are_unbiased() {
    const MEAN: u64 = 64 * 1024;
    const ROUNDS: usize = 4000;
    let exact_bytes: f64 = (MIXED.iter().sum::<usize>() * ROUNDS) as f64;
    let exact_count = (MIXED.len() * ROUNDS) as f64;
    // The variance of the estimate of one pass: each size s, sampled with probability p,
    // adds s/p with variance s² (1 - p) / p.
    let var_bytes: f64 = MIXED
        .iter()
        .map(|&s| {
            let p = 1.0 - (-(s as f64) / MEAN as f64).exp();
            (s * s) as f64 * (1.0 - p) / p * ROUNDS as f64
        })
        .sum();
    let seeds = 20u64;
    let mut sum_error = 0.0;
    let mut sum_count_error = 0.0;
    for seed in 1..=seeds {
        let _s = sampling(MEAN, seed);
        let name: &'static str = Box::leak(format!("sites-unbiased-{seed}").into_boxed_str());
        block_on(Tracked::named(
            async {
                for _ in 0..ROUNDS {
                    for &s in &MIXED {
                        churn(s);
                    }
                }
            },
            name,
        ));
        let snap = snapshot();
        let group = snap.sites.group(name).expect("sampled");
        let churned = at(&snap.sites, group, "call_sites::churn");
        let error = churned.allocated_bytes as f64 - exact_bytes;
        // One run: within 5 standard deviations.
        assert!(
            error.abs() < 5.0 * var_bytes.sqrt(),
            "seed {seed}: {} estimated against {exact_bytes} (sd {})",
            churned.allocated_bytes,
            var_bytes.sqrt()
        );
        assert_eq!(churned.in_use_bytes, 0, "everything was freed");
        sum_error += error;
        sum_count_error += churned.allocations as f64 - exact_count;
        configure(Config::default());
    }
    // The mean error over the seeds shrinks as 1/√seeds: no bias beyond 4 of its sd.
    let mean_error = sum_error / seeds as f64;
    let sd_of_mean = (var_bytes / seeds as f64).sqrt();
    assert!(
        mean_error.abs() < 4.0 * sd_of_mean,
        "mean error {mean_error} B over {seeds} seeds (sd of the mean {sd_of_mean})"
    );
    // Counts: each sample stands for 1/p allocations, with variance (1 - p) / p each.
    let var_count: f64 = MIXED
        .iter()
        .map(|&s| {
            let p = 1.0 - (-(s as f64) / MEAN as f64).exp();
            (1.0 - p) / p * ROUNDS as f64
        })
        .sum();
    let mean_count_error = sum_count_error / seeds as f64;
    let sd_of_count = (var_count / seeds as f64).sqrt();
    assert!(
        mean_count_error.abs() < 4.0 * sd_of_count,
        "mean count error {mean_count_error} of {exact_count} (sd of the mean {sd_of_count})"
    );
}

#[inline(never)]
fn plant_leak(size: usize) -> Vec<u8> {
    black_box(Vec::with_capacity(size))
}

#[inline(never)]
fn noise_transient() {
    drop(black_box(Vec::<u8>::with_capacity(2048)));
    drop(black_box(Vec::<u8>::with_capacity(64)));
}

/// Runs `tasks` tasks of one name, each leaving `leak` bytes at one site among transient
/// noise, with the default sampling mean and `seed`; whether that site is the name's top
/// site by bytes in use.
fn leak_found(run: u64, tasks: usize, leak: usize) -> bool {
    let _s = sampling(Config::DEFAULT_SAMPLE_BYTES, run + 1);
    let name: &'static str = Box::leak(format!("planted-leak-{leak}-{run}").into_boxed_str());
    let mut kept = Vec::with_capacity(tasks);
    for _ in 0..tasks {
        kept.push(block_on(Tracked::named(
            async {
                noise_transient();
                let leaked = plant_leak(leak);
                noise_transient();
                leaked
            },
            name,
        )));
    }
    let snap = snapshot();
    drop(kept);
    let found = snap.sites.group(name).is_some_and(|g| {
        g.sites.first().is_some_and(|top| {
            top.in_use_bytes > 0 && snap.sites.stacks[top.stack].label().contains("plant_leak")
        })
    });
    configure(Config::default());
    found
}

#[test]
fn a_planted_leak_is_its_names_top_site() {
    // 1 MiB leaked over 10,000 tasks: the sampler sees it at all with probability
    // 1 - exp(-1 MiB / 512 KiB) = 86.5 % (a Poisson process over the bytes), and when it
    // does, the leak is the top site (the noise is freed).
    let runs = 100;
    let found_1mib = (0..runs).filter(|&r| leak_found(r, 10_000, 105)).count();
    // 2 MiB: 1 - exp(-4) = 98.2 %.
    let found_2mib = (0..runs)
        .filter(|&r| leak_found(1000 + r, 10_000, 210))
        .count();
    eprintln!("planted leak found: 1 MiB {found_1mib}/{runs}, 2 MiB {found_2mib}/{runs}");
    // Binomial(100, 0.865): 3.4 sd below its mean is 75.
    assert!(
        found_1mib >= 75,
        "1 MiB leak found in {found_1mib} of {runs} runs"
    );
    assert!(
        found_2mib >= 95,
        "2 MiB leak found in {found_2mib} of {runs} runs"
    );
}

#[inline(never)]
fn grow_by_realloc() -> Vec<u64> {
    let mut v: Vec<u64> = Vec::with_capacity(4);
    for i in 0..1000 {
        v.push(i);
    }
    black_box(v)
}

#[test]
fn a_block_freed_on_another_thread_leaves_its_site_and_a_realloc_moves_it() {
    let _s = sampling(1, 0);
    let blocks = block_on(Tracked::named(
        async { (keep_small(), grow_by_realloc()) },
        "sites-cross-thread",
    ));
    let before = snapshot();
    let group = before.sites.group("sites-cross-thread").expect("sampled");
    assert_eq!(
        at(&before.sites, group, "call_sites::keep_small").in_use_bytes,
        100
    );
    // Growth from 4 to 1024 `u64`s: 9 allocations (the first and 8 reallocs), of which
    // only the last block, 8 KiB, is in use.
    let grown = at(&before.sites, group, "call_sites::grow_by_realloc");
    assert_eq!(
        (grown.allocations, grown.in_use_bytes, grown.in_use_blocks),
        (9, 8192, 1)
    );
    assert_eq!(
        grown.allocated_bytes,
        (4..=1024u64).filter(|c| c.is_power_of_two()).sum::<u64>() * 8
    );
    // Freed by a thread that runs no task, whose thread-locals then go away.
    std::thread::spawn(move || drop(blocks)).join().unwrap();
    let after = snapshot();
    let group = after.sites.group("sites-cross-thread").unwrap();
    assert_eq!(
        at(&after.sites, group, "call_sites::keep_small").in_use_bytes,
        0
    );
    assert_eq!(
        at(&after.sites, group, "call_sites::grow_by_realloc").in_use_bytes,
        0
    );
    // The task's own figures are as exact as ever.
    let task = after
        .tasks
        .iter()
        .find(|t| t.name == "sites-cross-thread")
        .unwrap();
    assert_eq!(task.live_bytes, 0);
    assert_eq!(task.heap.freed_bytes, task.heap.allocated_bytes);
    configure(Config::default());
}

#[test]
fn threads_sampling_at_once_keep_every_site_exact() {
    let _s = sampling(1, 0);
    const THREADS: usize = 4;
    const BLOCKS: usize = 2000;
    let dropped_before = snapshot().sites.dropped;
    let (to_freer, freed) = std::sync::mpsc::channel::<Vec<Vec<u8>>>();
    let freer = std::thread::spawn(move || {
        for blocks in freed {
            drop(blocks);
        }
    });
    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            let to_freer = to_freer.clone();
            scope.spawn(move || {
                let blocks = block_on(Tracked::named(
                    async {
                        let mut blocks = Vec::with_capacity(BLOCKS);
                        for i in 0..BLOCKS {
                            let v = plant_leak(1 + i % 300);
                            if i % 2 == 0 {
                                blocks.push(v);
                            }
                        }
                        blocks
                    },
                    "sites-threads",
                ));
                to_freer.send(blocks).unwrap();
            });
        }
    });
    drop(to_freer);
    freer.join().unwrap();
    let snap = snapshot();
    assert_eq!(snap.sites.dropped, dropped_before, "no sample lost");
    let group = snap.sites.group("sites-threads").expect("sampled");
    let leak = at(&snap.sites, group, "call_sites::plant_leak");
    let per_thread: u64 = (0..BLOCKS as u64).map(|i| 1 + i % 300).sum();
    assert_eq!(leak.allocated_bytes, per_thread * THREADS as u64);
    assert_eq!(leak.allocations, (BLOCKS * THREADS) as u64);
    assert_eq!((leak.in_use_bytes, leak.in_use_blocks), (0, 0));
    configure(Config::default());
}
