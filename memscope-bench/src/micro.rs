//! Per-operation costs measured in one process, alternating batches (ABBA) through the
//! tracking allocator (the binary's `#[global_allocator]`, called directly through a
//! handle declared with [`installed!`](crate::installed)) and through the inner allocator
//! called directly, so both go through identical calling code.

use crate::{abba, emit, keep, median, median_diff, median_ratio, mixed_sizes, noop_waker, per_op};
use memscope_runtime::{configure, Config, ScopeHandle, Tracked};
use std::alloc::{GlobalAlloc, Layout};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::mpsc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// Mixed sizes in one batch table; a batch walks it `PASSES` times.
const SIZES: usize = 4096;
const PASSES: usize = 8;

/// Allocates and frees one block of each size, in order. Returns the operations done.
#[inline(never)]
pub fn pairs<G: GlobalAlloc>(g: &G, sizes: &[usize]) -> u64 {
    for &size in sizes {
        // SAFETY: sizes are non-zero and the alignment is a power of two; the block is
        // written within its size and freed with the layout it was allocated with.
        unsafe {
            let layout = Layout::from_size_align_unchecked(size, 8);
            let p = g.alloc(layout);
            keep(p).write(size as u8);
            g.dealloc(p, layout);
        }
    }
    sizes.len() as u64
}

/// Grows a buffer of `u64` by push from capacity 4, doubling through `realloc` like `Vec`,
/// then frees it. Returns the last value (so nothing is optimised away).
#[inline(never)]
pub fn grow<G: GlobalAlloc>(g: &G, n: usize) -> u64 {
    let layout = |cap: usize| Layout::array::<u64>(cap).expect("small capacity");
    let mut cap = 4;
    // SAFETY: every layout is non-zero and valid; writes stay below `cap`; the block is
    // reallocated and freed with the layout it currently has.
    unsafe {
        let mut p = g.alloc(layout(cap)).cast::<u64>();
        for i in 0..n {
            if i == cap {
                let bytes = cap * 2 * size_of::<u64>();
                p = g.realloc(p.cast(), layout(cap), bytes).cast();
                cap *= 2;
            }
            keep(p).add(i).write(i as u64);
        }
        let last = p.add(n - 1).read();
        g.dealloc(p.cast(), layout(cap));
        last
    }
}

/// A future that is pending `n` times, then ready.
struct CountDown(u64);

impl Future for CountDown {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            Poll::Ready(())
        } else {
            self.0 -= 1;
            Poll::Pending
        }
    }
}

/// Polls `fut` `n` times (all pending) and returns ns per poll; then finishes it untimed.
fn time_polls<F: Future>(fut: F, n: u64, waker: &Waker) -> f64 {
    let cx = &mut Context::from_waker(waker);
    let mut fut = pin!(fut);
    let ns = per_op(n, || {
        for _ in 0..n {
            let _ = keep(keep(fut.as_mut()).poll(cx));
        }
    });
    while fut.as_mut().poll(cx).is_pending() {}
    ns
}

/// A tracked task that is never polled: its scope handle is what the batches run in.
fn task_scope(name: &'static str) -> (Tracked<std::future::Pending<()>>, ScopeHandle) {
    let t = Tracked::named(std::future::pending::<()>(), name);
    let h = t.scope_handle();
    (t, h)
}

/// Emits the pair figures of one ABBA run: `r` holds the per-round means of the inner
/// allocator, outside any task, and inside a task, in that order.
fn emit_pairs(label: &str, r: &[Vec<f64>]) {
    emit(&format!("{label}.pair.inner_ns"), median(&r[0]));
    emit(&format!("{label}.pair.untracked_ns"), median(&r[1]));
    emit(&format!("{label}.pair.tracked_ns"), median(&r[2]));
    emit(
        &format!("{label}.pair.untracked_delta_ns"),
        median_diff(&r[1], &r[0]),
    );
    emit(
        &format!("{label}.pair.tracked_delta_ns"),
        median_diff(&r[2], &r[0]),
    );
}

