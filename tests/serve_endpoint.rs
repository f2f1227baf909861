//! The live endpoint: every route answers from one snapshot, exactly; bad input (garbage,
//! a 1 MiB header, 500 idle connections, half-closed sockets, unknown routes, other
//! methods) never takes it down, the next good request is answered, and the program's
//! figures are untouched (the endpoint's own memory is memscope's).

use memscope::{GroupProfile, TaskType, Tracked};
use memscope_test_support::http::{get, parse, send};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

/// One endpoint at a time: the tests compare the program's figures around what they do.
fn serial() -> MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Tracked tasks that each leave `bytes` behind, of type network; what they left.
fn leave_memory(tasks: usize, bytes: usize) -> Vec<Vec<u8>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut kept = Vec::new();
        for _ in 0..tasks {
            let task = async move { vec![1u8; bytes] };
            kept.push(Tracked::new(task, "serve-test-holder", TaskType::NetworkIntensive).await);
        }
        kept
    })
}

/// The program's own groups (the tracked tasks), as the endpoint must leave them.
fn program_groups() -> Vec<GroupProfile> {
    memscope::snapshot()
        .groups
        .into_iter()
        .filter(|g| g.name.starts_with("serve-test"))
        .collect()
}

#[test]
fn every_route_answers_from_one_exact_snapshot() {
    let _one = serial();
    let kept = leave_memory(10, 1000);
    let server = memscope::serve("127.0.0.1:0").unwrap();
    let addr = server.addr();
    assert!(addr.ip().is_loopback());

    let index = get(addr, "/", "");
    assert_eq!(index.status, 200);
    for route in [
        "/metrics",
        "/debug/pprof/heap",
        "/snapshot.json",
        "/report.html",
    ] {
        assert!(index.text().contains(route), "{}", index.text());
    }

    // The JSON report is a snapshot: its holder group is exact.
    let json = get(addr, "/snapshot.json", "");
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let snap = memscope::MemorySnapshot::from_json(&json.text()).unwrap();
    let holder = snap
        .groups
        .iter()
        .find(|g| g.name == "serve-test-holder")
        .unwrap();
    assert_eq!(holder.retained_bytes, 10_000);
    assert!(snap.id > 0);

    // What changed since: 5 more holders of 200 B each; 20 scrapes in between (a
    // scraper every second) do not push the poller's snapshot out.
    let more = leave_memory(5, 200);
    for _ in 0..20 {
        assert_eq!(get(addr, "/metrics", "").status, 200);
    }
    let diff = get(addr, &format!("/snapshot.json?since={}", snap.id), "");
    assert_eq!(diff.status, 200, "{}", diff.text());
    let diff: serde_json::Value = serde_json::from_slice(&diff.body).unwrap();
    let row = diff["names"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "serve-test-holder")
        .unwrap();
    assert_eq!(row["then"]["retained_bytes"], 10_000);
    assert_eq!(row["now"]["retained_bytes"], 11_000);
    assert_eq!(
        row["now"]["task_count"].as_u64().unwrap() - row["then"]["task_count"].as_u64().unwrap(),
        5
    );
    let network = diff["types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["task_type"] == "network")
        .unwrap();
    assert_eq!(
        network["then"]["live_bytes"],
        snap.by_type(TaskType::NetworkIntensive).live_bytes
    );

    // A snapshot never served is not kept: a clear 404, not a wrong diff.
    let gone = get(addr, "/snapshot.json?since=999999999", "");
    assert_eq!(gone.status, 404);
    assert!(gone.text().contains("not kept"), "{}", gone.text());
    assert_eq!(get(addr, "/snapshot.json?since=x", "").status, 400);

    let metrics = get(addr, "/metrics", "");
    assert_eq!(metrics.status, 200);
    assert!(metrics
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    assert!(
        metrics.text().contains("task_type=\"network\""),
        "{}",
        metrics.text()
    );
    let open = get(
        addr,
        "/metrics",
        "Accept: application/openmetrics-text; version=1.0.0\r\n",
    );
    assert!(open
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(open.text().ends_with("# EOF\n"));

    for path in ["/debug/pprof/heap", "/debug/pprof/allocs"] {
        let profile = get(addr, path, "");
        assert_eq!(profile.status, 200);
        assert_eq!(&profile.body[..2], [0x1f, 0x8b], "{path}: gzip");
    }
    let html = get(addr, "/report.html", "");
    assert_eq!(html.status, 200);
    assert!(html.text().contains("serve-test-holder"));
    let text = get(addr, "/report.txt", "");
    assert!(text.text().starts_with("memscope"), "{}", text.text());
    server.stop();
    drop((kept, more));
}

#[test]
fn bad_input_never_takes_it_down_nor_touches_the_programs_figures() {
    let _one = serial();
    let kept = leave_memory(3, 500);
    let server = memscope::serve("127.0.0.1:0").unwrap();
    let addr = server.addr();
    let before = program_groups();

    // Unknown routes and other methods: clear answers.
    let missing = get(addr, "/nope", "");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("/metrics"),
        "the 404 lists the routes"
    );
    let post = send(
        addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));

    // A page rebinding its name to 127.0.0.1 is refused: a loopback Host only.
    let rebound = send(
        addr,
        b"GET /snapshot.json HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(rebound.status, 421);

    // Garbage bytes: answered 400 or closed, never a crash.
    let mut garbage = TcpStream::connect(addr).unwrap();
    garbage
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = garbage.write_all(&[0xff, 0x00, 0x13, b'\n', b'\r', b'\n', 0x80].repeat(1000));
    let mut sink = Vec::new();
    let _ = garbage.read_to_end(&mut sink);

    // A 1 MiB header: refused (431) or closed once past the bound.
    let mut huge = TcpStream::connect(addr).unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    request.extend(std::iter::repeat_n(b'a', 1 << 20));
    request.extend(b"\r\n\r\n");
    let _ = huge.write_all(&request); // the endpoint may close before it is all sent
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    if !answer.is_empty() {
        assert_eq!(parse(&answer).status, 431);
    }

    // Half-closed sockets: a request then EOF is still answered; EOF alone is dropped.
    let mut half = TcpStream::connect(addr).unwrap();
    half.write_all(b"GET /report.txt HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    half.shutdown(Shutdown::Write).unwrap();
    let mut raw = Vec::new();
    half.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let _ = half.read_to_end(&mut raw);
    assert_eq!(parse(&raw).status, 200);
    let silent = TcpStream::connect(addr).unwrap();
    silent.shutdown(Shutdown::Write).unwrap();

    // 500 idle connections at once: the oldest are closed, the next good request answered.
    let idle: Vec<TcpStream> = (0..500)
        .map(|_| TcpStream::connect(addr).unwrap())
        .collect();
    let answer = get(addr, "/metrics", "");
    assert_eq!(answer.status, 200);
    drop(idle);

    assert_eq!(get(addr, "/report.txt", "").status, 200, "still up");
    assert_eq!(
        program_groups(),
        before,
        "the program's figures are untouched"
    );
    let tracker = memscope::snapshot().tracker;
    assert!(
        tracker.allocated_bytes > 1 << 20,
        "the endpoint's memory (buffers, snapshots, answers) is memscope's own: {tracker:?}"
    );
    server.stop();
    drop(kept);
}

#[test]
fn a_stopped_endpoint_frees_its_port_and_a_bad_address_is_a_clear_error() {
    let _one = serial();
    let server = memscope::serve("127.0.0.1:0").unwrap();
    let addr = server.addr();
    server.stop();
    assert!(
        TcpStream::connect(addr).is_err(),
        "stopped: nothing listens"
    );
    let again = memscope::serve(&addr.to_string()).unwrap();
    let taken = memscope::serve(&addr.to_string()).unwrap_err();
    assert!(taken.to_string().contains("MEMSCOPE_SERVE"), "{taken}");
    again.stop();
    let bad = memscope::serve("not an address").unwrap_err();
    assert!(bad.to_string().contains("host:port"), "{bad}");
}
