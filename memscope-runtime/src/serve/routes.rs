//! The endpoint's routes: a GET request in, a response out. Each answer is made from one
//! snapshot taken for it (the same figures `memscope::snapshot()` gives at that moment)
//! and names it in a header; each is kept (its groups) for `?since=`.

use crate::base::format::ReportFormat;
use crate::report::figures::{KeptNames, DEFAULT_METRIC_NAMES};
use crate::report::pprof::{self, PprofKind};
use crate::report::prometheus::{self, Exposition};
use crate::report::{self};
use crate::serve::history::{History, Served};
use crate::serve::limits::HISTORY;
use crate::view::snapshot::{snapshot, take, Detail, MemorySnapshot};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_DISPOSITION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use std::cell::RefCell;

/// The routes, as the index and a 404 list them.
pub(crate) const ROUTES: &str = "\
/metrics               Prometheus text exposition (OpenMetrics if the Accept header asks)
/debug/pprof/heap      in-use heap profile, gzip-compressed pprof profile.proto
/debug/pprof/allocs    cumulative allocation profile, the same format
/snapshot.json         the JSON report; ?since=<id> gives what changed since snapshot <id>
                       (every answer names its snapshot in the X-Memscope-Snapshot-Id header)
/report.html           the self-contained HTML report
/report.txt            the text summary
";

const TEXT: &str = "text/plain; charset=utf-8";
const JSON: &str = "application/json";

/// Header naming the snapshot an answer was made from (for `?since=`, and to compare an
/// answer with the figures of that very snapshot).
pub(crate) const SNAPSHOT_ID_HEADER: &str = "x-memscope-snapshot-id";

type Answer = Response<Full<Bytes>>;

/// What the routes of one endpoint keep between requests (on its one thread).
pub(crate) struct State {
    /// The snapshots served, for `?since=`.
    history: RefCell<History>,
    /// The names `/metrics` keeps apart, the same from scrape to scrape.
    names: RefCell<KeptNames>,
    /// Whether the endpoint listens on loopback only (then the `Host` must say so too).
    loopback: bool,
}

impl State {
    pub(crate) fn new(loopback: bool) -> Self {
        State {
            history: RefCell::default(),
            names: RefCell::new(KeptNames::new(DEFAULT_METRIC_NAMES)),
            loopback,
        }
    }
}

/// The answer to `req`.
pub(crate) fn answer<B>(req: &Request<B>, state: &State) -> Answer {
    if req.method() != Method::GET {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "memscope's endpoint answers GET only\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    if state.loopback && !local_host(req.headers().get(HOST).and_then(|h| h.to_str().ok())) {
        // A web page that rebinds its name to 127.0.0.1 must not read the figures.
        let text = "memscope's endpoint listens on loopback and answers a loopback Host only \
                    (localhost, 127.0.0.1, [::1]); serve it on another address to reach it so\n";
        return plain(StatusCode::MISDIRECTED_REQUEST, text);
    }
    let path = req.uri().path();
    match path {
        "/" => plain(StatusCode::OK, &format!("memscope\n\n{ROUTES}")),
        "/metrics" => metrics(
            req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()),
            state,
        ),
        "/debug/pprof/heap" => profile(PprofKind::Heap, state),
        "/debug/pprof/allocs" => profile(PprofKind::Allocs, state),
        "/snapshot.json" => match since(req.uri().query().unwrap_or("")) {
            Ok(None) => {
                let snap = snapshot();
                let body = report::render(&snap, ReportFormat::Json).into_bytes();
                let r = named(bytes(StatusCode::OK, body, JSON), &snap);
                state.history.borrow_mut().keep(snap, Served::Polled);
                r
            }
            Ok(Some(id)) => changes_since(id, state),
            Err(message) => plain(StatusCode::BAD_REQUEST, &message),
        },
        "/report.html" => rendered(ReportFormat::Html, "text/html; charset=utf-8", state),
        "/report.txt" => rendered(ReportFormat::Text, TEXT, state),
        _ => {
            let message = format!("no route {path}; memscope's endpoint has:\n{ROUTES}");
            plain(StatusCode::NOT_FOUND, &message)
        }
    }
}

