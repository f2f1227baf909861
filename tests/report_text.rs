//! The text summary: fits 100 columns, shows each section with figures from the books.

mod support;

use memscope::ReportFormat;
use support::workload::{self, human_bytes, render};

#[test]
fn summary_fits_100_columns_and_shows_every_section() {
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
}

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
