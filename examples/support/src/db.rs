//! The SQLite database: opening it, its settings, and its schema migrations.
//!
//! One database file holds everything: resources, group members, integrations and token
//! digests. A process keeps **one writer connection** behind a mutex, so its own writes never
//! contend with each other; every write is a `BEGIN IMMEDIATE` transaction, and the
//! connection waits up to [`BUSY_TIMEOUT`] for another process (the admin command run while
//! the server serves), so `SQLITE_BUSY` does not reach a client.
//!
//! Reads go to the writer when it is free (its page cache survives its own commits, a
//! reader's is dropped after every commit of another connection) and otherwise to a few
//! **reader connections** beside it (`query_only`, each behind its own mutex), so a read
//! neither waits for a write nor for another read: in WAL mode a reader
//! sees the last commit when its transaction begins. A read that takes several statements
//! runs in one read transaction, so it sees one state of the database.
//! An in-memory database (tests) has no readers: its one connection serves everything.
//!
//! Journal: WAL with `synchronous=NORMAL` ([`Durability::Normal`], the default): a commit is
//! in the WAL before the write is acknowledged, so every acknowledged write survives a crash
//! of the process (`kill -9`); a power loss may lose the last transactions.
//! [`Durability::Full`] (`synchronous=FULL`) syncs the WAL on every commit and survives
//! power loss too, at the cost of one fsync per write.

use std::ops::Deref;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, TransactionBehavior};
use scim_filter::sql::{FOLD_FUNCTION, INSTANT_FUNCTION, fold, instant_key};

/// How long a connection waits for another process's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many prepared statements each connection keeps.
const STATEMENT_CACHE: usize = 64;

/// How hard a commit is pushed to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Durability {
    /// WAL with `synchronous=NORMAL`: survives a process crash.
    #[default]
    Normal,
    /// WAL with `synchronous=FULL`: survives a power loss as well.
    Full,
}

