//! The PostgreSQL store and token store on the database of `SCIM_TEST_POSTGRES_URL`
//! (skipped with a message without it, a failure under `CI=true` without it): uniqueness
//! by the database on the folded `userName`, tenant isolation, versions as
//! compare-and-swap, member rows, migrations once, `scim_fold` equal to Rust's fold, tokens.

use std::sync::Arc;

use scim_core::store::{MemberChange, RequestContext, ResourceStore, StoreError};
use scim_example_support::pg::{PgDatabase, PgStore, PgTokenStore, block_on, test_database};
use scim_tokens::{TenantId, TokenOptions, TokenService};
use serde_json::{Map, Value, json};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn ctx(name: &str) -> RequestContext {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    RequestContext::new(
        format!("{name}-{}-{nanos}", std::process::id()),
        "i",
        "Test",
    )
}

fn db(test: &str) -> Option<Arc<PgDatabase>> {
    test_database(test)
}

#[test]
fn uniqueness_is_the_databases_on_the_folded_user_name() {
    let Some(db) = db("uniqueness_is_the_databases_on_the_folded_user_name") else {
        return;
    };
    let s = PgStore::new(db);
    let (a, b) = (ctx("uniq-a"), ctx("uniq-b"));
    let u = block_on(s.create(&a, "User", obj(json!({"userName": "ΟΔΥΣΣΕΎΣ"})))).expect("u");
    assert_eq!(
        block_on(s.create(&a, "User", obj(json!({"userName": "οδυσσεύς"})))),
        Err(StoreError::Uniqueness {
            attribute: "userName".into()
        })
    );
    // Another tenant may use it, and cannot see the first.
    block_on(s.create(&b, "User", obj(json!({"userName": "οδυσσεύς"})))).expect("b");
    assert_eq!(
        block_on(s.get(&b, "User", &u.id)),
        Err(StoreError::NotFound)
    );
    // A rename onto a taken name is refused; onto a free one it frees the old name.
    let v = block_on(s.create(&a, "User", obj(json!({"userName": "other"})))).expect("v");
    assert!(matches!(
        block_on(s.replace(
            &a,
            "User",
            &v.id,
            obj(json!({"userName": "Οδυσσεύς"})),
            &v.version
        )),
        Err(StoreError::Uniqueness { .. })
    ));
    let v2 = block_on(s.replace(
        &a,
        "User",
        &v.id,
        obj(json!({"userName": "third"})),
        &v.version,
    ))
    .expect("rename");
    block_on(s.create(&a, "User", obj(json!({"userName": "OTHER"})))).expect("freed");
    // Compare-and-swap: the old version loses.
    assert_eq!(
        block_on(s.replace(&a, "User", &v.id, obj(json!({"userName": "x"})), &v.version)),
        Err(StoreError::VersionConflict)
    );
    assert_eq!(
        block_on(s.delete(&a, "User", &v.id, Some(&v.version))),
        Err(StoreError::VersionConflict)
    );
    block_on(s.delete(&a, "User", &v.id, Some(&v2.version))).expect("delete");
    assert_eq!(
        block_on(s.get(&a, "User", &v.id)),
        Err(StoreError::NotFound)
    );
}

