//! SIGINT and SIGTERM, watched without changing what they do.
//!
//! [`watch`] installs a handler only for a signal still at its default action (a program
//! that set its own handler first keeps it, unwatched). The handler does only
//! async-signal-safe things: it writes the signal's number to a pipe, then waits (spinning
//! on an atomic, at most [`HOLD_AT_MOST`]) until the watcher thread says the callback has
//! seen the process as it was ([`release`]). A program that handles the signal chains
//! its handler to ours and ours runs first (as `signal-hook`, under tokio's signals, does),
//! so it learns of the signal only after that: a service that frees everything the instant
//! it is told is still seen as it ran. The watcher reads the pipe and calls back, outside
//! the handler (where allocating or locking is allowed):
//! - if the program has since put its own handler on top of ours (as
//!   `tokio::signal::ctrl_c()` does, chaining to the handler it found), the program handles
//!   the signal: the callback is told so and the program carries on as it would have;
//! - otherwise the signal's default action is due: after the callback, the watcher
//!   restores the default and raises the signal again, so the process ends exactly as it
//!   would have (same exit status), only later by the callback's work.

use libc::c_int;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering::AcqRel, Ordering::Acquire};
use std::sync::atomic::{Ordering::Relaxed, Ordering::Release};
use std::sync::Once;
use std::time::Duration;

/// Write end of the pipe the handler writes to; -1 until [`watch`] made it.
static PIPE_WRITE: AtomicI32 = AtomicI32::new(-1);
/// Signals that arrived, and signals the watcher has released the handler of: a handler
/// holds on while the second is below its own number in the first.
static ARRIVED: AtomicU64 = AtomicU64::new(0);
static RELEASED: AtomicU64 = AtomicU64::new(0);

/// The longest a handler holds its thread (and the program's own handler) back: if the
/// watcher cannot take its snapshot by then (the interrupted thread held a lock it needs),
/// the program goes on and the snapshot is taken as soon as it can be.
pub(crate) const HOLD_AT_MOST: Duration = Duration::from_secs(2);

/// The signal handler: writes the signal's number to the pipe and holds on until the
/// watcher releases it (or [`HOLD_AT_MOST`] passed), nothing else.
extern "C" fn on_signal(signal: c_int) {
    let fd = PIPE_WRITE.load(Relaxed);
    let byte = signal as u8;
    let ticket = ARRIVED.fetch_add(1, AcqRel) + 1;
    // SAFETY: `write(2)`, `clock_gettime` and reading/writing `errno` are
    // async-signal-safe; `sched_yield` is a plain Linux system call with no state in user
    // space; `byte` is a valid one-byte buffer; errno is put back so the interrupted code
    // sees its own. The handler never runs on the watcher (or any memscope thread: they
    // block these signals), so the thread it holds is never the one that releases it.
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(fd, std::ptr::addr_of!(byte).cast(), 1);
        let deadline = monotonic_ns() + HOLD_AT_MOST.as_nanos() as u64;
        while RELEASED.load(Acquire) < ticket && monotonic_ns() < deadline {
            libc::sched_yield();
        }
        *libc::__errno_location() = errno;
    }
}

/// SIGINT and SIGTERM blocked on the calling thread while it lives; the thread's mask as
/// it was put back when dropped (see `hook::spawn_own_thread`).
pub(crate) struct BlockedHere {
    before: libc::sigset_t,
}

impl BlockedHere {
    pub(crate) fn new() -> BlockedHere {
        BlockedHere {
            before: this_threads_mask(libc::SIG_BLOCK, &[libc::SIGINT, libc::SIGTERM]),
        }
    }
}

impl Drop for BlockedHere {
    fn drop(&mut self) {
        // SAFETY: `before` is the mask `pthread_sigmask` gave back in `new` on this very
        // thread (the guard lives in one frame of `spawn_own_thread`); a null old-mask
        // pointer is allowed.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.before, std::ptr::null_mut()) };
    }
}

/// Blocks (`SIG_BLOCK`) or unblocks (`SIG_UNBLOCK`) `signals` on the calling thread; the
/// mask it had before.
fn this_threads_mask(how: c_int, signals: &[c_int]) -> libc::sigset_t {
    // SAFETY: `set` is initialised by `sigemptyset` before use, `before` is a valid
    // out-parameter; `pthread_sigmask` only changes this thread's mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        let mut before: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(how, &set, &mut before);
        before
    }
}

/// `CLOCK_MONOTONIC` in nanoseconds (async-signal-safe).
fn monotonic_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid out-parameter; `clock_gettime` is async-signal-safe.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000_000 + now.tv_nsec as u64
}

/// Lets the handlers of the signals that arrived so far return: the callback has seen
/// what it needed (its snapshot is taken). The watcher also calls it after every callback.
pub(crate) fn release() {
    RELEASED.fetch_max(ARRIVED.load(Acquire), Release);
}

