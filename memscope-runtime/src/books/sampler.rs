//! Timeline of live bytes over time, filled by an optional background sampler.
//!
//! [`start`] runs a plain std thread that reads the books and records one
//! [`TimelineSample`]: live bytes per task type, the [`TOP_TASKS`] largest tasks' live
//! bytes, and untracked live bytes. The samples go into a bounded ring of [`CAPACITY`]
//! samples: when it is full, every other sample is dropped and the time between two
//! samples doubles, so the timeline always covers the whole run with between
//! `CAPACITY / 2` and `CAPACITY` samples once the ring has filled.
//!
//! The first interval is fine ([`DEFAULT_INTERVAL`], 200 µs, under a
//! [`Session`](crate::Session)), so that a run of 50 ms still gets about 250 points and a
//! short peak shows; a longer run coarsens on its own: once the ring has filled (after
//! 0.2 s at 200 µs) a run of length T is sampled every T / 1024 to T / 512 (every 0.6 to
//! 1.2 s after 10 minutes). The thread sleeps between two samples, so it wakes up only
//! `CAPACITY / 2` more times each time the run's length doubles.
//!
//! Cost of one sample: under each of the 8 shard locks in turn, one
//! `(id, type, live bytes)` triple copied per task held (running, retained, lingering)
//! into a buffer the thread reuses, and the live bytes of each folded task's cell added to
//! its type (a scan of every owner cell allocated, eight of which count as one task held
//! towards [`GUARD_TASKS`]); then, without a lock, a sum per type, a partial
//! selection of the [`TOP_TASKS`] largest (linear in the tasks held) and a sum over the
//! untracked stripes. With few tasks held that is about 1 µs in a release build (tens of
//! µs in a debug build), so under 1% of one core at 200 µs in a release build, halving
//! each time the ring fills. With [`GUARD_TASKS`] or more tasks held (the retention
//! alone holds up to 10,000) the pause after a sample is also at least [`COST_RATIO`]
//! times what the sample took: then, however many tasks are held, the sampler spends at
//! most about 1% of one core and holds each shard lock at most about 1% of the time. Its
//! own allocations are charged to memscope's `tracker` bucket, never to a task.
//!
//! ```
//! # use memscope_runtime as memscope;
//! # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
//! use memscope::sampler;
//! use std::time::Duration;
//! let handle = sampler::start(Duration::from_millis(1));
//! assert!(sampler::is_running());
//! std::thread::sleep(Duration::from_millis(20));
//! handle.stop();
//! assert!(!sampler::is_running());
//! assert!(!sampler::timeline().is_empty());
//! ```

use crate::base::lock::lock;
use crate::base::task::{TaskId, TaskType};
use crate::books::store;
use crate::hook::{clock, outside, thread};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The first sampling interval a [`Session`](crate::Session) (so `#[memscope::main]`)
/// uses unless told; it doubles each time the ring fills (see the module docs).
pub const DEFAULT_INTERVAL: Duration = Duration::from_micros(200);
/// The shortest first interval [`start`] accepts.
pub const MIN_INTERVAL: Duration = Duration::from_micros(100);
/// With [`GUARD_TASKS`] or more tasks held, the pause after a sample is at least this
/// many times what the sample took.
pub const COST_RATIO: u32 = 100;
/// Tasks held from which a sample's cost bounds the pause after it (see [`COST_RATIO`]).
pub const GUARD_TASKS: usize = 1024;
/// How many of the largest tasks each sample names.
pub const TOP_TASKS: usize = 8;
/// Most samples kept; when full, the resolution halves (see the module docs).
pub const CAPACITY: usize = 1024;

/// Live bytes of one task at a sampling instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TaskLiveBytes {
    /// The task.
    pub id: TaskId,
    /// Its live bytes at that instant.
    pub live_bytes: u64,
}

/// Live bytes at one sampling instant.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let s = memscope::sampler::sample_now();
/// assert!(s.at > std::time::Duration::ZERO);
/// assert!(s.top_tasks.len() <= memscope::sampler::TOP_TASKS);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimelineSample {
    /// When the sample was taken, since the tracker's start.
    #[serde(with = "crate::base::time::duration_ns", rename = "at_ns")]
    pub at: Duration,
    /// Live bytes of the tracked tasks held, per task type (types with no live bytes are
    /// left out).
    pub live_by_type: BTreeMap<TaskType, u64>,
    /// The largest tasks by live bytes at that instant, largest first (at most
    /// [`TOP_TASKS`], only tasks with live bytes).
    pub top_tasks: Vec<TaskLiveBytes>,
    /// Live bytes allocated outside any tracked task.
    pub untracked_live_bytes: u64,
}

