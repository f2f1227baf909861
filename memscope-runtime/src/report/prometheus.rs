//! Prometheus exposition of a snapshot's figures (`report::figures`), written by the
//! official client crate's encoders: the Prometheus text format 0.0.4 (what every scraper
//! reads), or OpenMetrics 1.0.0 when the scraper's `Accept` header prefers it.
//!
//! The two differ only where the formats do: OpenMetrics names a counter family without
//! its `_total` (the sample keeps it), adds `# UNIT` lines and ends with `# EOF`; the
//! text format names the family as the sample and has neither. Label values are escaped
//! by the encoder (`\`, `"`, newline), so any task name is safe.

use crate::hook::thread;
use crate::report::figures::{self, Family, KeptNames, Kind, Unit, Value, DEFAULT_METRIC_NAMES};
use crate::view::snapshot::MemorySnapshot;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{prometheus_text, text, DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{self, Registry};

/// Which text exposition a scrape gets: the Prometheus text format 0.0.4 (the default), or
/// OpenMetrics 1.0.0.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use memscope::Exposition;
/// // What Prometheus 2 sends: OpenMetrics first.
/// let accept = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
/// assert_eq!(Exposition::from_accept(Some(accept)), Exposition::OpenMetrics);
/// assert_eq!(Exposition::from_accept(None), Exposition::Text);
/// assert_eq!(Exposition::Text.content_type(), "text/plain; version=0.0.4; charset=utf-8");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Exposition {
    /// The Prometheus text format, version 0.0.4.
    #[default]
    Text,
    /// OpenMetrics 1.0.0, text form.
    OpenMetrics,
}

impl Exposition {
    /// The form an HTTP `Accept` header asks for: the supported media range with the
    /// highest `q` (the first of equals), `application/openmetrics-text` (version 1.0.0,
    /// 0.0.1 or none) for OpenMetrics, `text/plain` (version 0.0.4 or none), `text/*` or
    /// `*/*` for the text format; the text format without a header or when nothing in it
    /// is supported.
    pub fn from_accept(header: Option<&str>) -> Exposition {
        let mut best = (0.0_f32, Exposition::Text);
        for range in header.unwrap_or_default().split(',') {
            let mut parts = range.split(';').map(str::trim);
            let media = parts.next().unwrap_or_default().to_ascii_lowercase();
            let (mut q, mut version) = (1.0_f32, None);
            for (key, value) in parts.filter_map(|p| p.split_once('=')) {
                match key.trim().to_ascii_lowercase().as_str() {
                    "q" => q = value.trim().parse().unwrap_or(0.0),
                    "version" => version = Some(value.trim().trim_matches('"')),
                    _ => {}
                }
            }
            let offered = match (media.as_str(), version) {
                ("application/openmetrics-text", None | Some("1.0.0" | "0.0.1")) => {
                    Exposition::OpenMetrics
                }
                ("text/plain", None | Some("0.0.4")) | ("text/*" | "*/*", _) => Exposition::Text,
                _ => continue,
            };
            if q > best.0 {
                best = (q, offered);
            }
        }
        best.1
    }

    /// The `Content-Type` of a response in this form:
    /// `text/plain; version=0.0.4; charset=utf-8` or
    /// `application/openmetrics-text; version=1.0.0; charset=utf-8`.
    pub fn content_type(&self) -> &'static str {
        match self {
            Exposition::Text => prometheus_text::CONTENT_TYPE,
            Exposition::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// The exposition of `snapshot`'s figures in `format`, with `max_names` task names kept
/// apart (the rest of each type as `task="other"`).
pub(crate) fn render(snapshot: &MemorySnapshot, format: Exposition, max_names: usize) -> String {
    render_kept(snapshot, format, &mut KeptNames::new(max_names))
}

/// The exposition of `snapshot` in `format` for one scrape of a series: the task names
/// `names` keeps apart (the same from scrape to scrape, so no counter falls).
pub(crate) fn render_kept(
    snapshot: &MemorySnapshot,
    format: Exposition,
    names: &mut KeptNames,
) -> String {
    let _internal = thread::internal();
    let mut registry = Registry::with_prefix(figures::PREFIX);
    registry.register_collector(Box::new(Figures(figures::figures_kept(snapshot, names))));
    let mut out = String::new();
    let written = match format {
        Exposition::Text => prometheus_text::encode(&mut out, &registry),
        Exposition::OpenMetrics => text::encode(&mut out, &registry),
    };
    // Writing to a `String` does not fail, and `Figures` returns only the writer's errors.
    written.expect("encoding to a String");
    out
}

/// The figures of one snapshot, as a collector the registry encodes once.
#[derive(Debug)]
struct Figures(Vec<Family>);

impl Collector for Figures {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let unit = family.unit.map(|u| match u {
                Unit::Bytes => registry::Unit::Bytes,
                Unit::Seconds => registry::Unit::Seconds,
            });
            let kind = match family.kind {
                Kind::Gauge => MetricType::Gauge,
                Kind::Counter => MetricType::Counter,
            };
            let mut metric =
                encoder.encode_descriptor(&family.stem, &family.help, unit.as_ref(), kind)?;
            for series in &family.series {
                let sample = metric.encode_family(&series.labels)?;
                match (family.kind, series.value) {
                    (Kind::Gauge, Value::Int(v)) => ConstGauge::new(v).encode(sample)?,
                    (Kind::Gauge, Value::Float(v)) => ConstGauge::new(v).encode(sample)?,
                    (Kind::Counter, Value::Int(v)) => ConstCounter::new(v).encode(sample)?,
                    (Kind::Counter, Value::Float(v)) => ConstCounter::new(v).encode(sample)?,
                }
            }
        }
        Ok(())
    }
}

