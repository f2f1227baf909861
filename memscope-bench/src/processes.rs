//! The `suite` binary's cross-process harness: it runs the other binaries of this crate
//! (each its own set-up, as a global allocator is per binary), reads back their
//! `key value` lines and alternates set-ups ABC…CBA across processes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

/// A binary's results: its `key value` lines.
pub type Results = BTreeMap<String, f64>;

/// Where the sibling binaries are, and whether this is a short smoke run.
pub struct Suite {
    /// The directory of the sibling binaries.
    pub dir: PathBuf,
    /// A short smoke run (`MEMSCOPE_BENCH_QUICK`): one round of each.
    pub quick: bool,
}

impl Suite {
    /// Runs a sibling binary and reads its `key value` lines.
    pub fn run(&self, bin: &str, args: &[&str]) -> Results {
        let out = Command::new(self.dir.join(bin))
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {bin}: {e}"));
        assert!(
            out.status.success(),
            "{bin} {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let (k, v) = l.split_once(' ')?;
                Some((k.to_owned(), v.trim().parse().ok()?))
            })
            .collect()
    }

    /// `full` rounds, or one in a quick run.
    pub fn rounds(&self, full: usize) -> usize {
        if self.quick {
            1
        } else {
            full
        }
    }
}

/// One process configuration of the tokio workload.
#[derive(Clone, Copy)]
pub struct Setup {
    bin: &'static str,
    mode: &'static str,
}

/// The set-up running binary `bin` with `--mode mode`.
pub const fn setup(bin: &'static str, mode: &'static str) -> Setup {
    Setup { bin, mode }
}

/// Runs the set-ups in ABC…CBA order for `rounds` rounds; returns, per set-up, the
/// per-round values of `key` (mean of its two runs in the round).
pub fn alternate(
    s: &Suite,
    setups: &[Setup],
    extra: &[&str],
    key: &str,
    rounds: usize,
) -> Vec<Vec<f64>> {
    alternate_all(s, setups, extra, rounds)
        .iter()
        .map(|per_round| column(per_round, key))
        .collect()
}

/// Runs the set-ups in ABC…CBA order for `rounds` rounds; returns, per set-up and per
/// round, every result of the round (for each key, the mean of its two runs).
pub fn alternate_all(
    s: &Suite,
    setups: &[Setup],
    extra: &[&str],
    rounds: usize,
) -> Vec<Vec<Results>> {
    let n = setups.len();
    let mut out = vec![Vec::new(); n];
    let order: Vec<usize> = (0..n).chain((0..n).rev()).collect();
    for _ in 0..rounds {
        let mut sums = vec![Results::new(); n];
        for &i in &order {
            let mut args = vec!["--mode", setups[i].mode];
            args.extend_from_slice(extra);
            for (k, v) in s.run(setups[i].bin, &args) {
                *sums[i].entry(k).or_insert(0.0) += v / 2.0;
            }
        }
        for (i, round) in sums.into_iter().enumerate() {
            out[i].push(round);
        }
    }
    out
}

/// The per-round values of `key` (NaN in a round without it).
pub fn column(per_round: &[Results], key: &str) -> Vec<f64> {
    per_round
        .iter()
        .map(|r| r.get(key).copied().unwrap_or(f64::NAN))
        .collect()
}

/// Builds every binary of this crate with the profile of the running one, when run
/// through cargo (`CARGO` set); does nothing otherwise.
pub fn build_siblings() {
    // Through `cargo run`, make sure every binary is built with the same profile.
    let Ok(cargo) = std::env::var("CARGO") else {
        return;
    };
    let release = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(|d| d.ends_with("release")))
        .unwrap_or(false);
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "memscope-bench", "--bins"]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().expect("cargo build");
    assert!(status.success(), "building the benchmark binaries failed");
}
