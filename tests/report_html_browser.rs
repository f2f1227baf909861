//! Loads a generated HTML report in headless Chromium and checks the charts were drawn:
//! the page's script marks `<body data-rendered="ok">` when done and `data-error` on any
//! script error, and stamps each chart with the size of what it drew.
//!
//! Without Chromium the test is skipped with the reason printed, except under `CI=true`,
//! where a missing browser is a failure (`.ci/run` installs Debian's `chromium`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use support::workload;

const BROWSERS: [&str; 3] = ["chromium", "chromium-browser", "google-chrome"];

fn browser() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEMSCOPE_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| BROWSERS.map(|b| dir.join(b)))
        .find(|p| p.is_file())
}

fn headless(browser: &Path, profile: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run the browser")
}

/// The value of `attr="…"` on the first tag of `dom` that contains `marker`.
fn attr<'a>(dom: &'a str, marker: &str, attr: &str) -> Option<&'a str> {
    let at = dom.find(marker)?;
    let start = dom[..=at].rfind('<')?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let v = tag.split(&format!("{attr}=\"")).nth(1)?;
    Some(&v[..v.find('"')?])
}

#[test]
fn report_renders_in_a_real_browser() {
    let Some(browser) = browser() else {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true but no Chromium found (looked for {BROWSERS:?} on PATH)"
        );
        println!(
            "SKIPPED: no Chromium on PATH (looked for {BROWSERS:?}); install Debian's `chromium`"
        );
        return;
    };
    let w = workload::run();
    let dir = std::env::temp_dir().join(format!("memscope-browser-{}", std::process::id()));
    let page = dir.join("report.html");
    w.snapshot.save(&page).unwrap();

    let out = headless(&browser, &dir.join("profile"), &["--dump-dom"], &page);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(attr(&dom, "<body", "data-error"), None, "script error");
    assert_eq!(
        attr(&dom, "<body", "data-rendered"),
        Some("ok"),
        "script did not finish"
    );
    assert_eq!(
        attr(&dom, "<body", "data-pwned"),
        None,
        "a task name ran as script"
    );
    assert!(!dom.contains("<img"), "a task name became markup");

    for chart in ["data-chart=\"timeline\"", "data-chart=\"top\""] {
        let bbox = attr(&dom, chart, "data-bbox").expect("chart was measured");
        let (w, h) = bbox.split_once('x').unwrap();
        let (w, h): (f64, f64) = (w.parse().unwrap(), h.parse().unwrap());
        assert!(w > 100.0 && h > 50.0, "{chart} drew {bbox}");
        let shapes: usize = attr(&dom, chart, "data-shapes").unwrap().parse().unwrap();
        assert!(shapes > 0, "{chart} drew no shapes");
    }
    // One stacked area per task type seen in the timeline, one bar per top task.
    assert!(dom.contains("data-series=\"memory\""));
    assert!(dom.contains("data-series=\"cpu\""));
    assert!(dom.matches("class=\"swatch\"").count() >= 4);

    let shot = dir.join("report.png");
    let out = headless(
        &browser,
        &dir.join("profile"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1000",
        ],
        &page,
    );
    assert!(out.status.success());
    let png = std::fs::read(&shot).expect("screenshot written");
    assert_eq!(&png[1..4], b"PNG");
    // Width and height from the IHDR chunk.
    let dim = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    assert_eq!((dim(16), dim(20)), (1280, 1000));

    sorting_by_a_click(&browser, &dir, &w.snapshot);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Added to a copy of the page, after its own script: clicks the per-name table's
