//! Storage: the [`ResourceStore`] trait the service writes through, and [`MemoryStore`],
//! a complete in-memory implementation.
//!
//! The service does the protocol (validation, PATCH, projection, ETags); a store keeps
//! resources, enforces uniqueness race-free, answers queries and keeps group membership
//! consistent. Every call carries the [`RequestContext`] of the authenticated integration, so
//! one store serves many tenants without mixing their data.
//!
//! # The contract
//!
//! - A stored resource is a JSON object without `id`, `meta` and `password`, plus the
//!   [`StoredResource`] fields `id`, `version`, `created` and `lastModified` that the store
//!   sets. Every successful write gives the resource a new `version`, different from every
//!   version it had before.
//! - [`ResourceStore::replace`] (and [`ResourceStore::modify_members`]) is a
//!   compare-and-swap on the version: it fails with [`StoreError::VersionConflict`] when the
//!   resource changed since it was read. The service re-reads and re-applies (bounded
//!   retries with jitter) unless the client sent its own `If-Match`.
//!   [`ResourceStore::update`] is the PATCH's read-modify-write in one call; a store may run
//!   it inside its write transaction (nothing can come between, no conflict), the default
//!   is the read and the compare-and-swap above.
//! - `userName` is unique per tenant, compared case-insensitively with Unicode lowercase
//!   folding ([`fold`]); group `displayName` uniqueness is a store setting. A store checks
//!   it atomically with the write and answers [`StoreError::Uniqueness`].
//! - Group membership: `Group.members` is stored; `User.groups` is derived from it at read
//!   time and never stored. Deleting a resource removes it from every group. A member
//!   `value` naming no resource of the tenant is kept as given. A member sent without a
//!   `$ref` that resolves gets `$ref` as an endpoint-relative path (`/Users/{id}`, which the
//!   service makes absolute with its base URL), `display` (the member's `displayName`, else
//!   `userName`) and, when absent, `type`; a member sent with a `$ref` is shown as sent.
//!   [`complete_member`] is that rule, shared by the stores.
//! - An unknown id, a malformed one, and one of another tenant are all
//!   [`StoreError::NotFound`].
//!
//! The trait's methods return `impl Future + Send`, so the trait is not object-safe: choose
//! a store at compile time, or wrap the candidates in an enum.

mod members;
mod memory;
mod sort;

use std::future::Future;
use std::sync::Arc;

use scim_filter::{AttrPath, Filter};
use serde_json::{Map, Value};

use crate::error::{Error, ScimType};
use crate::message::SortOrder;
use crate::registry::ResourceSchema;

pub use members::{
    complete_member, group_entry, member_endpoint, member_needs_resolving, settle_member_changes,
    strip_unstored, take_members,
};
pub use memory::{MemoryStore, MemoryStoreSettings, eval_view};
pub use sort::{SortKey, compare_for_sort};

/// The resource type name of users, as the stores know it.
pub const USER: &str = "User";
/// The resource type name of groups, as the stores know it.
pub const GROUP: &str = "Group";

/// Who is asking: the tenant and the integration (identity-provider connection) that
/// authenticated the request. Cheap to clone (one reference count).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RequestContext {
    inner: Arc<ContextInner>,
}

#[derive(PartialEq, Eq, Hash)]
struct ContextInner {
    tenant: String,
    integration_id: String,
    integration_name: String,
}

impl RequestContext {
    /// A context for `tenant`, authenticated as the integration `integration_id` called
    /// `integration_name`.
    pub fn new(
        tenant: impl Into<String>,
        integration_id: impl Into<String>,
        integration_name: impl Into<String>,
    ) -> Self {
        RequestContext {
            inner: Arc::new(ContextInner {
                tenant: tenant.into(),
                integration_id: integration_id.into(),
                integration_name: integration_name.into(),
            }),
        }
    }

    /// The tenant whose data the request reads and writes.
    pub fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The id of the authenticated integration.
    pub fn integration_id(&self) -> &str {
        &self.inner.integration_id
    }

