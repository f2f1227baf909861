//! The vocabulary every layer speaks: task identity, the heap counters, settings and the
//! error type. Plain values; nothing here reads the books or the hook's state.

pub(crate) mod budget;
pub(crate) mod config;
pub(crate) mod config_env;
pub(crate) mod counters;
pub(crate) mod error;
pub(crate) mod format;
pub(crate) mod lock;
pub(crate) mod name;
pub(crate) mod task;
pub(crate) mod time;
