//! The figures a fleet scrapes, published through the [`metrics`](::metrics) facade: every
//! interval a thread takes a snapshot and sets each figure on the installed recorder
//! (metrics-exporter-prometheus, an OpenTelemetry bridge, statsd…), under the names and
//! labels the Prometheus exposition gives it. A program that already exports its metrics
//! through the facade gets memscope's with no endpoint of its own.

use crate::hook::thread;
use crate::report::figures::{self, Family, KeptNames, Kind, Unit, Value, DEFAULT_METRIC_NAMES};
use crate::view::snapshot::{take, Detail};
use ::metrics::{Key, KeyName, Label, Level, Metadata, Recorder, SharedString};
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The shortest interval between two publications.
pub const MIN_PUBLISH_INTERVAL: Duration = Duration::from_millis(10);

static METADATA: Metadata<'static> =
    Metadata::new(module_path!(), Level::INFO, Some(module_path!()));

/// Starts publishing memscope's figures through the `metrics` facade every `interval`
/// (at least [`MIN_PUBLISH_INTERVAL`]), the first time at once, with the
/// [`DEFAULT_METRIC_NAMES`](crate::DEFAULT_METRIC_NAMES) task names that hold the most
/// live bytes kept apart; [`MetricsPublisher::start`] takes another bound. Publishing
/// stops when the returned handle is dropped or [`stopped`](MetricsPublisher::stop).
///
/// Each publication is one snapshot (of the groups and totals: the same figures as
/// [`snapshot`](crate::snapshot()), without a row per task) turned into the families of
/// `MemorySnapshot::prometheus` (the `prometheus` feature): the same names
/// (`memscope_task_type_live_bytes`, `memscope_task_name_allocated_bytes_total`, …), the
/// same labels (`task_type`, `task`, `outcome`) and values. Gauges are
/// [`set`](::metrics::Gauge::set), counters set with
/// [`absolute`](::metrics::Counter::absolute); each is described once with its unit and
/// definition. Two things differ, as the facade asks:
/// - the facade's counters are integers, so poll time
///   (`…_poll_duration_seconds_total`, fractional seconds) is published as a gauge of the
///   same name;
/// - the facade cannot delete a series, and need not: the names kept apart are taken by
///   live bytes while there is room and then kept for the publisher's life (names seen
///   after that go to their type's `task="other"`), so no name moves between its own
///   series and `other` and no counter falls.
///
/// The names already end in their unit (`_bytes`, `_seconds`): leave an exporter's unit
/// suffixes off. The thread is named `memscope-metrics`; what it allocates (snapshots,
/// labels, the recorder's own work) is counted as memscope's own (`memscope_tracker_*`).
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use std::time::Duration;
/// // First install a recorder (e.g. metrics_exporter_prometheus::PrometheusBuilder);
/// // without one the figures go nowhere.
/// let publisher = memscope::publish_metrics(Duration::from_secs(15));
/// // … the service runs …
/// publisher.stop();
/// ```
pub fn publish_metrics(interval: Duration) -> MetricsPublisher {
    MetricsPublisher::start(interval, DEFAULT_METRIC_NAMES)
}

/// The thread publishing memscope's figures through the `metrics` facade (see
/// [`publish_metrics`]); dropping it stops the thread, as [`stop`](MetricsPublisher::stop)
/// does.
#[derive(Debug)]
#[must_use = "publishing stops when the publisher is dropped"]
pub struct MetricsPublisher {
    interval: Duration,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl MetricsPublisher {
    /// Starts publishing every `interval` (at least [`MIN_PUBLISH_INTERVAL`]) with
    /// `max_names` task names kept apart, as [`publish_metrics`] describes. If the thread
    /// cannot be started, says so on stderr and publishes nothing.
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use std::time::Duration;
    /// let publisher = memscope::MetricsPublisher::start(Duration::from_secs(10), 20);
    /// assert_eq!(publisher.interval(), Duration::from_secs(10));
    /// # publisher.stop();
    /// ```
    pub fn start(interval: Duration, max_names: usize) -> MetricsPublisher {
        let _internal = thread::internal();
        let interval = interval.max(MIN_PUBLISH_INTERVAL);
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let spawned = crate::hook::spawn_own_thread("memscope-metrics", move || {
            run(interval, max_names, &flag)
        });
        let thread = spawned
            .map_err(|e| eprintln!("memscope: cannot start the metrics publisher thread: {e}"))
            .ok();
        MetricsPublisher {
            interval,
            stop,
            thread,
        }
    }

    /// The time between two publications.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Stops publishing and waits for the thread to end (a publication under way is
    /// finished first). The recorder keeps the values last set.
    pub fn stop(self) {
        drop(self);
    }
}

impl Drop for MetricsPublisher {
    fn drop(&mut self) {
        // Release: nothing is published by it; the join below is the synchronisation.
        self.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            thread.thread().unpark();
            let _ = thread.join();
        }
    }
}

/// The publisher thread: a publication, then a pause of `interval`, until `stop` is set.
fn run(interval: Duration, max_names: usize, stop: &AtomicBool) {
    // Everything this thread allocates is memscope's own.
    let _internal = thread::internal();
    let mut gauges = HashSet::new();
    let mut described = false;
    let mut names = KeptNames::new(max_names);
    // Acquire: pairs with the store in `drop`.
    while !stop.load(Ordering::Acquire) {
        let families = figures::figures_kept(&take(Detail::Groups), &mut names);
        ::metrics::with_recorder(|recorder| {
            if !described {
                describe(recorder, &families);
                described = true;
            }
            gauges = publish(recorder, &families, std::mem::take(&mut gauges));
        });
        let due = Instant::now() + interval;
        // Parking may wake early; only `stop` or the due time end the pause.
        while !stop.load(Ordering::Acquire) {
            let left = due.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            std::thread::park_timeout(left);
        }
    }
}

