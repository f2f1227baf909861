//! The `service` example under load, read by the real consumers a fleet runs: a
//! Prometheus server scrapes `/metrics` every second, and its query API gives back the
//! figures of one scrape exactly as memscope had them in that scrape's snapshot; `promtool`
//! accepts the exposition; `go tool pprof` reads `/debug/pprof/heap` and `/allocs` (from a
//! file and from the URL), and its per-label sums equal memscope's exact counters of the
//! snapshot the profile was made from. Each consumer is started by the test on 127.0.0.1
//! and stopped by it; the service then exits 0 after its shutdown report on SIGTERM.
//!
//! Without the tools (Debian's `prometheus` and `golang-go`) the tests are skipped with the
//! reason printed, except under `CI=true`, where they fail.

use memscope_test_support::http::{get, url_encode};
use memscope_test_support::tools::{external_tool, go_pprof, go_pprof_top, pprof_top};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `service` example, running with its endpoint on a port the system chose; killed
/// if the test fails before it is stopped.
struct Service {
    child: Killed,
    addr: SocketAddr,
}

/// A child process killed and waited for when dropped (a failed assertion must not leave
/// a loaded service or a Prometheus server running).
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Service {
    fn start() -> Service {
        let example = example_binary("service");
        let dir = std::env::temp_dir().join(format!("memscope-fleet-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new(example)
            .current_dir(&dir)
            .env("MEMSCOPE_SERVE", "127.0.0.1:0")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        // Its stderr is read on a thread (and drained to the end, so it never blocks on a
        // full pipe); the address it serves on must come within a minute.
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (said, where_) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                let addr = line
                    .strip_prefix("memscope: serving http://")
                    .and_then(|rest| rest.split('/').next()?.parse::<SocketAddr>().ok());
                if let Some(addr) = addr {
                    let _ = said.send(addr);
                }
            }
        });
        let mut service = Service {
            child: Killed(child),
            addr: "127.0.0.1:0".parse().unwrap(),
        };
        service.addr = where_
            .recv_timeout(Duration::from_secs(60))
            .expect("the service never said where it serves");
        service
    }

    /// SIGTERM, as a service manager sends (SIGINT may be ignored by a test run in the
    /// background of a script): the service shuts down within a minute and exits 0.
    fn interrupt(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let exit = loop {
            if let Some(exit) = self.child.0.try_wait().unwrap() {
                break exit;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not end after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(
            exit.success(),
            "the service exits 0 after SIGTERM: {exit:?}"
        );
    }

    /// The figures per type of snapshot `id`, as `/snapshot.json?since=` gives them.
    fn types_at(&self, id: u64) -> serde_json::Value {
        let diff = get(self.addr, &format!("/snapshot.json?since={id}"), "");
        assert_eq!(diff.status, 200, "{}", diff.text());
        let diff: serde_json::Value = serde_json::from_slice(&diff.body).unwrap();
        diff["types"].clone()
    }
}

/// The example `name`, beside the test binaries, built (or found up to date) first:
/// `cargo test` builds the examples with the tests, `cargo test --test fleet_consumers`
/// alone does not.
fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let example = profile_dir.join("examples").join(name);
    {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let mut build = Command::new(cargo);
        build.args(["build", "--manifest-path", manifest, "--example", name]);
        if profile_dir.ends_with("release") {
            build.arg("--release");
        }
        assert!(
            build.status().unwrap().success(),
            "building the {name} example"
        );
    }
    example
}

fn type_row<'a>(types: &'a serde_json::Value, ty: &str) -> &'a serde_json::Value {
    types
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_type"] == ty)
        .unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Raw samples of `selector` over the last minute, by scrape time (ms) → value.
