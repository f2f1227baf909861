//! `promtool check metrics` (Prometheus' own linter) accepts memscope's exposition, and the
//! figures read back from it are the snapshot's: tracked tasks of known types hold known
//! bytes (some folded out of a small retention, more names than the exposition keeps, one
//! name with a quote, a newline and a backslash), and both forms of one snapshot's
//! exposition go through promtool.
//!
//! promtool parses the Prometheus text format 0.0.4 only. The text form passes with no
//! problem at all; the OpenMetrics form parses (no error), and the only problems promtool
//! reports on it are that each counter's samples (`…_total`) have no HELP: OpenMetrics
//! names a counter family without `_total`, which the 0.0.4 parser reads as another
//! family. Both forms are what a real Prometheus server reads.
//!
//! Without promtool the test is skipped with the reason printed, except under `CI=true`,
//! where a missing promtool is a failure (`.ci/run` installs Debian's `prometheus`).

use memscope::{Config, Exposition, MemorySnapshot, TaskType, Tracked, DEFAULT_METRIC_NAMES};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

const FETCHES: usize = 20;
const FETCH_BYTES: usize = 3000;
/// Small, so most tasks are folded into their groups.
const RETENTION: usize = 4;
/// Background jobs with a name each: more names than the exposition keeps.
const JOBS: usize = DEFAULT_METRIC_NAMES + 10;
const ODD: &str = "a\"b\nc\\d";

#[memscope::track(task_type = "network")]
async fn fetch(i: usize) -> Vec<u8> {
    vec![i as u8; FETCH_BYTES]
}

#[memscope::track(task_type = "cpu")]
async fn crunch() -> u64 {
    let scratch = vec![1u64; 4096];
    scratch.iter().sum()
}

/// Runs the tasks on tokio and returns what they left behind, still charged to them.
fn workload() -> Vec<Vec<u8>> {
    memscope::configure(Config::default().with_retention(RETENTION));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let kept = rt.block_on(async {
        let fetches: Vec<_> = (0..FETCHES).map(|i| tokio::spawn(fetch(i))).collect();
        let mut kept = Vec::new();
        for f in fetches {
            kept.push(f.await.unwrap());
        }
        std::hint::black_box(tokio::spawn(crunch()).await.unwrap());
        for i in 0..JOBS {
            let job = async move { vec![0u8; 10 + i] };
            let name = format!("job-{i}");
            kept.push(Tracked::new(job, name, TaskType::Background).await);
        }
        kept.push(Tracked::new(async { vec![7u8; 99] }, ODD, TaskType::IoIntensive).await);
        kept
    });
    drop(rt);
    kept
}

fn promtool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEMSCOPE_PROMTOOL") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("promtool"))
        .find(|p| p.is_file())
}

/// `promtool check metrics` on `exposition`: its exit code and every line it printed.
fn check(promtool: &PathBuf, exposition: &str) -> (Option<i32>, Vec<String>) {
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(exposition.as_bytes()).unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout) + String::from_utf8_lossy(&out.stderr);
    (out.status.code(), text.lines().map(str::to_owned).collect())
}

/// The value of the sample `series` (name and labels as written) in `exposition`.
fn sample(exposition: &str, series: &str) -> u64 {
    let line = exposition
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no sample {series} in\n{exposition}"));
    line.parse().unwrap()
}

/// The figures read back from `exposition` are `s`'s.
fn figures_read_back(exposition: &str, s: &MemorySnapshot) {
    assert_eq!(sample(exposition, "memscope_snapshot_id"), s.id);
    for t in TaskType::ALL {
        let g = s.by_type(t);
        let of = |family: &str| sample(exposition, &format!("{family}{{task_type=\"{t}\"}}"));
        assert_eq!(of("memscope_task_type_live_bytes"), g.live_bytes, "{t}");
        assert_eq!(
            of("memscope_task_type_retained_bytes"),
            g.retained_bytes,
            "{t}"
        );
        let allocated = of("memscope_task_type_allocated_bytes_total");
        assert_eq!(allocated, g.heap.allocated_bytes, "{t}");
        assert_eq!(
            of("memscope_task_type_tasks_started_total"),
            g.task_count,
            "{t}"
        );
    }
    let network = s.by_type(TaskType::NetworkIntensive);
    assert!(
        network.retained_bytes >= (FETCHES * FETCH_BYTES) as u64,
        "{network:?}"
    );
    let fetch = s.groups.iter().find(|g| g.name.ends_with("fetch")).unwrap();
    let series = format!(
        "memscope_task_name_retained_bytes{{task_type=\"network\",task=\"{}\"}}",
        fetch.name
    );
    assert_eq!(sample(exposition, &series), fetch.retained_bytes);
    let odd = r#"memscope_task_name_live_bytes{task_type="io",task="a\"b\nc\\d"}"#;
    assert_eq!(sample(exposition, odd), 99);
    let other = r#"memscope_task_name_tasks_started_total{task_type="background",task="other"}"#;
    // Kept: the fetches, the odd name and the 48 largest jobs; the 12 smallest are summed.
    let summed = JOBS - (DEFAULT_METRIC_NAMES - 2);
    assert_eq!(sample(exposition, other), summed as u64);
}

#[test]
fn promtool_accepts_both_forms_and_the_figures_read_back_exactly() {
    let Some(promtool) = promtool() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "CI=true but no promtool found on PATH");
        println!("SKIPPED: no promtool on PATH; install Debian's `prometheus`");
        return;
    };
    let kept = workload();
    let s = memscope::snapshot();
    assert!(
        s.folded_tasks > 0,
        "some tasks are folded: {}",
        s.folded_tasks
    );

    let text = s.prometheus(Exposition::Text);
    let (code, problems) = check(&promtool, &text);
    assert_eq!(
        (code, &problems),
        (Some(0), &Vec::new()),
        "text form:\n{text}"
    );
    figures_read_back(&text, &s);

    let om = s.prometheus(Exposition::OpenMetrics);
    let (code, problems) = check(&promtool, &om);
    assert_ne!(
        code,
        Some(1),
        "OpenMetrics form does not parse: {problems:?}"
    );
    for problem in &problems {
        let family = problem
            .strip_suffix("_total no help text")
            .unwrap_or_else(|| panic!("OpenMetrics form: {problem}"));
        assert!(
            om.contains(&format!("# TYPE {family} counter\n")),
            "{problem}"
        );
        assert!(om.contains(&format!("# HELP {family} ")), "{problem}");
    }
    assert!(om.ends_with("# EOF\n"));
    figures_read_back(&om, &s);
    drop(kept);
}
