//! The call stack of a sampled allocation, by walking the frame-pointer chain: no
//! allocation, no lock, no system call, a few nanoseconds a frame.
//!
//! Each frame compiled with frame pointers starts with `push rbp; mov rbp, rsp` (x86-64)
//! or `stp x29, x30, [sp, #-16]!; mov x29, sp` (AArch64), so the frame pointer register
//! points at a pair `(caller's frame pointer, return address)` and the pairs chain up the
//! stack. Rust's standard library is built with frame pointers; code built without them
//! (Rust's default for release builds of your own crates, and the generic code of `std`
//! that is compiled into your crate, such as `Vec::push`) may use the register for
//! anything, so the chain passes over such frames or stops at them. Build with
//! `RUSTFLAGS="-C force-frame-pointers=yes"` to see every frame (costs about 1 % of CPU).
//!
//! Every read is checked first against the bounds of the calling thread's stack, which
//! is mapped memory: a frame pointer must lie in `[sp, top)`, be 16-byte aligned, and grow
//! strictly from one frame to the next (so the walk ends). `top` is, for a thread created
//! by `pthread_create`, the address of one of its static thread-locals (glibc and musl
//! place them at the top of the thread's stack mapping, above every frame), and for the
//! main thread glibc's `__libc_stack_end`. Where neither bounds the stack (a coroutine's
//! stack, a signal stack), nothing is walked and the sample has no frames.

use std::cell::Cell;

/// Most frames kept per stack (the innermost ones).
pub(crate) const MAX_FRAMES: usize = 32;

/// A stack reaching further than this above the current frame is not trusted as a
/// thread stack: the walk would read memory it cannot prove mapped.
const MAX_STACK_SPAN: usize = 64 << 20;

/// Return addresses of the innermost frames, innermost first.
#[derive(Clone, Copy)]
pub(crate) struct Frames {
    pub pcs: [usize; MAX_FRAMES],
    pub len: usize,
}

impl Frames {
    pub(crate) const EMPTY: Frames = Frames {
        pcs: [0; MAX_FRAMES],
        len: 0,
    };

    /// The captured return addresses.
    pub(crate) fn as_slice(&self) -> &[usize] {
        &self.pcs[..self.len]
    }
}

thread_local! {
    /// Lies in this thread's static TLS block: for a `pthread_create`d thread, at the top
    /// of its stack mapping. Its address is all that is used.
    static MARK: Cell<u8> = const { Cell::new(0) };
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
unsafe extern "C" {
    /// Set by glibc's start-up code to the main thread's initial stack pointer.
    static __libc_stack_end: *const u8;
}

/// The top of the calling thread's stack seen from `sp`, or `None` when it cannot be told.
#[inline]
fn stack_top(sp: usize) -> Option<usize> {
    let within = |top: usize| top > sp && top - sp <= MAX_STACK_SPAN;
    let mark = MARK.try_with(|m| m as *const Cell<u8> as usize).ok()?;
    if within(mark) {
        return Some(mark);
    }
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: a plain read of a pointer-sized global that glibc writes once, before
        // `main`, and never again.
        let end = unsafe { __libc_stack_end } as usize;
        if within(end) {
            return Some(end);
        }
    }
    None
}

/// The frame pointer of the calling frame.
#[inline(always)]
fn frame_pointer() -> usize {
    let fp: usize;
    #[cfg(target_arch = "x86_64")]
    // SAFETY: copies a register; touches no memory.
    unsafe {
        std::arch::asm!("mov {}, rbp", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    #[cfg(target_arch = "aarch64")]
    // SAFETY: copies a register; touches no memory.
    unsafe {
        std::arch::asm!("mov {}, x29", out(reg) fp, options(nomem, nostack, preserves_flags))
    };
    #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
    {
        fp = 0;
    }
    fp
}

/// Captures the return addresses of the calling thread's innermost frames (at most
/// [`MAX_FRAMES`]), starting with this function's caller's caller.
#[inline(never)]
pub(crate) fn capture() -> Frames {
    let fp = frame_pointer();
    let mut frames = Frames::EMPTY;
    let Some(top) = stack_top(fp) else {
        return frames;
    };
    walk(fp, fp, top, &mut frames);
    frames
}

/// Follows the chain from `fp` while each pair lies in `[low, top)`.
#[inline]
fn walk(mut fp: usize, low: usize, top: usize, frames: &mut Frames) {
    while frames.len < MAX_FRAMES {
        if fp < low || fp % 16 != 0 || fp.saturating_add(16) > top {
            return;
        }
        // SAFETY: `[fp, fp + 16)` lies inside this thread's stack between the current
        // frame and the stack's top (checked just above), which is mapped and readable;
        // the reads are of plain words (a stale frame reads as a wrong address, never as
        // unmapped memory).
        let (next, pc) = unsafe {
            (
                std::ptr::read_volatile(fp as *const usize),
                std::ptr::read_volatile((fp + 8) as *const usize),
            )
        };
        if pc == 0 {
            return;
        }
        frames.pcs[frames.len] = pc;
        frames.len += 1;
        if next <= fp {
            return;
        }
        fp = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn nested(depth: u32) -> Frames {
        if depth == 0 {
            capture()
        } else {
            std::hint::black_box(nested(depth - 1))
        }
    }

    #[test]
    fn a_walk_finds_several_frames_and_stays_inside_the_stack() {
        let f = nested(5);
        // Built with frame pointers (the workspace's `.cargo/config.toml`), each level
        // is a frame.
        assert!(f.len >= 6, "{} frames", f.len);
        assert!(f.as_slice().iter().all(|&pc| pc != 0));
    }

    #[test]
    fn threads_other_than_main_have_a_stack_top() {
        let n = std::thread::spawn(|| nested(3).len).join().unwrap();
        assert!(n >= 4, "{n} frames");
    }

    #[test]
    fn a_chain_that_leaves_the_bounds_stops() {
        let mut f = Frames::EMPTY;
        walk(8, 16, 1 << 20, &mut f);
        assert_eq!(f.len, 0);
    }
}
