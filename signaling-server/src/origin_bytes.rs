//! Counting the bytes the server sends as a site's origin, per URL path, so tests and
//! benchmarks can tell how much of a site came from the origin rather than from peers.
//! `GET /origin-stats` returns `{ totalBytes, requests, paths: { "/cdn/app.js": bytes } }`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

/// Bytes sent per URL path.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginBytes {
    total_bytes: u64,
    requests: u64,
    paths: BTreeMap<String, u64>,
}

/// The counter, shared by the middleware and the endpoint.
pub type SharedOriginBytes = Arc<Mutex<OriginBytes>>;

/// Middleware: counts the body length of every successful `GET` answer.
pub async fn count(
    State(counter): State<SharedOriginBytes>,
    request: Request<Body>,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let is_get = request.method() == Method::GET;
    let response = next.run(request).await;
    let status = response.status();
    let counted = status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT;
    let len = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if let (true, true, Some(len)) = (is_get, counted, len) {
        let mut bytes = counter
            .lock()
            .expect("never poisoned: no panics while held");
        bytes.total_bytes += len;
        bytes.requests += 1;
        *bytes.paths.entry(path).or_default() += len;
    }
    response
}

/// `GET /origin-stats`.
pub async fn report(State(counter): State<SharedOriginBytes>) -> impl IntoResponse {
    let bytes = counter.lock().expect("never poisoned").clone();
    Json(bytes)
}
