//! The integrations admin page (`/admin`): server-rendered HTML over `http` types, so each
//! server mounts it with a few lines of glue, on its own listener (`--admin-bind`).
//!
//! The flow: **Integrations** (the list) → **Add and configure (SCIM)** → a name →
//! **Generate token** → the SCIM API URL and the token, shown once, with copy buttons, and a
//! required "I have copied the token" check before **Done**. Each integration offers
//! **View details** (API URL, created, last used; never a token), **Rename**, **Rotate
//! token** (the previous token works on for none / 1 hour / 24 hours / 7 days, the new one
//! is shown once like at creation) and **Delete** (after a confirmation page). Everything
//! goes through the same [`TokenService`](scim_tokens::TokenService) as the `integrations`
//! commands.
//!
//! Access: one admin password ([`PASSWORD_ENV`], or generated and printed once at the
//! first start), stored as an argon2id hash in the database; a login opens a server-side
//! session (cookie `HttpOnly`, `SameSite=Strict`, `Path=/admin`, `Secure` under TLS) that
//! ends after [`SESSION_TTL`] unused, 12 hours after the login, or at log-out; every form
//! carries the session's CSRF token, compared in constant time; after three failed logins
//! in a row, logins close for a growing number of seconds (for every client: the page is
//! meant for a loopback or otherwise trusted address).
//!
//! [`Admin::respond`] is synchronous: a login computes one argon2id hash (tens of
//! milliseconds) on the calling thread; every other request is a few database reads.
//!
//! Tokens never appear in a URL: they are only in the body of the answer to the POST that
//! generated them, which is `Cache-Control: no-store` (as is every page).

mod auth;
mod html;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode, header};
use scim_tokens::{Integration, IntegrationId, TenantId, TokenOptions};

pub use auth::{AdminError, GeneratedPassword, MIN_PASSWORD_LEN};
use auth::{Sessions, Throttle, csrf_matches};
use html::{Escaped, Frame, csrf_field, escape, page};

use crate::cli::{Tokens, format_timestamp, token_service};
use crate::db::Database;

/// The environment variable that sets the admin password.
pub const PASSWORD_ENV: &str = "SCIM_ADMIN_PASSWORD";

/// The largest form body accepted.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// How long an unused session lives.
pub const SESSION_TTL: Duration = Duration::from_secs(30 * 60);

/// The session cookie's name.
const COOKIE: &str = "scim_admin";

/// The rotation grace periods offered, in seconds, with their labels.
const GRACE_CHOICES: [(u64, &str); 4] = [
    (0, "Now: no grace period"),
    (3600, "After 1 hour"),
    (86_400, "After 24 hours"),
    (604_800, "After 7 days"),
];

/// How the admin page is set up.
#[derive(Debug, Clone)]
pub struct AdminSettings {
    /// The SCIM API URL shown to copy into identity providers (`--base-url`).
    pub api_url: String,
    /// The tenant whose integrations the page manages.
    pub tenant: TenantId,
    /// Whether the page is served over TLS (the cookie gets `Secure`).
    pub tls: bool,
    /// How long an unused session lives ([`SESSION_TTL`]).
    pub session_ttl: Duration,
}

impl AdminSettings {
    /// Settings for `tenant`, showing `api_url`, without TLS, sessions of [`SESSION_TTL`].
    pub fn new(api_url: impl Into<String>, tenant: TenantId) -> Self {
        AdminSettings {
            api_url: api_url.into(),
            tenant,
            tls: false,
            session_ttl: SESSION_TTL,
        }
    }
}

