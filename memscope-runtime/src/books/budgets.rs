//! The budgets in force: per budgeted tree (by its meter's index), the waker of the
//! future that runs it and its soft-limit callback, so that a task of the tree that finds
//! it over its budget can wake the budgeted future (which then stops it) and a task that
//! finds it past its soft limit can call the callback. Behind one lock, taken only at a
//! poll boundary of a budgeted task that has something to do there, never by the hook;
//! entries are made by `with_budget` and removed when its future is dropped, so there are
//! as many as budgeted futures alive.

use crate::base::budget::Pressure;
use crate::base::lock::lock;
use crate::hook::thread;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// A soft-limit callback.
pub(crate) type OnSoftLimit = Arc<dyn Fn(&Pressure) + Send + Sync>;

#[derive(Default)]
struct Entry {
    waker: Option<Waker>,
    on_soft_limit: Option<OnSoftLimit>,
}

static BUDGETS: Mutex<BTreeMap<u32, Entry>> = Mutex::new(BTreeMap::new());

/// Registers the budget of meter `meter`.
pub(crate) fn insert(meter: u32, on_soft_limit: Option<OnSoftLimit>) {
    let _internal = thread::internal();
    let entry = Entry {
        waker: None,
        on_soft_limit,
    };
    let old = lock(&BUDGETS).insert(meter, entry);
    drop(old); // none: each budget's meter is new, and removed before it is released
}

/// The budgeted future of meter `meter` is gone.
pub(crate) fn remove(meter: u32) {
    let _internal = thread::internal();
    let entry = lock(&BUDGETS).remove(&meter);
    drop(entry);
}

/// The waker to wake when a task of meter `meter`'s tree finds it over its budget.
pub(crate) fn set_waker(meter: u32, waker: &Waker) {
    let _internal = thread::internal();
    // Cloned before and the old one dropped after the lock: a waker's code may reach
    // memscope (a task it frees may hold a budget), which would take the lock again.
    let mut waker = Some(waker.clone());
    if let Some(entry) = lock(&BUDGETS).get_mut(&meter) {
        std::mem::swap(&mut entry.waker, &mut waker);
    }
    drop(waker);
}

/// Wakes the budgeted future of meter `meter` (outside the lock).
pub(crate) fn wake(meter: u32) {
    let _internal = thread::internal();
    let waker = lock(&BUDGETS).get_mut(&meter).and_then(|e| e.waker.take());
    if let Some(waker) = waker {
        waker.wake();
    }
}

/// The soft-limit callback of meter `meter`'s budget, if it has one.
pub(crate) fn on_soft_limit(meter: u32) -> Option<OnSoftLimit> {
    let _internal = thread::internal();
    lock(&BUDGETS)
        .get(&meter)
        .and_then(|e| e.on_soft_limit.clone())
}
