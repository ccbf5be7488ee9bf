//! Storage of integration records: the [`TokenStore`] trait and [`MemoryStore`].
//!
//! The trait is synchronous. A store that lives in memory (or in an embedded database such as
//! SQLite) answers without waiting on the network, and verification is on the path of every
//! request, where a boxed future per call would cost more than the lookup. A service whose
//! records live behind an asynchronous client does not implement this trait: it fetches the
//! record by [`ParsedToken::id`](crate::ParsedToken::id) itself and calls
//! [`Settings::verify_record`](crate::Settings::verify_record), a pure function.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::id::{IntegrationId, TenantId, TokenId};
use crate::record::{Integration, TokenRecord, name_key};
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

/// What a store found for a token id, as verification needs it: the integration, the
/// token's record in it, and the token's last use (which a store may keep outside the
/// record, as [`MemoryStore`] does).
#[derive(Debug, Clone, Copy)]
pub struct TokenMatch<'a> {
    integration: &'a Integration,
    token: &'a TokenRecord,
    last_used_at: Option<Timestamp>,
}

impl<'a> TokenMatch<'a> {
    /// The token `token` of `integration`, with the last use its record holds; `None` if
    /// the integration does not hold that token.
    pub fn find(integration: &'a Integration, token: TokenId) -> Option<Self> {
        let record = integration.token(token)?;
        Some(Self {
            integration,
            token: record,
            last_used_at: record.last_used_at(),
        })
    }

    /// The same match with the token's last use as the store keeps it, when that is not
    /// the record's own field.
    pub fn with_last_used_at(self, last_used_at: Option<Timestamp>) -> Self {
        Self {
            last_used_at,
            ..self
        }
    }

    /// The integration that holds the token.
    pub fn integration(&self) -> &'a Integration {
        self.integration
    }

    /// The token's record.
    pub fn token(&self) -> &'a TokenRecord {
        self.token
    }

    /// When the token last verified, as far as the store knows.
    pub fn last_used_at(&self) -> Option<Timestamp> {
        self.last_used_at
    }
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

    /// Calls `visit` once with the token `token` in the integration that holds it (`None`
    /// if none): the lookup of every verification, which then needs the record only for
    /// the duration of the call. The default fetches it with
    /// [`find_by_token`](Self::find_by_token); [`MemoryStore`] calls `visit` on its
    /// lock-free snapshot, without touching the record's reference count. `visit` must not
    /// call the store.
    ///
    /// # Errors
    ///
    /// A backend error (`visit` is not called then).
    fn with_token_record(
        &self,
        token: TokenId,
        visit: &mut dyn FnMut(Option<TokenMatch<'_>>),
    ) -> Result<(), StoreError> {
        let record = self.find_by_token(token)?;
        visit(record.as_deref().and_then(|r| TokenMatch::find(r, token)));
        Ok(())
    }

    /// [`with_token_record`](Self::with_token_record) with a callback known at compile time,
    /// which verification uses: a store can call it directly, so that the compiler compiles
    /// the lookup and the check of the record as one function (no call through a pointer,
    /// no captured variables read back from memory). The default calls
    /// [`with_token_record`](Self::with_token_record); [`MemoryStore`] overrides it.
    ///
    /// # Errors
    ///
    /// A backend error (`visit` is not called then).
    #[inline]
    fn with_token_match(
        &self,
        token: TokenId,
        mut visit: impl FnMut(Option<TokenMatch<'_>>),
    ) -> Result<(), StoreError>
    where
        Self: Sized,
    {
        self.with_token_record(token, &mut visit)
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
        visit: &mut dyn FnMut(Option<TokenMatch<'_>>),
    ) -> Result<(), StoreError> {
        (**self).with_token_record(token, visit)
    }
    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        (**self).record_use(token, at)
    }
}

/// A [`TokenStore`] in memory, read without locking.
///
/// Verification reads an immutable snapshot of the token index, swapped as a whole by each
/// write (insert, update, delete), never changed in place while anyone can see it. Each
/// thread keeps the last snapshot it used and checks it against the store's generation
/// counter with one plain atomic load: the lookup of a verification takes no lock and
/// writes no shared memory. A write publishes its snapshot before it returns, so the next
/// verification on every thread sees it (a rotated, revoked or deleted token fails at once).
///
/// A write changes the index in place when no thread holds the published snapshot, and
/// copies it first otherwise: O(n) in the number of tokens, about 0.3 ms for 10,000, for
/// each create, rename, rotation or delete (not for the note of a use). The index is one
/// flat table: split into copy-on-write shards, each write would copy only one shard, but
/// the extra pointer on the path of every verification measured about 10 ns slower (of
/// about 170).
/// The last use of each token is an atomic beside the record, not part of it, so the
/// once-a-minute note of a use is one atomic update and no copy; [`get`](TokenStore::get),
/// [`list`](TokenStore::list) and [`find_by_token`](TokenStore::find_by_token) return
/// records with their last use filled in.
///
/// Each thread's cached snapshot stays alive until that thread next reads this store (or
/// another `MemoryStore`), or exits; a thread that alternates between several stores takes
/// the lock on each switch (one cache slot per thread).
pub struct MemoryStore {
    /// Unique among the stores of the process: the per-thread cache's key.
    id: u64,
    /// The generation of the published snapshot, stored (under `state`'s lock) after the
    /// snapshot itself.
    generation: AtomicU64,
    state: Mutex<State>,
}

/// The key of the token index: a token id's 16 bytes as one number.
#[inline]
fn key(token: TokenId) -> u128 {
    u128::from_le_bytes(*token.as_bytes())
}

/// The hasher of the token index: two multiplies over the key's halves.
///
/// Token ids are drawn by this crate from the operating system's randomness, so the index
/// needs no keyed, collision-resistant hash (SipHash, the default, costs more than the rest
/// of the lookup): a client chooses the ids it looks up, never the ids stored, and a lookup
/// of any id probes one group of random keys.
#[derive(Default)]
struct IdHasher(u64);

/// An odd constant with well-spread bits (the golden ratio's fraction).
const MIX: u64 = 0x9E37_79B9_7F4A_7C15;

impl Hasher for IdHasher {
    #[inline]
    fn write_u128(&mut self, n: u128) {
        // Both halves folded in with a multiply each: every bit of the key reaches the high
        // bits of the product.
        let (low, high) = (n as u64, (n >> 64) as u64);
        self.0 = (self.0 ^ low).wrapping_mul(MIX).rotate_left(29) ^ high;
        self.0 = self.0.wrapping_mul(MIX);
    }

    fn write(&mut self, bytes: &[u8]) {
        // Not used by the index (its keys are `u128`), kept correct for any key.
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(23) ^ u64::from_le_bytes(word)).wrapping_mul(MIX);
        }
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Fold the high bits down: the table takes its index from the low bits and its tag
        // from the high ones.
        self.0 ^ (self.0 >> 29)
    }
}

