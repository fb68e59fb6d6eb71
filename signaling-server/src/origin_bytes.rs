//! Counting the bytes the server sends as a site's origin, per file, so tests and benchmarks
//! can tell how much of a site came from the origin rather than from peers.
//! `GET /origin-stats` (on the admin listener) returns
//! `{ totalBytes, requests, untrackedBytes, paths: { "/cdn/app.js": bytes } }`.
//!
//! A file is keyed by the path it resolves to, written as the site's manifest writes it
//! (`/./a`, `//a` and `/%61` are all `/a`; `/dir/` is `/dir/index.html`), and at most
//! [`MAX_PATHS`] files are tracked: bytes of files past that count in `untrackedBytes` only.

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
use percent_encoding::{percent_decode_str, utf8_percent_encode};
use serde::Serialize;

use crate::site_manifest::PATH_ESCAPES;

/// Files whose bytes are counted one by one.
pub const MAX_PATHS: usize = 4096;

/// Bytes sent per file.
#[derive(Debug, Default, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OriginBytes {
    total_bytes: u64,
    requests: u64,
    untracked_bytes: u64,
    paths: BTreeMap<String, u64>,
}

impl OriginBytes {
    /// Counts `len` bytes sent for the request path `path`.
    fn add(&mut self, path: &str, len: u64) {
        self.total_bytes += len;
        self.requests += 1;
        let tracked = file_key(path).and_then(|key| {
            if self.paths.len() < MAX_PATHS || self.paths.contains_key(&key) {
                Some(self.paths.entry(key).or_default())
            } else {
                None
            }
        });
        match tracked {
            Some(bytes) => *bytes += len,
            None => self.untracked_bytes += len,
        }
    }
}

/// The counter, shared by the middleware and the endpoint.
pub type SharedOriginBytes = Arc<Mutex<OriginBytes>>;

/// The file a request path names, as `ServeDir` resolves it (percent-decoded, empty and `.`
/// segments dropped, `index.html` for a directory), written the way the manifest writes paths;
/// `None` for a path `ServeDir` refuses (`..`, a NUL, not UTF-8).
fn file_key(path: &str) -> Option<String> {
    let decoded = percent_decode_str(path).decode_utf8().ok()?;
    let mut key = String::with_capacity(decoded.len());
    for segment in decoded.split('/') {
        match segment {
            "" | "." => {}
            ".." => return None,
            _ if segment.contains(['\0', '\\']) => return None,
            _ => {
                key.push('/');
                key.extend(utf8_percent_encode(segment, PATH_ESCAPES));
            }
        }
    }
    if decoded.ends_with('/') {
        key.push_str("/index.html");
    }
    Some(key)
}

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
        counter
            .lock()
            .expect("never poisoned: no panics while held")
            .add(&path, len);
    }
    response
}

/// Files counted one by one (for the gauges).
pub fn files(counter: &SharedOriginBytes) -> usize {
    counter
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .paths
        .len()
}

/// `GET /origin-stats`.
pub async fn report(State(counter): State<SharedOriginBytes>) -> impl IntoResponse {
    let bytes = counter.lock().expect("never poisoned").clone();
    Json(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_of_one_file_have_one_key() {
        for alias in [
            "/a/b.js",
            "/./a/b.js",
            "//a//b.js",
            "/%61/b.js",
            "/a/./b.js",
        ] {
            assert_eq!(file_key(alias).as_deref(), Some("/a/b.js"), "{alias}");
        }
        assert_eq!(file_key("/").as_deref(), Some("/index.html"));
        assert_eq!(file_key("/d/").as_deref(), Some("/d/index.html"));
        assert_eq!(file_key("/a%20b.css").as_deref(), Some("/a%20b.css"));
        assert_eq!(file_key("/a b.css").as_deref(), Some("/a%20b.css"));
        for refused in ["/../etc/passwd", "/a/%2e%2e/b", "/%ff", "/a%00"] {
            assert_eq!(file_key(refused), None, "{refused}");
        }
    }

    #[test]
    fn paths_past_the_bound_count_in_the_totals_only() {
        let mut bytes = OriginBytes::default();
        for i in 0..MAX_PATHS + 10 {
            bytes.add(&format!("/f{i}"), 1);
        }
        bytes.add("/f0", 5);
        assert_eq!(bytes.paths.len(), MAX_PATHS);
        assert_eq!(bytes.paths["/f0"], 6, "a tracked file keeps counting");
        assert_eq!(bytes.untracked_bytes, 10);
        assert_eq!(bytes.total_bytes, MAX_PATHS as u64 + 15);
        assert_eq!(bytes.requests, MAX_PATHS as u64 + 11);
    }
}
