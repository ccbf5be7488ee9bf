//! A SCIM 2.0 server on hyper 1 and embedded SQLite. Everything but the glue between hyper
//! and [`App`](scim_example_support::App) lives in `scim-example-support`; run with `--help`
//! for the command line.
//!
//! The glue is one hyper service per connection: a `service_fn` that hands each request to
//! the listener's [`Site`] (the SCIM API, or the admin page on `--admin-bind`), which reads
//! the body within the limits and answers. [`serve::run`] accepts the connections (hyper-util's
//! server: HTTP/1.1 and HTTP/2, a header-read timeout, TLS with tokio-rustls, a graceful stop
//! on Ctrl-C or SIGTERM that finishes in-flight requests).

#![forbid(unsafe_code)]

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use scim_example_support::serve::{self, Site};
use scim_example_support::{Start, start};

// mimalloc: 8 to 10% less CPU per request than the C library's allocator (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

// Accepts on this thread; the connections run on the per-core runtimes of `serve::run`.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let server = match start() {
        Start::Serve(s) => s,
        Start::Exit(code) => std::process::exit(code),
    };
    serve::run(server, |site: Site| {
        service_fn(move |req| {
            let site = site.clone();
            async move { Ok::<_, Infallible>(site.answer(req).await.map(Full::<Bytes>::new)) }
        })
    })
    .await;
}
