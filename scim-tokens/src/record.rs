//! The stored records: an [`Integration`] and its [`TokenRecord`]s. Serde types, so a service
//! can keep them in its own database.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::SecretDigest;
use crate::error::NameError;
use crate::id::{IntegrationId, TenantId, TokenId};
use crate::time::Timestamp;

/// The longest integration name accepted, in characters.
pub const NAME_MAX_CHARS: usize = 200;

/// Checks an integration name and returns it trimmed of surrounding white space.
///
/// # Errors
///
/// [`NameError`] if it is empty, longer than [`NAME_MAX_CHARS`] characters or has a control
/// character.
pub fn validate_name(name: &str) -> Result<&str, NameError> {
    let name = name.trim();
    if name.is_empty() {
        Err(NameError::Empty)
    } else if name.chars().count() > NAME_MAX_CHARS {
        Err(NameError::TooLong)
    } else if name.chars().any(char::is_control) {
        Err(NameError::ControlCharacter)
    } else {
        Ok(name)
    }
}

/// The key under which names are unique within a tenant: the name lowercased (Unicode
/// lowercase mapping), so "Okta" and "okta" cannot both exist. A database store puts its
/// unique index on (tenant, this key).
pub fn name_key(name: &str) -> String {
    name.trim().to_lowercase()
}

/// One token of an integration, as stored: its id and the digest of its secret, never the
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    id: TokenId,
    digest: SecretDigest,
    /// The version of the pepper key the digest was made with; `None`: plain SHA-256.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_version: Option<u32>,
    created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<Timestamp>,
}

impl TokenRecord {
    /// A record for a token with the digest of its secret.
    pub fn new(
        id: TokenId,
        digest: SecretDigest,
        key_version: Option<u32>,
        created_at: Timestamp,
        expires_at: Option<Timestamp>,
    ) -> Self {
        Self {
            id,
            digest,
            key_version,
            created_at,
            expires_at,
            last_used_at: None,
        }
    }

    /// The token's id.
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The stored digest of the secret.
    pub fn digest(&self) -> &SecretDigest {
        &self.digest
    }

    /// The version of the pepper key of the digest; `None` for plain SHA-256.
    pub fn key_version(&self) -> Option<u32> {
        self.key_version
    }

    /// When the token was generated.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When the token stops working, if ever: its expiry, or the end of its rotation grace
    /// period.
    pub fn expires_at(&self) -> Option<Timestamp> {
        self.expires_at
    }

    /// When the token last verified, to the store's granularity.
    pub fn last_used_at(&self) -> Option<Timestamp> {
        self.last_used_at
    }

    /// Whether the token still works at `now` (a token expiring at `t` fails from `t` on).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|t| now < t)
    }
}

/// A SCIM directory integration: one identity provider's connection to one tenant.
///
/// It holds its current token and, during a rotation's grace period, the previous one: never
/// more than two tokens. Its details (name, created, last used) can be shown to an
/// administrator; it holds no token text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    tenant: TenantId,
    id: IntegrationId,
    name: String,
    created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_used_at: Option<Timestamp>,
    /// Oldest first; the last is the current token.
    tokens: Vec<TokenRecord>,
}

impl Integration {
    /// A new integration with its first token. The name is taken as given (see
    /// [`validate_name`]).
    pub fn new(
        tenant: TenantId,
        id: IntegrationId,
        name: String,
        created_at: Timestamp,
        token: TokenRecord,
    ) -> Self {
        Self {
            tenant,
            id,
            name,
            created_at,
            last_used_at: None,
            tokens: vec![token],
        }
    }

    /// The tenant it belongs to.
    pub fn tenant(&self) -> &TenantId {
        &self.tenant
    }

    /// Its id.
    pub fn id(&self) -> IntegrationId {
        self.id
    }

    /// Its name, unique within the tenant (see [`name_key`]).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// When it was created.
    pub fn created_at(&self) -> Timestamp {
        self.created_at
    }

    /// When one of its tokens last verified, to the store's granularity (about a minute by
    /// default); `None` if never.
    pub fn last_used_at(&self) -> Option<Timestamp> {
        self.last_used_at
    }

    /// Its tokens, oldest first: the current one last, the previous one (in a rotation's
    /// grace period, or expired and kept until the next rotation) before it.
    pub fn tokens(&self) -> &[TokenRecord] {
        &self.tokens
    }

    /// The current token (the last generated).
    pub fn current_token(&self) -> Option<&TokenRecord> {
        self.tokens.last()
    }

    /// The token with id `id`, if it belongs to this integration.
    pub fn token(&self, id: TokenId) -> Option<&TokenRecord> {
        self.tokens.iter().find(|t| t.id == id)
    }

    /// The tokens that still work at `now`.
    pub fn live_tokens(&self, now: Timestamp) -> impl Iterator<Item = &TokenRecord> {
        self.tokens.iter().filter(move |t| t.is_live(now))
    }

    /// Renames it (the name taken as given).
    pub(crate) fn set_name(&mut self, name: String) {
        self.name = name;
    }

    /// Makes `token` the current token. The current one stays valid until `now + grace`
    /// (if it was live and `grace` is not zero) and any older one stops at once, so at most
    /// two tokens are ever live.
    pub(crate) fn rotate(&mut self, token: TokenRecord, now: Timestamp, grace: Duration) {
        let previous = self.tokens.pop();
        self.tokens.clear();
        if let Some(mut previous) = previous
            && !grace.is_zero()
            && previous.is_live(now)
        {
            let end = now.saturating_add(grace);
            previous.expires_at = Some(previous.expires_at.map_or(end, |t| t.min(end)));
            self.tokens.push(previous);
        }
        self.tokens.push(token);
    }

