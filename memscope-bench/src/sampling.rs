//! What sampling allocation call sites costs, in one process (ABBA), through the binary's
//! tracking allocator:
//!
//! - `pair.sampling_delta_ns`: an alloc+free pair inside a task with sampling on at the
//!   default mean (512 KiB) against the same pairs with sampling off;
//! - `sampled_event_ns`: one sampled allocation (stack walk of 32 frames, interning, slot)
//!   and its free, from pairs with every allocation sampled at a stack depth of 32 frames,
//!   against the same pairs with sampling off; the books collect between batches,
//!   untimed, so the slot pool never runs dry.

use crate::micro::pairs;
use crate::{abba, emit, keep, median, median_diff, per_op};
use memscope_runtime::{configure, snapshot, Config, Tracked};
use std::alloc::GlobalAlloc;

/// Frames below the timed loop in the sampled-event benchmark.
const DEPTH: u32 = 32;

/// Runs `f` `depth` frames deeper than the caller.
#[inline(never)]
fn at_depth(depth: u32, f: &mut dyn FnMut() -> f64) -> f64 {
    if depth == 0 {
        f()
    } else {
        keep(at_depth(depth - 1, f)) + 0.0
    }
}

/// Runs the sampling benchmarks through `global` and prints `label.sampling.*` lines.
pub fn run<G: GlobalAlloc + Sync + 'static>(label: &str, global: &'static G, reps: usize) {
    let batch: Vec<usize> = crate::mixed_sizes(4096);
    let task = Tracked::named(std::future::pending::<()>(), "bench-sampling");
    let scope = task.scope_handle();
    let on = Config::default().with_sample_bytes(Config::DEFAULT_SAMPLE_BYTES);
    let off = Config::default().with_sample_bytes(0);
    let every = Config::default().with_sample_bytes(1);

    // Pairs inside a task, sampling on at the default mean against off.
    let r = abba(
        reps,
        &mut [
            &mut || {
                configure(off);
                per_op(batch.len() as u64 * 8, || {
                    scope.run(|| (0..8).map(|_| keep(pairs(global, &batch))).sum::<u64>())
                })
            },
            &mut || {
                configure(on);
                per_op(batch.len() as u64 * 8, || {
                    scope.run(|| (0..8).map(|_| keep(pairs(global, &batch))).sum::<u64>())
                })
            },
        ],
    );
    emit(&format!("{label}.sampling.pair_off_ns"), median(&r[0]));
    emit(&format!("{label}.sampling.pair_on_ns"), median(&r[1]));
    emit(
        &format!("{label}.sampling.pair_delta_ns"),
        median_diff(&r[1], &r[0]),
    );

    // One sampled event: every allocation sampled, 32 frames deep.
    let small = &batch[..1024];
    let r = abba(
        reps / 4,
        &mut [
            &mut || {
                configure(off);
                at_depth(DEPTH, &mut || {
                    per_op(small.len() as u64, || {
                        scope.run(|| keep(pairs(global, small)))
                    })
                })
            },
            &mut || {
                configure(every);
                let ns = at_depth(DEPTH, &mut || {
                    per_op(small.len() as u64, || {
                        scope.run(|| keep(pairs(global, small)))
                    })
                });
                configure(off);
                // Untimed: counts the samples and gives their slots back.
                drop(keep(snapshot()));
                ns
            },
        ],
    );
    configure(Config::default());
    emit(
        &format!("{label}.sampling.sampled_event_ns"),
        median_diff(&r[1], &r[0]),
    );
    drop(task);
}
