//! Shared by the PATCH tests: registries, dialect switches by name, and checks.
#![allow(dead_code)] // Each test file uses a part.

use scim_core::validate::{Mode, ValidateOptions, validate_resource};
use scim_core::{AttrType, AttributeDef, Dialects, Mutability, Registry, ResourceSchema, Schema};
use serde_json::{Map, Value};

pub const ACME_USER: &str = "urn:example:params:scim:schemas:extension:acme:2.0:User";
pub const ACME_GROUP: &str = "urn:example:params:scim:schemas:extension:acme:2.0:Group";

/// The core registry plus an `acme` User extension (with a `department` that makes the bare
/// name ambiguous, an immutable `badge`, simple multi-valued `tags`, an integer `level`, a
/// complex `clearance` with a required `code`, immutable multi-valued `codes`) and a required `acme` Group extension.
pub fn acme_registry() -> Registry {
    let mut reg = Registry::core();
    reg.add_schema(Schema {
        id: ACME_USER.to_owned(),
        name: "AcmeUser".to_owned(),
        description: "Acme user extension".to_owned(),
        attributes: vec![
            AttributeDef::new("costCenterCode", AttrType::String),
            AttributeDef::new("badge", AttrType::String).mutability(Mutability::Immutable),
            AttributeDef::new("tags", AttrType::String).multi_valued(),
            AttributeDef::new("codes", AttrType::String)
                .multi_valued()
                .mutability(Mutability::Immutable),
            AttributeDef::new("department", AttrType::String),
            AttributeDef::new("level", AttrType::Integer),
            AttributeDef::new("clearance", AttrType::Complex).sub_attributes(vec![
                AttributeDef::new("code", AttrType::String).required(),
                AttributeDef::new("since", AttrType::DateTime),
            ]),
        ],
    })
    .expect("acme user schema");
    reg.add_schema(Schema {
        id: ACME_GROUP.to_owned(),
        name: "AcmeGroup".to_owned(),
        description: "Acme group extension".to_owned(),
        attributes: vec![AttributeDef::new("site", AttrType::String)],
    })
    .expect("acme group schema");
    reg.add_extension("User", ACME_USER, false)
        .expect("user ext");
    reg.add_extension("Group", ACME_GROUP, true)
        .expect("group ext");
    reg
}

/// Switches one dialect by its field name.
pub fn set_dialect(d: &mut Dialects, name: &str, on: bool) {
    match name {
        "op_any_case" => d.op_any_case = on,
        "boolean_strings" => d.boolean_strings = on,
        "remove_listed_values" => d.remove_listed_values = on,
        "create_on_unmatched_value_path" => d.create_on_unmatched_value_path = on,
        "value_keys_as_paths" => d.value_keys_as_paths = on,
        "manager_as_string" => d.manager_as_string = on,
        "json_in_string_roles" => d.json_in_string_roles = on,
        "empty_operations_noop" => d.empty_operations_noop = on,
        "scim1_core_urn" => d.scim1_core_urn = on,
        "single_value_as_array" => d.single_value_as_array = on,
        "unqualified_extension_names" => d.unqualified_extension_names = on,
        other => panic!("unknown dialect {other}"),
    }
}

/// A PATCH result must pass validation as the result of a PATCH of `before`.
pub fn assert_valid(
    schema: &ResourceSchema<'_>,
    before: &Map<String, Value>,
    after: &Map<String, Value>,
    what: &str,
) {
    let options = ValidateOptions::default().keep_unknown_attributes(true);
    if let Err(e) = validate_resource(
        schema,
        Value::Object(after.clone()),
        Mode::Patch,
        Some(before),
        &options,
    ) {
        panic!(
            "{what}: the PATCH result does not validate: {e}\n{}",
            Value::Object(after.clone())
        );
    }
}

pub fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().expect("a JSON object")
}