/// Runs every micro-benchmark with `global` (the binary's global allocator) against
/// `inner` (the allocator it wraps) and prints `label.*` result lines.
pub fn run<G: GlobalAlloc + Sync + 'static, A: GlobalAlloc + Sync + 'static>(
    label: &str,
    global: &'static G,
    inner: &'static A,
    reps: usize,
) {
    let sizes = mixed_sizes(SIZES);
    let batch: Vec<usize> = (0..PASSES).flat_map(|_| sizes.iter().copied()).collect();
    let (_task, scope) = task_scope("bench-pairs");

    // 1. alloc+free pairs: inner, tracking outside any task, tracking inside a task.
    let r = abba(
        reps,
        &mut [
            &mut || per_op(batch.len() as u64, || keep(pairs(inner, &batch))),
            &mut || per_op(batch.len() as u64, || keep(pairs(global, &batch))),
            &mut || {
                per_op(batch.len() as u64, || {
                    scope.run(|| keep(pairs(global, &batch)))
                })
            },
        ],
    );
    emit_pairs(label, &r);

    // 2. Vec-like growth by push through realloc, inside a task.
    for (name, n, seqs) in [("grow1k", 1000usize, 200u64), ("grow64k", 65_536, 4)] {
        let r = abba(
            reps / 2,
            &mut [
                &mut || {
                    per_op(seqs, || {
                        for _ in 0..seqs {
                            keep(grow(inner, n));
                        }
                    })
                },
                &mut || {
                    per_op(seqs, || {
                        scope.run(|| {
                            for _ in 0..seqs {
                                keep(grow(global, n));
                            }
                        })
                    })
                },
            ],
        );
        emit(&format!("{label}.{name}.inner_ns"), median(&r[0]));
        emit(&format!("{label}.{name}.tracked_ns"), median(&r[1]));
        emit(&format!("{label}.{name}.ratio"), median_ratio(&r[1], &r[0]));
    }

    // 3. Cross-thread free: allocated inside a task on this thread, freed on another
    //    thread that runs no task. Only the two loops are timed, not the hand-over.
    cross_thread(label, global, inner, &sizes, &scope, reps / 2);

    // 4. Tracked poll overhead, with and without poll timing.
    polls(label, reps / 4);

    // 5. Call-site sampling: the pair with it on against off, and one sampled event.
    crate::sampling::run(label, global, reps / 2);

    // 6. Meters: the pair, a foreign free and a flush with and without a budget.
    crate::budget::run(label, global, reps / 2);
}

fn cross_thread<G: GlobalAlloc + Sync + 'static, A: GlobalAlloc + Sync + 'static>(
    label: &str,
    global: &'static G,
    inner: &'static A,
    sizes: &[usize],
    scope: &ScopeHandle,
    reps: usize,
) {
    type Job = (Vec<usize>, bool);
    let (to_freer, jobs) = mpsc::sync_channel::<Job>(1);
    let (back, done) = mpsc::sync_channel::<(Vec<usize>, f64)>(1);
    let sizes_owned = sizes.to_vec();
    let freer = std::thread::spawn(move || {
        for (ptrs, through_global) in jobs {
            let start = Instant::now();
            for (&p, &size) in ptrs.iter().zip(&sizes_owned) {
                // SAFETY: `p` was allocated by the allocator named by `through_global`
                // with this size and alignment 8, and is freed exactly once.
                unsafe {
                    let layout = Layout::from_size_align_unchecked(size, 8);
                    if through_global {
                        global.dealloc(p as *mut u8, layout);
                    } else {
                        inner.dealloc(p as *mut u8, layout);
                    }
                }
            }
            let ns = start.elapsed().as_nanos() as f64;
            if back.send((ptrs, ns)).is_err() {
                break;
            }
        }
    });
    let mut ptrs = Vec::with_capacity(sizes.len());
    let mut one = |through_global: bool| -> f64 {
        let mut buf = std::mem::take(&mut ptrs);
        buf.clear();
        let start = Instant::now();
        let alloc_all = |buf: &mut Vec<usize>| {
            for &size in sizes {
                // SAFETY: non-zero size, power-of-two alignment.
                let p = unsafe {
                    let layout = Layout::from_size_align_unchecked(size, 8);
                    if through_global {
                        global.alloc(layout)
                    } else {
                        inner.alloc(layout)
                    }
                };
                buf.push(p as usize);
            }
        };
        if through_global {
            scope.run(|| alloc_all(&mut buf));
        } else {
            alloc_all(&mut buf);
        }
        let alloc_ns = start.elapsed().as_nanos() as f64;
        to_freer
            .send((buf, through_global))
            .expect("freer thread alive");
        let (buf, free_ns) = done.recv().expect("freer thread alive");
        ptrs = buf;
        (alloc_ns + free_ns) / sizes.len() as f64
    };
    // ABBA by hand: both variants share the hand-over state, so they are one closure.
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for round in 0..=reps {
        let x1 = one(false);
        let y1 = one(true);
        let y2 = one(true);
        let x2 = one(false);
        if round > 0 {
            a.push((x1 + x2) / 2.0);
            b.push((y1 + y2) / 2.0);
        }
    }
    drop(to_freer);
    let _ = freer.join();
    emit(&format!("{label}.xthread.inner_ns"), median(&a));
    emit(&format!("{label}.xthread.tracked_ns"), median(&b));
    emit(&format!("{label}.xthread.delta_ns"), median_diff(&b, &a));
}

