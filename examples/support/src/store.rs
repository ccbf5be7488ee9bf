//! [`SqliteStore`]: a [`ResourceStore`] on SQLite with the semantics of scim-core's
//! `MemoryStore`.
//!
//! Each resource is one row: its attributes as JSON text (without `members`), and indexed
//! columns per tenant and type: `userName` folded (unique: the uniqueness index is on the same
//! Unicode folding the filters use), `externalId` as given and folded, group `displayName`
//! folded. Group members are rows of their own, so adding one member to a group of 100k
//! neither reads nor rewrites the others. `User.groups` is derived from the member rows at
//! read time; deleting a resource removes its member rows everywhere.
//!
//! List queries compile the filter to a parameterised `WHERE` clause
//! ([`scim_filter::sql`]); when the compiler says the clause is wider than the filter
//! (`groups`, `members`, `meta`, ...), the candidate rows are checked again in memory with
//! the evaluator, so an answer is never wrong.
//!
//! The trait is async and rusqlite is synchronous: a read takes a connection's mutex and
//! runs its (short, local, indexed) statements on the calling task. A database of the size
//! of a directory answers these in microseconds, less than handing them to a blocking
//! thread would cost; a list query without an index scans the tenant's rows of the type.
//! A write goes through the group commit of the [`Database`] and is awaited: the writes
//! waiting together share one transaction (each in its own savepoint) and one commit, run
//! by the first of them on its own thread.

use std::sync::Arc;

use rusqlite::types::Value as SqlParam;
use rusqlite::{OptionalExtension, Transaction, params};
use scim_core::registry::ResourceSchema;
use scim_core::store::{
    Edit, GROUP, ListPage, ListQuery, MemberChange, MembersModified, RawResource, RequestContext,
    ResourceStore, SortKey, StoreError, StoredResource, USER, UpdateError, Updated,
    complete_member, eval_view, fold, group_entry, member_needs_resolving, settle_member_changes,
    strip_unstored, take_members,
};
use scim_filter::sql::{ColumnForm, Location, SqlDialect, SqlMapping, SqlValue};
use scim_filter::{AttrSchema, Characteristics};
use serde_json::{Map, Value};

use crate::db::Database;

/// A [`ResourceStore`] on a SQLite [`Database`].
#[derive(Debug, Clone)]
pub struct SqliteStore {
    db: Arc<Database>,
}

fn backend<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The current instant as RFC 3339 text (`meta.created` / `meta.lastModified`).
pub(crate) fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A random version 4 UUID as text (a new resource's `id`).
pub(crate) fn new_id() -> Result<String, StoreError> {
    use rand_core::TryRngCore;
    let mut b = [0u8; 16];
    rand_core::OsRng
        .try_fill_bytes(&mut b)
        .map_err(|_| backend("no randomness"))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

fn str_attr<'a>(attrs: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

/// The indexed columns of a row.
struct Columns {
    user_name_folded: Option<String>,
    external_id: Option<String>,
    external_id_folded: Option<String>,
    display_name_folded: Option<String>,
}

/// What a row held before a rewrite: its indexed columns as stored, or the values of the
/// attributes they were computed from.
enum Old<'a> {
    Columns(&'a Columns),
    Attributes(IndexedValues),
}

/// The values of the attributes behind the indexed columns (`userName`, `externalId`,
/// `displayName`; text only, as [`columns`] reads them).
struct IndexedValues {
    user_name: Option<String>,
    external_id: Option<String>,
    display_name: Option<String>,
}

impl IndexedValues {
    fn of(attrs: &Map<String, Value>) -> Self {
        let text = |name| str_attr(attrs, name).map(str::to_owned);
        IndexedValues {
            user_name: text("userName"),
            external_id: text("externalId"),
            display_name: text("displayName"),
        }
    }
}

/// The indexed columns whose value `attributes` change, with their new value. Against the
/// old attributes, a column is computed (folded) only when its attribute changed.
fn changed_columns(
    resource_type: &str,
    attributes: &Map<String, Value>,
    old: &Old<'_>,
) -> Vec<(&'static str, Option<String>)> {
    let mut changed = Vec::new();
    match old {
        Old::Columns(old) => {
            let c = columns(resource_type, attributes);
            for (column, new, old) in [
                (
                    "user_name_folded",
                    c.user_name_folded,
                    &old.user_name_folded,
                ),
                ("external_id", c.external_id, &old.external_id),
                (
                    "external_id_folded",
                    c.external_id_folded,
                    &old.external_id_folded,
                ),
                (
                    "display_name_folded",
                    c.display_name_folded,
                    &old.display_name_folded,
                ),
            ] {
                if new != *old {
                    changed.push((column, new));
                }
            }
        }
        Old::Attributes(old) => {
            let differs = |name, old: &Option<String>| str_attr(attributes, name) != old.as_deref();
            if resource_type == USER && differs("userName", &old.user_name) {
                changed.push((
                    "user_name_folded",
                    str_attr(attributes, "userName").map(fold),
                ));
            }
            if differs("externalId", &old.external_id) {
                let ext = str_attr(attributes, "externalId");
                changed.push(("external_id", ext.map(str::to_owned)));
                changed.push(("external_id_folded", ext.map(fold)));
            }
            if differs("displayName", &old.display_name) {
                changed.push((
                    "display_name_folded",
                    str_attr(attributes, "displayName").map(fold),
                ));
            }
        }
    }
    changed
}

/// A resource as it was before a rewrite of its row.
struct Previous<'a> {
    version: i64,
    created: String,
    columns: Old<'a>,
    /// A user's `groups` as read in the same transaction (`Some(None)`: none; `None`:
    /// not read, so read again).
    groups: Option<Option<Value>>,
}

fn columns(resource_type: &str, attrs: &Map<String, Value>) -> Columns {
    let ext = str_attr(attrs, "externalId");
    Columns {
        user_name_folded: if resource_type == USER {
            str_attr(attrs, "userName").map(fold)
        } else {
            None
        },
        external_id: ext.map(str::to_owned),
        external_id_folded: ext.map(fold),
        display_name_folded: str_attr(attrs, "displayName").map(fold),
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(
        e,
        rusqlite::Error::SqliteFailure(f, _)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    )
}

/// A row as read: everything but the members.
struct Row {
    id: String,
    version: i64,
    created: String,
    last_modified: String,
    data: Map<String, Value>,
}

impl Row {
    /// The resource this row stores, with `attributes` (its data as the caller completed it).
    fn into_stored(self, attributes: Map<String, Value>) -> StoredResource {
        StoredResource {
            id: self.id,
            version: self.version.to_string(),
            created: self.created,
            last_modified: self.last_modified,
            attributes,
        }
    }
}

const ROW_COLUMNS: &str = "id, version, created, last_modified, data";

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(String, i64, String, String, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_row(t: (String, i64, String, String, String)) -> Result<Row, StoreError> {
    let data = match serde_json::from_str(&t.4).map_err(backend)? {
        Value::Object(m) => m,
        _ => return Err(backend("stored resource is not an object")),
    };
    Ok(Row {
        id: t.0,
        version: t.1,
        created: t.2,
        last_modified: t.3,
        data,
    })
}

fn get_row(
    conn: &rusqlite::Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<Option<Row>, StoreError> {
    let t = conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3"
        ))
        .and_then(|mut s| s.query_row(params![tenant, resource_type, id], read_row).optional())
        .map_err(backend)?;
    t.map(to_row).transpose()
}

fn omitted(omit: &[String], k: &str) -> bool {
    omit.iter().any(|o| o.eq_ignore_ascii_case(k))
}

/// Renders a row: members resolved, `groups` derived, `omit` left out.
fn render(
    conn: &rusqlite::Connection,
    tenant: &str,
    resource_type: &str,
    mut row: Row,
    omit: &[String],
) -> Result<StoredResource, StoreError> {
    let mut attributes = std::mem::take(&mut row.data);
    if !omit.is_empty() {
        attributes.retain(|k, _| !omitted(omit, k));
    }
    if resource_type == GROUP && !omitted(omit, "members") {
        let members = members_of(conn, tenant, &row.id)?;
        if !members.is_empty() {
            attributes.insert("members".to_owned(), Value::Array(members));
        }
    }
    if resource_type == USER && !omitted(omit, "groups") {
        let groups = groups_of(conn, tenant, &row.id)?;
        if !groups.is_empty() {
            attributes.insert("groups".to_owned(), Value::Array(groups));
        }
    }
    Ok(row.into_stored(attributes))
}

/// A group's members in insertion order, each completed by scim-core's member rule
/// ([`complete_member`]) from the resource the value names (a user first, then a group).
fn members_of(
    conn: &rusqlite::Connection,
    tenant: &str,
    group: &str,
) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT m.data, u.data, g.data FROM members m
             LEFT JOIN resources u
               ON u.tenant = m.tenant AND u.resource_type = 'User' AND u.id = m.value
             LEFT JOIN resources g
               ON g.tenant = m.tenant AND g.resource_type = 'Group' AND g.id = m.value
             WHERE m.tenant = ?1 AND m.group_id = ?2 ORDER BY m.seq",
        )
        .map_err(backend)?;
    let rows = stmt
        .query_map(params![tenant, group], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (data, user, group) = row.map_err(backend)?;
        let Value::Object(mut m) = serde_json::from_str(&data).map_err(backend)? else {
            continue;
        };
        if member_needs_resolving(&m) {
            let target = match (user, group) {
                (Some(u), _) => Some((USER, u)),
                (None, Some(g)) => Some((GROUP, g)),
                (None, None) => None,
            };
            if let Some((rt, target)) = target
                && let Ok(Value::Object(t)) = serde_json::from_str::<Value>(&target)
            {
                complete_member(&mut m, rt, &t);
            }
        }
        out.push(Value::Object(m));
    }
    Ok(out)
}

