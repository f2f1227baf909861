//! `memscope::publish_metrics` sets the exposition's figures on the `metrics` recorder the
//! program installed: the same names and labels, values equal to the snapshot's, gauges
//! and counters described with their unit, and nothing set once it is stopped.
//!
//! The recorder is a small one of this test's own (every counter and gauge by key), the
//! process-wide one, as an exporter installs it: the publisher runs on its own thread.

use memscope::{publish_metrics, TaskType, Tracked};
use metrics::{Counter, Gauge, Histogram, Key, KeyName, Label, Metadata, Recorder};
use metrics::{SharedString, Unit};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HELD: usize = 6000;
const TASKS: usize = 5;

/// Every counter and gauge set (a gauge's `f64` as its bits), and every description.
#[derive(Default)]
struct Values {
    cells: Mutex<HashMap<(&'static str, Key), Arc<AtomicU64>>>,
    described: Mutex<HashMap<(&'static str, String), Option<Unit>>>,
}

impl Values {
    fn cell(&self, kind: &'static str, key: &Key) -> Arc<AtomicU64> {
        let mut cells = self.cells.lock().unwrap();
        Arc::clone(cells.entry((kind, key.clone())).or_default())
    }

    fn read(
        &self,
        kind: &'static str,
        name: &'static str,
        labels: &[(&'static str, &str)],
    ) -> Option<u64> {
        let labels: Vec<Label> = labels
            .iter()
            .map(|(k, v)| Label::new(*k, v.to_string()))
            .collect();
        let cells = self.cells.lock().unwrap();
        Some(
            cells
                .get(&(kind, Key::from_parts(name, labels)))?
                .load(Relaxed),
        )
    }

    fn gauge(&self, name: &'static str, labels: &[(&'static str, &str)]) -> Option<f64> {
        self.read("gauge", name, labels).map(f64::from_bits)
    }

    fn describe(&self, kind: &'static str, key: KeyName, unit: Option<Unit>) {
        let mut described = self.described.lock().unwrap();
        described.insert((kind, key.as_str().to_owned()), unit);
    }
}

impl Recorder for Values {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe("counter", key, unit);
    }
    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _: SharedString) {
        self.describe("gauge", key, unit);
    }
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.cell("counter", key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.cell("gauge", key))
    }
    fn register_histogram(&self, _: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::noop()
    }
}

/// Waits until the publisher has published a snapshot numbered above `after`; returns its
/// number.
fn published_after(values: &Values, after: f64) -> f64 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match values.gauge("memscope_snapshot_id", &[]) {
            Some(id) if id > after => return id,
            _ if Instant::now() > deadline => panic!("nothing published after snapshot {after}"),
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

#[test]
fn the_published_figures_are_the_snapshots() {
    let values: &'static Values = Box::leak(Box::default());
    metrics::set_global_recorder(values).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let kept: Vec<Vec<u8>> = (0..TASKS)
        .map(|i| {
            let fetch = async move { vec![i as u8; HELD] };
            rt.block_on(Tracked::new(fetch, "fetch", TaskType::NetworkIntensive))
        })
        .collect();
    drop(rt);

    let publisher = publish_metrics(Duration::from_millis(20));
    // A publication after this snapshot sees the network tasks as it does; once the next
    // one has begun, the first has set every figure.
    let before = memscope::snapshot();
    let first = published_after(values, before.id as f64);
    published_after(values, first);
    let network = before.by_type(TaskType::NetworkIntensive);
    let ty = [("task_type", "network")];
    let live = values.gauge("memscope_task_type_live_bytes", &ty);
    assert_eq!(live, Some(network.live_bytes as f64));
    assert!(network.live_bytes >= (TASKS * HELD) as u64);
    let allocated = values.read("counter", "memscope_task_type_allocated_bytes_total", &ty);
    assert_eq!(allocated, Some(network.heap.allocated_bytes));
    let by_name = [("task_type", "network"), ("task", "fetch")];
    let retained = values.gauge("memscope_task_name_retained_bytes", &by_name);
    assert_eq!(retained, Some(network.retained_bytes as f64));
    let finished = [
        ("task_type", "network"),
        ("task", "fetch"),
        ("outcome", "completed"),
    ];
    let completed = values.read(
        "counter",
        "memscope_task_name_tasks_finished_total",
        &finished,
    );
    assert_eq!(completed, Some(TASKS as u64));

    let described = values.described.lock().unwrap().clone();
    let unit = |kind, name: &str| described.get(&(kind, name.to_owned())).copied();
    assert_eq!(
        unit("gauge", "memscope_task_type_live_bytes"),
        Some(Some(Unit::Bytes))
    );
    assert_eq!(
        unit("counter", "memscope_task_name_polls_total"),
        Some(None)
    );
    // The facade's counters are integers: fractional seconds go out as a gauge.
    let poll = "memscope_task_type_poll_duration_seconds_total";
    assert_eq!(unit("gauge", poll), Some(Some(Unit::Seconds)));

    publisher.stop();
    let last = values.gauge("memscope_snapshot_id", &[]).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(
        values.gauge("memscope_snapshot_id", &[]),
        Some(last),
        "stopped"
    );
    drop(kept);
}
