//! [`App`]: everything a server does between the framework and the SCIM service:
//! authentication with the integration tokens, the request log line, the body limit answer,
//! and the first-start bootstrap of the `default` integration.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, header};
use scim_core::Error;
use scim_core::service::{
    AuthFailure, Authenticator, ScimService, ServiceSettings, error_response,
};
use scim_core::store::RequestContext;
use scim_tokens::{AuthError, AuthErrorKind, Clock, TenantId, TokenOptions, TokenStore};

use crate::backend::{AnyStore, Backend};
use crate::cli::{ServeArgs, Tokens, token_service};
use crate::db::Database;

/// An [`Authenticator`] that takes the context [`App`] put into the request's extensions
/// after it verified the token, so the log line knows the integration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Preauthenticated;

impl Authenticator for Preauthenticated {
    async fn authenticate(&self, request: &Parts) -> Result<RequestContext, AuthFailure> {
        request
            .extensions
            .get::<RequestContext>()
            .cloned()
            .ok_or_else(|| AuthFailure::unauthorized("a bearer token is required"))
    }
}

/// The SCIM service of the examples.
pub type Service = ScimService<AnyStore, Preauthenticated>;

/// A ready server: the service, the token verifier, the settings.
#[derive(Debug)]
pub struct App {
    service: Service,
    tokens: Tokens,
}

/// Why a server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A command-line value is wrong.
    #[error("{0}")]
    Usage(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    /// The PostgreSQL database failed.
    #[error("{0}")]
    Backend(String),
    /// Creating the first integration failed.
    #[error("creating the default integration: {0}")]
    Tokens(#[from] scim_tokens::Error),
}

/// The path of `base_url` (`http://host:8080/scim/v2` → `/scim/v2`).
///
/// # Errors
///
/// When `base_url` is not an absolute `http` or `https` URL.
pub fn base_path(base_url: &str) -> Result<String, StartError> {
    let uri: http::Uri = base_url
        .parse()
        .map_err(|_| StartError::Usage(format!("--base-url `{base_url}` is not a URL")))?;
    match uri.scheme_str() {
        Some("http" | "https") if uri.authority().is_some() => {}
        _ => {
            return Err(StartError::Usage(format!(
                "--base-url `{base_url}` must be an absolute http(s) URL"
            )));
        }
    }
    Ok(uri.path().trim_end_matches('/').to_owned())
}

impl App {
    /// Builds the server over `db` for `args`. On the first start of an empty database,
    /// creates the integration `default` and prints its token and the API URL to standard
    /// error, once.
    ///
    /// # Errors
    ///
    /// [`StartError`].
    pub fn new(db: Arc<Database>, args: &ServeArgs) -> Result<Self, StartError> {
        Self::with_backend(Backend::from(db), args)
    }

    /// Builds the server over `backend` (SQLite or PostgreSQL) for `args`, as [`App::new`].
    ///
    /// # Errors
    ///
    /// [`StartError`].
    pub fn with_backend(backend: Backend, args: &ServeArgs) -> Result<Self, StartError> {
        let tls = args.tls_cert.is_some();
        if !tls && !args.bind.ip().is_loopback() && !args.insecure_http {
            return Err(StartError::Usage(format!(
                "refusing plain HTTP on {}: give --tls-cert and --tls-key, or --insecure-http \
                 behind a TLS-terminating proxy",
                args.bind
            )));
        }
        let settings = args.limits.apply(
            ServiceSettings::new()
                .base_path(base_path(&args.base_url)?)
                .base_url(args.base_url.clone()),
        );
        let tokens = token_service(backend.clone());
        bootstrap(&backend, &tokens, &args.base_url)?;
        let service = ScimService::new(backend.store(), Preauthenticated).with_settings(settings);
        Ok(App { service, tokens })
    }

    /// Verifies the request's bearer token with one read of the token store: the record
    /// the token's id finds is checked by [`scim_tokens::Settings::verify_record`] (what
    /// [`scim_tokens::TokenService::authenticate`] does) and also names the integration for
    /// the log line. A record the store keeps in memory is used only while the generation
    /// of the integrations it reads per request is unchanged: a rotated or deleted token
    /// fails at once.
    fn authenticate(&self, parts: &Parts) -> Result<RequestContext, AuthFailure> {
        let settings = self.tokens.settings();
        let store = self.tokens.store();
        let verified = settings
            .parse_authorization(&parts.headers)
            .and_then(|token| {
                // On the writer connection when it is free, else on a reader: never waiting
                // for a group commit in progress.
                let record = store
                    .find_by_token(token.id())
                    .map_err(|e| settings.error(AuthErrorKind::Store(e)))?;
                let now = self.tokens.clock().now();
                let v = settings.verify_record(&token, record.as_deref(), now)?;
                if v.record_use_due() {
                    // Last use is informational: a failed write must not refuse the token.
                    let _ = store.record_use(v.token(), now);
                }
                Ok((v, record))
            });
        match verified {
            Ok((v, record)) => Ok(RequestContext::new(
                v.tenant().as_str(),
                v.integration().to_string(),
                record.map(|r| r.name().to_owned()).unwrap_or_default(),
            )),
            Err(e) => Err(auth_failure(&e)),
        }
    }

    /// The SCIM service.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The largest request body accepted: a larger one is answered by [`App::respond`]
    /// with `None` as body (413).
    pub fn max_body_bytes(&self) -> usize {
        self.service.max_body_bytes()
    }

    /// Whether `parts` announces a body over the limit (answer 413 before reading it).
    pub fn too_large(&self, parts: &Parts) -> bool {
        parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > self.max_body_bytes() as u64)
    }

    /// The answer to a request whose body did not arrive within `--request-timeout`: 408,
    /// logged like any request.
    pub fn timed_out(&self, parts: &Parts) -> Response<Bytes> {
        let response = error_response(
            &Error::status(408, "the request body did not arrive in time"),
            false,
        );
        tracing::info!(
            method = %parts.method,
            path = %parts.uri.path(),
            status = 408,
            "request"
        );
        response
    }

    /// Answers one request: authenticates it, hands it to the service, logs one line
    /// (method, path, status, duration, integration; never a token). `body` is `None` when
    /// it exceeded [`App::max_body_bytes`] (413).
    pub async fn respond(&self, mut parts: Parts, body: Option<Bytes>) -> Response<Bytes> {
        let start = Instant::now();
        let _scope = crate::held::Request::begin();
        // Kept for the log line without copying: the method and URI share their storage.
        let method = parts.method.clone();
        let uri = parts.uri.clone();
        let plain = false;
        let (response, who) = match self.authenticate(&parts) {
            Err(f) => {
                let mut r = error_response(&f.error, plain);
                if let Some(h) = f.www_authenticate {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, h);
                }
                (r, None)
            }
            Ok(ctx) => match body {
                None => (
                    error_response(&Error::status(413, "the request body is too large"), plain),
                    Some(ctx),
                ),
                Some(body) => {
                    parts.extensions.insert(ctx.clone());
                    let r = self.service.handle(Request::from_parts(parts, body)).await;
                    (r, Some(ctx))
                }
            },
        };
        if method != http::Method::GET && method != http::Method::HEAD {
            // A read transaction this thread kept open (`held`) would keep the WAL from
            // starting over while writes go on: ended after every request that may write.
            crate::held::release();
        }
        tracing::info!(
            method = %method,
            path = %uri.path(),
            status = response.status().as_u16(),
            ms = %Millis(start.elapsed()),
            integration = %who.as_ref().map_or("-", |c| c.integration_name()),
            "request"
        );
        crate::net::fair_share();
        response
    }
}

