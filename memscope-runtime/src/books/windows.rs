//! Monitoring windows: per task type, every task alive at some point inside a window
//! (what the seed API's `AsyncResourceMonitor` reports).

use crate::books::aggregate::GroupProfile;
use crate::books::shard::Window;
use crate::books::store::{self, SHARDS};
use crate::hook::clock;
use crate::hook::thread;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

static NEXT_WINDOW: AtomicU64 = AtomicU64::new(1);

/// Opens a window in every shard; returns its key.
pub(crate) fn open() -> u64 {
    let _internal = thread::internal();
    // Relaxed: only uniqueness matters.
    let key = NEXT_WINDOW.fetch_add(1, Relaxed);
    for shard in 0..SHARDS {
        store::lock(shard).windows.insert(key, BTreeMap::new());
    }
    key
}

/// Closes a window: per type, every task that finished inside it plus those still
/// running; `None` for a window that is not open.
pub(crate) fn close(key: u64) -> Option<Window> {
    let _internal = thread::internal();
    let now_ns = clock::now_ns();
    let mut all: Option<Window> = None;
    store::for_each_shard(|shard| {
        let Some(window) = shard.close_window(key, now_ns) else {
            return;
        };
        let merged = all.get_or_insert_with(BTreeMap::new);
        for (ty, group) in window {
            merged
                .entry(ty)
                .or_insert_with(|| GroupProfile::new(ty.as_str(), ty))
                .merge(&group);
        }
    });
    all
}
