//! [`Settings`] of a deployment, and verification as a pure function of a token, a record
//! and the time: [`Settings::verify_record`].

use std::time::Duration;

use http::HeaderMap;

use crate::bearer::{AuthError, AuthErrorKind, InvalidToken, Realm, bearer_credentials};
use crate::digest::{DigestKeys, SecretDigest, sha256};
use crate::error::SettingsError;
use crate::id::{IntegrationId, TenantId, TokenId};
use crate::record::{Integration, TokenRecord};
use crate::store::TokenMatch;
use crate::time::Timestamp;
use crate::token::{ParsedToken, TokenFormat};

/// The default of [`Settings::last_used_interval`]: one minute.
pub const DEFAULT_LAST_USED_INTERVAL: Duration = Duration::from_secs(60);

/// The digest an unknown token id is compared against, so that an unknown id costs the
/// same hash and comparison as a known one. No secret hashes to it in practice, and a match
/// would still fail: there is no record.
const DUMMY_DIGEST: SecretDigest = SecretDigest::from_bytes([0x5a; 32]);

/// How a deployment's tokens look, are digested and are checked. The defaults: prefix
/// `scim`, realm `SCIM`, plain SHA-256 without pepper, `Bearer` scheme required, last use
/// recorded at most once a minute per token.
#[derive(Debug, Clone)]
pub struct Settings {
    format: TokenFormat,
    realm: Realm,
    keys: DigestKeys,
    accept_bare_token: bool,
    last_used_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            format: TokenFormat::default(),
            realm: Realm::default(),
            keys: DigestKeys::none(),
            accept_bare_token: false,
            last_used_interval: DEFAULT_LAST_USED_INTERVAL,
        }
    }
}

/// A verified token: whose it is. The context a SCIM service needs for the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    tenant: TenantId,
    integration: IntegrationId,
    token: TokenId,
    record_use_due: UseDue,
}

/// Whether a verification should note the use: a whole word rather than a `bool`, so that
/// the copy of [`Verified`] out of the store's callback reads back what was written in the
/// same widths (a one-byte store read back in an 8-byte load is a store-forwarding stall).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
enum UseDue {
    No = 0,
    Yes = 1,
}

impl Verified {
    /// The tenant whose data the request may touch.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// The integration the token belongs to.
    pub fn integration(&self) -> IntegrationId {
        self.integration
    }

    /// The token that verified (the current one, or the previous one in its grace period).
    pub fn token(&self) -> TokenId {
        self.token
    }

    /// Whether the token's last use is older than
    /// [`Settings::last_used_interval`], so that the store should note this use.
    pub fn record_use_due(&self) -> bool {
        self.record_use_due == UseDue::Yes
    }
}

impl Settings {
    /// The default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the vendor prefix of new tokens; only tokens with this prefix verify.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Prefix`], see [`TokenFormat::new`].
    pub fn with_prefix(mut self, prefix: &str) -> Result<Self, SettingsError> {
        self.format = TokenFormat::new(prefix)?;
        Ok(self)
    }

    /// Sets the realm of the `WWW-Authenticate` challenges.
    ///
    /// # Errors
    ///
    /// [`SettingsError::Realm`], see [`Realm::new`].
    pub fn with_realm(mut self, realm: &str) -> Result<Self, SettingsError> {
        self.realm = Realm::new(realm)?;
        Ok(self)
    }

    /// Sets how digests are made (a pepper, and older peppers still accepted).
    pub fn with_digest_keys(mut self, keys: DigestKeys) -> Self {
        self.keys = keys;
        self
    }

    /// Also accepts an `Authorization` value that is the bare token, without a scheme
    /// (Okta's "Header" authentication mode). Off by default.
    pub fn accept_bare_token(mut self, accept: bool) -> Self {
        self.accept_bare_token = accept;
        self
    }

    /// Sets how old a token's recorded last use must be before a verification writes a new
    /// one (so that verification does not write on every request).
    pub fn with_last_used_interval(mut self, interval: Duration) -> Self {
        self.last_used_interval = interval;
        self
    }

    /// The token format (the prefix).
    pub fn format(&self) -> &TokenFormat {
        &self.format
    }

    /// The realm of the challenges.
    pub fn realm(&self) -> &Realm {
        &self.realm
    }

    /// How digests are made.
    pub fn digest_keys(&self) -> &DigestKeys {
        &self.keys
    }

    /// Whether a bare token without scheme is accepted.
    pub fn accepts_bare_token(&self) -> bool {
        self.accept_bare_token
    }

