//! Per-integration SCIM bearer tokens.
//!
//! An administrator creates a "SCIM directory integration" for an identity provider and
//! generates its token; the token is shown once and never again; the identity provider sends
//! it as `Authorization: Bearer <token>` on every request. This crate generates, stores (as a
//! digest), verifies, rotates and revokes those tokens. One tenant may have several
//! integrations, one per identity provider.
//!
//! # The primary types
//!
//! * [`TokenService`]: the lifecycle — [`create`](TokenService::create),
//!   [`get`](TokenService::get), [`list`](TokenService::list),
//!   [`rename`](TokenService::rename), [`rotate`](TokenService::rotate),
//!   [`revoke_previous`](TokenService::revoke_previous), [`delete`](TokenService::delete) —
//!   and verification of a request, [`authenticate`](TokenService::authenticate), from an
//!   [`http::HeaderMap`] to a [`Verified`] (tenant, integration).
//! * [`Settings`]: the token prefix, the realm, the optional pepper ([`DigestKeys`]), bare
//!   tokens (Okta's "Header" mode), the granularity of the last-use time. It also verifies
//!   as a pure function, [`Settings::verify_record`], for a service that fetches the record
//!   itself.
//! * [`Integration`] and [`TokenRecord`]: what is stored, serde types (no token text in
//!   them, only digests).
//! * [`TokenStore`]: where records live; [`MemoryStore`] keeps them in memory.
//! * [`SecretToken`]: a token just generated, the only time its text exists.
//! * [`AuthError`]: a refused request, knowing its status and `WWW-Authenticate` value;
//!   [`Error`]: a failure of the lifecycle API.
//! * [`Clock`]: the time, injectable ([`SystemClock`], [`ManualClock`]).
//!
//! # The flow
//!
//! create → show the token once → verify on every request → rotate (with an optional grace
//! period) → delete.
//!
//! ```
//! use std::time::Duration;
//! use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
//! use scim_tokens::{MemoryStore, Settings, TenantId, TokenOptions, TokenService};
//!
//! let service = TokenService::new(MemoryStore::new(), Settings::default());
//! let tenant = TenantId::new("acme")?;
//!
//! // The administrator clicks "Generate token": show `issued.token()` once.
//! let issued = service.create(&tenant, "Okta", TokenOptions::new())?;
//! let text = issued.token().expose_secret().to_owned();
//! assert!(text.starts_with("scim_"));
//! let id = issued.integration().id();
//!
//! // Every request of the identity provider.
//! let mut headers = HeaderMap::new();
//! headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {text}"))?);
//! let verified = service.authenticate(&headers)?;
//! assert_eq!((verified.tenant(), verified.integration()), (&tenant, id));
//!
//! // Rotate with a grace period: both tokens work until it ends.
//! let rotated = service.rotate(&tenant, id, TokenOptions::new().grace(Duration::from_secs(3600)))?;
//! assert!(service.authenticate(&headers).is_ok());
//! assert!(service.verify(rotated.token().expose_secret().as_bytes()).is_ok());
//!
//! // Delete: every token stops at once, with the RFC 6750 response.
//! service.delete(&tenant, id)?;
//! let refused = service.authenticate(&headers).unwrap_err();
//! assert_eq!(refused.status(), 401);
//! assert_eq!(
//!     refused.www_authenticate().unwrap(),
//!     r#"Bearer realm="SCIM", error="invalid_token""#
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Token format
//!
//! `<prefix>_<id>_<secret><checksum>`, for example (71 characters with the default prefix):
//! `scim_0V9PzQ3kL7cT2wXa_` followed by 43 secret and 6 checksum characters. The prefix
//! (`scim` by default) lets secret scanners recognise a leaked token; the id
//! ([`TokenId`], 16 base62 characters) finds the record; the secret is 43 base62 characters,
//! each drawn from one byte of the operating system's randomness by rejection sampling
//! (bytes ≥ 248 discarded, `byte % 62` otherwise: uniform), 256 bits in all; the checksum is
//! the CRC-32 of everything before it in 6 base62 digits, checked before any lookup. Base62
//! and `_` only: a double-click selects the whole token, and it fits RFC 6750's `b64token`.
//! See [`TokenFormat`].
//!
//! # Storage and embedding
//!
//! [`TokenStore`] is a synchronous trait. The in-memory store and an embedded database
//! answer without waiting on a network, and verification runs on every request, where a
//! boxed future per call would cost more than the lookup itself; a sync trait also works
//! from any async runtime (call it directly for an in-memory store, or through the runtime's
//! blocking pool for a database). A service whose records sit behind an async client needs no
//! trait at all: [`Settings::parse_authorization`] gives the token and its id,
//! the service fetches the [`Integration`] that holds that id however it likes, and
//! [`Settings::verify_record`] decides, with the same constant-time comparison.
//!
//! # Security
//!
//! * **What is stored**: a [`SecretDigest`] of the secret, SHA-256, or HMAC-SHA256 under a
//!   server-side [`Pepper`] whose key version is stored beside the digest. No slow password
//!   hash: the secret has 256 bits, so a fast hash is enough, and a slow one would cost
//!   milliseconds per request.
//! * **Constant time**: the digests are compared with `subtle`. An unknown token id still
//!   costs a digest and a comparison (against a dummy digest), and unknown, wrong, expired and
//!   revoked tokens give the same error, so neither the timing nor the response tells which.
//! * **Redaction**: [`SecretToken`] and [`ParsedToken`] print the prefix and id with the
//!   secret redacted, in `Debug` and `Display`; the text is given only by an explicit
//!   `expose_secret`. No error holds a token: errors say what was wrong with its shape,
//!   never repeat it; stores only ever see token ids.
//! * **Zeroize**: a [`SecretToken`]'s text is zeroed on drop (`zeroize`), and so is a
//!   pepper's keyed HMAC state.
//! * **Lifecycle**: at most two live tokens per integration (the current one and, during a
//!   grace period, the previous one); delete stops every token at once; expiry is off by
//!   default, because identity providers quarantine a provisioning job whose token expires.
//!
//! # Input safety
//!
//! An `Authorization` value longer than [`MAX_TOKEN_LEN`] (1 KB) is refused before any
//! other work; the parser is a few linear passes over at most that many bytes, with no
//! allocation, recursion or panic on any input.
//!
//! # Error reporting
//!
//! [`AuthError`] maps to RFC 6750 responses: no `Authorization` field, an empty one, or
//! another scheme than `Bearer` → 401 with `WWW-Authenticate: Bearer realm="..."` and no
//! error code; a malformed (bad characters, trailing text, wrong shape, failed checksum,
//! over 1 KB), unknown, wrong, revoked or expired token → 401 with `error="invalid_token"`;
//! several `Authorization` fields → 400 with `error="invalid_request"`; a store failure →
//! 500. Its [`kind`](AuthError::kind) says more for logs (the shape problem, or "rejected"),
//! and nothing that would tell an attacker which ids exist. The lifecycle [`Error`] says
//! which integration operation failed (not found, name taken, invalid name, store).
//! Names are unique per tenant compared case-insensitively ([`name_key`]).
#![forbid(unsafe_code)]
#![cfg_attr(not(test), deny(clippy::unwrap_used))]