/// `localhost`, `127.0.0.1` or `[::1]`, with or without a port (an absent `Host` is an
/// HTTP/1.0 client on this machine: allowed).
fn local_host(host: Option<&str>) -> bool {
    let Some(host) = host else { return true };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if !name.ends_with(':') && port.parse::<u16>().is_ok() => name,
        _ => host,
    };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

/// `/metrics`: a groups-only snapshot (all it shows, without a row per task), with the
/// endpoint's kept names.
fn metrics(accept: Option<&str>, state: &State) -> Answer {
    let format = Exposition::from_accept(accept);
    let snap = take(Detail::Groups);
    let text = prometheus::render_kept(&snap, format, &mut state.names.borrow_mut());
    let body = bytes(StatusCode::OK, text.into_bytes(), format.content_type());
    scraped(body, snap, state)
}

/// `/debug/pprof/heap` or `/debug/pprof/allocs`, as a download.
fn profile(kind: PprofKind, state: &State) -> Answer {
    let snap = snapshot();
    let body = pprof::render(&snap, kind);
    let octets = bytes(StatusCode::OK, body, "application/octet-stream");
    let mut r = scraped(octets, snap, state);
    let file = if kind == PprofKind::Heap {
        "heap"
    } else {
        "allocs"
    };
    let disposition = format!("attachment; filename=\"{file}.pb.gz\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        r.headers_mut().insert(CONTENT_DISPOSITION, v);
    }
    r
}

/// A report in `format`, of a snapshot taken now.
fn rendered(format: ReportFormat, content_type: &'static str, state: &State) -> Answer {
    let snap = snapshot();
    let body = report::render(&snap, format).into_bytes();
    scraped(bytes(StatusCode::OK, body, content_type), snap, state)
}

/// `r`, named after `snap`, which is kept among the scrapes' snapshots.
fn scraped(r: Answer, snap: MemorySnapshot, state: &State) -> Answer {
    let r = named(r, &snap);
    state.history.borrow_mut().keep(snap, Served::Scraped);
    r
}

/// The `since` parameter of a query string, if there is one.
fn since(query: &str) -> Result<Option<u64>, String> {
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("since=") {
            return value.parse().map(Some).map_err(|_| {
                format!("since={value}: give the `id` of a snapshot /snapshot.json served\n")
            });
        }
    }
    Ok(None)
}

/// What changed since the kept snapshot `id`, as JSON; 404 if it is not kept.
fn changes_since(id: u64, state: &State) -> Answer {
    let now = snapshot();
    let mut kept = state.history.borrow_mut();
    let Some(earlier) = kept.get(id) else {
        let ids: Vec<String> = kept.ids().map(|i| i.to_string()).collect();
        let message = format!(
            "snapshot {id} is not kept here (the endpoint keeps the last {HISTORY} that \
             /snapshot.json served: {}); GET /snapshot.json for a full one and poll with its id\n",
            if ids.is_empty() {
                "none yet".to_owned()
            } else {
                ids.join(", ")
            }
        );
        return plain(StatusCode::NOT_FOUND, &message);
    };
    let diff = now.changes_since(earlier);
    let json = serde_json::to_vec_pretty(&diff).unwrap_or_default();
    let r = named(bytes(StatusCode::OK, json, JSON), &now);
    kept.keep(now, Served::Polled);
    r
}

/// `r`, with the header naming the snapshot it was made from.
fn named(mut r: Answer, snap: &MemorySnapshot) -> Answer {
    r.headers_mut()
        .insert(SNAPSHOT_ID_HEADER, HeaderValue::from(snap.id));
    r
}

fn plain(status: StatusCode, text: &str) -> Answer {
    bytes(status, text.as_bytes().to_vec(), TEXT)
}

fn bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Answer {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_loopback_host_is_answered_on_loopback() {
        for host in [
            None,
            Some("localhost"),
            Some("127.0.0.1:6060"),
            Some("[::1]:6060"),
        ] {
            assert!(local_host(host), "{host:?}");
        }
        for host in [
            "evil.example",
            "evil.example:6060",
            "10.0.0.1:6060",
            "localhost.evil",
        ] {
            assert!(!local_host(Some(host)), "{host}");
        }
    }
}
