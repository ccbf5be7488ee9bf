//! A SCIM 2.0 server on hyper 1 and embedded SQLite. Everything but the glue between hyper
//! and [`App`] lives in `scim-example-support`; run with `--help` for the command line.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use scim_example_support::{App, Start, start};
use tokio::net::TcpListener;

/// Reads the body up to the limit (`None` past it) and answers through [`App`].
async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let body = if app.too_large(&parts) {
        None
    } else {
        Limited::new(body, app.max_body_bytes())
            .collect()
            .await
            .ok()
            .map(|c| c.to_bytes())
    };
    Ok(app.respond(parts, body).await.map(Full::new))
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[tokio::main]
async fn main() {
    let server = match start() {
        Start::Serve(s) => s,
        Start::Exit(code) => std::process::exit(code),
    };
    let listener = match TcpListener::bind(server.args.bind).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: binding {}: {e}", server.args.bind);
            std::process::exit(1);
        }
    };
    let tls = server.tls.map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
            () = &mut shutdown => break,
        };
        let app = server.app.clone();
        let service = hyper::service::service_fn(move |req| handle(app.clone(), req));
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => {
                        let conn = builder.serve_connection(TokioIo::new(s), service);
                        watcher.watch(conn.into_owned()).await
                    }
                    Err(e) => return tracing::debug!("TLS handshake: {e}"),
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    watcher.watch(conn.into_owned()).await
                }
            };
            if let Err(e) = result {
                tracing::debug!("connection: {e}");
            }
        });
    }
    tracing::info!("shutting down: finishing in-flight requests");
    graceful.shutdown().await;
    scim_example_support::logging::flush();
}
