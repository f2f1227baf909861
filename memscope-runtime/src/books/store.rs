//! Registering and finishing tasks: the shards of the books and their locks.
//!
//! The books are split into [`SHARDS`] shards, each behind its own lock, so that worker
//! threads starting and finishing tasks at once rarely wait for each other: a task goes to
//! the shard of its id's block ([`shard_of`]: a thread's block of ids in one shard,
//! consecutive blocks in consecutive shards) and stays there. A shard's lock is taken when
//! a task starts, when the thread that started it ends it, and for a snapshot or a
//! timeline sample; never by the allocator hook. A task ended by another thread is pushed
//! on its shard's lock-free list of ended tasks, which the next holder of the shard's lock
//! moves to the retention before anything else ([`lock`]): a worker ending a spawner's
//! tasks then writes none of its shard tables. Everything allocated under a lock is
//! charged to the tracker's own bucket.
//!
//! The retention of finished tasks is split evenly over the shards: each keeps its most
//! recent `ceil(retention / SHARDS)`, so together they hold about the `retention` most
//! recently finished tasks (a thread's tasks fill the shards a block at a time, in turn).

use crate::base::config;
use crate::base::name::TaskName;
use crate::base::task::{Outcome, TaskType};
use crate::books::shard::Shard;
use crate::books::site_collector;
use crate::books::task_ids::{next_id, shard_of, started_here};
use crate::hook::cell_chunk;
use crate::hook::clock;
use crate::hook::finished_list::FinishedList;
use crate::hook::meter;
use crate::hook::record::{NewTask, TaskRecord};
use crate::hook::record_ref::RecordRef;
use crate::hook::thread;
use crossbeam_utils::CachePadded;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};

pub(crate) use crate::books::task_ids::SHARDS;

/// Tasks running now, and the most running at once (over all shards). Each on a cache
/// line of its own, as every start and finish writes them: next to them, the settings and
/// the clock's epoch that every poll reads (which the linker puts where it likes) would be
/// invalidated on every other core at each task's start and end.
static RUNNING: CachePadded<AtomicU64> = CachePadded::new(AtomicU64::new(0));
static PEAK_RUNNING: CachePadded<AtomicU64> = CachePadded::new(AtomicU64::new(0));
static SHARD: [CachePadded<Mutex<Shard>>; SHARDS] = [
    shard(0),
    shard(1),
    shard(2),
    shard(3),
    shard(4),
    shard(5),
    shard(6),
    shard(7),
];

const fn shard(index: usize) -> CachePadded<Mutex<Shard>> {
    CachePadded::new(Mutex::new(Shard::new(index)))
}

/// Per shard, the tasks that ended since it was last locked (`hook::finished_list`).
static ENDED: [CachePadded<FinishedList>; SHARDS] =
    [const { CachePadded::new(FinishedList::new()) }; SHARDS];

/// Locks one shard; a panic elsewhere while holding it does not poison it for us (every
/// change to a shard leaves it consistent before anything that could panic). The tasks
/// that ended since the last lock are moved out of the running table first, in the order
/// they ended, so whoever holds the lock sees the books as of now.
pub(crate) fn lock(shard: usize) -> MutexGuard<'static, Shard> {
    let index = shard % SHARDS;
    let mut guard = crate::base::lock::lock(&SHARD[index]);
    if !ENDED[index].is_empty() {
        end_pushed(&mut guard, &ENDED[index]);
    }
    guard
}

/// Moves the tasks pushed on `ended` (each still in `shard`'s running table) to the
/// retention, in the order they ended ([`end_in`]).
#[cold]
#[inline(never)]
fn end_pushed(shard: &mut Shard, ended: &FinishedList) {
    let _internal = thread::internal();
    let limits = limits();
    // SAFETY: every record pushed on a shard's list is in that shard's running table (it
    // was when its task ended, and leaves it only in `end_in`, under the shard's lock,
    // which the caller holds), and the table's `Arc` keeps it allocated.
    unsafe { ended.drain(|rec| end_in(shard, rec, rec.ended_ns(), limits)) };
}

/// Moves a task that ended at `ended_ns` out of `shard`'s running table: counted in the
/// open monitoring windows, then retained (pushing the oldest out); `limits` as [`limits`].
#[inline(always)]
fn end_in(shard: &mut Shard, rec: &TaskRecord, ended_ns: u64, limits: (usize, usize)) {
    let (retention, max_groups) = limits;
    // Before the record leaves the running table: from `remove_active` to `retain`, the
    // books' `Arc` (the only counted one the `Tracked` relies on) is in this frame only.
    shard.note_in_windows(rec, ended_ns);
    // The running table's `Arc` moves to the retention. Every record `register` made is
    // there until its one end, so it is always found.
    let Some(held) = shard.remove_active(rec) else {
        debug_assert!(false, "an ended task not among the running ones");
        return;
    };
    shard.retain(held, retention, max_groups, ended_ns);
}