mod base62;
mod bearer;
mod crc32;
mod digest;
mod error;
mod id;
mod record;
mod service;
mod settings;
mod store;
mod time;
mod token;

pub use crate::bearer::{AuthError, AuthErrorKind, DEFAULT_REALM, InvalidToken, Realm};
pub use crate::digest::{DigestKeys, PEPPER_MIN_LEN, Pepper, SecretDigest};
pub use crate::error::{Error, IdError, NameError, RandomnessError, SettingsError};
pub use crate::id::{ID_LEN, IntegrationId, TENANT_MAX_LEN, TenantId, TokenId};
pub use crate::record::{Integration, NAME_MAX_CHARS, TokenRecord, name_key, validate_name};
pub use crate::service::{Issued, TokenOptions, TokenService};
pub use crate::settings::{DEFAULT_LAST_USED_INTERVAL, Settings, Verified};
pub use crate::store::{MemoryStore, StoreError, TokenMatch, TokenStore};
pub use crate::time::{Clock, ManualClock, SystemClock, Timestamp};
pub use crate::token::{
    CHECKSUM_LEN, DEFAULT_PREFIX, MAX_TOKEN_LEN, Malformed, PREFIX_MAX_LEN, ParsedToken,
    SECRET_LEN, SecretToken, TokenFormat,
};
