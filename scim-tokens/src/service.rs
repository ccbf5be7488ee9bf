//! [`TokenService`]: the lifecycle of integrations (create, get, list, rename, rotate,
//! revoke, delete) and verification, over a [`TokenStore`] and a [`Clock`].

use std::fmt;
use std::time::Duration;

use http::HeaderMap;

use crate::bearer::{AuthError, AuthErrorKind};
use crate::error::Error;
use crate::id::{IntegrationId, TenantId, TokenId};
use crate::record::{Integration, TokenRecord, validate_name};
use crate::settings::{Settings, Verified};
use crate::store::{StoreError, TokenStore};
use crate::time::{Clock, SystemClock, Timestamp};
use crate::token::SecretToken;

/// How many times a collision of random ids is retried (it has never been seen: ids have
/// 95 bits).
const ID_ATTEMPTS: usize = 3;

/// A new token and the integration it belongs to, as returned by
/// [`TokenService::create`] and [`TokenService::rotate`]. The only time the token text is
/// available: show it once. `Debug` redacts the secret.
#[derive(Debug)]
pub struct Issued {
    integration: Integration,
    token: SecretToken,
}

impl Issued {
    /// The integration, as stored.
    pub fn integration(&self) -> &Integration {
        &self.integration
    }

    /// The new token.
    pub fn token(&self) -> &SecretToken {
        &self.token
    }

    /// Both parts.
    pub fn into_parts(self) -> (Integration, SecretToken) {
        (self.integration, self.token)
    }
}

/// Options of a new token, at creation or rotation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenOptions {
    expires_in: Option<Duration>,
    grace: Duration,
}

impl TokenOptions {
    /// No expiry, no grace period.
    pub fn new() -> Self {
        Self::default()
    }

    /// The new token expires this long after it is generated. None by default: identity
    /// providers quarantine a provisioning job whose token expires, so expiry means someone
    /// must rotate in time.
    pub fn expires_in(mut self, duration: Duration) -> Self {
        self.expires_in = Some(duration);
        self
    }

    /// On rotation, the previous token keeps working this long (none by default). Ignored at
    /// creation.
    pub fn grace(mut self, duration: Duration) -> Self {
        self.grace = duration;
        self
    }
}

/// Integrations and their tokens over a store: the whole lifecycle, and verification.
///
/// ```
/// use scim_tokens::{MemoryStore, Settings, TenantId, TokenOptions, TokenService};
///
/// let service = TokenService::new(MemoryStore::new(), Settings::default());
/// let tenant = TenantId::new("acme")?;
/// let issued = service.create(&tenant, "Okta", TokenOptions::new())?;
/// let verified = service.verify(issued.token().expose_secret().as_bytes())?;
/// assert_eq!(verified.tenant(), &tenant);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TokenService<S, C = SystemClock> {
    store: S,
    settings: Settings,
    clock: C,
}

impl<S: fmt::Debug, C: fmt::Debug> fmt::Debug for TokenService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenService")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .field("clock", &self.clock)
            .finish()
    }
}

impl<S: TokenStore> TokenService<S> {
    /// A service on `store` with the system clock.
    pub fn new(store: S, settings: Settings) -> Self {
        Self::with_clock(store, settings, SystemClock)
    }
}