/// The admin page: answers requests on the admin listener.
pub struct Admin {
    tokens: Tokens,
    settings: AdminSettings,
    password_hash: String,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A parsed form body.
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(
            form_urlencoded::parse(body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What a logged-in request knows of its session.
struct Ctx {
    csrf: String,
    notice: Option<String>,
    cookie: String,
}

/// Which integration page.
enum Sub {
    Details,
    Rename,
    Rotate,
    Delete,
}

fn base_response(status: StatusCode) -> http::response::Builder {
    headers_with_cache(status, "no-store")
}

fn headers_with_cache(status: StatusCode, cache: &'static str) -> http::response::Builder {
    Response::builder()
        .status(status)
        .header(header::CACHE_CONTROL, cache)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .header(header::X_FRAME_OPTIONS, "DENY")
        .header(header::REFERRER_POLICY, "same-origin")
        .header(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
}

fn finish(b: http::response::Builder, body: Bytes) -> Response<Bytes> {
    b.body(body).unwrap_or_else(|_| {
        let mut r = Response::new(Bytes::new());
        *r.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
        r
    })
}

fn html_response(status: StatusCode, html: String) -> Response<Bytes> {
    finish(
        base_response(status).header(header::CONTENT_TYPE, "text/html; charset=utf-8"),
        Bytes::from(html),
    )
}

/// A 303 to one of this page's own paths (never one holding a token).
fn redirect(location: &str) -> Response<Bytes> {
    finish(
        base_response(StatusCode::SEE_OTHER).header(header::LOCATION, location),
        Bytes::new(),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response<Bytes> {
    finish(
        headers_with_cache(StatusCode::OK, "private, max-age=300")
            .header(header::CONTENT_TYPE, content_type),
        Bytes::from_static(body.as_bytes()),
    )
}

/// The value of cookie `name` in the request's `Cookie` fields.
fn cookie<'a>(parts: &'a Parts, name: &str) -> Option<&'a str> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn time_html(t: scim_tokens::Timestamp) -> String {
    let iso = format_timestamp(t);
    // To the minute on the page (the attribute keeps the second).
    let shown = format!("{} UTC", iso.get(..16).unwrap_or(&iso).replace('T', " "));
    format!(
        "<time datetime=\"{}\">{}</time>",
        Escaped(&iso),
        Escaped(&shown)
    )
}

fn last_used_html(i: &Integration) -> String {
    i.last_used_at()
        .map(time_html)
        .unwrap_or_else(|| "<span class=\"muted\">never</span>".into())
}

fn grace_label(secs: u64) -> &'static str {
    match secs {
        3600 => "1 hour",
        86_400 => "24 hours",
        _ => "7 days",
    }
}

/// A copyable read-only field: label, input, copy button, live status.
fn copy_field(id: &str, label: &str, value: &str, button: &str) -> String {
    format!(
        "<div class=\"field\">\n<label for=\"{id}\">{label}</label>\n<div class=\"copy\">\
         <input id=\"{id}\" type=\"text\" readonly value=\"{}\" autocomplete=\"off\" \
         spellcheck=\"false\">\
         <button type=\"button\" class=\"secondary\" data-copy=\"{id}\">{button}</button></div>\n\
         <p id=\"{id}-status\" class=\"muted\" role=\"status\" aria-live=\"polite\"></p>\n</div>\n",
        Escaped(value),
        id = id,
        label = label,
        button = button,
    )
}

impl Admin {
    /// Sets up the page over `db`: loads the password hash, or stores the one of
    /// `password` (from [`PASSWORD_ENV`]), or generates a password, stores its hash and
    /// returns it to print once.
    ///
    /// # Errors
    ///
    /// [`AdminError`]: the database, the randomness, a password shorter than
    /// [`MIN_PASSWORD_LEN`].
    pub fn open(
        db: Arc<Database>,
        settings: AdminSettings,
        password: Option<&str>,
    ) -> Result<(Admin, Option<GeneratedPassword>), AdminError> {
        let (password_hash, generated) = auth::load_password(&db, password)?;
        Ok((
            Admin {
                tokens: token_service(db),
                settings,
                password_hash,
                sessions: Mutex::new(Sessions::default()),
                throttle: Mutex::new(Throttle::default()),
            },
            generated,
        ))
    }

    /// The largest request body accepted ([`MAX_BODY_BYTES`]); a larger one is answered
    /// by [`Admin::respond`] with `None` as body (413).
    pub fn max_body_bytes(&self) -> usize {
        MAX_BODY_BYTES
    }

    /// Whether `parts` announces a body over the limit (answer 413 before reading it).
    pub fn too_large(&self, parts: &Parts) -> bool {
        parts
            .headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    }

    /// The answer to a request whose body did not arrive within the server's request
    /// timeout (408).
    pub fn timed_out(&self) -> Response<Bytes> {
        self.message(
            StatusCode::REQUEST_TIMEOUT,
            "Timed out",
            "The form did not arrive in time.",
            None,
        )
    }

    /// Answers one request to the admin listener and logs one line (method, path,
    /// status; never a token or password). `body` is `None` when it exceeded
    /// [`Admin::max_body_bytes`].
    pub fn respond(&self, parts: &Parts, body: Option<Bytes>) -> Response<Bytes> {
        let start = Instant::now();
        let response = self.route(parts, body);
        tracing::info!(
            method = %parts.method,
            path = %parts.uri.path(),
            status = response.status().as_u16(),
            ms = format_args!("{:.3}", start.elapsed().as_secs_f64() * 1000.0),
            "admin"
        );
        response
    }

    fn frame<'a>(&self, title: &'a str, ctx: Option<&'a Ctx>) -> Frame<'a> {
        Frame {
            title,
            csrf: ctx.map(|c| c.csrf.as_str()),
            notice: ctx.and_then(|c| c.notice.as_deref()),
            error: None,
        }
    }

    fn message(
        &self,
        status: StatusCode,
        title: &str,
        text: &str,
        ctx: Option<&Ctx>,
    ) -> Response<Bytes> {
        let body = format!(
            "<p>{}</p>\n<p><a href=\"/admin\">Back to integrations</a></p>",
            Escaped(text)
        );
        html_response(status, page(&self.frame(title, ctx), &body))
    }

    fn route(&self, parts: &Parts, body: Option<Bytes>) -> Response<Bytes> {
        let path = parts.uri.path();
        let post = parts.method == Method::POST;
        if parts.method != Method::GET && !post {
            return finish(
                base_response(StatusCode::METHOD_NOT_ALLOWED).header(header::ALLOW, "GET, POST"),
                Bytes::new(),
            );
        }
        match (post, path) {
            (false, "/") => return redirect("/admin"),
            (false, "/admin/admin.css") => return asset("text/css; charset=utf-8", html::CSS),
            (false, "/admin/admin.js") => {
                return asset("text/javascript; charset=utf-8", html::JS);
            }
            _ => {}
        }
        if path != "/admin" && !path.starts_with("/admin/") {
            return self.message(
                StatusCode::NOT_FOUND,
                "Not found",
                "There is no such page.",
                None,
            );
        }
        let Some(body) = body else {
            return self.message(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "The form was too large.",
                None,
            );
        };
        let form = if post {
            Form::parse(&body)
        } else {
            Form(Vec::new())
        };
        if post && !self.same_origin(parts) {
            return self.message(
                StatusCode::FORBIDDEN,
                "Refused",
                "The form was sent from another site.",
                None,
            );
        }
        let ctx = self.session(parts);
        match (post, path, ctx) {
            (false, "/admin/login", None) => self.login_page(StatusCode::OK, None),
            (false, "/admin/login", Some(_)) => redirect("/admin"),
            (true, "/admin/login", _) => self.login(parts, &form),
            (_, _, None) => redirect("/admin/login"),
            (_, _, Some(ctx)) => {
                if post
                    && !lock(&self.sessions)
                        .touch(&ctx.cookie, Instant::now(), self.settings.session_ttl)
                        .is_some_and(|s| csrf_matches(s, form.get("csrf").unwrap_or("")))
                {
                    return self.message(
                        StatusCode::FORBIDDEN,
                        "Form expired",
                        "This form is no longer valid. Go back, reload the page and try again.",
                        Some(&ctx),
                    );
                }
                self.authed(post, path, &form, &ctx)
            }
        }
    }

    /// Whether a POST may come from this page: `Sec-Fetch-Site` (when the browser sends
    /// it) says same-origin, and `Origin` is not the opaque `null`. (`Origin` is not compared
    /// with `Host`: a TLS-terminating proxy may rewrite either; the CSRF token and the
    /// `SameSite=Strict` cookie are the defence, this is one more layer.)
    fn same_origin(&self, parts: &Parts) -> bool {
        let fetch_ok = parts
            .headers
            .get("sec-fetch-site")
            .is_none_or(|v| v == "same-origin" || v == "none");
        let origin_ok = parts
            .headers
            .get(header::ORIGIN)
            .is_none_or(|o| o != "null");
        fetch_ok && origin_ok
    }

    /// The live session of the request's cookie (its expiry pushed on), taking its notice.
    fn session(&self, parts: &Parts) -> Option<Ctx> {
        let id = cookie(parts, COOKIE)?;
        let mut sessions = lock(&self.sessions);
        let s = sessions.touch(id, Instant::now(), self.settings.session_ttl)?;
        Some(Ctx {
            csrf: s.csrf.clone(),
            notice: s.notice.take(),
            cookie: id.to_owned(),
        })
    }

    fn set_notice(&self, ctx: &Ctx, notice: String) {
        if let Some(s) =
            lock(&self.sessions).touch(&ctx.cookie, Instant::now(), self.settings.session_ttl)
        {
            s.notice = Some(notice);
        }
    }

    fn cookie_header(&self, value: &str, max_age: Option<u64>) -> Option<HeaderValue> {
        let mut c = format!("{COOKIE}={value}; Path=/admin; HttpOnly; SameSite=Strict");
        if let Some(a) = max_age {
            let _ = write!(c, "; Max-Age={a}");
        }
        if self.settings.tls {
            c.push_str("; Secure");
        }
        HeaderValue::from_str(&c).ok()
    }

    fn login_page(&self, status: StatusCode, error: Option<&str>) -> Response<Bytes> {
        let body = "<form method=\"post\" action=\"/admin/login\" class=\"stack\">\n\
            <div><label for=\"password\">Admin password</label>\n\
            <input id=\"password\" name=\"password\" type=\"password\" required \
            autocomplete=\"current-password\" autofocus></div>\n\
            <div><button type=\"submit\">Log in</button></div>\n</form>\n\
            <p class=\"muted\">The password is the one in the server's <code>SCIM_ADMIN_PASSWORD</code> \
            environment variable, or the one it printed on its first start.</p>";
        let frame = Frame {
            title: "Log in",
            csrf: None,
            notice: None,
            error,
        };
        html_response(status, page(&frame, body))
    }

    fn login(&self, parts: &Parts, form: &Form) -> Response<Bytes> {
        let now = Instant::now();
        if let Err(wait) = lock(&self.throttle).check(now) {
            let text = format!(
                "Too many failed logins. Wait {} seconds, then try again.",
                wait.as_secs().max(1)
            );
            return self.login_page(StatusCode::TOO_MANY_REQUESTS, Some(&text));
        }
        let given = form.get("password").unwrap_or("");
        if !auth::verify_password(&self.password_hash, given) {
            lock(&self.throttle).failed(now);
            tracing::warn!("admin login failed");
            return self.login_page(StatusCode::UNAUTHORIZED, Some("Wrong password."));
        }
        lock(&self.throttle).succeeded();
        if let Some(old) = cookie(parts, COOKIE) {
            lock(&self.sessions).remove(old);
        }
        let id = match lock(&self.sessions).create(now, self.settings.session_ttl) {
            Ok(id) => id,
            Err(e) => {
                tracing::error!("admin session: {e}");
                return self.message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    "The session could not be created.",
                    None,
                );
            }
        };
        let mut r = redirect("/admin");
        if let Some(c) = self.cookie_header(&id, None) {
            r.headers_mut().insert(header::SET_COOKIE, c);
        }
        r
    }

    fn authed(&self, post: bool, path: &str, form: &Form, ctx: &Ctx) -> Response<Bytes> {
        match (post, path) {
            (false, "/admin" | "/admin/") => self.list(ctx),
            (true, "/admin/logout") => {
                lock(&self.sessions).remove(&ctx.cookie);
                let mut r = redirect("/admin/login");
                if let Some(c) = self.cookie_header("", Some(0)) {
                    r.headers_mut().insert(header::SET_COOKIE, c);
                }
                r
            }
            (false, "/admin/new") => self.new_page(StatusCode::OK, ctx, "", None),
            (true, "/admin/new") => self.create(form, ctx),
            (true, "/admin/done") => {
                if form.get("copied").is_none() {
                    return self.message(
                        StatusCode::BAD_REQUEST,
                        "Not confirmed",
                        "Tick \"I have copied the token\" first. If the token was lost, rotate it.",
                        Some(ctx),
                    );
                }
                self.set_notice(
                    ctx,
                    "Done. The token is not shown again; rotate it if it is lost.".into(),
                );
                redirect("/admin")
            }
            _ => {
                let Some(rest) = path.strip_prefix("/admin/integrations/") else {
                    return self.not_found(ctx);
                };
                let (id, sub) = match rest.split_once('/') {
                    None => (rest, Sub::Details),
                    Some((id, "rename")) => (id, Sub::Rename),
                    Some((id, "rotate")) => (id, Sub::Rotate),
                    Some((id, "delete")) => (id, Sub::Delete),
                    Some(_) => return self.not_found(ctx),
                };
                let Ok(id) = id.parse::<IntegrationId>() else {
                    return self.not_found(ctx);
                };
                let integration = match self.tokens.get(&self.settings.tenant, id) {
                    Ok(i) => i,
                    Err(e) => return self.token_error(&e, ctx),
                };
                match (sub, post) {
                    (Sub::Details, false) => self.details(&integration, ctx),
                    (Sub::Rename, false) => self.rename_page(
                        StatusCode::OK,
                        &integration,
                        integration.name(),
                        None,
                        ctx,
                    ),
                    (Sub::Rename, true) => self.rename(&integration, form, ctx),
                    (Sub::Rotate, false) => {
                        self.rotate_page(StatusCode::OK, &integration, None, ctx)
                    }
                    (Sub::Rotate, true) => self.rotate(&integration, form, ctx),
                    (Sub::Delete, false) => self.delete_page(&integration, ctx),
                    (Sub::Delete, true) => self.delete(&integration, ctx),
                    (Sub::Details, true) => self.not_found(ctx),
                }
            }
        }
    }

    fn not_found(&self, ctx: &Ctx) -> Response<Bytes> {
        self.message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such page or integration.",
            Some(ctx),
        )
    }

    fn token_error(&self, e: &scim_tokens::Error, ctx: &Ctx) -> Response<Bytes> {
        match e {
            scim_tokens::Error::NotFound => self.not_found(ctx),
            other => {
                tracing::error!("admin: {other}");
                self.message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Error",
                    "The change could not be made; see the server's log.",
                    Some(ctx),
                )
            }
        }
    }

