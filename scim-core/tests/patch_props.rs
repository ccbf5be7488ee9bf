//! Property: arbitrary operation lists never panic; they either fail, leaving the input as
//! it was (also in place, through the undo log), or produce a resource that passes
//! validation as a PATCH result, with `changed` true whenever the resource differs and
//! `id` / `meta` untouched.

mod patch_support;

use patch_support::{ACME_USER, acme_registry, assert_valid, object};
use proptest::prelude::*;
use scim_core::patch::{PatchOp, PatchOptions, apply_patch, apply_patch_in_place};
use scim_core::{Dialects, Registry};
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn user() -> Map<String, Value> {
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE, ACME_USER],
        "id": "u1",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [
            {"value": "a@x", "type": "work", "primary": true},
            {"value": "b@x", "type": "home"}
        ],
        "roles": [{"value": "admin"}],
        "groups": [{"value": "g1"}],
        "meta": {"resourceType": "User", "version": "W/\"1\""},
        ENTERPRISE: {"employeeNumber": "1", "manager": {"value": "m1"}},
        ACME_USER: {"badge": "B1", "tags": ["a"], "clearance": {"code": "X"}}
    }))
}

fn group() -> Map<String, Value> {
    object(&json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "urn:example:params:scim:schemas:extension:acme:2.0:Group"],
        "id": "g1",
        "displayName": "G",
        "members": [{"value": "u1", "type": "User"}, {"value": "u2"}],
        "urn:example:params:scim:schemas:extension:acme:2.0:Group": {"site": "HQ"},
        "meta": {"resourceType": "Group"}
    }))
}

const USER_PATHS: &[&str] = &[
    "userName",
    "displayName",
    "nickName",
    "active",
    "name",
    "name.givenName",
    "NAME.familyname",
    "emails",
    "emails.value",
    "emails.primary",
    "emails[type eq \"work\"]",
    "emails[type eq \"work\"].value",
    "emails[type eq \"home\"].primary",
    "emails[type eq \"other\" and primary eq true].value",
    "emails[value co \"@\"]",
    "emails[not (type eq \"work\")].type",
    "roles",
    "roles[value eq \"admin\"]",
    "groups",
    "id",
    "meta",
    "meta.version",
    "externalId",
    "displayname",
    "department",
    "manager",
    "manager.value",
    "title",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:badge",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:tags",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:tags[value eq \"a\"]",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:clearance",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:clearance.code",
    "urn:example:params:scim:schemas:extension:acme:2.0:User:level",
    "urn:example:params:scim:schemas:extension:acme:2.0:User",
    "bogus",
    "emails[",
    "emails[type eq \"work\"]]",
    "",
    "a.b.c",
    "emails[bogus eq 1]",
];

const GROUP_PATHS: &[&str] = &[
    "displayName",
    "members",
    "members.value",
    "members.type",
    "members[value eq \"u1\"]",
    "members[value eq \"u9\"].type",
    "members[value eq \"u2\"].type",
    "members[type pr]",
    "members[value eq \"u1\"].display",
    "externalId",
    "id",
    "meta",
    "urn:example:params:scim:schemas:extension:acme:2.0:Group:site",
    "urn:example:params:scim:schemas:extension:acme:2.0:Group",
    "bogus",
    "members[",
];

fn path(known: &'static [&'static str]) -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        8 => prop::sample::select(known).prop_map(|s| Some(s.to_owned())),
        1 => "[a-zA-Z.:\\[\\] \"]{0,24}".prop_map(Some),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        prop::sample::select(vec![
            "",
            "x",
            "True",
            "false",
            "a@x",
            "u1",
            "{\"value\":\"r\"}",
            "2024-01-01T00:00:00Z"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
        (-3i64..300).prop_map(|n| json!(n)),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let keys = prop::sample::select(vec![
        "value",
        "type",
        "primary",
        "display",
        "givenName",
        "userName",
        "displayName",
        "active",
        "id",
        "name.givenName",
        "members",
        "emails",
        "code",
        "badge",
        "site",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "Bogus",
    ]);
    leaf().prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn operation(paths: &'static [&'static str]) -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            8 => prop::sample::select(vec!["add", "remove", "replace"]),
            1 => prop::sample::select(vec!["Add", "REPLACE", "Remove"]),
        ],
        path(paths),
        prop::option::weighted(0.85, value()),
    )
        .prop_map(|(op, path, value)| {
            let mut o = Map::new();
            o.insert("op".to_owned(), json!(op));
            if let Some(p) = path {
                o.insert("path".to_owned(), json!(p));
            }
            if let Some(v) = value {
                o.insert("value".to_owned(), v);
            }
            Value::Object(o)
        })
}

fn dialects() -> impl Strategy<Value = Dialects> {
    prop_oneof![4 => Just(Dialects::default()), 1 => Just(Dialects::strict())]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_patches_fail_cleanly_or_validate(
        (on_group, ops) in any::<bool>().prop_flat_map(|g| {
            let paths = if g { GROUP_PATHS } else { USER_PATHS };
            (Just(g), prop::collection::vec(operation(paths), 1..4))
        }),
        d in dialects(),
    ) {
        let registry: Registry = acme_registry();
        let (schema, before) = if on_group {
            (registry.resource_type("Group").expect("Group"), group())
        } else {
            (registry.resource_type("User").expect("User"), user())
        };
        let patch: PatchOp = serde_json::from_value(json!({"Operations": ops}))
            .expect("every generated op reads");
        let pristine = before.clone();
        let options = PatchOptions::default().dialects(d);
        let copied = apply_patch(&schema, &before, &patch, &options);
        // In place: the same outcome, and on error the resource exactly as it was (the undo
        // log puts back whatever the operations before the failing one did).
        let mut in_place = before.clone();
        let changed_in_place = apply_patch_in_place(&schema, &mut in_place, &patch, &options);
        match (&copied, &changed_in_place) {
            (Ok(out), Ok(changed)) => {
                prop_assert_eq!(&out.resource, &in_place);
                prop_assert_eq!(out.changed, *changed);
            }
            (Err(a), Err(b)) => {
                prop_assert_eq!(a, b);
                prop_assert_eq!(&in_place, &pristine);
            }
            _ => prop_assert!(false, "apply_patch and apply_patch_in_place disagree"),
        }
        match copied {
            Err(e) => {
                prop_assert_eq!(&before, &pristine);
                prop_assert!(e.status == 400, "{}", e);
                prop_assert!(e.scim_type.is_some());
            }
            Ok(out) => {
                // A change is always reported; operations that cancel out on a multi-valued
                // attribute may report one that is none.
                prop_assert!(out.changed || out.resource == before);
                prop_assert_eq!(out.resource.get("id"), before.get("id"));
                prop_assert_eq!(out.resource.get("meta"), before.get("meta"));
                assert_valid(&schema, &before, &out.resource, "generated patch");
                // Nothing unassigned is stored.
                for (k, v) in &out.resource {
                    prop_assert!(!v.is_null() && v != &json!([]) && v != &json!({}), "{} is {}", k, v);
                }
            }
        }
    }
}
