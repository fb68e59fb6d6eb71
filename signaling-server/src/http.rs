//! The HTTP side: the demo pages, the wasm package at `/pkg/`, and `GET /bootstrap`.

use crate::advertised::Advertised;
use axum::{
    extract::State,
    http::{header, HeaderValue},
    response::IntoResponse,
    routing::get,
    Json, Router,
};
use std::{path::Path, sync::Arc};
use tower_http::{services::ServeDir, set_header::SetResponseHeaderLayer};

/// The router serving `www_dir` at `/`, `pkg_dir` at `/pkg/` and the bootstrap document.
pub fn router(advertised: Arc<Advertised>, www_dir: &Path, pkg_dir: &Path) -> Router {
    Router::new()
        .route("/bootstrap", get(bootstrap))
        .with_state(advertised)
        .nest_service("/pkg", ServeDir::new(pkg_dir))
        .fallback_service(ServeDir::new(www_dir))
        // Pages on other origins (sites adopting peerfetch) read /bootstrap and load /pkg/.
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

async fn bootstrap(State(advertised): State<Arc<Advertised>>) -> impl IntoResponse {
    Json(advertised.bootstrap())
}
