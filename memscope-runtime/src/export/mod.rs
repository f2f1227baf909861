//! Exporters: the figures of `report::figures` published through other crates' APIs at
//! an interval, on a thread of their own (`metrics`: the `metrics` facade).

/// The `metrics` facade publisher.
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
