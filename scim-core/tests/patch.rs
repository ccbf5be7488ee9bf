//! Black-box tests of the PATCH engine: limits, atomicity, the `changed` flag, the message
//! form, large multi-valued attributes and filter characteristics.

mod patch_support;

use patch_support::{assert_valid, object};
use scim_core::patch::{PatchOp, PatchOpKind, PatchOperation, PatchOptions, apply_patch};
use scim_core::{AttrType, AttributeDef, Registry, Schema, ScimType};
use serde_json::{Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> serde_json::Map<String, Value> {
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "u1",
        "userName": "bjensen",
        "displayName": "Babs",
        "emails": [{"value": "a@x", "type": "work"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""}
    }))
}

fn group(n: usize) -> serde_json::Map<String, Value> {
    let members: Vec<Value> = (0..n).map(|i| json!({"value": format!("m{i}")})).collect();
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Big",
        "members": members
    }))
}

#[test]
fn a_hundred_thousand_operations_are_refused_up_front() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let ops = vec![PatchOperation::remove("displayName"); 100_000];
    let e = apply_patch(
        &users,
        &user(),
        &PatchOp::new(ops),
        &PatchOptions::default(),
    )
    .expect_err("too many");
    assert_eq!(e.status, 400);
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(
        e.detail.contains("100000") && e.detail.contains("1000"),
        "{}",
        e.detail
    );
}

#[test]
fn the_operation_limit_is_configurable() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let ops: Vec<_> = (0..3000)
        .map(|i| PatchOperation::replace("displayName", json!(format!("n{i}"))))
        .collect();
    let patch = PatchOp::new(ops);
    assert!(apply_patch(&users, &user(), &patch, &PatchOptions::default()).is_err());
    let out = apply_patch(
        &users,
        &user(),
        &patch,
        &PatchOptions::default().max_operations(5000),
    )
    .expect("within the raised limit");
    assert_eq!(out.resource["displayName"], "n2999");
}

#[test]
fn a_failing_operation_applies_nothing_and_is_named() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let before = user();
    let patch = PatchOp::new(vec![
        PatchOperation::replace("displayName", json!("changed")),
        PatchOperation::add(format!("{ENTERPRISE}:employeeNumber"), json!("7")),
        PatchOperation::replace("emails[type eq \"work\"].value", json!(42)),
    ]);
    let e = apply_patch(&users, &before, &patch, &PatchOptions::default()).expect_err("type");
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(e.detail.starts_with("Operations[2]: "), "{}", e.detail);
    assert_eq!(before, user());
}

#[test]
fn changed_is_false_exactly_when_nothing_changed() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let before = user();
    let same = PatchOp::new(vec![
        PatchOperation::replace("displayName", json!("Babs")),
        PatchOperation::add("emails", json!([{"value": "A@X", "type": "work"}])),
        PatchOperation::remove("nickName"),
        PatchOperation::remove("emails[type eq \"home\"]"),
    ]);
    let out = apply_patch(&users, &before, &same, &PatchOptions::default()).expect("no-op");
    assert!(!out.changed);
    assert_eq!(out.resource, before);
    let different = PatchOp::new(vec![PatchOperation::replace("displayName", json!("B"))]);
    let out = apply_patch(&users, &before, &different, &PatchOptions::default()).expect("op");
    assert!(out.changed);
    assert_eq!(
        out.resource["meta"], before["meta"],
        "meta is the service's"
    );
}

#[test]
fn schemas_follow_the_extension() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let add = PatchOp::new(vec![PatchOperation::add(
        format!("{ENTERPRISE}:department"),
        json!("R&D"),
    )]);
    let out = apply_patch(&users, &user(), &add, &PatchOptions::default()).expect("add");
    assert_eq!(
        out.resource["schemas"],
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE])
    );
    let remove = PatchOp::new(vec![PatchOperation::remove("department")]);
    let back = apply_patch(&users, &out.resource, &remove, &PatchOptions::default()).expect("rm");
    assert_eq!(back.resource, user());
    assert!(back.changed);
}