/// Whether a family goes out as a gauge: gauges, and the counters in seconds (fractional;
/// the facade's counters are integers).
fn as_gauge(family: &Family) -> bool {
    family.kind == Kind::Gauge || family.unit == Some(Unit::Seconds)
}

fn describe(recorder: &dyn Recorder, families: &[Family]) {
    for family in families {
        let name = KeyName::from(family.exposed_name());
        let unit = family.unit.map(|u| match u {
            Unit::Bytes => ::metrics::Unit::Bytes,
            Unit::Seconds => ::metrics::Unit::Seconds,
        });
        let help = SharedString::from(family.help.clone());
        if as_gauge(family) {
            recorder.describe_gauge(name, unit, help);
        } else {
            recorder.describe_counter(name, unit, help);
        }
    }
}

/// Sets every series of `families`, and to 0 the gauges of `before` that are gone; returns
/// the gauges set now.
fn publish(recorder: &dyn Recorder, families: &[Family], mut before: HashSet<Key>) -> HashSet<Key> {
    let mut now = HashSet::new();
    for family in families {
        let name = family.exposed_name();
        let gauge = as_gauge(family);
        for series in &family.series {
            let labels: Vec<Label> = series
                .labels
                .iter()
                .map(|(k, v)| Label::new(*k, v.clone()))
                .collect();
            let key = Key::from_parts(name.clone(), labels);
            match (gauge, series.value) {
                (true, Value::Int(v)) => recorder.register_gauge(&key, &METADATA).set(v as f64),
                (true, Value::Float(v)) => recorder.register_gauge(&key, &METADATA).set(v),
                (false, Value::Int(v)) => recorder.register_counter(&key, &METADATA).absolute(v),
                (false, Value::Float(v)) => recorder
                    .register_counter(&key, &METADATA)
                    .absolute(v as u64),
            }
            if gauge {
                before.remove(&key);
                now.insert(key);
            }
        }
    }
    for gone in before {
        recorder.register_gauge(&gone, &METADATA).set(0.0);
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::TaskType;
    use crate::report::figures::tests::{group, with_groups};
    use ::metrics::{Counter, Gauge, Histogram};
    use std::collections::HashMap;
    use std::sync::atomic::AtomicU64;
    use std::sync::Mutex;

    /// Counters and gauges by key (a gauge's `f64` as its bits).
    #[derive(Default)]
    struct Values(Mutex<HashMap<(bool, Key), Arc<AtomicU64>>>);

    impl Values {
        fn cell(&self, gauge: bool, key: &Key) -> Arc<AtomicU64> {
            let mut all = self.0.lock().unwrap();
            Arc::clone(all.entry((gauge, key.clone())).or_default())
        }

        fn read(&self, gauge: bool, name: &'static str, task: &str) -> Option<u64> {
            let labels = vec![
                Label::new("task_type", "network"),
                Label::new("task", task.to_owned()),
            ];
            let all = self.0.lock().unwrap();
            let cell = all.get(&(gauge, Key::from_parts(name, labels)))?;
            Some(cell.load(Ordering::Relaxed))
        }

        fn gauge(&self, name: &'static str, task: &str) -> Option<f64> {
            self.read(true, name, task).map(f64::from_bits)
        }
    }

    impl Recorder for Values {
        fn describe_counter(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
        fn describe_gauge(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
        fn describe_histogram(&self, _: KeyName, _: Option<::metrics::Unit>, _: SharedString) {}
        fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
            Counter::from_arc(self.cell(false, key))
        }
        fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
            Gauge::from_arc(self.cell(true, key))
        }
        fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
            Histogram::noop()
        }
    }

    #[test]
    fn a_name_dropped_from_the_figures_reads_zero_and_its_counters_stay() {
        const LIVE: &str = "memscope_task_name_live_bytes";
        const ALLOCATED: &str = "memscope_task_name_allocated_bytes_total";
        let net = TaskType::NetworkIntensive;
        let values = Values::default();
        let first = with_groups(vec![group("a", net, 1000, 600), group("b", net, 500, 100)]);
        let set = publish(&values, &figures::figures(&first, 1), HashSet::new());
        assert_eq!(values.gauge(LIVE, "a"), Some(600.0));
        assert_eq!(values.gauge(LIVE, "other"), Some(100.0));
        assert_eq!(values.read(false, ALLOCATED, "a"), Some(1000));

        let second = with_groups(vec![
            group("a", net, 1000, 300),
            group("b", net, 5000, 4000),
        ]);
        publish(&values, &figures::figures(&second, 1), set);
        assert_eq!(values.gauge(LIVE, "b"), Some(4000.0));
        assert_eq!(
            values.gauge(LIVE, "other"),
            Some(300.0),
            "a is in other now"
        );
        assert_eq!(
            values.gauge(LIVE, "a"),
            Some(0.0),
            "names still add up to the type"
        );
        assert_eq!(
            values.read(false, ALLOCATED, "a"),
            Some(1000),
            "a counter stays"
        );
        // Fractional seconds go out as a gauge of the same name.
        let poll = values.gauge("memscope_task_name_poll_duration_seconds_total", "b");
        assert_eq!(poll, Some(0.0015));
        assert_eq!(
            values.read(false, "memscope_task_name_polls_total", "b"),
            Some(7)
        );
    }
}
