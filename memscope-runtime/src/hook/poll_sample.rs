//! Which polls to time when one in several is (`Config::with_poll_timing_sampled`): each
//! thread draws the gaps between timed polls from the geometric distribution, so each poll
//! is timed independently with probability `1 / n`, and weighing a timed poll `n` times
//! estimates the time inside poll without bias.

use crate::hook::thread::{with_state, ThreadState};
use std::ptr;

/// Whether to time the poll starting now when about one in `every` is timed: each poll
/// is, independently, with probability `1 / every` (the gaps between timed polls are
/// drawn from the geometric distribution, so the estimate that weighs each timed poll
/// `every` times is unbiased). A decrement per poll; a draw per timed poll.
#[inline]
pub(crate) fn time_this_poll(every: u32) -> bool {
    with_state(|s| {
        let mut left = s.polls_to_next_timed.get();
        if left == 0 {
            left = draw_gap(s, every); // the thread's first sampled poll
        }
        if left > 1 {
            s.polls_to_next_timed.set(left - 1);
            return false;
        }
        s.polls_to_next_timed.set(draw_gap(s, every));
        true
    })
    .unwrap_or(false)
}

/// A geometric gap (≥ 1) with mean `every`.
#[cold]
fn draw_gap(s: &ThreadState, every: u32) -> u32 {
    let mut x = s.poll_rng.get();
    if x == 0 {
        // Seeded from the thread-local's address: different per thread, no clock needed.
        x = (ptr::from_ref(s) as u64) | 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s.poll_rng.set(x);
    let u = ((x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 + 1.0) / (1u64 << 53) as f64;
    let p = 1.0 / f64::from(every.max(2));
    let gap = 1.0 + (u.ln() / (1.0 - p).ln()).floor();
    gap.min(f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_one_poll_in_every_is_timed() {
        for every in [2u32, 8, 64] {
            let n = 400_000;
            let timed = (0..n).filter(|_| time_this_poll(every)).count() as f64;
            let expected = n as f64 / f64::from(every);
            // Binomial: 5 standard deviations.
            let sd = (expected * (1.0 - 1.0 / f64::from(every))).sqrt();
            assert!(
                (timed - expected).abs() < 5.0 * sd,
                "{every}: {timed} vs {expected}"
            );
        }
    }
}
