//! pprof output: being written.
