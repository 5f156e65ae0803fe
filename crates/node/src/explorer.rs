//! The block explorer: a small page served by the node at `/`, over the node's own JSON API.
//!
//! Its three files are compiled into the binary, so it needs no internet and no CDN. It lists
//! blocks (a block that failed the node's verification is marked with the rule it broke), shows a
//! block's header, its hash against its target and its records, checks each record's inclusion
//! proof in the browser, charts block time and difficulty over height (retargeting at work), lists
//! peers, and charts a file of real Bitcoin headers per retarget period. It polls `/status` every
//! two seconds, so it follows the chain live.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

const INDEX: &str = include_str!("explorer/index.html");
const APP: &str = include_str!("explorer/app.js");
const STYLE: &str = include_str!("explorer/style.css");

/// Returns the routes of the explorer page and its assets.
pub(crate) fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX) }),
        )
        .route(
            "/explorer/app.js",
            get(|| async { page("text/javascript; charset=utf-8", APP) }),
        )
        .route(
            "/explorer/style.css",
            get(|| async { page("text/css; charset=utf-8", STYLE) }),
        )
        // The consensus rules compiled to WebAssembly, and the ES module that loads them
        // (crates/wasm): the page checks headers, proofs and work itself with them.
        .route(
            "/explorer/ironchain.js",
            get(|| async { page("text/javascript; charset=utf-8", ironchain_wasm::GLUE) }),
        )
        .route(
            "/explorer/ironchain.wasm",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "application/wasm"),
                        (header::CACHE_CONTROL, "no-cache"),
                    ],
                    ironchain_wasm::MODULE,
                )
            }),
        )
}

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}