/// The groups (`id`, `data`) listing a resource (`?1` tenant, `?2` id): the member rows
/// first, by their `(tenant, value)` index (without statistics SQLite's planner scanned
/// every group of the tenant instead).
const GROUPS_OF: &str = "SELECT g.id, g.data FROM members m INDEXED BY members_value
    CROSS JOIN resources g
      ON g.tenant = m.tenant AND g.resource_type = 'Group' AND g.id = m.group_id
    WHERE m.tenant = ?1 AND m.value = ?2 ORDER BY g.id";

/// The groups listing `id` as a member, ordered by group id (as `MemoryStore`).
fn groups_of(
    conn: &rusqlite::Connection,
    tenant: &str,
    id: &str,
) -> Result<Vec<Value>, StoreError> {
    let mut stmt = conn.prepare_cached(GROUPS_OF).map_err(backend)?;
    let rows = stmt
        .query_map(params![tenant, id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })
        .map_err(backend)?;
    let mut out = Vec::new();
    for row in rows {
        let (gid, data) = row.map_err(backend)?;
        let group = match serde_json::from_str::<Value>(&data) {
            Ok(Value::Object(g)) => g,
            _ => Map::new(),
        };
        out.push(group_entry(&gid, &group));
    }
    Ok(out)
}

/// A row's columns from `base` on: `id, version, created, last_modified, data` (the JSON
/// parsed from the statement's own buffer, not copied first).
fn row_at(r: &rusqlite::Row<'_>, base: usize) -> Result<Row, StoreError> {
    let data = r
        .get_ref(base + 4)
        .and_then(|v| v.as_str().map_err(Into::into))
        .map_err(backend)?;
    let data = match serde_json::from_str(data).map_err(backend)? {
        Value::Object(m) => m,
        _ => return Err(backend("stored resource is not an object")),
    };
    Ok(Row {
        id: r.get(base).map_err(backend)?,
        version: r.get(base + 1).map_err(backend)?,
        created: r.get(base + 2).map_err(backend)?,
        last_modified: r.get(base + 3).map_err(backend)?,
        data,
    })
}

/// A group's id and its entry in a user's `groups`.
type GroupEntry = (String, Value);

/// The `groups` entry of a group row (`id`, `data`) at `base`, if the row has one.
fn group_at(r: &rusqlite::Row<'_>, base: usize) -> Result<Option<GroupEntry>, StoreError> {
    let gid: Option<String> = r.get(base).map_err(backend)?;
    let Some(gid) = gid else { return Ok(None) };
    let data = r.get_ref(base + 1).map_err(backend)?;
    let group = match data.as_str().ok().map(serde_json::from_str::<Value>) {
        Some(Ok(Value::Object(g))) => g,
        _ => Map::new(),
    };
    let entry = group_entry(&gid, &group);
    Ok(Some((gid, entry)))
}

