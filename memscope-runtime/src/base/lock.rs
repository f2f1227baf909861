//! How memscope takes its own locks.

use std::sync::{Mutex, MutexGuard};

/// Locks `m`, also when a panic elsewhere poisoned it: every lock of memscope guards data
/// that each change leaves consistent before anything that could panic (books, the
/// timeline ring, names, the shutdown state), so a user's panic must not take memscope's
/// books down with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
