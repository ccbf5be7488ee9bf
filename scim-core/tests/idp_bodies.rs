//! Every POST and PUT body captured from identity providers (tests/vectors/idp_requests.json,
//! a copy of the shared capture) validated in its request context, with the effect its
//! `expect` describes.

use scim_core::message::parse_body;
use scim_core::schema::{ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA};
use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use scim_core::{Registry, ScimType};
use serde_json::{Map, Value, json};

fn requests() -> Vec<Value> {
    let path = format!(
        "{}/tests/vectors/idp_requests.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(path).expect("capture file");
    match serde_json::from_str(&text).expect("capture JSON") {
        Value::Array(items) => items,
        _ => panic!("the capture is an array"),
    }
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(o) => o,
        _ => panic!("an object"),
    }
}

/// The stored resource a PUT replaces.
fn stored(resource_type: &str) -> Map<String, Value> {
    let meta = json!({"resourceType": resource_type, "created": "2024-01-01T00:00:00Z",
                      "lastModified": "2024-01-01T00:00:00Z", "version": "W/\"1\""});
    if resource_type == "Group" {
        obj(
            json!({"schemas": [GROUP_SCHEMA], "id": "g-1", "displayName": "old name",
                   "members": [{"value": "u-9"}], "meta": meta}),
        )
    } else {
        obj(
            json!({"schemas": [USER_SCHEMA], "id": "u-1", "userName": "octocat@github.com",
                   "nickName": "kept", "active": true, "meta": meta}),
        )
    }
}

#[test]
fn every_post_and_put_body() {
    let registry = Registry::core();
    let opts = ValidateOptions::default();
    let mut checked = 0;
    for req in requests() {
        let method = req["method"].as_str().unwrap_or_default();
        if method != "POST" && method != "PUT" {
            continue;
        }
        let step = req["step"].as_str().unwrap_or_default().to_owned();
        let path = req["path_and_query"].as_str().unwrap_or_default();
        let expect = req["expect"].as_str().unwrap_or_default();
        let body = req["body"].clone();
        let resource_type = if path.starts_with("/Users") {
            "User"
        } else if path.starts_with("/Groups") {
            "Group"
        } else {
            // POST /ServiceProviderConfig with a non-JSON body: 405 from the service; the
            // body itself is not JSON.
            let raw = body.as_str().expect("a raw body");
            let e = parse_body(raw.as_bytes()).expect_err("not JSON");
            assert_eq!(e.scim_type, Some(ScimType::InvalidSyntax));
            checked += 1;
            continue;
        };
        let schema = registry
            .resource_type(resource_type)
            .expect("resource type");
        let existing = stored(resource_type);
        let (mode, ex) = if method == "POST" {
            (Mode::Create, None)
        } else {
            (Mode::Replace, Some(&existing))
        };
        let result = validate_resource(&schema, body, mode, ex, &opts);
        if expect.starts_with("400") {
            let e = result.expect_err(&step);
            assert_eq!(e.status, 400, "{step}");
            checked += 1;
            continue;
        }
        let out = Value::Object(result.unwrap_or_else(|e| panic!("{step}: {e}")));
        // Never stored: nulls, empty arrays, client-sent readOnly attributes on create.
        assert!(!out.to_string().contains("null"), "{step}: {out}");
        assert!(!out.to_string().contains("[]"), "{step}: {out}");
        match step.as_str() {
            s if s.starts_with("Create user (documented") => {
                assert!(
                    out.get("meta").is_none() && out.get("roles").is_none(),
                    "{out}"
                );
                assert_eq!(out["active"], true);
                assert_eq!(out["emails"][0]["primary"], true);
                assert_eq!(out["name"]["givenName"], "givenName");
                // The enterprise URN was listed, but there is no extension data to keep.
                assert_eq!(out["schemas"], json!([USER_SCHEMA]));
            }
            s if s.contains("string boolean active") => {
                assert_eq!(out["active"], json!(true));
                assert_eq!(
                    out["addresses"][1],
                    json!({"formatted": "18522 Lisa Unions\nEast Gregory, CT 52311", "type": "other", "primary": false})
                );
                assert!(out["name"].get("honorificPrefix").is_none());
                assert_eq!(out["emails"].as_array().map(Vec::len), Some(2));
                assert_eq!(out["preferredLanguage"], "xh");
            }
            s if s.contains("misspelled attribute") => {
                assert!(out.get("adreses").is_none() && out.get("Addresses").is_none());
                assert!(out.get("addresses").is_none());
                // PUT: the stored id stays, the client's is ignored; omitted attributes kept.
                assert_eq!(out["id"], "u-1");
                assert_eq!(out["nickName"], "kept");
                assert_eq!(out["active"], false);
                assert_eq!(out["userName"], "OMalley");
            }
            s if s.contains("replacing member list") => {
                assert_eq!(out["id"], "g-1");
                assert_eq!(out["displayName"], "putName");
                assert_eq!(
                    out["members"],
                    json!([{"value": "{id3}"}, {"value": "{id4}"}]),
                    "members replaced whole; readOnly display ignored"
                );
            }
            s if s.contains("PUT with active:false") => {
                assert_eq!(out["active"], false);
                assert_eq!(out["id"], "u-1");
                assert_eq!(out["meta"]["version"], "W/\"1\"", "stored meta kept");
                assert_eq!(out["name"]["givenName"], "Mona");
            }
            s if s.contains("response requirement") => {
                assert_eq!(out["name"]["givenName"], "{$user.firstname}");
                assert_eq!(out["name"]["familyName"], "{$user.lastname}");
                assert!(out.get("user_email").is_none() && out.get("user_name").is_none());
            }
            s if s.contains("Create group") => {
                assert_eq!(
                    out,
                    json!({"schemas": [GROUP_SCHEMA], "displayName": "Admin Role"})
                );
            }
            s if s.contains("Connection test") => {
                assert_eq!(out["emails"][0]["value"], "{testUserEmail}");
                assert_eq!(out["active"], true);
            }
            other => panic!("a POST/PUT step without a check: {other}"),
        }
        checked += 1;
    }
    assert_eq!(checked, 10, "every POST and PUT of the capture was checked");
}