    /// The name of the authenticated integration.
    pub fn integration_name(&self) -> &str {
        &self.inner.integration_name
    }
}

impl std::fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestContext")
            .field("tenant", &self.inner.tenant)
            .field("integration_id", &self.inner.integration_id)
            .field("integration_name", &self.inner.integration_name)
            .finish()
    }
}

/// A resource as a store keeps it: the attributes (without `id`, `meta`, `password`) and
/// the store-managed fields.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredResource {
    /// The server-assigned id.
    pub id: String,
    /// The version: changes on every write; the service shows it as the weak ETag
    /// `W/"<version>"`.
    pub version: String,
    /// When the resource was created (RFC 3339).
    pub created: String,
    /// When the resource last changed (RFC 3339).
    pub last_modified: String,
    /// The attributes.
    pub attributes: Map<String, Value>,
}

/// A stored resource with its attributes as the JSON text the store keeps
/// ([`ResourceStore::get_raw`]): for a read answered without `attributes` or
/// `excludedAttributes`, the service writes the text into the response as it is (after
/// checking that the projection would change nothing), instead of parsing it into a map,
/// shaping it and writing it again.
#[derive(Debug, Clone, PartialEq)]
pub struct RawResource {
    /// The server-assigned id.
    pub id: String,
    /// The version (see [`StoredResource::version`]).
    pub version: String,
    /// When the resource was created (RFC 3339).
    pub created: String,
    /// When the resource last changed (RFC 3339).
    pub last_modified: String,
    /// The stored attributes: the text of one JSON object as `serde_json` writes a `Map`,
    /// without `id`, `meta`, `password` and the attributes in `derived`.
    pub json: String,
    /// Attributes the store derives at read time (a user's `groups`, a group's
    /// `members`), each as [`ResourceStore::get`] would add it to those of `json`.
    pub derived: Map<String, Value>,
}

impl RawResource {
    /// The same resource as [`ResourceStore::get`] returns it: `json` parsed, `derived`
    /// added.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when `json` is not a JSON object.
    pub fn into_stored(self) -> Result<StoredResource, StoreError> {
        let mut attributes = match serde_json::from_str(&self.json) {
            Ok(Value::Object(m)) => m,
            _ => {
                return Err(StoreError::Backend(
                    "stored resource is not an object".into(),
                ));
            }
        };
        attributes.extend(self.derived);
        Ok(StoredResource {
            id: self.id,
            version: self.version,
            created: self.created,
            last_modified: self.last_modified,
            attributes,
        })
    }
}

/// A change of group membership, applied by [`ResourceStore::modify_members`].
#[derive(Debug, Clone, PartialEq)]
pub enum MemberChange {
    /// Add these member objects (each with a string `value`); a `value` already a member
    /// is left as it is.
    Add(Vec<Map<String, Value>>),
    /// Remove the members with these `value`s; values that are not members are ignored.
    Remove(Vec<String>),
    /// Remove every member.
    RemoveAll,
}

/// What [`ResourceStore::modify_members`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct MembersModified {
    /// The group after the change, without its `members` (see
    /// [`ResourceStore::get_omitting`]).
    pub resource: StoredResource,
    /// The member values added.
    pub added: Vec<String>,
    /// The member values removed.
    pub removed: Vec<String>,
}

/// What the edit of [`ResourceStore::update`] decided about the resource it was given.
#[derive(Debug)]
pub enum Edit<T> {
    /// Nothing to write: the resource stays as it is.
    Unchanged,
    /// Replace the resource's attributes with these (as
    /// [`replace`](ResourceStore::replace) takes them); `T` goes back to the caller.
    Write(Map<String, Value>, T),
}

/// What [`ResourceStore::update`] did.
#[derive(Debug)]
pub struct Updated<T> {
    /// The resource the edit was given, as the edit left it (it may have taken the
    /// attributes out).
    pub before: StoredResource,
    /// The resource as written; `None` when the edit left it [`Edit::Unchanged`].
    pub after: Option<StoredResource>,
    /// What the edit handed back with the attributes it wrote.
    pub extra: Option<T>,
}

