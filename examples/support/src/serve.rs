//! What the examples built on hyper 1 share below their framework: the listeners (the SCIM
//! API on `--bind`, the admin page on `--admin-bind`), TLS, the request timeout and a
//! graceful stop on Ctrl-C or SIGTERM ([`run`]); and [`Site::answer`], which reads a body
//! of any [`Body`] type within the limits and answers through [`App`] or [`Admin`].
//!
//! The hyper example hands [`run`] a `service_fn`, the axum example a `Router` (through
//! hyper-util's tower adapter): each `main` is only its framework's glue. `axum::serve` is
//! not used because it has no header-read timeout (a client that never finishes its
//! headers would hold a connection forever) and no TLS.

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body, Incoming};
use hyper::service::Service;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};

use crate::admin::Admin;
use crate::net::{shutdown_signal, worker_runtimes};
use crate::{App, Server};

type BoxError = Box<dyn StdError + Send + Sync>;

/// What a listener serves: the SCIM API or the admin page, with the time a client gets to
/// send its body (`--request-timeout`).
#[derive(Clone, Debug)]
pub struct Site {
    target: Target,
    timeout: Duration,
    /// The connection's number (for the timing trace).
    conn: u64,
}

#[derive(Clone, Debug)]
enum Target {
    Scim(Arc<App>),
    Admin(Arc<Admin>),
}

impl Site {
    /// Reads the body of `req` up to the site's limit (413 past it) within the request
    /// timeout (408 after it) and answers through [`App`] or [`Admin`].
    pub async fn answer<B>(&self, req: Request<B>) -> Response<Bytes>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let traced = crate::trace::now();
        let answer = self.answer_untraced(req).await;
        if let Some(t0) = traced {
            crate::trace::event("r", t0, true, format_args!("{}", self.conn));
        }
        answer
    }

    async fn answer_untraced<B>(&self, req: Request<B>) -> Response<Bytes>
    where
        B: Body,
        B::Error: Into<BoxError>,
    {
        let (parts, body) = req.into_parts();
        let (too_large, limit) = match &self.target {
            Target::Scim(app) => (app.too_large(&parts), app.max_body_bytes()),
            Target::Admin(admin) => (admin.too_large(&parts), admin.max_body_bytes()),
        };
        let body = if too_large {
            None
        } else {
            let read = Limited::new(body, limit).collect();
            match tokio::time::timeout(self.timeout, read).await {
                Ok(collected) => collected.ok().map(|c| c.to_bytes()),
                Err(_) => {
                    return match &self.target {
                        Target::Scim(app) => app.timed_out(&parts),
                        Target::Admin(admin) => admin.timed_out(),
                    };
                }
            }
        };
        match &self.target {
            Target::Scim(app) => app.respond(parts, body).await,
            Target::Admin(admin) => admin.respond(&parts, body),
        }
    }
}

/// Binds `--bind` (exiting with a message when it cannot) and `--admin-bind` (a failure
/// there is logged, never fatal) with [`Server::bind`], then serves every connection with
/// the service `make` builds for its [`Site`], over TLS when `--tls-cert`/`--tls-key` were
/// given, until Ctrl-C or SIGTERM; in-flight requests finish before it returns.
///
/// The caller's runtime only accepts (a current-thread runtime is enough): each connection
/// is handed to one of the per-core runtimes of [`worker_runtimes`], round robin, and stays
/// on its thread, so no request wakes another worker.
///
/// A client gets `--request-timeout` for its headers (the connection is closed after it)
/// and as much again for its body (408).
pub async fn run<M, S, B>(server: Server, make: M)
where
    M: Fn(Site) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let listeners = server.bind();
    let timeout = server.args.request_timeout;
    let (listener, workers) = match (TcpListener::from_std(listeners.scim), worker_runtimes()) {
        (Ok(l), Ok(w)) => (l, w),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("error: serving on {}: {e}", server.args.bind);
            crate::logging::flush();
            std::process::exit(1);
        }
    };
    let admin = match (listeners.admin.map(TcpListener::from_std), server.admin) {
        (Some(Ok(l)), Some(a)) => Some((
            l,
            Site {
                target: Target::Admin(a),
                timeout,
                conn: 0,
            },
        )),
        (Some(Err(e)), _) => {
            tracing::error!("admin page not served: {e}");
            None
        }
        _ => None,
    };
    let scim = Site {
        target: Target::Scim(server.app),
        timeout,
        conn: 0,
    };
    let tls = server.tls.map(tokio_rustls::TlsAcceptor::from);
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown_signal());
    for n in 0.. {
        let (stream, site) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => (s, scim.clone()),
                Err(e) => { tracing::warn!("accept: {e}"); continue; }
            },
            accepted = accept_admin(&admin) => match accepted {
                Ok(a) => a,
                Err(e) => { tracing::warn!("accept (admin): {e}"); continue; }
            },
            () = &mut shutdown => break,
        };
        let service = make(Site {
            conn: n as u64,
            ..site
        });
        let watcher = graceful.watcher();
        let (tls, builder) = (tls.clone(), builder.clone());
        // The connection runs on one of the per-core runtimes, round robin.
        let Ok(stream) = stream.into_std() else {
            continue;
        };
        workers[n % workers.len()].spawn(async move {
            let Ok(stream) = TcpStream::from_std(stream) else {
                return;
            };
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(timeout, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => {
                            let conn = builder.serve_connection(TokioIo::new(s), service);
                            watcher.watch(conn.into_owned()).await
                        }
                        Ok(Err(e)) => return tracing::debug!("TLS handshake: {e}"),
                        Err(_) => return tracing::debug!("TLS handshake: timed out"),
                    }
                }
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
    crate::logging::flush();
}

/// Accepts on the admin listener; never resolves without one.
async fn accept_admin(admin: &Option<(TcpListener, Site)>) -> std::io::Result<(TcpStream, Site)> {
    match admin {
        Some((l, site)) => l.accept().await.map(|(s, _)| (s, site.clone())),
        None => std::future::pending().await,
    }
}