impl TimelineSample {
    /// Live bytes of all tracked tasks at that instant.
    pub fn tracked_live_bytes(&self) -> u64 {
        self.live_by_type.values().sum()
    }
}

/// The bounded ring of samples.
struct Ring {
    samples: Vec<TimelineSample>,
    /// The sampler's interval is its first interval times `stride`, which doubles each
    /// time the ring fills.
    stride: u64,
}

static RING: Mutex<Ring> = Mutex::new(Ring::EMPTY);

impl Ring {
    /// No samples, at full resolution.
    const EMPTY: Ring = Ring {
        samples: Vec::new(),
        stride: 1,
    };
}

struct Running {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<()>,
    interval: Duration,
}

static RUNNING: Mutex<Option<Running>> = Mutex::new(None);

/// A running background sampler; [`stop`](SamplerHandle::stop) ends it. Dropping the
/// handle leaves it running (stop it any time with [`stop`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "keep the handle to stop the sampler, or call `sampler::stop()`"]
pub struct SamplerHandle {
    interval: Duration,
}

impl SamplerHandle {
    /// The first interval of the running sampler (the first caller's, if several started
    /// it); it doubles each time the ring fills.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Stops the sampler (the same as [`stop`]).
    pub fn stop(self) {
        stop();
    }
}

/// Starts the background sampler with `interval` between its first samples (at least
/// [`MIN_INTERVAL`]; it doubles each time the ring fills), unless it is already running:
/// then it returns a handle to the running one, whose interval is kept. Samples recorded
/// so far are kept too.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use std::time::Duration;
/// let a = memscope::sampler::start(Duration::from_millis(5));
/// let b = memscope::sampler::start(Duration::from_millis(50));
/// assert_eq!(a.interval(), b.interval());
/// memscope::sampler::stop();
/// ```
pub fn start(interval: Duration) -> SamplerHandle {
    let _internal = thread::internal();
    let mut running = lock(&RUNNING);
    if let Some(r) = running.as_ref() {
        return SamplerHandle {
            interval: r.interval,
        };
    }
    let interval = interval.max(MIN_INTERVAL);
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let spawned = crate::hook::spawn_own_thread("memscope-sampler", move || run(interval, &flag));
    match spawned {
        Ok(thread) => {
            *running = Some(Running {
                stop,
                thread,
                interval,
            })
        }
        // No thread, no timeline: reports still have every other figure.
        Err(e) => eprintln!("memscope: cannot start the sampler thread: {e}"),
    }
    SamplerHandle { interval }
}

/// Stops the background sampler and waits for its thread; does nothing if it is not
/// running. The samples stay readable with [`timeline`].
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// memscope::sampler::stop();
/// memscope::sampler::stop(); // again: fine
/// ```
pub fn stop() {
    let running = lock(&RUNNING).take();
    if let Some(r) = running {
        // Release: nothing is published; the join below is the synchronisation.
        r.stop.store(true, Ordering::Release);
        r.thread.thread().unpark();
        let _ = r.thread.join();
    }
}

/// Whether the background sampler is running.
pub fn is_running() -> bool {
    lock(&RUNNING).is_some()
}

/// The sampler thread: a sample, then a [`pause`], until `stop` is set.
fn run(interval: Duration, stop: &AtomicBool) {
    // Everything this thread allocates is memscope's own.
    let _internal = thread::internal();
    let mut buf = Vec::new();
    // Acquire: pairs with the store in `stop`.
    while !stop.load(Ordering::Acquire) {
        let began = clock::now_ns();
        let (sample, held) = read(&mut buf);
        let stride = push(sample);
        let cost = Duration::from_nanos(clock::now_ns().saturating_sub(began));
        std::thread::park_timeout(pause(interval, stride, cost, held));
    }
}

/// The pause after a sample that read `held` tasks in `cost`: the first interval times
/// the ring's `stride`, but with [`GUARD_TASKS`] or more tasks held at least
/// [`COST_RATIO`] times the cost.
fn pause(interval: Duration, stride: u64, cost: Duration, held: usize) -> Duration {
    let stride = u32::try_from(stride).unwrap_or(u32::MAX);
    let pause = interval.saturating_mul(stride);
    if held >= GUARD_TASKS {
        pause.max(cost.saturating_mul(COST_RATIO))
    } else {
        pause
    }
}

/// Adds a sample, halving the ring first when it is full; returns the stride now.
fn push(sample: TimelineSample) -> u64 {
    let mut ring = lock(&RING);
    if ring.samples.len() >= CAPACITY {
        let mut i = 0;
        ring.samples.retain(|_| {
            i += 1;
            i % 2 == 1
        });
        ring.stride = ring.stride.saturating_mul(2);
    }
    ring.samples.push(sample);
    ring.stride
}

