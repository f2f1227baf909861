//! The seed API's report at process exit: a program that calls
//! [`initialize`](super::initialize) with `MEMSCOPE_REPORT` set gets the same report as
//! under `#[memscope::main]`, written when the process exits normally (and with
//! `MEMSCOPE_SERVE` set, the live endpoint while it runs).

use crate::base::lock::lock;
use crate::session::{Session, SessionOptions, REPORT_ENV, SERVE_ENV};
use std::sync::{Mutex, Once};

static SESSION: Mutex<Option<Session>> = Mutex::new(None);
static STARTED: Once = Once::new();

/// With `MEMSCOPE_REPORT` set, starts a session (it checks the destination now, watches
/// SIGINT/SIGTERM and samples the timeline) whose end, at process exit, writes the report
/// and says where on stderr; with `MEMSCOPE_SERVE` set, the same session serves the live
/// endpoint. Once per process; nothing without either variable, nor under a session
/// already running (`#[memscope::main]` writes that report itself).
pub(crate) fn report_at_exit_if_asked() {
    let set = |var| std::env::var_os(var).is_some_and(|p| !p.is_empty());
    if !(set(REPORT_ENV) || set(SERVE_ENV)) || crate::session::is_open() {
        return;
    }
    STARTED.call_once(|| {
        *lock(&SESSION) = Some(Session::start(SessionOptions::new().summary(false)));
        if !crate::hook::exit::at_exit(end_at_exit) {
            let _ = std::io::Write::write_all(
                &mut std::io::stderr(),
                b"memscope: cannot run code at exit here; call memscope::Session::end to write the report\n",
            );
        }
    });
}

/// Ends the session at exit: writes the report (and prints the summary if it was lost).
extern "C" fn end_at_exit() {
    // Nothing may unwind into the C library that calls this.
    let _ = std::panic::catch_unwind(|| {
        if let Some(session) = lock(&SESSION).take() {
            session.end().print();
        }
    });
}
