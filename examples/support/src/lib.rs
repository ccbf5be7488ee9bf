//! What the example SCIM servers share, so that each server is only its framework's glue.
//!
//! - [`db`]: the SQLite database (one file, WAL, versioned migrations, one writer).
//! - [`pg`]: the PostgreSQL database, its `ResourceStore` and `TokenStore`, for several
//!   processes on one database; [`backend`] chooses by `--database` at run time.
//! - [`store::SqliteStore`]: scim-core's `ResourceStore` on it, filters compiled to SQL.
//! - [`tokens::SqliteTokenStore`]: scim-tokens' `TokenStore` in the same database.
//! - [`cli`]: the command line (`serve`, `integrations ...`) and the admin commands.
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

pub mod app;
pub mod backend;
pub mod cli;
pub mod db;
pub mod pg;
pub mod store;
pub mod tls;
pub mod tokens;

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
}

/// What `main` does next.
#[derive(Debug)]
pub enum Start {
    /// Serve.
    Serve(Server),
    /// Exit with this code (an admin command ran, or the command line was wrong).
    Exit(i32),
}

/// Parses the command line, sets up logging, opens the database; runs an admin command
/// (then [`Start::Exit`]) or prepares the server.
pub fn start() -> Start {
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
    match App::with_backend(db, &args) {
        Ok(app) => {
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
            })
        }
        Err(e) => fail(&e),
    }
}
