//! Prometheus exposition: being written.
