//! The HTTP side. The public listener serves the demo pages and sites (`www/`, with the bytes
//! sent per file counted), the wasm package at `/pkg/` and `GET /bootstrap`, readable from the
//! origins `--allow-origin` lets (any, by default). The admin listener (loopback by default, no CORS) serves `GET /metrics` and
//! `GET /origin-stats`: what operators and tests read, not what pages on other origins should.

use crate::advertised::Advertised;
use crate::metrics::SharedRegistry;
use crate::origin_bytes::{self, SharedOriginBytes};
use axum::{
    extract::State,
    http::{header, HeaderValue, Method, StatusCode},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use std::{path::Path, sync::Arc};
use tower_http::{
    cors::{AllowOrigin, CorsLayer},
    services::ServeDir,
    set_header::SetResponseHeaderLayer,
};

/// The public router: `www_dir` at `/` (bytes sent counted in `origin_bytes`), `pkg_dir` at
/// `/pkg/` (each file's `.br` or `.gz` copy sent instead where the request accepts it) and the
/// bootstrap document. A folder that does not exist (the compile-time default
/// of an installed binary points into the checkout it was built from) is logged once and its
/// paths answer 404; `/bootstrap` and libp2p work all the same.
pub fn router(
    advertised: Arc<Advertised>,
    origin_bytes: SharedOriginBytes,
    www_dir: &Path,
    pkg_dir: &Path,
    allow_origins: &[String],
) -> Router {
    // The site the server is the origin of: every page and asset under www/, bytes counted.
    let site = Folder::WWW
        .serve(www_dir)
        .layer(axum::middleware::from_fn_with_state(
            origin_bytes.clone(),
            origin_bytes::count,
        ));
    Router::new()
        .route("/bootstrap", get(bootstrap))
        .with_state(advertised)
        .nest_service("/pkg", Folder::PKG.serve(pkg_dir))
        .fallback_service(site)
        // Pages on other origins (sites adopting peerfetch) read /bootstrap and load /pkg/.
        .layer(cors(allow_origins))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

/// CORS for `allow_origins` (`--allow-origin`): any origin if one is `*`, else exactly those;
/// reading only (GET, HEAD). Only a list varies by `Origin`: a `Vary` on every response of the
/// `*` policy made the demo site load 7-13 % slower through the service worker (measured by the
/// server-down test of `tests/cdn.test.mjs`: 1.02x without it).
fn cors(allow_origins: &[String]) -> CorsLayer {
    let cors = CorsLayer::new().allow_methods([Method::GET, Method::HEAD]);
    if allow_origins.iter().any(|o| o == "*") {
        return cors.allow_origin(AllowOrigin::any()).vary([]);
    }
    cors.allow_origin(AllowOrigin::list(
        allow_origins
            .iter()
            .filter_map(|origin| HeaderValue::from_str(origin).ok()),
    ))
    .vary([header::ORIGIN])
}

/// A folder of files the public listener serves, described for when it is missing.
struct Folder {
    /// What it holds, as the log line and the 404 page name it.
    what: &'static str,
    /// Where it is served.
    route: &'static str,
    /// The flag and the variable that set it.
    flag: &'static str,
    env: &'static str,
    /// What it should point at.
    hint: &'static str,
    /// Whether files have compressed copies beside them (`FILE.br`, `FILE.gz`), sent with their
    /// `Content-Encoding` to requests that accept it.
    precompressed: bool,
}

impl Folder {
    const WWW: Self = Self {
        what: "demo pages",
        route: "/",
        flag: "--www-dir",
        env: "PEERFETCH_WWW_DIR",
        hint: "a copy of the repository's www/",
        precompressed: false,
    };
    const PKG: Self = Self {
        what: "wasm package",
        route: "/pkg/",
        flag: "--pkg-dir",
        env: "PEERFETCH_PKG_DIR",
        hint: "the output of scripts/build-wasm.sh (target/pkg)",
        // scripts/build-wasm.sh writes them: the wasm is 1.8 MB, 0.5 MB as brotli.
        precompressed: true,
    };

    /// A router serving `dir`; when `dir` is not a folder, one that answers 404 with a short
    /// text, after one log line saying what is off and how to turn it on.
    fn serve(&self, dir: &Path) -> Router {
        if dir.is_dir() {
            let files = ServeDir::new(dir);
            if !self.precompressed {
                return Router::new().fallback_service(files);
            }
            // The Content-Type is the plain file's (`application/wasm`, which
            // `WebAssembly.instantiateStreaming` requires); a file without a copy is sent plain.
            let files = files.precompressed_br().precompressed_gzip();
            return Router::new()
                .fallback_service(files)
                .layer(SetResponseHeaderLayer::appending(
                    header::VARY,
                    HeaderValue::from_static("accept-encoding"),
                ));
        }
        let problem = if dir.exists() {
            "is not a folder"
        } else {
            "does not exist"
        };
        tracing::warn!(
            "{} off: {} {} {problem}, so GET {} answers 404; set {} (or {}) to {}",
            self.what,
            self.flag,
            dir.display(),
            self.route,
            self.flag,
            self.env,
            self.hint,
        );
        let text = format!(
            "404: this peerfetch-server serves no {} (its {} is not set up); /bootstrap works\n",
            self.what, self.flag
        );
        Router::new().fallback(move || std::future::ready((StatusCode::NOT_FOUND, text.clone())))
    }
}

/// The admin router: the metrics in `registry` and the bytes counted in `origin_bytes`.
pub fn admin_router(registry: SharedRegistry, origin_bytes: SharedOriginBytes) -> Router {
    Router::new()
        .route(
            "/origin-stats",
            get(origin_bytes::report).with_state(origin_bytes),
        )
        .route("/metrics", get(metrics).with_state(registry))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

async fn bootstrap(State(advertised): State<Arc<Advertised>>) -> impl IntoResponse {
    Json(advertised.bootstrap())
}

/// `GET /metrics`: every metric in the OpenMetrics text format Prometheus scrapes.
async fn metrics(State(registry): State<SharedRegistry>) -> impl IntoResponse {
    let mut text = String::new();
    let encoded = prometheus_client::encoding::text::encode(
        &mut text,
        &registry
            .lock()
            .expect("never poisoned: no panics while held"),
    );
    match encoded {
        Ok(()) => (
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode metrics: {e}"),
        )
            .into_response(),
    }
}
