//! The command line both servers share, and the integration admin commands.
//!
//! ```text
//! BIN [serve] [--bind ADDR] [--database PATH] [--base-url URL]
//!             [--tls-cert PEM --tls-key PEM] [--insecure-http] [--synchronous normal|full]
//! BIN integrations create NAME            [--tenant T] [--database PATH]
//! BIN integrations list                   [--tenant T] [--database PATH]
//! BIN integrations rename OLD NEW         [--tenant T] [--database PATH]
//! BIN integrations rotate NAME [--grace DURATION] [--tenant T] [--database PATH]
//! BIN integrations delete NAME            [--tenant T] [--database PATH]
//! ```
//!
//! `create` and `rotate` write the token as the only line on standard output; everything
//! else (hints, logs) goes to standard error.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use scim_tokens::{Integration, TenantId, TokenOptions, TokenService, name_key};

use crate::backend::{AnyTokenStore, Backend};
use crate::db::Durability;

/// The command line of an example server.
#[derive(Debug, Parser)]
#[command(version, about = "A SCIM 2.0 server on SQLite")]
pub struct Cli {
    /// The SQLite database file (created if missing), or a PostgreSQL database URL
    /// (`postgres://user@host:port/dbname`), for several server processes on one database.
    #[arg(long, global = true, default_value = "./scim.db")]
    pub database: PathBuf,
    /// How hard commits are pushed to disk: `normal` survives a process crash, `full` a
    /// power loss too.
    #[arg(long, global = true, value_enum, default_value_t = Durability::Normal)]
    pub synchronous: Durability,
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The options of `serve` when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the SCIM API (the default).
    Serve(ServeArgs),
    /// Manage integrations (identity-provider connections) and their tokens.
    Integrations(IntegrationsArgs),
}

/// The options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    /// The public URL of the SCIM API: printed, used in `Location` and `meta.location`;
    /// the API is served under its path.
    #[arg(long, default_value = "http://127.0.0.1:8080/scim/v2")]
    pub base_url: String,
    /// A PEM certificate chain: serve HTTPS (with `--tls-key`).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP on an address that is not loopback (behind a TLS-terminating proxy).
    #[arg(long)]
    pub insecure_http: bool,
}

/// `integrations` and its tenant.
#[derive(Debug, Args)]
pub struct IntegrationsArgs {
    /// The tenant whose integrations to manage.
    #[arg(long, global = true, default_value = "default")]
    pub tenant: String,
    /// The action.
    #[command(subcommand)]
    pub action: Action,
}

/// An integration admin action.
#[derive(Debug, Subcommand)]
pub enum Action {
    /// Create an integration; print its token (the only line on stdout).
    Create {
        /// Its name, unique in the tenant.
        name: String,
    },
    /// List the integrations of the tenant.
    List,
    /// Rename an integration; its token stays valid.
    Rename {
        /// The current name.
        old: String,
        /// The new name.
        new: String,
    },
    /// Issue a new token (printed, the only line on stdout); the old one stops working,
    /// after the grace period if one is given.
    Rotate {
        /// The integration.
        name: String,
        /// How long the old token keeps working: `90s`, `15m`, `24h`, `7d`.
        #[arg(long, value_parser = parse_duration)]
        grace: Option<Duration>,
    },
    /// Delete an integration: its tokens stop working at once.
    Delete {
        /// The integration.
        name: String,
    },
}

/// Parses `90s`, `15m`, `24h`, `7d` (or bare seconds).
///
/// # Errors
///
/// A message naming the accepted forms.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (digits, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a duration such as 90s, 15m, 24h or 7d"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{s}`: the unit must be s, m, h or d")),
    };
    n.checked_mul(unit)
        .map(Duration::from_secs)
        .ok_or_else(|| format!("`{s}` is too long"))
}

/// The token service over a database.
pub type Tokens = TokenService<AnyTokenStore>;

/// Opens the token service on `db`.
pub fn token_service(db: impl Into<Backend>) -> Tokens {
    TokenService::new(db.into().token_store(), scim_tokens::Settings::new())
}

fn find(tokens: &Tokens, tenant: &TenantId, name: &str) -> Result<Integration, String> {
    let key = name_key(name);
    tokens
        .list(tenant)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|i| name_key(i.name()) == key)
        .ok_or_else(|| {
            format!(
                "no integration named `{}` in tenant `{tenant}`",
                name.trim()
            )
        })
}

fn print_token(token: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{token}")
        .and_then(|()| out.flush())
        .map_err(|e| e.to_string())
}

