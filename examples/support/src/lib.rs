//! What the example SCIM servers share, so that each server is only its framework's glue.
//!
//! - [`db`]: the SQLite database (one file, WAL, versioned migrations, one writer).
//! - [`pg`]: the PostgreSQL database, its `ResourceStore` and `TokenStore`, for several
//!   processes on one database; [`backend`] chooses by `--database` at run time.
//! - [`store::SqliteStore`]: scim-core's `ResourceStore` on it, filters compiled to SQL.
//! - [`tokens::SqliteTokenStore`]: scim-tokens' `TokenStore` in the same database.
//! - [`cli`]: the command line (`serve`, `integrations ...`) and the admin commands.
//! - [`admin::Admin`]: the integrations admin page under `/admin` (`--admin-bind`).
//! - [`logging`]: the log's writer thread, so a slow standard error never stalls a request.
//! - [`net`]: binding the listeners ([`Server::bind`]), waiting for Ctrl-C or SIGTERM.
//! - [`serve`]: the listeners, TLS, timeouts and graceful stop of the examples on hyper 1
//!   (hyper, axum).
//! - [`trace`]: an optional timing trace of requests, group commits and checkpoints.
//! - [`app::App`]: authentication, the request log line, the body limit, the first-start
//!   bootstrap; [`start`] ties it together for a `main`.
//!
//! ```no_run
//! match scim_example_support::start() {
//!     scim_example_support::Start::Serve(server) => { /* bind server.args.bind, serve server.app */ }
//!     scim_example_support::Start::Exit(code) => std::process::exit(code),
//! }
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

pub mod admin;
pub mod app;
pub mod backend;
pub mod cli;
pub mod db;
mod held;
pub mod logging;
pub mod net;
pub mod pg;
pub mod serve;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod trace;

use std::sync::Arc;

use clap::Parser as _;

pub use app::App;
pub use cli::{Cli, Command, ServeArgs};

/// A server ready to bind.
#[derive(Debug)]
pub struct Server {
    /// What it serves.
    pub app: Arc<App>,
    /// Its options (`bind`, ...).
    pub args: ServeArgs,
    /// The TLS configuration when `--tls-cert` and `--tls-key` were given.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The admin page, to serve on `args.admin_bind` (with `tls` when given); `None` when
    /// it could not be set up (logged).
    pub admin: Option<Arc<admin::Admin>>,
}

/// What `main` does next.
#[derive(Debug)]
// Made once per process and matched at once: boxing `Server` would buy nothing.
#[allow(clippy::large_enum_variant)]
pub enum Start {
    /// Serve.
    Serve(Server),
    /// Exit with this code (an admin command ran, or the command line was wrong).
    Exit(i32),
}

/// Parses the command line, sets up logging, opens the database; runs an admin command
/// (then [`Start::Exit`], with the log written out) or prepares the server (which calls
/// [`logging::flush`] before it exits).
pub fn start() -> Start {
    let start = start_or_exit();
    if matches!(start, Start::Exit(_)) {
        logging::flush();
    }
    start
}

fn start_or_exit() -> Start {
    let cli = Cli::parse();
    app::init_logging();
    let fail = |what: &dyn std::fmt::Display| {
        eprintln!("error: {what}");
        Start::Exit(1)
    };
    let db = match backend::Backend::open(&cli.database, cli.synchronous) {
        Ok(db) => db,
        Err(e) => return fail(&e),
    };
    let args = match cli.command {
        Some(Command::Integrations(i)) => {
            return match cli::run_integrations(db, &i) {
                Ok(()) => Start::Exit(0),
                Err(e) => fail(&e),
            };
        }
        Some(Command::Serve(s)) => s,
        None => cli.serve,
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => match tls::server_config(c, k) {
            Ok(t) => Some(t),
            Err(e) => return fail(&e),
        },
        _ => None,
    };
    let database = match &db {
        backend::Backend::Sqlite(_) => cli.database.display().to_string(),
        backend::Backend::Postgres(_) => "postgres".to_owned(),
    };
    let admin_db = match &db {
        backend::Backend::Sqlite(d) => Some(d.clone()),
        backend::Backend::Postgres(_) => {
            tracing::warn!("admin page not served: it keeps its password in the SQLite database");
            None
        }
    };
    match App::with_backend(db, &args) {
        Ok(app) => {
            let admin = admin_db
                .and_then(|d| open_admin(d, &args, tls.is_some()))
                .map(Arc::new);
            tracing::info!(
                bind = %args.bind,
                base_url = %args.base_url,
                database = %database,
                tls = tls.is_some(),
                "serving SCIM"
            );
            Start::Serve(Server {
                app: Arc::new(app),
                args,
                tls,
                admin,
            })
        }
        Err(e) => fail(&e),
    }
}

/// Sets up the admin page; prints a generated password once. Any failure is logged and
/// leaves the SCIM API served without the page.
fn open_admin(db: Arc<db::Database>, args: &ServeArgs, tls: bool) -> Option<admin::Admin> {
    let addr = args.admin_bind;
    if !tls && !addr.ip().is_loopback() && !args.insecure_http {
        tracing::error!(
            admin_bind = %addr,
            "admin page not served: refusing plain HTTP on a non-loopback address \
             (give --tls-cert and --tls-key, or --insecure-http)"
        );
        return None;
    }
    let tenant = scim_tokens::TenantId::new("default").ok()?;
    let mut settings = admin::AdminSettings::new(args.base_url.clone(), tenant);
    settings.tls = tls;
    let password = std::env::var(admin::PASSWORD_ENV).ok();
    match admin::Admin::open(db, settings, password.as_deref()) {
        Ok((admin, generated)) => {
            if let Some(p) = generated {
                let scheme = if tls { "https" } else { "http" };
                eprintln!(
                    "\nThe admin page ({scheme}://{addr}/admin) has a generated password. \
                     Copy it now: it will not be shown again.\n\n\
                     \x20   Admin password: {}\n\n\
                     To choose your own, start with {}=... (at least {} characters).\n",
                    p.expose(),
                    admin::PASSWORD_ENV,
                    admin::MIN_PASSWORD_LEN,
                );
            }
            Some(admin)
        }
        Err(e) => {
            tracing::error!("admin page not served: {e}");
            None
        }
    }
}
