//! The default `ResourceStore::update` (here on `MemoryStore`): a read, the edit, and a
//! compare-and-swap `replace` with the version read, so a write that comes between fails
//! with `VersionConflict` (the service then retries with a new edit); an edit's error and an
//! unchanged resource write nothing.

use std::sync::Arc;

use scim_core::Error;
use scim_core::store::{
    Edit, MemoryStore, RequestContext, ResourceStore, StoreError, StoredResource, UpdateError,
};
use serde_json::{Map, Value, json};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            return v;
        }
    }
}

fn user(name: &str) -> Map<String, Value> {
    json!({"userName": name, "active": true})
        .as_object()
        .cloned()
        .expect("object")
}

fn deactivate(current: &mut StoredResource) -> Result<Edit<u8>, Error> {
    let mut attrs = current.attributes.clone();
    attrs.insert("active".to_owned(), Value::Bool(false));
    Ok(Edit::Write(attrs, 7))
}

#[test]
fn the_default_update_reads_edits_and_replaces() {
    let store = MemoryStore::new();
    let ctx = RequestContext::new("t", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("ann"))).expect("create");
    let done = block_on(store.update(&ctx, "User", &u.id, deactivate)).expect("update");
    assert_eq!(done.before, u);
    assert_eq!(done.extra, Some(7));
    let after = done.after.expect("written");
    assert_ne!(after.version, u.version);
    assert_eq!(after.attributes["active"], false);
    assert_eq!(
        block_on(store.get(&ctx, "User", &u.id)).expect("get"),
        after
    );

    let same = block_on(store.update(&ctx, "User", &u.id, |_: &mut StoredResource| {
        Ok(Edit::<u8>::Unchanged)
    }))
    .expect("unchanged");
    assert_eq!(
        (same.before, same.after, same.extra),
        (after.clone(), None, None)
    );

    let refused = block_on(store.update(&ctx, "User", &u.id, |_: &mut StoredResource| {
        Err::<Edit<u8>, _>(Error::status(412, "no"))
    }));
    assert!(matches!(&refused, Err(UpdateError::Edit(e)) if e.status == 412));
    assert_eq!(
        block_on(store.get(&ctx, "User", &u.id)).expect("get"),
        after
    );

    let missing = block_on(store.update(&ctx, "User", "nope", deactivate));
    assert!(matches!(
        missing,
        Err(UpdateError::Store(StoreError::NotFound))
    ));
}

#[test]
fn a_write_between_the_read_and_the_replace_is_a_version_conflict() {
    let store = Arc::new(MemoryStore::new());
    let ctx = RequestContext::new("t", "i", "test");
    let u = block_on(store.create(&ctx, "User", user("bob"))).expect("create");
    // The edit itself writes the resource first (as another request would): the default's
    // replace with the version it read must fail, and the other write stays.
    let (other, c, id) = (store.clone(), ctx.clone(), u.id.clone());
    let raced = block_on(store.update(&ctx, "User", &u.id, move |current| {
        let mut renamed = current.attributes.clone();
        renamed.insert("displayName".to_owned(), Value::from("other"));
        block_on(other.replace(&c, "User", &id, renamed, &current.version)).expect("other");
        deactivate(current)
    }));
    assert!(
        matches!(raced, Err(UpdateError::Store(StoreError::VersionConflict))),
        "{raced:?}"
    );
    let now = block_on(store.get(&ctx, "User", &u.id)).expect("get");
    assert_eq!(now.attributes["displayName"], "other");
    assert_eq!(now.attributes["active"], true);
}
