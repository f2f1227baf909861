//! Timeline of live bytes over time (filled by the background sampler).

use crate::task::{TaskId, TaskType};
use serde::{Deserialize, Serialize};

/// Live bytes at one sampling instant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TimelineSample {
    /// When the sample was taken, ns since the tracker's epoch.
    pub at_ns: u64,
    /// Live bytes of tracked tasks per task type.
    pub live_by_type: Vec<(TaskType, u64)>,
    /// Live bytes of the largest tasks at that instant.
    pub top_tasks: Vec<(TaskId, u64)>,
    /// Live bytes outside any task.
    pub untracked_live_bytes: u64,
}

/// The samples recorded so far, oldest first.
pub(crate) fn timeline() -> Vec<TimelineSample> {
    Vec::new()
}