    /// The granularity of the recorded last use.
    pub fn last_used_interval(&self) -> Duration {
        self.last_used_interval
    }

    /// An [`AuthError`] of kind `kind` with this deployment's realm.
    pub fn error(&self, kind: AuthErrorKind) -> AuthError {
        AuthError::new(kind, self.realm.clone())
    }

    /// The well-formed token of the one `Authorization` field of `headers` (RFC 6750 §2.1):
    /// the first step of verification, with no storage involved.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] for a missing, repeated or non-Bearer field, or a malformed token.
    #[inline]
    pub fn parse_authorization<'h>(
        &self,
        headers: &'h HeaderMap,
    ) -> Result<ParsedToken<'h>, AuthError> {
        let text =
            bearer_credentials(headers, self.accept_bare_token).map_err(|kind| self.error(kind))?;
        self.parse_token(text)
    }

    /// A well-formed token from its text (format and checksum), with no storage involved.
    ///
    /// # Errors
    ///
    /// An `invalid_token` [`AuthError`] if it is malformed.
    #[inline]
    pub fn parse_token<'t>(&self, text: &'t [u8]) -> Result<ParsedToken<'t>, AuthError> {
        self.format
            .parse(text)
            .map_err(|m| self.error(AuthErrorKind::InvalidToken(m.into())))
    }

    /// Verifies a well-formed token against the record its id found (`None`: no record), at
    /// `now`: a pure function, for services that fetch records themselves.
    ///
    /// The secret is digested under the key version stored with the token (or the current
    /// key when there is no record) and compared in constant time with the stored digest (a
    /// dummy one when there is no record). Unknown, wrong, expired and revoked tokens all
    /// give the same `invalid_token` error.
    ///
    /// # Errors
    ///
    /// An `invalid_token` [`AuthError`] of [`InvalidToken::Rejected`].
    pub fn verify_record(
        &self,
        token: &ParsedToken<'_>,
        record: Option<&Integration>,
        now: Timestamp,
    ) -> Result<Verified, AuthError> {
        let found = record.and_then(|r| TokenMatch::find(r, token.id()));
        self.verify_record_at(token, found, || now)
            .ok_or_else(|| self.rejected())
    }

    /// The rejection of a well-formed token that is not live (unknown, wrong, expired,
    /// revoked).
    pub(crate) fn rejected(&self) -> AuthError {
        self.error(AuthErrorKind::InvalidToken(InvalidToken::Rejected))
    }

    /// [`verify_record`](Self::verify_record) on what the store found for the token's id,
    /// reading the time from `now` only when the digest matched: every failure of the
    /// digest comparison, unknown ids included, skips the clock alike. `None` for every
    /// rejection: the caller makes the one error.
    #[inline]
    pub(crate) fn verify_record_at(
        &self,
        token: &ParsedToken<'_>,
        found: Option<TokenMatch<'_>>,
        now: impl FnOnce() -> Timestamp,
    ) -> Option<Verified> {
        let stored: Option<&TokenRecord> = found.map(|m| m.token());
        let version = match stored {
            Some(t) => t.key_version(),
            None => self.keys.current_version(),
        };
        let secret = token.expose_secret();
        // Plain SHA-256 (no pepper) on its own path: through `digest_with` its digest went
        // into an `Option` (a tag byte, then the 32 bytes at an odd offset) and was copied
        // out of it again on its way to the comparison.
        let (computed, key_known) = match version {
            None => (self.format.secret_digest(token), true),
            Some(_) => match self.keys.digest_with(version, secret) {
                Some(digest) => (digest, true),
                None => (sha256(secret), false),
            },
        };
        let expected = stored.map_or(&DUMMY_DIGEST, TokenRecord::digest);
        let digest_matches = bool::from(computed.ct_eq(expected));
        let found = found?;
        let (record, stored) = (found.integration(), found.token());
        if !(digest_matches && key_known) {
            return None;
        }
        let now = now();
        if !stored.is_live(now) {
            return None;
        }
        let record_use_due = found
            .last_used_at()
            .is_none_or(|t| now.saturating_since(t) >= self.last_used_interval);
        let record_use_due = if record_use_due {
            UseDue::Yes
        } else {
            UseDue::No
        };
        Some(Verified {
            tenant: record.tenant().clone(),
            integration: record.id(),
            token: stored.id(),
            record_use_due,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Pepper;
    use crate::id::IntegrationId;

    fn issue(
        settings: &Settings,
        expires_at: Option<Timestamp>,
    ) -> (crate::SecretToken, Integration) {
        let token = settings
            .format()
            .generate(TokenId::random().unwrap())
            .unwrap();
        let (digest, version) = settings.digest_keys().digest(token.secret_bytes());
        let record = TokenRecord::new(
            token.id(),
            digest,
            version,
            Timestamp::from_unix_secs(0),
            expires_at,
        );
        let integration = Integration::new(
            TenantId::new("acme").unwrap(),
            IntegrationId::random().unwrap(),
            "Okta".into(),
            Timestamp::from_unix_secs(0),
            record,
        );
        (token, integration)
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn verifies_against_its_record_only() {
        let settings = Settings::new();
        let (token, record) = issue(&settings, Some(at(100)));
        let parsed = settings
            .parse_token(token.expose_secret().as_bytes())
            .unwrap();
        let ok = settings
            .verify_record(&parsed, Some(&record), at(99))
            .unwrap();
        assert_eq!(ok.tenant().as_str(), "acme");
        assert_eq!(ok.integration(), record.id());
        assert_eq!(ok.token(), token.id());
        assert!(ok.record_use_due());
        // Expired, no record, another integration's record: the same rejection.
        let (_, other) = issue(&settings, None);
        for (rec, now) in [(Some(&record), 100), (None, 0), (Some(&other), 0)] {
            let err = settings.verify_record(&parsed, rec, at(now)).unwrap_err();
            assert!(matches!(
                err.kind(),
                AuthErrorKind::InvalidToken(InvalidToken::Rejected)
            ));
        }
    }

    #[test]
    fn wrong_secret_with_a_valid_checksum_is_rejected() {
        let settings = Settings::new();
        let (token, record) = issue(&settings, None);
        // Another token with the same id: well-formed, wrong secret.
        let forged = settings.format().generate(token.id()).unwrap();
        let parsed = settings
            .parse_token(forged.expose_secret().as_bytes())
            .unwrap();
        let err = settings
            .verify_record(&parsed, Some(&record), at(0))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid token: unknown, wrong, expired or revoked"
        );
    }

    #[test]
    fn peppered_digests_and_key_versions() {
        let old = Pepper::new(1, &[1; 32]).unwrap();
        let new = Pepper::new(2, &[2; 32]).unwrap();
        let before =
            Settings::new().with_digest_keys(DigestKeys::with_pepper(old.clone(), []).unwrap());
        let (token, record) = issue(&before, None);
        assert_eq!(record.tokens()[0].key_version(), Some(1));
        let parsed = before
            .parse_token(token.expose_secret().as_bytes())
            .unwrap();
        // After the key change, the old digest still verifies while the old key is kept...
        let after =
            Settings::new().with_digest_keys(DigestKeys::with_pepper(new.clone(), [old]).unwrap());
        assert!(after.verify_record(&parsed, Some(&record), at(0)).is_ok());
        // ...and not once it is dropped, nor without any pepper.
        let dropped = Settings::new().with_digest_keys(DigestKeys::with_pepper(new, []).unwrap());
        assert!(
            dropped
                .verify_record(&parsed, Some(&record), at(0))
                .is_err()
        );
        assert!(
            Settings::new()
                .verify_record(&parsed, Some(&record), at(0))
                .is_err()
        );
    }

    #[test]
    fn record_use_is_due_once_per_interval() {
        let settings = Settings::new().with_last_used_interval(Duration::from_secs(60));
        let (token, mut record) = issue(&settings, None);
        let parsed = settings
            .parse_token(token.expose_secret().as_bytes())
            .unwrap();
        record.record_use(token.id(), at(1000));
        let due = |now| {
            settings
                .verify_record(&parsed, Some(&record), at(now))
                .unwrap()
                .record_use_due()
        };
        assert!(!due(1000));
        assert!(!due(1059));
        assert!(due(1060));
    }

    #[test]
    fn settings_builders() {
        let s = Settings::new()
            .with_prefix("acme")
            .unwrap()
            .with_realm("Acme")
            .unwrap()
            .accept_bare_token(true);
        assert_eq!(s.format().prefix(), "acme");
        assert_eq!(s.realm().name(), "Acme");
        assert!(s.accepts_bare_token());
        assert_eq!(s.last_used_interval(), DEFAULT_LAST_USED_INTERVAL);
        assert!(Settings::new().with_prefix("a-b").is_err());
        assert!(Settings::new().with_realm("a\"b").is_err());
    }
}
