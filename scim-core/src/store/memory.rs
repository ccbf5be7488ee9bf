//! [`MemoryStore`]: every resource in memory, with indexes for `id`, `userName` and
//! `externalId`, and group members kept apart from the group so that adding one member
//! does not copy the others.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use scim_filter::{CompValue, CompareOp, Filter, FilterRef, Node};
use serde_json::{Map, Value};

use super::sort::SortKey;
use super::{
    GROUP, ListPage, ListQuery, MemberChange, MembersModified, RequestContext, ResourceStore,
    StoreError, StoredResource, USER, complete_member, fold, group_entry, member_needs_resolving,
    settle_member_changes, strip_unstored, take_members,
};
use crate::schema::USER_SCHEMA;

/// Settings of a [`MemoryStore`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct MemoryStoreSettings {
    /// Whether a group's `displayName` is unique per tenant (compared like `userName`);
    /// default `false`.
    pub unique_group_display_name: bool,
}

impl MemoryStoreSettings {
    /// The defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes group `displayName` unique per tenant (or not).
    pub fn unique_group_display_name(mut self, on: bool) -> Self {
        self.unique_group_display_name = on;
        self
    }
}

/// A complete in-memory [`ResourceStore`]: per-tenant tables, indexes for `id`,
/// `userName` (folded, unique) and `externalId`, consistent membership, creation order.
///
/// An `eq` comparison of `id`, `userName` or `externalId` with a string, alone or as a
/// term of a top-level `and`, is answered from the index; other filters scan the tenant's
/// resources of the type in creation order. Writes take one lock, so uniqueness checks and
/// version compare-and-swaps are atomic with the write.
///
/// ```
/// use scim_core::store::{MemoryStore, RequestContext, ResourceStore, StoreError};
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     use std::task::{Context, Poll, Waker};
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
/// #             return v;
/// #         }
/// #     }
/// # }
/// let store = MemoryStore::new();
/// let ctx = RequestContext::new("tenant-1", "okta", "Okta");
/// let user = serde_json::json!({"userName": "bjensen"});
/// let created = block_on(store.create(&ctx, "User", user.as_object().unwrap().clone()))?;
/// let again = serde_json::json!({"userName": "BJENSEN"});
/// let dup = block_on(store.create(&ctx, "User", again.as_object().unwrap().clone()));
/// assert!(matches!(dup, Err(StoreError::Uniqueness { .. })));
/// let other_tenant = RequestContext::new("tenant-2", "okta", "Okta");
/// assert_eq!(block_on(store.get(&other_tenant, "User", &created.id)), Err(StoreError::NotFound));
/// # Ok::<(), StoreError>(())
/// ```
#[derive(Debug, Default)]
pub struct MemoryStore {
    settings: MemoryStoreSettings,
    tenants: RwLock<HashMap<String, Tenant>>,
    versions: AtomicU64,
}

#[derive(Debug, Default)]
struct Tenant {
    tables: HashMap<String, Table>,
    /// Member value -> the ids of the groups listing it.
    member_of: HashMap<String, BTreeSet<String>>,
}

#[derive(Debug, Default)]
struct Table {
    records: HashMap<String, Record>,
    /// Creation sequence -> id.
    order: BTreeMap<u64, String>,
    next_seq: u64,
    /// Folded unique name (`userName`, or group `displayName` when unique) -> id.
    unique: HashMap<String, String>,
    /// Folded `externalId` -> ids.
    external: HashMap<String, BTreeSet<String>>,
}

#[derive(Debug)]
struct Record {
    seq: u64,
    version: String,
    created: String,
    last_modified: String,
    attributes: Map<String, Value>,
    members: Option<Members>,
}

#[derive(Debug, Default)]
struct Members {
    by_seq: BTreeMap<u64, Map<String, Value>>,
    by_value: HashMap<String, u64>,
    next: u64,
}

impl Members {
    /// Adds a member unless its value is present; whether it was added.
    fn add(&mut self, member: Map<String, Value>) -> bool {
        let Some(value) = member.get("value").and_then(Value::as_str) else {
            return false;
        };
        if self.by_value.contains_key(value) {
            return false;
        }
        let seq = self.next;
        self.next += 1;
        self.by_value.insert(value.to_owned(), seq);
        self.by_seq.insert(seq, member);
        true
    }

