//! Property tests: validation never panics and is idempotent; typed views round-trip;
//! projection keeps `always` and never shows `never`.

use proptest::prelude::*;
use scim_core::project::Projection;
use scim_core::resource::User;
use scim_core::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use scim_core::validate::{Mode, ValidateOptions, normalize_value, validate_resource};
use scim_core::{Dialects, Registry};
use serde_json::{Map, Value, json};

const NAMES: &[&str] = &[
    "schemas",
    "id",
    "userName",
    "UserName",
    "name",
    "givenName",
    "familyName",
    "emails",
    "value",
    "Value",
    "type",
    "primary",
    "active",
    "meta",
    "groups",
    "roles",
    "display",
    "manager",
    "department",
    "x509Certificates",
    "password",
    "addresses",
    "bogus",
    ENTERPRISE_USER_SCHEMA,
    USER_SCHEMA,
    "urn:scim:schemas:core:1.0",
    "ab€",
    "é",
    "urn€",
];

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(NAMES).prop_map(|s| Value::String(s.to_owned())),
        "[a-zA-Z0-9 @.:+/=-]{0,12}".prop_map(Value::String),
        Just(json!("True")),
        Just(json!("2008-01-23T04:56:22Z")),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(NAMES), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    })
}

/// A resource-ish body: an object with `schemas` most of the time.
fn body() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec((prop::sample::select(NAMES), json_value()), 0..8),
        prop::option::of(prop::sample::select(
            &[USER_SCHEMA, "urn:scim:schemas:core:1.0"][..],
        )),
    )
        .prop_map(|(kv, core)| {
            let mut m: Map<String, Value> =
                kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            if let Some(core) = core {
                m.insert("schemas".into(), json!([core]));
                m.insert("userName".into(), json!("u"));
            }
            Value::Object(m)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validation_never_panics_and_is_idempotent(b in body(), arbitrary in json_value()) {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let opts = ValidateOptions::default();
        let _ = validate_resource(&users, arbitrary, Mode::Create, None, &opts);
        for mode in [Mode::Create, Mode::Replace, Mode::Patch] {
            let existing = json!({"schemas": [USER_SCHEMA], "id": "1", "userName": "x"});
            let ex = existing.as_object();
            if let Ok(out) = validate_resource(&users, b.clone(), mode, ex, &opts) {
                // A normalised resource is a fixed point.
                let again = validate_resource(&users, Value::Object(out.clone()), Mode::Patch, ex, &opts)
                    .expect("a normalised resource validates");
                prop_assert_eq!(&again, &out);
                // Absent, null and [] are one state: none is stored.
                let text = Value::Object(out).to_string();
                prop_assert!(!text.contains("null") && !text.contains("[]") && !text.contains("{}"), "{}", text);
            }
        }
    }

    #[test]
    fn normalize_is_idempotent(v in json_value(), which in prop::sample::select(&["emails", "name", "active", "manager", "roles", "x509Certificates", "userName"][..])) {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let def = users.resolve_parts(None, which, None).expect("attr").attr.expect("def");
        let d = Dialects::default();
        if let Ok(once) = normalize_value(def, v, &d, which) {
            let twice = normalize_value(def, once.clone(), &d, which).expect("normalised value is valid");
            prop_assert_eq!(twice, once);
        }
    }

    #[test]
    fn typed_user_round_trips(b in body()) {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        // Any valid stored user converts to the typed view and back unchanged.
        if let Ok(out) = validate_resource(&users, b, Mode::Create, None, &ValidateOptions::default()) {
            let v = Value::Object(out);
            let user = User::try_from(v.clone()).expect("typed view of a valid user");
            prop_assert_eq!(Value::from(user), v);
        }
    }

    #[test]
    fn projection_returned_rules(
        attrs in prop::option::of(prop::collection::vec(prop::sample::select(NAMES), 0..4)),
        excluded in prop::option::of(prop::collection::vec(prop::sample::select(NAMES), 0..4)),
    ) {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let stored = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA], "id": "1", "userName": "u",
            "password": "secret", "emails": [{"value": "a@b", "primary": true}],
            ENTERPRISE_USER_SCHEMA: {"department": "d"},
        });
        let a = attrs.map(|v| v.join(","));
        let e = excluded.map(|v| v.join(","));
        let p = match Projection::parse(a.as_deref(), e.as_deref(), &users) {
            Ok(p) => p,
            Err(err) => {
                // Only names outside the attribute-name grammar are refused.
                let all = format!("{}{}", a.unwrap_or_default(), e.unwrap_or_default());
                prop_assert!(!all.is_ascii(), "{}: {}", all, err);
                return Ok(());
            }
        };
        let shown = p.apply(stored.as_object().expect("object"));
        prop_assert_eq!(shown.get("id"), Some(&json!("1")));
        prop_assert!(shown.get("schemas").is_some());
        prop_assert!(shown.get("password").is_none());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_input_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256), text in "\\PC{0,64}") {
        let _ = scim_core::message::parse_body(&bytes);
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let _ = Projection::parse(Some(&text), Some(&text), &users);
        let _ = scim_core::validate::is_xsd_date_time(&text);
        let _ = scim_core::validate::is_base64(&text);
        let _ = scim_core::message::SearchRequest::from_json(json!({"attributes": text, "sortOrder": text}));
    }
}
