//! The tracker's monotonic clock: nanoseconds since the first time anything asked.
//!
//! Polls are timed at both ends, so the clock is read twice per poll: it uses the CPU's
//! time-stamp counter through `quanta` (about 10 ns a read here, against 23 ns for
//! `std::time::Instant`), which falls back to the OS clock where the counter is not
//! reliable.

use crate::hook::thread;
use quanta::Instant;
use std::sync::OnceLock;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// The instant all `*_ns` timestamps count from. The first call calibrates the clock, as
/// tracker-internal work: what it allocates is never charged to a task.
#[inline]
pub(crate) fn epoch() -> Instant {
    *EPOCH.get_or_init(|| {
        let _internal = thread::internal();
        Instant::now()
    })
}

/// Nanoseconds elapsed since [`epoch`]; saturates after 584 years.
pub(crate) fn now_ns() -> u64 {
    let epoch = epoch();
    nanos_between(epoch, Instant::now())
}

/// Nanoseconds from `earlier` to `later` (0 if the clock went backwards).
#[inline]
pub(crate) fn nanos_between(earlier: Instant, later: Instant) -> u64 {
    u64::try_from(later.saturating_duration_since(earlier).as_nanos()).unwrap_or(u64::MAX)
}