#[test]
fn large_groups_add_and_remove_by_value() {
    let reg = Registry::core();
    let groups = reg.resource_type("Group").expect("Group");
    let before = group(1000);
    // Ten already there, ten new, one new listed twice.
    let mut add: Vec<Value> = (995..1005)
        .map(|i| json!({"value": format!("m{i}")}))
        .collect();
    add.push(json!({"value": "m1004"}));
    let patch = PatchOp::new(vec![PatchOperation::add("members", Value::Array(add))]);
    let out = apply_patch(&groups, &before, &patch, &PatchOptions::default()).expect("add");
    let members = out.resource["members"].as_array().expect("members");
    assert_eq!(members.len(), 1005);
    assert_eq!(members[1004], json!({"value": "m1004"}));
    let listed: Vec<Value> = (0..20)
        .map(|i| json!({"value": format!("m{}", i * 2)}))
        .collect();
    let patch = PatchOp::new(vec![PatchOperation::new(
        PatchOpKind::Remove,
        Some("members".into()),
        Some(Value::Array(listed)),
    )]);
    let out = apply_patch(&groups, &out.resource, &patch, &PatchOptions::default()).expect("rm");
    let members = out.resource["members"].as_array().expect("members");
    assert_eq!(members.len(), 985);
    assert_eq!(members[0], json!({"value": "m1"}));
    assert!(!members.contains(&json!({"value": "m38"})));
    assert!(members.contains(&json!({"value": "m40"})));
    assert_valid(&groups, &before, &out.resource, "large group");
}

#[test]
fn filters_follow_case_exact() {
    let mut reg = Registry::core();
    let urn = "urn:example:params:scim:schemas:extension:codes:2.0:User";
    reg.add_schema(Schema {
        id: urn.to_owned(),
        name: "Codes".to_owned(),
        description: String::new(),
        attributes: vec![
            AttributeDef::new("codes", AttrType::Complex)
                .multi_valued()
                .sub_attributes(vec![
                    AttributeDef::new("value", AttrType::String).case_exact(),
                    AttributeDef::new("note", AttrType::String),
                ]),
        ],
    })
    .expect("schema");
    reg.add_extension("User", urn, false).expect("extension");
    let users = reg.resource_type("User").expect("User");
    let mut before = user();
    before.insert(urn.to_owned(), json!({"codes": [{"value": "abc"}]}));
    before.insert(
        "schemas".to_owned(),
        json!(["urn:ietf:params:scim:schemas:core:2.0:User", urn]),
    );
    let upper = PatchOp::new(vec![PatchOperation::remove("codes[value eq \"ABC\"]")]);
    let out = apply_patch(&users, &before, &upper, &PatchOptions::default()).expect("upper");
    assert!(!out.changed, "caseExact: ABC does not match abc");
    let lower = PatchOp::new(vec![PatchOperation::replace(
        "codes[value eq \"abc\"].note",
        json!("n"),
    )]);
    let out = apply_patch(&users, &before, &lower, &PatchOptions::default()).expect("lower");
    assert_eq!(
        out.resource[urn],
        json!({"codes": [{"value": "abc", "note": "n"}]})
    );
}

#[test]
fn the_message_reads_what_identity_providers_send() {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Add", "path": "members", "value": [{"value": "x", "$ref": null}]},
            {"op": "replace", "value": {"active": "False"}}
        ]
    });
    let patch: PatchOp = serde_json::from_value(body).expect("PatchOp");
    assert_eq!(patch.operations[0].op, PatchOpKind::Add);
    assert!(!patch.operations[0].op_is_lower_case());
    assert!(patch.operations[1].op_is_lower_case());
    assert_eq!(patch.operations[1].path, None);
    let written = serde_json::to_value(&patch).expect("json");
    assert_eq!(written["Operations"][0]["op"], "add");
    assert!(written["Operations"][1].get("path").is_none());
}

#[test]
fn keep_unknown_attributes_keeps_no_path_keys() {
    let reg = Registry::core();
    let users = reg.resource_type("User").expect("User");
    let patch = PatchOp::new(vec![PatchOperation::new(
        PatchOpKind::Add,
        None,
        Some(json!({"x-custom": 1, "nickName": "n"})),
    )]);
    let dropped = apply_patch(&users, &user(), &patch, &PatchOptions::default()).expect("drop");
    assert!(dropped.resource.get("x-custom").is_none());
    let kept = apply_patch(
        &users,
        &user(),
        &patch,
        &PatchOptions::default().keep_unknown_attributes(true),
    )
    .expect("keep");
    assert_eq!(kept.resource["x-custom"], 1);
    assert_eq!(kept.resource["nickName"], "n");
}