/// The join that adds each user's groups to the users `p` selects (columns `seq`, `id`,
/// `version`, `created`, `last_modified`, `data`, `tenant`): the member rows by their
/// `(tenant, value)` index (without statistics SQLite's planner preferred scanning the
/// tenant's whole `members_group` index), then each group by its id.
macro_rules! groups_join {
    () => {
        "SELECT p.seq, p.id, p.version, p.created, p.last_modified, p.data, g.id, g.data
         FROM p
         LEFT JOIN members m INDEXED BY members_value ON m.tenant = p.tenant AND m.value = p.id
         LEFT JOIN resources g
           ON g.tenant = m.tenant AND g.resource_type = 'Group' AND g.id = m.group_id"
    };
}
const GROUPS_JOIN: &str = groups_join!();

/// Users with `groups` derived, read by one statement (`stmt`, built on [`GROUPS_JOIN`]):
/// each user comes back once per group listing it (once without any). The users in `seq`
/// order, the groups of each ordered by id as [`groups_of`] orders them (sorted here: no
/// sort in SQL), `omit` left out.
fn users_with_groups<P: rusqlite::Params>(
    stmt: &mut rusqlite::CachedStatement<'_>,
    params: P,
    omit: &[String],
) -> Result<Vec<StoredResource>, StoreError> {
    let mut rows = stmt.query(params).map_err(backend)?;
    // (seq, row, groups), in the order met.
    let mut users: Vec<(i64, Row, Vec<GroupEntry>)> = Vec::new();
    while let Some(r) = rows.next().map_err(backend)? {
        let seq: i64 = r.get(0).map_err(backend)?;
        let at = match users.last() {
            Some((last, _, _)) if *last == seq => users.len() - 1,
            _ => match users.iter().position(|(s, _, _)| *s == seq) {
                Some(i) => i,
                None => {
                    users.push((seq, row_at(r, 1)?, Vec::new()));
                    users.len() - 1
                }
            },
        };
        if let Some(g) = group_at(r, 6)? {
            users[at].2.push(g);
        }
    }
    users.sort_by_key(|u| u.0);
    Ok(users
        .into_iter()
        .map(|(_, mut row, mut groups)| {
            let mut attributes = std::mem::take(&mut row.data);
            if !omit.is_empty() {
                attributes.retain(|k, _| !omitted(omit, k));
            }
            if !groups.is_empty() {
                groups.sort_by(|a, b| a.0.cmp(&b.0));
                let groups = groups.into_iter().map(|(_, g)| g).collect();
                attributes.insert("groups".to_owned(), Value::Array(groups));
            }
            row.into_stored(attributes)
        })
        .collect())
}

/// A user (`?1` tenant, `?2` id) with its groups.
const USER_BY_ID: &str = concat!(
    "WITH p AS (SELECT seq, id, version, created, last_modified, data, tenant
        FROM resources WHERE tenant = ?1 AND resource_type = 'User' AND id = ?2) ",
    groups_join!()
);

/// A user with `groups` derived, read by one statement (its own read transaction).
fn user_with_groups(
    conn: &rusqlite::Connection,
    tenant: &str,
    id: &str,
    omit: &[String],
) -> Result<StoredResource, StoreError> {
    let mut stmt = conn.prepare_cached(USER_BY_ID).map_err(backend)?;
    users_with_groups(&mut stmt, params![tenant, id], omit)?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// A row's columns from `base` on (`id, version, created, last_modified, data`) with its
/// JSON text as stored, nothing derived yet.
fn raw_at(r: &rusqlite::Row<'_>, base: usize) -> rusqlite::Result<RawResource> {
    Ok(RawResource {
        id: r.get(base)?,
        version: r.get::<_, i64>(base + 1)?.to_string(),
        created: r.get(base + 2)?,
        last_modified: r.get(base + 3)?,
        json: r.get(base + 4)?,
        derived: Map::new(),
    })
}

/// A resource as its stored text ([`ResourceStore::get_raw`]), with what `render` derives:
/// a user's groups (one statement, as [`user_with_groups`]), a group's members (in one
/// read transaction with the row).
fn raw_resource(
    db: &Arc<Database>,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<RawResource, StoreError> {
    // On a worker thread, in the read transaction it keeps open while nothing is committed.
    if let Some(found) = crate::held::read(db, |conn| raw_in(conn, tenant, resource_type, id)) {
        return found;
    }
    if resource_type == USER {
        // One statement: its own read transaction.
        let conn = db.reader().map_err(backend)?;
        return raw_in(&conn, tenant, resource_type, id);
    }
    let conn = db.snapshot().map_err(backend)?;
    raw_in(&conn, tenant, resource_type, id)
}

/// [`raw_resource`] on `conn`, which is in a read transaction unless the read is one
/// statement (a user).
fn raw_in(
    conn: &rusqlite::Connection,
    tenant: &str,
    resource_type: &str,
    id: &str,
) -> Result<RawResource, StoreError> {
    if resource_type == USER {
        let mut stmt = conn.prepare_cached(USER_BY_ID).map_err(backend)?;
        let mut rows = stmt.query(params![tenant, id]).map_err(backend)?;
        let mut raw: Option<RawResource> = None;
        let mut groups: Vec<GroupEntry> = Vec::new();
        while let Some(r) = rows.next().map_err(backend)? {
            if raw.is_none() {
                raw = Some(raw_at(r, 1).map_err(backend)?);
            }
            if let Some(g) = group_at(r, 6)? {
                groups.push(g);
            }
        }
        let mut raw = raw.ok_or(StoreError::NotFound)?;
        if !groups.is_empty() {
            groups.sort_by(|a, b| a.0.cmp(&b.0));
            let groups = groups.into_iter().map(|(_, g)| g).collect();
            raw.derived
                .insert("groups".to_owned(), Value::Array(groups));
        }
        return Ok(raw);
    }
    let mut raw = conn
        .prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3"
        ))
        .and_then(|mut s| {
            s.query_row(params![tenant, resource_type, id], |r| raw_at(r, 0))
                .optional()
        })
        .map_err(backend)?
        .ok_or(StoreError::NotFound)?;
    if resource_type == GROUP {
        let members = members_of(conn, tenant, &raw.id)?;
        if !members.is_empty() {
            raw.derived
                .insert("members".to_owned(), Value::Array(members));
        }
    }
    Ok(raw)
}