#[test]
fn onelogin_scim1_urn_and_single_object_emails() {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let body = json!({
        "schemas": ["urn:scim:schemas:core:1.0"],
        "userName": "jdoe@example.com",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": {"value": "jdoe@example.com", "primary": "true"},
        "user_mobile": "+1 555",
    });
    let out = validate_resource(
        &users,
        body.clone(),
        Mode::Create,
        None,
        &ValidateOptions::default(),
    )
    .expect("accepted");
    assert_eq!(
        Value::Object(out),
        json!({
            "schemas": [USER_SCHEMA],
            "userName": "jdoe@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jdoe@example.com", "primary": true}],
        })
    );
    let strict = ValidateOptions::default().dialects(scim_core::Dialects::strict());
    assert!(validate_resource(&users, body, Mode::Create, None, &strict).is_err());
}

#[test]
fn entra_bare_extension_names_and_echoed_read_only() {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let body = json!({
        "schemas": [USER_SCHEMA],
        "userName": "a@b",
        "department": "Sales",
        "manager": "m-1",
        "groups": [{"value": "g"}],
        "id": "client",
        "meta": {"resourceType": "User"},
        "roles": [],
        "Addresses": [],
    });
    let out = validate_resource(
        &users,
        body,
        Mode::Create,
        None,
        &ValidateOptions::default(),
    )
    .expect("accepted");
    assert_eq!(
        Value::Object(out),
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA],
            "userName": "a@b",
            ENTERPRISE_USER_SCHEMA: {"department": "Sales", "manager": {"value": "m-1"}},
        })
    );
}

#[test]
fn rejected_values() {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let opts = ValidateOptions::default();
    for (body, scim_type, names) in [
        (json!({"userName": "a"}), ScimType::InvalidSyntax, "schemas"),
        (
            json!({"schemas": [USER_SCHEMA], "userName": 5}),
            ScimType::InvalidValue,
            "userName",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "active": "maybe"}),
            ScimType::InvalidValue,
            "active",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": "x"}),
            ScimType::InvalidValue,
            "emails",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "emails": [{"primary": "yes"}]}),
            ScimType::InvalidValue,
            "emails.primary",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "name": "Jane"}),
            ScimType::InvalidValue,
            "name",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", "x509Certificates": [{"value": "%%%"}]}),
            ScimType::InvalidValue,
            "x509Certificates.value",
        ),
        (
            json!({"schemas": [USER_SCHEMA], "userName": "a", ENTERPRISE_USER_SCHEMA: "x"}),
            ScimType::InvalidValue,
            ENTERPRISE_USER_SCHEMA,
        ),
    ] {
        let e = validate_resource(&users, body.clone(), Mode::Create, None, &opts)
            .expect_err(&body.to_string());
        assert_eq!(e.scim_type, Some(scim_type), "{body}");
        assert!(e.detail.contains(names), "{}: {}", body, e.detail);
    }
    // Not JSON numbers at all: 1e400 is refused when the body is read.
    let e = parse_body(br#"{"schemas": [], "userName": 1e400}"#).expect_err("range");
    assert_eq!(e.scim_type, Some(ScimType::InvalidValue));
}

#[test]
fn formats_are_not_checked() {
    let registry = Registry::core();
    let users = registry.resource_type("User").expect("User");
    let body = json!({
        "schemas": [USER_SCHEMA], "userName": "a",
        "emails": [{"value": "not an email", "type": "carrier-pigeon"}],
        "phoneNumbers": [{"value": "call me maybe"}],
        "profileUrl": "not a url", "locale": "xx_YY_weird", "timezone": "Mars/Olympus",
        "preferredLanguage": "klingon",
    });
    let out = validate_resource(
        &users,
        body.clone(),
        Mode::Create,
        None,
        &ValidateOptions::default(),
    )
    .expect("stored as given");
    assert_eq!(Value::Object(out), body);
}