    fn list(&self, ctx: &Ctx) -> Response<Bytes> {
        let list = match self.tokens.list(&self.settings.tenant) {
            Ok(l) => l,
            Err(e) => return self.token_error(&e, ctx),
        };
        let mut body = String::from(
            "<p>Each identity provider connects as an integration with its own token.</p>\n\
             <p><a class=\"button\" href=\"/admin/new\">Add and configure (SCIM)</a></p>\n",
        );
        if list.is_empty() {
            body.push_str("<p class=\"muted\">No integrations yet.</p>\n");
        } else {
            body.push_str(
                "<table>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Created</th>\
                 <th scope=\"col\">Last used</th><th scope=\"col\">Actions</th></tr></thead>\n<tbody>\n",
            );
            for i in &list {
                let id = i.id();
                let name = escape(i.name());
                let _ = writeln!(
                    body,
                    "<tr><td data-label=\"Name\"><a href=\"/admin/integrations/{id}\">{name}</a></td>\
                     <td data-label=\"Created\">{}</td><td data-label=\"Last used\">{}</td>\
                     <td><ul class=\"actions\" aria-label=\"Actions for {name}\">\
                     <li><a href=\"/admin/integrations/{id}\">View details</a></li>\
                     <li><a href=\"/admin/integrations/{id}/rename\">Rename</a></li>\
                     <li><a href=\"/admin/integrations/{id}/rotate\">Rotate token</a></li>\
                     <li><a href=\"/admin/integrations/{id}/delete\">Delete</a></li></ul></td></tr>",
                    time_html(i.created_at()),
                    last_used_html(i),
                );
            }
            body.push_str("</tbody>\n</table>\n");
        }
        html_response(
            StatusCode::OK,
            page(&self.frame("Integrations", Some(ctx)), &body),
        )
    }

