//! The command line both servers share, and the integration admin commands.
//!
//! ```text
//! BIN [serve] [--bind ADDR] [--database PATH] [--base-url URL]
//!             [--tls-cert PEM --tls-key PEM] [--insecure-http] [--synchronous normal|full]
//!             [--admin-bind ADDR]
//!             [--max-body-bytes N] [--max-json-depth N] [--max-results N]
//!             [--max-patch-operations N] [--max-filter-length N] [--max-filter-depth N]
//!             [--max-filter-comparisons N] [--bulk-max-operations N]
//!             [--bulk-max-payload-size N] [--request-timeout DURATION]
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
    /// The address of the admin page (`/admin`, password from `SCIM_ADMIN_PASSWORD` or
    /// printed at the first start). If it cannot be bound, the SCIM API is served anyway.
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub admin_bind: SocketAddr,
    /// How long a client may take to send a request's headers, and then its body, before
    /// the server gives up on it (closes the connection, or answers 408): `30s`, `2m`.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub request_timeout: Duration,
    /// The limits applied to requests.
    #[command(flatten)]
    pub limits: Limits,
}

/// The limits a server applies to requests (`serve` options). Those RFC 7643 has a field
/// for are advertised in `/ServiceProviderConfig`.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// The largest request body, in bytes (413 above); `/Bulk` has its own limit.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_body_bytes: usize,
    /// The deepest nesting of arrays and objects in a body.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_json_depth: usize,
    /// The most results of one page, and the page size without `count`
    /// (`filter.maxResults`; at least 100).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_results: u64,
    /// The most operations of one PATCH.
    #[arg(long, default_value_t = scim_core::patch::DEFAULT_MAX_OPERATIONS, value_name = "N")]
    pub max_patch_operations: usize,
    /// The longest filter, in bytes.
    #[arg(long, default_value_t = scim_filter::DEFAULT_MAX_LEN, value_name = "BYTES")]
    pub max_filter_length: usize,
    /// The deepest nesting of a filter (parentheses, `not`, value paths).
    #[arg(long, default_value_t = scim_filter::DEFAULT_MAX_DEPTH, value_name = "N")]
    pub max_filter_depth: usize,
    /// The most comparisons of one filter.
    #[arg(long, default_value_t = scim_filter::DEFAULT_MAX_COMPARISONS, value_name = "N")]
    pub max_filter_comparisons: usize,
    /// The most operations of one `/Bulk` request (`bulk.maxOperations`; 0 turns `/Bulk`
    /// off).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub bulk_max_operations: u64,
    /// The largest `/Bulk` request body, in bytes (`bulk.maxPayloadSize`).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub bulk_max_payload_size: u64,
}

impl Limits {
    /// `settings` with these limits.
    pub fn apply(
        &self,
        settings: scim_core::service::ServiceSettings,
    ) -> scim_core::service::ServiceSettings {
        settings
            .max_body_bytes(self.max_body_bytes)
            .max_json_depth(self.max_json_depth)
            .max_results(self.max_results)
            .max_patch_operations(self.max_patch_operations)
            .filter_limits(
                self.max_filter_length,
                self.max_filter_depth,
                self.max_filter_comparisons,
            )
            .bulk(self.bulk_max_operations, self.bulk_max_payload_size)
    }
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

/// A token timestamp as RFC 3339 UTC, to the second (`2026-01-02T03:04:05Z`).
pub fn format_timestamp(t: scim_tokens::Timestamp) -> String {
    jiff::Timestamp::try_from(t.to_system_time())
        .map(|t| t.round(jiff::Unit::Second).unwrap_or(t).to_string())
        .unwrap_or_default()
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
            let mut text = format!(
                "{:<w$}  {:<16}  {:<20}  LAST USED\n",
                "NAME", "ID", "CREATED"
            );
            for i in &list {
                text.push_str(&format!(
                    "{:<w$}  {:<16}  {:<20}  {}\n",
                    i.name(),
                    i.id().to_string(),
                    format_timestamp(i.created_at()),
                    i.last_used_at()
                        .map(format_timestamp)
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
        assert_eq!(c.serve.admin_bind.to_string(), "127.0.0.1:8081");
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
        let defaults = s.limits.apply(scim_core::service::ServiceSettings::new());
        let plain = scim_core::service::ServiceSettings::new();
        assert_eq!(defaults.max_body_bytes, plain.max_body_bytes);
        assert_eq!(defaults.max_json_depth, plain.max_json_depth);
        assert_eq!(defaults.max_results, plain.max_results);
        assert_eq!(defaults.max_patch_operations, plain.max_patch_operations);
        assert_eq!(defaults.filter_max_len, plain.filter_max_len);
        assert_eq!(defaults.filter_max_depth, plain.filter_max_depth);
        assert_eq!(
            defaults.filter_max_comparisons,
            plain.filter_max_comparisons
        );
        assert_eq!(defaults.bulk_max_operations, plain.bulk_max_operations);
        assert_eq!(defaults.bulk_max_payload_size, plain.bulk_max_payload_size);
        let c = Cli::try_parse_from([
            "bin",
            "serve",
            "--max-body-bytes",
            "10",
            "--max-results",
            "200",
            "--max-patch-operations",
            "3",
            "--max-filter-length",
            "4",
            "--max-filter-depth",
            "5",
            "--max-filter-comparisons",
            "6",
            "--bulk-max-operations",
            "7",
            "--bulk-max-payload-size",
            "8",
            "--max-json-depth",
            "9",
        ])
        .expect("limits");
        let Some(Command::Serve(s)) = c.command else {
            panic!("serve")
        };
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        let l = s.limits.apply(scim_core::service::ServiceSettings::new());
        assert_eq!(
            (
                l.max_body_bytes,
                l.max_results,
                l.max_patch_operations,
                l.max_json_depth
            ),
            (10, 200, 3, 9)
        );
        assert_eq!(
            (
                l.filter_max_len,
                l.filter_max_depth,
                l.filter_max_comparisons
            ),
            (4, 5, 6)
        );
        assert_eq!((l.bulk_max_operations, l.bulk_max_payload_size), (7, 8));
        assert!(Cli::try_parse_from(["bin", "serve", "--tls-cert", "c.pem"]).is_err());
    }
}