fn insert_members(
    tx: &Transaction<'_>,
    tenant: &str,
    group: &str,
    members: &[Map<String, Value>],
) -> Result<Vec<String>, StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO members (tenant, group_id, value, data) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT (tenant, group_id, value) DO NOTHING",
        )
        .map_err(backend)?;
    let mut added = Vec::new();
    for m in members {
        let Some(v) = str_attr(m, "value") else {
            continue;
        };
        let data = serde_json::to_string(m).map_err(backend)?;
        if stmt
            .execute(params![tenant, group, v, data])
            .map_err(backend)?
            > 0
        {
            added.push(v.to_owned());
        }
    }
    Ok(added)
}

fn uniqueness(resource_type: &str) -> StoreError {
    StoreError::Uniqueness {
        attribute: if resource_type == USER {
            "userName"
        } else {
            "displayName"
        }
        .to_owned(),
    }
}

/// Where the attributes of a resource type live, for the SQL compiler (the SQLite and
/// PostgreSQL stores lay their rows out alike).
pub(crate) struct Mapping<'a> {
    pub(crate) schema: ResourceSchema<'a>,
    pub(crate) user: bool,
}

impl AttrSchema for Mapping<'_> {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics> {
        self.schema.characteristics(urn, name, sub_attr)
    }
}

impl SqlMapping for Mapping<'_> {
    fn locate(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Location<'_>> {
        let r = self.schema.resolve_parts(urn, name, sub_attr).ok()?;
        let attr = r.attr?;
        if !r.is_extension {
            let n = attr.name.as_str();
            // Kept elsewhere, derived, or set by the store: checked in memory.
            if n == "meta" || n == "id" || n == "members" || (self.user && n == "groups") {
                return None;
            }
            if sub_attr.is_none() && n == "userName" && self.user {
                return Some(Location::Column {
                    column: "user_name_folded".into(),
                    form: ColumnForm::FoldedText,
                });
            }
            if sub_attr.is_none() && n == "externalId" {
                return Some(Location::Column {
                    column: "external_id".into(),
                    form: ColumnForm::Text,
                });
            }
        }
        let mut path = Vec::with_capacity(3);
        if r.is_extension {
            path.push(r.schema.id.as_str().into());
        }
        path.push(attr.name.as_str().into());
        if let Some(sub) = r.sub_attr {
            path.push(sub.name.as_str().into());
        }
        Some(Location::Json {
            column: "data".into(),
            path,
        })
    }
}

fn bind(v: &SqlValue) -> SqlParam {
    match v {
        SqlValue::Text(s) => SqlParam::Text(s.clone()),
        SqlValue::Integer(i) => SqlParam::Integer(*i),
        SqlValue::Real(f) => SqlParam::Real(*f),
        SqlValue::Bool(b) => SqlParam::Integer(i64::from(*b)),
        _ => SqlParam::Null,
    }
}

impl SqliteStore {
    /// A store on `db`.
    pub fn new(db: Arc<Database>) -> Self {
        SqliteStore { db }
    }

    /// The database.
    pub fn database(&self) -> &Arc<Database> {
        &self.db
    }

