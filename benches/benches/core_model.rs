//! Criterion benchmarks of the scim-core model: a User's JSON to the typed view and back,
//! validation of a POST body, and projection of a stored resource.
#![allow(missing_docs)] // criterion_group! generates undocumented public items.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use scim_core::Registry;
use scim_core::project::Projection;
use scim_core::resource::User;
use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use serde_json::Value;

/// RFC 7643 §8.3: the full User with the Enterprise User extension.
const ENTERPRISE_USER: &str =
    include_str!("../../scim-core/tests/vectors/rfc7643_8_3_enterprise_user.json");

fn typed_view(c: &mut Criterion) {
    let value: Value = serde_json::from_str(ENTERPRISE_USER).expect("vector");
    let mut g = c.benchmark_group("core_model");
    g.bench_function("user_text_to_typed_and_back", |b| {
        b.iter(|| {
            let user: User = serde_json::from_str(black_box(ENTERPRISE_USER)).expect("typed");
            serde_json::to_string(&user).expect("text")
        })
    });
    g.bench_function("user_value_to_typed_and_back", |b| {
        b.iter(|| {
            let user = User::try_from(black_box(value.clone())).expect("typed");
            Value::from(user)
        })
    });
    g.bench_function("user_value_clone_baseline", |b| {
        b.iter(|| black_box(&value).clone())
    });
    g.finish();
}

fn validate_and_project(c: &mut Criterion) {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let value: Value = serde_json::from_str(ENTERPRISE_USER).expect("vector");
    let opts = ValidateOptions::default();
    let stored = validate_resource(&users, value.clone(), Mode::Patch, None, &opts).expect("valid");
    let projection = Projection::parse(Some("userName,emails.value,name.givenName"), None, &users)
        .expect("parse");
    let mut g = c.benchmark_group("core_model");
    g.bench_function("validate_create_enterprise_user", |b| {
        b.iter(|| validate_resource(&users, black_box(value.clone()), Mode::Create, None, &opts))
    });
    g.bench_function("project_default", |b| {
        let all = Projection::all(&users);
        b.iter(|| all.apply(black_box(&stored)))
    });
    g.bench_function("project_attributes", |b| {
        b.iter(|| projection.apply(black_box(&stored)))
    });
    g.finish();
}

criterion_group!(benches, typed_view, validate_and_project);
criterion_main!(benches);
