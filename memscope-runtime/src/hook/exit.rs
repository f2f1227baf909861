//! Running code when the process exits normally (`main` returns or `std::process::exit`),
//! for programs that start memscope without `#[memscope::main]`: `libc::atexit` on Unix.

/// Registers `f` to run at normal process exit; false where that is not supported (not
/// Unix) or the C library refused (it keeps at least 32 such functions).
pub(crate) fn at_exit(f: extern "C" fn()) -> bool {
    #[cfg(unix)]
    {
        // SAFETY: `atexit` only stores the pointer; `f` is a plain `extern "C" fn()` with
        // no captured state, valid for the whole life of the program (a fn item), and the
        // caller's `f` catches any panic, so nothing unwinds into the C library.
        unsafe { libc::atexit(f) == 0 }
    }
    #[cfg(not(unix))]
    {
        let _ = f;
        false
    }
}
