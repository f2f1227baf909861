//! Task identity: ids, kinds of task and how a task ended.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Identifier of one tracked task instance, unique for the life of the process.
///
/// Ids start at 1 and grow by one per tracked task; `0` is never a task.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let id = memscope::TaskId::from_u64(7);
/// assert_eq!(id.as_u64(), 7);
/// assert_eq!(id.to_string(), "task#7");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(u64);

impl TaskId {
    /// Wraps a raw id (as found in a report).
    pub const fn from_u64(raw: u64) -> Self {
        TaskId(raw)
    }

    /// The raw id.
    pub const fn as_u64(self) -> u64 {
        self.0
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "task#{}", self.0)
    }
}

/// The kind of work a task does; reports group tasks by it.
///
/// Parsed from the short names used by `#[memscope::track(task_type = "…")]`, which are
/// also its JSON form:
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::TaskType;
/// assert_eq!("io".parse::<TaskType>().unwrap(), TaskType::IoIntensive);
/// assert_eq!(TaskType::CpuIntensive.as_str(), "cpu");
/// assert!("gpu".parse::<TaskType>().is_err());
/// ```
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TaskType {
    /// No type was given.
    #[default]
    Unspecified,
    /// Computation-bound work (`"cpu"`).
    #[serde(rename = "cpu")]
    CpuIntensive,
    /// File or disk I/O bound work (`"io"`).
    #[serde(rename = "io")]
    IoIntensive,
    /// Network-bound work (`"network"`).
    #[serde(rename = "network")]
    NetworkIntensive,
    /// Work whose main cost is memory: caches, buffers, batch building (`"memory"`).
    #[serde(rename = "memory")]
    MemoryIntensive,
    /// Housekeeping that runs beside the service: timers, flushers, reapers (`"background"`).
    Background,
}

impl TaskType {
    /// Every task type, in report order.
    pub const ALL: [TaskType; 6] = [
        TaskType::CpuIntensive,
        TaskType::IoIntensive,
        TaskType::NetworkIntensive,
        TaskType::MemoryIntensive,
        TaskType::Background,
        TaskType::Unspecified,
    ];

    /// The accepted spellings of `task_type = "…"`, in the order error messages list them.
    pub const NAMES: [&'static str; 6] = {
        let t = memscope_vocab::TASK_TYPES;
        [t[0].0, t[1].0, t[2].0, t[3].0, t[4].0, t[5].0]
    };

    /// The type whose `as u8` is `raw`.
    pub(crate) fn from_u8(raw: u8) -> Option<TaskType> {
        TaskType::ALL.into_iter().find(|t| *t as u8 == raw)
    }

    /// The short name (`"cpu"`, `"io"`, …) that parses back to this type.
    pub const fn as_str(self) -> &'static str {
        match self {
            TaskType::Unspecified => "unspecified",
            TaskType::CpuIntensive => "cpu",
            TaskType::IoIntensive => "io",
            TaskType::NetworkIntensive => "network",
            TaskType::MemoryIntensive => "memory",
            TaskType::Background => "background",
        }
    }
}

impl fmt::Display for TaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a [`TaskType`] from an unknown name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownTaskType(pub String);

impl fmt::Display for UnknownTaskType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown task type `{}`; expected one of {}",
            self.0,
            memscope_vocab::one_of(&TaskType::NAMES)
        )
    }
}

impl std::error::Error for UnknownTaskType {}

impl FromStr for TaskType {
    type Err = UnknownTaskType;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TaskType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| UnknownTaskType(s.to_owned()))
    }
}

/// How a task's life ended, or that it has not ended yet.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::Outcome;
/// assert!(!Outcome::Running.is_finished());
/// assert!(Outcome::Cancelled.is_finished());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Still alive: created and not yet completed, panicked or dropped.
    Running,
    /// Its future returned `Poll::Ready`.
    Completed,
    /// A poll of its future panicked.
    Panicked,
    /// Its future was dropped before it completed (aborted, timed out, lost a `select!`).
    Cancelled,
}

impl Outcome {
    /// Whether the task has ended, in any way.
    pub const fn is_finished(self) -> bool {
        !matches!(self, Outcome::Running)
    }

    pub(crate) const fn to_u8(self) -> u8 {
        match self {
            Outcome::Running => 0,
            Outcome::Completed => 1,
            Outcome::Panicked => 2,
            Outcome::Cancelled => 3,
        }
    }

    pub(crate) const fn from_u8(v: u8) -> Self {
        match v {
            1 => Outcome::Completed,
            2 => Outcome::Panicked,
            3 => Outcome::Cancelled,
            _ => Outcome::Running,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Outcome::Running => "running",
            Outcome::Completed => "completed",
            Outcome::Panicked => "panicked",
            Outcome::Cancelled => "cancelled",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_round_trips_through_its_name() {
        for t in TaskType::ALL {
            assert_eq!(t.as_str().parse::<TaskType>(), Ok(t));
        }
        assert_eq!(TaskType::ALL.len(), TaskType::NAMES.len());
        // The attributes accept the same names, for the same variants.
        for (name, variant) in memscope_vocab::TASK_TYPES {
            let t: TaskType = name.parse().unwrap();
            assert_eq!(format!("{t:?}"), variant);
        }
        assert_eq!(
            TaskType::NAMES,
            memscope_vocab::TASK_TYPES.map(|(name, _)| name)
        );
    }

    #[test]
    fn unknown_type_lists_the_valid_ones() {
        let err = "gpu".parse::<TaskType>().unwrap_err().to_string();
        assert_eq!(
            err,
            "unknown task type `gpu`; expected one of `cpu`, `io`, `network`, `memory`, `background`, or `unspecified`"
        );
    }

    #[test]
    fn outcome_round_trips_through_u8() {
        for o in [
            Outcome::Running,
            Outcome::Completed,
            Outcome::Panicked,
            Outcome::Cancelled,
        ] {
            assert_eq!(Outcome::from_u8(o.to_u8()), o);
        }
    }
}
