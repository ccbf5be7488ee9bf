//! Validation of arbitrary JSON as a User and as a Group, in every mode and with the
//! dialects on and off: never panics; an error is a 400 SCIM error that never quotes the
//! password; what validates serialises, reads as the typed view, and validates again to
//! itself (normalisation is idempotent).
//!
//! An input starting with `{` is the JSON body (the seed corpus); any other input drives a
//! generator of resource objects in the schema's vocabulary.
#![no_main]

mod common;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use scim_core::{
    Dialects, Group, Mode, ResourceSchema, User, ValidateOptions, message, validate_resource,
};
use serde_json::{Map, Value};

/// The password sent at the top level, when it is a string that appears nowhere else in the
/// input (so that an error quoting it could only have taken it from `password`).
fn lone_password(body: &Value, raw: &[u8]) -> Option<String> {
    let pw = body
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("password"))?
        .1
        .as_str()?;
    if pw.len() < 6 {
        return None;
    }
    let text = serde_json::to_string(pw).ok()?;
    let inner = &text[1..text.len() - 1];
    let count = raw
        .windows(inner.len())
        .filter(|w| *w == inner.as_bytes())
        .count();
    (count == 1).then(|| pw.to_owned())
}

fn check(
    schema: &ResourceSchema<'_>,
    existing: &Map<String, Value>,
    body: &Value,
    password: Option<&str>,
) {
    for options in [
        ValidateOptions::new(),
        ValidateOptions::new().dialects(Dialects::strict()),
        ValidateOptions::new().keep_unknown_attributes(true),
    ] {
        for (mode, stored) in [
            (Mode::Create, None),
            (Mode::Replace, Some(existing)),
            (Mode::Patch, Some(existing)),
        ] {
            match validate_resource(schema, body.clone(), mode, stored, &options) {
                Ok(valid) => {
                    let text = serde_json::to_string(&valid).expect("serialises");
                    let back: Value = serde_json::from_str(&text).expect("parses back");
                    if schema.resource_type.name == "User" {
                        if let Err(e) = User::try_from(back.clone()) {
                            panic!("not a User view ({mode:?}): {e}");
                        }
                    } else if let Err(e) = Group::try_from(back.clone()) {
                        panic!("not a Group view ({mode:?}): {e}");
                    }
                    if mode == Mode::Create {
                        // Validated again as it is (not as re-read text: serde_json's
                        // default float parsing may move a number by one unit in the last
                        // place).
                        match validate_resource(
                            schema,
                            Value::Object(valid.clone()),
                            mode,
                            None,
                            &options,
                        ) {
                            Ok(again) => assert_eq!(again, valid, "validation is not idempotent"),
                            Err(e) => panic!("a validated resource does not validate again: {e}"),
                        }
                    }
                }
                Err(e) => {
                    assert!(e.status == 400, "status {} ({e})", e.status);
                    let shown = serde_json::to_value(&e).expect("serialises");
                    assert_eq!(
                        shown["schemas"][0],
                        "urn:ietf:params:scim:api:messages:2.0:Error"
                    );
                    assert!(e.detail.len() < 4096, "detail of {} bytes", e.detail.len());
                    if let Some(pw) = password {
                        assert!(
                            !e.detail.contains(pw),
                            "the password is quoted: {}",
                            e.detail
                        );
                    }
                }
            }
        }
    }
}

const SCHEMAS: &[&[&str]] = &[
    &["urn:ietf:params:scim:schemas:core:2.0:User"],
    &["urn:ietf:params:scim:schemas:core:2.0:Group"],
    &[
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    ],
    &["urn:scim:schemas:core:1.0"],
    &[
        "urn:scim:schemas:core:1.0",
        "urn:ietf:params:scim:schemas:core:2.0:User",
    ],
    &["urn:example:other"],
    &[],
];

/// A resource object: `schemas` from [`SCHEMAS`] (or none), then attributes.
fn generate(u: &mut Unstructured<'_>) -> Result<Value> {
    let mut m = Map::new();
    let i = u.choose_index(SCHEMAS.len() + 1)?;
    if let Some(list) = SCHEMAS.get(i) {
        m.insert("schemas".into(), Value::from(list.to_vec()));
    }
    for _ in 0..u.int_in_range(0..=8)? {
        m.insert(common::gen_name(u)?, common::gen_value(u, 3)?);
    }
    Ok(Value::Object(m))
}

fuzz_target!(|data: &[u8]| {
    let (body, raw) = if data.first() == Some(&b'{') {
        let Ok(body) = message::parse_body(data) else {
            return;
        };
        (body, data.to_vec())
    } else {
        let Ok(body) = generate(&mut Unstructured::new(data)) else {
            return;
        };
        let raw = serde_json::to_vec(&body).expect("serialises");
        (body, raw)
    };
    let password = lone_password(&body, &raw);
    let registry = common::registry();
    let users = registry.resource_type("User").expect("User");
    let groups = registry.resource_type("Group").expect("Group");
    check(&users, common::fixed_user(), &body, password.as_deref());
    check(&groups, common::fixed_group(), &body, password.as_deref());
});
