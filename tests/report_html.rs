//! The HTML report without a browser: self-contained, names escaped, tables present.
//! (`report_html_browser.rs` loads it in Chromium.)

mod support;

use memscope::ReportFormat;
use support::workload::{self, render};

#[test]
fn page_is_self_contained_and_escapes_every_name() {
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
}

#[test]
fn an_empty_snapshot_still_renders() {
    let page = render(&memscope::snapshot(), ReportFormat::Html);
    assert!(page.contains("id=\"chart-timeline\""));
}
