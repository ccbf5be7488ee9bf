//! Shared by the black-box tests: a store that counts what verification asks of it.
#![allow(dead_code)] // Each test file uses part of it.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use scim_tokens::{
    Integration, IntegrationId, MemoryStore, StoreError, TenantId, Timestamp, TokenId, TokenStore,
};

/// A [`MemoryStore`] that counts token lookups and last-use writes.
#[derive(Debug, Default)]
pub struct CountingStore {
    inner: MemoryStore,
    lookups: AtomicUsize,
    uses: AtomicUsize,
}

impl CountingStore {
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }

    pub fn uses(&self) -> usize {
        self.uses.load(Ordering::SeqCst)
    }
}

impl TokenStore for CountingStore {
    fn insert(&self, record: Integration) -> Result<(), StoreError> {
        self.inner.insert(record)
    }
    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        self.inner.get(tenant, id)
    }
    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        self.inner.list(tenant)
    }
    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError> {
        self.inner.update(tenant, id, change)
    }
    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        self.inner.delete(tenant, id)
    }
    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        self.inner.find_by_token(token)
    }
    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        self.uses.fetch_add(1, Ordering::SeqCst);
        self.inner.record_use(token, at)
    }
}

/// A store whose every call fails, for the error paths.
#[derive(Debug, Default)]
pub struct BrokenStore;

fn broken<T>() -> Result<T, StoreError> {
    Err(StoreError::Backend("disk on fire".into()))
}

impl TokenStore for BrokenStore {
    fn insert(&self, _: Integration) -> Result<(), StoreError> {
        broken()
    }
    fn get(&self, _: &TenantId, _: IntegrationId) -> Result<Option<Integration>, StoreError> {
        broken()
    }
    fn list(&self, _: &TenantId) -> Result<Vec<Integration>, StoreError> {
        broken()
    }
    fn update(
        &self,
        _: &TenantId,
        _: IntegrationId,
        _: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError> {
        broken()
    }
    fn delete(&self, _: &TenantId, _: IntegrationId) -> Result<Option<Integration>, StoreError> {
        broken()
    }
    fn find_by_token(&self, _: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        broken()
    }
    fn record_use(&self, _: TokenId, _: Timestamp) -> Result<(), StoreError> {
        broken()
    }
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

pub fn at(secs: u64) -> Timestamp {
    Timestamp::from_unix_secs(secs)
}
