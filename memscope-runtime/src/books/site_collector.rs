//! The thread that keeps the site books current: every [`INTERVAL`] it counts the new
//! samples and gives the slots of freed sampled blocks back to the pool, so the pool
//! stays free for new samples however long nobody takes a snapshot.
//!
//! It starts with the first tracked task (or the first snapshot), and applies
//! `MEMSCOPE_SAMPLE_BYTES` then. A program that never starts a tracked task nor takes a
//! snapshot has no collector: its samples fill the pool and further ones are dropped
//! (counted in `CallSites::dropped`).

use crate::base::config;
use crate::books::sites;
use crate::hook::{self, thread};
use std::sync::atomic::{AtomicBool, Ordering::*};
use std::time::Duration;

/// How often the collector runs.
pub(crate) const INTERVAL: Duration = Duration::from_millis(100);

static STARTED: AtomicBool = AtomicBool::new(false);

/// Starts the collector if it is not running yet: one relaxed load when it is.
#[inline]
pub(crate) fn ensure_started() {
    // Relaxed: the swap below decides; a second look costs nothing.
    if !STARTED.load(Relaxed) {
        start();
    }
}

#[cold]
fn start() {
    if STARTED.swap(true, AcqRel) {
        return;
    }
    // The first task starts here too: the settings' variables apply from now on.
    config::apply_environment();
    let _internal = thread::internal();
    let spawned = hook::spawn_own_thread("memscope-sites", || {
        let _internal = thread::internal();
        loop {
            std::thread::sleep(INTERVAL);
            sites::collect();
        }
    });
    if spawned.is_err() {
        // Snapshots still collect; only a long stretch without one may drop samples.
        STARTED.store(false, Release);
    }
}