    /// Ends the grace period of the previous token now: only the current one remains.
    pub(crate) fn revoke_previous(&mut self) {
        let keep_from = self.tokens.len().saturating_sub(1);
        self.tokens.drain(..keep_from);
    }

    /// Notes that the token `token` verified at `at`.
    pub fn record_use(&mut self, token: TokenId, at: Timestamp) {
        if let Some(t) = self.tokens.iter_mut().find(|t| t.id == token) {
            t.last_used_at = Some(t.last_used_at.map_or(at, |old| old.max(at)));
            self.last_used_at = Some(self.last_used_at.map_or(at, |old| old.max(at)));
        }
    }

    /// Keeps the identity fields (`tenant`, `id`) of `original`: a store's update may not
    /// change them.
    pub(crate) fn keep_identity_of(&mut self, original: &Integration) {
        self.tenant = original.tenant.clone();
        self.id = original.id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;

    fn token(n: u8, at: u64) -> TokenRecord {
        let id = format!("{:0>16}", n).parse().unwrap();
        TokenRecord::new(id, sha256(&[n]), None, Timestamp::from_unix_secs(at), None)
    }

    fn integration() -> Integration {
        Integration::new(
            TenantId::new("t").unwrap(),
            IntegrationId::random().unwrap(),
            "Okta".into(),
            Timestamp::from_unix_secs(0),
            token(1, 0),
        )
    }

    #[test]
    fn names() {
        assert_eq!(validate_name("  Okta  "), Ok("Okta"));
        assert_eq!(validate_name(" \t "), Err(NameError::Empty));
        assert_eq!(validate_name("a\u{7}b"), Err(NameError::ControlCharacter));
        assert_eq!(
            validate_name(&"é".repeat(NAME_MAX_CHARS)).map(str::len),
            Ok(2 * NAME_MAX_CHARS)
        );
        assert_eq!(
            validate_name(&"é".repeat(NAME_MAX_CHARS + 1)),
            Err(NameError::TooLong)
        );
        assert_eq!(name_key(" Entra ID "), "entra id");
        assert_eq!(name_key("ÉQUIPE"), name_key("équipe"));
    }

    #[test]
    fn rotation_keeps_at_most_two_tokens() {
        let mut i = integration();
        let now = Timestamp::from_unix_secs(100);
        i.rotate(token(2, 100), now, Duration::from_secs(60));
        assert_eq!(i.tokens().len(), 2);
        assert_eq!(
            i.tokens()[0].expires_at(),
            Some(Timestamp::from_unix_secs(160))
        );
        assert_eq!(
            i.current_token().map(TokenRecord::id),
            Some(token(2, 0).id())
        );
        i.rotate(
            token(3, 110),
            Timestamp::from_unix_secs(110),
            Duration::from_secs(60),
        );
        assert_eq!(i.tokens().len(), 2);
        assert!(i.token(token(1, 0).id()).is_none());
        i.rotate(
            token(4, 120),
            Timestamp::from_unix_secs(120),
            Duration::ZERO,
        );
        assert_eq!(i.tokens().len(), 1);
        i.rotate(
            token(5, 130),
            Timestamp::from_unix_secs(130),
            Duration::from_secs(10),
        );
        assert_eq!(i.live_tokens(Timestamp::from_unix_secs(139)).count(), 2);
        assert_eq!(i.live_tokens(Timestamp::from_unix_secs(140)).count(), 1);
        i.revoke_previous();
        assert_eq!(i.tokens().len(), 1);
        assert_eq!(
            i.current_token().map(TokenRecord::id),
            Some(token(5, 0).id())
        );
    }

    #[test]
    fn grace_never_extends_an_earlier_expiry() {
        let mut i = integration();
        i.tokens[0].expires_at = Some(Timestamp::from_unix_secs(105));
        i.rotate(
            token(2, 100),
            Timestamp::from_unix_secs(100),
            Duration::from_secs(60),
        );
        assert_eq!(
            i.tokens()[0].expires_at(),
            Some(Timestamp::from_unix_secs(105))
        );
        // An expired token is not carried over at all.
        i.rotate(
            token(3, 200),
            Timestamp::from_unix_secs(200),
            Duration::from_secs(60),
        );
        assert_eq!(i.tokens().len(), 2);
        let last = i.tokens.len() - 1;
        i.tokens[last].expires_at = Some(Timestamp::from_unix_secs(150));
        i.rotate(
            token(4, 200),
            Timestamp::from_unix_secs(200),
            Duration::from_secs(60),
        );
        assert_eq!(i.tokens().len(), 1);
    }

    #[test]
    fn record_use_is_monotonic_and_ignores_foreign_tokens() {
        let mut i = integration();
        i.record_use(token(1, 0).id(), Timestamp::from_unix_secs(50));
        i.record_use(token(1, 0).id(), Timestamp::from_unix_secs(40));
        assert_eq!(i.last_used_at(), Some(Timestamp::from_unix_secs(50)));
        assert_eq!(
            i.tokens()[0].last_used_at(),
            Some(Timestamp::from_unix_secs(50))
        );
        i.record_use(token(9, 0).id(), Timestamp::from_unix_secs(90));
        assert_eq!(i.last_used_at(), Some(Timestamp::from_unix_secs(50)));
    }

    #[test]
    fn serde_round_trip() {
        let mut i = integration();
        i.rotate(
            token(2, 5),
            Timestamp::from_unix_secs(5),
            Duration::from_secs(5),
        );
        let json = serde_json::to_string(&i).unwrap();
        assert_eq!(serde_json::from_str::<Integration>(&json).unwrap(), i);
        assert!(json.contains("\"tenant\":\"t\""));
    }
}
