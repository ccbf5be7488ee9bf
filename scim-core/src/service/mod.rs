//! The SCIM protocol (RFC 7644) over `http` types: [`ScimService`] takes an
//! `http::Request` whose body is bytes and answers an `http::Response<Bytes>`, so an
//! adapter for hyper, axum or actix-web is a few lines.
//!
//! One request goes: [`Authenticator`] (first, before routing or reading the body) →
//! route (under [`ServiceSettings::base_path`]) → method check (405 with `Allow`, before
//! the body is looked at) → body limits (size, JSON nesting) → validation, PATCH,
//! projection → [`ResourceStore`] → response (`ETag`, `Location`, content type). Every
//! failure is a SCIM Error body with its status and `scimType`.
//!
//! # Example
//!
//! ```
//! use scim_core::service::{FixedContext, ScimService, ServiceSettings};
//! use scim_core::store::{MemoryStore, RequestContext};
//! # fn block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     use std::task::{Context, Poll, Waker};
//! #     let mut f = std::pin::pin!(f);
//! #     loop {
//! #         if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
//! #             return v;
//! #         }
//! #     }
//! # }
//!
//! // One tenant, authenticated in front of the service; a real deployment uses the
//! // `tokens` feature's TokenAuthenticator.
//! let auth = FixedContext(RequestContext::new("tenant-1", "okta-1", "Okta"));
//! let service = ScimService::new(MemoryStore::new(), auth)
//!     .with_settings(ServiceSettings::new().base_url("https://example.com/scim/v2"));
//!
//! let create = http::Request::post("/scim/v2/Users")
//!     .header("content-type", "application/scim+json")
//!     .body(br#"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bjensen"}"#.to_vec())?;
//! let response = block_on(service.handle(create));
//! assert_eq!(response.status(), 201);
//! let user: serde_json::Value = serde_json::from_slice(response.body())?;
//! let location = response.headers()["location"].to_str()?;
//! assert_eq!(location, format!("https://example.com/scim/v2/Users/{}", user["id"].as_str().unwrap()));
//! assert_eq!(response.headers()["etag"], user["meta"]["version"].as_str().unwrap());
//!
//! let search = http::Request::get("/scim/v2/Users?filter=userName%20eq%20%22BJensen%22")
//!     .body(Vec::new())?;
//! let page: serde_json::Value = serde_json::from_slice(block_on(service.handle(search)).body())?;
//! assert_eq!(page["totalResults"], 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! An adapter answers 413 from `Content-Length` above [`ScimService::max_body_bytes`]
//! before reading, stops reading a chunked body at that limit, and passes the collected
//! bytes to [`ScimService::handle`] (which checks the limit again).
//!
//! # Input safety
//!
//! - Bodies: at most [`ServiceSettings::max_body_bytes`] (413 above; a `/Bulk` body at
//!   most `bulk_max_payload_size`); arrays and objects nested at most
//!   [`ServiceSettings::max_json_depth`] deep (default 64, checked in one pass before
//!   parsing; serde_json's own limit of 128 is a second bound); an object naming a member
//!   twice is 400; a PatchOp at most [`ServiceSettings::max_patch_operations`] operations
//!   (default 1000); a bulk request at most `bulk_max_operations` operations and
//!   `bulk_max_payload_size` bytes.
//! - Query strings: decoded with `form_urlencoded`; `startIndex` and `count` are digits
//!   with an optional sign (saturating, clamped to 1.. and 0..=`max_results`); filters are
//!   parsed by scim-filter within the budgets of [`ServiceSettings::filter_limits`]
//!   (length, depth, comparisons).
//! - Every limit is a [`ServiceSettings`] field; `/ServiceProviderConfig` advertises those
//!   RFC 7643 has a field for (`filter.maxResults`, `bulk.maxOperations`,
//!   `bulk.maxPayloadSize`).
//! - Nothing walks input recursively: bulk references are found with an explicit stack.
//! - Error `detail`s quote at most 200 bytes of input.
//!
//! # Concurrency
//!
//! PUT and PATCH read the resource, compute the new one and write it with the version read
//! as a compare-and-swap. When the swap loses to a concurrent writer and the client sent
//! no `If-Match`, the service re-reads and re-applies, up to
//! [`ServiceSettings::max_retries`] times, yielding the thread a random number of times
//! between attempts (there is no timer without a runtime). A client sees 412 only for its
//! own `If-Match`. Group PATCHes that only add or remove members go through
//! [`ResourceStore::modify_members`], which a store can apply without rewriting the group.

mod auth;
mod bulk;
mod events;
mod query;

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::{Map, Value};

use crate::Dialects;
use crate::discovery::{self, ServiceProviderConfig};
use crate::error::{Error, quote_input};
use crate::message::{ListResponse, SEARCH_REQUEST_SCHEMA, SearchRequest, SortOrder, parse_body};
use crate::patch::{PatchOp, PatchOpKind, PatchOptions, apply_patch_in_place};
use crate::project::Projection;
use crate::registry::{Registry, ResourceSchema};
use crate::resource::Password;
use crate::store::{
    Edit, GROUP, ListQuery, MemberChange, RawResource, RequestContext, ResourceStore, StoreError,
    StoredResource, UpdateError, Updated,
};
use crate::validate::{
    Mode, ValidateOptions, ValueContext, compares_with_existing, normalize_value_with,
    validate_patched_unchecked, validate_resource,
};

#[cfg(feature = "tokens")]
pub use auth::TokenAuthenticator;
pub use auth::{AuthFailure, Authenticator, FixedContext};
pub use events::{EventKind, EventSink, PasswordSink, ProvisioningEvent};

use query::{Preconditions, RawQuery};

/// The media type of SCIM responses.
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";
/// The media type of responses to clients whose `Accept` asks for `application/json`.
pub const JSON_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// How a successful PATCH is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum PatchResponse {
    /// 200 with the resource (honouring `attributes` / `excludedAttributes`): the default.
    #[default]
    Resource,
    /// 204 No Content for every PATCH.
    NoContent,
    /// 204 for a Group PATCH (as Entra ID recommends: the member list is not sent back),
    /// 200 with the resource for other types.
    NoContentForGroups,
}

/// Settings of a [`ScimService`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceSettings {
    /// The path the SCIM endpoints are under (default `/scim/v2`; `""` for the root).
    pub base_path: String,
    /// The absolute URL of `base_path` for `Location`, `meta.location` and `$ref`
    /// (default: `base_path`, relative).
    pub base_url: Option<String>,
    /// The most results of one page, and the page size when `count` is absent (default
    /// 1000, never below 100).
    pub max_results: u64,
    /// The largest request body accepted (default 1 MiB).
    pub max_body_bytes: usize,
    /// The deepest nesting of arrays and objects accepted in a body (default 64).
    pub max_json_depth: usize,
    /// The most operations of one bulk request (default 1000; 0 turns `/Bulk` off).
    pub bulk_max_operations: u64,
    /// The largest bulk request body (default 1 MiB).
    pub bulk_max_payload_size: u64,
    /// The most operations of one PatchOp (default
    /// [`DEFAULT_MAX_OPERATIONS`](crate::patch::DEFAULT_MAX_OPERATIONS)).
    pub max_patch_operations: usize,
    /// The longest filter accepted, in bytes (default
    /// [`scim_filter::DEFAULT_MAX_LEN`]).
    pub filter_max_len: usize,
    /// The deepest nesting of a filter: parentheses, `not`, value paths (default
    /// [`scim_filter::DEFAULT_MAX_DEPTH`]).
    pub filter_max_depth: usize,
    /// The most comparisons of one filter (default
    /// [`scim_filter::DEFAULT_MAX_COMPARISONS`]).
    pub filter_max_comparisons: usize,
    /// How a successful PATCH is answered.
    pub patch_response: PatchResponse,
    /// How many times a write that lost a compare-and-swap is retried (default 32).
    pub max_retries: u32,
    /// The identity-provider dialects tolerated.
    pub dialects: Dialects,
    /// Keep attributes no schema defines (default `false`: dropped).
    pub keep_unknown_attributes: bool,
    /// Offer RFC 9865 cursor pagination beside index pagination (default `false`): a
    /// list query with a `cursor` parameter (empty for the first page) is answered with
    /// `nextCursor` while results remain.
    pub cursor_pagination: bool,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            base_path: "/scim/v2".to_owned(),
            base_url: None,
            max_results: 1000,
            max_body_bytes: 1 << 20,
            max_json_depth: 64,
            bulk_max_operations: 1000,
            bulk_max_payload_size: 1 << 20,
            max_patch_operations: crate::patch::DEFAULT_MAX_OPERATIONS,
            filter_max_len: scim_filter::DEFAULT_MAX_LEN,
            filter_max_depth: scim_filter::DEFAULT_MAX_DEPTH,
            filter_max_comparisons: scim_filter::DEFAULT_MAX_COMPARISONS,
            patch_response: PatchResponse::Resource,
            max_retries: 32,
            dialects: Dialects::default(),
            keep_unknown_attributes: false,
            cursor_pagination: false,
        }
    }
}

