//! The text summary: fits 100 columns, shows each section with figures from the books.

mod support;

use memscope::{configure, snapshot, Config, ReportFormat, TaskType, Tracked};
use memscope_test_support::block_on;
use std::sync::{Mutex, MutexGuard};
use support::workload::{self, human_bytes, render, Workload, HANDOFF, REQUEST, REQUESTS};

/// Sampling is process-wide: the test that samples every allocation and the one that
/// renders the workload take turns.
static SAMPLING: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    SAMPLING.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn summary_fits_100_columns_and_shows_every_section() {
    let _turn = one_at_a_time();
    let w = workload::run();
    let s = &w.snapshot;
    let out = render(s, ReportFormat::Text);
    println!("{out}");
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
    assert!(out.starts_with("memscope · "));
    for section in [
        "tracked ",
        "untracked ",
        "overhead ",
        "by task type",
        "top ",
        "retained after completion",
    ] {
        assert!(out.contains(section), "missing {section:?}");
    }
    // One line per task, also for a name holding a newline.
    let top: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("top "))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(top.len(), s.tasks.len().min(10));
    assert!(top.iter().all(|l| l.starts_with('#')), "{top:?}");
    // Rows carry the measured figures in human units.
    let big = s.task(w.big).unwrap();
    let row = out
        .lines()
        .find(|l| l.starts_with(&format!("#{} ", w.big.as_u64())))
        .unwrap();
    assert!(
        row.contains("big_buffer") && row.contains(&human_bytes(big.peak_bytes)),
        "{row}"
    );
    let handoff = out
        .lines()
        .find(|l| l.starts_with(&format!("#{} ", w.handoff.as_u64())))
        .expect("the hand-off task is listed as retaining memory");
    assert!(handoff.contains("32.0 KiB"), "{handoff}");
    let all = s.all_heap_traffic();
    let share = s.untracked.allocated_bytes as f64 / all.allocated_bytes as f64 * 100.0;
    assert!(out.contains(&format!("({share:.1}% of all heap bytes allocated)")));
    let blocks = all.allocation_count - all.free_count;
    assert!(out.contains(&format!("× {} B)", memscope::TRAILER_BYTES)));
    assert!(out.contains(&format!("{} live blocks", thousands(blocks))));
    assert_eq!(s.to_string(), out);
    answers_come_first(&w, &out);
}

/// The per-name table, retained memory by name and by parent, and the per-type table
/// broken down by name, before the instance lists, with the workload's exact figures.
fn answers_come_first(w: &Workload, out: &str) {
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{out}"))
    };
    let order = [
        "\nby task name (",
        "\nRETAINED after completion: ",
        "\nby task type ",
        "\ntop ",
        "\nretained after completion: ",
    ];
    assert!(
        order.windows(2).all(|p| at(p[0]) < at(p[1])),
        "sections out of order:\n{out}"
    );
    let lines: Vec<&str> = out.lines().collect();
    let line = |start: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no line {start:?} in:\n{out}"))
    };
    names_first(w, &lines[line("by task name (")..]);
    retained_by_name_and_parent(w, &lines[line("RETAINED")..]);
    types_with_their_names(w, &lines[line("network ")..]);
    // No root task named `main` here: no spawn tip.
    assert!(!out.contains("tip: "));
}

/// Per name: the names still holding memory first, marked, with their group's figures.
fn names_first(w: &Workload, lines: &[&str]) {
    let requests = w
        .snapshot
        .groups
        .iter()
        .find(|g| g.name == "handle_request")
        .unwrap();
    assert_eq!(
        (requests.task_count, requests.retained_bytes),
        (REQUESTS as u64, (REQUESTS * REQUEST) as u64)
    );
    let row = format!(
        "! {:<25} {:<11} {:>7} {:>7} {:>10} {:>10} {:>10} {:>10}",
        "handle_request",
        "network",
        REQUESTS,
        0,
        human_bytes(requests.max_peak_bytes),
        human_bytes((requests.sum_peak_bytes as f64 / REQUESTS as f64).round() as u64),
        human_bytes((REQUESTS * REQUEST) as u64),
        human_bytes((REQUESTS * REQUEST) as u64)
    );
    assert!(lines[1].starts_with("! hand_off "), "{lines:#?}");
    assert_eq!(lines[2], row);
    assert!(lines[3].starts_with("  "), "unmarked: {}", lines[3]);
}