/// Runs an `integrations` action against the database at `path`.
///
/// # Errors
///
/// A message for standard error.
pub fn run_integrations(db: impl Into<Backend>, args: &IntegrationsArgs) -> Result<(), String> {
    let tenant = TenantId::new(&args.tenant).map_err(|e| format!("--tenant: {e}"))?;
    let tokens = token_service(db);
    match &args.action {
        Action::Create { name } => {
            let issued = tokens
                .create(&tenant, name, TokenOptions::new())
                .map_err(|e| e.to_string())?;
            print_token(issued.token().expose_secret())?;
            eprintln!(
                "created integration `{}` in tenant `{tenant}`: the token above is shown once",
                issued.integration().name()
            );
        }
        Action::List => {
            let mut out = std::io::stdout().lock();
            let list = tokens.list(&tenant).map_err(|e| e.to_string())?;
            let w = list
                .iter()
                .map(|i| i.name().chars().count())
                .max()
                .unwrap_or(4)
                .max(4);
            let fmt_ts = |t: scim_tokens::Timestamp| {
                jiff::Timestamp::try_from(t.to_system_time())
                    .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
                    .unwrap_or_default()
            };
            let mut text = format!(
                "{:<w$}  {:<16}  {:<20}  LAST USED\n",
                "NAME", "ID", "CREATED"
            );
            for i in &list {
                text.push_str(&format!(
                    "{:<w$}  {:<16}  {:<20}  {}\n",
                    i.name(),
                    i.id().to_string(),
                    fmt_ts(i.created_at()),
                    i.last_used_at()
                        .map(fmt_ts)
                        .unwrap_or_else(|| "never".into()),
                ));
            }
            out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        Action::Rename { old, new } => {
            let i = find(&tokens, &tenant, old)?;
            let r = tokens
                .rename(&tenant, i.id(), new)
                .map_err(|e| e.to_string())?;
            eprintln!("renamed `{}` to `{}`", i.name(), r.name());
        }
        Action::Rotate { name, grace } => {
            let i = find(&tokens, &tenant, name)?;
            let mut options = TokenOptions::new();
            if let Some(g) = grace {
                options = options.grace(*g);
            }
            let issued = tokens
                .rotate(&tenant, i.id(), options)
                .map_err(|e| e.to_string())?;
            print_token(issued.token().expose_secret())?;
            match grace {
                Some(g) => eprintln!(
                    "rotated `{}`: the previous token keeps working for {}s",
                    i.name(),
                    g.as_secs()
                ),
                None => eprintln!("rotated `{}`: the previous token no longer works", i.name()),
            }
        }
        Action::Delete { name } => {
            let i = find(&tokens, &tenant, name)?;
            tokens.delete(&tenant, i.id()).map_err(|e| e.to_string())?;
            eprintln!("deleted `{}`: its tokens no longer work", i.name());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }

    #[test]
    fn command_line_shapes() {
        Cli::command().debug_assert();
        let c = Cli::try_parse_from(["bin"]).expect("default");
        assert!(c.command.is_none());
        assert_eq!(c.serve.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.database, PathBuf::from("./scim.db"));
        let c = Cli::try_parse_from([
            "bin",
            "integrations",
            "create",
            "okta",
            "--database",
            "x.db",
        ])
        .expect("create");
        assert_eq!(c.database, PathBuf::from("x.db"));
        let Some(Command::Integrations(i)) = c.command else {
            panic!("integrations")
        };
        assert_eq!(i.tenant, "default");
        assert!(matches!(i.action, Action::Create { ref name } if name == "okta"));
        let c = Cli::try_parse_from([
            "bin",
            "--database",
            "y.db",
            "integrations",
            "--tenant",
            "t2",
            "rotate",
            "okta",
            "--grace",
            "1h",
        ])
        .expect("rotate");
        assert_eq!(c.database, PathBuf::from("y.db"));
        let Some(Command::Integrations(i)) = c.command else {
            panic!("integrations")
        };
        assert_eq!(i.tenant, "t2");
        assert!(
            matches!(i.action, Action::Rotate { grace: Some(g), .. } if g == Duration::from_secs(3600))
        );
        let c = Cli::try_parse_from([
            "bin",
            "serve",
            "--bind",
            "127.0.0.1:9",
            "--database",
            "z.db",
            "--base-url",
            "http://h/scim",
        ])
        .expect("serve");
        let Some(Command::Serve(s)) = c.command else {
            panic!("serve")
        };
        assert_eq!(s.base_url, "http://h/scim");
        assert!(Cli::try_parse_from(["bin", "serve", "--tls-cert", "c.pem"]).is_err());
    }
}
