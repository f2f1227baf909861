//! std's one-time process state, kept out of the tasks' books.
//!
//! Some of std's state is made lazily by whichever code first needs it: stdout's line
//! buffer (1 KiB, at the first `print!`), and everything the panic hook does (the message,
//! and with `RUST_BACKTRACE` the backtrace and the symbolisation caches, about 30 MB,
//! kept for the rest of the process). Made inside a task, it would be charged to that
//! task and read as the task's leak. [`keep_std_state_out_of_tasks`] makes stdout's buffer
//! now, outside any task, and runs the panic hook outside any task from now on: all of it
//! is counted in the `untracked` bucket instead.

use crate::hook::thread;
use std::sync::Once;

/// Makes stdout's buffer outside any task and wraps the panic hook in force so that it
/// runs outside any task; once per process. `Session::start` (so `#[memscope::main]`) and
/// the seed API's `initialize` call it. A hook installed later replaces the wrapper.
pub(crate) fn keep_std_state_out_of_tasks() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _outside = thread::outside_tasks();
        drop(std::io::stdout());
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _outside = thread::outside_tasks();
            previous(info);
        }));
    });
}