impl MemorySnapshot {
    /// This snapshot's figures as a Prometheus scrape would get them, in `format`: per task
    /// type (`memscope_task_type_*{task_type}`), per task name for the
    /// [`DEFAULT_METRIC_NAMES`](crate::DEFAULT_METRIC_NAMES) names with the most live
    /// bytes (`memscope_task_name_*{task_type,task}`, the rest of each type summed into
    /// `task="other"`), and process-wide (`memscope_snapshot_id`, `memscope_tasks_running`,
    /// `memscope_untracked_*`, `memscope_tracker_*`). Each family's HELP line defines it;
    /// the per-type figures are [`by_type`](MemorySnapshot::by_type)'s exactly. Never a
    /// label per task instance.
    ///
    /// A live endpoint serves the same text at `/metrics`; this is for writing it
    /// elsewhere (a file for node_exporter's textfile collector, a push gateway).
    ///
    /// ```
    /// # use memscope_runtime as memscope;
    /// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
    /// use memscope::{Exposition, TaskType, Tracked};
    /// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    /// let kept = rt.block_on(Tracked::new(
    ///     async { vec![0u8; 4096] },
    ///     "fetch",
    ///     TaskType::NetworkIntensive,
    /// ));
    /// let snap = memscope::snapshot();
    /// let text = snap.prometheus(Exposition::Text);
    /// let live = snap.by_type(TaskType::NetworkIntensive).live_bytes;
    /// assert!(live >= 4096);
    /// assert!(text.contains(&format!("memscope_task_type_live_bytes{{task_type=\"network\"}} {live}\n")));
    /// assert!(text.contains("memscope_task_name_retained_bytes{task_type=\"network\",task=\"fetch\"}"));
    /// assert!(snap.prometheus(Exposition::OpenMetrics).ends_with("# EOF\n"));
    /// # drop(kept);
    /// ```
    pub fn prometheus(&self, format: Exposition) -> String {
        render(self, format, DEFAULT_METRIC_NAMES)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::task::TaskType;
    use crate::report::figures::tests::{group, with_groups};

    fn both(max_names: usize) -> (String, String) {
        let s = with_groups(vec![
            group("a\"b\nc\\d", TaskType::NetworkIntensive, 1000, 600),
            group("b", TaskType::NetworkIntensive, 500, 100),
            group("c", TaskType::CpuIntensive, 300, 0),
        ]);
        let text = render(&s, Exposition::Text, max_names);
        (text, render(&s, Exposition::OpenMetrics, max_names))
    }

    fn samples(exposition: &str) -> Vec<&str> {
        exposition.lines().filter(|l| !l.starts_with('#')).collect()
    }

    #[test]
    fn odd_names_are_escaped_in_both_forms() {
        let (text, om) = both(1);
        let line = r#"memscope_task_name_live_bytes{task_type="network",task="a\"b\nc\\d"} 600"#;
        for form in [&text, &om] {
            assert!(form.lines().any(|l| l == line), "{form}");
            let other = r#"memscope_task_name_live_bytes{task_type="network",task="other"} 100"#;
            assert!(form.lines().any(|l| l == other));
        }
    }

    #[test]
    fn the_forms_differ_only_in_metadata() {
        let (text, om) = both(5);
        assert_eq!(samples(&text), samples(&om));
        assert!(!text.contains("# EOF") && !text.contains("# UNIT"));
        let counter = "# TYPE memscope_task_type_allocated_bytes_total counter\n";
        assert!(text.contains(counter));
        assert!(om.contains("# TYPE memscope_task_type_allocated_bytes counter\n"));
        assert!(om.contains("# UNIT memscope_task_type_allocated_bytes bytes\n"));
        assert!(om.contains("memscope_task_type_allocated_bytes_total{task_type=\"cpu\"} 300\n"));
        assert!(om.ends_with("# EOF\n") && om.matches("# EOF").count() == 1);
        let per_type = samples(&text)
            .iter()
            .filter(|l| l.starts_with("memscope_task_type_live_bytes{"))
            .count();
        assert_eq!(per_type, TaskType::ALL.len());
    }

    #[test]
    fn the_accept_header_picks_the_form() {
        let om = Exposition::OpenMetrics;
        // What Prometheus 2 sends.
        let prometheus = concat!(
            "application/openmetrics-text;version=1.0.0,",
            "application/openmetrics-text;version=0.0.1;q=0.75,",
            "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
        );
        for (accept, form) in [
            (prometheus, om),
            (
                "text/plain;version=0.0.4;q=1,application/openmetrics-text;q=0.5",
                Exposition::Text,
            ),
            ("text/plain, application/openmetrics-text", Exposition::Text),
            (
                "application/openmetrics-text; version=\"1.0.0\"; charset=utf-8",
                om,
            ),
            ("Application/OpenMetrics-Text;q=0.9, */*;q=0.1", om),
            (
                "application/openmetrics-text;version=2.0.0",
                Exposition::Text,
            ),
            ("application/openmetrics-text;q=0", Exposition::Text),
            ("application/json", Exposition::Text),
            ("", Exposition::Text),
        ] {
            assert_eq!(Exposition::from_accept(Some(accept)), form, "{accept}");
        }
        assert_eq!(Exposition::from_accept(None), Exposition::Text);
        let ct = om.content_type();
        assert_eq!(
            ct,
            "application/openmetrics-text; version=1.0.0; charset=utf-8"
        );
    }
}
