//! The HTML report without a browser: self-contained, names escaped, tables present.
//! (`report_html_browser.rs` loads it in Chromium.)

mod support;

use memscope::{configure, snapshot, Config, ReportFormat, Tracked};
use memscope_test_support::block_on;
use std::sync::{Mutex, MutexGuard};
use support::workload::{self, render, Workload, HANDOFF, REQUEST, REQUESTS};

/// Sampling is process-wide: the test that samples every allocation and the one that
/// renders the workload take turns.
static SAMPLING: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> MutexGuard<'static, ()> {
    SAMPLING.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn page_is_self_contained_and_escapes_every_name() {
    let _turn = one_at_a_time();
    let w = workload::run();
    let page = render(&w.snapshot, ReportFormat::Html);
    assert!(page.starts_with("<!DOCTYPE html>"));
    // No external resource of any kind: nothing to fetch, renders offline.
    for needle in [
        "src=\"", "href=\"", "@import", "url(", "<link", "<iframe", "//cdn", "https://",
    ] {
        assert!(!page.contains(needle), "page references {needle}");
    }
    // The only "http" is the SVG namespace string the script uses.
    assert_eq!(
        page.matches("http").count(),
        page.matches("http://www.w3.org/2000/svg").count()
    );
    // Exactly two script elements (the data block and the drawing code), whatever the names.
    assert_eq!(page.matches("<script").count(), 2);
    assert_eq!(page.matches("</script>").count(), 2);
    assert!(!page.contains("<img"));
    assert!(page.contains("&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned="));
    // In the JSON data block the name is a string with `<` `>` `&` as \u escapes.
    assert!(page.contains("\\u003c/script\\u003e\\u003cscript\\u003edocument.body.dataset.pwned="));

    for heading in [
        "Live bytes over time, per task type",
        "Top tasks by peak",
        "Per task type",
        "Per task name",
        "Retained after completion",
        "Where in the task",
        "Task tree",
    ] {
        assert!(page.contains(heading), "missing section {heading}");
    }
    // The hand-off task is in the retained list; the children nest under their parent.
    assert!(page.contains(&format!(
        "hand_off <span class=\"note\">#{}</span>",
        w.handoff.as_u64()
    )));
    let parent = page
        .find(&format!(
            "parent <span class=\"note\">#{}</span>",
            w.parent.as_u64()
        ))
        .unwrap();
    let child = parent
        + page[parent..]
            .find("└ </span>child <span")
            .expect("children after the parent");
    assert!(
        page[parent - 40..parent].contains("padding-left:8px\">"),
        "the parent is a root"
    );
    assert!(
        page[child - 60..child].contains("padding-left:26px\"><span class=\"note\">"),
        "a child is one level in"
    );
    answers_come_first(&w, &page);
}

/// The section of `page` with `id`, up to its end.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\""))
        .unwrap_or_else(|| panic!("no section {id}"));
    let len = page[start..].find("</section>").unwrap();
    &page[start..start + len]
}

const NETWORK: &str = "<span class=\"swatch\" style=\"background:#4c6ef5\"></span>network";
const IO: &str = "<span class=\"swatch\" style=\"background:#17a2b8\"></span>io";

/// Per name, retained memory by name and by parent (highlighted), per type with its
/// names, then the charts and the instances; tables sortable, numbers with raw values.
fn answers_come_first(w: &Workload, page: &str) {
    let at = |needle: &str| page.find(needle).unwrap_or_else(|| panic!("no {needle}"));
    let order = [
        "<section id=\"names\">",
        "<section id=\"retained-groups\" class=\"retained\">",
        "<section id=\"types\">",
        "<section id=\"sites\">",
        "Live bytes over time",
        "<section id=\"retained\">",
        "<section class=\"tree\"",
    ];
    assert!(
        order.windows(2).all(|p| at(p[0]) < at(p[1])),
        "sections out of order"
    );
    names_table(section(page, "names"));
    retained_groups(w, section(page, "retained-groups"));
    types_table(section(page, "types"));
}

/// Per name: sortable, the retaining names first, raw values to sort by.
fn names_table(names: &str) {
    let requests = (REQUESTS * REQUEST) as u64;
    assert!(names.contains(
        "<table class=\"sortable\" id=\"names-table\"><thead><tr><th data-type=\"text\">name</th>"
    ));
    let body = &names[names.find("<tbody>").unwrap() + "<tbody>".len()..];
    assert!(body.starts_with("<tr><td>hand_off</td>"), "{body}");
    let row = &body[body.find("<tr><td>handle_request</td>").unwrap()..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.starts_with(&format!(
            "<tr><td>handle_request</td><td data-sort=\"network\">{NETWORK}</td>\
         <td class=\"num\" data-sort=\"{REQUESTS}\">{REQUESTS}</td>"
        )),
        "{row}"
    );
    assert!(
        row.contains(&format!(
            "<td class=\"num ret\" data-sort=\"{requests}\">4.9 KiB</td>"
        )),
        "{row}"
    );
    assert!(names.contains("&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned="));
}