/// Only the poll benchmark (for quick comparisons).
pub fn polls_only(label: &str, reps: usize) {
    polls(label, reps)
}

/// One poll in how many the sampled variant times.
const SAMPLED_POLLS: u32 = 8;

fn polls(label: &str, reps: usize) {
    const N: u64 = 20_000;
    let waker = &noop_waker();
    let timing = Config::default();
    let no_timing = Config::default().with_poll_timing(false);
    let sampled = Config::default().with_poll_timing_sampled(SAMPLED_POLLS);
    let r = abba(
        reps,
        &mut [
            &mut || time_polls(CountDown(N), N, waker),
            &mut || {
                configure(no_timing);
                time_polls(Tracked::named(CountDown(N), "bench-poll"), N, waker)
            },
            &mut || {
                configure(timing);
                time_polls(Tracked::named(CountDown(N), "bench-poll"), N, waker)
            },
            &mut || {
                configure(sampled);
                time_polls(Tracked::named(CountDown(N), "bench-poll"), N, waker)
            },
        ],
    );
    configure(timing);
    emit(&format!("{label}.poll.bare_ns"), median(&r[0]));
    emit(
        &format!("{label}.poll.no_timing_delta_ns"),
        median_diff(&r[1], &r[0]),
    );
    emit(
        &format!("{label}.poll.timing_delta_ns"),
        median_diff(&r[2], &r[0]),
    );
    emit(
        &format!("{label}.poll.sampled{SAMPLED_POLLS}_delta_ns"),
        median_diff(&r[3], &r[0]),
    );
    emit(
        &format!("{label}.clock.instant_now_ns"),
        median_per_call(|| keep(Instant::now())),
    );
    // The time-stamp counter memscope's clock reads (through `quanta`): a timed poll reads
    // it twice, so two reads are the floor of what timing every poll costs.
    #[cfg(target_arch = "x86_64")]
    emit(
        &format!("{label}.clock.tsc_read_ns"),
        // SAFETY: `rdtsc` reads a counter; it has no preconditions.
        #[allow(unused_unsafe)]
        median_per_call(|| keep(unsafe { std::arch::x86_64::_rdtsc() })),
    );
}

/// Nanoseconds per call of `f`: the median over 21 batches of 100,000 calls.
fn median_per_call<R>(mut f: impl FnMut() -> R) -> f64 {
    let batches: Vec<f64> = (0..21)
        .map(|_| {
            per_op(100_000, || {
                for _ in 0..100_000 {
                    f();
                }
            })
        })
        .collect();
    median(&batches)
}

/// The pair and growth benchmarks for a peer profiler installed as `global`, against
/// `System` called directly. `in_group` runs a closure inside the peer's notion of a task
/// (an allocation group, say). `passes` scales the batch for slow peers.
pub fn peer<G: GlobalAlloc>(
    label: &str,
    global: &G,
    in_group: &dyn Fn(&mut dyn FnMut()),
    reps: usize,
    passes: usize,
) {
    let inner = &std::alloc::System;
    let sizes = mixed_sizes(SIZES);
    let batch: Vec<usize> = (0..passes).flat_map(|_| sizes.iter().copied()).collect();
    let ops = batch.len() as u64;
    let r = abba(
        reps,
        &mut [
            &mut || per_op(ops, || keep(pairs(inner, &batch))),
            &mut || per_op(ops, || keep(pairs(global, &batch))),
            &mut || {
                per_op(ops, || {
                    in_group(&mut || {
                        keep(pairs(global, &batch));
                    })
                })
            },
        ],
    );
    emit_pairs(label, &r);
    let seqs = (passes as u64 * 25).max(5);
    let r = abba(
        reps,
        &mut [
            &mut || {
                per_op(seqs, || {
                    for _ in 0..seqs {
                        keep(grow(inner, 1000));
                    }
                })
            },
            &mut || {
                per_op(seqs, || {
                    in_group(&mut || {
                        for _ in 0..seqs {
                            keep(grow(global, 1000));
                        }
                    })
                })
            },
        ],
    );
    emit(&format!("{label}.grow1k.inner_ns"), median(&r[0]));
    emit(&format!("{label}.grow1k.tracked_ns"), median(&r[1]));
    emit(&format!("{label}.grow1k.ratio"), median_ratio(&r[1], &r[0]));
}
