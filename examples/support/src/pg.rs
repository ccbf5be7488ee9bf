//! PostgreSQL: [`PgDatabase`] (connections, migrations), [`PgStore`] (scim-core's
//! `ResourceStore`) and [`PgTokenStore`] (scim-tokens' `TokenStore`) in one database, for
//! several server processes behind a load balancer.
//!
//! # Tables
//!
//! - `resources`: one row per resource, its attributes (without `members`) as `jsonb`,
//!   with columns for the identity-provider lookups, each under an index per tenant and
//!   type: `user_name_folded` (Unicode-folded in Rust with [`scim_filter::fold`], **unique**:
//!   the database enforces `userName` uniqueness), `external_id` / `external_id_folded`,
//!   `display_name_folded`. `seq` gives the creation order; `version` comes from one
//!   sequence, so a version is never reused.
//! - `members`: one row per group member, so adding or removing one member of a group of
//!   100k touches one row (and the group's version), never the others.
//! - `integrations` and `tokens`: the integrations (serde form: token digests only) and an
//!   index from token id to integration.
//! - `scim_migrations`: the versions applied. [`PgDatabase::connect`] applies the missing
//!   ones at start under an advisory lock, so processes starting together migrate once, and
//!   (re)creates the functions of [`scim_filter::sql::postgres_functions`].
//!
//! # Concurrency across processes
//!
//! Nothing is held in a process: `replace` is a compare-and-swap on the version
//! (`UPDATE ... WHERE version = $expected`), member changes and deletes lock the row
//! (`SELECT ... FOR UPDATE`), uniqueness is the unique index (a violation is 409
//! `uniqueness`), never a check before an insert. Transactions run at `READ COMMITTED`; a
//! serialization failure or deadlock is retried (at most [`MAX_ATTEMPTS`] times, with a
//! random pause).
//!
//! # Runtime
//!
//! The store owns a small tokio runtime that drives its connections, so it serves any
//! framework (hyper's runtime, actix-web's per-thread runtimes) and the synchronous
//! `TokenStore` calls, which wait for their answer on the calling thread the way the SQLite
//! store runs its statements there.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex as StdMutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use scim_core::store::{
    GROUP, ListPage, ListQuery, MemberChange, MembersModified, RequestContext, ResourceStore,
    SortKey, StoreError, StoredResource, USER, complete_member, eval_view, fold, group_entry,
    member_needs_resolving, settle_member_changes, strip_unstored, take_members,
};
use scim_filter::sql::{SqlDialect, SqlValue};
use scim_tokens::{Integration, IntegrationId, TenantId, Timestamp, TokenId, TokenStore, name_key};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, MutexGuard};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Client, NoTls, Row, Statement, Transaction};

use crate::store::{Mapping, new_id, now};

/// How many connections a process keeps.
pub const POOL_SIZE: usize = 8;

/// How many times a transaction is tried when PostgreSQL reports a serialization failure
/// or a deadlock.
pub const MAX_ATTEMPTS: u32 = 6;

/// An advisory lock key that serialises migrations between processes.
const MIGRATION_LOCK: i64 = 0x5C1A_2001;

/// The migrations, in order: migration `i` takes the schema from version `i` to `i + 1`.
/// Never edit one that has shipped: add another.
const MIGRATIONS: &[&str] = &[
    // 1: resources, members, integrations, tokens.
    "CREATE SEQUENCE resource_versions;
    CREATE TABLE resources (
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        id TEXT NOT NULL,
        version BIGINT NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL,
        data JSONB NOT NULL,
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
        seq BIGSERIAL PRIMARY KEY,
        tenant TEXT NOT NULL,
        group_id TEXT NOT NULL,
        value TEXT NOT NULL,
        data JSONB NOT NULL
    );
    CREATE UNIQUE INDEX members_group ON members (tenant, group_id, value);
    CREATE INDEX members_value ON members (tenant, value);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL);
    CREATE TABLE integrations (
        tenant TEXT NOT NULL,
        id TEXT NOT NULL,
        name_key TEXT NOT NULL,
        created BIGINT NOT NULL,
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
];

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// PostgreSQL (or the connection) failed.
    #[error("postgres: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    /// The runtime that drives the connections could not start.
    #[error("starting the connection runtime: {0}")]
    Runtime(#[from] std::io::Error),
    /// The database was migrated by a newer version of this program.
    #[error("the database schema version {found} is newer than this program knows ({known})")]
    TooNew {
        /// The version in the database.
        found: i32,
        /// The newest version this program knows.
        known: i32,
    },
    /// The connection task ended before answering.
    #[error("the connection task ended")]
    Gone,
}

/// A PostgreSQL database: a few connections driven by the store's own runtime.
pub struct PgDatabase {
    url: String,
    runtime: Option<tokio::runtime::Runtime>,
    handle: tokio::runtime::Handle,
    slots: Vec<Mutex<Option<Slot>>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for PgDatabase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never shown.
        f.debug_struct("PgDatabase")
            .field("connections", &self.slots.len())
            .finish_non_exhaustive()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// One connection and the statements prepared on it (a prepared statement saves a round
/// trip per query; only the fixed statements are kept, so the cache is bounded).
struct Slot {
    client: Client,
    statements: StdMutex<HashMap<String, Statement>>,
}

impl std::ops::Deref for Slot {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.client
    }
}