/// Retained memory grouped by name and by parent: exact bytes in `data-sort`,
/// highlighted cells.
fn retained_groups(w: &Workload, groups: &str) {
    let requests = (REQUESTS * REQUEST) as u64;
    let by_name = |tasks: usize, name: &str, bytes: u64, each: u64| {
        format!(
            "<tr><td class=\"num\" data-sort=\"{tasks}\">{tasks} ×</td><td>{name}</td>\
             <td data-sort=\"network\">{NETWORK}</td>\
             <td class=\"num ret\" data-sort=\"{bytes}\">{}</td>\
             <td class=\"num\" data-sort=\"{each}\">{}</td></tr>",
            workload::human_bytes(bytes),
            workload::human_bytes(each)
        )
    };
    let handoff = HANDOFF as u64;
    let first = groups
        .find(&by_name(1, "hand_off", handoff, handoff))
        .expect("hand_off");
    let second = groups
        .find(&by_name(
            REQUESTS,
            "handle_request",
            requests,
            REQUEST as u64,
        ))
        .expect("5 × handle_request");
    assert!(first < second, "largest first");
    assert!(groups.contains(&format!(
        "<tr><td class=\"num\" data-sort=\"{REQUESTS}\">{REQUESTS} ×</td><td>conn \
         <span class=\"note\">#{}</span></td><td data-sort=\"io\">{IO}</td>\
         <td class=\"num ret\" data-sort=\"{requests}\">4.9 KiB</td>",
        w.conn.as_u64()
    )));
    assert!(groups.contains(&format!(
        "<td><span class=\"note\">no tracked parent</span></td><td data-sort=\"\"></td>\
         <td class=\"num ret\" data-sort=\"{handoff}\">32.0 KiB</td>"
    )));
    assert_eq!(
        groups.matches("<tr><td class=\"num\"").count(),
        4,
        "two groups each way"
    );
}

/// Per type: each type a group of rows, its names after it.
fn types_table(types: &str) {
    let network = &types[types.find("<td data-sort=\"network\">").unwrap()..];
    let network = &network[..network.find("</tbody>").unwrap()];
    assert_eq!(network.matches("<tr class=\"sub\">").count(), 2);
    let hand_off = network
        .find("<tr class=\"sub\"><td class=\"name\">hand_off</td>")
        .unwrap();
    let requests_row = network
        .find("<tr class=\"sub\"><td class=\"name\">handle_request</td>")
        .unwrap();
    assert!(hand_off < requests_row);
    assert!(types.contains("&lt;/script&gt;&lt;script&gt;document.body.dataset.pwned="));
}

#[test]
fn an_empty_snapshot_still_renders() {
    let page = render(&memscope::snapshot(), ReportFormat::Html);
    assert!(page.contains("id=\"chart-timeline\""));
}

/// Bytes [`keep_site_bytes`] keeps.
const SITE_BYTES: usize = 1000;

/// Allocates [`SITE_BYTES`] at a call site of its own and hands them back.
#[inline(never)]
fn keep_site_bytes() -> Vec<u8> {
    std::hint::black_box(Vec::with_capacity(SITE_BYTES))
}

#[test]
fn call_sites_show_in_a_table_and_a_flame_graph() {
    let _turn = one_at_a_time();
    configure(Config::default().with_sample_bytes(1)); // every allocation: exact
    let kept = block_on(Tracked::named(async { keep_site_bytes() }, "html-sites"));
    let page = render(&snapshot(), ReportFormat::Html);
    configure(Config::default());
    drop(kept);
    let sites = section(&page, "sites");
    assert!(sites.contains("every allocation sampled: the figures are exact"));
    // The site's row: the fn and its exact figures (the task finished: all retained).
    let row = &sites[sites.find("<tr><td>html-sites</td>").expect("a row")..];
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(
        row.contains("<summary>report_html::keep_site_bytes (tests/report_html.rs:"),
        "{row}"
    );
    assert!(
        row.contains("<ol class=\"stack\">"),
        "the whole stack: {row}"
    );
    let b = SITE_BYTES;
    assert!(
        row.ends_with(&format!(
            "<td class=\"num\" data-sort=\"{b}\">{b} B</td>\
             <td class=\"num ret\" data-sort=\"{b}\">{b} B</td>\
             <td class=\"num\" data-sort=\"{b}\">{b} B</td>\
             <td class=\"num\" data-sort=\"1\">1</td>"
        )),
        "{row}"
    );
    // The flame graph: type, name, then the task's frames down to the fn.
    let svg = &sites[sites
        .find("<svg class=\"flame\" id=\"flame-in-use\"")
        .expect("svg")..];
    let svg = &svg[..svg.find("</svg>").unwrap()];
    for node in ["html-sites", "report_html::keep_site_bytes"] {
        assert!(
            svg.contains(&format!("<title>{node}\n{b} B in use · ")),
            "no {node} in {svg}"
        );
    }
    assert!(sites.contains("<svg class=\"flame\" id=\"flame-allocated\""));
}