/// The token index: token id to where the token is.
type TokenIndex = HashMap<u128, Slot, BuildHasherDefault<IdHasher>>;

/// Where a token is: its integration, and its position in the integration's tokens.
#[derive(Clone)]
struct Slot {
    entry: Arc<Entry>,
    position: usize,
}

/// An integration as the store holds it: the record, immutable once published, and the last
/// use of each of its tokens (same order), noted without copying the record.
struct Entry {
    record: Integration,
    uses: Box<[AtomicU64]>,
}

/// A last use as an atomic word: 0 for never, the time plus one otherwise (the last second
/// of `u64` is taken as the one before it).
fn encode_use(at: Option<Timestamp>) -> u64 {
    at.map_or(0, |t| t.unix_secs().saturating_add(1))
}

fn decode_use(word: u64) -> Option<Timestamp> {
    word.checked_sub(1).map(Timestamp::from_unix_secs)
}

impl Entry {
    fn new(record: Integration) -> Arc<Self> {
        let uses = record
            .tokens()
            .iter()
            .map(|t| AtomicU64::new(encode_use(t.last_used_at())))
            .collect();
        Arc::new(Self { record, uses })
    }

    /// The record with the last uses noted since it was stored.
    fn integration(&self) -> Integration {
        let mut record = self.record.clone();
        for (position, used) in self.uses.iter().enumerate() {
            let token = record.tokens().get(position).map(TokenRecord::id);
            if let (Some(token), Some(at)) = (token, decode_use(used.load(Ordering::Relaxed))) {
                record.record_use(token, at);
            }
        }
        record
    }
}

/// The token index at one generation. Copied by the first write after a reader took it,
/// changed in place by the writes that follow while no reader holds it.
#[derive(Clone, Default)]
struct Snapshot {
    generation: u64,
    map: TokenIndex,
}

impl Snapshot {
    #[inline]
    fn slot(&self, token: TokenId) -> Option<&Slot> {
        self.map.get(&key(token))
    }

