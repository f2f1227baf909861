//! Tracked futures: [`Tracked`](tracked::Tracked) runs each poll and its drop inside the
//! task's scope and registers the task with the books; [`spawn`](spawn::spawn) puts one on
//! tokio, charging tokio's task cell to it; [`process`] keeps std's lazily made process
//! state (stdout's buffer, the panic hook's backtraces) out of the tasks' books;
//! [`measure`](measure::measure) and [`with_budget`](budget::with_budget) give a future's
//! task tree a meter of its own ([`meter_hold`]), to read or to limit.

pub(crate) mod budget;
pub(crate) mod measure;
pub(crate) mod meter_hold;
pub(crate) mod method_name;
pub(crate) mod process;
#[cfg(feature = "tokio")]
pub(crate) mod spawn;
pub(crate) mod tracked;
