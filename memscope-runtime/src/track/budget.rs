//! `with_budget`: a future whose task tree may hold at most so many live bytes, stopped
//! at a poll boundary once it holds more; and `pressure`, how close the running task's
//! tree is to its budget.

use crate::base::budget::{OverBudget, Pressure};
use crate::base::name::TaskName;
use crate::base::task::TaskId;
use crate::books::budgets::{self, OnSoftLimit};
use crate::hook::{meter, thread};
use crate::track::meter_hold::{self, MeterHold};
use crate::track::tracked::Tracked;
use pin_project_lite::pin_project;
use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// How many live bytes a task tree may hold ([`with_budget`]), with an optional soft
/// limit whose callback runs when the tree reaches it.
///
/// ```
/// # use memscope_runtime as memscope;
/// use memscope::{Budget, MIB};
/// let budget = Budget::new(16 * MIB)
///     .with_soft_limit(12 * MIB, |p| eprintln!("query at {:.0} % of its budget", p.fraction() * 100.0))
///     .named("query 17");
/// assert_eq!(budget.limit_bytes(), 16 * MIB);
/// ```
#[derive(Clone)]
pub struct Budget {
    limit: u64,
    soft: Option<(u64, OnSoftLimit)>,
    name: Option<Cow<'static, str>>,
}

impl Budget {
    /// At most `limit_bytes` live bytes (allocated by the tree and not yet freed, by
    /// anyone): past that, the tree is stopped at its next poll boundary.
    pub fn new(limit_bytes: u64) -> Self {
        Budget {
            limit: limit_bytes,
            soft: None,
            name: None,
        }
    }

    /// Calls `on_soft_limit` when the tree's live bytes reach `soft_limit_bytes`, at the
    /// poll boundary of one of its tasks (on that task's thread, outside any task: what it
    /// allocates is counted as untracked, not as the tree's): once per crossing, again
    /// after the tree went back below. For code that can spill or shed load first; it may
    /// also read [`pressure`] at any time.
    pub fn with_soft_limit(
        mut self,
        soft_limit_bytes: u64,
        on_soft_limit: impl Fn(&Pressure) + Send + Sync + 'static,
    ) -> Self {
        self.soft = Some((soft_limit_bytes, Arc::new(on_soft_limit)));
        self
    }

    /// Names the budgeted future's task (by default, the `with_budget` call's location).
    pub fn named(mut self, name: impl Into<Cow<'static, str>>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The limit, in live bytes.
    pub fn limit_bytes(&self) -> u64 {
        self.limit
    }

    /// The soft limit, if any.
    pub fn soft_limit_bytes(&self) -> Option<u64> {
        self.soft.as_ref().map(|(bytes, _)| *bytes)
    }
}

impl fmt::Debug for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Budget")
            .field("limit_bytes", &self.limit)
            .field("soft_limit_bytes", &self.soft_limit_bytes())
            .field("name", &self.name)
            .finish()
    }
}

pin_project! {
    /// The future of [`with_budget`].
    #[must_use = "futures do nothing unless you `.await` or poll them"]
    pub struct WithBudget<F> {
        #[pin]
        inner: Option<Tracked<F>>,
        task: TaskId,
        meter: MeterHold,
        waker: Option<Waker>,
    }

    impl<F> PinnedDrop for WithBudget<F> {
        fn drop(this: Pin<&mut Self>) {
            budgets::remove(this.meter.index());
        }
    }
}

