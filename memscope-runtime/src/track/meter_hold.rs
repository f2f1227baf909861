//! A hold on a task tree's meter, and what is done with it at a poll boundary.

use crate::base::budget::{OverBudget, Pressure, Stats};
use crate::base::task::TaskId;
use crate::books::{budgets, store};
use crate::hook::meter::{self, Meter};
use crate::hook::record::TaskRecord;
use crate::hook::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// The meter a `measure`, a `with_budget` or a budgeted spawn opened for its task, held
/// until the future is dropped (the cells of the tree's blocks hold it on while they
/// outlive it).
#[derive(Debug)]
pub(crate) struct MeterHold {
    index: u32,
}

impl MeterHold {
    /// Opens a meter for `rec`'s task, which has not run yet.
    pub(crate) fn open(rec: &TaskRecord, limit: Option<u64>, soft_limit: Option<u64>) -> Self {
        MeterHold {
            index: store::open_meter(rec, limit, soft_limit),
        }
    }

    /// One more hold on the meter at `index`, which something holds now.
    pub(crate) fn retain(index: u32) -> Self {
        meter::retain(index);
        MeterHold { index }
    }

    pub(crate) fn index(&self) -> u32 {
        self.index
    }

    fn meter(&self) -> &'static Meter {
        meter::get(self.index)
    }

    /// The tree's figures now, as [`Stats`].
    pub(crate) fn stats(&self, task: TaskId) -> Stats {
        let r = self.meter().read();
        Stats {
            task,
            allocated_bytes: r.alloc_bytes,
            allocations: r.alloc_count,
            freed_bytes: r.alloc_bytes - r.live_bytes,
            frees: r.alloc_count - r.live_count,
            peak_bytes: r.peak_bytes,
            retained_bytes: r.live_bytes,
            retained_blocks: r.live_count,
            polls: r.polls,
            tasks: r.tasks,
        }
    }
}

impl Drop for MeterHold {
    fn drop(&mut self) {
        let _internal = thread::internal();
        meter::release(self.index);
    }
}

/// Polls `inner`, a future of task `task` in meter `index`'s tree, between two poll
/// boundaries ([`at_boundary`]): `Err` with the meter whose budget the tree is over, found
/// before the poll (which then does not run) or after it returned `Pending`.
pub(crate) fn poll_within_budget<F: Future>(
    index: u32,
    task: TaskId,
    inner: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Result<Poll<F::Output>, u32> {
    if let Some(over) = at_boundary(index, task) {
        return Err(over);
    }
    match inner.poll(cx) {
        Poll::Pending => at_boundary(index, task).map_or(Ok(Poll::Pending), Err),
        ready => Ok(ready),
    }
}

/// The end of a poll of `rec`'s task, in a measured or budgeted tree: a budget the tree
/// is now over wakes its budgeted future, which stops the tree (whatever spawned this
/// task: one spawned with `memscope::spawn` is also stopped itself, at its next poll).
#[cold]
#[inline(never)]
pub(crate) fn poll_ended(rec: &TaskRecord) {
    let _ = at_boundary(rec.meter(), rec.id);
}

/// What a budget says of the tree of meter `index`, found over its limit.
pub(crate) fn over_budget(index: u32) -> OverBudget {
    let m = meter::get(index);
    let r = m.read();
    OverBudget {
        task: TaskId::from_u64(m.root()),
        found_by: TaskId::from_u64(m.tripped_by().unwrap_or(m.root())),
        limit_bytes: m.limit().unwrap_or(meter::UNLIMITED),
        live_bytes: r.live_bytes,
        peak_bytes: r.peak_bytes,
    }
}

/// A poll boundary of task `task`, in meter `index`'s tree (0: none): the index of the
/// first meter from there outwards whose budget the tree is over, if any. A task that is
/// the first to find a budget over wakes its budgeted future; one that finds a tree past
/// its soft limit calls the limit's callback (once per crossing), on this thread, outside
/// any task.
pub(crate) fn at_boundary(index: u32, task: TaskId) -> Option<u32> {
    if index == 0 {
        return None;
    }
    if let Some((over, _, tripped)) = meter::over_limit(index, task.as_u64()) {
        if tripped {
            budgets::wake(over);
        }
        return Some(over);
    }
    for (at, m) in meter::chain(index) {
        let live = m.live_bytes();
        if m.soft_due(live) {
            if let Some(callback) = budgets::on_soft_limit(at) {
                // Outside every task: what the callback allocates is not the tree's.
                let _outside = thread::outside_tasks();
                callback(&pressure_of(m, live));
            }
        }
    }
    None
}

/// The pressure on meter `m`'s budget at `live` bytes.
pub(crate) fn pressure_of(m: &Meter, live: u64) -> Pressure {
    Pressure {
        live_bytes: live,
        limit_bytes: m.limit().unwrap_or(meter::UNLIMITED),
        soft_limit_bytes: m.soft_limit(),
    }
}
