//! The real consumers the tests run against (`go tool pprof`, `promtool`, a Prometheus
//! server, Chromium): found on `PATH`, or the test is skipped with the reason printed,
//! except under `CI=true`, where a missing tool fails the test (`.ci/run` installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

/// `name` on `PATH` (or at the path in the environment variable `override_var`). When it
/// is missing: under `CI=true` a panic naming the Debian `package`; otherwise `None` after
/// a printed "SKIPPED" line.
pub fn external_tool(name: &str, override_var: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os(override_var)
        .map(PathBuf::from)
        .or_else(|| {
            let path = std::env::var_os("PATH")?;
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
        });
    if found.is_none() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(!ci, "CI=true but no `{name}` found on PATH (or {override_var}); install Debian's `{package}`");
        println!("SKIPPED: no `{name}` on PATH; install Debian's `{package}`");
    }
    found
}

/// `go tool pprof -symbolize=none <args> <profile>` (a file or a URL), with its home,
/// cache and temp files in `dir` and no network (a fresh CI machine, as root); its stdout.
pub fn go_pprof(
    go: &Path,
    dir: &Path,
    args: &[&str],
    profile: impl AsRef<std::ffi::OsStr>,
) -> String {
    let out = Command::new(go)
        .args(["tool", "pprof", "-symbolize=none"])
        .args(args)
        .arg(profile)
        .current_dir(dir)
        .env("HOME", dir)
        .env("PPROF_TMPDIR", dir)
        .env("GOCACHE", dir.join("gocache"))
        .env("GOPATH", dir.join("gopath"))
        .env("GOTOOLCHAIN", "local")
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .output()
        .expect("run go tool pprof");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "go tool pprof {args:?} failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `go tool pprof -top -unit=B` of `profile` in bytes of `index`, focused on `task_type`,
/// every node shown: by default pprof drops nodes below 0.5 % of the total from the rows
/// and from "Showing nodes accounting for", which then falls short of the focused sum by
/// what the dropped nodes hold (a 40-byte string in a 100 KiB profile, say).
pub fn go_pprof_top(
    go: &Path,
    dir: &Path,
    profile: impl AsRef<std::ffi::OsStr>,
    index: &str,
    task_type: &str,
) -> String {
    let args = [
        "-top",
        "-unit=B",
        "-nodefraction=0",
        "-nodecount=100000",
        &format!("-sample_index={index}"),
        &format!("-tagfocus=task_type={task_type}"),
    ];
    go_pprof(go, dir, &args, profile)
}

/// `go tool pprof -top -unit=B`'s figures in bytes: (what the focused samples account
/// for, the profile's total) from "Showing nodes accounting for X, P% of TOTAL total", and
/// the flat figure per frame.
pub fn pprof_top(top: &str) -> (u64, u64, std::collections::BTreeMap<String, u64>) {
    let bytes = |b: &str| -> u64 { b.trim().trim_end_matches('B').parse().unwrap() };
    let line = top
        .lines()
        .find_map(|l| l.split_once("Showing nodes accounting for "))
        .unwrap_or_else(|| panic!("no totals in:\n{top}"))
        .1;
    let (focused, rest) = line.split_once(", ").unwrap();
    let total = rest
        .split_once(" of ")
        .unwrap()
        .1
        .trim_end_matches(" total");
    (bytes(focused), bytes(total), top_column(top, 0))
}

/// The cumulative figure per frame of `go tool pprof -top -unit=B`'s rows, in bytes.
pub fn pprof_cum(top: &str) -> std::collections::BTreeMap<String, u64> {
    top_column(top, 3)
}

/// Column `column` (0: flat, 3: cum) in bytes per frame name of `-top -unit=B`'s rows
/// (`flat flat% sum% cum cum% name`).
fn top_column(top: &str, column: usize) -> std::collections::BTreeMap<String, u64> {
    let bytes = |b: &str| -> Option<u64> { b.trim().trim_end_matches('B').parse().ok() };
    let rows = top
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("flat"));
    rows.skip(1)
        .filter_map(|row| {
            let words: Vec<&str> = row.split_whitespace().collect();
            let name = words.get(5..)?.join(" ");
            Some((name, bytes(words[column])?))
        })
        .collect()
}
