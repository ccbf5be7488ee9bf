//! `SqliteStore::update`, the read-modify-write of a PATCH run inside the group commit: the
//! edit sees the resource as it is in the write transaction, so concurrent updates of one
//! resource never conflict nor lose one another; an edit that refuses, or writes a taken
//! userName, changes nothing; a user's groups stay in the answer.

use std::sync::Arc;

use scim_core::Error;
use scim_core::store::{
    Edit, ListPage, ListQuery, MemberChange, RequestContext, ResourceStore, StoreError,
    StoredResource, UpdateError,
};
use scim_example_support::db::{Database, Durability};
use scim_example_support::pg::block_on;
use scim_example_support::store::SqliteStore;
use serde_json::{Map, Value, json};

fn object(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn user(name: &str) -> Map<String, Value> {
    object(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "displayName": "0",
        "active": true,
    }))
}

/// Creates the group "staff" with the one member `member`.
fn staff_group(store: &SqliteStore, ctx: &RequestContext, member: &str) -> StoredResource {
    block_on(store.create(
        ctx,
        "Group",
        object(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "staff",
            "members": [{"value": member}],
        })),
    ))
    .expect("group")
}

/// The first 10 users that match `filter` (all of them without one).
fn users(
    store: &SqliteStore,
    ctx: &RequestContext,
    filter: Option<&scim_filter::Filter<'_>>,
) -> ListPage {
    let registry = scim_core::Registry::core();
    let query = ListQuery {
        schema: registry.resource_type("User").expect("User"),
        filter,
        sort_by: None,
        sort_order: Default::default(),
        start_index: 1,
        count: 10,
        omit: &[],
    };
    block_on(store.list(ctx, &query)).expect("list")
}

fn file_store(name: &str) -> (SqliteStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("scim-update-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("u.db");
    let _ = std::fs::remove_file(&path);
    let db = Arc::new(Database::open(&path, Durability::Normal).expect("open"));
    (SqliteStore::new(db), dir)
}

/// An edit setting `attribute` to `value` (the attributes as the store gave them).
fn set(
    attribute: &'static str,
    value: Value,
) -> impl FnOnce(&mut StoredResource) -> Result<Edit<&'static str>, Error> + Send + 'static {
    move |current| {
        let mut attrs = current.attributes.clone();
        attrs.insert(attribute.to_owned(), value);
        Ok(Edit::Write(attrs, "extra"))
    }
}

#[test]
fn an_update_writes_once_and_keeps_the_groups_in_its_answer() {
    let store = SqliteStore::new(Arc::new(Database::open_in_memory().expect("db")));
    let ctx = RequestContext::new("default", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("ann"))).expect("create");
    let g = staff_group(&store, &ctx, &u.id);
    let before = block_on(store.get(&ctx, "User", &u.id)).expect("get");
    let done = block_on(store.update(&ctx, "User", &u.id, set("active", Value::Bool(false))))
        .expect("update");
    assert_eq!(done.before, before, "the edit saw the stored resource");
    assert_eq!(done.extra, Some("extra"));
    let after = done.after.expect("written");
    assert_ne!(after.version, before.version, "a write makes a new version");
    assert_eq!(after.created, before.created);
    assert_eq!(after.attributes["active"], false);
    assert_eq!(after.attributes["groups"][0]["value"], g.id.as_str());
    // The answer is what a read finds afterwards.
    assert_eq!(
        block_on(store.get(&ctx, "User", &u.id)).expect("get"),
        after
    );

    // Unchanged: nothing written, the version stays.
    let same = block_on(store.update(&ctx, "User", &u.id, |_: &mut StoredResource| {
        Ok(Edit::<()>::Unchanged)
    }))
    .expect("update");
    assert!(same.after.is_none() && same.extra.is_none());
    assert_eq!(same.before, after);
    assert_eq!(
        block_on(store.get(&ctx, "User", &u.id))
            .expect("get")
            .version,
        after.version
    );

    // A group updated the same way keeps its members.
    let done = block_on(store.update(
        &ctx,
        "Group",
        &g.id,
        set("displayName", Value::from("people")),
    ))
    .expect("group update");
    let group = done.after.expect("written");
    assert_eq!(group.attributes["displayName"], "people");
    assert_eq!(group.attributes["members"][0]["value"], u.id.as_str());
    let changed = block_on(store.modify_members(
        &ctx,
        "Group",
        &g.id,
        &[MemberChange::RemoveAll],
        Some(&group.version),
    ))
    .expect("members");
    assert_eq!(changed.removed, std::slice::from_ref(&u.id));
}