    /// Inserts the row of a new resource (`previous` is `None`, version 1) or rewrites the
    /// row of one whose version and indexed columns were `previous` (the version goes up by
    /// one: a version is the resource's own write count, so a write needs no shared
    /// counter row). An indexed column whose value did not change is left out of the
    /// `UPDATE`, so its index is not rewritten (a PATCH of `active` touches the table and
    /// no index).
    fn write_row(
        tx: &Transaction<'_>,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: &Map<String, Value>,
        previous: Option<(i64, Old<'_>)>,
    ) -> Result<(i64, String), StoreError> {
        let data = serde_json::to_string(attributes).map_err(backend)?;
        let version = previous.as_ref().map_or(1, |(v, _)| v.saturating_add(1));
        let ts = now();
        let result = match previous {
            None => {
                let c = columns(resource_type, attributes);
                tx.prepare_cached(
                    "INSERT INTO resources (tenant, resource_type, id, version, created,
                        last_modified, data, user_name_folded, external_id, external_id_folded,
                        display_name_folded)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9, ?10)",
                )
                .and_then(|mut s| {
                    s.execute(params![
                        ctx.tenant(),
                        resource_type,
                        id,
                        version,
                        ts,
                        data,
                        c.user_name_folded,
                        c.external_id,
                        c.external_id_folded,
                        c.display_name_folded
                    ])
                })
            }
            Some((_, old)) => {
                let changed = changed_columns(resource_type, attributes, &old);
                let tenant = ctx.tenant();
                if changed.is_empty() {
                    // The usual PATCH (`active`): no indexed column, one fixed statement.
                    return match tx
                        .prepare_cached(
                            "UPDATE resources SET version = ?, last_modified = ?, data = ? \
                             WHERE tenant = ? AND resource_type = ? AND id = ?",
                        )
                        .and_then(|mut s| {
                            s.execute(params![version, ts, data, tenant, resource_type, id])
                        }) {
                        Ok(_) => Ok((version, ts)),
                        Err(e) if is_unique_violation(&e) => Err(uniqueness(resource_type)),
                        Err(e) => Err(backend(e)),
                    };
                }
                let mut sql =
                    String::from("UPDATE resources SET version = ?, last_modified = ?, data = ?");
                let mut binds: Vec<&dyn rusqlite::ToSql> = vec![&version, &ts, &data];
                for (column, new) in &changed {
                    sql.push_str(", ");
                    sql.push_str(column);
                    sql.push_str(" = ?");
                    binds.push(new);
                }
                sql.push_str(" WHERE tenant = ? AND resource_type = ? AND id = ?");
                binds.extend([&tenant as &dyn rusqlite::ToSql, &resource_type, &id]);
                tx.prepare_cached(&sql)
                    .and_then(|mut s| s.execute(binds.as_slice()))
            }
        };
        match result {
            Ok(_) => Ok((version, ts)),
            Err(e) if is_unique_violation(&e) => Err(uniqueness(resource_type)),
            Err(e) => Err(backend(e)),
        }
    }

    fn touch(tx: &Transaction<'_>, tenant: &str, group: &str) -> Result<(), StoreError> {
        tx.prepare_cached(
            "UPDATE resources SET version = version + 1, last_modified = ?1
             WHERE tenant = ?2 AND resource_type = 'Group' AND id = ?3",
        )
        .and_then(|mut s| s.execute(params![now(), tenant, group]))
        .map_err(backend)?;
        Ok(())
    }

    /// Rewrites the row of an existing resource as it was (`previous`) with `attributes`
    /// (a group's `members` replaced by `members`) and returns the resource as written.
    fn rewrite(
        tx: &Transaction<'_>,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: Map<String, Value>,
        members: Vec<Map<String, Value>>,
        previous: Previous<'_>,
    ) -> Result<StoredResource, StoreError> {
        let (version, ts) = Self::write_row(
            tx,
            ctx,
            resource_type,
            id,
            &attributes,
            Some((previous.version, previous.columns)),
        )?;
        if resource_type == GROUP {
            tx.execute(
                "DELETE FROM members WHERE tenant = ?1 AND group_id = ?2",
                params![ctx.tenant(), id],
            )
            .map_err(backend)?;
            insert_members(tx, ctx.tenant(), id, &members)?;
        }
        // The row as written (no need to read it back and parse its JSON again).
        let row = Row {
            id: id.to_owned(),
            version,
            created: previous.created,
            last_modified: ts,
            data: attributes,
        };
        match previous.groups {
            // A user's groups as just read: a write of the user does not change them.
            Some(groups) if resource_type == USER => {
                let mut row = row;
                let mut attributes = std::mem::take(&mut row.data);
                if let Some(groups) = groups {
                    attributes.insert("groups".to_owned(), groups);
                }
                Ok(row.into_stored(attributes))
            }
            _ => render(tx, ctx.tenant(), resource_type, row, &[]),
        }
    }

    fn list_sync(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        // On a worker thread, in the read transaction it keeps open while nothing is
        // committed (one snapshot for the page and its count, as below).
        if let Some(page) = crate::held::read(&self.db, |conn| Self::list_in(conn, ctx, query)) {
            return page;
        }
        let conn = self.db.snapshot().map_err(backend)?;
        Self::list_in(&conn, ctx, query)
    }

    /// [`Self::list_sync`] on `conn`, in a read transaction.
    fn list_in(
        conn: &rusqlite::Connection,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        let resource_type = query.schema.resource_type.name.as_str();
        // `FROM ... WHERE ...`: the rows of the type, the filter's clause added.
        let mut sql = String::from("FROM resources WHERE tenant = ?1 AND resource_type = ?2");
        let mut binds = vec![
            SqlParam::Text(ctx.tenant().to_owned()),
            SqlParam::Text(resource_type.to_owned()),
        ];
        let mut recheck = false;
        if let Some(filter) = query.filter {
            let mapping = Mapping {
                schema: query.schema,
                user: resource_type == USER,
            };
            let compiled = scim_filter::sql::Compiler::new(SqlDialect::Sqlite)
                .first_param(3)
                .compile(filter, &mapping);
            match compiled {
                Ok(c) => {
                    sql.push_str(" AND ");
                    sql.push_str(&c.sql);
                    binds.extend(c.params.iter().map(bind));
                    recheck = c.needs_recheck;
                }
                Err(scim_filter::sql::SqlError::Invalid(e)) => {
                    return Err(StoreError::Backend(e.to_string()));
                }
                // Whatever cannot be compiled is evaluated in memory.
                Err(_) => recheck = true,
            }
        }
        let sort = query.sort_by.and_then(|p| SortKey::new(&query.schema, p));
        let skip = query.start_index.saturating_sub(1);
        if !recheck && sort.is_none() {
            // Everything in SQL: one page, then the count unless the page tells it (a
            // first page with room to spare holds every match: the usual IdP lookup).
            let limit = i64::try_from(query.count).unwrap_or(i64::MAX);
            let offset = i64::try_from(skip).unwrap_or(i64::MAX);
            let page = format!("{sql} ORDER BY seq LIMIT {limit} OFFSET {offset}");
            let resources = if resource_type == USER && !omitted(query.omit, "groups") {
                // The page and its users' groups in one statement.
                let mut stmt = conn
                    .prepare_cached(&format!(
                        "WITH p AS (SELECT seq, {ROW_COLUMNS}, tenant {page}) {GROUPS_JOIN}"
                    ))
                    .map_err(backend)?;
                let params = rusqlite::params_from_iter(binds.iter());
                users_with_groups(&mut stmt, params, query.omit)?
            } else {
                let rows = Self::query_rows(conn, &format!("SELECT {ROW_COLUMNS} {page}"), &binds)?;
                rows.into_iter()
                    .map(|r| render(conn, ctx.tenant(), resource_type, r, query.omit))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let shown = i64::try_from(resources.len()).unwrap_or(i64::MAX);
            let total: i64 = if offset == 0 && shown < limit {
                shown
            } else {
                conn.prepare_cached(&format!("SELECT COUNT(*) {sql}"))
                    .and_then(|mut s| {
                        s.query_row(rusqlite::params_from_iter(binds.iter()), |r| r.get(0))
                    })
                    .map_err(backend)?
            };
            return Ok(ListPage {
                total: u64::try_from(total).unwrap_or(0),
                resources,
            });
        }
        let rows = Self::query_rows(
            conn,
            &format!("SELECT {ROW_COLUMNS} {sql} ORDER BY seq"),
            &binds,
        )?;
        let mut matched: Vec<(StoredResource, Value)> = Vec::new();
        for row in rows {
            let r = render(conn, ctx.tenant(), resource_type, row, &[])?;
            let view = eval_view(&r, resource_type);
            if recheck && let Some(filter) = query.filter {
                match filter.matches_with(&view, &query.schema) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => return Err(StoreError::Backend(e.to_string())),
                }
            }
            matched.push((r, view));
        }
        if let Some(key) = &sort {
            // Stable: equal keys keep creation order.
            matched.sort_by(|a, b| key.compare(&a.0.attributes, &b.0.attributes, query.sort_order));
        }
        let total = matched.len() as u64;
        let resources = matched
            .into_iter()
            .skip(usize::try_from(skip).unwrap_or(usize::MAX))
            .take(usize::try_from(query.count).unwrap_or(usize::MAX))
            .map(|(mut r, _)| {
                r.attributes.retain(|k, _| !omitted(query.omit, k));
                r
            })
            .collect();
        Ok(ListPage { total, resources })
    }

    fn query_rows(
        conn: &rusqlite::Connection,
        sql: &str,
        binds: &[SqlParam],
    ) -> Result<Vec<Row>, StoreError> {
        let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(binds.iter()))
            .map_err(backend)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(backend)? {
            out.push(row_at(r, 0)?);
        }
        Ok(out)
    }
}

