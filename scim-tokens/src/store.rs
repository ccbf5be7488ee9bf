//! Storage of integration records: the [`TokenStore`] trait and [`MemoryStore`].
//!
//! The trait is synchronous. A store that lives in memory (or in an embedded database such as
//! SQLite) answers without waiting on the network, and verification is on the path of every
//! request, where a boxed future per call would cost more than the lookup. A service whose
//! records live behind an asynchronous client does not implement this trait: it fetches the
//! record by [`ParsedToken::id`](crate::ParsedToken::id) itself and calls
//! [`Settings::verify_record`](crate::Settings::verify_record), a pure function.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, PoisonError, RwLock};

use crate::id::{IntegrationId, TenantId, TokenId};
use crate::record::{Integration, name_key};
use crate::time::Timestamp;

/// An error of a [`TokenStore`]. It never holds a token: stores only see token ids.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another integration of the tenant has that name (by [`name_key`]).
    #[error("an integration with that name already exists")]
    NameTaken,
    /// An integration or token id is already in use (a collision of random ids: retry).
    #[error("an integration or token id is already in use")]
    IdTaken,
    /// The storage backend failed.
    #[error("storage backend: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Where integration records live.
///
/// Contract for implementations:
/// - names are unique per tenant by [`name_key`] ([`StoreError::NameTaken`] otherwise);
/// - [`find_by_token`](Self::find_by_token) finds the record holding a token id without a
///   scan (a hash map, or a database index on the token ids);
/// - [`update`](Self::update) applies its change atomically (under a lock, or in a
///   transaction) and keeps the token index in step with the record's tokens, so that a
///   token dropped by a rotation or a revocation stops being found at once;
/// - records of one tenant are never returned for another.
///
/// A database store keeps each [`Integration`] as its serde form (JSON, say) in one column,
/// beside the columns it indexes: the integration id, the tenant with [`name_key`] (unique),
/// and a table of token ids pointing at their integration; `update` reads the record in a
/// transaction, applies the change, rewrites it and its token rows.
pub trait TokenStore: Send + Sync {
    /// Adds a new integration.
    ///
    /// # Errors
    ///
    /// [`StoreError::NameTaken`], [`StoreError::IdTaken`], or a backend error.
    fn insert(&self, record: Integration) -> Result<(), StoreError>;

    /// The integration `id` of `tenant`.
    ///
    /// # Errors
    ///
    /// A backend error.
    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError>;

    /// The integrations of `tenant`, by creation time, then id.
    ///
    /// # Errors
    ///
    /// A backend error.
    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError>;

    /// Applies `change` to the integration `id` of `tenant` atomically and returns the
    /// changed record, or `None` if there is no such integration. `change` may rename it and
    /// change its tokens or last use, never its tenant or id.
    ///
    /// # Errors
    ///
    /// [`StoreError::NameTaken`] (nothing is changed then), or a backend error.
    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError>;

    /// Removes the integration `id` of `tenant` and returns it: none of its tokens is found
    /// any more.
    ///
    /// # Errors
    ///
    /// A backend error.
    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError>;

    /// The integration that holds the token `token`, if any: the lookup of every
    /// verification. An [`Arc`] so that a store in memory hands its record out without
    /// copying it.
    ///
    /// # Errors
    ///
    /// A backend error.
    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError>;

    /// Calls `visit` once with the integration that holds the token `token` (`None` if
    /// none): the lookup of every verification, which then needs the record only for the
    /// duration of the call. The default fetches it with
    /// [`find_by_token`](Self::find_by_token); [`MemoryStore`] calls `visit` under its read
    /// lock, without touching the record's reference count. `visit` must not call the
    /// store.
    ///
    /// # Errors
    ///
    /// A backend error (`visit` is not called then).
    fn with_token_record(
        &self,
        token: TokenId,
        visit: &mut dyn FnMut(Option<&Integration>),
    ) -> Result<(), StoreError> {
        let record = self.find_by_token(token)?;
        visit(record.as_deref());
        Ok(())
    }

