//! Shared pieces of memscope's benchmarks: the workloads, the in-process ABBA harness, the
//! suite's cross-process one and the `/proc/self/status` readers.
//!
//! Each binary of this crate installs its own `#[global_allocator]` (tracking over System,
//! tracking over mimalloc, plain System, plain mimalloc, tracking-allocator, dhat) and
//! calls into the workloads here; the `suite` binary runs them all and prints the table.
//! See `BENCHMARKS.md` at the root of the workspace for the method and the results.
//!
//! Every result line a binary prints is `key value` (one space), so that the suite can
//! read it back; anything else on stdout is commentary.

pub mod budget;
pub mod micro;
pub mod processes;
pub mod sampling;
pub mod scopes;
pub mod server;
pub mod workload;

use std::fmt::Display;
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

/// Declares `$name`, a unit type whose `GlobalAlloc` methods call the `static` allocator
/// `$global` (the binary's `#[global_allocator]`) inline. The micro-benchmarks reach the
/// tracking allocator through it, as a program's allocation shims reach the installed
/// `static`: the compiler sees the static itself and folds what is constant in it (a
/// `TrackingAllocator`'s owner placement), which calling it through a generic `&`
/// parameter would leave to run time.
#[macro_export]
macro_rules! installed {
    ($name:ident = $global:path) => {
        struct $name;

        // SAFETY: every method forwards its arguments unchanged to `$global`.
        unsafe impl ::std::alloc::GlobalAlloc for $name {
            #[inline(always)]
            unsafe fn alloc(&self, layout: ::std::alloc::Layout) -> *mut u8 {
                // SAFETY: forwarded from our caller.
                unsafe { ::std::alloc::GlobalAlloc::alloc(&$global, layout) }
            }

            #[inline(always)]
            unsafe fn alloc_zeroed(&self, layout: ::std::alloc::Layout) -> *mut u8 {
                // SAFETY: forwarded from our caller.
                unsafe { ::std::alloc::GlobalAlloc::alloc_zeroed(&$global, layout) }
            }

            #[inline(always)]
            unsafe fn dealloc(&self, ptr: *mut u8, layout: ::std::alloc::Layout) {
                // SAFETY: forwarded from our caller.
                unsafe { ::std::alloc::GlobalAlloc::dealloc(&$global, ptr, layout) }
            }

            #[inline(always)]
            unsafe fn realloc(
                &self,
                ptr: *mut u8,
                layout: ::std::alloc::Layout,
                new_size: usize,
            ) -> *mut u8 {
                // SAFETY: forwarded from our caller.
                unsafe { ::std::alloc::GlobalAlloc::realloc(&$global, ptr, layout, new_size) }
            }
        }
    };
}

/// The binary's first argument as a count, or `default` when it is absent or not a number.
pub fn count_arg(default: usize) -> usize {
    std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

/// Prints one result line for the suite to read.
pub fn emit(key: &str, value: impl Display) {
    println!("{key} {value}");
}

/// A field of `/proc/self/status` in KiB (`VmHWM`, `VmRSS`); 0 where there is none.
pub fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            let rest = line.strip_prefix(field)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .unwrap_or(0)
}

/// The median of `xs` (mean of the two middle values for an even count); 0 when empty.
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// Runs each variant once per batch in the order `0, 1, …, n-1, n-1, …, 1, 0` (ABBA for
/// two, ABCCBA for three) for `reps` rounds, after one untimed warm-up round. Each
/// variant runs one batch and returns its nanoseconds per operation (see [`per_op`]); the
/// result is, per variant and per round, the mean of its two batches.
///
/// Alternating inside one process cancels slow drifts (frequency, other processes on the
/// machine) that make separate runs differ by 10–25 % here.
pub fn abba(reps: usize, variants: &mut [&mut dyn FnMut() -> f64]) -> Vec<Vec<f64>> {
    let n = variants.len();
    let mut per_variant = vec![Vec::with_capacity(reps); n];
    let order: Vec<usize> = (0..n).chain((0..n).rev()).collect();
    for round in 0..=reps {
        let mut sums = vec![0.0f64; n];
        for &i in &order {
            sums[i] += variants[i]();
        }
        if round > 0 {
            for i in 0..n {
                per_variant[i].push(sums[i] / 2.0);
            }
        }
    }
    per_variant
}

/// Times `f`, which does `ops` operations: nanoseconds per operation.
#[inline]
pub fn per_op<R>(ops: u64, f: impl FnOnce() -> R) -> f64 {
    let start = Instant::now();
    keep(f());
    start.elapsed().as_nanos() as f64 / ops.max(1) as f64
}

/// Median over rounds of `a[r] - b[r]`: the in-process difference of two variants.
pub fn median_diff(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    median(&d)
}

/// Median over rounds of `a[r] / b[r]`.
pub fn median_ratio(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x / y).collect();
    median(&d)
}

/// A small deterministic generator (xorshift64*), so every binary sees the same sizes.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeds the generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// The next pseudo-random value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A size between `lo` and `hi` bytes, log-uniform (as many 16–32 B blocks as 2–4 KiB).
    pub fn log_size(&mut self, lo: usize, hi: usize) -> usize {
        let (llo, lhi) = ((lo as f64).ln(), (hi as f64).ln());
        let u = (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
        ((llo + u * (lhi - llo)).exp() as usize).clamp(lo, hi)
    }
}

/// `n` mixed sizes from 16 B to 4 KiB, log-uniform, always the same.
pub fn mixed_sizes(n: usize) -> Vec<usize> {
    let mut rng = Rng::new(0x5eed);
    (0..n).map(|_| rng.log_size(16, 4096)).collect()
}

struct NoopWake;

impl Wake for NoopWake {
    fn wake(self: Arc<Self>) {}
}

/// A waker that does nothing (for polling futures by hand).
pub fn noop_waker() -> Waker {
    Waker::from(Arc::new(NoopWake))
}

/// Keeps the optimiser from deleting a value's computation.
#[inline]
pub fn keep<T>(x: T) -> T {
    black_box(x)
}
