//! Black-box tests of MemoryStore through the ResourceStore trait.

use scim_core::Registry;
use scim_core::message::SortOrder;
use scim_core::store::{
    ListQuery, MemberChange, MemoryStore, MemoryStoreSettings, RequestContext, ResourceStore,
    StoreError,
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

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

fn ctx(t: &str) -> RequestContext {
    RequestContext::new(t, "i", "IdP")
}

#[allow(clippy::too_many_arguments)]
fn list(
    store: &MemoryStore,
    c: &RequestContext,
    rt: &str,
    filter: Option<&str>,
    sort: Option<&str>,
    order: SortOrder,
    start: u64,
    count: u64,
) -> (u64, Vec<String>) {
    let reg = Registry::core();
    let schema = reg.resource_type(rt).expect("type");
    let parser = scim_core::Dialects::default().filter_parser();
    let f = filter.map(|f| parser.parse(f).expect("filter"));
    let s = sort.map(|s| parser.parse_path(s).expect("path").attr);
    let q = ListQuery {
        schema,
        filter: f.as_ref(),
        sort_by: s.as_ref(),
        sort_order: order,
        start_index: start,
        count,
        omit: &[],
    };
    let page = block_on(store.list(c, &q)).expect("list");
    let names = page
        .resources
        .iter()
        .map(|r| {
            r.attributes
                .get("userName")
                .or_else(|| r.attributes.get("displayName"))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned()
        })
        .collect();
    (page.total, names)
}

#[test]
fn crud_versions_and_cas() {
    let s = MemoryStore::new();
    let c = ctx("t");
    let u = block_on(s.create(
        &c,
        "User",
        obj(json!({"userName": "a", "id": "client", "password": "p"})),
    ))
    .expect("create");
    assert_ne!(u.id, "client", "the store assigns ids");
    assert!(!u.attributes.contains_key("password") && !u.attributes.contains_key("id"));
    let v1 = u.version.clone();
    let r = block_on(s.replace(&c, "User", &u.id, obj(json!({"userName": "a2"})), &v1))
        .expect("replace");
    assert_ne!(r.version, v1);
    assert_eq!(r.created, u.created);
    assert_eq!(
        block_on(s.replace(&c, "User", &u.id, obj(json!({"userName": "a3"})), &v1)),
        Err(StoreError::VersionConflict)
    );
    assert_eq!(
        block_on(s.delete(&c, "User", &u.id, Some(&v1))),
        Err(StoreError::VersionConflict)
    );
    let gone = block_on(s.delete(&c, "User", &u.id, Some(&r.version))).expect("delete");
    assert_eq!(gone.attributes["userName"], "a2");
    assert_eq!(
        block_on(s.get(&c, "User", &u.id)),
        Err(StoreError::NotFound)
    );
    // The name is free again.
    block_on(s.create(&c, "User", obj(json!({"userName": "A2"})))).expect("free");
}

#[test]
fn uniqueness_per_tenant_and_configurable_group_names() {
    let s = MemoryStore::new();
    let (a, b) = (ctx("a"), ctx("b"));
    block_on(s.create(&a, "User", obj(json!({"userName": "Straße"})))).expect("1");
    assert!(matches!(
        block_on(s.create(&a, "User", obj(json!({"userName": "STRAßE"})))),
        Err(StoreError::Uniqueness { attribute }) if attribute == "userName"
    ));
    block_on(s.create(&b, "User", obj(json!({"userName": "straße"})))).expect("other tenant");
    block_on(s.create(&a, "Group", obj(json!({"displayName": "g"})))).expect("g");
    block_on(s.create(&a, "Group", obj(json!({"displayName": "G"}))))
        .expect("not unique by default");
    let s = MemoryStore::with_settings(MemoryStoreSettings::new().unique_group_display_name(true));
    block_on(s.create(&a, "Group", obj(json!({"displayName": "g"})))).expect("g");
    assert!(matches!(
        block_on(s.create(&a, "Group", obj(json!({"displayName": "G"})))),
        Err(StoreError::Uniqueness { .. })
    ));
}

#[test]
fn lists_filter_sort_and_page() {
    let s = MemoryStore::new();
    let c = ctx("t");
    for (n, ext, active) in [("c", "X1", true), ("a", "x2", false), ("B", "x3", true)] {
        block_on(s.create(
            &c,
            "User",
            obj(json!({"userName": n, "externalId": ext, "active": active})),
        ))
        .expect("c");
    }
    block_on(s.create(&ctx("other"), "User", obj(json!({"userName": "a"})))).expect("o");
    let asc = SortOrder::Ascending;
    assert_eq!(
        list(&s, &c, "User", None, None, asc, 1, 10),
        (3, vec!["c".into(), "a".into(), "B".into()])
    );
    assert_eq!(
        list(&s, &c, "User", None, Some("userName"), asc, 1, 10).1,
        ["a", "B", "c"]
    );
    assert_eq!(
        list(
            &s,
            &c,
            "User",
            None,
            Some("userName"),
            SortOrder::Descending,
            2,
            1
        ),
        (3, vec!["B".into()])
    );
    assert_eq!(
        list(&s, &c, "User", Some(r#"userName eq "A""#), None, asc, 1, 10),
        (1, vec!["a".into()])
    );
    assert_eq!(
        list(
            &s,
            &c,
            "User",
            Some(r#"externalId eq "x1""#),
            None,
            asc,
            1,
            10
        )
        .0,
        0,
        "externalId is caseExact"
    );
    assert_eq!(
        list(
            &s,
            &c,
            "User",
            Some(r#"externalId eq "X1" and active eq false"#),
            None,
            asc,
            1,
            10
        )
        .0,
        0
    );
    assert_eq!(
        list(
            &s,
            &c,
            "User",
            Some("active eq true"),
            Some("userName"),
            asc,
            1,
            10
        )
        .1,
        ["B", "c"]
    );
    assert_eq!(
        list(&s, &c, "User", Some("userName eq nobody"), None, asc, 1, 10),
        (0, vec![])
    );
    assert_eq!(list(&s, &c, "User", None, None, asc, 1, 0), (3, vec![]));
    assert_eq!(
        list(&s, &ctx("empty"), "User", None, None, asc, 1, 10),
        (0, vec![])
    );
    let u = block_on(s.create(&c, "User", obj(json!({"userName": "byid"})))).expect("c");
    let f = format!(r#"id eq "{}""#, u.id);
    assert_eq!(list(&s, &c, "User", Some(&f), None, asc, 1, 10).1, ["byid"]);
    assert_eq!(
        list(&s, &ctx("other"), "User", Some(&f), None, asc, 1, 10).0,
        0
    );
}

#[test]
fn members_hook_and_derived_groups() {
    let s = MemoryStore::new();
    let c = ctx("t");
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
        ])],
        None,
    ))
    .expect("add");
    assert_eq!(done.added, vec![u.id.clone()]);
    assert!(!done.resource.attributes.contains_key("members"));
    assert_ne!(done.resource.version, g.version);
    let got = block_on(s.get(&c, "Group", &g.id)).expect("g");
    assert_eq!(
        got.attributes["members"],
        json!([
            {"value": "ghost"},
            {"value": u.id, "display": "Em", "type": "User", "$ref": format!("/Users/{}", u.id)},
        ])
    );
    let user = block_on(s.get(&c, "User", &u.id)).expect("u");
    assert_eq!(user.attributes["groups"][0]["value"], g.id.as_str());
    // Another tenant's member hook cannot touch the group.
    assert_eq!(
        block_on(s.modify_members(&ctx("x"), "Group", &g.id, &[MemberChange::RemoveAll], None))
            .map(|_| ()),
        Err(StoreError::NotFound)
    );
    // Stale version.
    assert_eq!(
        block_on(s.modify_members(
            &c,
            "Group",
            &g.id,
            &[MemberChange::RemoveAll],
            Some(&g.version)
        ))
        .map(|_| ()),
        Err(StoreError::VersionConflict)
    );
    // No change keeps the version.
    let same = block_on(s.modify_members(
        &c,
        "Group",
        &g.id,
        &[MemberChange::Remove(vec!["nope".into()])],
        None,
    ))
    .expect("noop");
    assert_eq!(same.resource.version, done.resource.version);
    // Replacing the group relinks; deleting the user unlinks.
    let v = block_on(s.get(&c, "Group", &g.id)).expect("g").version;
    block_on(s.replace(
        &c,
        "Group",
        &g.id,
        obj(json!({"displayName": "g", "members": [{"value": u.id}]})),
        &v,
    ))
    .expect("r");
    block_on(s.delete(&c, "User", &u.id, None)).expect("d");
    let got = block_on(s.get(&c, "Group", &g.id)).expect("g");
    assert!(!got.attributes.contains_key("members"));
    // Deleting a group clears derived groups of its members.
    let u2 = block_on(s.create(&c, "User", obj(json!({"userName": "m2"})))).expect("u");
    let g2 = block_on(s.create(
        &c,
        "Group",
        obj(json!({"displayName": "g2", "members": [{"value": u2.id}]})),
    ))
    .expect("g");
    block_on(s.delete(&c, "Group", &g2.id, None)).expect("d");
    let user = block_on(s.get(&c, "User", &u2.id)).expect("u");
    assert!(!user.attributes.contains_key("groups"));
}

#[test]
fn omitting_skips_members() {
    let s = MemoryStore::new();
    let c = ctx("t");
    let g = block_on(s.create(
        &c,
        "Group",
        obj(json!({"displayName": "g", "members": [{"value": "1"}]})),
    ))
    .expect("g");
    let r = block_on(s.get_omitting(&c, "Group", &g.id, &["MEMBERS".to_owned()])).expect("g");
    assert!(!r.attributes.contains_key("members"));
    assert_eq!(r.attributes["displayName"], "g");
}