fn samples(prometheus: SocketAddr, selector: &str) -> Vec<(u64, f64)> {
    let query = url_encode(&format!("{selector}[1m]"));
    let answer = get(prometheus, &format!("/api/v1/query?query={query}"), "");
    let json: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let Some(series) = json["data"]["result"].as_array().and_then(|r| r.first()) else {
        return Vec::new();
    };
    series["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let at = (v[0].as_f64().unwrap() * 1000.0).round() as u64;
            (at, v[1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[test]
fn prometheus_scrapes_the_service_and_reads_back_the_exact_figures() {
    let Some(prometheus) = external_tool("prometheus", "MEMSCOPE_PROMETHEUS", "prometheus") else {
        return;
    };
    let Some(promtool) = external_tool("promtool", "MEMSCOPE_PROMTOOL", "prometheus") else {
        return;
    };
    let service = Service::start();
    // promtool lints what the endpoint serves in the text format (the one it reads; the
    // OpenMetrics form is what the Prometheus server below asks for and parses).
    {
        let metrics = get(service.addr, "/metrics", "");
        let mut check = Command::new(&promtool)
            .args(["check", "metrics"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        check
            .stdin
            .take()
            .unwrap()
            .write_all(&metrics.body)
            .unwrap();
        let out = check.wait_with_output().unwrap();
        let said = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && said.trim().is_empty(),
            "promtool: {said}"
        );
    }

    let dir = std::env::temp_dir().join(format!("memscope-prometheus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("prometheus.yml");
    let scrape = format!(
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: service\n    static_configs:\n      - targets: ['{}']\n",
        service.addr
    );
    std::fs::write(&config, scrape).unwrap();
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let server = Command::new(prometheus)
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={listen}"))
        .arg("--log.level=warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let server = Killed(server);

    // Wait for a few scrapes, then take the latest one both series have.
    let live = r#"memscope_task_type_live_bytes{task_type="network"}"#;
    let allocated = r#"memscope_task_type_allocated_bytes_total{task_type="network"}"#;
    let deadline = Instant::now() + Duration::from_secs(90);
    let (id, live_bytes, allocated_bytes) = loop {
        assert!(
            Instant::now() < deadline,
            "Prometheus never scraped the service"
        );
        std::thread::sleep(Duration::from_millis(500));
        let Ok(_) = std::net::TcpStream::connect(listen) else {
            continue;
        };
        let ids = samples(listen, "memscope_snapshot_id");
        if ids.len() < 3 {
            continue;
        }
        let (lives, allocs) = (samples(listen, live), samples(listen, allocated));
        let latest = ids.iter().rev().find_map(|&(at, id)| {
            let l = lives.iter().find(|(t, _)| *t == at)?.1;
            let a = allocs.iter().find(|(t, _)| *t == at)?.1;
            Some((id as u64, l as u64, a as u64))
        });
        if let Some(found) = latest {
            break found;
        }
    };
    let types = service.types_at(id);
    let network = &type_row(&types, "network")["then"];
    assert_eq!(
        network["live_bytes"], live_bytes,
        "live bytes of scrape {id}"
    );
    assert_eq!(
        network["allocated_bytes"], allocated_bytes,
        "allocated bytes of scrape {id}"
    );
    assert!(allocated_bytes > 0, "the load ran");
    drop(server);
    service.interrupt();
}

#[test]
fn go_tool_pprof_reads_the_services_profiles_exactly() {
    let Some(go) = external_tool("go", "MEMSCOPE_GO", "golang-go") else {
        return;
    };
    let service = Service::start();
    std::thread::sleep(Duration::from_millis(500)); // some load first
    let dir = std::env::temp_dir().join(format!("memscope-fleet-pprof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (route, index, field) in [
        ("/debug/pprof/heap", "inuse_space", "live_bytes"),
        ("/debug/pprof/allocs", "alloc_space", "allocated_bytes"),
    ] {
        let profile = get(service.addr, route, "");
        assert_eq!(profile.status, 200);
        let id: u64 = profile
            .header("x-memscope-snapshot-id")
            .unwrap()
            .parse()
            .unwrap();
        let file = dir.join(format!("{index}.pb.gz"));
        std::fs::write(&file, &profile.body).unwrap();
        let types = service.types_at(id);
        for ty in ["network", "cpu", "background"] {
            let (focused, _, _) = pprof_top(&go_pprof_top(&go, &dir, &file, index, ty));
            let then = &type_row(&types, ty)["then"][field];
            if *then != focused {
                // What a mismatch needs to be understood, before the assertion fails.
                let raw = go_pprof(&go, &dir, &["-raw"], &file);
                let diff = get(service.addr, &format!("/snapshot.json?since={id}"), "");
                eprintln!(
                    "{route}: the profile's samples (go tool pprof -raw):\n{raw}\n\
                     snapshot {id}'s figures per type and name (`then`):\n{}",
                    diff.text()
                );
            }
            assert_eq!(*then, focused, "{route} {ty}: pprof's sum vs snapshot {id}");
        }
    }
    // Straight from the URL, as Pyroscope's or Parca's scrapers and a person do.
    let url = format!("http://{}/debug/pprof/allocs", service.addr);
    let top = go_pprof(&go, &dir, &["-top", "-sample_index=alloc_space"], &url);
    assert!(top.contains("handle_request"), "{top}");
    service.interrupt();
}