/// A duration in milliseconds with three decimals (`0.067`), rounded to the microsecond,
/// written with integer arithmetic only.
struct Millis(std::time::Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let micros = self.0.as_nanos().saturating_add(500) / 1000;
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// The SCIM error and challenge of a refused token: the status and `WWW-Authenticate` of
/// scim-tokens, a detail that names no secret.
fn auth_failure(e: &AuthError) -> AuthFailure {
    let detail = match e.kind() {
        AuthErrorKind::MissingCredentials | AuthErrorKind::UnsupportedScheme => {
            "a bearer token is required".to_owned()
        }
        AuthErrorKind::Store(_) => "the token store failed".to_owned(),
        kind => kind.to_string(),
    };
    AuthFailure {
        error: Error::status(e.status().as_u16(), detail),
        www_authenticate: e.www_authenticate().cloned(),
    }
}

/// Creates the integration `default` on the first start of a database and prints its token
/// once; later starts (the marker is in the database) print nothing.
fn bootstrap(db: &Backend, tokens: &Tokens, base_url: &str) -> Result<(), StartError> {
    if !db.claim_bootstrap().map_err(StartError::Backend)? {
        return Ok(());
    }
    let tenant = TenantId::new("default").map_err(|e| StartError::Usage(e.to_string()))?;
    if !tokens.list(&tenant)?.is_empty() {
        return Ok(());
    }
    let issued = tokens.create(&tenant, "default", TokenOptions::new())?;
    eprintln!(
        "\nCreated the integration `default`. Copy its token now: it will not be shown again.\n\n\
         \x20   SCIM API URL: {base_url}\n\
         \x20   Token:        {}\n\n\
         Paste both into your identity provider's SCIM provisioning settings.\n\
         More tokens: `integrations create NAME`; a new one for this: `integrations rotate default`.\n",
        issued.token().expose_secret()
    );
    Ok(())
}

/// Sets up the log: one line per event on standard error, written by a thread of its own
/// ([`crate::logging`]), level from `RUST_LOG` (default `info`).
///
/// On a terminal the line is tracing-subscriber's own, in colour; otherwise the same line
/// without colour, written by [`crate::logging::LineFormat`] (less work per request).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::logging::BufferedStderr);
    let _ = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        log.with_target(false).with_ansi(true).try_init()
    } else {
        log.with_ansi(false)
            .event_format(crate::logging::LineFormat)
            .try_init()
    };
}
