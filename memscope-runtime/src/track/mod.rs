//! Tracked futures: [`Tracked`](tracked::Tracked) runs each poll and its drop inside the
//! task's scope and registers the task with the books; [`spawn`](spawn::spawn) puts one on
//! tokio, charging tokio's task cell to it; [`process`] keeps std's lazily made process
//! state (stdout's buffer, the panic hook's backtraces) out of the tasks' books.

pub(crate) mod method_name;
pub(crate) mod process;
#[cfg(feature = "tokio")]
pub(crate) mod spawn;
pub(crate) mod tracked;
