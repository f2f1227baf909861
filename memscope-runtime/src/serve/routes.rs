//! The endpoint's routes: a GET request in, a response out. Each answer is made from one
//! snapshot taken for it (the same figures `memscope::snapshot()` gives at that moment),
//! which is then kept in the history for `?since=`.

use crate::base::format::ReportFormat;
use crate::report::pprof::{self, PprofKind};
use crate::report::prometheus::{self, Exposition};
use crate::report::{self};
use crate::serve::history::History;
use crate::serve::limits::METRIC_NAMES;
use crate::view::snapshot::{snapshot, take, Detail};
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, ACCEPT, ALLOW, CONTENT_DISPOSITION, CONTENT_TYPE};
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

/// The answer to `req`; `history` keeps the snapshots served.
pub(crate) fn answer<B>(req: &Request<B>, history: &RefCell<History>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "memscope's endpoint answers GET only\n",
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET"));
        return r;
    }
    let accept = req.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
    let path = req.uri().path();
    let query = req.uri().query().unwrap_or("");
    let (body, content_type, snap) = match path {
        "/" => return plain(StatusCode::OK, &format!("memscope\n\n{ROUTES}")),
        "/metrics" => {
            let format = Exposition::from_accept(accept);
            // Groups and totals only: all `/metrics` shows, without a row per task.
            let snap = take(Detail::Groups);
            let text = prometheus::render(&snap, format, METRIC_NAMES);
            (text.into_bytes(), format.content_type(), snap)
        }
        "/debug/pprof/heap" | "/debug/pprof/allocs" => {
            let kind = if path.ends_with("heap") {
                PprofKind::Heap
            } else {
                PprofKind::Allocs
            };
            let snap = snapshot();
            let mut r = bytes(
                StatusCode::OK,
                pprof::render(&snap, kind),
                "application/octet-stream",
            );
            name_snapshot(&mut r, snap.id);
            let file = if kind == PprofKind::Heap {
                "heap.pb.gz"
            } else {
                "allocs.pb.gz"
            };
            let disposition = format!("attachment; filename=\"{file}\"");
            if let Ok(v) = HeaderValue::from_str(&disposition) {
                r.headers_mut().insert(CONTENT_DISPOSITION, v);
            }
            history.borrow_mut().keep(snap);
            return r;
        }
        "/snapshot.json" => match since(query) {
            Ok(None) => {
                let snap = snapshot();
                (
                    report::render(&snap, ReportFormat::Json).into_bytes(),
                    JSON,
                    snap,
                )
            }
            Ok(Some(id)) => return changes_since(id, history),
            Err(message) => return plain(StatusCode::BAD_REQUEST, &message),
        },
        "/report.html" => {
            let snap = snapshot();
            let html = report::render(&snap, ReportFormat::Html);
            (html.into_bytes(), "text/html; charset=utf-8", snap)
        }
        "/report.txt" => {
            let snap = snapshot();
            (
                report::render(&snap, ReportFormat::Text).into_bytes(),
                TEXT,
                snap,
            )
        }
        _ => {
            let message = format!("no route {path}; memscope's endpoint has:\n{ROUTES}");
            return plain(StatusCode::NOT_FOUND, &message);
        }
    };
    let mut r = bytes(StatusCode::OK, body, content_type);
    name_snapshot(&mut r, snap.id);
    history.borrow_mut().keep(snap);
    r
}

/// Header naming the snapshot an answer was made from (for `?since=`, and to compare an
/// answer with the figures of that very snapshot).
pub(crate) const SNAPSHOT_ID_HEADER: &str = "x-memscope-snapshot-id";

fn name_snapshot(r: &mut Response<Full<Bytes>>, id: u64) {
    r.headers_mut()
        .insert(SNAPSHOT_ID_HEADER, HeaderValue::from(id));
}

/// The `since` parameter of a query string, if there is one.
fn since(query: &str) -> Result<Option<u64>, String> {
    for pair in query.split('&') {
        if let Some(value) = pair.strip_prefix("since=") {
            return value.parse().map(Some).map_err(|_| {
                format!("since={value}: give the `id` of a snapshot this endpoint served\n")
            });
        }
    }
    Ok(None)
}

/// What changed since the kept snapshot `id`, as JSON; 404 if it is not kept.
fn changes_since(id: u64, history: &RefCell<History>) -> Response<Full<Bytes>> {
    let now = snapshot();
    let mut kept = history.borrow_mut();
    let Some(earlier) = kept.get(id) else {
        let ids: Vec<String> = kept.ids().map(|i| i.to_string()).collect();
        let message = format!(
            "snapshot {id} is not kept here (the endpoint keeps the last {} it served: {}); \
             GET /snapshot.json for a full one and poll with its id\n",
            crate::serve::limits::HISTORY,
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
    let mut r = bytes(StatusCode::OK, json, JSON);
    name_snapshot(&mut r, now.id);
    kept.keep(now);
    r
}

fn plain(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    bytes(status, text.as_bytes().to_vec(), TEXT)
}

fn bytes(status: StatusCode, body: Vec<u8>, content_type: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}
