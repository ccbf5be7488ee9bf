//! Data-driven evaluation tests: `tests/vectors/eval_cases.json` (no schema) and
//! `tests/vectors/eval_schema_cases.json` (with a schema described in the file).

use std::collections::BTreeMap;

use scim_filter::{AttrSchema, AttrType, Characteristics, EvalError, Filter, Parser, parse};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The cases of a vector file, which must hold at least `min` of them.
fn cases(file: &Value, min: usize) -> &Vec<Value> {
    let cases = file["cases"].as_array().expect("a `cases` array");
    assert!(cases.len() >= min, "only {} cases", cases.len());
    cases
}

fn resource<'v>(file: &'v Value, case: &'v Value) -> &'v Value {
    match &case["resource"] {
        Value::String(name) => file["resources"]
            .get(name)
            .unwrap_or_else(|| panic!("no resource {name}")),
        inline => inline,
    }
}

fn parse_case<'a>(case: &Value, text: &'a str) -> Filter<'a> {
    let parsed = if case["dialects"].as_bool() == Some(true) {
        Parser::with_dialects().parse(text)
    } else {
        parse(text)
    };
    parsed.unwrap_or_else(|e| panic!("{text}: {e}"))
}

#[test]
fn vectors_without_schema() {
    let file = load("eval_cases.json");
    let mut failures = Vec::new();
    let all = cases(&file, 80);
    for case in all {
        let text = case["filter"].as_str().expect("a filter");
        let filter = parse_case(case, text);
        let got = filter.matches(resource(&file, case));
        let ok = match (&case["expect"], &got) {
            (Value::Bool(want), Ok(got)) => want == got,
            (Value::String(e), Err(_)) => e == "error",
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{} on {}: expected {}, got {got:?}",
                text, case["resource"], case["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

/// A schema read from the vector file: `core` URN, `extensions` URNs, and attributes with
/// optional sub-attributes.
struct JsonSchema {
    core: String,
    extensions: Vec<String>,
    /// (urn, name, sub) in lower case.
    attrs: BTreeMap<(String, String, Option<String>), Characteristics>,
}

fn chars(def: &Value) -> Characteristics {
    let attr_type = match def["type"].as_str().expect("a type") {
        "string" => AttrType::String,
        "boolean" => AttrType::Boolean,
        "decimal" => AttrType::Decimal,
        "integer" => AttrType::Integer,
        "dateTime" => AttrType::DateTime,
        "binary" => AttrType::Binary,
        "reference" => AttrType::Reference,
        "complex" => AttrType::Complex,
        other => panic!("unknown type {other}"),
    };
    Characteristics {
        attr_type,
        multi_valued: def["multiValued"].as_bool().unwrap_or(false),
        case_exact: def["caseExact"].as_bool().unwrap_or(false),
    }
}

impl JsonSchema {
    fn from_json(v: &Value) -> Self {
        let core = v["core"].as_str().expect("core").to_ascii_lowercase();
        let extensions = v["extensions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_ascii_lowercase)
                    .collect()
            })
            .unwrap_or_default();
        let mut attrs = BTreeMap::new();
        for def in v["attributes"].as_array().expect("attributes") {
            let urn = def["schema"].as_str().unwrap_or(&core).to_ascii_lowercase();
            let name = def["name"].as_str().expect("name").to_ascii_lowercase();
            attrs.insert((urn.clone(), name.clone(), None), chars(def));
            for sub in def["subAttributes"].as_array().into_iter().flatten() {
                let sub_name = sub["name"].as_str().expect("name").to_ascii_lowercase();
                attrs.insert((urn.clone(), name.clone(), Some(sub_name)), chars(sub));
            }
        }
        JsonSchema {
            core,
            extensions,
            attrs,
        }
    }
}

impl AttrSchema for JsonSchema {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics> {
        let name = name.to_ascii_lowercase();
        let sub = sub_attr.map(str::to_ascii_lowercase);
        let lookup = |urn: &str| {
            self.attrs
                .get(&(urn.to_owned(), name.clone(), sub.clone()))
                .copied()
        };
        match urn {
            Some(urn) => lookup(&urn.to_ascii_lowercase()),
            // Unqualified: the core schema, then the extensions.
            None => lookup(&self.core).or_else(|| self.extensions.iter().find_map(|u| lookup(u))),
        }
    }
}

fn error_kind(e: &EvalError) -> &'static str {
    match e {
        EvalError::UnsupportedOperator { .. } => "unsupportedOperator",
        EvalError::InvalidValue { .. } => "invalidValue",
        EvalError::UnknownAttribute { .. } => "unknownAttribute",
        _ => "other",
    }
}

#[test]
fn vectors_with_schema() {
    let file = load("eval_schema_cases.json");
    let schema = JsonSchema::from_json(&file["schema"]);
    let mut failures = Vec::new();
    let all = cases(&file, 40);
    for case in all {
        let text = case["filter"].as_str().expect("a filter");
        let filter = parse_case(case, text);
        let checked = filter.check(&schema);
        let got = match checked.clone() {
            Err(e) => Err(e),
            Ok(()) => filter.matches_with(resource(&file, case), &schema),
        };
        let ok = match (&case["expect"], &got) {
            (Value::Bool(want), Ok(got)) => want == got,
            (Value::String(kind), Err(e)) => kind == error_kind(e),
            _ => false,
        };
        // With a schema, a filter that passed `check` never fails to evaluate, on any
        // resource of the file.
        let never_errors = checked.is_err()
            || file["resources"]
                .as_object()
                .expect("resources")
                .values()
                .all(|r| filter.matches_with(r, &schema).is_ok());
        if !ok || !never_errors {
            failures.push(format!(
                "{} on {}: expected {}, got {got:?}",
                text, case["resource"], case["expect"]
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        all.len(),
        failures.join("\n")
    );
}

#[test]
fn errors_render_attribute_and_operator() {
    let f = parse(r#"active gt "a""#).expect("parses");
    let e = f
        .matches(&serde_json::json!({"active": true}))
        .expect_err("ordering a boolean");
    assert_eq!(
        e.to_string(),
        "operator `gt` is not supported for attribute `active`"
    );
    let f = parse(r#"meta.created lt null"#).expect("parses");
    let e = f.matches(&serde_json::json!({})).expect_err("null");
    let msg = e.to_string();
    assert!(
        msg.contains("`meta.created`") && msg.contains("`lt`"),
        "{msg}"
    );
}