/// The handler installed for `signal` now.
fn current_handler(signal: c_int) -> libc::sighandler_t {
    // SAFETY: a zeroed `sigaction` is a valid out-parameter; a null new action only reads.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current);
        current.sa_sigaction
    }
}

/// Installs [`on_signal`] for `signal` if it is at its default action; whether it did. One
/// `sigaction` call reads the old action while setting ours, so a handler installed in
/// between is put back, not lost.
fn install(signal: c_int) -> bool {
    // SAFETY: the actions are fully initialised (zeroed, then handler, flags and an empty
    // mask); `on_signal` is an `extern "C" fn(c_int)`, what `sa_sigaction` holds without
    // `SA_SIGINFO`; `old` is a valid out-parameter.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signal, &action, &mut old) != 0 {
            return false;
        }
        if old.sa_sigaction != libc::SIG_DFL {
            // Ignored, or the program's own handler: it stays as it was, unwatched.
            libc::sigaction(signal, &old, std::ptr::null_mut());
            return false;
        }
        true
    }
}

/// Restores the default action of `signal` and raises it: the end the program would have
/// had.
fn end_as_the_signal_would(signal: c_int) {
    // SAFETY: plain libc call with a valid signal number.
    unsafe { libc::signal(signal, libc::SIG_DFL) };
    // The watcher blocks the signals it watches (`spawn_own_thread`): unblocked here,
    // or the raised signal would stay pending on this thread and the process live on.
    this_threads_mask(libc::SIG_UNBLOCK, &[signal]);
    // SAFETY: plain libc call with a valid signal number.
    unsafe { libc::raise(signal) };
}

/// Watches SIGINT and SIGTERM (those at their default action), once per process; calls
/// `callback(signal, handled_by_the_program)` on the watcher thread for each one that
/// arrives. Returns false when nothing could be watched.
pub(crate) fn watch(callback: fn(c_int, bool)) -> bool {
    static ONCE: Once = Once::new();
    let mut watching = false;
    ONCE.call_once(|| watching = start(callback));
    watching || PIPE_WRITE.load(Relaxed) >= 0
}

fn start(callback: fn(c_int, bool)) -> bool {
    let mut fds = [0 as c_int; 2];
    // SAFETY: `fds` has room for the two descriptors `pipe2` writes.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return false;
    }
    let [read_fd, write_fd] = fds;
    // The handler must never block: if the pipe is ever full, a signal more is dropped.
    // SAFETY: `write_fd` is the descriptor `pipe2` just made.
    unsafe {
        let flags = libc::fcntl(write_fd, libc::F_GETFL);
        libc::fcntl(write_fd, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    PIPE_WRITE.store(write_fd, Relaxed);
    let spawned =
        super::spawn_own_thread("memscope-signals", move || watch_pipe(read_fd, callback));
    if spawned.is_err() {
        return false;
    }
    let int = install(libc::SIGINT);
    let term = install(libc::SIGTERM);
    int || term
}

/// The watcher thread: reads signals from the pipe and calls back, until the pipe fails.
fn watch_pipe(read_fd: c_int, callback: fn(c_int, bool)) {
    loop {
        let mut byte = 0u8;
        // SAFETY: `byte` is a valid one-byte buffer; `read_fd` stays open for the
        // process's life.
        let n = unsafe { libc::read(read_fd, std::ptr::addr_of_mut!(byte).cast(), 1) };
        if n == 1 {
            let signal = c_int::from(byte);
            let ours =
                current_handler(signal) == on_signal as extern "C" fn(c_int) as libc::sighandler_t;
            // Whatever the callback does (a panic on a closed stderr, say), a signal the
            // program does not handle still ends it.
            let _ = std::panic::catch_unwind(|| callback(signal, !ours));
            release();
            if ours {
                end_as_the_signal_would(signal);
            }
        } else if n == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `signal` is blocked on the calling thread.
    fn blocked_here(signal: c_int) -> bool {
        let mask = this_threads_mask(libc::SIG_BLOCK, &[]);
        // SAFETY: `mask` is a mask `pthread_sigmask` filled in.
        unsafe { libc::sigismember(&mask, signal) == 1 }
    }

    #[test]
    fn a_memscope_thread_is_born_with_the_signals_blocked_and_its_creator_keeps_its_mask() {
        assert!(!blocked_here(libc::SIGTERM));
        let first_instruction = super::super::spawn_own_thread("memscope-test", || {
            (blocked_here(libc::SIGINT), blocked_here(libc::SIGTERM))
        })
        .unwrap()
        .join()
        .unwrap();
        assert_eq!(first_instruction, (true, true));
        assert!(!blocked_here(libc::SIGINT) && !blocked_here(libc::SIGTERM));
    }
}
