//! Stack cost of nesting: 10,000 levels of tracked futures awaited inside each other run
//! on a tokio worker with the default 2 MiB stack, as the untracked program does.
//!
//! The figures are those of an optimised build (`cargo test --release --test
//! deep_nesting`, which `.ci/run` runs): there each level costs 65 B untracked and
//! 129 B tracked. A debug build's frames are about four times larger, too large for
//! 10,000 untracked levels on 2 MiB, so `cargo test` runs a tenth of the levels.

use memscope::{TaskType, Tracked};
use std::future::Future;
use std::pin::Pin;

const LEVELS: u32 = if cfg!(debug_assertions) {
    1_000
} else {
    10_000
};
/// tokio's default worker stack.
const STACK: usize = 2 * 1024 * 1024;
/// Most stack a level of `Tracked` may add in an optimised build.
const TRACKED_FRAME_BOUND: usize = 96;

fn addr_of_local() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// `n` levels of futures awaited inside each other; the innermost reports how deep the
/// stack is below `top`.
fn nest(n: u32, tracked: bool, top: usize) -> Pin<Box<dyn Future<Output = usize> + Send>> {
    let body = async move {
        if n == 0 {
            top.saturating_sub(addr_of_local())
        } else {
            nest(n - 1, tracked, top).await
        }
    };
    if tracked {
        Box::pin(Tracked::new(body, "level", TaskType::Unspecified))
    } else {
        Box::pin(body)
    }
}

/// Stack used by `LEVELS` nested levels polled on a 2 MiB tokio worker.
fn depth_on_a_worker(tracked: bool) -> usize {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_stack_size(STACK)
        .build()
        .unwrap();
    rt.block_on(async move {
        tokio::spawn(async move {
            let top = addr_of_local();
            nest(LEVELS, tracked, top).await
        })
        .await
        .expect("the nested futures ran")
    })
}

#[test]
fn ten_thousand_tracked_levels_fit_on_a_worker_stack_where_the_untracked_ones_do() {
    let plain = depth_on_a_worker(false);
    let tracked = depth_on_a_worker(true);
    let per_level = |d: usize| d / LEVELS as usize;
    let added = per_level(tracked).saturating_sub(per_level(plain));
    eprintln!(
        "{LEVELS} levels: untracked {} B a level, tracked {} B (Tracked adds {added} B)",
        per_level(plain),
        per_level(tracked),
    );
    assert!(tracked < STACK, "{tracked} B of stack");
    if !cfg!(debug_assertions) {
        assert!(
            added <= TRACKED_FRAME_BOUND,
            "Tracked adds {added} B a level"
        );
    }
}