    fn remove(&mut self, value: &str) -> bool {
        match self.by_value.remove(value) {
            Some(seq) => self.by_seq.remove(&seq).is_some(),
            None => false,
        }
    }

    fn values(&self) -> impl Iterator<Item = &str> {
        self.by_value.keys().map(String::as_str)
    }
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// A random version 4 UUID as text.
fn new_id(counter: u64) -> String {
    use rand_core::TryRngCore;
    let mut b = [0u8; 16];
    if rand_core::OsRng.try_fill_bytes(&mut b).is_err() {
        // No OS randomness: unique within this process still.
        let t = jiff::Timestamp::now().as_nanosecond().to_le_bytes();
        b = t;
        b[..8].copy_from_slice(&counter.to_le_bytes());
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn str_attr<'a>(attrs: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    attrs.get(name).and_then(Value::as_str)
}

/// Which indexed attribute an `eq` filter term names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Indexed {
    Id,
    UserName,
    ExternalId,
}

/// Finds an indexable `eq` term: the filter itself or a term of a top-level `and`.
fn indexed_term<'f>(filter: FilterRef<'f, '_>, user: bool) -> Option<(Indexed, &'f str)> {
    match filter.node() {
        Node::Compare(c) if c.op == CompareOp::Eq && c.attr.sub_attr().is_none() => {
            if let Some(urn) = c.attr.urn() {
                let core_ok = urn.eq_ignore_ascii_case(USER_SCHEMA)
                    || urn.eq_ignore_ascii_case(crate::schema::GROUP_SCHEMA);
                if !core_ok {
                    return None;
                }
            }
            let CompValue::String(s) = &c.value else {
                return None;
            };
            let name = c.attr.name();
            let which = if name.eq_ignore_ascii_case("id") {
                Indexed::Id
            } else if user && name.eq_ignore_ascii_case("userName") {
                Indexed::UserName
            } else if name.eq_ignore_ascii_case("externalId") {
                Indexed::ExternalId
            } else {
                return None;
            };
            Some((which, s.as_ref()))
        }
        Node::And(mut terms) => terms.find_map(|t| indexed_term(t, user)),
        _ => None,
    }
}

/// Whether the filter mentions the attribute `name` anywhere.
fn mentions(filter: &Filter<'_>, name: &str) -> bool {
    let mut stack = vec![filter.as_ref()];
    while let Some(f) = stack.pop() {
        match f.node() {
            Node::Compare(c) => {
                if c.attr.name().eq_ignore_ascii_case(name) {
                    return true;
                }
            }
            Node::Present(p) => {
                if p.name().eq_ignore_ascii_case(name) {
                    return true;
                }
            }
            Node::ValuePath(attr, _) => {
                if attr.name().eq_ignore_ascii_case(name) {
                    return true;
                }
            }
            Node::Not(inner) => stack.push(inner),
            Node::And(v) | Node::Or(v) => stack.extend(v),
        }
    }
    false
}

impl MemoryStore {
    /// An empty store with the default settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with `settings`.
    pub fn with_settings(settings: MemoryStoreSettings) -> Self {
        MemoryStore {
            settings,
            ..Self::default()
        }
    }