impl ServiceSettings {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the base path (a trailing `/` is dropped).
    pub fn base_path(mut self, path: impl Into<String>) -> Self {
        self.base_path = path.into().trim_end_matches('/').to_owned();
        self
    }

    /// Sets the absolute base URL (a trailing `/` is dropped).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Sets the page maximum (raised to 100 if lower).
    pub fn max_results(mut self, n: u64) -> Self {
        self.max_results = n.max(100);
        self
    }

    /// Sets the body limit.
    pub fn max_body_bytes(mut self, n: usize) -> Self {
        self.max_body_bytes = n;
        self
    }

    /// Sets the bulk limits.
    pub fn bulk(mut self, max_operations: u64, max_payload_size: u64) -> Self {
        self.bulk_max_operations = max_operations;
        self.bulk_max_payload_size = max_payload_size;
        self
    }

    /// Sets the most operations of one PatchOp.
    pub fn max_patch_operations(mut self, n: usize) -> Self {
        self.max_patch_operations = n;
        self
    }

    /// Sets the JSON nesting limit of bodies.
    pub fn max_json_depth(mut self, n: usize) -> Self {
        self.max_json_depth = n;
        self
    }

    /// Sets the filter budgets: length in bytes, nesting depth, comparisons.
    pub fn filter_limits(
        mut self,
        max_len: usize,
        max_depth: usize,
        max_comparisons: usize,
    ) -> Self {
        self.filter_max_len = max_len;
        self.filter_max_depth = max_depth;
        self.filter_max_comparisons = max_comparisons;
        self
    }

    /// The filter parser of these settings: their dialects and filter budgets.
    pub fn filter_parser(&self) -> scim_filter::Parser {
        self.dialects
            .filter_parser()
            .max_len(self.filter_max_len)
            .max_depth(self.filter_max_depth)
            .max_comparisons(self.filter_max_comparisons)
    }

    /// Sets how PATCH is answered.
    pub fn patch_response(mut self, r: PatchResponse) -> Self {
        self.patch_response = r;
        self
    }

    /// Sets the retry bound of compare-and-swap writes.
    pub fn max_retries(mut self, n: u32) -> Self {
        self.max_retries = n;
        self
    }

    /// Turns RFC 9865 cursor pagination on or off.
    pub fn cursor_pagination(mut self, on: bool) -> Self {
        self.cursor_pagination = on;
        self
    }

    /// Sets the tolerated dialects.
    pub fn dialects(mut self, d: Dialects) -> Self {
        self.dialects = d;
        self
    }
}

/// Maps the authenticated context to the resource `/Me` stands for: `(resource type, id)`.
pub type MeResolver = Arc<dyn Fn(&RequestContext) -> Option<(String, String)> + Send + Sync>;

/// A SCIM service provider over a [`ResourceStore`] `S`, authenticating with `A`.
pub struct ScimService<S, A> {
    store: S,
    auth: A,
    registry: Arc<Registry>,
    settings: ServiceSettings,
    events: Option<Arc<dyn EventSink>>,
    passwords: Option<Arc<dyn PasswordSink>>,
    me: Option<MeResolver>,
}

impl<S, A> std::fmt::Debug for ScimService<S, A> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimService")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// A successful answer before it becomes a response.
enum Answer {
    Resource {
        status: StatusCode,
        body: Map<String, Value>,
        version: String,
        location: Option<String>,
    },
    NoContent {
        version: Option<String>,
    },
    NotModified {
        version: String,
    },
    Json(Value),
    /// A resource already written as the body (see `present_raw`).
    Written {
        body: Vec<u8>,
        /// The `ETag` (`W/"version"`).
        etag: String,
    },
}

/// One parsed resource request (also used by `/Bulk`).
struct Call<'r> {
    method: Method,
    schema: ResourceSchema<'r>,
    id: Option<String>,
    body: Option<Value>,
    if_match: Option<Preconditions>,
    if_none_match: Option<Preconditions>,
    query: RawQuery,
}

fn response(status: StatusCode, body: Bytes, plain_json: bool) -> Response<Bytes> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(if plain_json {
            JSON_CONTENT_TYPE
        } else {
            SCIM_CONTENT_TYPE
        }),
    );
    r
}

/// The SCIM Error response for `e`.
pub fn error_response(e: &Error, plain_json: bool) -> Response<Bytes> {
    let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(e).unwrap_or_default();
    response(status, Bytes::from(body), plain_json)
}

fn etag(version: &str) -> String {
    format!("W/\"{version}\"")
}

