//! Data-driven validation cases (tests/vectors/validate_cases.json): a body, a request
//! context and optionally the stored resource, with either the normalised result or the
//! `scimType` of the error.

use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use scim_core::{Registry, ScimType};
use serde_json::Value;

#[test]
fn validate_cases() {
    let path = format!(
        "{}/tests/vectors/validate_cases.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("vector file");
    let Value::Array(cases) = serde_json::from_str(&text).expect("JSON") else {
        panic!("an array of cases");
    };
    assert!(cases.len() >= 25);
    let registry = Registry::core();
    for case in cases {
        let name = case["name"].as_str().expect("name");
        let schema = registry
            .resource_type(case["type"].as_str().expect("type"))
            .expect("resource type");
        let mode = match case["mode"].as_str().expect("mode") {
            "create" => Mode::Create,
            "replace" => Mode::Replace,
            "patch" => Mode::Patch,
            other => panic!("mode {other}"),
        };
        let existing = case.get("existing").and_then(Value::as_object);
        let got = validate_resource(
            &schema,
            case["body"].clone(),
            mode,
            existing,
            &ValidateOptions::default(),
        );
        match (case.get("result"), case.get("error")) {
            (Some(want), None) => {
                let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(&Value::Object(got), want, "{name}");
            }
            (None, Some(Value::String(want))) => {
                let e = got.expect_err(name);
                let want: ScimType =
                    serde_json::from_value(Value::String(want.clone())).expect("scimType");
                assert_eq!(e.scim_type, Some(want), "{name}: {}", e.detail);
                assert_eq!(e.status, 400, "{name}");
                assert!(!e.detail.is_empty(), "{name}");
            }
            _ => panic!("{name}: a case has either `result` or `error`"),
        }
    }
}
