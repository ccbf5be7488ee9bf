//! Data-driven PATCH cases: tests/vectors/patch_cases.json holds named fixtures and cases,
//! each a resource before, the operations, and the expected result (keys of the resource
//! after, `null` for absent; whether it changed) or the expected error (status, scimType,
//! and text the detail contains).

mod patch_support;

use patch_support::{acme_registry, assert_valid, object, set_dialect};
use scim_core::patch::{PatchOp, PatchOptions, apply_patch, apply_patch_in_place};
use scim_core::{Dialects, Registry};
use serde_json::{Map, Value};

const CASES: &str = include_str!("vectors/patch_cases.json");

fn options(case: &Map<String, Value>) -> PatchOptions {
    let mut dialects = Dialects::default();
    if let Some(Value::Object(d)) = case.get("dialects") {
        for (name, on) in d {
            set_dialect(
                &mut dialects,
                name,
                on.as_bool().expect("dialect switch is a boolean"),
            );
        }
    }
    let mut opts = PatchOptions::default().dialects(dialects);
    if let Some(keep) = case
        .get("options")
        .and_then(|o| o.get("keep_unknown_attributes"))
        .and_then(Value::as_bool)
    {
        opts = opts.keep_unknown_attributes(keep);
    }
    opts
}

#[test]
fn patch_vectors() {
    let file: Value = serde_json::from_str(CASES).expect("patch_cases.json parses");
    let fixtures = file["fixtures"].as_object().expect("fixtures");
    let cases = file["cases"].as_array().expect("cases");
    assert!(cases.len() >= 80, "{} cases", cases.len());
    let core = Registry::core();
    let acme = acme_registry();
    let mut failures = Vec::new();
    for case in cases {
        let case = case.as_object().expect("case object");
        let name = case["name"].as_str().expect("name");
        let registry = match case.get("registry").and_then(Value::as_str) {
            Some("acme") => &acme,
            None => &core,
            Some(other) => panic!("{name}: unknown registry {other}"),
        };
        let schema = registry
            .resource_type(case["resource_type"].as_str().expect("resource_type"))
            .expect("resource type");
        let before = match &case["before"] {
            Value::String(f) => object(&fixtures[f.as_str()]),
            v => object(v),
        };
        let pristine = before.clone();
        let patch: PatchOp = match &case["operations"] {
            ops @ Value::Array(_) => serde_json::from_value(serde_json::json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": ops,
            })),
            other => serde_json::from_value(other.clone()),
        }
        .unwrap_or_else(|e| panic!("{name}: the operations do not parse: {e}"));
        let result = apply_patch(&schema, &before, &patch, &options(case));
        assert_eq!(before, pristine, "{name}: the input was changed");
        // In place: the same outcome; on error the resource exactly as it was.
        let mut in_place = before.clone();
        match (
            &result,
            apply_patch_in_place(&schema, &mut in_place, &patch, &options(case)),
        ) {
            (Ok(out), Ok(changed)) => {
                assert_eq!(out.resource, in_place, "{name}: in place differs");
                assert_eq!(out.changed, changed, "{name}: in place changed differs");
            }
            (Err(a), Err(b)) => {
                assert_eq!(*a, b, "{name}: in place error differs");
                assert_eq!(in_place, before, "{name}: in place not rolled back");
            }
            (a, b) => panic!("{name}: apply_patch {a:?}, apply_patch_in_place {b:?}"),
        }
        match (result, case.get("error")) {
            (Ok(out), None) => {
                if let Some(Value::Object(has)) = case.get("after_has") {
                    for (key, want) in has {
                        let got = out.resource.get(key).unwrap_or(&Value::Null);
                        if got != want {
                            failures.push(format!("{name}: `{key}` is {got}, expected {want}"));
                        }
                    }
                }
                if let Some(after) = case.get("after")
                    && Value::Object(out.resource.clone()) != *after
                {
                    failures.push(format!(
                        "{name}: resource {}",
                        Value::Object(out.resource.clone())
                    ));
                }
                if let Some(changed) = case.get("changed").and_then(Value::as_bool) {
                    if out.changed != changed {
                        failures.push(format!(
                            "{name}: changed is {}, expected {changed}",
                            out.changed
                        ));
                    }
                    if !changed && out.resource != before {
                        failures.push(format!("{name}: unchanged, yet the resource differs"));
                    }
                }
                assert_valid(&schema, &before, &out.resource, name);
            }
            (Ok(out), Some(want)) => failures.push(format!(
                "{name}: expected error {want}, got {}",
                Value::Object(out.resource)
            )),
            (Err(e), None) => failures.push(format!("{name}: unexpected error {e}")),
            (Err(e), Some(want)) => {
                let status = want["status"].as_u64().expect("status");
                let scim_type = want["scimType"].as_str().expect("scimType");
                let got_type = e.scim_type.map(|t| t.as_str()).unwrap_or("");
                if u64::from(e.status) != status || got_type != scim_type {
                    failures.push(format!("{name}: expected {status} {scim_type}, got {e}"));
                }
                if let Some(text) = want.get("detail_contains").and_then(Value::as_str)
                    && !e.detail.contains(text)
                {
                    failures.push(format!("{name}: detail {:?} lacks {text:?}", e.detail));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