    fn new_page(
        &self,
        status: StatusCode,
        ctx: &Ctx,
        name: &str,
        error: Option<&str>,
    ) -> Response<Bytes> {
        let body = format!(
            "<p>Name the identity provider this integration is for (for example \"Okta\" or \
             \"Entra ID\"). A token is generated for it next.</p>\n\
             <form method=\"post\" action=\"/admin/new\" class=\"stack\">{}\n\
             <div><label for=\"name\">Name</label>\n\
             <input id=\"name\" name=\"name\" type=\"text\" required maxlength=\"{}\" value=\"{}\" \
             autocomplete=\"off\" autofocus></div>\n\
             <div class=\"row\"><button type=\"submit\">Generate token</button> \
             <a href=\"/admin\">Cancel</a></div>\n</form>",
            csrf_field(&ctx.csrf),
            scim_tokens::NAME_MAX_CHARS,
            Escaped(name),
        );
        let mut frame = self.frame("Add and configure (SCIM)", Some(ctx));
        frame.error = error;
        html_response(status, page(&frame, &body))
    }

    /// The name error as a message and status, or `None` for another error.
    fn name_problem(e: &scim_tokens::Error) -> Option<(StatusCode, String)> {
        match e {
            scim_tokens::Error::NameTaken => Some((
                StatusCode::CONFLICT,
                "An integration with that name already exists.".into(),
            )),
            scim_tokens::Error::InvalidName(n) => {
                let mut m = n.to_string();
                if let Some(c) = m.get(..1) {
                    m = c.to_uppercase() + &m[1..];
                }
                Some((StatusCode::BAD_REQUEST, m + "."))
            }
            _ => None,
        }
    }

