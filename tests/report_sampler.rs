//! The background sampler: start/stop are idempotent, samples show per-type and per-task
//! live bytes, the ring stays bounded, and the sampler's own work is never charged to a
//! task or to the untracked bucket.
//!
//! One test function, so no other test of this binary allocates while it measures.

use memscope::sampler::{self, CAPACITY, TOP_TASKS};
use memscope::{snapshot, Session, SessionOptions, TaskType, Tracked};
use memscope_test_support::{runtime_with_time, Flavor};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

#[test]
fn sampler_records_a_bounded_timeline_at_its_own_expense() {
    // Idempotent start and stop.
    sampler::stop();
    sampler::clear();
    let a = sampler::start(Duration::from_millis(1));
    let b = sampler::start(Duration::from_millis(500));
    assert_eq!(a, b, "a second start returns the running sampler");
    assert_eq!(a.interval(), Duration::from_millis(1));
    assert!(sampler::is_running());

    // Its own traffic goes to the tracker bucket, not to untracked (nor to any task).
    // (Thread start-up, before the sampler's code runs, is std's and untracked.)
    std::thread::sleep(Duration::from_millis(20));
    let before = snapshot();
    std::thread::sleep(Duration::from_millis(60));
    let after = snapshot();
    let ticks = after.timeline.len() - before.timeline.len();
    assert!(ticks >= 10, "sampled {ticks} times in 60 ms at 1 ms");
    let untracked = after.untracked.allocation_count - before.untracked.allocation_count;
    // `snapshot()` itself is the tracker's too; a few untracked allocs come from the
    // test harness' own threads at most.
    assert!(
        untracked <= 2,
        "{untracked} untracked allocations while sampling"
    );
    assert_eq!(after.tracked(), before.tracked(), "no task was charged");

    // A task holding 1 MiB shows in its type's live bytes and among the top tasks.
    let rt = runtime_with_time(Flavor::CurrentThread);
    let fut = Tracked::new(
        async {
            let v = vec![3u8; MIB];
            tokio::time::sleep(Duration::from_millis(30)).await;
            v.len()
        },
        "holder",
        TaskType::MemoryIntensive,
    );
    let id = fut.id();
    let from = snapshot().taken_at;
    assert_eq!(rt.block_on(fut), MIB);
    sampler::stop();
    sampler::stop();
    assert!(!sampler::is_running());
    let t = sampler::timeline();
    let during: Vec<_> = t.iter().filter(|s| s.at >= from).collect();
    assert!(during.iter().any(|s| {
        s.live_by_type
            .get(&TaskType::MemoryIntensive)
            .copied()
            .unwrap_or(0)
            >= MIB as u64
            && s.top_tasks
                .first()
                .is_some_and(|top| top.id == id && top.live_bytes >= MIB as u64)
    }));
    assert!(t.iter().all(|s| s.top_tasks.len() <= TOP_TASKS));
    assert!(t.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(t.iter().all(|s| s.live_by_type.values().all(|&b| b > 0)));

    // Bounded: thrice the capacity leaves at most the capacity, spanning the whole run.
    let first = t.first().unwrap().at;
    for _ in 0..3 * CAPACITY {
        sampler::sample_now();
    }
    let t = sampler::timeline();
    assert!(
        t.len() <= CAPACITY && t.len() >= CAPACITY / 2,
        "{} samples",
        t.len()
    );
    assert_eq!(t.first().unwrap().at, first, "downsampling keeps the start");
    sampler::clear();
    assert!(sampler::timeline().is_empty());

    a_short_session_gets_a_fine_timeline();
}

/// Under a `Session`'s default interval, a run of about 50 ms gets at least 100 samples,
/// and a 1 MiB peak held for 10 ms of it shows.
fn a_short_session_gets_a_fine_timeline() {
    let session = Session::start(SessionOptions::new().summary(false));
    assert!(sampler::is_running());
    let began = Instant::now();
    let rt = runtime_with_time(Flavor::CurrentThread);
    rt.block_on(Tracked::new(
        async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            let v = vec![5u8; MIB];
            tokio::time::sleep(Duration::from_millis(10)).await;
            drop(v);
            tokio::time::sleep(Duration::from_millis(20)).await;
        },
        "short_peak",
        TaskType::MemoryIntensive,
    ));
    drop(rt);
    let took = began.elapsed();
    let end = session.end();
    assert!(end.summary.starts_with("memscope"));
    assert!(
        !sampler::is_running(),
        "the session stops the sampler it started"
    );
    let t = sampler::timeline();
    assert!(t.len() >= 100, "{} samples in {took:?}", t.len());
    assert!(
        t.iter().any(|s| s
            .live_by_type
            .get(&TaskType::MemoryIntensive)
            .is_some_and(|&b| b >= MIB as u64)),
        "the short peak shows"
    );
    sampler::clear();
}
