//! Group commit of the SQLite store: writes sent at the same time from many threads are all
//! acknowledged, all found after the database is closed and opened again, and a write that
//! fails (a userName already taken) fails alone.

use std::sync::Arc;

use scim_core::store::{RequestContext, ResourceStore, StoreError};
use scim_example_support::db::{Database, Durability};
use scim_example_support::pg::block_on;
use scim_example_support::store::SqliteStore;
use serde_json::{Map, Value, json};

fn user(name: &str) -> Map<String, Value> {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "active": true,
    })
    .as_object()
    .cloned()
    .expect("object")
}

#[test]
fn concurrent_writes_are_all_acknowledged_and_durable_and_fail_alone() {
    let dir = std::env::temp_dir().join(format!("scim-group-commit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("g.db");
    let _ = std::fs::remove_file(&path);
    let db = Arc::new(Database::open(&path, Durability::Normal).expect("open"));
    let store = SqliteStore::new(db);
    let ctx = RequestContext::new("default", "i", "test");
    const THREADS: usize = 8;
    const EACH: usize = 25;
    // Every thread creates its own users, then one user name all threads try to take, then
    // deactivates each of its users.
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (store, ctx) = (store.clone(), ctx.clone());
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                for i in 0..EACH {
                    let created = block_on(store.create(&ctx, "User", user(&format!("u{t}-{i}"))))
                        .expect("create");
                    ids.push(created.id);
                }
                let shared = block_on(store.create(&ctx, "User", user("everyone")));
                for id in &ids {
                    let current = block_on(store.get(&ctx, "User", id)).expect("get");
                    let mut attrs = current.attributes.clone();
                    attrs.insert("active".to_owned(), Value::Bool(false));
                    block_on(store.replace(&ctx, "User", id, attrs, &current.version))
                        .expect("replace");
                }
                (ids, shared.map(|r| r.id))
            })
        })
        .collect();
    let results: Vec<_> = threads
        .into_iter()
        .map(|t| t.join().expect("thread"))
        .collect();
    let shared: Vec<_> = results.iter().map(|(_, s)| s).collect();
    assert_eq!(
        shared.iter().filter(|s| s.is_ok()).count(),
        1,
        "one create of the shared name succeeds: {shared:?}"
    );
    for s in &shared {
        if let Err(e) = s {
            assert!(matches!(e, StoreError::Uniqueness { .. }), "{e:?}");
        }
    }
    drop(store);

    // Closed and opened again: every acknowledged write is there.
    let store = SqliteStore::new(Arc::new(
        Database::open(&path, Durability::Normal).expect("reopen"),
    ));
    for (t, (ids, _)) in results.iter().enumerate() {
        assert_eq!(ids.len(), EACH);
        for (i, id) in ids.iter().enumerate() {
            let u = block_on(store.get(&ctx, "User", id)).expect("acknowledged user");
            assert_eq!(u.attributes["userName"], format!("u{t}-{i}"));
            assert_eq!(u.attributes["active"], false, "acknowledged deactivation");
        }
    }
    let winner = shared.iter().find_map(|s| s.as_ref().ok()).expect("winner");
    let w = block_on(store.get(&ctx, "User", winner)).expect("shared user");
    assert_eq!(w.attributes["userName"], "everyone");
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