/// Retained memory grouped, with the exact bytes of the hand-off and of the requests.
fn retained_by_name_and_parent(w: &Workload, lines: &[&str]) {
    let requests = human_bytes((REQUESTS * REQUEST) as u64);
    let handoff = human_bytes(HANDOFF as u64);
    assert_eq!(
        lines[..6],
        [
            format!(
                "RETAINED after completion: {} in {} finished tasks (handed off or leaked)",
                human_bytes((HANDOFF + REQUESTS * REQUEST) as u64),
                REQUESTS + 1
            ),
            format!("! by name     1 × hand_off (network) holds {handoff}"),
            format!(
                "!             {REQUESTS} × handle_request (network) hold {requests}, {} each",
                human_bytes(REQUEST as u64)
            ),
            format!("! by parent   tasks with no tracked parent hold {handoff} in 1 task"),
            format!(
                "!             children of #{} conn (io) hold {requests} in {REQUESTS} tasks",
                w.conn.as_u64()
            ),
            // Nothing else is retained.
            String::new(),
        ]
    );
}

/// Per type, each type followed by its names.
fn types_with_their_names(w: &Workload, lines: &[&str]) {
    let g = w.snapshot.by_type(TaskType::NetworkIntensive);
    let figures = format!(
        " {:>10} {:>10} ",
        human_bytes(g.live_bytes),
        human_bytes(g.retained_bytes)
    );
    assert!(lines[0].contains(&figures), "{}", lines[0]);
    assert!(lines[1].starts_with("  hand_off "));
    assert!(lines[2].starts_with("  handle_request "));
    assert!(lines[3].starts_with("memory "));
}

/// Bytes [`keep_site_bytes`] keeps.
const SITE_BYTES: usize = 1000;

/// Allocates [`SITE_BYTES`] at a call site of its own and hands them back.
#[inline(never)]
fn keep_site_bytes() -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(SITE_BYTES))
}

#[test]
fn top_call_sites_follow_the_per_type_table() {
    let _turn = one_at_a_time();
    configure(Config::default().with_sample_bytes(1)); // every allocation: exact
    let kept = block_on(Tracked::named(async { keep_site_bytes() }, "text-sites"));
    let out = render(&snapshot(), ReportFormat::Text);
    configure(Config::default());
    drop(kept);
    println!("{out}");
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "too wide: {line:?}");
    }
    let at = |needle: &str| {
        out.find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{out}"))
    };
    let heading =
        "\nwhere in the tasks: top call sites by name (every allocation sampled: exact)\n";
    assert!(at("\nby task type") < at(heading) && at(heading) < at("\ntop "));
    let lines: Vec<&str> = out[at(heading)..].lines().collect();
    assert_eq!(lines[2], "      in use   retained  allocated  site");
    let name = lines
        .iter()
        .position(|l| l.starts_with("text-sites ("))
        .unwrap_or_else(|| panic!("no text-sites in:\n{out}"));
    assert!(
        lines[name].contains(": 1000 B in use at "),
        "{}",
        lines[name]
    );
    // Its top site: in use, retained (the task finished), allocated, and where.
    let b = format!("{SITE_BYTES} B");
    let site =
        format!("  {b:>10} {b:>10} {b:>10}  report_text::keep_site_bytes (tests/report_text.rs:");
    assert!(lines[name + 1].starts_with(&site), "{}", lines[name + 1]);
}

/// `n` with thousands separators, as the summary writes counts.
fn thousands(n: u64) -> String {
    let d = n.to_string();
    d.chars()
        .enumerate()
        .flat_map(|(i, c)| {
            (i > 0 && (d.len() - i) % 3 == 0)
                .then_some(',')
                .into_iter()
                .chain([c])
        })
        .collect()
}
