//! `validate_patched` (only the attributes a PATCH names validated again) gives what
//! `validate_resource` gives for the whole patched resource: the same attributes, or the
//! same error (status, scimType, detail), over a table of stored users and operations,
//! valid and invalid, with the dialects off and on. The stored users are what validation
//! made of a create body, with `id` and a derived `groups` added as a store reads them.

use scim_core::dialects::Dialects;
use scim_core::patch::{PatchOp, PatchOptions, apply_patch_in_place};
use scim_core::validate::{Mode, ValidateOptions, validate_patched, validate_resource};
use scim_core::{Registry, ResourceSchema};
use serde_json::{Map, Value, json};

/// Validates `patched` whole and only in the attributes `touched`, and asserts that the two
/// agree: the same resource, or the same error (status, scimType, detail). `true` when both
/// refused.
fn assert_same(
    schema: &ResourceSchema<'_>,
    patched: Map<String, Value>,
    touched: &[&str],
    validate: &ValidateOptions,
    what: &str,
) -> bool {
    let full = validate_resource(
        schema,
        Value::Object(patched.clone()),
        Mode::Patch,
        None,
        validate,
    );
    let partial = validate_patched(schema, patched, touched, validate);
    match (full, partial) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a, b, "{what}");
            false
        }
        (Err(a), Err(b)) => {
            assert_eq!(
                (a.status, a.scim_type, &a.detail),
                (b.status, b.scim_type, &b.detail),
                "{what}"
            );
            true
        }
        (a, b) => panic!("{what}: full {a:?}, partial {b:?}"),
    }
}

fn stored_users(options: &ValidateOptions) -> Vec<Map<String, Value>> {
    let registry = Registry::core();
    let schema = registry.resource_type("User").expect("User");
    let bodies = [
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "ann", "active": true}),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "Bob", "externalId": "x-1", "displayName": "Bob B",
            "name": {"givenName": "Bob", "familyName": "B"},
            "emails": [{"value": "bob@example.com", "type": "work", "primary": true}],
            "phoneNumbers": [{"value": "+1 555", "type": "mobile"}],
            "active": false, "title": "t", "locale": "en-US",
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "userName": "carol", "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "D", "employeeNumber": "7"},
            "emails": [{"value": "c@example.com"}, {"value": "c2@example.com", "type": "home"}],
        }),
    ];
    bodies
        .into_iter()
        .map(|b| {
            let mut m = validate_resource(&schema, b, Mode::Create, None, options).expect("valid");
            m.insert("id".to_owned(), Value::from("u-1"));
            m.insert(
                "groups".to_owned(),
                json!([{"value": "g-1", "$ref": "../Groups/g-1", "display": "Staff", "type": "direct"}]),
            );
            m
        })
        .collect()
}

fn ops() -> Vec<Value> {
    let r = |path: &str, value: Value| json!([{"op": "replace", "path": path, "value": value}]);
    vec![
        r("active", json!(false)),
        r("active", json!(true)),
        r("active", json!("False")),
        r("active", json!("yes")),
        r("active", json!(1)),
        r("userName", json!("someone")),
        r("USERNAME", json!("Someone")),
        r("userName", json!("")),
        r("userName", json!(5)),
        r("displayName", json!(null)),
        r("displayName", json!(["a", "b"])),
        r("name.givenName", json!("G")),
        r("name.givenName", json!(7)),
        r("name", json!({"givenName": "X", "unknownSub": 1})),
        r("title", json!({"a": 1})),
        r(
            "emails",
            json!([{"value": "e@example.com", "primary": true}, {"value": "f@example.com", "primary": true}]),
        ),
        r("emails", json!([{"value": 5}])),
        r("emails", json!({"value": "single@example.com"})),
        r("emails[type eq \"work\"].value", json!("w@example.com")),
        r("emails[type eq \"work\"].primary", json!("notabool")),
        r("phoneNumbers", json!([{"value": "+2", "type": "WORK"}])),
        r("x509Certificates", json!([{"value": "not base64!"}])),
        r("profileUrl", json!("not a url")),
        r("timezone", json!("Europe/Paris")),
        r("locale", json!(12)),
        r("nickName", json!(["x"])),
        r("id", json!("other")),
        r("groups", json!([])),
        r("meta", json!({})),
        r(
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            json!("E"),
        ),
        r("unknownAttribute", json!("u")),
        json!([{"op": "remove", "path": "userName"}]),
        json!([{"op": "remove", "path": "emails"}]),
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
        json!([{"op": "remove", "path": "name.familyName"}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "n@example.com", "type": "other"}]}]),
        json!([{"op": "add", "value": {"displayName": "D", "nickName": "N"}}]),
        json!([{"op": "add", "value": {"name.givenName": "V", "emails[type eq \"work\"].value": "v@example.com"}}]),
        json!([{"op": "replace", "value": {"active": "True", "title": 3}}]),
        json!([{"op": "replace", "value": {"userName": null}}]),
        json!([{"op": "replace", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Z"}}}]),
        json!([{"op": "replace", "value": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}}]),
        json!([{"op": "Replace", "path": "active", "value": false}, {"op": "add", "path": "title", "value": "T"}]),
        json!([{"op": "replace", "path": "active", "value": false}, {"op": "replace", "path": "locale", "value": []}]),
        json!([{"op": "replace", "path": "emails[type eq \"none\"].value", "value": "x@example.com"}]),
        json!([{"op": "replace", "path": "addresses[type eq \"work\"].streetAddress", "value": "1 Street"}]),
    ]
}