/// Why [`ResourceStore::update`] failed.
#[derive(Debug)]
pub enum UpdateError {
    /// The store failed: [`StoreError::NotFound`], [`StoreError::Uniqueness`],
    /// [`StoreError::Backend`], or (the default implementation only)
    /// [`StoreError::VersionConflict`] when the resource changed between its read and
    /// its write.
    Store(StoreError),
    /// The edit refused the change; its error, to answer as it is.
    Edit(Error),
}

/// A list query, its filter already parsed and checked against `schema`.
#[derive(Debug, Clone, Copy)]
pub struct ListQuery<'a> {
    /// The resource type queried.
    pub schema: ResourceSchema<'a>,
    /// Only resources that match (evaluated with `schema`'s characteristics).
    pub filter: Option<&'a Filter<'a>>,
    /// Sort by this attribute (type- and caseExact-aware, see [`compare_for_sort`]);
    /// without it, creation order.
    pub sort_by: Option<&'a AttrPath<'a>>,
    /// The sort order.
    pub sort_order: SortOrder,
    /// The 1-based index of the first result wanted (at least 1).
    pub start_index: u64,
    /// The most results wanted on the page (may be 0: only the total).
    pub count: u64,
    /// Attributes the caller will not show (`excludedAttributes`); a store may leave them
    /// out of the page (top-level names, case-insensitive).
    pub omit: &'a [String],
}

/// One page of a list query.
#[derive(Debug, Clone, PartialEq)]
pub struct ListPage {
    /// How many resources matched in all.
    pub total: u64,
    /// The resources of the page, in order.
    pub resources: Vec<StoredResource>,
}

/// Why a store call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such resource for this tenant (unknown, malformed, or another tenant's id).
    #[error("no such resource")]
    NotFound,
    /// The resource changed since the version the caller read.
    #[error("the resource was modified concurrently")]
    VersionConflict,
    /// A unique attribute's value is taken.
    #[error("the value of `{attribute}` is already taken")]
    Uniqueness {
        /// The attribute (`userName`, `displayName`, ...).
        attribute: String,
    },
    /// The backend failed; `detail` is for logs and shows no secrets.
    #[error("storage failure: {0}")]
    Backend(String),
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::not_found("no such resource"),
            StoreError::VersionConflict => Error::status(
                412,
                "the resource was modified since the version given in If-Match",
            ),
            StoreError::Uniqueness { attribute } => Error::new(
                ScimType::Uniqueness,
                format!("the value of `{attribute}` is already in use"),
            ),
            StoreError::Backend(_) => Error::status(500, "the resource store failed"),
        }
    }
}