    #[inline]
    fn find(&self, token: TokenId) -> Option<TokenMatch<'_>> {
        let slot = self.slot(token)?;
        let entry = &*slot.entry;
        Some(TokenMatch {
            integration: &entry.record,
            token: entry.record.tokens().get(slot.position)?,
            last_used_at: decode_use(entry.uses.get(slot.position)?.load(Ordering::Relaxed)),
        })
    }
}

/// What writes change, under the lock.
#[derive(Default)]
struct State {
    records: HashMap<IntegrationId, Arc<Entry>>,
    by_name: HashMap<(TenantId, String), IntegrationId>,
    /// The published snapshot, changed in place when no reader holds it (copied first
    /// otherwise, by `Arc::make_mut`).
    index: Arc<Snapshot>,
}

/// A thread's last snapshot, of the store `store`.
struct Cached {
    store: u64,
    generation: u64,
    snapshot: Arc<Snapshot>,
}

thread_local! {
    static CACHE: RefCell<Option<Cached>> = const { RefCell::new(None) };
}

/// The source of [`MemoryStore`] ids.
static NEXT_STORE_ID: AtomicU64 = AtomicU64::new(1);

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.lock();
        let tokens: usize = state.index.map.len();
        f.debug_struct("MemoryStore")
            .field("integrations", &state.records.len())
            .field("tokens", &tokens)
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            id: NEXT_STORE_ID.fetch_add(1, Ordering::Relaxed),
            generation: AtomicU64::new(0),
            state: Mutex::default(),
        }
    }

    /// The number of integrations, over all tenants.
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether there is no integration.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held cannot leave the maps half-changed: every write
        // below checks first and then changes, with nothing that panics in between (the
        // caller's `change` of `update` runs on a copy, before any change).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Publishes the changes made to `state.index`: a new generation, which every thread's
    /// next read sees. Called with the lock held, before it is released.
    fn publish(&self, state: &mut State) {
        let index = Arc::make_mut(&mut state.index);
        index.generation += 1;
        self.generation.store(index.generation, Ordering::Release);
    }

    /// Calls `f` with the current snapshot: this thread's cached one when its generation is
    /// still the store's (one atomic load, no write to shared memory), otherwise the
    /// published one, which then becomes the cached one.
    #[inline]
    fn with_snapshot(&self, mut f: impl FnMut(&Snapshot)) {
        let generation = self.generation.load(Ordering::Acquire);
        let mut done = false;
        // Unavailable while the thread exits, and already borrowed if `f` reads a store
        // again: then the published snapshot is read under the lock instead.
        let _ = CACHE.try_with(|cell| {
            let Ok(mut slot) = cell.try_borrow_mut() else {
                return;
            };
            let cached = match &mut *slot {
                Some(c) if c.store == self.id && c.generation == generation => c,
                other => {
                    let snapshot = Arc::clone(&self.lock().index);
                    other.insert(Cached {
                        store: self.id,
                        generation: snapshot.generation,
                        snapshot,
                    })
                }
            };
            f(&cached.snapshot);
            done = true;
        });
        if !done {
            let snapshot = Arc::clone(&self.lock().index);
            f(&snapshot);
        }
    }
}

impl State {
    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Option<&Arc<Entry>> {
        self.records
            .get(&id)
            .filter(|e| e.record.tenant() == tenant)
    }

    /// Points every token of `entry` at it.
    fn index_tokens(&mut self, entry: &Arc<Entry>) {
        let index = Arc::make_mut(&mut self.index);
        for (position, t) in entry.record.tokens().iter().enumerate() {
            let entry = Arc::clone(entry);
            index.map.insert(key(t.id()), Slot { entry, position });
        }
    }

    fn unindex_tokens(&mut self, record: &Integration) {
        let index = Arc::make_mut(&mut self.index);
        for t in record.tokens() {
            index.map.remove(&key(t.id()));
        }
    }

    /// Whether a token of `record` is held by another integration.
    fn token_taken(&self, record: &Integration) -> bool {
        record.tokens().iter().any(|t| {
            self.index
                .slot(t.id())
                .is_some_and(|slot| slot.entry.record.id() != record.id())
        })
    }

