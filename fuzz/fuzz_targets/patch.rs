//! PATCH on a fixed User and a fixed Group: never panics; an error leaves the resource as it
//! was (atomicity, in place and on a copy); a success still validates, serialises and reads
//! as the typed view; both entry points agree.
//!
//! An input starting with `{` is a PatchOp in JSON (the seed corpus); any other input drives
//! a generator of operations in the schema's vocabulary (paths, value paths, URNs, values).
#![no_main]

mod common;

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use scim_core::patch::{PatchOp, PatchOptions, apply_patch, apply_patch_in_place};
use scim_core::{Dialects, Group, Mode, ResourceSchema, User, ValidateOptions, validate_resource};
use serde_json::{Map, Value, json};

const OPS: &[&str] = &[
    "add", "remove", "replace", "Add", "Remove", "Replace", "REPLACE", "delete",
];

/// A PatchOp body built from the fuzzer's bytes, and the dialects to apply it with.
fn generate(u: &mut Unstructured<'_>) -> Result<(Value, Dialects, bool)> {
    let mut dialects = Dialects::default();
    let bits: u16 = u.arbitrary()?;
    if bits & 1 != 0 {
        dialects = Dialects::strict();
    }
    dialects.empty_operations_noop = bits & 2 != 0;
    dialects.remove_listed_values ^= bits & 4 != 0;
    dialects.create_on_unmatched_value_path ^= bits & 8 != 0;
    dialects.value_keys_as_paths ^= bits & 16 != 0;
    let keep_unknown = bits & 32 != 0;
    let n = u.int_in_range(0..=5)?;
    let mut ops = Vec::with_capacity(n);
    for _ in 0..n {
        let mut op = Map::new();
        op.insert("op".into(), Value::from(*u.choose(OPS)?));
        if u.ratio(4, 5)? {
            op.insert("path".into(), Value::String(common::gen_path(u)?));
        }
        if u.ratio(4, 5)? {
            op.insert("value".into(), common::gen_value(u, 3)?);
        }
        ops.push(Value::Object(op));
    }
    Ok((
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        dialects,
        keep_unknown,
    ))
}

fn check(
    schema: &ResourceSchema<'_>,
    resource: &Map<String, Value>,
    patch: &PatchOp,
    dialects: Dialects,
    keep_unknown: bool,
) {
    let options = PatchOptions::new()
        .dialects(dialects)
        .keep_unknown_attributes(keep_unknown);
    let copied = apply_patch(schema, resource, patch, &options);
    let mut in_place = resource.clone();
    let result = apply_patch_in_place(schema, &mut in_place, patch, &options);
    match (&copied, &result) {
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "both entry points fail the same way");
            assert_eq!(
                &in_place, resource,
                "a failed PATCH changed the resource: {a}"
            );
            assert!(a.status == 400 || a.status == 409, "status {}", a.status);
            let body = serde_json::to_value(a).expect("the error serialises");
            assert_eq!(
                body["schemas"][0],
                "urn:ietf:params:scim:api:messages:2.0:Error"
            );
        }
        (Ok(outcome), Ok(changed)) => {
            assert_eq!(
                outcome.resource, in_place,
                "both entry points give the same resource"
            );
            assert!(!outcome.changed || *changed, "in place missed a change");
            if !outcome.changed {
                assert_eq!(
                    &outcome.resource, resource,
                    "an unchanged PATCH changed the resource"
                );
            }
            assert_eq!(
                outcome.resource.get("id"),
                resource.get("id"),
                "the id changed"
            );
            let validate = ValidateOptions::new()
                .dialects(dialects)
                .keep_unknown_attributes(keep_unknown);
            let validated = validate_resource(
                schema,
                Value::Object(outcome.resource.clone()),
                Mode::Patch,
                Some(resource),
                &validate,
            );
            let validated = match validated {
                Ok(v) => v,
                Err(e) => panic!("a successful PATCH does not validate: {e}"),
            };
            let text = serde_json::to_string(&validated).expect("serialises");
            let back: Value = serde_json::from_str(&text).expect("parses back");
            if schema.resource_type.name == "User" {
                if let Err(e) = User::try_from(back) {
                    panic!("not a User view: {e}");
                }
            } else if let Err(e) = Group::try_from(back) {
                panic!("not a Group view: {e}");
            }
        }
        _ => panic!(
            "the entry points disagree: copy {:?}, in place {:?}",
            copied.as_ref().map(|o| o.changed),
            result
        ),
    }
}

fuzz_target!(|data: &[u8]| {
    let registry = common::registry();
    let users = registry.resource_type("User").expect("User");
    let groups = registry.resource_type("Group").expect("Group");
    let (body, dialects, keep_unknown) = if data.first() == Some(&b'{') {
        let Ok(body) = serde_json::from_slice::<Value>(data) else {
            return;
        };
        (body, Dialects::default(), false)
    } else {
        let mut u = Unstructured::new(data);
        match generate(&mut u) {
            Ok(g) => g,
            Err(_) => return,
        }
    };
    let Ok(patch) = serde_json::from_value::<PatchOp>(body) else {
        return;
    };
    check(&users, common::fixed_user(), &patch, dialects, keep_unknown);
    check(
        &groups,
        common::fixed_group(),
        &patch,
        dialects,
        keep_unknown,
    );
});
