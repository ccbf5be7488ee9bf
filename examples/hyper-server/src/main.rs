//! A SCIM 2.0 server on hyper 1 and embedded SQLite. Everything but the glue between hyper
//! and [`App`] lives in `scim-example-support`; run with `--help` for the command line.

#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use scim_example_support::admin::Admin;
use scim_example_support::net::{shutdown_signal, worker_runtimes};
use scim_example_support::{App, Start, start};
use tokio::net::{TcpListener, TcpStream};

/// What a listener serves: the SCIM API, or the admin page on `--admin-bind`.
#[derive(Clone)]
enum Site {
    Scim(Arc<App>),
    Admin(Arc<Admin>),
}

/// Reads the body up to the limit (`None` past it) within `timeout` (408 after it) and
/// answers through [`App`] or [`Admin`].
async fn handle(
    site: Site,
    timeout: Duration,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let (too_large, limit) = match &site {
        Site::Scim(app) => (app.too_large(&parts), app.max_body_bytes()),
        Site::Admin(admin) => (admin.too_large(&parts), admin.max_body_bytes()),
    };
    let body = if too_large {
        None
    } else {
        match tokio::time::timeout(timeout, Limited::new(body, limit).collect()).await {
            Ok(collected) => collected.ok().map(|c| c.to_bytes()),
            Err(_) => {
                return Ok(match site {
                    Site::Scim(app) => app.timed_out(&parts),
                    Site::Admin(admin) => admin.timed_out(),
                }
                .map(Full::new));
            }
        }
    };
    Ok(match site {
        Site::Scim(app) => app.respond(parts, body).await,
        Site::Admin(admin) => admin.respond(&parts, body),
    }
    .map(Full::new))
}

/// Accepts on the admin listener; never resolves without one.
async fn accept_admin(
    admin: &Option<(TcpListener, Arc<Admin>)>,
) -> std::io::Result<(TcpStream, Site)> {
    match admin {
        Some((l, a)) => l.accept().await.map(|(s, _)| (s, Site::Admin(a.clone()))),
        None => std::future::pending().await,
    }
}

// Accepts on one thread; each connection then runs on one of the per-core runtimes.
#[tokio::main(flavor = "current_thread")]
async fn main() -> std::io::Result<()> {
    let server = match start() {
        Start::Serve(s) => s,
        Start::Exit(code) => std::process::exit(code),
    };
    let listeners = server.bind();
    let listener = TcpListener::from_std(listeners.scim)?;
    let admin = match (listeners.admin, server.admin) {
        (Some(l), Some(a)) => Some((TcpListener::from_std(l)?, a)),
        _ => None,
    };
    let tls = server.tls.map(tokio_rustls::TlsAcceptor::from);
    // A client gets `--request-timeout` for its headers (hyper closes the connection after
    // it) and as much again for its body (408).
    let timeout = server.args.request_timeout;
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout);
    builder.http2().timer(TokioTimer::new());
    let workers = worker_runtimes()?;
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    for n in 0.. {
        let (stream, site) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => (s, Site::Scim(server.app.clone())),
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
            accepted = accept_admin(&admin) => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!("accept (admin): {e}"); continue; }
            },
            () = &mut shutdown => break,
        };
        let service = hyper::service::service_fn(move |req| handle(site.clone(), timeout, req));
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let builder = builder.clone();
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        workers[n % workers.len()].spawn(async move {
            let Ok(stream) = TcpStream::from_std(stream) else {
                return;
            };
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
    Ok(())
}