/// The storage behind a SCIM service.
///
/// Resource types are named as the registry names them (`User`, `Group`, or a custom
/// type). See the [module documentation](self) for the contract.
pub trait ResourceStore: Send + Sync {
    /// Stores a new resource and assigns its id, version and timestamps.
    ///
    /// # Errors
    ///
    /// [`StoreError::Uniqueness`] when a unique value is taken.
    fn create(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        attributes: Map<String, Value>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Reads a resource (for a user, `groups` derived from the groups holding it).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`].
    fn get(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Reads a resource without the top-level attributes named in `omit`
    /// (case-insensitive), so a group of 100k members can be answered without copying
    /// them. The default reads the whole resource and drops them.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`].
    fn get_omitting(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        omit: &[String],
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send {
        async move {
            let mut r = self.get(ctx, resource_type, id).await?;
            r.attributes
                .retain(|k, _| !omit.iter().any(|o| o.eq_ignore_ascii_case(k)));
            Ok(r)
        }
    }

    /// Reads a resource as the JSON text the store keeps ([`RawResource`]), so that a read
    /// needing no projection is answered without parsing and writing it again. `None`
    /// (the default) when the store keeps no such text: the service then calls
    /// [`get_omitting`](Self::get_omitting).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`].
    fn get_raw(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<RawResource>, StoreError>> + Send {
        let _ = (ctx, resource_type, id);
        async { Ok(None) }
    }

    /// Replaces a resource's attributes if its version is still `expected_version`.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionConflict`], [`StoreError::Uniqueness`].
    fn replace(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        attributes: Map<String, Value>,
        expected_version: &str,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Reads a resource, hands it to `edit` and writes what the edit returns, as one
    /// read-modify-write: the service's PATCH. A store that can run `edit` inside its
    /// write transaction overrides this, so that the resource is read once, where it is
    /// written, and no other write comes between (no [`StoreError::VersionConflict`]).
    /// The default [`get`](Self::get)s the resource and [`replace`](Self::replace)s it
    /// with the version read, so it may fail with [`StoreError::VersionConflict`] under
    /// concurrent writers (the service retries with a new edit).
    ///
    /// `edit` runs at most once, on any thread (hence `'static`); its error ends the call
    /// with nothing written. It gets the resource as read and may take what it needs out of
    /// its attributes (so that a PATCH edits them without copying them first):
    /// [`Updated::before`] is what the edit left of it. A store must therefore read anything
    /// it needs of the old attributes (e.g. indexed values) before calling `edit`, and the
    /// edit must put the attributes back when it answers [`Edit::Unchanged`].
    ///
    /// # Errors
    ///
    /// [`UpdateError`].
    fn update<T, F>(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        edit: F,
    ) -> impl Future<Output = Result<Updated<T>, UpdateError>> + Send
    where
        T: Send + 'static,
        F: FnOnce(&mut StoredResource) -> Result<Edit<T>, Error> + Send + 'static,
    {
        async move {
            let mut before = self
                .get(ctx, resource_type, id)
                .await
                .map_err(UpdateError::Store)?;
            match edit(&mut before).map_err(UpdateError::Edit)? {
                Edit::Unchanged => Ok(Updated {
                    before,
                    after: None,
                    extra: None,
                }),
                Edit::Write(attributes, extra) => {
                    let after = self
                        .replace(ctx, resource_type, id, attributes, &before.version)
                        .await
                        .map_err(UpdateError::Store)?;
                    Ok(Updated {
                        before,
                        after: Some(after),
                        extra: Some(extra),
                    })
                }
            }
        }
    }

    /// Deletes a resource (if its version is `expected_version`, when given) and returns
    /// it as it was. Deleting a user or group removes it from every group.
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionConflict`].
    fn delete(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        expected_version: Option<&str>,
    ) -> impl Future<Output = Result<StoredResource, StoreError>> + Send;

    /// Answers a list query: the total and one page.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`].
    fn list(
        &self,
        ctx: &RequestContext,
        query: &ListQuery<'_>,
    ) -> impl Future<Output = Result<ListPage, StoreError>> + Send;

    /// Adds or removes members of a group, the changes in order and atomically (if its version is `expected_version`, when
    /// given). A store that keeps members apart from the group overrides this so that
    /// adding one member does not rewrite the group. The default reads the group, edits
    /// `members` and [`replace`](Self::replace)s it with the version read, so it may fail
    /// with [`StoreError::VersionConflict`] under concurrent writers (the service retries).
    ///
    /// # Errors
    ///
    /// [`StoreError::NotFound`], [`StoreError::VersionConflict`].
    fn modify_members(
        &self,
        ctx: &RequestContext,
        resource_type: &str,
        id: &str,
        changes: &[MemberChange],
        expected_version: Option<&str>,
    ) -> impl Future<Output = Result<MembersModified, StoreError>> + Send {
        async move {
            let current = self.get(ctx, resource_type, id).await?;
            if let Some(v) = expected_version
                && v != current.version
            {
                return Err(StoreError::VersionConflict);
            }
            let mut attributes = current.attributes.clone();
            let mut members: Vec<Value> = match attributes.remove("members") {
                Some(Value::Array(a)) => a,
                _ => Vec::new(),
            };
            let mut added = Vec::new();
            let mut removed = Vec::new();
            for change in changes {
                let (a, r) = apply_member_change(&mut members, change);
                added.extend(a);
                removed.extend(r);
            }
            if added.is_empty() && removed.is_empty() {
                let mut resource = current;
                resource.attributes.remove("members");
                return Ok(MembersModified {
                    resource,
                    added,
                    removed,
                });
            }
            if !members.is_empty() {
                attributes.insert("members".to_owned(), Value::Array(members));
            }
            let mut resource = self
                .replace(ctx, resource_type, id, attributes, &current.version)
                .await?;
            resource.attributes.remove("members");
            Ok(MembersModified {
                resource,
                added,
                removed,
            })
        }
    }
}

/// The `value` of a member object.
pub(crate) fn member_value(m: &Value) -> Option<&str> {
    m.get("value").and_then(Value::as_str)
}

/// Applies `change` to a list of member objects; returns the values added and removed.
pub fn apply_member_change(
    members: &mut Vec<Value>,
    change: &MemberChange,
) -> (Vec<String>, Vec<String>) {
    let mut added = Vec::new();
    let mut removed = Vec::new();
    match change {
        MemberChange::Add(new) => {
            let mut present: std::collections::HashSet<String> = members
                .iter()
                .filter_map(member_value)
                .map(str::to_owned)
                .collect();
            for m in new {
                let Some(v) = m.get("value").and_then(Value::as_str) else {
                    continue;
                };
                if present.insert(v.to_owned()) {
                    added.push(v.to_owned());
                    members.push(Value::Object(m.clone()));
                }
            }
        }
        MemberChange::Remove(values) => {
            let gone: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
            members.retain(|m| match member_value(m) {
                Some(v) if gone.contains(v) => {
                    removed.push(v.to_owned());
                    false
                }
                _ => true,
            });
        }
        MemberChange::RemoveAll => {
            removed.extend(members.iter().filter_map(member_value).map(str::to_owned));
            members.clear();
        }
    }
    (added, removed)
}

/// Folds `s` for caseless comparison, as filters compare strings that are not caseExact
/// (the evaluator's own folding, so indexes and filters agree).
pub use scim_filter::fold;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn member_changes() {
        let mut m = vec![json!({"value": "a"}), json!({"value": "b"})];
        let (a, r) = apply_member_change(
            &mut m,
            &MemberChange::Add(vec![obj(json!({"value": "b"})), obj(json!({"value": "c"}))]),
        );
        assert_eq!((a, r), (vec!["c".to_owned()], vec![]));
        let (a, r) =
            apply_member_change(&mut m, &MemberChange::Remove(vec!["a".into(), "z".into()]));
        assert_eq!((a, r), (vec![], vec!["a".to_owned()]));
        assert_eq!(m, vec![json!({"value": "b"}), json!({"value": "c"})]);
        let (_, r) = apply_member_change(&mut m, &MemberChange::RemoveAll);
        assert_eq!(r.len(), 2);
        assert!(m.is_empty());
    }

    #[test]
    fn folding() {
        assert_eq!(fold("BJensen"), "bjensen");
        assert_eq!(fold("ΟΔΥΣΣΕΎΣ"), fold("οδυσσεύς"));
    }

    #[test]
    fn context_is_cheap_and_debuggable() {
        let c = RequestContext::new("t1", "i1", "Okta");
        let d = c.clone();
        assert_eq!(c, d);
        assert_eq!(d.tenant(), "t1");
        assert!(format!("{c:?}").contains("Okta"));
    }

    #[test]
    fn errors_map_to_scim() {
        let e: Error = StoreError::Uniqueness {
            attribute: "userName".into(),
        }
        .into();
        assert_eq!(e.status, 409);
        assert_eq!(e.scim_type, Some(ScimType::Uniqueness));
        assert_eq!(Error::from(StoreError::NotFound).status, 404);
    }
}
