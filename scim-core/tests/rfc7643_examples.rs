//! The example representations of RFC 7643 §8 round-trip through the typed views unchanged,
//! and the resource examples are valid stored resources.

use scim_core::discovery::{Discovered, ServiceProviderConfig};
use scim_core::resource::{Group, User};
use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use scim_core::{Registry, ResourceType, Schema};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

fn vector(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("vector file");
    serde_json::from_str(&text).expect("vector JSON")
}

fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) {
    let typed: T = serde_json::from_value(value.clone()).expect("to the typed view");
    let back = serde_json::to_value(&typed).expect("back to JSON");
    assert_eq!(&back, value);
}

#[test]
fn users_round_trip() {
    for name in [
        "rfc7643_8_1_minimal_user.json",
        "rfc7643_8_2_full_user.json",
        "rfc7643_8_3_enterprise_user.json",
    ] {
        let v = vector(name);
        round_trip::<User>(&v);
        let user = User::try_from(v.clone()).expect("typed");
        assert_eq!(Value::from(user), v, "{name}");
    }
}

#[test]
fn enterprise_extension_is_typed() {
    let user = User::try_from(vector("rfc7643_8_3_enterprise_user.json")).expect("typed");
    let ext = user.enterprise().expect("valid").expect("present");
    assert_eq!(ext.employee_number.as_deref(), Some("701984"));
    let manager = ext.manager.expect("manager");
    assert_eq!(manager.display_name.as_deref(), Some("John Smith"));
    assert_eq!(
        manager.reference.as_deref(),
        Some("../Users/26118915-6090-4610-87e4-49d8ca9f808d")
    );
    let full = User::try_from(vector("rfc7643_8_2_full_user.json")).expect("typed");
    assert_eq!(full.enterprise(), Ok(None));
    assert_eq!(
        full.primary_email().and_then(|e| e.value.as_deref()),
        Some("bjensen@example.com")
    );
}

#[test]
fn group_round_trips() {
    let v = vector("rfc7643_8_4_group.json");
    round_trip::<Group>(&v);
    let g = Group::try_from(v).expect("typed");
    assert_eq!(g.members.len(), 2);
    assert_eq!(g.members[1].display.as_deref(), Some("Mandy Pepperidge"));
}

#[test]
fn discovery_representations_round_trip() {
    round_trip::<ServiceProviderConfig>(&vector("rfc7643_8_5_service_provider_config.json"));
    let Value::Array(rts) = vector("rfc7643_8_6_resource_types.json") else {
        panic!("an array of resource types");
    };
    for rt in &rts {
        round_trip::<Discovered<ResourceType>>(rt);
    }
    let Value::Array(schemas) = vector("rfc7643_8_7_1_schemas.json") else {
        panic!("an array of schemas");
    };
    for s in &schemas {
        round_trip::<Discovered<Schema>>(s);
    }
}

#[test]
fn rfc_resources_are_valid_stored_resources() {
    let reg = Registry::core();
    let opts = ValidateOptions::default();
    for (rt, name) in [
        ("User", "rfc7643_8_1_minimal_user.json"),
        ("User", "rfc7643_8_2_full_user.json"),
        ("User", "rfc7643_8_3_enterprise_user.json"),
        ("Group", "rfc7643_8_4_group.json"),
    ] {
        let schema = reg.resource_type(rt).expect("resource type");
        let v = vector(name);
        // As the result of a PATCH, a stored resource validates to itself.
        let out = validate_resource(&schema, v.clone(), Mode::Patch, None, &opts).expect(name);
        assert_eq!(Value::Object(out), v, "{name}");
        // As a POST body, the readOnly attributes are ignored.
        let created = validate_resource(&schema, v, Mode::Create, None, &opts).expect(name);
        assert!(created.get("id").is_none() && created.get("meta").is_none());
        assert!(created.get("groups").is_none());
    }
}