fn method_not_allowed(allow: &'static str, plain: bool) -> Response<Bytes> {
    let e = Error::status(405, format!("this endpoint allows only {allow}"));
    let mut r = error_response(&e, plain);
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

fn backoff(attempt: u32) {
    use rand_core::TryRngCore;
    let mut b = [0u8; 2];
    let r = rand_core::OsRng
        .try_fill_bytes(&mut b)
        .map(|()| u32::from(u16::from_le_bytes(b)))
        .unwrap_or(attempt);
    let spins = r % (1 << attempt.min(8)) + 1;
    for _ in 0..spins {
        std::thread::yield_now();
    }
}

fn as_object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// Top-level names of an `excludedAttributes` list (`members`, or a core-URN-qualified
/// `...:Group:members`), for a store to leave out.
fn omitted_names(schema: &ResourceSchema<'_>, excluded: Option<&str>) -> Vec<String> {
    let Some(list) = excluded else {
        return Vec::new();
    };
    list.split(',')
        .filter_map(|n| {
            let n = n.trim();
            let n = match n.rsplit_once(':') {
                Some((urn, rest)) if urn.eq_ignore_ascii_case(&schema.core.id) => rest,
                Some(_) => return None,
                None => n,
            };
            if n.is_empty() || n.contains('.') {
                return None;
            }
            let def = schema.core.attribute(n)?;
            // `always` attributes cannot be excluded.
            (def.returned != crate::schema::Returned::Always).then(|| def.name.clone())
        })
        .collect()
}

impl<S: ResourceStore, A: Authenticator> ScimService<S, A> {
    /// A service over `store`, authenticating with `auth`, serving the core User, Group
    /// and EnterpriseUser schemas with the default settings.
    pub fn new(store: S, auth: A) -> Self {
        ScimService {
            store,
            auth,
            registry: Arc::new(Registry::core()),
            settings: ServiceSettings::default(),
            events: None,
            passwords: None,
            me: None,
        }
    }

    /// Serves the resource types and schemas of `registry` instead.
    pub fn with_registry(mut self, registry: Registry) -> Self {
        self.registry = Arc::new(registry);
        self
    }

    /// Sets the settings.
    pub fn with_settings(mut self, settings: ServiceSettings) -> Self {
        self.settings = settings;
        self
    }

    /// Sends provisioning events to `sink` after each commit.
    pub fn with_events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.events = Some(sink);
        self
    }

    /// Hands passwords to `sink` (and advertises `changePassword.supported: true`).
    pub fn with_passwords(mut self, sink: Arc<dyn PasswordSink>) -> Self {
        self.passwords = Some(sink);
        self
    }

    /// Serves `/Me` as the resource `resolver` names for the authenticated context.
    pub fn with_me(mut self, resolver: MeResolver) -> Self {
        self.me = Some(resolver);
        self
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The schema registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The settings.
    pub fn settings(&self) -> &ServiceSettings {
        &self.settings
    }

    /// The largest body [`handle`](Self::handle) accepts: adapters answer 413 above it
    /// without reading the body.
    pub fn max_body_bytes(&self) -> usize {
        let bulk = usize::try_from(self.settings.bulk_max_payload_size).unwrap_or(usize::MAX);
        self.settings.max_body_bytes.max(bulk)
    }

    /// The `/ServiceProviderConfig` these settings advertise.
    pub fn service_provider_config(&self) -> ServiceProviderConfig {
        let c = ServiceProviderConfig::default()
            .with_filter(self.max_results())
            .with_change_password(self.passwords.is_some())
            .with_sort(true)
            .with_etag(true)
            .with_patch(true);
        if self.settings.bulk_max_operations == 0 {
            c.without_bulk()
        } else {
            c.with_bulk(
                self.settings.bulk_max_operations,
                self.settings.bulk_max_payload_size,
            )
        }
    }

    /// The page maximum: the setting, never below 100.
    fn max_results(&self) -> u64 {
        self.settings.max_results.max(100)
    }

    fn base_url(&self) -> &str {
        self.settings
            .base_url
            .as_deref()
            .unwrap_or(&self.settings.base_path)
    }

    fn validate_options(&self) -> ValidateOptions {
        ValidateOptions::new()
            .dialects(self.settings.dialects)
            .keep_unknown_attributes(self.settings.keep_unknown_attributes)
    }

    fn patch_options(&self) -> PatchOptions {
        PatchOptions::new()
            .dialects(self.settings.dialects)
            .max_operations(self.settings.max_patch_operations)
            .keep_unknown_attributes(self.settings.keep_unknown_attributes)
    }

    /// Answers one request. Never panics on any input; every failure is a SCIM error.
    pub async fn handle<B: AsRef<[u8]>>(&self, request: Request<B>) -> Response<Bytes> {
        let (parts, body) = request.into_parts();
        let plain = parts
            .headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(query::wants_plain_json);
        let ctx = match self.auth.authenticate(&parts).await {
            Ok(c) => c,
            Err(f) => {
                let mut r = error_response(&f.error, plain);
                if let Some(h) = f.www_authenticate {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, h);
                }
                return r;
            }
        };
        let mut r = match self.route(&ctx, &parts, body.as_ref(), plain).await {
            Ok(r) => r,
            Err(e) => error_response(&e, plain),
        };
        if parts.method == Method::HEAD {
            *r.body_mut() = Bytes::new();
        }
        r
    }

    async fn route(
        &self,
        ctx: &RequestContext,
        parts: &http::request::Parts,
        body: &[u8],
        plain: bool,
    ) -> Result<Response<Bytes>, Error> {
        let path = parts.uri.path();
        let base = self.settings.base_path.as_str();
        let not_found = || Error::not_found(format!("no endpoint at {}", quote_input(path)));
        let rest = if base.is_empty() {
            path
        } else {
            match path.strip_prefix(base) {
                Some(r) if r.is_empty() || r.starts_with('/') => r,
                _ => return Err(not_found()),
            }
        };
        let segments: Vec<&str> = rest
            .trim_matches('/')
            .split('/')
            .filter(|s| !s.is_empty())
            .collect();
        let method = &parts.method;
        let raw_query = RawQuery::parse(parts.uri.query().unwrap_or(""));
        let first = segments.first().copied().unwrap_or("");

        // Discovery: GET only, decided before the body is looked at.
        let discovery = ["ServiceProviderConfig", "ResourceTypes", "Schemas"]
            .iter()
            .find(|d| d.eq_ignore_ascii_case(first));
        if let Some(&d) = discovery {
            if method != Method::GET && method != Method::HEAD {
                return Ok(method_not_allowed("GET", plain));
            }
            let base_url = self.base_url();
            let value = match (d, segments.get(1), segments.len()) {
                ("ServiceProviderConfig", None, 1) => {
                    let mut v = self.service_provider_config().to_resource(base_url);
                    if let Value::Object(m) = &mut v {
                        m.insert(
                            "pagination".to_owned(),
                            serde_json::json!({
                                "cursor": self.settings.cursor_pagination,
                                "index": true,
                                "defaultPaginationMethod": "index",
                                "defaultPageSize": self.max_results(),
                                "maxPageSize": self.max_results(),
                            }),
                        );
                    }
                    v
                }
                ("ResourceTypes", None, 1) => {
                    to_json(&discovery::resource_types_list(&self.registry, base_url))
                }
                ("Schemas", None, 1) => to_json(&discovery::schemas_list(&self.registry, base_url)),
                ("ResourceTypes", Some(id), 2) => {
                    discovery::resource_type_by_id(&self.registry, id, base_url)
                        .ok_or_else(not_found)?
                }
                ("Schemas", Some(id), 2) => {
                    discovery::schema_by_id(&self.registry, id, base_url).ok_or_else(not_found)?
                }
                _ => return Err(not_found()),
            };
            return Ok(self.respond(Answer::Json(value), plain));
        }

        if segments.is_empty() {
            return Err(not_found());
        }
        if first == ".search" && segments.len() == 1 {
            if method != Method::POST {
                return Ok(method_not_allowed("POST", plain));
            }
            let value = self.check_body(parts, body, self.settings.max_body_bytes)?;
            let answer = self.search_body(ctx, None, value).await?;
            return Ok(self.respond(answer, plain));
        }
        if first.eq_ignore_ascii_case("Bulk") && segments.len() == 1 {
            if method != Method::POST {
                return Ok(method_not_allowed("POST", plain));
            }
            if self.settings.bulk_max_operations == 0 {
                return Err(Error::status(501, "bulk operations are not supported"));
            }
            if body.len() as u64 > self.settings.bulk_max_payload_size {
                return Err(Error::status(
                    413,
                    format!(
                        "the bulk request is larger than maxPayloadSize ({} bytes)",
                        self.settings.bulk_max_payload_size
                    ),
                ));
            }
            let value = self.check_body(parts, body, self.max_body_bytes())?;
            let answer = self.bulk(ctx, value).await?;
            return Ok(self.respond(answer, plain));
        }

        // Resource endpoints, and /Me.
        let (schema, id) = if first.eq_ignore_ascii_case("Me") {
            let Some(me) = &self.me else {
                return Err(Error::status(
                    501,
                    "/Me is not supported: this service does not map the authenticated client to a resource",
                ));
            };
            if segments.len() != 1 {
                return Err(not_found());
            }
            let (rt, id) = me(ctx).ok_or_else(|| Error::not_found("no resource for /Me"))?;
            let schema = self
                .registry
                .resource_type(&rt)
                .ok_or_else(|| Error::not_found("no resource for /Me"))?;
            (schema, Some(id))
        } else {
            let schema = self
                .registry
                .resource_type_by_endpoint(first)
                .ok_or_else(not_found)?;
            match segments.get(1) {
                None => (schema, None),
                Some(&".search") if segments.len() == 2 => {
                    if method != Method::POST {
                        return Ok(method_not_allowed("POST", plain));
                    }
                    let value = self.check_body(parts, body, self.settings.max_body_bytes)?;
                    let answer = self.search_body(ctx, Some(schema), value).await?;
                    return Ok(self.respond(answer, plain));
                }
                Some(id) if segments.len() == 2 => (schema, Some((*id).to_owned())),
                _ => return Err(not_found()),
            }
        };
        let allowed = if id.is_some() {
            [
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ]
            .contains(method)
        } else {
            [Method::GET, Method::HEAD, Method::POST].contains(method)
        };
        if !allowed {
            return Ok(method_not_allowed(
                if id.is_some() {
                    "GET, PUT, PATCH, DELETE"
                } else {
                    "GET, POST"
                },
                plain,
            ));
        }
        let body = if [Method::POST, Method::PUT, Method::PATCH].contains(method) {
            Some(self.check_body(parts, body, self.settings.max_body_bytes)?)
        } else {
            None
        };
        let call = Call {
            method: method.clone(),
            schema,
            id,
            body,
            if_match: Preconditions::parse(parts.headers.get_all(header::IF_MATCH).iter()),
            if_none_match: Preconditions::parse(
                parts.headers.get_all(header::IF_NONE_MATCH).iter(),
            ),
            query: raw_query,
        };
        let answer = self.call(ctx, call).await?;
        Ok(self.respond(answer, plain))
    }

    /// Content type, size and nesting checks, then JSON.
    fn check_body(
        &self,
        parts: &http::request::Parts,
        body: &[u8],
        limit: usize,
    ) -> Result<Value, Error> {
        if let Some(ct) = parts.headers.get(header::CONTENT_TYPE) {
            let ok = ct.to_str().is_ok_and(query::is_json_media_type);
            if !ok {
                return Err(Error::status(
                    415,
                    "the request body must be application/scim+json or application/json",
                ));
            }
        }
        if body.len() > limit {
            return Err(Error::status(
                413,
                format!("the request body is larger than {limit} bytes"),
            ));
        }
        query::check_depth(body, self.settings.max_json_depth)?;
        parse_body(body)
    }

    fn respond(&self, answer: Answer, plain: bool) -> Response<Bytes> {
        match answer {
            Answer::Resource {
                status,
                body,
                version,
                location,
            } => {
                let mut r = response(status, Bytes::from(to_body(&body)), plain);
                if let Ok(v) = HeaderValue::from_str(&etag(&version)) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                if let Some(l) = location
                    && let Ok(v) = HeaderValue::from_str(&l)
                {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                r
            }
            Answer::NoContent { version } => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::NO_CONTENT;
                if let Some(v) = version.and_then(|v| HeaderValue::from_str(&etag(&v)).ok()) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
            Answer::NotModified { version } => {
                let mut r = Response::new(Bytes::new());
                *r.status_mut() = StatusCode::NOT_MODIFIED;
                if let Ok(v) = HeaderValue::from_str(&etag(&version)) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
            Answer::Json(v) => response(StatusCode::OK, Bytes::from(to_body(&v)), plain),
            Answer::Written { body, etag } => {
                let mut r = response(StatusCode::OK, Bytes::from(body), plain);
                if let Ok(v) = HeaderValue::try_from(etag) {
                    r.headers_mut().insert(header::ETAG, v);
                }
                r
            }
        }
    }

    /// The resource as the client sees it: `id`, `meta`, absolute `$ref`s, projected. The
    /// attributes are moved out of `stored` (left empty), not copied.
    fn present(
        &self,
        schema: &ResourceSchema<'_>,
        stored: &mut StoredResource,
        projection: &Projection<'_>,
    ) -> Map<String, Value> {
        let base = self.base_url();
        let mut m = take_for_answer(schema, stored, base);
        m.insert("id".to_owned(), Value::from(stored.id.as_str()));
        let mut meta = Map::new();
        meta.insert(
            "resourceType".to_owned(),
            Value::from(schema.resource_type.name.as_str()),
        );
        meta.insert("created".to_owned(), Value::from(stored.created.as_str()));
        meta.insert(
            "lastModified".to_owned(),
            Value::from(stored.last_modified.as_str()),
        );
        meta.insert(
            "location".to_owned(),
            Value::from(self.location(schema, &stored.id)),
        );
        meta.insert("version".to_owned(), Value::from(etag(&stored.version)));
        m.insert("meta".to_owned(), Value::Object(meta));
        projection.apply_owned(m)
    }

    /// The answer to a read of `raw` without `attributes` or `excludedAttributes`
    /// (`projection` is [`Projection::all`]), its stored text written into the body as it
    /// is when the projection would change nothing in it
    /// ([`crate::project::shown_as_stored`]); `None` (`raw` untouched) otherwise, to be
    /// presented the usual way. The body has the members [`present`](Self::present) gives (the
    /// stored ones in their order, then the derived ones, `id` and `meta`).
    fn present_raw(
        &self,
        schema: &ResourceSchema<'_>,
        raw: &mut RawResource,
        projection: &Projection<'_>,
    ) -> Option<Answer> {
        let shown = {
            let mut reserved = vec!["id", "meta"];
            reserved.extend(raw.derived.keys().map(String::as_str));
            crate::project::shown_as_stored(schema, &raw.json, &reserved)
        };
        let inner = raw
            .json
            .trim()
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .filter(|_| shown);
        let inner = inner?;
        let base = self.base_url();
        let mut body = Vec::with_capacity(raw.json.len() + 512);
        body.push(b'{');
        body.extend_from_slice(inner.as_bytes());
        let mut extra = std::mem::take(&mut raw.derived);
        absolute_refs(base, &mut extra);
        for (k, v) in &projection.apply_owned(extra) {
            write_member(&mut body, k, v);
        }
        body.extend_from_slice(b",\"id\":\"");
        push_json_text(&mut body, &raw.id);
        // `meta` as `present` builds it (a map: its members in key order), written piece
        // by piece (the location and the version are not put together first).
        body.extend_from_slice(b"\",\"meta\":{\"created\":\"");
        push_json_text(&mut body, &raw.created);
        body.extend_from_slice(b"\",\"lastModified\":\"");
        push_json_text(&mut body, &raw.last_modified);
        body.extend_from_slice(b"\",\"location\":\"");
        push_json_text(&mut body, base);
        body.push(b'/');
        push_json_text(&mut body, schema.resource_type.endpoint.trim_matches('/'));
        body.push(b'/');
        push_json_text(&mut body, &raw.id);
        body.extend_from_slice(b"\",\"resourceType\":\"");
        push_json_text(&mut body, &schema.resource_type.name);
        body.extend_from_slice(b"\",\"version\":\"W/\\\"");
        push_json_text(&mut body, &raw.version);
        body.extend_from_slice(b"\\\"\"}}");
        Some(Answer::Written {
            body,
            etag: etag(&raw.version),
        })
    }

    /// What [`present`](Self::present) and `respond` give for `stored` (200), written into
    /// the body directly: the members in key order as the map would serialise them, with
    /// `id` and `meta` written piece by piece at their places (no map built for `meta`, no
    /// `location` or version `String` put together first). The attributes are moved out of
    /// `stored`.
    fn present_written(
        &self,
        schema: &ResourceSchema<'_>,
        stored: &mut StoredResource,
        projection: &Projection<'_>,
    ) -> Answer {
        let base = self.base_url();
        let m = take_for_answer(schema, stored, base);
        // `present` inserts `id` and `meta` before projecting; what the projection keeps
        // of them is theirs whatever the map held under those names (a member renamed to
        // `id` or `meta` sorts before it and yields), and `all` keeps both whole.
        let m = projection.apply_owned(m);
        let mut body = Vec::with_capacity(1024);
        body.push(b'{');
        let (mut id_done, mut meta_done) = (false, false);
        for (k, v) in &m {
            let k = k.as_str();
            if k == "id" || k == "meta" {
                continue;
            }
            if !id_done && k > "id" {
                self.write_id(&mut body, stored);
                id_done = true;
            }
            if !meta_done && k > "meta" {
                self.write_meta(&mut body, schema, stored);
                meta_done = true;
            }
            write_member(&mut body, k, v);
        }
        if !id_done {
            self.write_id(&mut body, stored);
        }
        if !meta_done {
            self.write_meta(&mut body, schema, stored);
        }
        body.push(b'}');
        // `write_member` starts every member with a comma: the first one has none.
        if body.get(1) == Some(&b',') {
            body.remove(1);
        }
        Answer::Written {
            body,
            etag: etag(&stored.version),
        }
    }

    /// `,"id":"..."`.
    fn write_id(&self, body: &mut Vec<u8>, stored: &StoredResource) {
        body.extend_from_slice(b",\"id\":\"");
        push_json_text(body, &stored.id);
        body.push(b'"');
    }

    /// `,"meta":{...}` as `present` builds it (a map: its members in key order).
    fn write_meta(&self, body: &mut Vec<u8>, schema: &ResourceSchema<'_>, stored: &StoredResource) {
        body.extend_from_slice(b",\"meta\":{\"created\":\"");
        push_json_text(body, &stored.created);
        body.extend_from_slice(b"\",\"lastModified\":\"");
        push_json_text(body, &stored.last_modified);
        body.extend_from_slice(b"\",\"location\":\"");
        push_json_text(body, self.base_url());
        body.push(b'/');
        push_json_text(body, schema.resource_type.endpoint.trim_matches('/'));
        body.push(b'/');
        push_json_text(body, &stored.id);
        body.extend_from_slice(b"\",\"resourceType\":\"");
        push_json_text(body, &schema.resource_type.name);
        body.extend_from_slice(b"\",\"version\":\"W/\\\"");
        push_json_text(body, &stored.version);
        body.extend_from_slice(b"\\\"\"}");
    }

    fn location(&self, schema: &ResourceSchema<'_>, id: &str) -> String {
        format!(
            "{}/{}/{}",
            self.base_url(),
            schema.resource_type.endpoint.trim_matches('/'),
            id
        )
    }

    fn emit(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        before: Option<&Map<String, Value>>,
        after: Option<&Map<String, Value>>,
    ) {
        let Some(sink) = &self.events else { return };
        for (kind, members) in events::classify(resource_type, before, after) {
            sink.on_event(&ProvisioningEvent {
                context: ctx.clone(),
                kind,
                resource_type: resource_type.to_owned(),
                id: id.to_owned(),
                before: before.cloned(),
                after: after.cloned(),
                members,
            });
        }
    }

    fn hand_password(&self, ctx: &RequestContext, id: &str, password: Option<Password>) {
        if let (Some(sink), Some(p)) = (&self.passwords, password) {
            sink.set_password(ctx, id, &p);
        }
    }

    /// Executes one resource request.
    async fn call(&self, ctx: &RequestContext, call: Call<'_>) -> Result<Answer, Error> {
        let schema = call.schema;
        let projection = Projection::parse(
            call.query.attributes.as_deref(),
            call.query.excluded_attributes.as_deref(),
            &schema,
        )?;
        match (&call.method, call.id.as_deref()) {
            (m, None) if m == Method::GET || m == Method::HEAD => {
                self.search(ctx, &[schema], &call.query).await
            }
            (m, None) if m == Method::POST => {
                self.create(ctx, &schema, call.body.unwrap_or(Value::Null), &projection)
                    .await
            }
            (m, Some(id)) if m == Method::GET || m == Method::HEAD => {
                let rt = schema.resource_type.name.as_str();
                let raw = if projection.is_all() {
                    self.store.get_raw(ctx, rt, id).await?
                } else {
                    None
                };
                let mut stored = match raw {
                    Some(raw) => {
                        if let Some(p) = &call.if_none_match
                            && p.matches(&raw.version)
                        {
                            return Ok(Answer::NotModified {
                                version: raw.version,
                            });
                        }
                        let mut raw = raw;
                        match self.present_raw(&schema, &mut raw, &projection) {
                            Some(answer) => return Ok(answer),
                            None => raw.into_stored()?,
                        }
                    }
                    None => {
                        let omit =
                            omitted_names(&schema, call.query.excluded_attributes.as_deref());
                        self.store.get_omitting(ctx, rt, id, &omit).await?
                    }
                };
                if let Some(p) = &call.if_none_match
                    && p.matches(&stored.version)
                {
                    return Ok(Answer::NotModified {
                        version: stored.version,
                    });
                }
                Ok(Answer::Resource {
                    status: StatusCode::OK,
                    body: self.present(&schema, &mut stored, &projection),
                    version: stored.version,
                    location: None,
                })
            }
            (m, Some(id)) if m == Method::DELETE => {
                let rt = schema.resource_type.name.as_str();
                let expected = match &call.if_match {
                    Some(p) => {
                        let current = self.store.get(ctx, rt, id).await?;
                        if !p.matches(&current.version) {
                            return Err(precondition_failed());
                        }
                        Some(current.version)
                    }
                    None => None,
                };
                let before = self
                    .store
                    .delete(ctx, rt, id, expected.as_deref())
                    .await
                    .map_err(|e| match e {
                        StoreError::VersionConflict => precondition_failed(),
                        e => e.into(),
                    })?;
                self.emit(ctx, rt, id, Some(&before.attributes), None);
                Ok(Answer::NoContent { version: None })
            }
            (m, Some(id)) if m == Method::PUT || m == Method::PATCH => {
                let body = call.body.unwrap_or(Value::Null);
                let is_patch = m == Method::PATCH;
                let (mut stored, status) = if is_patch {
                    self.patch(ctx, &schema, id, body, call.if_match.as_ref(), &call.query)
                        .await?
                } else {
                    (
                        self.replace(ctx, &schema, id, body, call.if_match.as_ref())
                            .await?,
                        StatusCode::OK,
                    )
                };
                if status == StatusCode::NO_CONTENT {
                    return Ok(Answer::NoContent {
                        version: Some(stored.version),
                    });
                }
                if projection.is_all() {
                    return Ok(self.present_written(&schema, &mut stored, &projection));
                }
                Ok(Answer::Resource {
                    status,
                    body: self.present(&schema, &mut stored, &projection),
                    version: stored.version,
                    location: None,
                })
            }
            _ => Err(Error::status(405, "method not allowed")),
        }
    }

    async fn create(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema<'_>,
        body: Value,
        projection: &Projection<'_>,
    ) -> Result<Answer, Error> {
        if !body.is_object() || body.get("schemas").is_none() {
            return Err(Error::invalid_syntax(format!(
                "a {} resource body must be a JSON object with \"schemas\"",
                schema.resource_type.name
            )));
        }
        let mut attrs =
            validate_resource(schema, body, Mode::Create, None, &self.validate_options())?;
        let password = take_password(&mut attrs);
        let rt = schema.resource_type.name.as_str();
        let mut stored = self.store.create(ctx, rt, attrs).await?;
        self.emit(ctx, rt, &stored.id, None, Some(&stored.attributes));
        self.hand_password(ctx, &stored.id, password);
        Ok(Answer::Resource {
            status: StatusCode::CREATED,
            body: self.present(schema, &mut stored, projection),
            location: Some(self.location(schema, &stored.id)),
            version: stored.version,
        })
    }

    /// The stored resource with `id` (what PATCH and validation see).
    fn full(stored: &StoredResource) -> Map<String, Value> {
        let mut m = stored.attributes.clone();
        m.insert("id".to_owned(), Value::from(stored.id.as_str()));
        m
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema<'_>,
        id: &str,
        body: Value,
        if_match: Option<&Preconditions>,
    ) -> Result<StoredResource, Error> {
        if !body.is_object() || body.get("schemas").is_none() {
            return Err(Error::invalid_syntax(format!(
                "a {} resource body must be a JSON object with \"schemas\"",
                schema.resource_type.name
            )));
        }
        let rt = schema.resource_type.name.as_str();
        let mut attempt = 0;
        loop {
            let current = self.store.get(ctx, rt, id).await?;
            if let Some(p) = if_match
                && !p.matches(&current.version)
            {
                return Err(precondition_failed());
            }
            let existing = Self::full(&current);
            let mut attrs = validate_resource(
                schema,
                body.clone(),
                Mode::Replace,
                Some(&existing),
                &self.validate_options(),
            )?;
            let password = take_password(&mut attrs);
            match self
                .store
                .replace(ctx, rt, id, attrs, &current.version)
                .await
            {
                Ok(new) => {
                    self.emit(
                        ctx,
                        rt,
                        id,
                        Some(&current.attributes),
                        Some(&new.attributes),
                    );
                    self.hand_password(ctx, id, password);
                    return Ok(new);
                }
                Err(StoreError::VersionConflict) if if_match.is_none() => {
                    attempt += 1;
                    if attempt > self.settings.max_retries {
                        return Err(contention());
                    }
                    backoff(attempt);
                }
                Err(StoreError::VersionConflict) => return Err(precondition_failed()),
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn patch_status(&self, schema: &ResourceSchema<'_>) -> StatusCode {
        match self.settings.patch_response {
            PatchResponse::Resource => StatusCode::OK,
            PatchResponse::NoContent => StatusCode::NO_CONTENT,
            PatchResponse::NoContentForGroups if schema.resource_type.name == GROUP => {
                StatusCode::NO_CONTENT
            }
            PatchResponse::NoContentForGroups => StatusCode::OK,
        }
    }

    async fn patch(
        &self,
        ctx: &RequestContext,
        schema: &ResourceSchema<'_>,
        id: &str,
        body: Value,
        if_match: Option<&Preconditions>,
        query: &RawQuery,
    ) -> Result<(StoredResource, StatusCode), Error> {
        let op: PatchOp = serde_json::from_value(body)
            .map_err(|e| Error::invalid_syntax(format!("invalid PatchOp: {e}")))?;
        op.check_schemas()?;
        let status = self.patch_status(schema);
        let rt = schema.resource_type.name.as_str();

        if let Some(changes) = self.member_changes(schema, &op)? {
            let mut attempt = 0;
            loop {
                let expected = match if_match {
                    Some(p) => {
                        let current = self.store.get_omitting(ctx, rt, id, &members()).await?;
                        if !p.matches(&current.version) {
                            return Err(precondition_failed());
                        }
                        Some(current.version)
                    }
                    None => None,
                };
                match self
                    .store
                    .modify_members(ctx, rt, id, &changes, expected.as_deref())
                    .await
                {
                    Ok(done) => {
                        if let Some(sink) = &self.events {
                            for (kind, list) in [
                                (EventKind::MembersAdded, &done.added),
                                (EventKind::MembersRemoved, &done.removed),
                            ] {
                                if !list.is_empty() {
                                    sink.on_event(&ProvisioningEvent {
                                        context: ctx.clone(),
                                        kind,
                                        resource_type: rt.to_owned(),
                                        id: id.to_owned(),
                                        before: None,
                                        after: Some(done.resource.attributes.clone()),
                                        members: list.clone(),
                                    });
                                }
                            }
                        }
                        let omit = omitted_names(schema, query.excluded_attributes.as_deref());
                        let shows_members = !omit.iter().any(|n| n == "members");
                        if status == StatusCode::NO_CONTENT || !shows_members {
                            return Ok((done.resource, status));
                        }
                        let full = self.store.get_omitting(ctx, rt, id, &omit).await?;
                        return Ok((full, status));
                    }
                    Err(StoreError::VersionConflict) if if_match.is_none() => {
                        attempt += 1;
                        if attempt > self.settings.max_retries {
                            return Err(contention());
                        }
                        backoff(attempt);
                    }
                    Err(StoreError::VersionConflict) => return Err(precondition_failed()),
                    Err(e) => return Err(e.into()),
                }
            }
        }

        // The read, the patch, its validation and the write are one `update` of the store,
        // which may run the edit inside its write transaction.
        let op = Arc::new(op);
        let mut attempt = 0;
        loop {
            let edit = {
                let (registry, op, if_match) =
                    (self.registry.clone(), op.clone(), if_match.cloned());
                let rt = rt.to_owned();
                let (options, validate) = (self.patch_options(), self.validate_options());
                // The events need the resource as it was: then the edit patches a copy.
                let keep_before = self.events.is_some();
                move |current: &mut StoredResource| -> Result<Edit<Option<Password>>, Error> {
                    let schema = registry
                        .resource_type(&rt)
                        .ok_or_else(|| Error::status(404, "unknown resource type"))?;
                    if let Some(p) = &if_match
                        && !p.matches(&current.version)
                    {
                        return Err(precondition_failed());
                    }
                    // The attributes are patched in place: taken out of `current` unless
                    // something needs them as they were (the events, or validation when an
                    // attribute may be immutable), else a copy. Validation compares with the
                    // stored attributes (`id`, read-only, is not compared).
                    let compare = compares_with_existing(&schema);
                    if keep_before || compare {
                        let mut patched = Self::full(current);
                        if !apply_patch_in_place(&schema, &mut patched, &op, &options)? {
                            return Ok(Edit::Unchanged);
                        }
                        let existing = compare.then_some(&current.attributes);
                        let mut attrs = validate_resource(
                            &schema,
                            Value::Object(patched),
                            Mode::Patch,
                            existing,
                            &validate,
                        )?;
                        let password = take_password(&mut attrs);
                        return Ok(Edit::Write(attrs, password));
                    }
                    let mut patched = std::mem::take(&mut current.attributes);
                    let stored_id =
                        patched.insert("id".to_owned(), Value::from(current.id.as_str()));
                    // On an error the patch left `patched` as it was; `current` is dropped.
                    if !apply_patch_in_place(&schema, &mut patched, &op, &options)? {
                        // Unchanged: `current` is the answer, as it was read.
                        match stored_id {
                            Some(v) => patched.insert("id".to_owned(), v),
                            None => patched.remove("id"),
                        };
                        current.attributes = patched;
                        return Ok(Edit::Unchanged);
                    }
                    // The stored attributes were validated when written: only those the
                    // operations name are validated again (`validate_patched` falls back to
                    // the whole resource when it cannot tell).
                    let mut attrs = match op.top_level_names() {
                        Some(touched) => {
                            validate_patched_unchecked(&schema, patched, &touched, &validate)?
                        }
                        None => validate_resource(
                            &schema,
                            Value::Object(patched),
                            Mode::Patch,
                            None,
                            &validate,
                        )?,
                    };
                    let password = take_password(&mut attrs);
                    Ok(Edit::Write(attrs, password))
                }
            };
            match self.store.update(ctx, rt, id, edit).await {
                Ok(Updated {
                    before,
                    after: Some(new),
                    extra,
                }) => {
                    self.emit(ctx, rt, id, Some(&before.attributes), Some(&new.attributes));
                    self.hand_password(ctx, id, extra.flatten());
                    return Ok((new, status));
                }
                Ok(Updated { before, .. }) => return Ok((before, status)),
                Err(UpdateError::Edit(e)) => return Err(e),
                Err(UpdateError::Store(StoreError::VersionConflict)) if if_match.is_none() => {
                    attempt += 1;
                    if attempt > self.settings.max_retries {
                        return Err(contention());
                    }
                    backoff(attempt);
                }
                Err(UpdateError::Store(StoreError::VersionConflict)) => {
                    return Err(precondition_failed());
                }
                Err(UpdateError::Store(e)) => return Err(e.into()),
            }
        }
    }

    /// When every operation of a Group PATCH only adds or removes members by value, the
    /// changes for [`ResourceStore::modify_members`]; `None` otherwise.
    fn member_changes(
        &self,
        schema: &ResourceSchema<'_>,
        op: &PatchOp,
    ) -> Result<Option<Vec<MemberChange>>, Error> {
        // Over the operation limit: the general path refuses it.
        if schema.resource_type.name != GROUP
            || op.operations.is_empty()
            || op.operations.len() > self.settings.max_patch_operations
        {
            return Ok(None);
        }
        let Some(def) = schema.core.attribute("members") else {
            return Ok(None);
        };
        let dialects = self.settings.dialects;
        let mut changes = Vec::new();
        for o in &op.operations {
            if !o.op_is_lower_case() && !dialects.op_any_case {
                return Ok(None);
            }
            let Some(path) = o.path.as_deref() else {
                return Ok(None);
            };
            let path = path.trim();
            let is_members = path.eq_ignore_ascii_case("members")
                || path.eq_ignore_ascii_case(&format!("{}:members", schema.core.id));
            match o.op {
                PatchOpKind::Add if is_members => {
                    let Some(value) = o.value.clone() else {
                        return Ok(None);
                    };
                    let ctx = ValueContext::new(dialects).drop_read_only(true);
                    let Value::Array(list) = normalize_value_with(def, value, &ctx, "members")?
                    else {
                        return Ok(None);
                    };
                    let mut objs = Vec::with_capacity(list.len());
                    for m in list {
                        let m = as_object(m);
                        if !m.get("value").is_some_and(Value::is_string) {
                            return Ok(None);
                        }
                        objs.push(m);
                    }
                    changes.push(MemberChange::Add(objs));
                }
                PatchOpKind::Remove if is_members => match &o.value {
                    None | Some(Value::Null) => changes.push(MemberChange::RemoveAll),
                    Some(Value::Array(list)) if dialects.remove_listed_values => {
                        let mut values = Vec::new();
                        for m in list {
                            match m.get("value").and_then(Value::as_str) {
                                Some(v) => values.push(v.to_owned()),
                                None => return Ok(None),
                            }
                        }
                        changes.push(MemberChange::Remove(values));
                    }
                    _ => return Ok(None),
                },
                PatchOpKind::Remove if o.value.is_none() => {
                    let parser = dialects.filter_parser();
                    let Ok(p) = parser.parse_path(path) else {
                        return Ok(None);
                    };
                    let members_attr = p.attr.name().eq_ignore_ascii_case("members")
                        && p.attr.sub_attr().is_none()
                        && p.attr
                            .urn()
                            .is_none_or(|u| u.eq_ignore_ascii_case(&schema.core.id));
                    match (members_attr, p.filter.as_ref().and_then(Filter::as_compare)) {
                        (true, Some(c))
                            if c.op == CompareOp::Eq
                                && c.attr.name().eq_ignore_ascii_case("value")
                                && c.attr.sub_attr().is_none()
                                && c.attr.urn().is_none() =>
                        {
                            match &c.value {
                                CompValue::String(s) => {
                                    changes.push(MemberChange::Remove(vec![s.to_string()]));
                                }
                                _ => return Ok(None),
                            }
                        }
                        _ => return Ok(None),
                    }
                }
                _ => return Ok(None),
            }
        }
        Ok(Some(changes))
    }

    /// A SearchRequest body, at the root (`schema` `None`) or for one type.
    async fn search_body(
        &self,
        ctx: &RequestContext,
        schema: Option<ResourceSchema<'_>>,
        body: Value,
    ) -> Result<Answer, Error> {
        if let Some(s) = body.get("schemas") {
            let ok = s.as_array().is_some_and(|a| {
                a.is_empty()
                    || a.iter().any(|u| {
                        u.as_str()
                            .is_some_and(|u| u.eq_ignore_ascii_case(SEARCH_REQUEST_SCHEMA))
                    })
            });
            if !ok {
                return Err(Error::invalid_syntax(format!(
                    "a /.search body must be a SearchRequest listing \"{SEARCH_REQUEST_SCHEMA}\" in \"schemas\""
                )));
            }
        }
        let cursor = body
            .get("cursor")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let req = SearchRequest::from_json(body)?;
        let q = RawQuery {
            cursor,
            attributes: req.attributes_param(),
            excluded_attributes: req.excluded_attributes_param(),
            filter: req.filter.clone(),
            sort_by: req.sort_by.clone(),
            sort_order: req.sort_order.map(|o| match o {
                SortOrder::Ascending => "ascending".to_owned(),
                SortOrder::Descending => "descending".to_owned(),
            }),
            start_index: req.start_index.map(|n| n.to_string()),
            count: req.count.map(|n| n.to_string()),
        };
        let types: Vec<ResourceSchema<'_>> = match schema {
            Some(s) => vec![s],
            None => self
                .registry
                .resource_types()
                .iter()
                .filter_map(|rt| self.registry.resource_type(&rt.name))
                .collect(),
        };
        self.search(ctx, &types, &q).await
    }

    /// A list query over one or more resource types (several: the root `/.search`,
    /// results of each type in turn).
    async fn search(
        &self,
        ctx: &RequestContext,
        types: &[ResourceSchema<'_>],
        q: &RawQuery,
    ) -> Result<Answer, Error> {
        let start = q
            .start_index
            .as_deref()
            .map(|s| query::parse_int("startIndex", s))
            .transpose()?;
        let count = q
            .count
            .as_deref()
            .map(|s| query::parse_int("count", s))
            .transpose()?;
        let cursor = match q.cursor.as_deref() {
            Some(c) if self.settings.cursor_pagination => {
                if start.is_some() {
                    return Err(Error::invalid_value(
                        "`cursor` and `startIndex` cannot be used together",
                    ));
                }
                Some(query::decode_cursor(c.trim())?)
            }
            _ => None,
        };
        let start = match cursor {
            Some(offset) => offset.saturating_add(1),
            None => query::clamp_start(start),
        };
        let count = query::clamp_count(count, self.max_results());
        let sort_order = query::parse_sort_order(q.sort_order.as_deref())?;
        let parser = self.settings.filter_parser();
        let filter = match q.filter.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(parser.parse(text).map_err(|e| {
                Error::invalid_filter(format!(
                    "the filter {} does not parse: {e}",
                    quote_input(text)
                ))
            })?),
        };
        let sort_by: Option<AttrPath<'_>> = match q.sort_by.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(
                parser
                    .parse_path(text)
                    .map_err(|e| {
                        Error::invalid_value(format!(
                            "`sortBy` {} is not an attribute path: {e}",
                            quote_input(text)
                        ))
                    })?
                    .attr,
            ),
        };
        let mut first_error = None;
        let mut total = 0u64;
        let mut resources = Vec::new();
        // Position in the concatenated results where the page starts.
        let mut skip = start - 1;
        let mut want = count;
        for schema in types {
            if let Some(f) = &filter
                && let Err(e) = f.check(schema)
            {
                if types.len() == 1 {
                    return Err(Error::invalid_filter(format!(
                        "the filter {} cannot be applied: {e}",
                        quote_input(q.filter.as_deref().unwrap_or(""))
                    )));
                }
                first_error.get_or_insert(e);
                continue;
            }
            let projection = Projection::parse(
                q.attributes.as_deref(),
                q.excluded_attributes.as_deref(),
                schema,
            )?;
            let omit = omitted_names(schema, q.excluded_attributes.as_deref());
            let lq = ListQuery {
                schema: *schema,
                filter: filter.as_ref(),
                sort_by: sort_by.as_ref(),
                sort_order,
                start_index: skip + 1,
                count: want,
                omit: &omit,
            };
            let page = self.store.list(ctx, &lq).await.map_err(|e| match e {
                StoreError::Backend(d) if types.len() == 1 => {
                    Error::invalid_filter(format!("the filter cannot be evaluated: {d}"))
                }
                e => e.into(),
            })?;
            total += page.total;
            skip = skip.saturating_sub(page.total);
            want = want.saturating_sub(page.resources.len() as u64);
            for mut r in page.resources {
                resources.push(Value::Object(self.present(schema, &mut r, &projection)));
            }
        }
        if total == 0
            && let Some(e) = first_error
            && types
                .iter()
                .all(|s| filter.as_ref().is_some_and(|f| f.check(s).is_err()))
        {
            return Err(Error::invalid_filter(format!(
                "the filter cannot be applied: {e}"
            )));
        }
        let returned = resources.len() as u64;
        // The page without its resources to JSON, then the resources moved in (not copied).
        let mut list = ListResponse::new(resources, total, start);
        let resources = std::mem::take(&mut list.resources);
        let mut page = to_json(&list);
        if let Value::Object(m) = &mut page {
            m.insert("Resources".to_owned(), Value::Array(resources));
        }
        if cursor.is_some()
            && let Value::Object(m) = &mut page
        {
            m.remove("startIndex");
            let next = (start - 1).saturating_add(returned);
            if next < total && returned > 0 {
                m.insert(
                    "nextCursor".to_owned(),
                    Value::from(query::encode_cursor(next)),
                );
            }
            if start > 1 {
                let prev = (start - 1).saturating_sub(count);
                m.insert(
                    "previousCursor".to_owned(),
                    Value::from(query::encode_cursor(prev)),
                );
            }
        }
        Ok(Answer::Json(page))
    }
}

fn members() -> Vec<String> {
    vec!["members".to_owned()]
}

/// A response body: `v` as JSON text, written into a buffer sized for a typical resource
/// (no regrowing from empty); empty if it cannot be written.
fn to_body<T: serde::Serialize>(v: &T) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1024);
    if serde_json::to_writer(&mut bytes, v).is_err() {
        bytes.clear();
    }
    bytes
}