impl std::ops::DerefMut for Slot {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Polls `f` to completion on the calling thread, parking it between wake-ups. The
/// connections are driven by the store's runtime, so nothing here needs one.
pub fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

/// Whether an error is worth another attempt of the transaction.
fn retryable(e: &tokio_postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

fn is_unique_violation(e: &tokio_postgres::Error) -> Option<&str> {
    let db = e.as_db_error()?;
    (*db.code() == SqlState::UNIQUE_VIOLATION).then(|| db.constraint().unwrap_or_default())
}

impl PgDatabase {
    /// Connects to `url` (`postgres://user@host:port/db`, as libpq reads it) and brings the
    /// schema up to date.
    ///
    /// # Errors
    ///
    /// [`PgError`].
    pub fn connect(url: &str) -> Result<Arc<Self>, PgError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("scim-postgres")
            .enable_all()
            .build()?;
        let handle = runtime.handle().clone();
        let db = Arc::new(PgDatabase {
            url: url.to_owned(),
            runtime: Some(runtime),
            handle,
            slots: (0..POOL_SIZE).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
        });
        block_on(db.migrate())?;
        Ok(db)
    }

    /// Opens one connection, driven by the store's runtime.
    async fn open(&self) -> Result<Client, PgError> {
        let url = self.url.clone();
        let task = self.handle.spawn(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls).await?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::warn!(error = %e, "postgres connection closed");
                }
            });
            Ok::<_, tokio_postgres::Error>(client)
        });
        Ok(task.await.map_err(|_| PgError::Gone)??)
    }

    /// A connection for the caller alone (for a transaction): a free one if there is, else
    /// the next in turn once it is free; reopened if it was closed.
    async fn client(&self) -> Result<MutexGuard<'_, Option<Slot>>, PgError> {
        let start = self.next.fetch_add(1, AtomicOrdering::Relaxed);
        let n = self.slots.len();
        let mut guard = None;
        for i in 0..n {
            if let Ok(g) = self.slots[(start + i) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut guard = match guard {
            Some(g) => g,
            None => self.slots[start % n].lock().await,
        };
        if guard.as_ref().is_none_or(|s| s.client.is_closed()) {
            *guard = Some(Slot {
                client: self.open().await?,
                statements: StdMutex::new(HashMap::new()),
            });
        }
        Ok(guard)
    }

    async fn migrate(&self) -> Result<(), PgError> {
        let known = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        let mut guard = self.client().await?;
        let client = guard.as_mut().ok_or(PgError::Gone)?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS scim_migrations (
                version INTEGER PRIMARY KEY,
                applied TIMESTAMPTZ NOT NULL DEFAULT now()
            )",
        )
        .await?;
        let found: i32 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM scim_migrations", &[])
            .await?
            .get(0);
        if found > known {
            return Err(PgError::TooNew { found, known });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            tx.batch_execute(sql).await?;
            let v = i32::try_from(i + 1).unwrap_or(i32::MAX);
            tx.execute("INSERT INTO scim_migrations (version) VALUES ($1)", &[&v])
                .await?;
        }
        tx.batch_execute(&scim_filter::sql::postgres_functions())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The schema version of the database.
    ///
    /// # Errors
    ///
    /// [`PgError`].
    pub fn schema_version(&self) -> Result<i32, PgError> {
        block_on(async {
            let guard = self.client().await?;
            let client = guard.as_ref().ok_or(PgError::Gone)?;
            let row = client
                .query_one("SELECT COALESCE(MAX(version), 0) FROM scim_migrations", &[])
                .await?;
            Ok(row.get(0))
        })
    }

    /// `scim_fold(text)` computed by the database (to check it against
    /// [`scim_filter::fold`]).
    ///
    /// # Errors
    ///
    /// [`PgError`].
    pub fn fold_in_database(&self, text: &str) -> Result<String, PgError> {
        block_on(async {
            let guard = self.client().await?;
            let client = guard.as_ref().ok_or(PgError::Gone)?;
            let row = client
                .query_one("SELECT scim_fold($1::text)", &[&text])
                .await?;
            Ok(row.get(0))
        })
    }

    /// Marks the database as started once; `true` the first time only (across processes).
    ///
    /// # Errors
    ///
    /// [`PgError`].
    pub fn claim_bootstrap(&self) -> Result<bool, PgError> {
        block_on(async {
            let guard = self.client().await?;
            let client = guard.as_ref().ok_or(PgError::Gone)?;
            let n = client
                .execute(
                    "INSERT INTO counters (name, value) VALUES ('bootstrapped', 1)
                     ON CONFLICT (name) DO NOTHING",
                    &[],
                )
                .await?;
            Ok(n > 0)
        })
    }

    /// Waits a random moment before another attempt (on the store's runtime's clock).
    async fn pause(&self, attempt: u32) {
        use rand_core::TryRngCore;
        let mut b = [0u8; 2];
        let _ = rand_core::OsRng.try_fill_bytes(&mut b);
        let jitter = u64::from(u16::from_le_bytes(b) % 1000);
        let micros = (1u64 << attempt.min(6)) * 500 + jitter * u64::from(attempt + 1);
        let _ = self
            .handle
            .spawn(tokio::time::sleep(Duration::from_micros(micros)))
            .await;
    }
}

// ---------------------------------------------------------------------------------------
// The resource store.

/// Why one attempt failed: a store answer, or PostgreSQL (maybe worth a retry).
enum Fail {
    Store(StoreError),
    Db(tokio_postgres::Error),
}

