//! A service's own extension schema: registered, resolved, validated, projected and
//! discovered like the core ones.

use scim_core::discovery::{resource_types_list, schema_by_id, schemas_list};
use scim_core::project::Projection;
use scim_core::schema::{ENTERPRISE_USER_SCHEMA, USER_SCHEMA};
use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use scim_core::{AttrType, AttributeDef, Registry, Schema, ScimType};
use serde_json::{Value, json};

const ACME: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";

fn registry() -> Registry {
    let mut reg = Registry::core();
    reg.add_schema(Schema {
        id: ACME.to_owned(),
        name: "AcmeUser".to_owned(),
        description: "Acme's user attributes".to_owned(),
        attributes: vec![
            AttributeDef::new("costCenterCode", AttrType::String)
                .required()
                .description("Acme's cost center code."),
            AttributeDef::new("badgeNumber", AttrType::Integer),
            AttributeDef::new("hourlyRate", AttrType::Decimal),
        ],
    })
    .expect("new schema");
    reg.add_extension("User", ACME, false).expect("extension");
    reg
}

#[test]
fn resolves() {
    let reg = registry();
    let users = reg.resource_type("User").expect("User");
    let r = users
        .resolve_parts(Some(ACME), "costcentercode", None)
        .expect("qualified");
    assert_eq!(r.schema.id, ACME);
    assert_eq!(r.attr.map(|a| a.name.as_str()), Some("costCenterCode"));
    let r = users
        .resolve_parts(None, "costCenterCode", None)
        .expect("unqualified, one extension defines it");
    assert!(r.is_extension);
    let whole = ACME.rsplit_once(':').expect("urn");
    let r = users
        .resolve_parts(Some(whole.0), whole.1, None)
        .expect("whole extension");
    assert!(r.attr.is_none());
    let dup = reg.schema(ACME).expect("acme").clone();
    let mut again = reg.clone();
    assert!(again.add_schema(dup).is_err());
}

#[test]
fn validates() {
    let reg = registry();
    let users = reg.resource_type("User").expect("User");
    let opts = ValidateOptions::default();
    let out = validate_resource(
        &users,
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "wcoyote",
            ACME: {"CostCenterCode": "CC-7", "badgeNumber": 42.0, "unknown": 1},
            "urn:ietf:params:scim:schemas:extension:ENTERPRISE:2.0:User": {"department": "R&D"},
        }),
        Mode::Create,
        None,
        &opts,
    )
    .expect("valid");
    assert_eq!(
        Value::Object(out),
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA, ACME],
            "userName": "wcoyote",
            ENTERPRISE_USER_SCHEMA: {"department": "R&D"},
            ACME: {"costCenterCode": "CC-7", "badgeNumber": 42},
        })
    );
    // The extension's own required attribute, when the extension is present.
    let e = validate_resource(
        &users,
        json!({"schemas": [USER_SCHEMA, ACME], "userName": "w", ACME: {"badgeNumber": 1}}),
        Mode::Create,
        None,
        &opts,
    )
    .expect_err("required");
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
    assert!(e.detail.contains("costCenterCode"), "{}", e.detail);
    let e = validate_resource(
        &users,
        json!({"schemas": [USER_SCHEMA], "userName": "w", ACME: {"costCenterCode": 7}}),
        Mode::Create,
        None,
        &opts,
    )
    .expect_err("type");
    assert!(e.detail.contains(ACME), "{}", e.detail);
}

