//! Criterion view of the hot paths (`cargo bench -p memscope-bench`): alloc+free pairs
//! through glibc directly and through memscope's allocator outside and inside a task, and
//! `Tracked` polls. Criterion runs the variants one after another, not alternated, so for
//! differences of ~1 ns prefer the `suite` binary (see BENCHMARKS.md).

use criterion::{criterion_group, criterion_main, Criterion};
use memscope_bench::micro::pairs;
use memscope_bench::{mixed_sizes, noop_waker};
use memscope_runtime::{configure, Config, Tracked, TrackingAllocator};
use std::alloc::System;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll};

#[global_allocator]
static GLOBAL: TrackingAllocator<System> = TrackingAllocator::system();

memscope_bench::installed!(Installed = GLOBAL);

fn alloc_free(c: &mut Criterion) {
    let sizes = mixed_sizes(1024);
    let task = Tracked::named(std::future::pending::<()>(), "criterion");
    let scope = task.scope_handle();
    let mut g = c.benchmark_group("alloc_free_1024_pairs");
    g.bench_function("glibc_direct", |b| {
        b.iter(|| pairs(&System, black_box(&sizes)))
    });
    g.bench_function("memscope_outside_task", |b| {
        b.iter(|| pairs(&Installed, black_box(&sizes)))
    });
    g.bench_function("memscope_inside_task", |b| {
        b.iter(|| scope.run(|| pairs(&Installed, black_box(&sizes))))
    });
    g.finish();
}

fn polls(c: &mut Criterion) {
    let waker = noop_waker();
    let mut g = c.benchmark_group("poll");
    let forever = || std::future::poll_fn(|_| Poll::<()>::Pending);
    g.bench_function("bare", |b| {
        let mut f = pin!(forever());
        let mut cx = Context::from_waker(&waker);
        b.iter(|| black_box(f.as_mut().poll(&mut cx)));
    });
    for (name, timing) in [("tracked_no_timing", false), ("tracked_timing", true)] {
        configure(Config::default().with_poll_timing(timing));
        g.bench_function(name, |b| {
            let mut f = pin!(Tracked::named(forever(), "criterion-poll"));
            let mut cx = Context::from_waker(&waker);
            b.iter(|| black_box(f.as_mut().poll(&mut cx)));
        });
    }
    configure(Config::default());
    g.finish();
}

// `criterion_group!` generates an undocumented `pub fn`.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group!(benches, alloc_free, polls);
}
use group::benches;
criterion_main!(benches);