    fn create(&self, form: &Form, ctx: &Ctx) -> Response<Bytes> {
        let name = form.get("name").unwrap_or("");
        match self
            .tokens
            .create(&self.settings.tenant, name, TokenOptions::new())
        {
            Ok(issued) => {
                tracing::info!(integration = %issued.integration().name(), "admin: integration created");
                let title = format!("Token for {}", issued.integration().name());
                let intro = "The integration is created. Paste the SCIM API URL and the token \
                             into the identity provider's SCIM provisioning settings.";
                self.token_page(&title, intro, issued.token().expose_secret(), ctx)
            }
            Err(e) => match Self::name_problem(&e) {
                Some((status, m)) => self.new_page(status, ctx, name, Some(&m)),
                None => self.token_error(&e, ctx),
            },
        }
    }

    /// The one page that holds a token: the answer to the POST that generated it.
    fn token_page(&self, title: &str, intro: &str, token: &str, ctx: &Ctx) -> Response<Bytes> {
        let mut body = format!("<p>{}</p>\n", Escaped(intro));
        body.push_str(&copy_field(
            "api-url",
            "SCIM API URL",
            &self.settings.api_url,
            "Copy URL",
        ));
        body.push_str(&copy_field("token", "Token", token, "Copy token"));
        let _ = write!(
            body,
            "<p class=\"warning\"><strong>Copy the token now: it will not be shown again.</strong> \
             Only a hash of it is stored.</p>\n\
             <form method=\"post\" action=\"/admin/done\" class=\"stack\">{}\n\
             <label class=\"check\"><input type=\"checkbox\" id=\"copied\" name=\"copied\" value=\"yes\" required> \
             I have copied the token</label>\n\
             <div><button type=\"submit\">Done</button></div>\n</form>",
            csrf_field(&ctx.csrf)
        );
        html_response(StatusCode::OK, page(&self.frame(title, Some(ctx)), &body))
    }

