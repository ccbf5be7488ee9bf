//! A SCIM 2.0 server on axum 0.8 and embedded SQLite. Everything but the glue between axum
//! and [`App`](scim_example_support::App) lives in `scim-example-support`; run with `--help`
//! for the command line.
//!
//! The SCIM API is one `Router` whose fallback hands every request to the example's
//! [`Site`]; in a service of your own, mount it under the API's path with
//! `Router::nest_service` beside your other routes. axum and the SCIM service share `http`
//! 1, so requests and responses pass through unconverted. Connections are served by
//! [`serve::run`] (hyper-util's server with a header-read timeout, TLS and a graceful stop),
//! not `axum::serve`, which has no timeouts.

#![forbid(unsafe_code)]

use axum::body::Body;
use axum::extract::Request;
use hyper_util::service::TowerToHyperService;
use scim_example_support::serve::{self, Site};
use scim_example_support::{Start, start};

// mimalloc: 8 to 10% less CPU per request than the C library's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The axum app of one listener: every path answered by `site`.
fn router(site: Site) -> axum::Router {
    axum::Router::new()
        .fallback(move |req: Request| async move { site.answer(req).await.map(Body::from) })
}

// Accepts on this thread; the connections run on the per-core runtimes of `serve::run`.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = match start() {
        Start::Serve(s) => s,
        Start::Exit(code) => std::process::exit(code),
    };
    serve::run(server, |site| TowerToHyperService::new(router(site))).await;
}