/// Reads live bytes of every task held, holding the store's lock only for the copy.
fn read(buf: &mut Vec<(TaskId, TaskType, u64)>) -> (TimelineSample, usize) {
    buf.clear();
    let mut held = 0;
    // What folded tasks still hold, by type (their cells).
    let mut live_by_type = BTreeMap::new();
    store::for_each_shard(|books| {
        buf.extend(
            books
                .records()
                .inspect(|_| held += 1)
                .map(|r| (r.id, r.task_type, r.live_bytes()))
                .filter(|&(_, _, live)| live > 0),
        );
        // The scan visits every cell allocated, detached or not; checking one (a load of
        // its state) costs about an eighth of copying a held task's figures.
        held += books.cells.allocated() / 8;
        books.for_each_detached(|cell, group| {
            let live = live_by_type.entry(group.task_type()).or_insert(0u64);
            *live = live.saturating_add(cell.live().0);
        });
    });
    let at = Duration::from_nanos(clock::now_ns());
    for &(_, ty, live) in buf.iter() {
        *live_by_type.entry(ty).or_insert(0u64) += live;
    }
    let largest_first = |a: &(TaskId, TaskType, u64), b: &(TaskId, TaskType, u64)| {
        b.2.cmp(&a.2).then(a.0.cmp(&b.0))
    };
    if buf.len() > TOP_TASKS {
        // Linear: only the largest few need an order.
        buf.select_nth_unstable_by(TOP_TASKS, largest_first);
        buf.truncate(TOP_TASKS);
    }
    buf.sort_unstable_by(largest_first);
    let top_tasks = buf
        .iter()
        .take(TOP_TASKS)
        .map(|&(id, _, live_bytes)| TaskLiveBytes { id, live_bytes })
        .collect();
    let sample = TimelineSample {
        at,
        live_by_type,
        top_tasks,
        untracked_live_bytes: outside::untracked_counters().live_bytes(),
    };
    (sample, held)
}

/// Takes one sample now and adds it to the timeline, whether or not the background
/// sampler runs (reports add one at the end so the charts reach the snapshot's time).
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let s = memscope::sampler::sample_now();
/// assert_eq!(memscope::sampler::timeline().last(), Some(&s));
/// ```
pub fn sample_now() -> TimelineSample {
    let _internal = thread::internal();
    let (sample, _) = read(&mut Vec::new());
    push(sample.clone());
    sample
}

/// The samples recorded so far, oldest first (empty if the sampler never ran).
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let t = memscope::sampler::timeline();
/// assert!(t.windows(2).all(|w| w[0].at <= w[1].at));
/// ```
pub fn timeline() -> Vec<TimelineSample> {
    let _internal = thread::internal();
    lock(&RING).samples.clone()
}

/// Forgets every sample recorded so far and restores full resolution.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// memscope::sampler::sample_now();
/// memscope::sampler::clear();
/// assert!(memscope::sampler::timeline().is_empty());
/// ```
pub fn clear() {
    let _internal = thread::internal();
    *lock(&RING) = Ring::EMPTY;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(at_ns: u64) -> TimelineSample {
        TimelineSample {
            at: Duration::from_nanos(at_ns),
            ..TimelineSample::default()
        }
    }

    #[test]
    fn the_pause_grows_with_the_stride_and_with_the_cost() {
        let ms = Duration::from_millis;
        let many = GUARD_TASKS;
        assert_eq!(pause(ms(1), 1, Duration::ZERO, many), ms(1));
        assert_eq!(pause(ms(1), 4, Duration::from_micros(5), many), ms(4));
        assert_eq!(pause(ms(1), 1, ms(2), many), ms(2) * COST_RATIO);
        assert_eq!(
            pause(ms(1), 1, ms(2), many - 1),
            ms(1),
            "few tasks: no guard"
        );
        assert_eq!(pause(ms(1), u64::MAX, Duration::ZERO, 0), ms(1) * u32::MAX);
    }

    #[test]
    fn a_full_ring_halves_its_resolution() {
        clear();
        for i in 0..CAPACITY as u64 {
            push(sample(i));
        }
        push(sample(CAPACITY as u64));
        let t = timeline();
        assert_eq!(t.len(), CAPACITY / 2 + 1);
        assert!(t
            .iter()
            .take(CAPACITY / 2)
            .all(|s| s.at.as_nanos() % 2 == 0));
        assert_eq!(lock(&RING).stride, 2);
        clear();
    }
}
