//! The live endpoint: memscope's figures served over HTTP while the program runs, for
//! people (`/report.html`, `/report.txt`), scripts (`/snapshot.json`, `?since=`), Prometheus
//! (`/metrics`) and continuous profilers (`/debug/pprof/heap`, `/debug/pprof/allocs`).
//!
//! One thread of its own runs a single-thread tokio runtime with hyper: never the
//! application's runtime, its allocations all charged to memscope's own bucket. Safe by
//! default: loopback unless another address is given (then a warning line; on loopback
//! only a loopback `Host` is answered, so a web page cannot rebind its name to read it),
//! GET only, request heads of at most [`MAX_REQUEST_HEAD`](limits::MAX_REQUEST_HEAD)
//! bytes read within [`HEADER_READ_TIMEOUT`](limits::HEADER_READ_TIMEOUT), at most
//! [`MAX_CONNECTIONS`](limits::MAX_CONNECTIONS) open (a new one closes the oldest), each
//! for at most [`CONNECTION_LIFETIME`](limits::CONNECTION_LIFETIME). Each
//! answer comes from one snapshot taken for it: the same figures as
//! [`snapshot()`](crate::snapshot) at that moment, and taking it stops a tracked task no
//! longer than any snapshot does. Memory: the history of
//! [`HISTORY`](limits::HISTORY) snapshots' groups, plus the answers of at most
//! [`MAX_CONNECTIONS`](limits::MAX_CONNECTIONS) connections not read yet, each for at
//! most [`CONNECTION_LIFETIME`](limits::CONNECTION_LIFETIME).

mod address;
mod connections;
mod history;
/// The endpoint's limits.
pub mod limits;
mod listener;
mod routes;

use crate::base::error::Error;
use crate::hook::thread;
use std::io::Write;
use std::net::SocketAddr;
use tokio::sync::oneshot;

/// A running endpoint, from [`serve`]. Dropping it leaves the endpoint running for the
/// rest of the process; [`Server::stop`] stops it.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// The address it listens on (with the port the system chose, if `:0` was asked).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it: closes the listener and every connection, and waits for its thread.
    pub fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Detached: the sender is forgotten, never sent, so the endpoint serves on.
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
    }
}

/// Serves memscope's live endpoint at `addr` (`"127.0.0.1:6060"`, `"[::1]:6060"`,
/// `"localhost:6060"`, or a port alone, `"6060"`, on loopback), on a thread of its own,
/// until the process ends or [`Server::stop`]. A non-loopback address is served as asked,
/// after a warning line on stderr (the figures name the program's tasks).
///
/// Routes (GET): `/metrics` (Prometheus text; OpenMetrics when the `Accept` header asks),
/// `/debug/pprof/heap` and `/debug/pprof/allocs` (gzip-compressed pprof), `/snapshot.json`
/// (with `?since=<id>`: what changed since the snapshot numbered `id`, see
/// [`SnapshotDiff`](crate::SnapshotDiff)), `/report.html`, `/report.txt`.
///
/// ```
/// # use memscope_runtime as memscope;
/// # #[global_allocator] static GLOBAL: memscope::TrackingAllocator = memscope::TrackingAllocator::system();
/// use std::io::{Read, Write};
/// let server = memscope::serve("127.0.0.1:0")?;
/// let mut conn = std::net::TcpStream::connect(server.addr()).unwrap();
/// conn.write_all(b"GET /report.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
/// let mut answer = String::new();
/// conn.read_to_string(&mut answer).unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK"));
/// assert!(answer.contains("memscope"));
/// server.stop();
/// # Ok::<(), memscope::Error>(())
/// ```
pub fn serve(addr: &str) -> Result<Server, Error> {
    let _internal = thread::internal();
    let addr = address::parse(addr)?;
    let bind_error = |source| Error::ServeBind {
        addr: addr.to_string(),
        source,
    };
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    if !addr.ip().is_loopback() {
        let _ = writeln!(
            std::io::stderr(),
            "memscope: serving the endpoint on {addr}, reachable from other machines: its \
             figures name your tasks"
        );
    }
    let (stop, stopped) = oneshot::channel();
    let thread =
        crate::hook::spawn_own_thread("memscope-serve", move || listener::run(listener, stopped))
            .map_err(bind_error)?;
    Ok(Server {
        addr,
        stop: Some(stop),
        thread: Some(thread),
    })
}
