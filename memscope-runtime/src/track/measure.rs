//! `measure`: a future's figures, and those of every task it creates, exactly.

use crate::base::budget::Stats;
use crate::base::name::TaskName;
use crate::base::task::TaskId;
use crate::track::meter_hold::MeterHold;
use crate::track::tracked::Tracked;
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    /// The future of [`measure`]: gives the measured future's output with its [`Stats`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct Measure<F> {
        #[pin]
        inner: Tracked<F>,
        task: TaskId,
        meter: MeterHold,
    }
}

/// Runs `future` as a tracked task (named after the caller's source location, of the
/// enclosing task's type) and gives its output with the [`Stats`] of that task and of
/// every task created inside it: allocated, freed, peak and retained bytes and counts,
/// polls and tasks, exact, and only theirs, so tests measuring at once in one binary
/// never see each other's memory. Works under any executor; `memscope::assert_mem!`
/// checks the figures, and `#[memscope::test]` does both for a test.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{TaskType, TrackedExt};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (sum, stats) = memscope::measure(async {
///     let child = memscope::spawn(async { vec![0u8; 10_000] }.tracked("fill", TaskType::CpuIntensive));
///     let block = child.await.unwrap(); // allocated by the child, freed here: still the tree's
///     block.len()
/// })
/// .await;
/// assert_eq!(sum, 10_000);
/// assert_eq!(stats.tasks, 2);
/// assert!(stats.allocated_bytes >= 10_000); // and tokio's task cell of the child
/// assert_eq!(stats.retained_bytes, 0);
/// assert!(stats.peak_bytes >= 10_000);
/// # });
/// ```
#[track_caller]
pub fn measure<F: Future>(future: F) -> Measure<F> {
    Measure::new(future, TaskName::Location(Location::caller()))
}

/// [`measure`], naming the measured future's task `name` (as a test's name).
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let ((), stats) = rt.block_on(memscope::measure_named(async {}, "nothing"));
/// assert_eq!((stats.allocations, stats.polls, stats.tasks), (0, 1, 1));
/// assert_eq!(memscope::snapshot().task(stats.task).unwrap().name, "nothing");
/// ```
pub fn measure_named<F: Future>(future: F, name: impl Into<Cow<'static, str>>) -> Measure<F> {
    Measure::new(future, TaskName::from(name.into()))
}

impl<F: Future> Measure<F> {
    fn new(future: F, name: TaskName) -> Self {
        let inner = Tracked::with_name(future, name, None);
        let meter = MeterHold::open(inner.record(), None, None);
        Measure {
            task: inner.id(),
            inner,
            meter,
        }
    }

    /// The id of the measured future's task.
    pub fn id(&self) -> TaskId {
        self.task
    }
}

impl<F: Future> Future for Measure<F> {
    type Output = (F::Output, Stats);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // The completing poll dropped what was left of the future and flushed, inside
        // the task: the figures are final for it (tasks it spawned may still run).
        this.inner
            .poll(cx)
            .map(|output| (output, this.meter.stats(*this.task)))
    }
}
