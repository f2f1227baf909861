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
    let _ = std::fs::remove_dir_all(&dir);
}
