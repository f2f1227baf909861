//! Function names, files and lines of the return addresses in sampled stacks: resolved by
//! the `backtrace` crate (feature `symbolize`) from the program's own debug information,
//! off the hot path (when a snapshot is taken), and cached per address.
//!
//! One address may stand for several frames, when the compiler inlined calls into the
//! function that holds it: they come innermost first, as in a stack. Without the feature,
//! or where nothing resolves, a frame is its address (`0x55d0c3a1b2c4`), which
//! `go tool pprof` can still resolve from the binary.
//!
//! The cache keeps at most [`MAX_CACHED`] addresses; past that it starts over. What the
//! lookups parse of the debug information (tens of MiB for a debug build) is dropped by
//! [`release`] once a snapshot has resolved its new addresses, so it is memscope's only
//! while a snapshot is taken.

use crate::base::lock;
use crate::hook::thread;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

/// Addresses whose frames are cached.
pub(crate) const MAX_CACHED: usize = 64 * 1024;

/// One frame of a resolved address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Symbol {
    /// The function, demangled without its hash (`app::cache::Cache::put`), or the
    /// address in hex when it did not resolve.
    pub function: String,
    pub file: Option<String>,
    pub line: Option<u32>,
}

static CACHE: Mutex<Option<HashMap<usize, Arc<[Symbol]>>>> = Mutex::new(None);
/// Whether a lookup parsed debug information since the last [`release`].
static LOOKED_UP: AtomicBool = AtomicBool::new(false);

/// The frames of return address `pc`, innermost first (never empty).
pub(crate) fn resolve(pc: usize) -> Arc<[Symbol]> {
    let _internal = thread::internal();
    let mut cache = lock::lock(&CACHE);
    let cache = cache.get_or_insert_with(HashMap::new);
    if let Some(found) = cache.get(&pc) {
        return found.clone();
    }
    if cache.len() >= MAX_CACHED {
        cache.clear();
    }
    let frames: Arc<[Symbol]> = lookup(pc).into();
    cache.insert(pc, frames.clone());
    frames
}

/// Drops what the lookups since the last call parsed of the debug information (the
/// resolved frames stay cached).
pub(crate) fn release() {
    // Relaxed: the flag only saves a call; the cache's own lock orders the clearing.
    if LOOKED_UP.swap(false, Relaxed) {
        let _internal = thread::internal();
        #[cfg(feature = "symbolize")]
        backtrace::clear_symbol_cache();
    }
}

fn unresolved(pc: usize) -> Symbol {
    Symbol {
        function: format!("{pc:#x}"),
        file: None,
        line: None,
    }
}

#[cfg(feature = "symbolize")]
fn lookup(pc: usize) -> Vec<Symbol> {
    LOOKED_UP.store(true, Relaxed);
    let mut out = Vec::new();
    // `resolve` takes the address of the instruction after the call (a return address)
    // and looks up the call itself.
    backtrace::resolve(pc as *mut std::ffi::c_void, |symbol| {
        let function = symbol
            .name()
            .map(|n| format!("{n:#}"))
            .unwrap_or_else(|| format!("{pc:#x}"));
        out.push(Symbol {
            function,
            file: symbol.filename().map(|f| f.display().to_string()),
            line: symbol.lineno(),
        });
    });
    if out.is_empty() {
        out.push(unresolved(pc));
    }
    out
}

#[cfg(not(feature = "symbolize"))]
fn lookup(pc: usize) -> Vec<Symbol> {
    vec![unresolved(pc)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn here() -> usize {
        crate::hook::stack::capture().pcs[0]
    }

    #[test]
    #[cfg(feature = "symbolize")]
    fn a_return_address_resolves_to_its_function() {
        let pc = here();
        let frames = resolve(pc);
        assert!(
            frames
                .iter()
                .any(|s| s.function.contains("symbols::tests::here")),
            "{frames:?}"
        );
        assert!(Arc::ptr_eq(&frames, &resolve(pc)));
    }
}