/// The attributes of `stored`, moved out (left empty), with `schemas` (the core schema's id
/// when the stored resource has none) and the relative `$ref`s made absolute under `base`:
/// what `present` and `present_written` start from.
fn take_for_answer(
    schema: &ResourceSchema<'_>,
    stored: &mut StoredResource,
    base: &str,
) -> Map<String, Value> {
    let mut m = std::mem::take(&mut stored.attributes);
    if !m.contains_key("schemas") {
        m.insert(
            "schemas".to_owned(),
            Value::Array(vec![Value::from(schema.core.id.as_str())]),
        );
    }
    absolute_refs(base, &mut m);
    m
}

/// Makes the relative `$ref`s of the `members` and `groups` in `m` absolute under `base`.
fn absolute_refs(base: &str, m: &mut Map<String, Value>) {
    for list in ["members", "groups"] {
        if let Some(Value::Array(items)) = m.get_mut(list) {
            for item in items {
                if let Some(Value::String(r)) = item.get_mut("$ref")
                    && r.starts_with('/')
                {
                    *r = format!("{base}{r}");
                }
            }
        }
    }
}

/// Appends `,"name":value` to a JSON object being written.
/// Appends `text` as the inside of a JSON string (without the quotes), escaped as
/// serde_json escapes it; text with nothing to escape (the usual ids, times and URLs) is
/// copied as it is.
fn push_json_text(body: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        body.extend_from_slice(text.as_bytes());
        return;
    }
    let start = body.len();
    if serde_json::to_writer(&mut *body, text).is_ok() && body.len() >= start + 2 {
        body.pop();
        body.remove(start);
    } else {
        body.truncate(start);
    }
}

