//! Criterion benchmarks of the scim-core PATCH engine on three typical identity-provider
//! operations:
//!
//! 1. Entra `{"op":"Replace","path":"active","value":"False"}` on a full User;
//! 2. Okta add of one member to a Group of 1,000 members;
//! 3. Entra `emails[type eq "work"].value` replace plus a no-path replace whose keys are
//!    paths (`name.givenName`, the enterprise `employeeNumber` URN).
//!
//! Each case is measured twice: `apply_patch` (the input is borrowed; the outcome is a new
//! resource, so the whole resource is copied inside the measurement) and
//! `apply_patch_in_place` (the resource is the caller's; a fresh copy is made outside the
//! measurement by `iter_batched`, as the peer comparison in `benches/peers` does). Nothing is
//! deserialised inside the loop: the PatchOp is parsed once.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use scim_core::patch::{PatchOp, PatchOptions, apply_patch, apply_patch_in_place};
use scim_core::{Registry, ResourceSchema};
use serde_json::{Map, Value, json};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn full_user() -> Map<String, Value> {
    let v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "externalId": "701984",
        "userName": "bjensen@example.com",
        "name": {
            "formatted": "Ms. Barbara J Jensen, III",
            "familyName": "Jensen",
            "givenName": "Barbara",
            "middleName": "Jane",
            "honorificPrefix": "Ms.",
            "honorificSuffix": "III"
        },
        "displayName": "Babs Jensen",
        "nickName": "Babs",
        "profileUrl": "https://login.example.com/bjensen",
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        "addresses": [
            {"type": "work", "streetAddress": "100 Universal City Plaza", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA",
             "formatted": "100 Universal City Plaza\nHollywood, CA 91608 USA", "primary": true},
            {"type": "home", "streetAddress": "456 Hollywood Blvd", "locality": "Hollywood",
             "region": "CA", "postalCode": "91608", "country": "USA",
             "formatted": "456 Hollywood Blvd\nHollywood, CA 91608 USA"}
        ],
        "phoneNumbers": [
            {"value": "555-555-5555", "type": "work"},
            {"value": "555-555-4444", "type": "mobile"}
        ],
        "ims": [{"value": "someaimhandle", "type": "aim"}],
        "photos": [{"value": "https://photos.example.com/profilephoto/72930000000Ccne/F", "type": "photo"}],
        "userType": "Employee",
        "title": "Tour Guide",
        "preferredLanguage": "en-US",
        "locale": "en-US",
        "timezone": "America/Los_Angeles",
        "active": true,
        "groups": [
            {"value": "e9e30dba-f08f-4109-8486-d5c6a331660a", "display": "Tour Guides"},
            {"value": "fc348aa8-3835-40eb-a20b-c726e15c55b5", "display": "Employees"}
        ],
        "x509Certificates": [{"value": "MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx"}],
        "meta": {
            "resourceType": "User",
            "created": "2010-01-23T04:56:22Z",
            "lastModified": "2011-05-13T04:42:34Z",
            "version": "W/\"3694e05e9dff591\"",
            "location": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646"
        },
        ENTERPRISE: {
            "employeeNumber": "701984",
            "costCenter": "4130",
            "organization": "Universal Studios",
            "division": "Theme Park",
            "department": "Tour Operations",
            "manager": {"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"}
        }
    });
    v.as_object().cloned().expect("object")
}

fn big_group(n: usize) -> Map<String, Value> {
    let members: Vec<Value> = (0..n)
        .map(|i| {
            json!({
                "value": format!("{i:08x}-7f76-453a-919d-413861904646"),
                "display": format!("user{i}@example.com"),
                "type": "User"
            })
        })
        .collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "abf4dd94-a4c0-4f67-89c9-76b03340cb9b",
        "displayName": "Everyone",
        "members": members,
        "meta": {"resourceType": "Group", "version": "W/\"1\""}
    })
    .as_object()
    .cloned()
    .expect("object")
}

fn patch(body: Value) -> PatchOp {
    serde_json::from_value(body).expect("PatchOp")
}

fn bench_case(
    c: &mut Criterion,
    name: &str,
    schema: &ResourceSchema<'_>,
    resource: &Map<String, Value>,
    patch: &PatchOp,
) {
    let options = PatchOptions::default();
    let mut check = resource.clone();
    assert!(apply_patch_in_place(schema, &mut check, patch, &options).expect("applies"));
    c.bench_function(&format!("patch/{name}/copy"), |b| {
        b.iter(|| apply_patch(schema, black_box(resource), black_box(patch), &options))
    });
    c.bench_function(&format!("patch/{name}/in_place"), |b| {
        b.iter_batched(
            || resource.clone(),
            |mut r| {
                let changed =
                    apply_patch_in_place(schema, black_box(&mut r), black_box(patch), &options);
                (r, changed)
            },
            BatchSize::SmallInput,
        )
    });
}

fn bench_patch(c: &mut Criterion) {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let groups = registry.resource_type("Group").expect("Group");
    let user = full_user();
    let group = big_group(1000);

    let deactivate = patch(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]
    }));
    bench_case(c, "entra_replace_active_false", &users, &user, &deactivate);

    let add_member = patch(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members",
            "value": [{"value": "2900df44-a197-4ca6-bad2-3c1b5641ac8e", "display": "ABaker@Gradle.Example"}]}]
    }));
    bench_case(
        c,
        "okta_add_member_group_1000",
        &groups,
        &group,
        &add_member,
    );

    let entra_multi = patch(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "TestMhvaes@test.microsoft.com"},
            {"op": "replace", "value": {
                "displayName": "Bjfe",
                "name.givenName": "Kkom",
                "name.familyName": "Unua",
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "Aklq"
            }}
        ]
    }));
    bench_case(
        c,
        "entra_value_path_and_path_keys",
        &users,
        &user,
        &entra_multi,
    );
}

criterion_group!(benches, bench_patch);
criterion_main!(benches);
