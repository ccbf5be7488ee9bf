//! Instruction-count probe of the PATCH cases of `benches/peers` (ours only), for callgrind:
//!
//! ```sh
//! cargo build --release -p scim-benches --example probe_patch
//! valgrind --tool=callgrind --toggle-collect='probe_patch::run_*' \
//!     target/release/examples/probe_patch
//! ```
//!
//! The resources are those of `benches/peers/src/lib.rs` (a user; a group of 20 members).
//! Each `run_<case>` applies its PatchOp to `ITERATIONS` fresh copies made beforehand (the
//! copies and their drops are outside the function); divide callgrind's inclusive counts
//! by `ITERATIONS`.

use scim_core::{PatchOp, PatchOptions, Registry, ResourceSchema, apply_patch_in_place};
use serde_json::{Map, Value, json};

const ITERATIONS: usize = 10_000;

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "bjensen@example.com",
        "name": {"givenName": "Barbara", "familyName": "Jensen", "formatted": "Barbara Jensen"},
        "displayName": "Babs Jensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "title": "Tour Guide",
        "active": true,
        "meta": {
            "resourceType": "User",
            "created": "2024-01-23T04:56:22Z",
            "lastModified": "2024-05-13T04:42:34Z"
        }
    })
}

fn group(members: usize) -> Value {
    let members: Vec<Value> = (0..members)
        .map(|i| {
            json!({
                "value": format!("00000000-0000-4000-8000-{i:012x}"),
                "display": format!("user{i}@example.com"),
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "e9e30dba-f08f-4109-8486-d5c6a331660a",
        "displayName": "Engineering",
        "members": members,
        "meta": {"resourceType": "Group"}
    })
}

fn op(operations: Value) -> PatchOp {
    serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": operations,
    }))
    .expect("a PatchOp")
}

fn copies(resource: &Value) -> Vec<Map<String, Value>> {
    let map = resource.as_object().cloned().expect("an object");
    vec![map; ITERATIONS]
}

fn run(
    schema: &ResourceSchema<'_>,
    resources: &mut [Map<String, Value>],
    patch: &PatchOp,
) -> usize {
    let options = PatchOptions::default();
    resources
        .iter_mut()
        .map(|r| usize::from(apply_patch_in_place(schema, r, patch, &options) == Ok(true)))
        .sum()
}

#[inline(never)]
fn run_replace_active(s: &ResourceSchema<'_>, r: &mut [Map<String, Value>], p: &PatchOp) -> usize {
    // A distinct body, so that the linker does not fold the three functions into one.
    run(s, r, p) ^ std::hint::black_box(1) ^ 1
}

#[inline(never)]
fn run_add_member(s: &ResourceSchema<'_>, r: &mut [Map<String, Value>], p: &PatchOp) -> usize {
    // A distinct body, so that the linker does not fold the three functions into one.
    run(s, r, p) ^ std::hint::black_box(2) ^ 2
}

#[inline(never)]
fn run_replace_two(s: &ResourceSchema<'_>, r: &mut [Map<String, Value>], p: &PatchOp) -> usize {
    // A distinct body, so that the linker does not fold the three functions into one.
    run(s, r, p) ^ std::hint::black_box(3) ^ 3
}

fn main() {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let groups = registry.resource_type("Group").expect("Group");

    let patch = op(json!([{"op": "Replace", "path": "active", "value": false}]));
    let mut resources = copies(&user());
    assert_eq!(
        run_replace_active(&users, &mut resources, &patch),
        ITERATIONS
    );
    assert_eq!(resources[0]["active"], json!(false));
    drop(resources);

    let member = json!({"value": "2900df44-a197-4ca6-bad2-3c1b5641ac8e", "display": "ABaker@Gradle.Example"});
    let patch = op(json!([{"op": "add", "path": "members", "value": [member]}]));
    let mut resources = copies(&group(20));
    assert_eq!(run_add_member(&groups, &mut resources, &patch), ITERATIONS);
    assert_eq!(resources[0]["members"].as_array().map(Vec::len), Some(21));
    drop(resources);

    let patch = op(json!([
        {"op": "replace", "path": "name.givenName", "value": "Babs"},
        {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "babs.jensen@example.com"}
    ]));
    let mut resources = copies(&user());
    assert_eq!(run_replace_two(&users, &mut resources, &patch), ITERATIONS);
    assert_eq!(resources[0]["name"]["givenName"], json!("Babs"));
}
