//! What every server does around its framework: binding the SCIM and admin listeners and
//! waiting for Ctrl-C or SIGTERM.

use std::net::{SocketAddr, TcpListener};

use crate::Server;

/// The listeners of a [`Server`], bound and non-blocking (ready for tokio's `from_std` or
/// actix-web's `listen`).
#[derive(Debug)]
pub struct Listeners {
    /// The SCIM API on `--bind`.
    pub scim: TcpListener,
    /// The admin page on `--admin-bind`; `None` without an admin page or when binding it
    /// failed (logged: the SCIM API is served without it).
    pub admin: Option<TcpListener>,
}

fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let listener = TcpListener::bind(addr)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

impl Server {
    /// Binds the SCIM listener (an error is printed and the process exits with 1) and the
    /// admin page's when there is one (an error is logged, never fatal).
    pub fn bind(&self) -> Listeners {
        let scim = match bind(self.args.bind) {
            Ok(l) => l,
            Err(e) => {
                eprintln!("error: binding {}: {e}", self.args.bind);
                crate::logging::flush();
                std::process::exit(1);
            }
        };
        let admin_bind = self.args.admin_bind;
        let admin = self.admin.as_ref().and_then(|_| match bind(admin_bind) {
            Ok(l) => {
                let addr = l.local_addr().unwrap_or(admin_bind);
                tracing::info!(admin_bind = %addr, "serving the admin page at /admin");
                Some(l)
            }
            Err(e) => {
                tracing::error!("admin page not served: binding {admin_bind}: {e}");
                None
            }
        });
        Listeners { scim, admin }
    }
}

/// Starts one single-threaded tokio runtime per core (at least one), each driving its own
/// thread, and returns their handles. A server that hands each accepted connection to one
/// of them (round robin) keeps a connection's work on one thread: no work stealing, no
/// wake-ups of another worker per request. A read on these threads may keep its read
/// transaction open until the thread goes idle (see `held`). The threads end with the
/// process.
///
/// # Errors
///
/// When a thread or a runtime cannot be created.
pub fn worker_runtimes() -> std::io::Result<Vec<tokio::runtime::Handle>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (0..cores)
        .map(|i| {
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name(format!("scim-worker-{i}"))
                .spawn(move || {
                    // Reads here keep their read transaction open while the thread is
                    // busy (`held`), ended whenever the runtime goes idle.
                    crate::held::enable_on_this_thread();
                    match tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .on_thread_park(|| {
                            crate::held::release();
                            if let Some(t) = crate::trace::now() {
                                crate::trace::event("k", t, false, format_args!(""));
                            }
                        })
                        .build()
                    {
                        Ok(rt) => {
                            let _ = tx.send(Ok(rt.handle().clone()));
                            rt.block_on(std::future::pending::<()>());
                        }
                        Err(e) => drop(tx.send(Err(e))),
                    }
                })?;
            rx.recv().map_err(std::io::Error::other)?
        })
        .collect()
}

/// Offers this thread's core to another thread waiting for it, after each answered request.
///
/// A worker thread with requests queued on its connections runs until it has none left,
/// and the kernel lets another thread that shares its core (a second worker, a load
/// generator, the checkpoint thread) in only at a scheduler tick: every 4 ms on a kernel
/// built with 250 Hz. When there are more busy threads than cores, a worker that lost its
/// core that way kept all its connections waiting for one or two ticks (`perf sched` under
/// wrk on 2 cores: a worker waiting 7.8 ms for its core while the other ran its requests).
/// Yielding after each request bounds that wait to one request. With a core to itself (no
/// other thread runnable there) the call returns at once; it costs a system call per
/// request (under wrk on 2 cores, PATCH p99 4.0 instead of 4.8 ms at 3% fewer requests a
/// second; GET p99 1.4 to 1.8 instead of 2.6 to 3.0 ms).
pub(crate) fn fair_share() {
    std::thread::yield_now();
}

/// Resolves on Ctrl-C or (on Unix) SIGTERM; never when neither can be listened for.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_non_blocking() {
        let l = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        // A non-blocking listener with nobody connecting answers WouldBlock at once.
        let e = l.accept().unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    }

    #[test]
    fn worker_runtimes_run_tasks_on_their_own_threads() {
        let workers = worker_runtimes().unwrap();
        assert!(!workers.is_empty());
        let main = std::thread::current().id();
        for w in &workers {
            let (tx, rx) = std::sync::mpsc::channel();
            w.spawn(async move { tx.send(std::thread::current().id()).unwrap() });
            let ran_on = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
            assert_ne!(ran_on, main);
        }
    }

    #[test]
    fn a_taken_address_fails_to_bind() {
        let l = bind("127.0.0.1:0".parse().unwrap()).unwrap();
        assert!(bind(l.local_addr().unwrap()).is_err());
    }
}