impl<S: TokenStore, C: Clock> TokenService<S, C> {
    /// A service on `store` with `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(store: S, settings: Settings, clock: C) -> Self {
        Self {
            store,
            settings,
            clock,
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// A new token and its record, at `now`.
    fn new_token(
        &self,
        now: Timestamp,
        options: TokenOptions,
    ) -> Result<(SecretToken, TokenRecord), Error> {
        let token = self.settings.format().generate(TokenId::random()?)?;
        let (digest, version) = self.settings.digest_keys().digest(token.secret_bytes());
        let expires_at = options.expires_in.map(|d| now.saturating_add(d));
        let record = TokenRecord::new(token.id(), digest, version, now, expires_at);
        Ok((token, record))
    }

    /// Creates an integration of `tenant` named `name` (trimmed; unique in the tenant,
    /// case-insensitively) with its first token.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::NameTaken`], [`Error::Randomness`], [`Error::Store`].
    pub fn create(
        &self,
        tenant: &TenantId,
        name: &str,
        options: TokenOptions,
    ) -> Result<Issued, Error> {
        let name = validate_name(name)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.clock.now();
            let (token, record) = self.new_token(now, options)?;
            let integration = Integration::new(
                tenant.clone(),
                IntegrationId::random()?,
                name.to_owned(),
                now,
                record,
            );
            match self.store.insert(integration.clone()) {
                Ok(()) => return Ok(Issued { integration, token }),
                Err(StoreError::IdTaken) if attempt < ID_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The integration `id` of `tenant`: its details, never a token.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Integration, Error> {
        self.store.get(tenant, id)?.ok_or(Error::NotFound)
    }

    /// The integrations of `tenant`, oldest first.
    ///
    /// # Errors
    ///
    /// [`Error::Store`].
    pub fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, Error> {
        Ok(self.store.list(tenant)?)
    }

    /// Renames the integration. Its tokens are not touched.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::NameTaken`], [`Error::NotFound`], [`Error::Store`].
    pub fn rename(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        name: &str,
    ) -> Result<Integration, Error> {
        let name = validate_name(name)?;
        self.store
            .update(tenant, id, &mut |i| i.set_name(name.to_owned()))?
            .ok_or(Error::NotFound)
    }

    /// Generates a new token for the integration. The current token keeps working for
    /// `options`' grace period (none by default: it stops at once); a token still in an
    /// earlier grace period stops at once, so at most two tokens are live.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Randomness`], [`Error::Store`].
    pub fn rotate(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        options: TokenOptions,
    ) -> Result<Issued, Error> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let now = self.clock.now();
            let (token, record) = self.new_token(now, options)?;
            let mut record = Some(record);
            let result = self.store.update(tenant, id, &mut |i| {
                if let Some(r) = record.take() {
                    i.rotate(r, now, options.grace);
                }
            });
            match result {
                Ok(Some(integration)) => return Ok(Issued { integration, token }),
                Ok(None) => return Err(Error::NotFound),
                Err(StoreError::IdTaken) if attempt < ID_ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Ends the grace period of the previous token now ("revoke now"): only the current
    /// token works.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub fn revoke_previous(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Integration, Error> {
        self.store
            .update(tenant, id, &mut Integration::revoke_previous)?
            .ok_or(Error::NotFound)
    }

    /// Deletes the integration: every one of its tokens stops working at once. Returns what
    /// was deleted.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], [`Error::Store`].
    pub fn delete(&self, tenant: &TenantId, id: IntegrationId) -> Result<Integration, Error> {
        self.store.delete(tenant, id)?.ok_or(Error::NotFound)
    }

    /// Verifies the bearer token of `headers`' `Authorization` field: the whole check of a
    /// request. See [`verify`](Self::verify).
    ///
    /// # Errors
    ///
    /// An [`AuthError`] that knows its response (status and `WWW-Authenticate`).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Verified, AuthError> {
        let token = self.settings.parse_authorization(headers)?;
        self.verify_parsed(&token)
    }

    /// Verifies a token's text: format and checksum (no storage touched if they fail), the
    /// record by the token's id, the digest compared in constant time, expiry. Notes the
    /// use in the store when the last noted use is older than
    /// [`Settings::last_used_interval`]; a failure to note it does not refuse the token.
    ///
    /// # Errors
    ///
    /// An `invalid_token` [`AuthError`], or a store failure.
    pub fn verify(&self, token: &[u8]) -> Result<Verified, AuthError> {
        let token = self.settings.parse_token(token)?;
        self.verify_parsed(&token)
    }

    #[inline]
    fn verify_parsed(&self, token: &crate::ParsedToken<'_>) -> Result<Verified, AuthError> {
        let mut verified = None;
        let mut read_at = None;
        self.store
            .with_token_match(token.id(), |found| {
                // The clock is read only once the digest matched (the failures, unknown ids
                // included, all skip it alike), while the record is borrowed from the store.
                let now = || *read_at.insert(self.clock.now());
                verified = self.settings.verify_record_at(token, found, now);
            })
            .map_err(|e| self.settings.error(AuthErrorKind::Store(e)))?;
        // `verified` is looked at in place and moved once, into the result (unpacked first,
        // it was copied to the stack and again into the result around the call below).
        if let Some(v) = &verified
            && v.record_use_due()
            && let Some(now) = read_at
        {
            // Last use is informational: a failed write must not refuse a valid token.
            let _ = self.store.record_use(v.token(), now);
        }
        verified.ok_or_else(|| self.settings.rejected())
    }
}