    fn details(&self, i: &Integration, ctx: &Ctx) -> Response<Bytes> {
        let id = i.id();
        let mut body = copy_field(
            "api-url",
            "SCIM API URL",
            &self.settings.api_url,
            "Copy URL",
        );
        let _ = write!(
            body,
            "<dl>\n<dt>Name</dt><dd>{}</dd>\n<dt>Integration ID</dt><dd><code>{id}</code></dd>\n\
             <dt>Created</dt><dd>{}</dd>\n<dt>Last used</dt><dd>{}</dd>\n",
            Escaped(i.name()),
            time_html(i.created_at()),
            last_used_html(i),
        );
        if let Some(t) = i.current_token() {
            let _ = writeln!(
                body,
                "<dt>Current token</dt><dd>generated {}</dd>",
                time_html(t.created_at())
            );
        }
        let now = scim_tokens::Timestamp::from_system_time(std::time::SystemTime::now());
        let current = i.current_token().map(|t| t.id());
        for t in i.live_tokens(now).filter(|t| Some(t.id()) != current) {
            if let Some(end) = t.expires_at() {
                let _ = writeln!(
                    body,
                    "<dt>Previous token</dt><dd>works until {}</dd>",
                    time_html(end)
                );
            }
        }
        let _ = write!(
            body,
            "</dl>\n<p class=\"muted\">The token itself is never shown again after it is \
             generated; rotate it for a new one.</p>\n\
             <ul class=\"actions\" aria-label=\"Actions\">\
             <li><a href=\"/admin/integrations/{id}/rename\">Rename</a></li>\
             <li><a href=\"/admin/integrations/{id}/rotate\">Rotate token</a></li>\
             <li><a href=\"/admin/integrations/{id}/delete\">Delete</a></li>\
             <li><a href=\"/admin\">Back to integrations</a></li></ul>"
        );
        html_response(
            StatusCode::OK,
            page(&self.frame(i.name(), Some(ctx)), &body),
        )
    }

