//! [`SqliteTokenStore`]: scim-tokens' [`TokenStore`] in the same SQLite database as the
//! resources.
//!
//! Each integration is one row (its serde form as JSON, which holds only token digests,
//! never a token) with the tenant and [`name_key`] under a unique index; a `tokens` table
//! maps every token id the record holds to it, so a verification is one indexed lookup.
//!
//! The records [`find_by_token`](TokenStore::find_by_token) found are kept in memory with
//! the **generation** of the integrations they were read at: a counter row that every write
//! of an integration (create, rename, rotate, delete, the note of a use), from any process
//! sharing the database file, bumps in its own transaction. A lookup reads that one row
//! (a primary-key read instead of a join and the decoding of the record) and uses the kept
//! record only when the generation is unchanged, so a rotated, deleted or renamed token
//! fails on the very next request, whichever process changed it.
//!
//! Most lookups need no SQLite read at all: a watch reads the header of the
//! database's WAL index (the first bytes of its `-shm` file, which every commit of every
//! process rewrites) with one `pread`, and while it is the header seen right before the
//! generation was last read, nothing has been committed since, by anyone: the generation
//! and the records kept under it are current. A read transaction takes SQLite's lock of
//! the shared memory (a mutex and an `fcntl` lock) to begin and to end; the `pread` takes
//! none.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rusqlite::{OptionalExtension, Transaction, params};
use scim_tokens::{
    Integration, IntegrationId, StoreError, TenantId, Timestamp, TokenId, TokenStore, name_key,
};

use crate::db::Database;
use crate::held::{WalHeader, WalIndex};

/// A [`TokenStore`] on a SQLite [`Database`].
#[derive(Debug, Clone)]
pub struct SqliteTokenStore {
    db: Arc<Database>,
    cache: Arc<Mutex<Cache>>,
    /// Opened by the first lookup (`None` inside: the database has no WAL index file).
    watch: Arc<std::sync::OnceLock<Option<ChangeWatch>>>,
    /// Lookups that read the generation from SQLite (for tests).
    #[cfg(test)]
    generation_reads: Arc<std::sync::atomic::AtomicUsize>,
}

/// The most records the cache keeps; a full cache starts again empty. Only token ids the
/// database holds are kept, so requests with made-up tokens cannot fill it.
const CACHE_CAPACITY: usize = 1024;

/// Records found by token id, all read at one generation of the integrations.
#[derive(Default)]
struct Cache {
    generation: i64,
    /// The WAL-index header read right before `generation` was: while the header is the
    /// same, nothing was committed since and `generation` is current.
    seen: Option<WalHeader>,
    records: HashMap<TokenId, Arc<Integration>>,
}

/// Tells whether anything was committed to the database, by any process, since a header
/// was read: every commit rewrites the WAL-index header in the `-shm` file (its change
/// counter, the frame count and checksums) before it returns, so a header read later
/// that is byte for byte the earlier one means no commit ended in between. The file is
/// the one SQLite itself maps (every connection of a database in WAL mode shares it, and
/// it is not removed while this process has the database open). Absent for a database
/// without one (in memory, not in WAL mode): then every lookup reads the generation.
#[derive(Debug)]
struct ChangeWatch {
    index: WalIndex,
}

impl ChangeWatch {
    /// The watch of the database `conn` is open on, if it has a WAL index file.
    fn open(conn: &rusqlite::Connection) -> Option<Self> {
        #[cfg(unix)]
        {
            let path = conn.path().filter(|p| !p.is_empty())?;
            let wal: String = conn
                .pragma_query_value(None, "journal_mode", |r| r.get(0))
                .ok()?;
            if !wal.eq_ignore_ascii_case("wal") {
                return None;
            }
            Some(ChangeWatch {
                index: WalIndex::open(path)?,
            })
        }
        #[cfg(not(unix))]
        {
            let _ = conn;
            None
        }
    }

    /// The header now; `None` when it cannot be read whole (then the caller reads the
    /// generation).
    fn header(&self) -> Option<WalHeader> {
        self.index.header()
    }
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Token ids and digests stay out of Debug output.
        f.debug_struct("Cache")
            .field("generation", &self.generation)
            .field("records", &self.records.len())
            .finish()
    }
}

/// The generation of the integrations, read with one statement on `conn`.
fn generation(conn: &rusqlite::Connection) -> Result<i64, StoreError> {
    conn.prepare_cached("SELECT value FROM counters WHERE name = 'integrations'")
        .and_then(|mut s| s.query_row([], |r| r.get(0)))
        .map_err(backend)
}

