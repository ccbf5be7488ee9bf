//! [`SqliteTokenStore`]: scim-tokens' [`TokenStore`] in the same SQLite database as the
//! resources.
//!
//! Each integration is one row (its serde form as JSON, which holds only token digests,
//! never a token) with the tenant and [`name_key`] under a unique index; a `tokens` table
//! maps every token id the record holds to it, so a verification is one indexed lookup.

use std::sync::Arc;

use rusqlite::{OptionalExtension, Transaction, params};
use scim_tokens::{
    Integration, IntegrationId, StoreError, TenantId, Timestamp, TokenId, TokenStore, name_key,
};

use crate::db::Database;

/// A [`TokenStore`] on a SQLite [`Database`].
#[derive(Debug, Clone)]
pub struct SqliteTokenStore {
    db: Arc<Database>,
}

fn backend(e: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
    )
}

fn decode(data: &str) -> Result<Integration, StoreError> {
    serde_json::from_str(data).map_err(backend)
}

fn created_key(i: &Integration) -> i64 {
    let t = i.created_at().to_system_time();
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The record of the integration that holds `token`, read with one statement on `conn`.
fn find_by_token(
    conn: &rusqlite::Connection,
    token: TokenId,
) -> Result<Option<Arc<Integration>>, StoreError> {
    let data: Option<String> = conn
        .prepare_cached(
            "SELECT i.data FROM tokens t JOIN integrations i
               ON i.tenant = t.tenant AND i.id = t.integration_id
             WHERE t.token_id = ?1",
        )
        .and_then(|mut s| {
            s.query_row(params![token.as_str()], |r| r.get(0))
                .optional()
        })
        .map_err(backend)?;
    data.map(|d| decode(&d).map(Arc::new)).transpose()
}

impl SqliteTokenStore {
    /// A store on `db`.
    pub fn new(db: Arc<Database>) -> Self {
        SqliteTokenStore { db }
    }

    fn read(
        conn: &rusqlite::Connection,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        conn.prepare_cached("SELECT data FROM integrations WHERE tenant = ?1 AND id = ?2")
            .and_then(|mut s| {
                s.query_row(params![tenant.as_str(), id.as_str()], |r| {
                    r.get::<_, String>(0)
                })
                .optional()
            })
            .map_err(backend)?
            .map(|d| decode(&d))
            .transpose()
    }

    /// Writes the token rows of `i` (after its old rows were removed).
    fn write_tokens(tx: &Transaction<'_>, i: &Integration) -> Result<(), StoreError> {
        let mut s = tx
            .prepare_cached(
                "INSERT INTO tokens (token_id, tenant, integration_id) VALUES (?1, ?2, ?3)",
            )
            .map_err(backend)?;
        for t in i.tokens() {
            s.execute(params![
                t.id().as_str(),
                i.tenant().as_str(),
                i.id().as_str()
            ])
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::IdTaken
                } else {
                    backend(e)
                }
            })?;
        }
        Ok(())
    }
}

impl TokenStore for SqliteTokenStore {
    fn insert(&self, record: Integration) -> Result<(), StoreError> {
        let data = serde_json::to_string(&record).map_err(backend)?;
        self.db.write(backend, |tx| {
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM integrations WHERE tenant = ?1 AND name_key = ?2)",
                    params![record.tenant().as_str(), name_key(record.name())],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if taken {
                return Err(StoreError::NameTaken);
            }
            tx.execute(
                "INSERT INTO integrations (tenant, id, name_key, created, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    record.tenant().as_str(),
                    record.id().as_str(),
                    name_key(record.name()),
                    created_key(&record),
                    data
                ],
            )
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::IdTaken
                } else {
                    backend(e)
                }
            })?;
            Self::write_tokens(tx, &record)
        })
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> Result<Option<Integration>, StoreError> {
        let conn = self.db.reader().map_err(backend)?;
        Self::read(&conn, tenant, id)
    }

    fn list(&self, tenant: &TenantId) -> Result<Vec<Integration>, StoreError> {
        let conn = self.db.reader().map_err(backend)?;
        let mut s = conn
            .prepare_cached("SELECT data FROM integrations WHERE tenant = ?1 ORDER BY created, id")
            .map_err(backend)?;
        let rows = s
            .query_map(params![tenant.as_str()], |r| r.get::<_, String>(0))
            .map_err(backend)?;
        rows.map(|r| r.map_err(backend).and_then(|d| decode(&d)))
            .collect()
    }

    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> Result<Option<Integration>, StoreError> {
        self.db.write(backend, |tx| {
            let Some(mut record) = Self::read(tx, tenant, id)? else {
                return Ok(None);
            };
            change(&mut record);
            let key = name_key(record.name());
            let taken: bool = tx
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM integrations
                     WHERE tenant = ?1 AND name_key = ?2 AND id <> ?3)",
                    params![tenant.as_str(), key, id.as_str()],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if taken {
                return Err(StoreError::NameTaken);
            }
            let data = serde_json::to_string(&record).map_err(backend)?;
            tx.execute(
                "UPDATE integrations SET name_key = ?3, data = ?4 WHERE tenant = ?1 AND id = ?2",
                params![tenant.as_str(), id.as_str(), key, data],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM tokens WHERE tenant = ?1 AND integration_id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            Self::write_tokens(tx, &record)?;
            Ok(Some(record))
        })
    }

    fn delete(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
    ) -> Result<Option<Integration>, StoreError> {
        self.db.write(backend, |tx| {
            let Some(record) = Self::read(tx, tenant, id)? else {
                return Ok(None);
            };
            tx.execute(
                "DELETE FROM integrations WHERE tenant = ?1 AND id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            tx.execute(
                "DELETE FROM tokens WHERE tenant = ?1 AND integration_id = ?2",
                params![tenant.as_str(), id.as_str()],
            )
            .map_err(backend)?;
            Ok(Some(record))
        })
    }

    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        let conn = self.db.reader().map_err(backend)?;
        find_by_token(&conn, token)
    }

    fn record_use(&self, token: TokenId, at: Timestamp) -> Result<(), StoreError> {
        self.db.write(backend, |tx| {
            let key: Option<(String, String)> = tx
                .query_row(
                    "SELECT tenant, integration_id FROM tokens WHERE token_id = ?1",
                    params![token.as_str()],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(backend)?;
            let Some((tenant, id)) = key else {
                return Ok(());
            };
            let data: String = tx
                .query_row(
                    "SELECT data FROM integrations WHERE tenant = ?1 AND id = ?2",
                    params![tenant, id],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            let mut record = decode(&data)?;
            record.record_use(token, at);
            let data = serde_json::to_string(&record).map_err(backend)?;
            tx.execute(
                "UPDATE integrations SET data = ?3 WHERE tenant = ?1 AND id = ?2",
                params![tenant, id, data],
            )
            .map_err(backend)?;
            Ok(())
        })
    }
}
