//! The database a server runs on, chosen at run time by `--database`: a SQLite file (the
//! embedded default) or a PostgreSQL URL (`postgres://...`, for several processes on one
//! database). scim-core's `ResourceStore` is not object-safe (its futures are
//! `impl Future + Send`), so the choice is an enum that forwards every call.

use std::path::Path;
use std::sync::Arc;

use scim_core::store::{
    Edit, ListPage, ListQuery, MemberChange, MembersModified, RawResource, RequestContext,
    ResourceStore, StoreError, StoredResource, UpdateError, Updated,
};
use scim_tokens::{Integration, IntegrationId, TenantId, Timestamp, TokenId, TokenStore};
use serde_json::{Map, Value};

use crate::db::{Database, Durability};
use crate::pg::{PgDatabase, PgStore, PgTokenStore};
use crate::store::SqliteStore;
use crate::tokens::SqliteTokenStore;

/// An open database of either kind.
#[derive(Debug, Clone)]
pub enum Backend {
    /// A SQLite file.
    Sqlite(Arc<Database>),
    /// A PostgreSQL database.
    Postgres(Arc<PgDatabase>),
}

/// Whether `--database` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(database: &str) -> bool {
    ["postgres://", "postgresql://"].iter().any(|p| {
        database
            .get(..p.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(p))
    })
}

impl From<Arc<Database>> for Backend {
    fn from(db: Arc<Database>) -> Self {
        Backend::Sqlite(db)
    }
}

impl From<Arc<PgDatabase>> for Backend {
    fn from(db: Arc<PgDatabase>) -> Self {
        Backend::Postgres(db)
    }
}

impl Backend {
    /// Opens `database`: a PostgreSQL URL, else a SQLite file (with `durability`), and
    /// brings its schema up to date.
    ///
    /// # Errors
    ///
    /// A message for standard error (never showing a password of the URL).
    pub fn open(database: &Path, durability: Durability) -> Result<Self, String> {
        match database.to_str() {
            Some(url) if is_postgres_url(url) => PgDatabase::connect(url)
                .map(Backend::Postgres)
                .map_err(|e| format!("PostgreSQL database: {e}")),
            _ => Database::open(database, durability)
                .map(|db| Backend::Sqlite(Arc::new(db)))
                .map_err(|e| format!("{}: {e}", database.display())),
        }
    }

    /// Marks the database as started once; `true` the first time only.
    ///
    /// # Errors
    ///
    /// A message.
    pub fn claim_bootstrap(&self) -> Result<bool, String> {
        match self {
            Backend::Sqlite(db) => db.claim_bootstrap().map_err(|e| e.to_string()),
            Backend::Postgres(db) => db.claim_bootstrap().map_err(|e| e.to_string()),
        }
    }

    /// The resource store on this database.
    pub fn store(&self) -> AnyStore {
        match self {
            Backend::Sqlite(db) => AnyStore::Sqlite(SqliteStore::new(db.clone())),
            Backend::Postgres(db) => AnyStore::Postgres(PgStore::new(db.clone())),
        }
    }

    /// The token store on this database.
    pub fn token_store(&self) -> AnyTokenStore {
        match self {
            Backend::Sqlite(db) => AnyTokenStore::Sqlite(SqliteTokenStore::new(db.clone())),
            Backend::Postgres(db) => AnyTokenStore::Postgres(PgTokenStore::new(db.clone())),
        }
    }
}

/// A [`ResourceStore`] of either kind.
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// On SQLite.
    Sqlite(SqliteStore),
    /// On PostgreSQL.
    Postgres(PgStore),
}

macro_rules! forward {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl ResourceStore for AnyStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        attributes: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        forward!(self, s => s.create(ctx, resource_type, attributes))
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<StoredResource, StoreError> {
        forward!(self, s => s.get(ctx, resource_type, id))
    }

    async fn get_omitting(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        omit: &[String],
    ) -> Result<StoredResource, StoreError> {
        forward!(self, s => s.get_omitting(ctx, resource_type, id, omit))
    }

    async fn get_raw(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<RawResource>, StoreError> {
        forward!(self, s => s.get_raw(ctx, resource_type, id))
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: Map<String, Value>,
        expected_version: &str,
    ) -> Result<StoredResource, StoreError> {
        forward!(self, s => s.replace(ctx, resource_type, id, attributes, expected_version))
    }

    async fn update<T, F>(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        edit: F,
    ) -> Result<Updated<T>, UpdateError>
    where
        T: Send + 'static,
        F: FnOnce(&mut StoredResource) -> Result<Edit<T>, scim_core::Error> + Send + 'static,
    {
        forward!(self, s => s.update(ctx, resource_type, id, edit))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        forward!(self, s => s.delete(ctx, resource_type, id, expected_version))
    }

    async fn list(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        forward!(self, s => s.list(ctx, query))
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> Result<MembersModified, StoreError> {
        forward!(self, s => s.modify_members(ctx, resource_type, id, changes, expected_version))
    }
}

/// A [`TokenStore`] of either kind.
#[derive(Debug, Clone)]
pub enum AnyTokenStore {
    /// On SQLite.
    Sqlite(SqliteTokenStore),
    /// On PostgreSQL.
    Postgres(PgTokenStore),
}

macro_rules! forward_tokens {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyTokenStore::Sqlite($s) => $call,
            AnyTokenStore::Postgres($s) => $call,
        }
    };
}

type TokenResult<T> = Result<T, scim_tokens::StoreError>;

impl TokenStore for AnyTokenStore {
    fn insert(&self, record: Integration) -> TokenResult<()> {
        forward_tokens!(self, s => s.insert(record))
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> TokenResult<Option<Integration>> {
        forward_tokens!(self, s => s.get(tenant, id))
    }

    fn list(&self, tenant: &TenantId) -> TokenResult<Vec<Integration>> {
        forward_tokens!(self, s => s.list(tenant))
    }

    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> TokenResult<Option<Integration>> {
        forward_tokens!(self, s => s.update(tenant, id, change))
    }

    fn delete(&self, tenant: &TenantId, id: IntegrationId) -> TokenResult<Option<Integration>> {
        forward_tokens!(self, s => s.delete(tenant, id))
    }

    fn find_by_token(&self, token: TokenId) -> TokenResult<Option<Arc<Integration>>> {
        forward_tokens!(self, s => s.find_by_token(token))
    }

    fn record_use(&self, token: TokenId, at: Timestamp) -> TokenResult<()> {
        forward_tokens!(self, s => s.record_use(token, at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_urls_are_recognised() {
        assert!(is_postgres_url("postgres://u@127.0.0.1:5432/db"));
        assert!(is_postgres_url("PostgreSQL://h/db"));
        assert!(!is_postgres_url("./scim.db"));
        assert!(!is_postgres_url("postgres.db"));
        assert!(!is_postgres_url("é"));
    }
}