    fn rename_page(
        &self,
        status: StatusCode,
        i: &Integration,
        value: &str,
        error: Option<&str>,
        ctx: &Ctx,
    ) -> Response<Bytes> {
        let body = format!(
            "<form method=\"post\" action=\"/admin/integrations/{}/rename\" class=\"stack\">{}\n\
             <div><label for=\"name\">New name</label>\n\
             <input id=\"name\" name=\"name\" type=\"text\" required maxlength=\"{}\" value=\"{}\" \
             autocomplete=\"off\" autofocus></div>\n\
             <p class=\"muted\">The token keeps working.</p>\n\
             <div class=\"row\"><button type=\"submit\">Rename</button> \
             <a href=\"/admin/integrations/{}\">Cancel</a></div>\n</form>",
            i.id(),
            csrf_field(&ctx.csrf),
            scim_tokens::NAME_MAX_CHARS,
            Escaped(value),
            i.id(),
        );
        let title = format!("Rename {}", i.name());
        let mut frame = self.frame(&title, Some(ctx));
        frame.error = error;
        html_response(status, page(&frame, &body))
    }

    fn rename(&self, i: &Integration, form: &Form, ctx: &Ctx) -> Response<Bytes> {
        let name = form.get("name").unwrap_or("");
        match self.tokens.rename(&self.settings.tenant, i.id(), name) {
            Ok(r) => {
                tracing::info!(integration = %r.name(), "admin: integration renamed");
                self.set_notice(
                    ctx,
                    format!("Renamed \"{}\" to \"{}\".", i.name(), r.name()),
                );
                redirect(&format!("/admin/integrations/{}", i.id()))
            }
            Err(e) => match Self::name_problem(&e) {
                Some((status, m)) => self.rename_page(status, i, name, Some(&m), ctx),
                None => self.token_error(&e, ctx),
            },
        }
    }