impl From<tokio_postgres::Error> for Fail {
    fn from(e: tokio_postgres::Error) -> Self {
        Fail::Db(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl From<PgError> for Fail {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Postgres(e) => Fail::Db(e),
            other => Fail::Store(backend(other)),
        }
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn db_error(e: tokio_postgres::Error, resource_type: &str) -> StoreError {
    match is_unique_violation(&e) {
        Some("resources_user_name") => StoreError::Uniqueness {
            attribute: if resource_type == USER {
                "userName"
            } else {
                "displayName"
            }
            .to_owned(),
        },
        _ => backend(e),
    }
}

/// Either a connection or a transaction on one, for the statements that run in both, with
/// the connection's prepared statements.
#[derive(Clone, Copy)]
struct Conn<'a> {
    on: On<'a>,
    statements: &'a StdMutex<HashMap<String, Statement>>,
}

#[derive(Clone, Copy)]
enum On<'a> {
    Client(&'a Client),
    Tx(&'a Transaction<'a>),
}

/// At most this many statements are kept per connection.
const MAX_STATEMENTS: usize = 64;

impl<'a> Conn<'a> {
    fn client(slot: &'a Slot) -> Self {
        Conn {
            on: On::Client(&slot.client),
            statements: &slot.statements,
        }
    }

    fn tx(tx: &'a Transaction<'a>, statements: &'a StdMutex<HashMap<String, Statement>>) -> Self {
        Conn {
            on: On::Tx(tx),
            statements,
        }
    }

    /// Runs a fixed statement, prepared once per connection.
    async fn query(
        self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        let cached = self
            .statements
            .lock()
            .ok()
            .and_then(|m| m.get(sql).cloned());
        let statement = match cached {
            Some(st) => st,
            None => {
                let st = match self.on {
                    On::Client(c) => c.prepare(sql).await?,
                    On::Tx(t) => t.prepare(sql).await?,
                };
                if let Ok(mut m) = self.statements.lock()
                    && m.len() < MAX_STATEMENTS
                {
                    m.insert(sql.to_owned(), st.clone());
                }
                st
            }
        };
        match self.on {
            On::Client(c) => c.query(&statement, params).await,
            On::Tx(t) => t.query(&statement, params).await,
        }
    }

    /// Runs a statement built for one query (a compiled filter), not kept.
    async fn query_once(
        self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, tokio_postgres::Error> {
        match self.on {
            On::Client(c) => c.query(sql, params).await,
            On::Tx(t) => t.query(sql, params).await,
        }
    }
}

/// A resource row as read: everything but the members.
struct ResourceRow {
    id: String,
    version: i64,
    created: String,
    last_modified: String,
    data: Map<String, Value>,
}

const ROW_COLUMNS: &str = "id, version, created, last_modified, data::text";

fn to_row(r: &Row) -> Result<ResourceRow, StoreError> {
    let data: String = r.try_get(4).map_err(backend)?;
    let data = match serde_json::from_str(&data).map_err(backend)? {
        Value::Object(m) => m,
        _ => return Err(backend("stored resource is not an object")),
    };
    Ok(ResourceRow {
        id: r.try_get(0).map_err(backend)?,
        version: r.try_get(1).map_err(backend)?,
        created: r.try_get(2).map_err(backend)?,
        last_modified: r.try_get(3).map_err(backend)?,
        data,
    })
}

async fn get_row(
    c: Conn<'_>,
    tenant: &str,
    resource_type: &str,
    id: &str,
    lock: bool,
) -> Result<Option<ResourceRow>, Fail> {
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM resources WHERE tenant = $1 AND resource_type = $2 AND id = $3{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let rows = c.query(&sql, &[&tenant, &resource_type, &id]).await?;
    Ok(rows.first().map(to_row).transpose()?)
}

fn omitted(omit: &[String], k: &str) -> bool {
    omit.iter().any(|o| o.eq_ignore_ascii_case(k))
}

fn parse_object(text: Option<String>) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(&text?) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// Renders a row: members completed by scim-core's member rule, `groups` derived, `omit`
/// left out (as the SQLite store and `MemoryStore` do).
async fn render(
    c: Conn<'_>,
    tenant: &str,
    resource_type: &str,
    row: ResourceRow,
    omit: &[String],
) -> Result<StoredResource, Fail> {
    let mut all = render_all(c, tenant, resource_type, vec![row], omit).await?;
    all.pop()
        .ok_or_else(|| Fail::Store(backend("row vanished")))
}

/// Renders rows with one query for the members of all (groups) or the groups of all
/// (users), whatever their number.
async fn render_all(
    c: Conn<'_>,
    tenant: &str,
    resource_type: &str,
    rows: Vec<ResourceRow>,
    omit: &[String],
) -> Result<Vec<StoredResource>, Fail> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let mut derived: std::collections::HashMap<String, Vec<Value>> =
        std::collections::HashMap::new();
    let (key, list) = if resource_type == GROUP && !omitted(omit, "members") {
        let found = c
            .query(
                "SELECT m.group_id, m.data::text, u.data::text, g.data::text FROM members m
                 LEFT JOIN resources u
                   ON u.tenant = m.tenant AND u.resource_type = 'User' AND u.id = m.value
                 LEFT JOIN resources g
                   ON g.tenant = m.tenant AND g.resource_type = 'Group' AND g.id = m.value
                 WHERE m.tenant = $1 AND m.group_id = ANY($2::text[]) ORDER BY m.seq",
                &[&tenant, &ids],
            )
            .await?;
        for r in found {
            let owner: String = r.try_get(0).map_err(backend)?;
            let Some(mut m) = parse_object(r.try_get(1).map_err(backend)?) else {
                continue;
            };
            if member_needs_resolving(&m) {
                let user = parse_object(r.try_get(2).map_err(backend)?);
                let target = match user {
                    Some(u) => Some((USER, u)),
                    None => parse_object(r.try_get(3).map_err(backend)?).map(|g| (GROUP, g)),
                };
                if let Some((rt, t)) = target {
                    complete_member(&mut m, rt, &t);
                }
            }
            derived.entry(owner).or_default().push(Value::Object(m));
        }
        (true, "members")
    } else if resource_type == USER && !omitted(omit, "groups") {
        let found = c
            .query(
                "SELECT m.value, g.id, g.data::text FROM members m JOIN resources g
                   ON g.tenant = m.tenant AND g.resource_type = 'Group' AND g.id = m.group_id
                 WHERE m.tenant = $1 AND m.value = ANY($2::text[])
                 ORDER BY m.value, g.id COLLATE \"C\"",
                &[&tenant, &ids],
            )
            .await?;
        for r in found {
            let owner: String = r.try_get(0).map_err(backend)?;
            let gid: String = r.try_get(1).map_err(backend)?;
            let g = parse_object(r.try_get(2).map_err(backend)?).unwrap_or_default();
            derived
                .entry(owner)
                .or_default()
                .push(group_entry(&gid, &g));
        }
        (true, "groups")
    } else {
        (false, "")
    };
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut attributes = row.data;
        if !omit.is_empty() {
            attributes.retain(|k, _| !omitted(omit, k));
        }
        if key && let Some(values) = derived.remove(&row.id) {
            attributes.insert(list.to_owned(), Value::Array(values));
        }
        out.push(StoredResource {
            id: row.id,
            version: row.version.to_string(),
            created: row.created,
            last_modified: row.last_modified,
            attributes,
        });
    }
    Ok(out)
}

/// The indexed columns of a row.
struct Columns {
    user_name_folded: Option<String>,
    external_id: Option<String>,
    external_id_folded: Option<String>,
    display_name_folded: Option<String>,
}

fn columns(resource_type: &str, attrs: &Map<String, Value>) -> Columns {
    let s = |k: &str| attrs.get(k).and_then(Value::as_str);
    let ext = s("externalId");
    Columns {
        user_name_folded: if resource_type == USER {
            s("userName").map(fold)
        } else {
            None
        },
        external_id: ext.map(str::to_owned),
        external_id_folded: ext.map(fold),
        display_name_folded: s("displayName").map(fold),
    }
}

/// Inserts member rows in order (one statement); the values added, in request order.
async fn insert_members(
    tx: Conn<'_>,
    tenant: &str,
    group: &str,
    members: &[Map<String, Value>],
) -> Result<Vec<String>, Fail> {
    let mut values = Vec::with_capacity(members.len());
    let mut data = Vec::with_capacity(members.len());
    for m in members {
        if let Some(v) = m.get("value").and_then(Value::as_str) {
            values.push(v.to_owned());
            data.push(serde_json::to_string(m).map_err(backend)?);
        }
    }
    if values.is_empty() {
        return Ok(Vec::new());
    }
    let rows = tx
        .query(
            "INSERT INTO members (tenant, group_id, value, data)
             SELECT $1, $2, x.v, x.d::jsonb
               FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS x(v, d, n) ORDER BY x.n
             ON CONFLICT (tenant, group_id, value) DO NOTHING RETURNING value",
            &[&tenant, &group, &values, &data],
        )
        .await?;
    let inserted: std::collections::HashSet<String> =
        rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
    let mut seen = std::collections::HashSet::new();
    Ok(values
        .into_iter()
        .filter(|v| inserted.contains(v) && seen.insert(v.clone()))
        .collect())
}

async fn touch(tx: Conn<'_>, tenant: &str, group: &str) -> Result<(), Fail> {
    tx.query(
        "UPDATE resources SET version = nextval('resource_versions'), last_modified = $1
         WHERE tenant = $2 AND resource_type = 'Group' AND id = $3",
        &[&now(), &tenant, &group],
    )
    .await?;
    Ok(())
}

fn param(v: &SqlValue) -> Box<dyn ToSql + Sync + Send> {
    match v {
        SqlValue::Text(s) => Box::new(s.clone()),
        SqlValue::Integer(i) => Box::new(*i),
        SqlValue::Real(f) => Box::new(*f),
        SqlValue::Bool(b) => Box::new(*b),
        // `SqlValue` is non-exhaustive: an unknown kind binds NULL text.
        _ => Box::new(None::<String>),
    }
}

/// A [`ResourceStore`] on a [`PgDatabase`], with the semantics of scim-core's
/// `MemoryStore` (the differential test checks the filters).
#[derive(Debug, Clone)]
pub struct PgStore {
    db: Arc<PgDatabase>,
}

/// Runs `$body` (an async block giving `Result<T, Fail>`) until it succeeds, fails for a
/// reason other than a serialization failure or deadlock, or [`MAX_ATTEMPTS`] ran out.
macro_rules! with_retries {
    ($db:expr, $resource_type:expr, $body:expr) => {{
        let mut attempt = 0;
        loop {
            match $body.await {
                Ok(v) => break Ok(v),
                Err(Fail::Store(e)) => break Err(e),
                Err(Fail::Db(e)) if retryable(&e) && attempt + 1 < MAX_ATTEMPTS => {
                    $db.pause(attempt).await;
                    attempt += 1;
                }
                Err(Fail::Db(e)) => break Err(db_error(e, $resource_type)),
            }
        }
    }};
}

impl PgStore {
    /// A store on `db`.
    pub fn new(db: Arc<PgDatabase>) -> Self {
        PgStore { db }
    }

    /// The database.
    pub fn database(&self) -> &Arc<PgDatabase> {
        &self.db
    }

    async fn create_once(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: &Map<String, Value>,
        members: &[Map<String, Value>],
    ) -> Result<StoredResource, Fail> {
        let mut guard = self.db.client().await?;
        let Slot { client, statements } = guard.as_mut().ok_or(PgError::Gone)?;
        let tx = client.transaction().await?;
        let c = Conn::tx(&tx, statements);
        let cols = columns(resource_type, attributes);
        let data = serde_json::to_string(attributes).map_err(backend)?;
        let ts = now();
        tx.execute(
            "INSERT INTO resources (tenant, resource_type, id, version, created, last_modified,
                data, user_name_folded, external_id, external_id_folded, display_name_folded)
             VALUES ($1, $2, $3, nextval('resource_versions'), $4, $4, $5::text::jsonb,
                $6, $7, $8, $9)",
            &[
                &ctx.tenant(),
                &resource_type,
                &id,
                &ts,
                &data,
                &cols.user_name_folded,
                &cols.external_id,
                &cols.external_id_folded,
                &cols.display_name_folded,
            ],
        )
        .await?;
        insert_members(c, ctx.tenant(), id, members).await?;
        let row = get_row(c, ctx.tenant(), resource_type, id, false)
            .await?
            .ok_or_else(|| backend("row vanished"))?;
        let r = render(c, ctx.tenant(), resource_type, row, &[]).await?;
        tx.commit().await?;
        Ok(r)
    }

    async fn replace_once(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: &Map<String, Value>,
        members: &[Map<String, Value>],
        expected_version: &str,
    ) -> Result<StoredResource, Fail> {
        let expected: i64 = expected_version
            .parse()
            .map_err(|_| StoreError::VersionConflict)?;
        let mut guard = self.db.client().await?;
        let Slot { client, statements } = guard.as_mut().ok_or(PgError::Gone)?;
        let tx = client.transaction().await?;
        let c = Conn::tx(&tx, statements);
        let cols = columns(resource_type, attributes);
        let data = serde_json::to_string(attributes).map_err(backend)?;
        let n = tx
            .execute(
                "UPDATE resources SET version = nextval('resource_versions'), last_modified = $5,
                    data = $6::text::jsonb, user_name_folded = $7, external_id = $8,
                    external_id_folded = $9, display_name_folded = $10
                 WHERE tenant = $1 AND resource_type = $2 AND id = $3 AND version = $4",
                &[
                    &ctx.tenant(),
                    &resource_type,
                    &id,
                    &expected,
                    &now(),
                    &data,
                    &cols.user_name_folded,
                    &cols.external_id,
                    &cols.external_id_folded,
                    &cols.display_name_folded,
                ],
            )
            .await?;
        if n == 0 {
            let exists = get_row(c, ctx.tenant(), resource_type, id, false)
                .await?
                .is_some();
            return Err(Fail::Store(if exists {
                StoreError::VersionConflict
            } else {
                StoreError::NotFound
            }));
        }
        if resource_type == GROUP {
            tx.execute(
                "DELETE FROM members WHERE tenant = $1 AND group_id = $2",
                &[&ctx.tenant(), &id],
            )
            .await?;
            insert_members(c, ctx.tenant(), id, members).await?;
        }
        let row = get_row(c, ctx.tenant(), resource_type, id, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        let r = render(c, ctx.tenant(), resource_type, row, &[]).await?;
        tx.commit().await?;
        Ok(r)
    }

    async fn delete_once(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<StoredResource, Fail> {
        let tenant = ctx.tenant();
        let mut guard = self.db.client().await?;
        let Slot { client, statements } = guard.as_mut().ok_or(PgError::Gone)?;
        let tx = client.transaction().await?;
        let c = Conn::tx(&tx, statements);
        let row = get_row(c, tenant, resource_type, id, true)
            .await?
            .ok_or(StoreError::NotFound)?;
        if let Some(v) = expected_version
            && v != row.version.to_string()
        {
            return Err(Fail::Store(StoreError::VersionConflict));
        }
        let before = render(c, tenant, resource_type, row, &[]).await?;
        tx.execute(
            "DELETE FROM resources WHERE tenant = $1 AND resource_type = $2 AND id = $3",
            &[&tenant, &resource_type, &id],
        )
        .await?;
        if resource_type == GROUP {
            tx.execute(
                "DELETE FROM members WHERE tenant = $1 AND group_id = $2",
                &[&tenant, &id],
            )
            .await?;
        }
        // Remove the deleted resource from every group listing it.
        let groups = tx
            .query(
                "DELETE FROM members WHERE tenant = $1 AND value = $2 RETURNING group_id",
                &[&tenant, &id],
            )
            .await?;
        let mut touched: Vec<String> = groups.iter().filter_map(|r| r.try_get(0).ok()).collect();
        touched.sort();
        touched.dedup();
        for g in touched {
            touch(c, tenant, &g).await?;
        }
        tx.commit().await?;
        Ok(before)
    }

    async fn modify_once(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> Result<MembersModified, Fail> {
        let tenant = ctx.tenant();
        let mut guard = self.db.client().await?;
        let Slot { client, statements } = guard.as_mut().ok_or(PgError::Gone)?;
        let tx = client.transaction().await?;
        let c = Conn::tx(&tx, statements);
        // The row lock serialises member changes of this group across processes.
        let rows = c
            .query(
                "SELECT version FROM resources
                 WHERE tenant = $1 AND resource_type = $2 AND id = $3 FOR UPDATE",
                &[&tenant, &resource_type, &id],
            )
            .await?;
        let version: i64 = rows
            .first()
            .ok_or(StoreError::NotFound)?
            .try_get(0)
            .map_err(backend)?;
        if let Some(v) = expected_version
            && v != version.to_string()
        {
            return Err(Fail::Store(StoreError::VersionConflict));
        }
        let mut added: Vec<String> = Vec::new();
        let mut removed: Vec<String> = Vec::new();
        for change in changes {
            match change {
                MemberChange::Add(list) => {
                    added.extend(insert_members(c, tenant, id, list).await?);
                }
                MemberChange::Remove(values) => {
                    let rows = c
                        .query(
                            "DELETE FROM members
                             WHERE tenant = $1 AND group_id = $2 AND value = ANY($3::text[])
                             RETURNING value",
                            &[&tenant, &id, values],
                        )
                        .await?;
                    let gone: std::collections::HashSet<String> =
                        rows.iter().filter_map(|r| r.try_get(0).ok()).collect();
                    let mut seen = std::collections::HashSet::new();
                    removed.extend(
                        values
                            .iter()
                            .filter(|v| gone.contains(*v) && seen.insert((*v).clone()))
                            .cloned(),
                    );
                }
                MemberChange::RemoveAll => {
                    let rows = c
                        .query(
                            "DELETE FROM members WHERE tenant = $1 AND group_id = $2
                             RETURNING value, seq",
                            &[&tenant, &id],
                        )
                        .await?;
                    let mut gone: Vec<(i64, String)> = rows
                        .iter()
                        .filter_map(|r| Some((r.try_get(1).ok()?, r.try_get(0).ok()?)))
                        .collect();
                    gone.sort();
                    removed.extend(gone.into_iter().map(|(_, v)| v));
                }
            }
        }
        if !added.is_empty() && !removed.is_empty() {
            let both: Vec<String> = added
                .iter()
                .filter(|v| removed.contains(v))
                .cloned()
                .collect();
            let present: std::collections::HashSet<String> = c
                .query(
                    "SELECT value FROM members
                     WHERE tenant = $1 AND group_id = $2 AND value = ANY($3::text[])",
                    &[&tenant, &id, &both],
                )
                .await?
                .iter()
                .filter_map(|r| r.try_get(0).ok())
                .collect();
            settle_member_changes(&mut added, &mut removed, |v| present.contains(v));
        }
        if !added.is_empty() || !removed.is_empty() {
            touch(c, tenant, id).await?;
        }
        let row = get_row(c, tenant, resource_type, id, false)
            .await?
            .ok_or(StoreError::NotFound)?;
        let resource = render(c, tenant, resource_type, row, &["members".to_owned()]).await?;
        tx.commit().await?;
        Ok(MembersModified {
            resource,
            added,
            removed,
        })
    }

    async fn list_once(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, Fail> {
        let resource_type = query.schema.resource_type.name.as_str();
        let mut sql =
            format!("SELECT {ROW_COLUMNS} FROM resources WHERE tenant = $1 AND resource_type = $2");
        let mut binds: Vec<Box<dyn ToSql + Sync + Send>> = vec![
            Box::new(ctx.tenant().to_owned()),
            Box::new(resource_type.to_owned()),
        ];
        let mut recheck = false;
        if let Some(filter) = query.filter {
            let mapping = Mapping {
                schema: query.schema,
                user: resource_type == USER,
            };
            let compiled = scim_filter::sql::Compiler::new(SqlDialect::Postgres)
                .first_param(3)
                .compile(filter, &mapping);
            match compiled {
                Ok(c) => {
                    sql.push_str(" AND ");
                    sql.push_str(&c.sql);
                    binds.extend(c.params.iter().map(param));
                    recheck = c.needs_recheck;
                }
                Err(scim_filter::sql::SqlError::Invalid(e)) => {
                    return Err(Fail::Store(StoreError::Backend(e.to_string())));
                }
                // Whatever cannot be compiled is evaluated in memory.
                Err(_) => recheck = true,
            }
        }
        let params: Vec<&(dyn ToSql + Sync)> = binds
            .iter()
            .map(|b| b.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let sort = query.sort_by.and_then(|p| SortKey::new(&query.schema, p));
        let skip = query.start_index.saturating_sub(1);
        let guard = self.db.client().await?;
        let slot = guard.as_ref().ok_or(PgError::Gone)?;
        let c = Conn::client(slot);
        let client = &slot.client;
        if !recheck && sort.is_none() {
            // Everything in SQL: count, then one page.
            let total: i64 = client
                .query_one(&format!("SELECT COUNT(*) FROM ({sql}) AS q"), &params)
                .await?
                .try_get(0)
                .map_err(backend)?;
            let limit = i64::try_from(query.count).unwrap_or(i64::MAX);
            let offset = i64::try_from(skip).unwrap_or(i64::MAX);
            let page_sql = format!("{sql} ORDER BY seq LIMIT {limit} OFFSET {offset}");
            let rows = c.query_once(&page_sql, &params).await?;
            let rows = rows.iter().map(to_row).collect::<Result<Vec<_>, _>>()?;
            let resources = render_all(c, ctx.tenant(), resource_type, rows, query.omit).await?;
            return Ok(ListPage {
                total: u64::try_from(total).unwrap_or(0),
                resources,
            });
        }
        let rows = c
            .query_once(&format!("{sql} ORDER BY seq"), &params)
            .await?;
        let rows = rows.iter().map(to_row).collect::<Result<Vec<_>, _>>()?;
        let mut matched: Vec<StoredResource> = Vec::new();
        for r in render_all(c, ctx.tenant(), resource_type, rows, &[]).await? {
            if recheck && let Some(filter) = query.filter {
                let view = eval_view(&r, resource_type);
                match filter.matches_with(&view, &query.schema) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => return Err(Fail::Store(StoreError::Backend(e.to_string()))),
                }
            }
            matched.push(r);
        }
        if let Some(key) = &sort {
            // Stable: equal keys keep creation order.
            matched.sort_by(|a, b| key.compare(&a.attributes, &b.attributes, query.sort_order));
        }
        let total = matched.len() as u64;
        let resources = matched
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(query.count).unwrap_or(usize::MAX))
            .map(|mut r| {
                r.attributes.retain(|k, _| !omitted(query.omit, k));
                r
            })
            .collect();
        Ok(ListPage { total, resources })
    }
}

impl ResourceStore for PgStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        mut attributes: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        strip_unstored(resource_type, &mut attributes);
        let members = take_members(resource_type, &mut attributes);
        let id = new_id()?;
        with_retries!(
            self.db,
            resource_type,
            self.create_once(ctx, resource_type, &id, &attributes, &members)
        )
    }

    async fn get(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<StoredResource, StoreError> {
        self.get_omitting(ctx, resource_type, id, &[]).await
    }

    async fn get_omitting(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        omit: &[String],
    ) -> Result<StoredResource, StoreError> {
        with_retries!(self.db, resource_type, async {
            let guard = self.db.client().await?;
            let slot = guard.as_ref().ok_or(PgError::Gone)?;
            let c = Conn::client(slot);
            let row = get_row(c, ctx.tenant(), resource_type, id, false)
                .await?
                .ok_or(StoreError::NotFound)?;
            render(c, ctx.tenant(), resource_type, row, omit).await
        })
    }

    async fn replace(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        mut attributes: Map<String, Value>,
        expected_version: &str,
    ) -> Result<StoredResource, StoreError> {
        strip_unstored(resource_type, &mut attributes);
        let members = take_members(resource_type, &mut attributes);
        with_retries!(
            self.db,
            resource_type,
            self.replace_once(
                ctx,
                resource_type,
                id,
                &attributes,
                &members,
                expected_version
            )
        )
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        with_retries!(
            self.db,
            resource_type,
            self.delete_once(ctx, resource_type, id, expected_version)
        )
    }

    async fn list(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        let resource_type = query.schema.resource_type.name.as_str();
        with_retries!(self.db, resource_type, self.list_once(ctx, query))
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> Result<MembersModified, StoreError> {
        with_retries!(
            self.db,
            resource_type,
            self.modify_once(ctx, resource_type, id, changes, expected_version)
        )
    }
}

// ---------------------------------------------------------------------------------------
// The token store.

/// scim-tokens' [`TokenStore`] in the same PostgreSQL database. Integration names are
/// unique per tenant by a unique index on their [`name_key`], token ids by the primary key.
#[derive(Debug, Clone)]
pub struct PgTokenStore {
    db: Arc<PgDatabase>,
}

fn token_backend(e: impl std::error::Error + Send + Sync + 'static) -> scim_tokens::StoreError {
    scim_tokens::StoreError::Backend(Box::new(e))
}

fn token_error(e: tokio_postgres::Error) -> scim_tokens::StoreError {
    match is_unique_violation(&e) {
        Some("integrations_name") => scim_tokens::StoreError::NameTaken,
        Some(_) => scim_tokens::StoreError::IdTaken,
        None => token_backend(e),
    }
}

fn pg_token_error(e: PgError) -> scim_tokens::StoreError {
    match e {
        PgError::Postgres(e) => token_error(e),
        other => token_backend(other),
    }
}

fn decode(data: &str) -> Result<Integration, scim_tokens::StoreError> {
    serde_json::from_str(data).map_err(token_backend)
}

fn created_key(i: &Integration) -> i64 {
    let t = i.created_at().to_system_time();
    t.duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

type TokenResult<T> = Result<T, scim_tokens::StoreError>;

/// Runs `$body` (which may use `?` and gives a `TokenResult`) in a transaction `$tx` on one
/// connection, waiting on the calling thread; commits when it succeeds.
macro_rules! in_tx {
    ($self:ident, $tx:ident, $body:block) => {
        block_on(async {
            let mut guard = $self.db.client().await.map_err(pg_token_error)?;
            let client = guard.as_mut().ok_or_else(|| token_backend(PgError::Gone))?;
            let $tx = client.transaction().await.map_err(token_error)?;
            let result: TokenResult<_> = async { $body }.await;
            let out = result?;
            $tx.commit().await.map_err(token_error)?;
            Ok(out)
        })
    };
}

impl PgTokenStore {
    /// A store on `db`.
    pub fn new(db: Arc<PgDatabase>) -> Self {
        PgTokenStore { db }
    }

    async fn write_tokens(tx: &Transaction<'_>, i: &Integration) -> TokenResult<()> {
        for t in i.tokens() {
            tx.execute(
                "INSERT INTO tokens (token_id, tenant, integration_id) VALUES ($1, $2, $3)",
                &[&t.id().as_str(), &i.tenant().as_str(), &i.id().as_str()],
            )
            .await
            .map_err(|e| match is_unique_violation(&e) {
                Some(_) => scim_tokens::StoreError::IdTaken,
                None => token_backend(e),
            })?;
        }
        Ok(())
    }

    async fn read(
        tx: &Transaction<'_>,
        tenant: &str,
        id: &str,
        lock: bool,
    ) -> TokenResult<Option<Integration>> {
        let sql = if lock {
            "SELECT data FROM integrations WHERE tenant = $1 AND id = $2 FOR UPDATE"
        } else {
            "SELECT data FROM integrations WHERE tenant = $1 AND id = $2"
        };
        let rows = tx.query(sql, &[&tenant, &id]).await.map_err(token_error)?;
        match rows.first() {
            Some(r) => decode(&r.try_get::<_, String>(0).map_err(token_backend)?).map(Some),
            None => Ok(None),
        }
    }
}

impl TokenStore for PgTokenStore {
    fn insert(&self, record: Integration) -> TokenResult<()> {
        let data = serde_json::to_string(&record).map_err(token_backend)?;
        in_tx!(self, tx, {
            {
                tx.execute(
                    "INSERT INTO integrations (tenant, id, name_key, created, data)
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &record.tenant().as_str(),
                        &record.id().as_str(),
                        &name_key(record.name()),
                        &created_key(&record),
                        &data,
                    ],
                )
                .await
                .map_err(token_error)?;
                Self::write_tokens(&tx, &record).await
            }
        })
    }

    fn get(&self, tenant: &TenantId, id: IntegrationId) -> TokenResult<Option<Integration>> {
        in_tx!(self, tx, {
            Self::read(&tx, tenant.as_str(), id.as_str(), false).await
        })
    }

    fn list(&self, tenant: &TenantId) -> TokenResult<Vec<Integration>> {
        in_tx!(self, tx, {
            {
                let rows = tx
                    .query(
                        "SELECT data FROM integrations WHERE tenant = $1
                         ORDER BY created, id COLLATE \"C\"",
                        &[&tenant.as_str()],
                    )
                    .await
                    .map_err(token_error)?;
                rows.iter()
                    .map(|r| decode(&r.try_get::<_, String>(0).map_err(token_backend)?))
                    .collect()
            }
        })
    }

    fn update(
        &self,
        tenant: &TenantId,
        id: IntegrationId,
        change: &mut dyn FnMut(&mut Integration),
    ) -> TokenResult<Option<Integration>> {
        in_tx!(self, tx, {
            {
                let Some(mut record) = Self::read(&tx, tenant.as_str(), id.as_str(), true).await?
                else {
                    return Ok(None);
                };
                change(&mut record);
                let data = serde_json::to_string(&record).map_err(token_backend)?;
                tx.execute(
                    "UPDATE integrations SET name_key = $3, data = $4 WHERE tenant = $1 AND id = $2",
                    &[
                        &tenant.as_str(),
                        &id.as_str(),
                        &name_key(record.name()),
                        &data,
                    ],
                )
                .await
                .map_err(token_error)?;
                tx.execute(
                    "DELETE FROM tokens WHERE tenant = $1 AND integration_id = $2",
                    &[&tenant.as_str(), &id.as_str()],
                )
                .await
                .map_err(token_error)?;
                Self::write_tokens(&tx, &record).await?;
                Ok(Some(record))
            }
        })
    }

    fn delete(&self, tenant: &TenantId, id: IntegrationId) -> TokenResult<Option<Integration>> {
        in_tx!(self, tx, {
            {
                let Some(record) = Self::read(&tx, tenant.as_str(), id.as_str(), true).await?
                else {
                    return Ok(None);
                };
                tx.execute(
                    "DELETE FROM integrations WHERE tenant = $1 AND id = $2",
                    &[&tenant.as_str(), &id.as_str()],
                )
                .await
                .map_err(token_error)?;
                tx.execute(
                    "DELETE FROM tokens WHERE tenant = $1 AND integration_id = $2",
                    &[&tenant.as_str(), &id.as_str()],
                )
                .await
                .map_err(token_error)?;
                Ok(Some(record))
            }
        })
    }

    fn find_by_token(&self, token: TokenId) -> TokenResult<Option<Arc<Integration>>> {
        in_tx!(self, tx, {
            {
                let rows = tx
                    .query(
                        "SELECT i.data FROM tokens t JOIN integrations i
                           ON i.tenant = t.tenant AND i.id = t.integration_id
                         WHERE t.token_id = $1",
                        &[&token.as_str()],
                    )
                    .await
                    .map_err(token_error)?;
                match rows.first() {
                    Some(r) => decode(&r.try_get::<_, String>(0).map_err(token_backend)?)
                        .map(|i| Some(Arc::new(i))),
                    None => Ok(None),
                }
            }
        })
    }

    fn record_use(&self, token: TokenId, at: Timestamp) -> TokenResult<()> {
        in_tx!(self, tx, {
            {
                let rows = tx
                    .query(
                        "SELECT i.tenant, i.id, i.data FROM tokens t JOIN integrations i
                           ON i.tenant = t.tenant AND i.id = t.integration_id
                         WHERE t.token_id = $1 FOR UPDATE OF i",
                        &[&token.as_str()],
                    )
                    .await
                    .map_err(token_error)?;
                let Some(r) = rows.first() else {
                    return Ok(());
                };
                let tenant: String = r.try_get(0).map_err(token_backend)?;
                let id: String = r.try_get(1).map_err(token_backend)?;
                let mut record = decode(&r.try_get::<_, String>(2).map_err(token_backend)?)?;
                record.record_use(token, at);
                let data = serde_json::to_string(&record).map_err(token_backend)?;
                tx.execute(
                    "UPDATE integrations SET data = $3 WHERE tenant = $1 AND id = $2",
                    &[&tenant, &id, &data],
                )
                .await
                .map_err(token_error)?;
                Ok(())
            }
        })
    }
}

/// For tests: the URL in the environment variable `SCIM_TEST_POSTGRES_URL`. Without it,
/// prints that `test` was skipped and gives `None`; under `CI=true` a missing variable is a
/// failure (the PostgreSQL tests must run in CI).
///
/// # Panics
///
/// When the variable is missing under `CI=true`.
#[doc(hidden)]
pub fn test_url(test: &str) -> Option<String> {
    match std::env::var("SCIM_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "{test}: CI=true but SCIM_TEST_POSTGRES_URL is not set"
            );
            eprintln!("{test}: skipped (set SCIM_TEST_POSTGRES_URL to run it on PostgreSQL)");
            None
        }
    }
}

/// For tests: [`test_url`]'s database, connected and migrated.
///
/// # Panics
///
/// As [`test_url`], and when the database cannot be opened.
#[doc(hidden)]
pub fn test_database(test: &str) -> Option<Arc<PgDatabase>> {
    let url = test_url(test)?;
    match PgDatabase::connect(&url) {
        Ok(db) => Some(db),
        Err(e) => panic!("{test}: SCIM_TEST_POSTGRES_URL: {e}"),
    }
}