/// "peak max" header twice, the per-type table's first header once, folds the first
/// type's names, and writes what it saw into attributes of `<body>`.
const CLICKS: &str = r#"<script>
(function () {
  var body = document.body;
  var names = document.getElementById('names-table');
  var rows = function () { return Array.prototype.slice.call(names.tBodies[0].rows); };
  rows().forEach(function (r, i) { r.setAttribute('data-i', i); });
  var th = names.tHead.rows[0].cells[4];
  var state = function () {
    return rows().map(function (r) {
      return r.getAttribute('data-i') + ':' + r.cells[4].getAttribute('data-sort');
    }).join(',') + '=' + th.getAttribute('aria-sort');
  };
  var seen = [state()];
  th.click();
  seen.push(state());
  th.click();
  seen.push(state());
  body.setAttribute('data-names-sorted', seen.join(';'));
  var types = document.getElementById('types-table');
  types.tHead.rows[0].cells[0].click();
  body.setAttribute('data-types-sorted', Array.prototype.map.call(types.tBodies, function (b) {
    return b.rows[0].className + ':' + b.rows[0].cells[0].getAttribute('data-sort');
  }).join(','));
  var toggle = types.querySelector('button.toggle');
  toggle.click();
  var group = toggle.closest('tbody');
  body.setAttribute('data-folded', group.querySelectorAll('tr.sub[hidden]').length + '/' +
    group.querySelectorAll('tr.sub').length + ':' + toggle.getAttribute('aria-expanded'));
})();
</script>"#;

/// One state of the per-name table: (row's first position, raw peak) per row, and the
/// header's `aria-sort`.
fn table_state(s: &str) -> (Vec<(usize, u64)>, &str) {
    let (rows, aria) = s.split_once('=').unwrap();
    let rows = rows
        .split(',')
        .map(|r| {
            let (i, v) = r.split_once(':').unwrap();
            (i.parse().unwrap(), v.parse().unwrap())
        })
        .collect();
    (rows, aria)
}

/// A click on a header sorts by the raw values (largest first), a second click reverses;
/// the per-type table sorts its types and keeps each type's names with it; ▾ folds.
fn sorting_by_a_click(browser: &Path, dir: &Path, snapshot: &memscope::MemorySnapshot) {
    let page = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let page = page.replace("</body>", &format!("{CLICKS}</body>"));
    let clicks = dir.join("clicks.html");
    std::fs::write(&clicks, page).unwrap();
    let out = headless(browser, &dir.join("profile"), &["--dump-dom"], &clicks);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert_eq!(attr(&dom, "<body", "data-error"), None, "script error");
    let sorted = attr(&dom, "<body", "data-names-sorted").expect("the clicks ran");
    let states: Vec<_> = sorted.split(';').map(table_state).collect();
    let [(before, none), (desc, down), (asc, up)] = &states[..] else {
        panic!("{sorted}")
    };
    assert_eq!((*none, *down, *up), ("null", "descending", "ascending"));
    assert_eq!(before.len(), snapshot.groups.len());
    assert!(before.iter().enumerate().all(|(i, r)| r.0 == i));
    // By the byte count, not by the text ("2.0 MiB" < "98.0 KiB" as text): stable.
    assert!(desc
        .windows(2)
        .all(|p| p[0].1 > p[1].1 || (p[0].1 == p[1].1 && p[0].0 < p[1].0)));
    assert!(asc.windows(2).all(|p| p[0].1 <= p[1].1));
    let max = snapshot
        .groups
        .iter()
        .map(|g| g.max_peak_bytes)
        .max()
        .unwrap();
    assert_eq!(desc[0].1, max);
    assert_ne!(desc, before, "the click changed the order");
    let mut values: Vec<u64> = before.iter().map(|r| r.1).collect();
    values.sort_unstable();
    assert_eq!(asc.iter().map(|r| r.1).collect::<Vec<_>>(), values);

    let types = attr(&dom, "<body", "data-types-sorted").unwrap();
    let mut expected: Vec<&str> = memscope::TaskType::ALL
        .into_iter()
        .filter(|&ty| snapshot.groups.iter().any(|g| g.task_type == ty))
        .map(memscope::TaskType::as_str)
        .collect();
    expected.sort_unstable();
    let expected: Vec<String> = expected.iter().map(|t| format!("lead:{t}")).collect();
    assert_eq!(
        types,
        expected.join(","),
        "types sorted, each still leading its group"
    );
    let folded = attr(&dom, "<body", "data-folded").unwrap();
    let (count, expanded) = folded.split_once(':').unwrap();
    let (hidden, all) = count.split_once('/').unwrap();
    assert!(
        hidden == all && all != "0" && expanded == "false",
        "{folded}"
    );
}
