//! The tracker's monotonic clock: nanoseconds since the first time anything asked.
//!
//! Polls are timed at both ends, so the clock is read twice per poll: it reads the CPU's
//! time-stamp counter through `quanta`'s raw counter (about 12 ns a read here, against
//! 20 ns for `quanta::Instant::now`, which also consults a thread-local mock clock, and
//! 37 ns for `std::time::Instant`) and scales the difference to the epoch with one
//! multiplication; where the counter is not reliable, `quanta` falls back to the OS clock.

use crate::hook::thread;
use std::sync::OnceLock;

/// The clock and its reading at the epoch.
struct Epoch {
    clock: quanta::Clock,
    start: u64,
}

static EPOCH: OnceLock<Epoch> = OnceLock::new();

/// The instant all `*_ns` timestamps count from. The first call calibrates the clock, as
/// tracker-internal work: what it allocates is never charged to a task.
#[inline]
fn epoch() -> &'static Epoch {
    EPOCH.get_or_init(|| {
        let _internal = thread::internal();
        let clock = quanta::Clock::new();
        Epoch {
            start: clock.raw(),
            clock,
        }
    })
}

/// Nanoseconds elapsed since the epoch (0 if the counter reads behind it).
#[inline]
pub(crate) fn now_ns() -> u64 {
    raw_to_ns(epoch().clock.raw())
}

/// The clock's raw reading now (the time-stamp counter, or the OS clock where `quanta`
/// falls back to it), never 0: what a timed poll keeps at its start, converted once, with
/// its end, by [`raw_delta_ns`] (one scaling per poll rather than one per read).
#[inline]
pub(crate) fn raw() -> u64 {
    epoch().clock.raw().max(1)
}

/// Nanoseconds between two raw readings (0 if `end` is not after `start`).
#[inline]
pub(crate) fn raw_delta_ns(start: u64, end: u64) -> u64 {
    epoch().clock.delta_as_nanos(start, end)
}

/// A raw reading as nanoseconds since the epoch, as [`now_ns`] would have read it then.
#[inline]
pub(crate) fn raw_to_ns(raw: u64) -> u64 {
    let e = epoch();
    e.clock.delta_as_nanos(e.start, raw)
}

/// [`now_ns`], or 0 before anything started the clock: for the allocator hook, which must
/// not be the one to start it (that may wait for another thread doing so).
#[inline]
pub(crate) fn now_ns_if_started() -> u64 {
    match EPOCH.get() {
        Some(e) => e.clock.delta_as_nanos(e.start, e.clock.raw()),
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_readings_convert_as_now_ns_reads() {
        let before = now_ns();
        let (start, end) = (raw(), raw());
        let after = now_ns();
        assert!(before <= raw_to_ns(start) && raw_to_ns(end) <= after);
        let delta = raw_delta_ns(start, end);
        assert!(delta <= raw_to_ns(end) - raw_to_ns(start) + 1);
        assert_eq!(raw_delta_ns(end, start), 0, "a reading behind is no time");
    }

    #[test]
    fn the_clock_moves_forward_in_nanoseconds() {
        let a = now_ns();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let b = now_ns();
        assert!(b >= a + 15_000_000, "{a} → {b}");
        assert!(b < a + 2_000_000_000, "{a} → {b}");
    }
}