/// The two settings a task's end needs, not all of `Config::current()`: the retention
/// per shard and the most groups of names.
fn limits() -> (usize, usize) {
    let (retention, max_groups) = config::books_limits();
    (retention.div_ceil(SHARDS), max_groups)
}

/// Runs `f` on each shard in turn, each locked only while `f` runs on it. The tasks that
/// ended before the call are moved out of every shard's running table first: a task's
/// end in one shard may fold it into its parent in another (its allocations then count
/// in the parent's inclusive figures), which must not happen after `f` read the parent.
pub(crate) fn for_each_shard(mut f: impl FnMut(&mut Shard)) {
    for (shard, ended) in ENDED.iter().enumerate() {
        if !ended.is_empty() {
            drop(lock(shard));
        }
    }
    for shard in 0..SHARDS {
        f(&mut lock(shard));
    }
}

/// The most tasks running at once so far.
pub(crate) fn peak_running() -> u64 {
    // Relaxed: a statistic.
    PEAK_RUNNING.load(Relaxed)
}

/// Creates the record of a new task, child of the task running on this thread. Without
/// a `task_type`, the task takes its parent's (unspecified without a parent).
pub(crate) fn register(
    name: TaskName,
    task_type: Option<TaskType>,
    future_size: usize,
) -> RecordRef {
    site_collector::ensure_started();
    let parent = thread::current_record_arc();
    let _internal = thread::internal();
    let task_type = task_type
        .or_else(|| parent.as_ref().map(|p| p.task_type))
        .unwrap_or(TaskType::Unspecified);
    // The tracker owns the name from here on, so its bytes are the tracker's.
    let name = match name {
        TaskName::Owned(s) => TaskName::Owned(Box::from(&*s)),
        other => other,
    };
    let id = next_id(parent.as_ref().map_or(0, |p| p.id.as_u64()));
    let created_ns = clock::now_ns();
    // A task joins the tree of the task it is created in: its cell holds that meter.
    let meter = parent.as_ref().map_or(0, |p| p.meter());
    if meter != 0 {
        meter::retain(meter);
        meter::add_task(meter);
    }
    let mut shard = lock(shard_of(id));
    let cell = shard.cells.take(parent.as_ref().map(|p| p.cell));
    if meter != 0 {
        // A cell from the free list belongs to no meter (`Cells::push_free`).
        cell_chunk::set_meter(cell, meter);
    }
    let rec = shard.new_record(NewTask {
        id,
        name,
        task_type,
        parent,
        cell,
        meter,
        future_size,
        created_ns,
    });
    // The running table owns the record; the `Tracked` gets an uncounted reference.
    // SAFETY: `rec` was just made, no other `RecordRef` refers to it, and the books keep
    // its `Arc` (running table, retention, lingering) until it is let go (`Shard::retire`).
    let task = unsafe { RecordRef::new(&rec) };
    shard.insert_active(rec);
    drop(shard);
    // Relaxed: statistics, each exact on its own. The peak is read first: it rarely
    // changes, and a read keeps its cache line shared between the workers.
    let running = RUNNING.fetch_add(1, Relaxed) + 1;
    if running > PEAK_RUNNING.load(Relaxed) {
        PEAK_RUNNING.fetch_max(running, Relaxed);
    }
    task
}

/// Gives a task that has not run yet a meter of its own (`measure`, `with_budget`, a
/// spawn under a per-type budget), inside the one it was in: from now on its figures and
/// those of every task created inside it are added to that meter too. Returns the new
/// meter's index, held once by the caller (`meter::release` when done).
pub(crate) fn open_meter(rec: &TaskRecord, limit: Option<u64>, soft_limit: Option<u64>) -> u32 {
    let _internal = thread::internal();
    let new = meter::open(rec.id.as_u64(), rec.meter(), limit, soft_limit);
    meter::get(new).count_task();
    // The cell's hold.
    meter::retain(new);
    let previous = cell_chunk::set_meter(rec.cell, new);
    rec.set_meter(new);
    // The new meter holds the old one as its parent; the cell lets go of it.
    meter::release(previous);
    new
}