    /// Notes that `token` verified at `at` (see [`Integration::record_use`]). Called at most
    /// about once per [`Settings::last_used_interval`](crate::Settings::last_used_interval)
    /// per token, not on every request.
    ///
    /// # Errors
    ///
    /// A backend error.
    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError>;
}

impl<S: TokenStore + ?Sized> TokenStore for Arc<S> {
    fn insert(&self, record: Integration) -> Result<(), StoreError> {
        (**self).insert(record)
    }
    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        (**self).get(tenant, id)
    }
    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        (**self).list(tenant)
    }
    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError> {
        (**self).update(tenant, id, change)
    }
    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        (**self).delete(tenant, id)
    }
    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        (**self).find_by_token(token)
    }
    fn with_token_record(
        &self,
        token: TokenId,
        visit: &mut dyn FnMut(Option<&Integration>),
    ) -> Result<(), StoreError> {
        (**self).with_token_record(token, visit)
    }
    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        (**self).record_use(token, at)
    }
}

/// A [`TokenStore`] in memory, behind a read-write lock: verifications read in parallel.
///
/// Indexes: integration id to record, token id to record (so verification is one hash
/// lookup), and (tenant, [`name_key`]) to integration id.
#[derive(Default)]
pub struct MemoryStore {
    inner: RwLock<Inner>,
}

/// The hasher of the token index: a multiply-xor over the id's bytes.
///
/// Token ids are drawn by this crate from the operating system's randomness, so the index
/// needs no keyed, collision-resistant hash (SipHash, the default, costs more than the rest
/// of the lookup): a client chooses the ids it looks up, never the ids stored, and a lookup
/// of any id probes one group of random keys.
#[derive(Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word))
                .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn finish(&self) -> u64 {
        // Fold the high bits down: the table takes its index from the low bits and its tag
        // from the high ones.
        self.0 ^ (self.0 >> 29)
    }
}