/// Runs `future` as a tracked task whose tree (it and every task created inside it) may
/// hold at most `budget` live bytes. Once it holds more, the future is stopped at its
/// next poll boundary — never inside the allocator, which cannot fail an allocation on
/// stable Rust without aborting the process — and the answer is `Err(OverBudget)`, with
/// the task, its live and peak bytes and how far past the budget it went. Tasks the tree
/// spawned through [`spawn`](crate::spawn) are stopped at their next poll boundary too
/// (their handles give [`Error::OverBudget`](crate::Error::OverBudget)); a tracked task
/// started otherwise (`tokio::spawn`) counts in the tree, and the end of any poll of a
/// tree's task that finds it over its budget wakes this future, but that task itself
/// goes on. Budgets nest (each tree also counts in the enclosing one). A tracked future
/// built elsewhere joins the tree when first polled in it, if it owns no memory yet.
///
/// The check costs nothing per allocation: the tree's figures are added up as its
/// tasks' batches land (once per poll), and compared at poll boundaries. So the
/// overshoot is bounded by what the tree allocates within the polls running when it
/// crosses the budget; a future that allocates without ever yielding is stopped only
/// when it yields.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{with_budget, Budget, MIB};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let small = with_budget(Budget::new(MIB), async { vec![0u8; 1000].len() }).await;
/// assert_eq!(small.unwrap(), 1000);
///
/// let greedy = with_budget(Budget::new(MIB), async {
///     let mut held = Vec::new();
///     loop {
///         held.push(vec![0u8; 64 * 1024]);
///         tokio::task::yield_now().await; // a poll boundary
///     }
/// });
/// let over = greedy.await.unwrap_err();
/// assert_eq!(over.limit_bytes, MIB);
/// assert!(over.peak_bytes > MIB);
/// assert!(over.overshoot_bytes() <= 128 * 1024); // one poll's allocations, and the Vec's growth
/// assert_eq!(over.live_bytes, 0); // its memory was freed when it was stopped
/// # });
/// ```
#[track_caller]
pub fn with_budget<F: Future>(budget: Budget, future: F) -> WithBudget<F> {
    let name = match budget.name {
        Some(name) => TaskName::from(name),
        None => TaskName::Location(Location::caller()),
    };
    let inner = Tracked::with_name(future, name, None);
    let soft = budget.soft.as_ref().map(|(bytes, _)| *bytes);
    let meter = MeterHold::open(inner.record(), Some(budget.limit), soft);
    budgets::insert(meter.index(), budget.soft.map(|(_, callback)| callback));
    WithBudget {
        task: inner.id(),
        inner: Some(inner),
        meter,
        waker: None,
    }
}

impl<F: Future> WithBudget<F> {
    /// The id of the budgeted future's task.
    pub fn id(&self) -> TaskId {
        self.task
    }
}

impl<F: Future> Future for WithBudget<F> {
    type Output = Result<F::Output, OverBudget>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let index = this.meter.index();
        let Some(inner) = this.inner.as_mut().as_pin_mut() else {
            panic!("`WithBudget` polled after it completed");
        };
        if !this.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            budgets::set_waker(index, cx.waker());
            *this.waker = Some(cx.waker().clone());
        }
        let over = match meter_hold::poll_within_budget(index, *this.task, inner, cx) {
            Ok(Poll::Ready(output)) => {
                this.inner.set(None);
                return Poll::Ready(Ok(output));
            }
            Ok(Poll::Pending) => return Poll::Pending,
            Err(over) => over,
        };
        // Over budget: the future is dropped (inside its task, so what it frees is
        // charged to it), then the tree's figures are read.
        this.inner.set(None);
        // `over` is this budget's meter or an enclosing one, which this one holds.
        Poll::Ready(Err(meter_hold::over_budget(over)))
    }
}

/// How close the running task's tree is to its budget (the innermost budget around it),
/// including what the task allocated since its poll began; `None` outside a budgeted
/// tree. Costs a few loads.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::{with_budget, Budget, KIB};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// assert!(memscope::pressure().is_none());
/// with_budget(Budget::new(100 * KIB), async {
///     let block = vec![0u8; 50 * KIB as usize];
///     let p = memscope::pressure().unwrap();
///     assert_eq!(p.live_bytes, 50 * KIB);
///     assert_eq!(p.fraction(), 0.5);
///     drop(block);
/// })
/// .await
/// .unwrap();
/// # });
/// ```
pub fn pressure() -> Option<Pressure> {
    thread::with_state(|s| {
        let rec = s.current_record()?;
        let m = meter::limited(rec.meter())?;
        let live = (m.live_bytes() as i64).saturating_add(s.batch.pending_delta());
        Some(meter_hold::pressure_of(m, live.max(0) as u64))
    })
    .flatten()
}