#[test]
fn in_place_rollback_restores_everything() {
    use scim_core::patch::apply_patch_in_place;
    let reg = Registry::core();
    let groups = reg.resource_type("Group").expect("Group");
    let users = reg.resource_type("User").expect("User");
    let before = group(50);
    let mut g = before.clone();
    let patch = PatchOp::new(vec![
        PatchOperation::add("members", json!([{"value": "new1"}, {"value": "m3"}])),
        PatchOperation::remove("members[value eq \"m0\" or value eq \"m49\"]"),
        PatchOperation::new(
            PatchOpKind::Remove,
            Some("members".into()),
            Some(json!([{"value": "m7"}, {"value": "new1"}])),
        ),
        PatchOperation::add("members", json!({"value": "new2"})),
        PatchOperation::replace("displayName", json!("Renamed")),
        PatchOperation::remove("displayName"),
    ]);
    let e = apply_patch_in_place(&groups, &mut g, &patch, &PatchOptions::default())
        .expect_err("displayName is required");
    assert_eq!(e.scim_type, Some(ScimType::Mutability));
    assert_eq!(g, before);
    // The same operations without the last one apply.
    let ok = PatchOp::new(patch.operations[..5].to_vec());
    assert!(apply_patch_in_place(&groups, &mut g, &ok, &PatchOptions::default()).expect("ok"));
    let ids: Vec<&str> = g["members"]
        .as_array()
        .expect("members")
        .iter()
        .filter_map(|m| m["value"].as_str())
        .collect();
    assert_eq!(ids.len(), 48);
    assert_eq!(ids[0], "m1");
    assert_eq!(&ids[46..], ["m48", "new2"]);
    assert!(!ids.contains(&"m7") && !ids.contains(&"new1"));

    // A cleared primary comes back, and an emptied attribute too.
    let mut u = user();
    u.insert("emails".into(), json!([{"value": "a@x", "primary": true}]));
    let before = u.clone();
    let patch = PatchOp::new(vec![
        PatchOperation::add("emails", json!([{"value": "b@x", "primary": true}])),
        PatchOperation::remove("emails[value eq \"a@x\"]"),
        PatchOperation::remove("emails[value eq \"b@x\"]"),
        PatchOperation::replace("userName", json!(7)),
    ]);
    assert!(apply_patch_in_place(&users, &mut u, &patch, &PatchOptions::default()).is_err());
    assert_eq!(u, before);
}

/// Found by the `patch` fuzz target: kept unknown keys that differ only in case
/// (`UserName`, then `userName`, on a Group) were saved once but written twice, so a
/// rollback left the second one behind.
#[test]
fn in_place_rollback_takes_back_unknown_keys_of_every_case() {
    use scim_core::patch::apply_patch_in_place;
    let reg = Registry::core();
    let groups = reg.resource_type("Group").expect("Group");
    let keep = PatchOptions::default().keep_unknown_attributes(true);
    let mut before = group(2);
    before.insert("X-Tag".into(), json!("stored"));
    let patch = PatchOp::new(vec![
        PatchOperation::new(
            PatchOpKind::Add,
            None,
            Some(json!({"UserName": 1, "userName": {"a": 2}, "x-tag": 3, "X-TAG": 4})),
        ),
        PatchOperation::new(PatchOpKind::Add, None, Some(json!({"X-tag": 5}))),
        PatchOperation::remove("displayName"),
    ]);
    for options in [keep, PatchOptions::default()] {
        let mut g = before.clone();
        let e = apply_patch_in_place(&groups, &mut g, &patch, &options)
            .expect_err("displayName is required");
        assert_eq!(e.scim_type, Some(ScimType::Mutability));
        assert_eq!(g, before);
    }
    // Without the failing operation, the keys are kept and the change is reported.
    let ok = PatchOp::new(patch.operations[..1].to_vec());
    let mut g = before.clone();
    assert!(apply_patch_in_place(&groups, &mut g, &ok, &keep).expect("ok"));
    let outcome = apply_patch(&groups, &before, &ok, &keep).expect("ok");
    assert!(outcome.changed);
    assert_eq!(outcome.resource, g);
}