#[derive(Default)]
struct Inner {
    records: HashMap<IntegrationId, Arc<Integration>>,
    by_token: HashMap<TokenId, Arc<Integration>, BuildHasherDefault<IdHasher>>,
    by_name: HashMap<(TenantId, String), IntegrationId>,
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("MemoryStore")
            .field("integrations", &inner.records.len())
            .field("tokens", &inner.by_token.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// The number of integrations, over all tenants.
    pub fn len(&self) -> usize {
        self.read().records.len()
    }

    /// Whether there is no integration.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // A panic while the lock was held cannot leave the maps half-changed: every write
        // below checks first and then changes, with nothing that panics in between.
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    /// Points every token of `record` at it.
    fn index_tokens(&mut self, record: &Arc<Integration>) {
        for t in record.tokens() {
            self.by_token.insert(t.id(), Arc::clone(record));
        }
    }

    fn unindex_tokens(&mut self, record: &Integration) {
        for t in record.tokens() {
            self.by_token.remove(&t.id());
        }
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Option<&Arc<Integration>> {
        self.records.get(&id).filter(|r| r.tenant() == tenant)
    }

    /// Replaces the record `old` (same id) with `new`, keeping every index in step.
    fn replace(
        &mut self,
        old: &Integration,
        new: Integration,
    ) -> Result<Arc<Integration>, StoreError> {
        let old_key = (old.tenant().clone(), name_key(old.name()));
        let new_key = (new.tenant().clone(), name_key(new.name()));
        if old_key != new_key && self.by_name.contains_key(&new_key) {
            return Err(StoreError::NameTaken);
        }
        let taken = new.tokens().iter().any(|t| {
            self.by_token
                .get(&t.id())
                .is_some_and(|holder| holder.id() != new.id())
        });
        if taken {
            return Err(StoreError::IdTaken);
        }
        self.unindex_tokens(old);
        self.by_name.remove(&old_key);
        self.by_name.insert(new_key, new.id());
        let new = Arc::new(new);
        self.index_tokens(&new);
        self.records.insert(new.id(), Arc::clone(&new));
        Ok(new)
    }
}

impl TokenStore for MemoryStore {
    fn insert(&self, record: Integration) -> Result<(), StoreError> {
        let mut inner = self.write();
        let key = (record.tenant().clone(), name_key(record.name()));
        if inner.by_name.contains_key(&key) {
            return Err(StoreError::NameTaken);
        }
        if inner.records.contains_key(&record.id())
            || record
                .tokens()
                .iter()
                .any(|t| inner.by_token.contains_key(&t.id()))
        {
            return Err(StoreError::IdTaken);
        }
        let record = Arc::new(record);
        inner.by_name.insert(key, record.id());
        inner.index_tokens(&record);
        inner.records.insert(record.id(), record);
        Ok(())
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        Ok(self.read().get(tenant, id).map(|r| Integration::clone(r)))
    }

    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        let inner = self.read();
        let mut list: Vec<Integration> = inner
            .records
            .values()
            .filter(|r| r.tenant() == tenant)
            .map(|r| Integration::clone(r))
            .collect();
        list.sort_by_key(|r| (r.created_at(), r.id()));
        Ok(list)
    }

    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError> {
        let mut inner = self.write();
        let Some(old) = inner.get(tenant, id).cloned() else {
            return Ok(None);
        };
        let mut new = Integration::clone(&old);
        change(&mut new);
        new.keep_identity_of(&old);
        let new = inner.replace(&old, new)?;
        Ok(Some(Integration::clone(&new)))
    }

    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        let mut inner = self.write();
        let Some(old) = inner.get(tenant, id).cloned() else {
            return Ok(None);
        };
        inner.unindex_tokens(&old);
        inner
            .by_name
            .remove(&(old.tenant().clone(), name_key(old.name())));
        inner.records.remove(&id);
        Ok(Some(Integration::clone(&old)))
    }

    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        Ok(self.read().by_token.get(&token).cloned())
    }

    fn with_token_record(
        &self,
        token: TokenId,
        visit: &mut dyn FnMut(Option<&Integration>),
    ) -> Result<(), StoreError> {
        let inner = self.read();
        visit(inner.by_token.get(&token).map(|r| &**r));
        Ok(())
    }

    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        let mut inner = self.write();
        let Some(old) = inner.by_token.get(&token).cloned() else {
            return Ok(());
        };
        let mut new = Integration::clone(&old);
        new.record_use(token, at);
        inner.replace(&old, new)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::sha256;
    use crate::record::TokenRecord;
    use std::time::Duration;

    fn tenant(t: &str) -> TenantId {
        TenantId::new(t).unwrap()
    }

    fn record(t: &str, name: &str, at: u64) -> Integration {
        let token = TokenRecord::new(
            TokenId::random().unwrap(),
            sha256(b"s"),
            None,
            Timestamp::from_unix_secs(at),
            None,
        );
        Integration::new(
            tenant(t),
            IntegrationId::random().unwrap(),
            name.into(),
            Timestamp::from_unix_secs(at),
            token,
        )
    }

    fn first_token(r: &Integration) -> TokenId {
        r.tokens()[0].id()
    }

    #[test]
    fn names_are_unique_per_tenant_case_insensitively() {
        let store = MemoryStore::new();
        store.insert(record("a", "Okta", 1)).unwrap();
        assert!(matches!(
            store.insert(record("a", "OKTA", 2)),
            Err(StoreError::NameTaken)
        ));
        store.insert(record("b", "okta", 3)).unwrap();
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn tenants_do_not_see_each_other() {
        let store = MemoryStore::new();
        let r = record("a", "Okta", 1);
        let id = r.id();
        store.insert(r).unwrap();
        assert!(store.get(&tenant("b"), id).unwrap().is_none());
        assert!(store.delete(&tenant("b"), id).unwrap().is_none());
        assert!(
            store
                .update(&tenant("b"), id, &mut |_| {})
                .unwrap()
                .is_none()
        );
        assert!(store.list(&tenant("b")).unwrap().is_empty());
        assert_eq!(store.list(&tenant("a")).unwrap().len(), 1);
    }

    #[test]
    fn update_keeps_indexes_in_step() {
        let store = MemoryStore::new();
        let r = record("a", "Okta", 1);
        let (id, old_token) = (r.id(), first_token(&r));
        store.insert(r).unwrap();
        store.insert(record("a", "Entra", 2)).unwrap();
        let new_token = TokenId::random().unwrap();
        let updated = store
            .update(&tenant("a"), id, &mut |i| {
                i.set_name("Okta prod".into());
                let t = TokenRecord::new(
                    new_token,
                    sha256(b"n"),
                    None,
                    Timestamp::from_unix_secs(5),
                    None,
                );
                i.rotate(t, Timestamp::from_unix_secs(5), Duration::ZERO);
            })
            .unwrap()
            .unwrap();
        assert_eq!(updated.name(), "Okta prod");
        assert!(store.find_by_token(old_token).unwrap().is_none());
        assert_eq!(
            store.find_by_token(new_token).unwrap().unwrap().name(),
            "Okta prod"
        );
        // The old name is free again, the new one is taken.
        store.insert(record("a", "okta", 3)).unwrap();
        let clash = store.update(&tenant("a"), id, &mut |i| i.set_name("ENTRA".into()));
        assert!(matches!(clash, Err(StoreError::NameTaken)));
        assert_eq!(
            store.get(&tenant("a"), id).unwrap().unwrap().name(),
            "Okta prod"
        );
        // Renaming to another case of its own name is allowed.
        store
            .update(&tenant("a"), id, &mut |i| i.set_name("OKTA PROD".into()))
            .unwrap()
            .unwrap();
    }

    #[test]
    fn delete_drops_every_token() {
        let store = MemoryStore::new();
        let r = record("a", "Okta", 1);
        let (id, token) = (r.id(), first_token(&r));
        store.insert(r).unwrap();
        let deleted = store.delete(&tenant("a"), id).unwrap().unwrap();
        assert_eq!(deleted.id(), id);
        assert!(store.find_by_token(token).unwrap().is_none());
        assert!(store.is_empty());
        store.insert(record("a", "Okta", 2)).unwrap();
    }

    #[test]
    fn id_hasher_spreads_random_ids() {
        use std::hash::BuildHasher;
        let build = BuildHasherDefault::<IdHasher>::default();
        let mut hashes = std::collections::HashSet::new();
        let mut low_bits = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let h = build.hash_one(TokenId::random().unwrap());
            hashes.insert(h);
            low_bits.insert(h & 0xFFF);
        }
        assert_eq!(hashes.len(), 10_000);
        let fixed = TokenId::from_checked(*b"0123456789abcdef");
        assert_eq!(build.hash_one(fixed), build.hash_one(fixed));
        // 10,000 uniform draws into 4,096 buckets fill 4096 × (1 − e^−2.44) ≈ 3,739 of them,
        // standard deviation about 18; a skewed hash fills far fewer.
        assert!(low_bits.len() > 3_650, "{}", low_bits.len());
    }

    #[test]
    fn record_use_and_list_order() {
        let store = MemoryStore::new();
        let r = record("a", "B", 5);
        let token = first_token(&r);
        store.insert(r).unwrap();
        store.insert(record("a", "A", 1)).unwrap();
        store
            .record_use(token, Timestamp::from_unix_secs(9))
            .unwrap();
        store
            .record_use(TokenId::random().unwrap(), Timestamp::from_unix_secs(9))
            .unwrap();
        let found = store.find_by_token(token).unwrap().unwrap();
        assert_eq!(found.last_used_at(), Some(Timestamp::from_unix_secs(9)));
        let names: Vec<String> = store
            .list(&tenant("a"))
            .unwrap()
            .iter()
            .map(|r| r.name().to_owned())
            .collect();
        assert_eq!(names, ["A", "B"]);
        assert!(format!("{store:?}").contains("integrations: 2"));
    }
}