    fn rotate_page(
        &self,
        status: StatusCode,
        i: &Integration,
        error: Option<&str>,
        ctx: &Ctx,
    ) -> Response<Bytes> {
        let mut body = format!(
            "<p>A new token is generated and shown once. Give it to the identity provider, \
             then let the current token stop.</p>\n\
             <form method=\"post\" action=\"/admin/integrations/{}/rotate\" class=\"stack\">{}\n\
             <fieldset><legend>When should the current token stop working?</legend>\n",
            i.id(),
            csrf_field(&ctx.csrf),
        );
        for (n, (secs, label)) in GRACE_CHOICES.iter().enumerate() {
            let _ = writeln!(
                body,
                "<label><input type=\"radio\" name=\"grace\" value=\"{secs}\"{}> {label}</label>",
                if n == 0 { " checked" } else { "" }
            );
        }
        let _ = write!(
            body,
            "</fieldset>\n<div class=\"row\"><button type=\"submit\">Rotate token</button> \
             <a href=\"/admin/integrations/{}\">Cancel</a></div>\n</form>",
            i.id()
        );
        let title = format!("Rotate the token of {}", i.name());
        let mut frame = self.frame(&title, Some(ctx));
        frame.error = error;
        html_response(status, page(&frame, &body))
    }

    fn rotate(&self, i: &Integration, form: &Form, ctx: &Ctx) -> Response<Bytes> {
        let grace = form
            .get("grace")
            .and_then(|g| g.parse::<u64>().ok())
            .filter(|g| GRACE_CHOICES.iter().any(|(s, _)| s == g));
        let Some(grace) = grace else {
            return self.rotate_page(
                StatusCode::BAD_REQUEST,
                i,
                Some("Choose one of the periods."),
                ctx,
            );
        };
        let mut options = TokenOptions::new();
        if grace > 0 {
            options = options.grace(Duration::from_secs(grace));
        }
        match self.tokens.rotate(&self.settings.tenant, i.id(), options) {
            Ok(issued) => {
                tracing::info!(integration = %i.name(), grace_secs = grace, "admin: token rotated");
                let intro = if grace == 0 {
                    "The previous token no longer works. Paste the new token into the identity \
                     provider's SCIM provisioning settings."
                        .to_owned()
                } else {
                    format!(
                        "The previous token keeps working for {}. Paste the new token into the \
                         identity provider's SCIM provisioning settings before then.",
                        grace_label(grace)
                    )
                };
                let title = format!("New token for {}", i.name());
                self.token_page(&title, &intro, issued.token().expose_secret(), ctx)
            }
            Err(e) => self.token_error(&e, ctx),
        }
    }

    fn delete_page(&self, i: &Integration, ctx: &Ctx) -> Response<Bytes> {
        let body = format!(
            "<p class=\"warning\">Its tokens stop working at once: the identity provider can no \
             longer provision users and groups through it. Users and groups it created stay.</p>\n\
             <form method=\"post\" action=\"/admin/integrations/{}/delete\" class=\"stack\">{}\n\
             <div class=\"row\"><button type=\"submit\" class=\"danger\">Delete integration</button> \
             <a href=\"/admin/integrations/{}\">Cancel</a></div>\n</form>",
            i.id(),
            csrf_field(&ctx.csrf),
            i.id(),
        );
        let title = format!("Delete {}?", i.name());
        html_response(StatusCode::OK, page(&self.frame(&title, Some(ctx)), &body))
    }

    fn delete(&self, i: &Integration, ctx: &Ctx) -> Response<Bytes> {
        match self.tokens.delete(&self.settings.tenant, i.id()) {
            Ok(d) => {
                tracing::info!(integration = %d.name(), "admin: integration deleted");
                self.set_notice(
                    ctx,
                    format!("Deleted \"{}\": its tokens no longer work.", d.name()),
                );
                redirect("/admin")
            }
            Err(e) => self.token_error(&e, ctx),
        }
    }
}