#[test]
fn a_refused_update_writes_nothing() {
    let store = SqliteStore::new(Arc::new(Database::open_in_memory().expect("db")));
    let ctx = RequestContext::new("default", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("bob"))).expect("create");
    block_on(store.create(&ctx, "User", user("carol"))).expect("create");

    // The edit's own error comes back as it is.
    let refused = block_on(store.update(&ctx, "User", &u.id, |_: &mut StoredResource| {
        Err::<Edit<()>, _>(Error::status(412, "precondition failed"))
    }));
    assert!(
        matches!(&refused, Err(UpdateError::Edit(e)) if e.status == 412),
        "{refused:?}"
    );
    // A userName another user has (compared folded) is refused by the store.
    let taken = block_on(store.update(&ctx, "User", &u.id, set("userName", Value::from("CAROL"))));
    assert!(
        matches!(
            taken,
            Err(UpdateError::Store(StoreError::Uniqueness { .. }))
        ),
        "{taken:?}"
    );
    // Unknown id, and another tenant's.
    let missing = block_on(store.update(&ctx, "User", "nope", set("active", Value::Bool(false))));
    assert!(matches!(
        missing,
        Err(UpdateError::Store(StoreError::NotFound))
    ));
    let other = RequestContext::new("other", "i", "test");
    let foreign = block_on(store.update(&other, "User", &u.id, set("active", Value::Bool(false))));
    assert!(matches!(
        foreign,
        Err(UpdateError::Store(StoreError::NotFound))
    ));
    let now = block_on(store.get(&ctx, "User", &u.id)).expect("get");
    assert_eq!(now, u, "nothing was written");
    assert_eq!(users(&store, &ctx, None).total, 2);
}

/// An edit that takes the attributes out of the resource it is given (as the service's
/// PATCH does) and writes them changed: the indexed columns follow the new values (found
/// by them, the old ones free again, a taken one refused), the groups stay in the answer;
/// one that puts them back and answers `Unchanged` leaves the resource as read.
#[test]
fn an_edit_that_takes_the_attributes_is_indexed_by_what_it_writes() {
    let store = SqliteStore::new(Arc::new(Database::open_in_memory().expect("db")));
    let ctx = RequestContext::new("default", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("dan"))).expect("create");
    block_on(store.create(&ctx, "User", user("erin"))).expect("create");
    let g = staff_group(&store, &ctx, &u.id);
    let take_and_set = |name: &'static str, value: &'static str| {
        move |current: &mut StoredResource| {
            let mut attrs = std::mem::take(&mut current.attributes);
            attrs.insert(name.to_owned(), Value::from(value));
            attrs.insert("externalId".to_owned(), Value::from(format!("x-{value}")));
            Ok::<_, Error>(Edit::Write(attrs, ()))
        }
    };
    let done = block_on(store.update(&ctx, "User", &u.id, take_and_set("userName", "Dora")))
        .expect("update");
    assert!(done.before.attributes.is_empty(), "the edit took them");
    let after = done.after.expect("written");
    assert_eq!(after.attributes["userName"], "Dora");
    assert_eq!(after.attributes["groups"][0]["value"], g.id.as_str());
    assert_eq!(
        block_on(store.get(&ctx, "User", &u.id)).expect("get"),
        after
    );
    let found = |filter: &str| {
        let filter = scim_filter::parse(filter).expect("filter");
        let page = users(&store, &ctx, Some(&filter));
        page.resources.into_iter().map(|r| r.id).collect::<Vec<_>>()
    };
    assert_eq!(found("userName eq \"DORA\""), vec![u.id.clone()]);
    assert_eq!(found("externalId eq \"x-Dora\""), vec![u.id.clone()]);
    assert!(found("userName eq \"dan\"").is_empty());
    // The old userName is free again; the new one is taken (folded).
    block_on(store.create(&ctx, "User", user("DAN"))).expect("the old name is free");
    let taken = block_on(store.update(&ctx, "User", &u.id, take_and_set("userName", "ERIN")));
    assert!(
        matches!(
            taken,
            Err(UpdateError::Store(StoreError::Uniqueness { .. }))
        ),
        "{taken:?}"
    );

    // Taken and put back: unchanged, the answer is the resource as read.
    let same = block_on(
        store.update(&ctx, "User", &u.id, |current: &mut StoredResource| {
            let attrs = std::mem::take(&mut current.attributes);
            current.attributes = attrs;
            Ok::<_, Error>(Edit::<()>::Unchanged)
        }),
    )
    .expect("update");
    assert_eq!(same.before, after);
}

#[test]
fn concurrent_updates_of_one_user_lose_nothing_and_survive_a_reopen() {
    let (store, dir) = file_store("concurrent");
    let ctx = RequestContext::new("default", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("dave"))).expect("create");
    const THREADS: usize = 8;
    const EACH: usize = 25;
    // Each update adds one to the number in displayName: a lost update would show.
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (store, ctx, id) = (store.clone(), ctx.clone(), u.id.clone());
            std::thread::spawn(move || {
                for _ in 0..EACH {
                    let done = block_on(store.update(&ctx, "User", &id, |current| {
                        let n: u64 = current.attributes["displayName"]
                            .as_str()
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(u64::MAX);
                        let mut attrs = current.attributes.clone();
                        attrs.insert("displayName".to_owned(), Value::from((n + 1).to_string()));
                        Ok(Edit::Write(attrs, ()))
                    }))
                    .expect("update never conflicts");
                    assert!(done.after.is_some());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    let path = dir.join("u.db");
    drop(store);
    let store = SqliteStore::new(Arc::new(
        Database::open(&path, Durability::Normal).expect("reopen"),
    ));
    let now = block_on(store.get(&ctx, "User", &u.id)).expect("get");
    assert_eq!(
        now.attributes["displayName"],
        (THREADS * EACH).to_string(),
        "every acknowledged update is kept"
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