impl ResourceStore for SqliteStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        mut attributes: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        strip_unstored(resource_type, &mut attributes);
        let members = take_members(resource_type, &mut attributes);
        let id = new_id()?;
        let (ctx, resource_type) = (ctx.clone(), resource_type.to_owned());
        self.db
            .write_grouped(backend, move |tx| {
                let resource_type = resource_type.as_str();
                let (version, ts) =
                    Self::write_row(tx, &ctx, resource_type, &id, &attributes, None)?;
                insert_members(tx, ctx.tenant(), &id, &members)?;
                let row = Row {
                    id: id.clone(),
                    version,
                    created: ts.clone(),
                    last_modified: ts,
                    data: attributes,
                };
                render(tx, ctx.tenant(), resource_type, row, &[])
            })
            .await
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
        if resource_type == USER && !omitted(omit, "groups") {
            // One statement (its own read transaction): the user and its groups.
            let conn = self.db.reader().map_err(backend)?;
            return user_with_groups(&conn, ctx.tenant(), id, omit);
        }
        let conn = self.db.snapshot().map_err(backend)?;
        let row = get_row(&conn, ctx.tenant(), resource_type, id)?.ok_or(StoreError::NotFound)?;
        render(&conn, ctx.tenant(), resource_type, row, omit)
    }

    async fn get_raw(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> Result<Option<RawResource>, StoreError> {
        raw_resource(&self.db, ctx.tenant(), resource_type, id).map(Some)
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
        let (ctx, resource_type, id, expected_version) = (
            ctx.clone(),
            resource_type.to_owned(),
            id.to_owned(),
            expected_version.to_owned(),
        );
        self.db
            .write_grouped(backend, move |tx| {
                let (resource_type, id) = (resource_type.as_str(), id.as_str());
                // The version, the creation time and the indexed columns: the stored JSON is
                // not needed (nor parsed) to replace it.
                let (current, created, old) = tx
                .prepare_cached(
                    "SELECT version, created, user_name_folded, external_id, external_id_folded,
                        display_name_folded
                     FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                )
                .and_then(|mut s| {
                    s.query_row(params![ctx.tenant(), resource_type, id], |r| {
                        Ok((
                            r.get::<_, i64>(0)?,
                            r.get::<_, String>(1)?,
                            Columns {
                                user_name_folded: r.get(2)?,
                                external_id: r.get(3)?,
                                external_id_folded: r.get(4)?,
                                display_name_folded: r.get(5)?,
                            },
                        ))
                    })
                    .optional()
                })
                .map_err(backend)?
                .ok_or(StoreError::NotFound)?;
                if current.to_string() != expected_version {
                    return Err(StoreError::VersionConflict);
                }
                let previous = Previous {
                    version: current,
                    created,
                    columns: Old::Columns(&old),
                    groups: None,
                };
                Self::rewrite(tx, &ctx, resource_type, id, attributes, members, previous)
            })
            .await
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
        let (ctx, resource_type, id) = (ctx.clone(), resource_type.to_owned(), id.to_owned());
        self.db
            .write_grouped(
                |e| UpdateError::Store(backend(e)),
                move |tx| {
                    let (tenant, resource_type, id) =
                        (ctx.tenant(), resource_type.as_str(), id.as_str());
                    // Read where it is written: no other write comes between.
                    let mut before = if resource_type == USER {
                        user_with_groups(tx, tenant, id, &[])
                    } else {
                        get_row(tx, tenant, resource_type, id)
                            .and_then(|r| r.ok_or(StoreError::NotFound))
                            .and_then(|row| render(tx, tenant, resource_type, row, &[]))
                    }
                    .map_err(UpdateError::Store)?;
                    // What the rewrite needs of the old attributes, read before the edit
                    // (which may take them): the values behind the indexed columns (only
                    // those of changed attributes are folded again) and a user's groups.
                    let indexed = IndexedValues::of(&before.attributes);
                    let groups = before.attributes.get("groups").cloned();
                    let (mut attributes, extra) =
                        match edit(&mut before).map_err(UpdateError::Edit)? {
                            Edit::Unchanged => {
                                return Ok(Updated {
                                    before,
                                    after: None,
                                    extra: None,
                                });
                            }
                            Edit::Write(attributes, extra) => (attributes, extra),
                        };
                    strip_unstored(resource_type, &mut attributes);
                    let members = take_members(resource_type, &mut attributes);
                    let version = before
                        .version
                        .parse::<i64>()
                        .map_err(|e| UpdateError::Store(backend(e)))?;
                    // The indexed columns were computed from the stored attributes when the
                    // row was written: only those of changed attributes are computed again.
                    let previous = Previous {
                        version,
                        created: before.created.clone(),
                        columns: Old::Attributes(indexed),
                        groups: Some(groups),
                    };
                    let after =
                        Self::rewrite(tx, &ctx, resource_type, id, attributes, members, previous)
                            .map_err(UpdateError::Store)?;
                    Ok(Updated {
                        before,
                        after: Some(after),
                        extra: Some(extra),
                    })
                },
            )
            .await
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        let (ctx, resource_type, id) = (ctx.clone(), resource_type.to_owned(), id.to_owned());
        let expected_version = expected_version.map(str::to_owned);
        self.db
            .write_grouped(backend, move |tx| {
                let (tenant, resource_type, id) =
                    (ctx.tenant(), resource_type.as_str(), id.as_str());
                let row = get_row(tx, tenant, resource_type, id)?.ok_or(StoreError::NotFound)?;
                if let Some(v) = &expected_version
                    && *v != row.version.to_string()
                {
                    return Err(StoreError::VersionConflict);
                }
                let before = render(tx, tenant, resource_type, row, &[])?;
                tx.execute(
                    "DELETE FROM resources WHERE tenant = ?1 AND resource_type = ?2 AND id = ?3",
                    params![tenant, resource_type, id],
                )
                .map_err(backend)?;
                if resource_type == GROUP {
                    tx.execute(
                        "DELETE FROM members WHERE tenant = ?1 AND group_id = ?2",
                        params![tenant, id],
                    )
                    .map_err(backend)?;
                }
                // Remove the deleted resource from every group listing it.
                let groups: Vec<String> = {
                    let mut s = tx
                    .prepare_cached(
                        "DELETE FROM members WHERE tenant = ?1 AND value = ?2 RETURNING group_id",
                    )
                    .map_err(backend)?;
                    let rows = s
                        .query_map(params![tenant, id], |r| r.get(0))
                        .map_err(backend)?;
                    rows.collect::<Result<_, _>>().map_err(backend)?
                };
                for g in groups {
                    Self::touch(tx, tenant, &g)?;
                }
                Ok(before)
            })
            .await
    }

    async fn list(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        self.list_sync(ctx, query)
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> Result<MembersModified, StoreError> {
        let (ctx, resource_type, id) = (ctx.clone(), resource_type.to_owned(), id.to_owned());
        let (changes, expected_version) = (changes.to_vec(), expected_version.map(str::to_owned));
        self.db.write_grouped(backend, move |tx| {
            let (tenant, resource_type, id) = (ctx.tenant(), resource_type.as_str(), id.as_str());
            let row = get_row(tx, tenant, resource_type, id)?.ok_or(StoreError::NotFound)?;
            if let Some(v) = &expected_version
                && *v != row.version.to_string()
            {
                return Err(StoreError::VersionConflict);
            }
            let mut added: Vec<String> = Vec::new();
            let mut removed: Vec<String> = Vec::new();
            for change in &changes {
                match change {
                    MemberChange::Add(list) => {
                        added.extend(insert_members(tx, tenant, id, list)?);
                    }
                    MemberChange::Remove(values) => {
                        let mut s = tx
                            .prepare_cached(
                                "DELETE FROM members WHERE tenant = ?1 AND group_id = ?2 AND value = ?3",
                            )
                            .map_err(backend)?;
                        for v in values {
                            if s.execute(params![tenant, id, v]).map_err(backend)? > 0 {
                                removed.push(v.clone());
                            }
                        }
                    }
                    MemberChange::RemoveAll => {
                        let mut s = tx
                            .prepare_cached(
                                "DELETE FROM members WHERE tenant = ?1 AND group_id = ?2 RETURNING value",
                            )
                            .map_err(backend)?;
                        let rows = s
                            .query_map(params![tenant, id], |r| r.get::<_, String>(0))
                            .map_err(backend)?;
                        for r in rows {
                            removed.push(r.map_err(backend)?);
                        }
                    }
                }
            }
            // A value both added and removed by one request is reported by where it ended.
            let mut failure = None;
            settle_member_changes(&mut added, &mut removed, |v| {
                let present = tx.query_row(
                    "SELECT EXISTS (SELECT 1 FROM members
                     WHERE tenant = ?1 AND group_id = ?2 AND value = ?3)",
                    params![tenant, id, v],
                    |r| r.get::<_, bool>(0),
                );
                present.unwrap_or_else(|e| {
                    failure = Some(backend(e));
                    true
                })
            });
            if let Some(e) = failure {
                return Err(e);
            }
            if !added.is_empty() || !removed.is_empty() {
                Self::touch(tx, tenant, id)?;
            }
            let row = get_row(tx, tenant, resource_type, id)?.ok_or(StoreError::NotFound)?;
            let resource = render(tx, tenant, resource_type, row, &["members".to_owned()])?;
            Ok(MembersModified {
                resource,
                added,
                removed,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_core::Registry;
    use scim_filter::sql::Compiler;
    use serde_json::json;

    fn compiled(resource_type: &str, filter: &str) -> scim_filter::sql::SqlFilter {
        let registry = Registry::core();
        let schema = registry.resource_type(resource_type).expect("type");
        let f = scim_filter::parse(filter).expect("filter");
        let mapping = Mapping {
            schema,
            user: resource_type == USER,
        };
        Compiler::new(SqlDialect::Sqlite)
            .first_param(3)
            .compile(&f, &mapping)
            .expect("compiles")
    }

    /// The columns an `UPDATE` sets, against the old attributes: every column left out has
    /// the same value before and after, every column set has the value `columns` computes,
    /// and the stored-columns form agrees.
    #[test]
    fn changed_columns_leave_out_only_unchanged_ones() {
        let variants = [
            json!({"userName": "Ann", "externalId": "x1", "displayName": "Ann A"}),
            json!({"userName": "ANN", "externalId": "x1", "displayName": "Ann A"}),
            json!({"userName": "Ann", "displayName": "Ann A"}),
            json!({"userName": "Ann", "externalId": "X1", "displayName": "Ann A", "active": false}),
            json!({"userName": "Ann", "externalId": "x1"}),
            json!({"userName": "Ὀδυσσεύς", "externalId": "x1", "displayName": "ΣΑΣ"}),
            json!({"userName": 7, "externalId": "x1", "displayName": "Ann A"}),
        ];
        let names = [
            "user_name_folded",
            "external_id",
            "external_id_folded",
            "display_name_folded",
        ];
        let get = |c: &Columns, name: &str| match name {
            "user_name_folded" => c.user_name_folded.clone(),
            "external_id" => c.external_id.clone(),
            "external_id_folded" => c.external_id_folded.clone(),
            _ => c.display_name_folded.clone(),
        };
        for rt in [USER, GROUP] {
            for old in &variants {
                for new in &variants {
                    let (old, new) = (old.as_object().expect("o"), new.as_object().expect("o"));
                    let (before, after) = (columns(rt, old), columns(rt, new));
                    let by_attrs =
                        changed_columns(rt, new, &Old::Attributes(IndexedValues::of(old)));
                    let by_columns = changed_columns(rt, new, &Old::Columns(&before));
                    for name in names {
                        let set = by_attrs.iter().find(|(c, _)| *c == name);
                        match set {
                            Some((_, v)) => assert_eq!(*v, get(&after, name), "{rt} {name}"),
                            None => assert_eq!(
                                get(&before, name),
                                get(&after, name),
                                "{rt} {name}: {old:?} -> {new:?}"
                            ),
                        }
                        // The stored-columns form sets exactly the columns whose value changed.
                        let changes = get(&before, name) != get(&after, name);
                        assert_eq!(
                            by_columns.iter().any(|(c, _)| *c == name),
                            changes,
                            "{rt} {name}"
                        );
                        if changes {
                            assert!(set.is_some(), "{rt} {name}: {old:?} -> {new:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn indexed_lookups_run_in_sql_alone() {
        let c = compiled(USER, r#"userName eq "BJensen""#);
        assert!(!c.needs_recheck);
        assert!(c.sql.contains("user_name_folded = ?3"), "{}", c.sql);
        assert_eq!(c.params, [SqlValue::Text("bjensen".into())]);
        let c = compiled(USER, r#"externalId eq "x-1" and emails[type eq "work"]"#);
        assert!(!c.needs_recheck);
        assert!(c.sql.contains("external_id"), "{}", c.sql);
        let c = compiled(
            USER,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m""#,
        );
        assert!(!c.needs_recheck);
    }

    /// The query plan of `sql`, one step a line.
    fn plan(conn: &rusqlite::Connection, sql: &str, params: &[&str]) -> String {
        let mut s = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .expect("prepare");
        let rows = s
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .expect("plan");
        rows.map(|r| r.expect("row")).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn a_users_groups_are_found_by_the_member_index() {
        let db = Database::open_in_memory().expect("db");
        let conn = db.lock();
        for (sql, params) in [
            (USER_BY_ID, &["t", "u"][..]),
            (GROUPS_OF, &["t", "u"][..]),
            (
                &format!(
                    "WITH p AS (SELECT seq, {ROW_COLUMNS}, tenant FROM resources
                     WHERE tenant = ?1 AND resource_type = 'User' AND user_name_folded = ?2
                     ORDER BY seq LIMIT 100 OFFSET 0) {GROUPS_JOIN}"
                ),
                &["t", "u"][..],
            ),
        ] {
            let plan = plan(&conn, sql, params);
            assert!(
                plan.contains("members_value (tenant=? AND value=?)"),
                "{plan}"
            );
            assert!(
                !plan.contains("SCAN m") && !plan.contains("SCAN g"),
                "{plan}"
            );
            assert!(!plan.contains("members_group"), "{plan}");
        }
    }

    fn object(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn a_users_groups_come_ordered_by_group_id_from_get_and_list() {
        let store = SqliteStore::new(Arc::new(Database::open_in_memory().expect("db")));
        let ctx = RequestContext::new("t", "i", "n");
        crate::pg::block_on(async {
            let user = store
                .create(&ctx, USER, object(serde_json::json!({"userName": "Ann"})))
                .await
                .expect("user");
            let other = store
                .create(&ctx, USER, object(serde_json::json!({"userName": "Bob"})))
                .await
                .expect("user");
            let mut ids = Vec::new();
            for name in ["G1", "G2", "G3", "G4"] {
                let members = if name == "G3" {
                    serde_json::json!([{"value": other.id}])
                } else {
                    serde_json::json!([{"value": other.id}, {"value": user.id}])
                };
                let g = store
                    .create(
                        &ctx,
                        GROUP,
                        object(serde_json::json!({"displayName": name, "members": members})),
                    )
                    .await
                    .expect("group");
                if name != "G3" {
                    ids.push(g.id);
                }
            }
            ids.sort();
            let values = |r: &StoredResource| -> Vec<String> {
                r.attributes["groups"]
                    .as_array()
                    .expect("groups")
                    .iter()
                    .map(|g| g["value"].as_str().expect("value").to_owned())
                    .collect()
            };
            let got = store.get(&ctx, USER, &user.id).await.expect("get");
            assert_eq!(values(&got), ids);
            assert_eq!(got.attributes["userName"], "Ann");
            let display: Vec<&str> = got.attributes["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .map(|g| g["display"].as_str().expect("display"))
                .collect();
            assert_eq!(display.len(), 3);
            assert!(!display.contains(&"G3"));
            let omitted = store
                .get_omitting(&ctx, USER, &user.id, &["groups".to_owned()])
                .await
                .expect("get");
            assert!(omitted.attributes.get("groups").is_none());

            let registry = scim_core::Registry::core();
            let schema = registry.resource_type(USER).expect("User");
            for (text, expect) in [
                (r#"userName eq "ann""#, vec![user.id.clone()]),
                (r#"userName pr"#, vec![user.id.clone(), other.id.clone()]),
            ] {
                let filter = scim_filter::parse(text).expect("filter");
                let page = store
                    .list(
                        &ctx,
                        &ListQuery {
                            schema,
                            filter: Some(&filter),
                            sort_by: None,
                            sort_order: scim_core::message::SortOrder::Ascending,
                            start_index: 1,
                            count: 10,
                            omit: &[],
                        },
                    )
                    .await
                    .expect("list");
                let found: Vec<String> = page.resources.iter().map(|r| r.id.clone()).collect();
                assert_eq!(found, expect, "{text}");
                assert_eq!(page.total, expect.len() as u64);
                assert_eq!(values(&page.resources[0]), ids, "{text}");
                assert_eq!(page.resources[0], got, "{text}: list and get agree");
            }
        });
    }

    #[test]
    fn derived_and_store_managed_attributes_are_rechecked() {
        for f in [
            r#"groups.value eq "g""#,
            r#"meta.lastModified gt "2020-01-01T00:00:00Z""#,
            r#"id eq "x""#,
        ] {
            assert!(compiled(USER, f).needs_recheck, "{f}");
        }
        assert!(compiled(GROUP, r#"members.value eq "u""#).needs_recheck);
        assert!(!compiled(GROUP, r#"displayName eq "Staff""#).needs_recheck);
    }
}