/// A decimal comes back as the number that was sent, through every parse and print a store
/// makes (the request body, the stored JSON text, the response). These inputs are ones a
/// parser that rounds twice gets wrong by one unit in the last place (serde_json without
/// its `float_roundtrip` feature did, for each of them).
#[test]
fn decimals_keep_their_value_through_text() {
    let reg = registry();
    let users = reg.resource_type("User").expect("User");
    for text in [
        "2.44392119048899982e-9",
        "0.65281517519135030e-6",
        "0.85510186621062260e-13",
        "8.36705911238380268e-6",
    ] {
        let exact: f64 = text.parse().expect("f64");
        let body = format!(
            r#"{{"schemas":["{USER_SCHEMA}","{ACME}"],"userName":"w","{ACME}":{{"costCenterCode":"c","hourlyRate":{text}}}}}"#
        );
        let sent: Value = serde_json::from_str(&body).expect("json");
        let out = validate_resource(
            &users,
            sent,
            Mode::Create,
            None,
            &ValidateOptions::default(),
        )
        .expect("valid");
        let stored = serde_json::to_string(&out).expect("print");
        let read: Value = serde_json::from_str(&stored).expect("parse stored");
        let rate = &read[ACME]["hourlyRate"];
        assert_eq!(rate.as_f64(), Some(exact), "{text} came back as {rate}");
        let printed: Value = serde_json::from_str(&serde_json::to_string(&read).expect("print"))
            .expect("parse response");
        assert_eq!(printed[ACME]["hourlyRate"].as_f64(), Some(exact), "{text}");
    }
}

#[test]
fn required_extension() {
    let mut reg = Registry::core();
    reg.add_schema(Schema {
        id: ACME.to_owned(),
        name: "AcmeUser".to_owned(),
        description: String::new(),
        attributes: vec![AttributeDef::new("costCenterCode", AttrType::String)],
    })
    .expect("schema");
    reg.add_extension("User", ACME, true).expect("extension");
    let users = reg.resource_type("User").expect("User");
    let e = validate_resource(
        &users,
        json!({"schemas": [USER_SCHEMA], "userName": "w"}),
        Mode::Create,
        None,
        &ValidateOptions::default(),
    )
    .expect_err("required extension");
    assert!(e.detail.contains(ACME));
}

#[test]
fn projects() {
    let reg = registry();
    let users = reg.resource_type("User").expect("User");
    let stored = json!({
        "schemas": [USER_SCHEMA, ACME], "id": "1", "userName": "w",
        ACME: {"costCenterCode": "CC-7", "badgeNumber": 42},
    });
    let stored = stored.as_object().expect("object");
    let p =
        Projection::parse(Some(&format!("{ACME}:costCenterCode")), None, &users).expect("parse");
    assert_eq!(
        Value::Object(p.apply(stored)),
        json!({"schemas": [USER_SCHEMA, ACME], "id": "1", ACME: {"costCenterCode": "CC-7"}})
    );
    let p = Projection::parse(None, Some(&ACME.to_uppercase()), &users).expect("parse");
    let shown = p.apply(stored);
    assert!(shown.get(ACME).is_none());
    assert_eq!(shown["userName"], "w");
    let p = Projection::parse(Some("costCenterCode"), None, &users).expect("bare name");
    assert_eq!(p.apply(stored)[ACME], json!({"costCenterCode": "CC-7"}));
}

#[test]
fn discovered() {
    let reg = registry();
    let base = "https://example.com/scim/v2";
    let list = serde_json::to_value(schemas_list(&reg, base)).expect("json");
    assert_eq!(list["totalResults"], 4);
    let acme = &list["Resources"][3];
    assert_eq!(acme["id"], ACME);
    assert_eq!(acme["attributes"][0]["name"], "costCenterCode");
    assert_eq!(acme["attributes"][0]["required"], true);
    assert_eq!(acme["attributes"][1]["type"], "integer");
    assert_eq!(acme["meta"]["location"], format!("{base}/Schemas/{ACME}"));
    assert_eq!(schema_by_id(&reg, ACME, base).as_ref(), Some(acme));
    let rts = serde_json::to_value(resource_types_list(&reg, base)).expect("json");
    assert_eq!(
        rts["Resources"][0]["schemaExtensions"],
        json!([
            {"schema": ENTERPRISE_USER_SCHEMA, "required": false},
            {"schema": ACME, "required": false},
        ])
    );
}