    /// Replaces the record `old` (same id) with `new`, keeping every index in step.
    fn replace(&mut self, old: &Integration, new: Integration) -> Result<Arc<Entry>, StoreError> {
        let old_key = (old.tenant().clone(), name_key(old.name()));
        let new_key = (new.tenant().clone(), name_key(new.name()));
        if old_key != new_key && self.by_name.contains_key(&new_key) {
            return Err(StoreError::NameTaken);
        }
        if self.token_taken(&new) {
            return Err(StoreError::IdTaken);
        }
        self.unindex_tokens(old);
        self.by_name.remove(&old_key);
        self.by_name.insert(new_key, new.id());
        let new = Entry::new(new);
        self.index_tokens(&new);
        self.records.insert(new.record.id(), Arc::clone(&new));
        Ok(new)
    }
}

impl TokenStore for MemoryStore {
    fn insert(&self, record: Integration) -> Result<(), StoreError> {
        let mut state = self.lock();
        let key = (record.tenant().clone(), name_key(record.name()));
        if state.by_name.contains_key(&key) {
            return Err(StoreError::NameTaken);
        }
        if state.records.contains_key(&record.id())
            || record
                .tokens()
                .iter()
                .any(|t| state.index.slot(t.id()).is_some())
        {
            return Err(StoreError::IdTaken);
        }
        let entry = Entry::new(record);
        state.by_name.insert(key, entry.record.id());
        state.index_tokens(&entry);
        state.records.insert(entry.record.id(), entry);
        self.publish(&mut state);
        Ok(())
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        Ok(self.lock().get(tenant, id).map(|e| e.integration()))
    }

    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        let state = self.lock();
        let mut list: Vec<Integration> = state
            .records
            .values()
            .filter(|e| e.record.tenant() == tenant)
            .map(|e| e.integration())
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
        let mut state = self.lock();
        let Some(old) = state.get(tenant, id).map(|e| e.integration()) else {
            return Ok(None);
        };
        let mut new = old.clone();
        change(&mut new);
        new.keep_identity_of(&old);
        let new = state.replace(&old, new)?;
        self.publish(&mut state);
        Ok(Some(new.integration()))
    }

    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        let mut state = self.lock();
        let Some(old) = state.get(tenant, id).map(|e| e.integration()) else {
            return Ok(None);
        };
        state.unindex_tokens(&old);
        state
            .by_name
            .remove(&(old.tenant().clone(), name_key(old.name())));
        state.records.remove(&id);
        self.publish(&mut state);
        Ok(Some(old))
    }

    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        let mut found = None;
        self.with_snapshot(|snapshot| {
            found = snapshot
                .slot(token)
                .map(|slot| Arc::new(slot.entry.integration()));
        });
        Ok(found)
    }

    #[inline]
    fn with_token_record(
        &self,
        token: TokenId,
        visit: &mut dyn FnMut(Option<TokenMatch<'_>>),
    ) -> Result<(), StoreError> {
        self.with_snapshot(|snapshot| visit(snapshot.find(token)));
        Ok(())
    }

    #[inline]
    fn with_token_match(
        &self,
        token: TokenId,
        mut visit: impl FnMut(Option<TokenMatch<'_>>),
    ) -> Result<(), StoreError> {
        self.with_snapshot(|snapshot| visit(snapshot.find(token)));
        Ok(())
    }

    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        // Under the lock, so that a write copying the record (a rename, a rotation) cannot
        // miss the note: it reads the uses under the same lock.
        let state = self.lock();
        if let Some(slot) = state.index.slot(token)
            && let Some(used) = slot.entry.uses.get(slot.position)
        {
            used.fetch_max(encode_use(Some(at)), Ordering::Relaxed);
        }
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
        let mut tags = std::collections::HashSet::new();
        for _ in 0..10_000 {
            let k = key(TokenId::random().unwrap());
            let h = build.hash_one(k);
            hashes.insert(h);
            low_bits.insert(h & 0xFFF);
            tags.insert(h >> 57);
        }
        assert_eq!(hashes.len(), 10_000);
        let fixed = key(TokenId::from_checked(*b"0123456789abcdef"));
        assert_eq!(build.hash_one(fixed), build.hash_one(fixed));
        // 10,000 uniform draws into 4,096 buckets fill 4096 × (1 − e^−2.44) ≈ 3,739 of them,
        // standard deviation about 18; a skewed hash fills far fewer.
        assert!(low_bits.len() > 3_650, "{}", low_bits.len());
        // The tags (top seven bits) take all 128 values.
        assert_eq!(tags.len(), 128);
        // The byte-wise path of the hasher (unused by the index) still spreads.
        assert_ne!(build.hash_one(b"ab"), build.hash_one(b"ba"));
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