/// Why the database failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// SQLite reported an error.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of this program.
    #[error("the database schema version {found} is newer than this program knows ({known})")]
    TooNew {
        /// The version in the file.
        found: u32,
        /// The newest version this program knows.
        known: u32,
    },
}

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`
/// (the version is SQLite's `user_version`). Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: resources, members, integrations, tokens.
    "CREATE TABLE resources (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        data TEXT NOT NULL,
        user_name_folded TEXT,
        external_id TEXT,
        external_id_folded TEXT,
        display_name_folded TEXT
    );
    CREATE UNIQUE INDEX resources_id ON resources (tenant, resource_type, id);
    CREATE UNIQUE INDEX resources_user_name
        ON resources (tenant, resource_type, user_name_folded);
    CREATE INDEX resources_external_id
        ON resources (tenant, resource_type, external_id_folded);
    CREATE INDEX resources_display_name
        ON resources (tenant, resource_type, display_name_folded);
    CREATE TABLE members (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        value TEXT NOT NULL,
        data TEXT NOT NULL
    );
    CREATE UNIQUE INDEX members_group ON members (tenant, group_id, value);
    CREATE INDEX members_value ON members (tenant, value);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT INTO counters (name, value) VALUES ('version', 0);
    CREATE TABLE integrations (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        created INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (tenant, id)
    );
    CREATE UNIQUE INDEX integrations_name ON integrations (tenant, name_key);
    CREATE TABLE tokens (
        token_id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        integration_id TEXT NOT NULL
    );
    CREATE INDEX tokens_integration ON tokens (tenant, integration_id);",
    // 2: the admin page's password (argon2id PHC string), one row.
    "CREATE TABLE admin_password (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        hash TEXT NOT NULL,
        updated INTEGER NOT NULL
    );",
];

/// How many reader connections a file database opens: one per core, at least two.
fn reader_count() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}

/// An open database: the writer connection and the reader connections, each behind a
/// mutex.
#[derive(Debug)]
pub struct Database {
    conn: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
}

/// A reader connection (or the writer, for a database without readers) in a read
/// transaction, ended when the guard drops.
pub(crate) struct ReadGuard<'a> {
    conn: MutexGuard<'a, Connection>,
}

impl Deref for ReadGuard<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        // Nothing was written: ending the transaction cannot lose anything. If it fails the
        // connection is still in autocommit mode, or the next BEGIN reports it.
        if !self.conn.is_autocommit() {
            let _ = self
                .conn
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]));
        }
    }
}

impl Database {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    ///
    /// # Errors
    ///
    /// [`DbError`] when the file cannot be opened or migrated.
    pub fn open(path: &Path, durability: Durability) -> Result<Self, DbError> {
        let mut db = Self::setup(Connection::open(path)?, durability, true)?;
        for _ in 0..reader_count() {
            let conn = Connection::open(path)?;
            configure(&conn)?;
            conn.pragma_update(None, "query_only", "ON")?;
            db.readers.push(Mutex::new(conn));
        }
        Ok(db)
    }

    /// A private in-memory database (for tests).
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn open_in_memory() -> Result<Self, DbError> {
        Self::setup(Connection::open_in_memory()?, Durability::Normal, false)
    }

    fn setup(mut conn: Connection, durability: Durability, wal: bool) -> Result<Self, DbError> {
        configure(&conn)?;
        if wal {
            conn.pragma_update(None, "journal_mode", "WAL")?;
        }
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        migrate(&mut conn)?;
        Ok(Database {
            conn: Mutex::new(conn),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
        })
    }

    /// The writer connection, locked.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A connection for a read of one statement (which is its own transaction): the writer
    /// if it is free, else a free reader, else the next reader in turn (waiting for it); the
    /// writer when the database has no readers. Never hold the guard while writing.
    ///
    /// # Errors
    ///
    /// When a transaction left open cannot be ended.
    pub(crate) fn reader(&self) -> rusqlite::Result<ReadGuard<'_>> {
        let conn = if self.readers.is_empty() {
            self.lock()
        } else {
            let n = self.readers.len();
            let first = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
            // The writer first when it is free: a reader drops its whole page cache whenever
            // another connection committed, the writer's survives its own commits.
            let free = self
                .conn
                .try_lock()
                .ok()
                .or_else(|| (0..n).find_map(|i| self.readers[(first + i) % n].try_lock().ok()));
            match free {
                Some(c) => c,
                None => self.readers[first]
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()),
            }
        };
        // Never nest: a transaction left open (its end failed) is ended first.
        if !conn.is_autocommit() {
            conn.execute_batch("ROLLBACK")?;
        }
        Ok(ReadGuard { conn })
    }

    /// A [`reader`](Self::reader) in a read transaction until the guard drops, for a read
    /// of several statements that must see one state of the database.
    ///
    /// # Errors
    ///
    /// When the transaction cannot begin.
    pub(crate) fn snapshot(&self) -> rusqlite::Result<ReadGuard<'_>> {
        let guard = self.reader()?;
        guard.conn.prepare_cached("BEGIN")?.execute([])?;
        Ok(guard)
    }

    /// Runs `f` in a `BEGIN IMMEDIATE` transaction, committed when it returns `Ok`.
    /// SQLite's errors are turned into `E` by `err`.
    pub(crate) fn write<T, E>(
        &self,
        err: impl Fn(rusqlite::Error) -> E,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        let out = f(&tx)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Marks the database as started once; `true` the first time only.
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn claim_bootstrap(&self) -> Result<bool, DbError> {
        Ok(self.lock().execute(
            "INSERT OR IGNORE INTO counters (name, value) VALUES ('bootstrapped', 1)",
            [],
        )? > 0)
    }

    /// The schema version of the open database.
    ///
    /// # Errors
    ///
    /// [`DbError`].
    pub fn schema_version(&self) -> Result<u32, DbError> {
        Ok(self
            .lock()
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }
}

/// What every connection needs: the busy timeout, foreign keys, the SQL functions the
/// filter compiler calls.
fn configure(conn: &Connection) -> Result<(), DbError> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    // The statements of a request stay prepared: list queries differ by filter shape.
    // (No memory map: a connection drops its whole map whenever another one committed.)
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    let flags = FunctionFlags::SQLITE_UTF8
        | FunctionFlags::SQLITE_DETERMINISTIC
        | FunctionFlags::SQLITE_INNOCUOUS;
    conn.create_scalar_function(FOLD_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok().map(fold),
            _ => None,
        })
    })?;
    conn.create_scalar_function(INSTANT_FUNCTION, 1, flags, |ctx| {
        Ok(match ctx.get_raw(0) {
            rusqlite::types::ValueRef::Text(t) => std::str::from_utf8(t).ok().and_then(instant_key),
            _ => None,
        })
    })?;
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction.
fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let known = u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX);
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if found > known {
            return Err(DbError::TooNew { found, known });
        }
        let Some(sql) = MIGRATIONS.get(found as usize) else {
            return Ok(());
        };
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", found + 1)?;
        tx.commit()?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_to_the_latest_version_once() {
        let dir = std::env::temp_dir().join(format!("scim-db-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("m.db");
        let _ = std::fs::remove_file(&path);
        let db = Database::open(&path, Durability::Full).expect("open");
        assert_eq!(db.schema_version().expect("v") as usize, MIGRATIONS.len());
        let mode: String = db
            .lock()
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .expect("mode");
        assert_eq!(mode, "wal");
        drop(db);
        let again = Database::open(&path, Durability::Normal).expect("reopen");
        assert_eq!(
            again.schema_version().expect("v") as usize,
            MIGRATIONS.len()
        );
        let sync: i64 = again
            .lock()
            .pragma_query_value(None, "synchronous", |r| r.get(0))
            .expect("sync");
        assert_eq!(sync, 1, "NORMAL");
        again
            .lock()
            .pragma_update(None, "user_version", 99)
            .expect("set");
        drop(again);
        assert!(matches!(
            Database::open(&path, Durability::Normal),
            Err(DbError::TooNew { found: 99, .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fold_function_matches_rust() {
        let db = Database::open_in_memory().expect("db");
        let got: String = db
            .lock()
            .query_row("SELECT scim_fold('ΟΔΥΣΣΕΎΣ Ärger')", [], |r| {
                r.get(0)
            })
            .expect("q");
        assert_eq!(got, fold("ΟΔΥΣΣΕΎΣ Ärger"));
    }
}