#[test]
fn members_are_rows_and_groups_are_derived() {
    let Some(db) = db("members_are_rows_and_groups_are_derived") else {
        return;
    };
    let s = PgStore::new(db);
    let c = ctx("members");
    let u = block_on(s.create(
        &c,
        "User",
        obj(json!({"userName": "m", "displayName": "Em"})),
    ))
    .expect("u");
    let g = block_on(s.create(
        &c,
        "Group",
        obj(json!({"displayName": "g", "members": [{"value": "ghost"}]})),
    ))
    .expect("g");
    let done = block_on(s.modify_members(
        &c,
        "Group",
        &g.id,
        &[MemberChange::Add(vec![
            obj(json!({"value": u.id})),
            obj(json!({"value": "ghost"})),
            obj(json!({"value": "kept", "$ref": "https://x/Users/kept"})),
        ])],
        Some(&g.version),
    ))
    .expect("add");
    assert_eq!(done.added, vec![u.id.clone(), "kept".to_owned()]);
    assert!(!done.resource.attributes.contains_key("members"));
    assert_ne!(done.resource.version, g.version);
    let got = block_on(s.get(&c, "Group", &g.id)).expect("g");
    assert_eq!(
        got.attributes["members"],
        json!([
            {"value": "ghost"},
            {"value": u.id, "display": "Em", "type": "User", "$ref": format!("/Users/{}", u.id)},
            {"value": "kept", "$ref": "https://x/Users/kept"},
        ])
    );
    let user = block_on(s.get(&c, "User", &u.id)).expect("u");
    assert_eq!(user.attributes["groups"][0]["value"], g.id.as_str());
    assert_eq!(user.attributes["groups"][0]["display"], "g");
    // A stale version, another tenant.
    assert!(matches!(
        block_on(s.modify_members(
            &c,
            "Group",
            &g.id,
            &[MemberChange::RemoveAll],
            Some(&g.version)
        )),
        Err(StoreError::VersionConflict)
    ));
    assert!(matches!(
        block_on(s.modify_members(&ctx("x"), "Group", &g.id, &[MemberChange::RemoveAll], None)),
        Err(StoreError::NotFound)
    ));
    // Added and removed in one call: reported by where it ended.
    let r = block_on(s.modify_members(
        &c,
        "Group",
        &g.id,
        &[
            MemberChange::Remove(vec!["ghost".into()]),
            MemberChange::Add(vec![obj(json!({"value": "ghost"}))]),
        ],
        None,
    ))
    .expect("both");
    assert_eq!((r.added, r.removed), (vec!["ghost".to_owned()], vec![]));
    // Deleting the user removes it from the group and changes the group's version.
    let before = block_on(s.get(&c, "Group", &g.id)).expect("g");
    block_on(s.delete(&c, "User", &u.id, None)).expect("delete");
    let after = block_on(s.get(&c, "Group", &g.id)).expect("g");
    assert_ne!(before.version, after.version);
    let values: Vec<&str> = after.attributes["members"]
        .as_array()
        .map(|m| m.iter().filter_map(|x| x["value"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(values, ["kept", "ghost"]);
}

#[test]
fn concurrent_member_adds_lose_nothing() {
    let Some(db) = db("concurrent_member_adds_lose_nothing") else {
        return;
    };
    let s = PgStore::new(db);
    let c = ctx("concurrent");
    let g = block_on(s.create(&c, "Group", obj(json!({"displayName": "many"})))).expect("g");
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (s, c, gid) = (s.clone(), c.clone(), g.id.clone());
            std::thread::spawn(move || {
                for i in 0..10 {
                    let m = obj(json!({"value": format!("v{w}-{i}")}));
                    block_on(s.modify_members(
                        &c,
                        "Group",
                        &gid,
                        &[MemberChange::Add(vec![m])],
                        None,
                    ))
                    .expect("add");
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker");
    }
    let got = block_on(s.get(&c, "Group", &g.id)).expect("g");
    assert_eq!(
        got.attributes["members"].as_array().map(Vec::len),
        Some(160)
    );
}

#[test]
fn migrations_run_once_and_fold_matches_rust() {
    let Some(db) = db("migrations_run_once_and_fold_matches_rust") else {
        return;
    };
    assert_eq!(db.schema_version().expect("version"), 1);
    // Connecting again (as a second process does) finds the schema current.
    let url = scim_example_support::pg::test_url("again").expect("url");
    let again = PgDatabase::connect(&url).expect("again");
    assert_eq!(again.schema_version().expect("version"), 1);
    let samples = [
        "BJensen",
        "ΟΔΥΣΣΕΎΣ",
        "ς",
        "İstanbul",
        "ẞ STRASSE",
        "\u{212A}elvin",
        "ǅ",
        "Ω\u{2126}",
        "Ärger",
        "ＦＵＬＬ",
        "𐐀𐐨",
        "",
    ];
    for text in samples {
        let got = again.fold_in_database(text).expect("fold");
        assert_eq!(got, scim_filter::fold(text), "{text:?}");
    }
}

#[test]
fn token_store_in_the_same_database() {
    let Some(db) = db("token_store_in_the_same_database") else {
        return;
    };
    let tokens = TokenService::new(PgTokenStore::new(db), scim_tokens::Settings::new());
    let tenant = TenantId::new(ctx("tokens").tenant()).expect("tenant");
    let issued = tokens
        .create(&tenant, "Okta", TokenOptions::new())
        .expect("create");
    let id = issued.integration().id();
    assert!(matches!(
        tokens.create(&tenant, "OKTA", TokenOptions::new()),
        Err(scim_tokens::Error::NameTaken)
    ));
    let first = issued.token().expose_secret().as_bytes().to_vec();
    assert_eq!(tokens.verify(&first).expect("verify").integration(), id);
    let rotated = tokens
        .rotate(&tenant, id, TokenOptions::new())
        .expect("rotate");
    assert!(
        tokens.verify(&first).is_err(),
        "the old token stops working"
    );
    let second = rotated.token().expose_secret().as_bytes().to_vec();
    assert!(tokens.verify(&second).is_ok());
    assert_eq!(tokens.list(&tenant).expect("list").len(), 1);
    tokens.delete(&tenant, id).expect("delete");
    assert!(tokens.verify(&second).is_err());
}