/// Bumps the generation of the integrations, in the transaction of a write of one.
fn bump(tx: &Transaction<'_>) -> Result<(), StoreError> {
    tx.prepare_cached("UPDATE counters SET value = value + 1 WHERE name = 'integrations'")
        .and_then(|mut s| s.execute([]))
        .map_err(backend)
        .map(drop)
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
        SqliteTokenStore {
            db,
            cache: Arc::new(Mutex::new(Cache::default())),
            watch: Arc::new(std::sync::OnceLock::new()),
            #[cfg(test)]
            generation_reads: Arc::default(),
        }
    }

    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
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
            Self::write_tokens(tx, &record)?;
            bump(tx)
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
            bump(tx)?;
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
            bump(tx)?;
            Ok(Some(record))
        })
    }

    fn find_by_token(&self, token: TokenId) -> Result<Option<Arc<Integration>>, StoreError> {
        // Nothing committed since the generation was read: the kept record is current.
        // (Read once per request: the resource's read compares against the same reading.)
        let seen = self
            .watch
            .get()
            .and_then(|w| crate::held::request_header(|| w.as_ref()?.header()));
        if let Some(h) = &seen {
            let cache = self.cache();
            if cache.seen.as_ref() == Some(h)
                && let Some(r) = cache.records.get(&token)
            {
                return Ok(Some(Arc::clone(r)));
            }
        }
        let conn = self.db.reader().map_err(backend)?;
        let watch = self.watch.get_or_init(|| ChangeWatch::open(&conn));
        // Read before the generation: a later equal header means the generation is current.
        let seen = match (seen, watch) {
            (Some(h), _) => Some(h),
            (None, Some(w)) => w.header(),
            (None, None) => None,
        };
        // The generation first: a record read after it is at least as new, so keeping it
        // under that generation can only make the next lookup read it again.
        let generation = generation(&conn)?;
        #[cfg(test)]
        self.generation_reads
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        {
            let mut cache = self.cache();
            if cache.generation != generation {
                cache.generation = generation;
                cache.records.clear();
            }
            // The header and the generation read after it, kept together.
            cache.seen = seen;
            if let Some(r) = cache.records.get(&token) {
                return Ok(Some(Arc::clone(r)));
            }
        }
        let record = find_by_token(&conn, token)?;
        drop(conn);
        if let Some(r) = &record {
            let mut cache = self.cache();
            // A lookup that read an older generation than the cache now has keeps nothing.
            if cache.generation == generation {
                if cache.records.len() >= CACHE_CAPACITY {
                    cache.records.clear();
                }
                cache.records.insert(token, Arc::clone(r));
            }
        }
        Ok(record)
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
            bump(tx)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Durability;
    use scim_tokens::{Settings, TokenOptions, TokenService};

    /// Two stores on one database file, each with its own connections and cache: two
    /// processes, as the server and the command line are.
    fn two_processes(name: &str) -> (std::path::PathBuf, SqliteTokenStore, SqliteTokenStore) {
        let dir = std::env::temp_dir().join(format!("scim-tokens-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("scim.db");
        let open = || Arc::new(Database::open(&path, Durability::Normal).expect("open"));
        (
            dir,
            SqliteTokenStore::new(open()),
            SqliteTokenStore::new(open()),
        )
    }

    #[test]
    fn the_cache_serves_a_token_until_another_process_changes_an_integration() {
        let (dir, server, cli) = two_processes("cache");
        let server_tokens = TokenService::new(server.clone(), Settings::new());
        let cli_tokens = TokenService::new(cli.clone(), Settings::new());
        let tenant = TenantId::new("default").expect("tenant");
        let issued = cli_tokens
            .create(&tenant, "Entra", TokenOptions::new())
            .expect("create");
        let (integration, first) = issued.into_parts();
        let first_id = first.id();

        // Found once, then served from memory: the same record.
        let a = server.find_by_token(first_id).expect("find").expect("some");
        let b = server.find_by_token(first_id).expect("find").expect("some");
        assert!(Arc::ptr_eq(&a, &b), "the second lookup is a cache hit");
        assert!(
            server_tokens
                .verify(first.expose_secret().as_bytes())
                .is_ok()
        );

        // Renamed by the other process: the next lookup reads the new record.
        cli_tokens
            .rename(&tenant, integration.id(), "Entra ID")
            .expect("rename");
        let c = server.find_by_token(first_id).expect("find").expect("some");
        assert_eq!(c.name(), "Entra ID");

        // Rotated by the other process: the old token fails on the very next lookup.
        let (_, second) = cli_tokens
            .rotate(&tenant, integration.id(), TokenOptions::new())
            .expect("rotate")
            .into_parts();
        assert!(server.find_by_token(first_id).expect("find").is_none());
        assert!(
            server_tokens
                .verify(first.expose_secret().as_bytes())
                .is_err()
        );
        assert!(
            server_tokens
                .verify(second.expose_secret().as_bytes())
                .is_ok()
        );
        assert!(
            server_tokens
                .verify(second.expose_secret().as_bytes())
                .is_ok()
        );

        // A noted use (later than the ones the verifications noted), by the other process,
        // is seen too.
        let at = Timestamp::from_unix_secs(4_000_000_000);
        cli.record_use(second.id(), at).expect("use");
        let d = server
            .find_by_token(second.id())
            .expect("find")
            .expect("some");
        let used = d
            .tokens()
            .iter()
            .find(|t| t.id() == second.id())
            .and_then(|t| t.last_used_at());
        assert_eq!(used, Some(at));

        // Deleted by the other process: refused at once.
        cli_tokens
            .delete(&tenant, integration.id())
            .expect("delete");
        assert!(server.find_by_token(second.id()).expect("find").is_none());
        assert!(
            server_tokens
                .verify(second.expose_secret().as_bytes())
                .is_err()
        );
        drop((server_tokens, cli_tokens, server, cli));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn without_a_commit_since_no_lookup_reads_sqlite_and_any_commit_is_seen() {
        let (dir, server, cli) = two_processes("watch");
        let reads = || {
            server
                .generation_reads
                .load(std::sync::atomic::Ordering::SeqCst)
        };
        let cli_tokens = TokenService::new(cli.clone(), Settings::new());
        let tenant = TenantId::new("default").expect("tenant");
        let (integration, first) = cli_tokens
            .create(&tenant, "Okta", TokenOptions::new())
            .expect("create")
            .into_parts();
        let a = server
            .find_by_token(first.id())
            .expect("find")
            .expect("some");
        assert_eq!(reads(), 1);
        assert!(
            server.watch.get().is_some_and(Option::is_some),
            "a WAL database has its -shm file"
        );
        for _ in 0..50 {
            let b = server
                .find_by_token(first.id())
                .expect("find")
                .expect("some");
            assert!(Arc::ptr_eq(&a, &b));
        }
        assert_eq!(reads(), 1, "nothing committed: no generation read");

        // A commit of anything, by the other process: the generation is read once more,
        // found unchanged, and the record kept.
        cli.db
            .write(backend, |tx| {
                tx.execute("INSERT INTO counters (name, value) VALUES ('other', 1)", [])
                    .map_err(backend)
            })
            .expect("write");
        let c = server
            .find_by_token(first.id())
            .expect("find")
            .expect("some");
        assert!(Arc::ptr_eq(&a, &c), "an unrelated commit keeps the record");
        assert_eq!(reads(), 2);
        server.find_by_token(first.id()).expect("find");
        assert_eq!(reads(), 2);

        // Rotated by the other process right after a run of lookups from memory: the old
        // token fails on the very next lookup.
        let (_, second) = cli_tokens
            .rotate(&tenant, integration.id(), TokenOptions::new())
            .expect("rotate")
            .into_parts();
        assert!(server.find_by_token(first.id()).expect("find").is_none());
        assert!(server.find_by_token(second.id()).expect("find").is_some());
        let before = reads();
        assert!(server.find_by_token(second.id()).expect("find").is_some());
        assert_eq!(reads(), before, "served from memory again");
        cli_tokens
            .delete(&tenant, integration.id())
            .expect("delete");
        assert!(server.find_by_token(second.id()).expect("find").is_none());
        drop((cli_tokens, server, cli));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn an_in_memory_database_reads_the_generation_every_time() {
        let db = Arc::new(Database::open_in_memory().expect("open"));
        let store = SqliteTokenStore::new(db);
        let tokens = TokenService::new(store.clone(), Settings::new());
        let tenant = TenantId::new("default").expect("tenant");
        let (_, real) = tokens
            .create(&tenant, "Okta", TokenOptions::new())
            .expect("create")
            .into_parts();
        for _ in 0..3 {
            assert!(store.find_by_token(real.id()).expect("find").is_some());
        }
        assert!(store.watch.get().is_some_and(Option::is_none));
        assert_eq!(
            store
                .generation_reads
                .load(std::sync::atomic::Ordering::SeqCst),
            3
        );
    }

    #[test]
    fn tokens_the_database_does_not_hold_are_not_kept() {
        let db = Arc::new(Database::open_in_memory().expect("open"));
        let store = SqliteTokenStore::new(db);
        let tokens = TokenService::new(store.clone(), Settings::new());
        let tenant = TenantId::new("default").expect("tenant");
        let (_, real) = tokens
            .create(&tenant, "Okta", TokenOptions::new())
            .expect("create")
            .into_parts();
        for _ in 0..100 {
            let made_up = Settings::new()
                .format()
                .generate(TokenId::random().expect("random"))
                .expect("token");
            assert!(store.find_by_token(made_up.id()).expect("find").is_none());
        }
        assert!(store.find_by_token(real.id()).expect("find").is_some());
        assert_eq!(store.cache().records.len(), 1);
        assert!(format!("{store:?}").contains("records: 1"));
    }
}