/// Called before each poll of a task (and at its spawn): the first one, inside a measured
/// or budgeted tree that it is not in yet (a `Tracked` built before `measure(…)` was
/// called around it, or built in an enclosing tree), makes it join that tree, as do the
/// tasks it creates; a task that opened a meter of its own (a `measure`, a `with_budget`)
/// puts that meter inside the tree's. Only a task that owns no memory yet joins (one that
/// does keeps its tree, where its blocks were counted), and only a tree inside the one it
/// is in (a task of another tree stays there). Two loads when no meter is open at all.
#[inline]
pub(crate) fn join_tree_of_poller(rec: &TaskRecord) {
    if rec.never_polled() && meter::any_open() {
        join_enclosing_tree(rec);
    }
}

#[cold]
#[inline(never)]
fn join_enclosing_tree(rec: &TaskRecord) {
    let enclosing = thread::with_state(|s| s.current_record().map(|r| r.meter()))
        .flatten()
        .unwrap_or(0);
    if enclosing == 0 || rec.cell.owns_memory() {
        return;
    }
    let own = rec.meter();
    let opened = own != 0 && meter::get(own).root() == rec.id.as_u64();
    // The meter the task hangs under now: its own meter's enclosing one, or the one it is in.
    let under = if opened {
        meter::get(own).parent()
    } else {
        own
    };
    if under == enclosing || !meter::encloses(under, enclosing) {
        return;
    }
    let _internal = thread::internal();
    meter::add_task_until(enclosing, under);
    if opened {
        meter::replace_parent(own, enclosing);
    } else {
        meter::retain(enclosing);
        cell_chunk::set_meter(rec.cell, enclosing);
        rec.set_meter(enclosing);
        meter::release(under);
    }
}

/// Gives a task a label (shown beside its name; it makes no group of its own). The
/// caller holds the record, so it is not folded yet: the label goes when it is.
pub(crate) fn set_label(rec: &TaskRecord, label: &dyn std::fmt::Display) {
    let _internal = thread::internal();
    let label = label.to_string().into_boxed_str();
    lock(shard_of(rec.id)).labels.insert(rec.id, label);
}

/// Ends a task's life with `outcome`; later calls for the same task do nothing.
pub(crate) fn finish(rec: &Arc<TaskRecord>, outcome: Outcome) {
    // The drop of a `Tracked` whose poll completed it: no clock read (a TSC read per task).
    if rec.has_ended() {
        return;
    }
    finish_at(rec, outcome, clock::now_ns());
}

/// [`finish`] at `now_ns`, a clock reading the caller just took (the end of the last poll).
///
/// A task this thread started from the ids it is using now (a nested call, a task that
/// ran where it was made) ends in its shard's tables at once: they were just in this
/// core's cache. Any other is pushed on its shard's list of ended tasks, which the shard's
/// next lock holder moves to the retention (see [`lock`]): no lock here, and none of the
/// shard's tables touched by this thread, whose core the starting thread would otherwise
/// take every line of them back from.
pub(crate) fn finish_at(rec: &Arc<TaskRecord>, outcome: Outcome, now_ns: u64) {
    let Some(now_ns) = rec.finish(outcome, now_ns) else {
        return;
    };
    // Relaxed: a statistic.
    RUNNING.fetch_sub(1, Relaxed);
    if !started_here(rec.id) {
        ENDED[shard_of(rec.id)].push(rec);
        return;
    }
    let _internal = thread::internal();
    let limits = limits();
    end_in(&mut lock(shard_of(rec.id)), rec, now_ns, limits);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hook::batch::Batch;

    #[test]
    fn finished_tasks_beyond_retention_are_folded_or_linger() {
        let a = register("store-test-a".into(), Some(TaskType::IoIntensive), 8);
        let b = register("store-test-b".into(), Some(TaskType::IoIntensive), 8);
        assert_eq!(b.parent(), None);
        // `b` still holds 100 bytes when it finishes.
        b.flush(&Batch {
            alloc_bytes: 100,
            alloc_count: 1,
            delta: 100,
            max_delta: 100,
            ..Default::default()
        });
        finish(&a, Outcome::Completed);
        finish(&b, Outcome::Completed);
        assert!(lock(shard_of(a.id)).active().all(|r| r.id != a.id));
        assert!(lock(shard_of(b.id)).records().any(|r| r.id == b.id));
        // The 100 bytes have no block: "free" them, so no cell of this binary's books
        // keeps them.
        b.cell.charge_foreign_free(100);
    }
}
