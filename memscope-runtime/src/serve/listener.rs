//! The endpoint's thread: a private single-thread tokio runtime (never the application's)
//! accepting connections and serving them with hyper, every allocation of it charged to
//! memscope's own bucket.

use crate::hook::thread;
use crate::serve::connections::Connections;
use crate::serve::limits::{CONNECTION_LIFETIME, HEADER_READ_TIMEOUT, MAX_REQUEST_HEAD};
use crate::serve::routes::{self, State};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::cell::RefCell;
use std::convert::Infallible;
use std::rc::Rc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// What the connections of one endpoint share (on its one thread).
struct Shared {
    routes: State,
    connections: RefCell<Connections>,
}

/// Runs the endpoint on `listener` (already bound, non-blocking) until `stop` fires or
/// its sender is dropped (a detached endpoint's never is).
pub(crate) fn run(listener: std::net::TcpListener, stop: oneshot::Receiver<()>) {
    let _internal = thread::internal();
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
    else {
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"memscope: the endpoint could not start its runtime\n",
        );
        return;
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, accept(listener, stop));
}

async fn accept(listener: std::net::TcpListener, mut stop: oneshot::Receiver<()>) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        return;
    };
    let loopback = listener.local_addr().is_ok_and(|a| a.ip().is_loopback());
    let shared = Rc::new(Shared {
        routes: State::new(loopback),
        connections: RefCell::default(),
    });
    loop {
        tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::task::spawn_local(connection(stream, Rc::clone(&shared)));
                }
                // Out of descriptors, say: back off a moment rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            },
        }
    }
}

/// Serves one connection until it ends, fails, is closed to admit a newer one, or has
/// lived [`CONNECTION_LIFETIME`].
async fn connection(stream: TcpStream, shared: Rc<Shared>) {
    let (id, close) = shared.connections.borrow_mut().admit();
    let for_requests = Rc::clone(&shared);
    let service = service_fn(move |req| {
        let response = routes::answer(&req, &for_requests.routes);
        async move { Ok::<_, Infallible>(response) }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_REQUEST_HEAD)
        // A client that sends its request and then shuts its write side down (`curl`
        // with `--no-keepalive` over some proxies, `nc -N`) still gets its answer: without
        // this, hyper may read the EOF before the answer is written and close at once.
        .half_close(true)
        .keep_alive(true);
    let served = builder.serve_connection(TokioIo::new(stream), service);
    tokio::select! {
        _ = served => {}
        _ = close.notified() => {}
        _ = tokio::time::sleep(CONNECTION_LIFETIME) => {}
    }
    shared.connections.borrow_mut().remove(id);
}