fn write_member<T: serde::Serialize + ?Sized>(body: &mut Vec<u8>, name: &str, value: &T) {
    body.push(b',');
    let _ = serde_json::to_writer(&mut *body, name);
    body.push(b':');
    let _ = serde_json::to_writer(&mut *body, value);
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// Takes the `password` out of `attrs` (it is handed to the password sink, never stored).
fn take_password(attrs: &mut Map<String, Value>) -> Option<Password> {
    match attrs.remove("password") {
        Some(Value::String(s)) => Some(Password::new(s)),
        _ => None,
    }
}

fn precondition_failed() -> Error {
    Error::status(
        412,
        "the resource's version does not match the If-Match precondition",
    )
}

fn contention() -> Error {
    Error::status(
        503,
        "the resource is being modified by too many concurrent requests; retry",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;
    use serde_json::json;

    /// `present_written` writes the bytes `present` and `respond` give, whatever the map
    /// holds: members sorting before and after `id` and `meta`, other spellings of those
    /// names, relative `$ref`s, no `schemas`, an attribute never returned, text to escape.
    #[test]
    fn present_written_writes_what_present_and_respond_give() {
        let svc = ScimService::new(
            MemoryStore::new(),
            FixedContext(RequestContext::new("t", "i", "I")),
        )
        .with_settings(ServiceSettings::new().base_url("https://h.example/scim/v2"));
        let cases = [
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "a", "active": true}),
            json!({"userName": "b", "displayName": "B \"q\" \u{1}", "name": {"givenName": "G"}}),
            json!({"userName": "c", "Id": "x", "META": {"a": 1}, "id": "y", "meta": {"b": 2}, "zzz": 1, "aaa": [1]}),
            json!({"userName": "d", "password": "secret", "emails": [], "groups": [{"value": "g1", "$ref": "/Groups/g1", "display": "G1"}]}),
            json!({"userName": "e", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D"}, "USERNAME": "E"}),
            json!({"ids": 1, "i": 2, "metb": 3, "mets": 4, "userName": "f"}),
        ];
        for (i, case) in cases.into_iter().enumerate() {
            for rt in ["User", "Group"] {
                let schema = svc.registry.resource_type(rt).expect("schema");
                let projection = Projection::all(&schema);
                let Value::Object(attributes) = case.clone() else {
                    panic!("object")
                };
                let stored = StoredResource {
                    id: format!("id-{i}\"\\"),
                    version: format!("{i}"),
                    created: "2026-11-29T00:00:00Z".to_owned(),
                    last_modified: "2026-11-29T00:00:01.5Z".to_owned(),
                    attributes,
                };
                let mut a = stored.clone();
                let body = svc.present(&schema, &mut a, &projection);
                let expected = svc.respond(
                    Answer::Resource {
                        status: StatusCode::OK,
                        body,
                        version: a.version,
                        location: None,
                    },
                    false,
                );
                let mut b = stored.clone();
                let written = svc.present_written(&schema, &mut b, &projection);
                let got = svc.respond(written, false);
                assert_eq!(
                    String::from_utf8_lossy(got.body()),
                    String::from_utf8_lossy(expected.body()),
                    "case {i} as {rt}"
                );
                assert_eq!(got.status(), expected.status());
                assert_eq!(got.headers(), expected.headers(), "case {i} as {rt}");
            }
        }
    }
}