    /// How many resources of `resource_type` the tenant of `ctx` holds.
    pub fn len(&self, ctx: &RequestContext, resource_type: &str) -> usize {
        self.read()
            .get(ctx.tenant())
            .and_then(|t| t.tables.get(resource_type))
            .map_or(0, |t| t.records.len())
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<String, Tenant>> {
        self.tenants.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<String, Tenant>> {
        self.tenants.write().unwrap_or_else(|e| e.into_inner())
    }

    fn next_version(&self) -> String {
        (self.versions.fetch_add(1, AtomicOrdering::Relaxed) + 1).to_string()
    }

    /// The folded unique key of a resource, if its type has one.
    fn unique_key(&self, resource_type: &str, attrs: &Map<String, Value>) -> Option<String> {
        if resource_type == USER {
            str_attr(attrs, "userName").map(fold)
        } else if resource_type == GROUP && self.settings.unique_group_display_name {
            str_attr(attrs, "displayName").map(fold)
        } else {
            None
        }
    }

    fn unique_attr(resource_type: &str) -> &'static str {
        if resource_type == USER {
            "userName"
        } else {
            "displayName"
        }
    }
}

impl Tenant {
    /// Renders a record as a stored resource: members resolved, `groups` derived; the
    /// top-level attributes in `omit` left out.
    fn render(
        &self,
        resource_type: &str,
        id: &str,
        rec: &Record,
        omit: &[String],
    ) -> StoredResource {
        let omitted = |k: &str| omit.iter().any(|o| o.eq_ignore_ascii_case(k));
        let mut attributes = if omit.is_empty() {
            rec.attributes.clone()
        } else {
            rec.attributes
                .iter()
                .filter(|(k, _)| !omitted(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if let Some(members) = &rec.members
            && !members.by_seq.is_empty()
            && !omitted("members")
        {
            let list = members
                .by_seq
                .values()
                .map(|m| Value::Object(self.resolve_member(m)))
                .collect();
            attributes.insert("members".to_owned(), Value::Array(list));
        }
        if resource_type == USER && !omitted("groups") {
            let groups = self.groups_of(id);
            if !groups.is_empty() {
                attributes.insert("groups".to_owned(), Value::Array(groups));
            }
        }
        StoredResource {
            id: id.to_owned(),
            version: rec.version.clone(),
            created: rec.created.clone(),
            last_modified: rec.last_modified.clone(),
            attributes,
        }
    }

    fn resolve_member(&self, m: &Map<String, Value>) -> Map<String, Value> {
        let mut out = m.clone();
        if !member_needs_resolving(m) {
            return out;
        }
        let Some(value) = str_attr(m, "value") else {
            return out;
        };
        for rt in [USER, GROUP] {
            if let Some(rec) = self.tables.get(rt).and_then(|t| t.records.get(value)) {
                complete_member(&mut out, rt, &rec.attributes);
                break;
            }
        }
        out
    }

    fn groups_of(&self, id: &str) -> Vec<Value> {
        let Some(gids) = self.member_of.get(id) else {
            return Vec::new();
        };
        let Some(groups) = self.tables.get(GROUP) else {
            return Vec::new();
        };
        gids.iter()
            .filter_map(|gid| Some(group_entry(gid, &groups.records.get(gid)?.attributes)))
            .collect()
    }

    fn link(&mut self, group: &str, members: &Members) {
        for v in members.values() {
            self.member_of
                .entry(v.to_owned())
                .or_default()
                .insert(group.to_owned());
        }
    }

    fn unlink(&mut self, group: &str, value: &str) {
        if let Some(set) = self.member_of.get_mut(value) {
            set.remove(group);
            if set.is_empty() {
                self.member_of.remove(value);
            }
        }
    }
}

/// Splits `members` off a group's attributes.
fn split_members(resource_type: &str, attrs: &mut Map<String, Value>) -> Option<Members> {
    if resource_type != GROUP {
        return None;
    }
    let mut m = Members::default();
    for member in take_members(resource_type, attrs) {
        m.add(member);
    }
    Some(m)
}

impl ResourceStore for MemoryStore {
    async fn create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        mut attributes: Map<String, Value>,
    ) -> Result<StoredResource, StoreError> {
        strip_unstored(resource_type, &mut attributes);
        let unique = self.unique_key(resource_type, &attributes);
        let mut tenants = self.write();
        let tenant = tenants.entry(ctx.tenant().to_owned()).or_default();
        let table = tenant.tables.entry(resource_type.to_owned()).or_default();
        if let Some(key) = &unique
            && table.unique.contains_key(key)
        {
            return Err(StoreError::Uniqueness {
                attribute: Self::unique_attr(resource_type).to_owned(),
            });
        }
        let seq = table.next_seq;
        table.next_seq += 1;
        let mut id = new_id(seq);
        while table.records.contains_key(&id) {
            id = new_id(seq);
        }
        if let Some(key) = unique {
            table.unique.insert(key, id.clone());
        }
        if let Some(ext) = str_attr(&attributes, "externalId") {
            table
                .external
                .entry(fold(ext))
                .or_default()
                .insert(id.clone());
        }
        let members = split_members(resource_type, &mut attributes);
        let ts = now();
        let rec = Record {
            seq,
            version: self.next_version(),
            created: ts.clone(),
            last_modified: ts,
            attributes,
            members,
        };
        table.order.insert(seq, id.clone());
        table.records.insert(id.clone(), rec);
        if let Some(m) = tenant
            .tables
            .get(resource_type)
            .and_then(|t| t.records.get(&id))
            .and_then(|r| r.members.as_ref())
        {
            let values: Vec<String> = m.values().map(str::to_owned).collect();
            for v in values {
                tenant.member_of.entry(v).or_default().insert(id.clone());
            }
        }
        let rec = tenant
            .tables
            .get(resource_type)
            .and_then(|t| t.records.get(&id))
            .ok_or_else(|| StoreError::Backend("record vanished".into()))?;
        Ok(tenant.render(resource_type, &id, rec, &[]))
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
        let tenants = self.read();
        let tenant = tenants.get(ctx.tenant()).ok_or(StoreError::NotFound)?;
        let rec = tenant
            .tables
            .get(resource_type)
            .and_then(|t| t.records.get(id))
            .ok_or(StoreError::NotFound)?;
        Ok(tenant.render(resource_type, id, rec, omit))
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
        let unique = self.unique_key(resource_type, &attributes);
        let mut tenants = self.write();
        let tenant = tenants.get_mut(ctx.tenant()).ok_or(StoreError::NotFound)?;
        let table = tenant
            .tables
            .get_mut(resource_type)
            .ok_or(StoreError::NotFound)?;
        let rec = table.records.get(id).ok_or(StoreError::NotFound)?;
        if rec.version != expected_version {
            return Err(StoreError::VersionConflict);
        }
        if let Some(key) = &unique
            && table.unique.get(key).is_some_and(|other| other != id)
        {
            return Err(StoreError::Uniqueness {
                attribute: Self::unique_attr(resource_type).to_owned(),
            });
        }
        let old_unique = self.unique_key(resource_type, &rec.attributes);
        let old_ext = str_attr(&rec.attributes, "externalId").map(fold);
        if let Some(k) = old_unique {
            table.unique.remove(&k);
        }
        if let Some(k) = unique {
            table.unique.insert(k, id.to_owned());
        }
        if let Some(k) = old_ext
            && let Some(set) = table.external.get_mut(&k)
        {
            set.remove(id);
            if set.is_empty() {
                table.external.remove(&k);
            }
        }
        if let Some(ext) = str_attr(&attributes, "externalId") {
            table
                .external
                .entry(fold(ext))
                .or_default()
                .insert(id.to_owned());
        }
        let members = split_members(resource_type, &mut attributes);
        let version = self.next_version();
        let ts = now();
        let rec = table.records.get_mut(id).ok_or(StoreError::NotFound)?;
        let old_members = std::mem::replace(&mut rec.members, members);
        rec.attributes = attributes;
        rec.version = version;
        rec.last_modified = ts;
        if let Some(old) = old_members {
            let values: Vec<String> = old.values().map(str::to_owned).collect();
            for v in values {
                tenant.unlink(id, &v);
            }
        }
        let new_members = tenant
            .tables
            .get_mut(resource_type)
            .and_then(|t| t.records.get_mut(id))
            .and_then(|r| r.members.take());
        if let Some(m) = new_members {
            tenant.link(id, &m);
            if let Some(r) = tenant
                .tables
                .get_mut(resource_type)
                .and_then(|t| t.records.get_mut(id))
            {
                r.members = Some(m);
            }
        }
        let rec = tenant
            .tables
            .get(resource_type)
            .and_then(|t| t.records.get(id))
            .ok_or(StoreError::NotFound)?;
        Ok(tenant.render(resource_type, id, rec, &[]))
    }

    async fn delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> Result<StoredResource, StoreError> {
        let mut tenants = self.write();
        let tenant = tenants.get_mut(ctx.tenant()).ok_or(StoreError::NotFound)?;
        let before = {
            let rec = tenant
                .tables
                .get(resource_type)
                .and_then(|t| t.records.get(id))
                .ok_or(StoreError::NotFound)?;
            if let Some(v) = expected_version
                && v != rec.version
            {
                return Err(StoreError::VersionConflict);
            }
            tenant.render(resource_type, id, rec, &[])
        };
        let unique = self.unique_key(resource_type, &before.attributes);
        let table = tenant
            .tables
            .get_mut(resource_type)
            .ok_or(StoreError::NotFound)?;
        let rec = table.records.remove(id).ok_or(StoreError::NotFound)?;
        table.order.remove(&rec.seq);
        if let Some(k) = unique {
            table.unique.remove(&k);
        }
        if let Some(k) = str_attr(&rec.attributes, "externalId").map(fold)
            && let Some(set) = table.external.get_mut(&k)
        {
            set.remove(id);
            if set.is_empty() {
                table.external.remove(&k);
            }
        }
        if let Some(m) = &rec.members {
            for v in m.values() {
                tenant.unlink(id, v);
            }
        }
        // Remove the deleted resource from every group listing it.
        if let Some(groups) = tenant.member_of.remove(id)
            && let Some(table) = tenant.tables.get_mut(GROUP)
        {
            let ts = now();
            for gid in groups {
                if let Some(g) = table.records.get_mut(&gid)
                    && let Some(m) = g.members.as_mut()
                    && m.remove(id)
                {
                    g.version = self.next_version();
                    g.last_modified = ts.clone();
                }
            }
        }
        Ok(before)
    }

    async fn list(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> Result<ListPage, StoreError> {
        let resource_type = query.schema.resource_type.name.as_str();
        let tenants = self.read();
        let Some(tenant) = tenants.get(ctx.tenant()) else {
            return Ok(ListPage {
                total: 0,
                resources: Vec::new(),
            });
        };
        let Some(table) = tenant.tables.get(resource_type) else {
            return Ok(ListPage {
                total: 0,
                resources: Vec::new(),
            });
        };
        // Candidates, in creation order.
        let candidates: Vec<(&String, &Record)> = match query
            .filter
            .and_then(|f| indexed_term(f.as_ref(), resource_type == USER))
        {
            Some((which, value)) => {
                let ids: Vec<&String> = match which {
                    Indexed::Id => table
                        .records
                        .get_key_value(value)
                        .map(|(k, _)| k)
                        .into_iter()
                        .collect(),
                    Indexed::UserName => table.unique.get(&fold(value)).into_iter().collect(),
                    Indexed::ExternalId => table
                        .external
                        .get(&fold(value))
                        .map(|s| s.iter().collect())
                        .unwrap_or_default(),
                };
                let mut c: Vec<(&String, &Record)> = ids
                    .into_iter()
                    .filter_map(|id| table.records.get_key_value(id.as_str()))
                    .collect();
                c.sort_by_key(|(_, r)| r.seq);
                c
            }
            None => table
                .order
                .values()
                .filter_map(|id| table.records.get_key_value(id.as_str()))
                .collect(),
        };
        let schema = &query.schema;
        let mut matched: Vec<(&String, &Record, Option<StoredResource>)> = Vec::new();
        match query.filter {
            Some(filter) => {
                let omit_members = if mentions(filter, "members") {
                    Vec::new()
                } else {
                    vec!["members".to_owned()]
                };
                for (id, rec) in candidates {
                    let r = tenant.render(resource_type, id, rec, &omit_members);
                    let value = eval_view(&r, resource_type);
                    match filter.matches_with(&value, schema) {
                        Ok(true) => matched.push((id, rec, None)),
                        Ok(false) => {}
                        Err(e) => return Err(StoreError::Backend(e.to_string())),
                    }
                }
            }
            None => matched = candidates.into_iter().map(|(i, r)| (i, r, None)).collect(),
        }
        if let Some(path) = query.sort_by
            && let Some(key) = SortKey::new(schema, path)
        {
            for m in matched.iter_mut() {
                m.2 = Some(tenant.render(resource_type, m.0, m.1, &[]));
            }
            matched.sort_by(|a, b| match (&a.2, &b.2) {
                (Some(x), Some(y)) => key
                    .compare(&x.attributes, &y.attributes, query.sort_order)
                    .then(a.1.seq.cmp(&b.1.seq)),
                _ => a.1.seq.cmp(&b.1.seq),
            });
        }
        let total = matched.len() as u64;
        let skip = usize::try_from(query.start_index.saturating_sub(1)).unwrap_or(usize::MAX);
        let take = usize::try_from(query.count).unwrap_or(usize::MAX);
        let resources = matched
            .into_iter()
            .skip(skip)
            .take(take)
            .map(|(id, rec, _)| tenant.render(resource_type, id, rec, query.omit))
            .collect();
        Ok(ListPage { total, resources })
    }

    async fn modify_members(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> Result<MembersModified, StoreError> {
        let mut tenants = self.write();
        let tenant = tenants.get_mut(ctx.tenant()).ok_or(StoreError::NotFound)?;
        let rec = tenant
            .tables
            .get_mut(resource_type)
            .and_then(|t| t.records.get_mut(id))
            .ok_or(StoreError::NotFound)?;
        if let Some(v) = expected_version
            && v != rec.version
        {
            return Err(StoreError::VersionConflict);
        }
        let members = rec.members.get_or_insert_with(Members::default);
        let mut added = Vec::new();
        let mut removed = Vec::new();
        for change in changes {
            match change {
                MemberChange::Add(list) => {
                    for m in list {
                        if let Some(v) = str_attr(m, "value")
                            && members.add(m.clone())
                        {
                            added.push(v.to_owned());
                        }
                    }
                }
                MemberChange::Remove(values) => {
                    for v in values {
                        if members.remove(v) {
                            removed.push(v.clone());
                        }
                    }
                }
                MemberChange::RemoveAll => {
                    removed.extend(members.values().map(str::to_owned));
                    *members = Members::default();
                }
            }
        }
        // A value both added and removed by one request is reported by where it ended.
        settle_member_changes(&mut added, &mut removed, |v| {
            members.by_value.contains_key(v)
        });
        if !added.is_empty() || !removed.is_empty() {
            rec.version = self.next_version();
            rec.last_modified = now();
        }
        let present: Vec<(String, bool)> = added
            .iter()
            .chain(removed.iter())
            .map(|v| (v.clone(), members.by_value.contains_key(v.as_str())))
            .collect();
        for (v, is_member) in present {
            if is_member {
                tenant.member_of.entry(v).or_default().insert(id.to_owned());
            } else {
                tenant.unlink(id, &v);
            }
        }
        let rec = tenant
            .tables
            .get(resource_type)
            .and_then(|t| t.records.get(id))
            .ok_or(StoreError::NotFound)?;
        let resource = tenant.render(resource_type, id, rec, &["members".to_owned()]);
        Ok(MembersModified {
            resource,
            added,
            removed,
        })
    }
}

/// The JSON a filter is evaluated against: the attributes with `id` and `meta`
/// (`resourceType`, `created`, `lastModified`, `version` as the weak ETag), as every store
/// builds it for the filters it checks in memory.
pub fn eval_view(r: &StoredResource, resource_type: &str) -> Value {
    let mut m = r.attributes.clone();
    m.insert("id".to_owned(), Value::from(r.id.as_str()));
    let mut meta = Map::new();
    meta.insert("resourceType".to_owned(), Value::from(resource_type));
    meta.insert("created".to_owned(), Value::from(r.created.as_str()));
    meta.insert(
        "lastModified".to_owned(),
        Value::from(r.last_modified.as_str()),
    );
    meta.insert(
        "version".to_owned(),
        Value::from(format!("W/\"{}\"", r.version)),
    );
    m.insert("meta".to_owned(), Value::Object(meta));
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_detection() {
        let p = scim_filter::Parser::new().bare_words(true);
        let f = p.parse(r#"userName eq "Bob""#).expect("f");
        assert_eq!(
            indexed_term(f.as_ref(), true),
            Some((Indexed::UserName, "Bob"))
        );
        assert_eq!(indexed_term(f.as_ref(), false), None);
        let f = p
            .parse(r#"active eq true and externalId eq "x" "#)
            .expect("f");
        assert_eq!(
            indexed_term(f.as_ref(), true),
            Some((Indexed::ExternalId, "x"))
        );
        let f = p.parse("id eq abc and manager eq x").expect("f");
        assert_eq!(indexed_term(f.as_ref(), true), Some((Indexed::Id, "abc")));
        let f = p.parse(r#"userName eq "a" or userName eq "b""#).expect("f");
        assert_eq!(indexed_term(f.as_ref(), true), None);
        let f = p.parse(r#"userName ne "a""#).expect("f");
        assert_eq!(indexed_term(f.as_ref(), true), None);
        let f = p.parse(r#"name.givenName eq "a""#).expect("f");
        assert_eq!(indexed_term(f.as_ref(), true), None);
        let f = p
            .parse(r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "a""#)
            .expect("f");
        assert_eq!(
            indexed_term(f.as_ref(), true),
            Some((Indexed::UserName, "a"))
        );
    }

    #[test]
    fn ids_are_uuids() {
        let a = new_id(1);
        assert_eq!(a.len(), 36);
        assert_ne!(a, new_id(1));
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn mentions_walks_the_tree() {
        let f =
            scim_filter::parse(r#"not (a eq 1) and (b pr or members[value eq "x"])"#).expect("f");
        assert!(mentions(&f, "MEMBERS"));
        assert!(mentions(&f, "a"));
        assert!(!mentions(&f, "c"));
    }
}