#[test]
fn validate_patched_gives_what_validate_resource_gives() {
    let registry = Registry::core();
    let schema = registry.resource_type("User").expect("User");
    let mut compared = 0;
    let mut errors = 0;
    for dialects in [Dialects::strict(), Dialects::default()] {
        let validate = ValidateOptions::new().dialects(dialects);
        let patch = PatchOptions::new().dialects(dialects);
        for stored in stored_users(&validate) {
            for operations in ops() {
                let op: PatchOp = serde_json::from_value(json!({
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": operations,
                }))
                .expect("PatchOp");
                let mut patched = stored.clone();
                match apply_patch_in_place(&schema, &mut patched, &op, &patch) {
                    Ok(true) => {}
                    _ => continue,
                }
                let names = op.top_level_names();
                let touched = names.as_deref().unwrap_or(&[]);
                let what = format!("{operations} on {stored:?}");
                errors += usize::from(assert_same(&schema, patched, touched, &validate, &what));
                compared += 1;
            }
        }
    }
    // The patch engine checks each value it writes, so these all validate; the errors are
    // compared below.
    assert!(compared > 100, "{compared} compared");
    assert_eq!(errors, 0);
}

/// Members set (or removed) directly, as an engine that checked nothing would leave them:
/// the errors too are the same, in the same order (the first touched member in key order).
#[test]
fn validate_patched_refuses_what_validate_resource_refuses() {
    let registry = Registry::core();
    let schema = registry.resource_type("User").expect("User");
    let sets: Vec<Vec<(&str, Option<Value>)>> = vec![
        vec![("active", Some(json!("yes")))],
        vec![("active", Some(json!("False")))],
        vec![("active", Some(json!(null)))],
        vec![("userName", None)],
        vec![("userName", Some(json!(null)))],
        vec![("userName", Some(json!(5)))],
        vec![("userName", Some(json!("")))],
        vec![("displayName", Some(json!(["a"])))],
        vec![("name", Some(json!({"givenName": 7})))],
        vec![("name", Some(json!({"givenName": "G", "other": 1})))],
        vec![("name", Some(json!({})))],
        vec![("emails", Some(json!([{"value": 5}])))],
        vec![(
            "emails",
            Some(
                json!([{"value": "a@example.com", "primary": true}, {"value": "b@example.com", "primary": true}]),
            ),
        )],
        vec![("emails", Some(json!({"value": "single@example.com"})))],
        vec![("emails", Some(json!([])))],
        vec![(
            "phoneNumbers",
            Some(json!([{"value": "+1", "type": "WORK"}])),
        )],
        vec![("x509Certificates", Some(json!([{"value": "not base64!"}])))],
        vec![("profileUrl", Some(json!("not a url")))],
        vec![("locale", Some(json!(12)))],
        vec![("nickName", Some(json!(["x"])))],
        vec![("title", Some(json!("T")))],
        vec![
            ("emails", Some(json!([{"value": 5}]))),
            ("active", Some(json!("yes"))),
        ],
        vec![("title", Some(json!(1))), ("active", Some(json!("yes")))],
        vec![("active", Some(json!(false))), ("userName", None)],
    ];
    let mut errors = 0;
    for dialects in [Dialects::strict(), Dialects::default()] {
        let validate = ValidateOptions::new().dialects(dialects);
        for stored in stored_users(&validate) {
            for set in &sets {
                let mut patched = stored.clone();
                for (k, v) in set {
                    match v {
                        Some(v) => patched.insert((*k).to_owned(), v.clone()),
                        None => patched.remove(*k),
                    };
                }
                let touched: Vec<&str> = set.iter().map(|(k, _)| *k).collect();
                let what = format!("{set:?} on {stored:?}");
                errors += usize::from(assert_same(&schema, patched, &touched, &validate, &what));
            }
        }
    }
    assert!(errors > 30, "{errors} errors");
}

/// The names it gives, and where it gives none.
#[test]
fn top_level_names_of_paths_and_path_less_values() {
    let names = |operations: Value| {
        let op: PatchOp = serde_json::from_value(json!({"Operations": operations})).expect("op");
        op.top_level_names()
            .map(|v| v.into_iter().map(str::to_owned).collect::<Vec<_>>())
    };
    assert_eq!(
        names(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a"},
            {"op": "replace", "path": "name.givenName", "value": "a"},
            {"op": "add", "value": {"title": "t", "name.familyName": "f"}},
            {"op": "remove", "path": "USERNAME"},
        ])),
        Some(
            vec!["emails", "name", "name", "title", "USERNAME"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        )
    );
    for none in [
        json!([{"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:userName", "value": "a"}]),
        json!([{"op": "add", "value": {"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {}}}]),
        json!([{"op": "replace", "value": "text"}]),
        json!([{"op": "remove"}]),
        json!([{"op": "replace", "path": "", "value": 1}]),
        json!([{"op": "replace", "path": "a b", "value": 1}]),
    ] {
        assert_eq!(names(none.clone()), None, "{none}");
    }
}
