//! The fast path of the most common PATCH: one `add` or `replace` of a simple value on a
//! single-valued attribute or on a sub-attribute of a single-valued complex attribute
//! (Entra's `{"op":"Replace","path":"active","value":false}`, `name.givenName`).
//!
//! Such an operation cannot fail once its value is valid, so it needs neither the undo log
//! nor the checks at the end of the engine: the value is normalised against the attribute
//! first, then written in place. Everything else, including every case that could fail or
//! unassign something, goes to the engine, which gives the same result for these cases
//! (the tests of this module compare the two).

use serde_json::{Map, Value};

use super::PatchOptions;
use super::engine::{append_new, append_one, identified_by_value};
use super::message::{PatchOpKind, PatchOperation};
use crate::registry::ResourceSchema;
use crate::schema::{AttrType, AttributeDef, Mutability};
use crate::validate::{ValueContext, is_roles, keep_last_primary, normalize_value_with};

/// Applies `op` when it is a case this path covers and its value is valid: `Some(changed)`.
/// `None`: not such a case (or an invalid value), and nothing was touched; the engine
/// applies it (and reports its error).
pub(super) fn try_apply(
    schema: &ResourceSchema<'_>,
    res: &mut Map<String, Value>,
    op: &PatchOperation,
    options: &PatchOptions,
) -> Option<bool> {
    if !matches!(op.op, PatchOpKind::Add | PatchOpKind::Replace)
        || !(op.op_is_lower_case() || options.dialects.op_any_case)
    {
        return None;
    }
    // A simple value is a string, a number or a boolean (an array or an object, like the
    // members of a group, is the engine's: this bails out before any lookup).
    let value = op.value.as_ref()?;
    if let Value::Array(elements) = value {
        return try_append(schema, res, op, elements, options);
    }
    if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        return None;
    }
    let (name, sub_name) = simple_path(op.path.as_deref()?)?;
    // Without a URN, resolution looks at the common and core attributes first; a name
    // found anywhere else is an extension's (or unknown, or ambiguous): the engine's.
    let attr = schema.core_attribute(name)?;
    if !plain(attr) {
        return None;
    }
    let sub_attr = match sub_name {
        Some(s) => Some(attr.sub_attribute(s)?),
        None => None,
    };
    let def = match sub_attr {
        None if attr.attr_type != AttrType::Complex => attr,
        Some(sub) if attr.attr_type == AttrType::Complex && plain(sub) => sub,
        _ => return None,
    };
    if def.attr_type == AttrType::Complex {
        return None;
    }
    let container = match sub_attr {
        None => res,
        Some(_) => match res.get_mut(&attr.name) {
            Some(Value::Object(obj)) => obj,
            _ => return None,
        },
    };
    // A boolean replacing a boolean (Entra's `active`): compared and written in place, with
    // no copy of the new value and no drop of the old one. The same outcome as `set`.
    if let (AttrType::Boolean, Value::Bool(new)) = (def.attr_type, value)
        && let Some(Value::Bool(slot)) = container.get_mut(def.name.as_str())
    {
        let changed = *slot != *new;
        *slot = *new;
        return Some(changed);
    }
    let new = own_type_or_normalized(def, value, options, op.path.as_deref()?)?;
    if new.is_null() {
        // Unassigning: required attributes and sub-attributes are the engine's to check.
        return None;
    }
    set(container, &def.name, new)
}

/// The second fast path: `add` of an array of objects to a multi-valued complex attribute
/// whose elements are identified by their `value` (Group `members`, Okta's and Entra's
/// member add), when the resource already holds a non-empty array under the attribute's
/// name. The engine appends such elements in place too (its `Truncate` undo); here the
/// elements are normalised from the borrowed operation (the sub-attributes the schema drops,
/// like `members.display`, are never copied), then appended by the engine's own
/// `append_new`. Nothing can fail after the normalisation, so no undo log is needed.
fn try_append(
    schema: &ResourceSchema<'_>,
    res: &mut Map<String, Value>,
    op: &PatchOperation,
    elements: &[Value],
    options: &PatchOptions,
) -> Option<bool> {
    if op.op != PatchOpKind::Add {
        return None;
    }
    let text = op.path.as_deref()?;
    let (name, None) = simple_path(text)? else {
        return None;
    };
    let attr = schema.core_attribute(name)?;
    if !attr.multi_valued
        || attr.attr_type != AttrType::Complex
        || !matches!(
            attr.mutability,
            Mutability::ReadWrite | Mutability::WriteOnly
        )
        || !identified_by_value(attr)
        || is_roles(attr)
    {
        return None;
    }
    let Some(Value::Array(items)) = res.get_mut(&attr.name) else {
        return None;
    };
    if items.is_empty() {
        return None;
    }
    let len = items.len();
    let primaries = if let [element] = elements {
        // One element (Okta and Entra send one member at a time): no vector.
        let Value::Object(obj) = element else {
            // null leaves nothing (the engine unassigns the attribute); anything else is
            // the engine's error or coercion.
            return None;
        };
        append_one(attr, items, element_of(attr, obj, options, text)??)
    } else {
        let mut new_items = Vec::with_capacity(elements.len());
        for element in elements {
            match element {
                Value::Null => {}
                Value::Object(obj) => {
                    if let Some(v) = element_of(attr, obj, options, text)? {
                        new_items.push(v);
                    }
                }
                // Not an element object: the engine's error (or coercion).
                _ => return None,
            }
        }
        if new_items.is_empty() {
            // Nothing left: the engine unassigns the attribute.
            return None;
        }
        if attr.sub_attribute("primary").is_some() {
            keep_last_primary(&mut new_items);
        }
        append_new(attr, items, new_items)
    };
    Some(items.len() != len || !primaries.is_empty())
}

/// One element of [`try_append`] normalised as the engine's normalisation does it
/// (`normalize_complex`): sub-attributes in the object's order, readOnly and unknown ones
/// dropped (unknown ones kept when the context says so), a null one removed, each value
/// checked against its sub-attribute. `Some(None)`: nothing left (the element is skipped).
/// `None`: a case left to the engine (an invalid value, a nested array or object).
fn element_of(
    attr: &AttributeDef,
    obj: &Map<String, Value>,
    options: &PatchOptions,
    text: &str,
) -> Option<Option<Value>> {
    let mut out = Map::new();
    for (key, value) in obj {
        let Some(sub) = attr.sub_attribute(key) else {
            if options.keep_unknown_attributes {
                out.insert(key.clone(), value.clone());
            }
            continue;
        };
        // The engine's context drops readOnly sub-attributes.
        if sub.mutability == Mutability::ReadOnly {
            continue;
        }
        if sub.multi_valued || sub.attr_type == AttrType::Complex {
            return None;
        }
        let v = match value {
            Value::Null => Value::Null,
            Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                own_type_or_normalized(sub, value, options, text)?
            }
            Value::Array(_) | Value::Object(_) => return None,
        };
        if v.is_null() {
            out.remove(&sub.name);
        } else {
            out.insert(sub.name.clone(), v);
        }
    }
    Some((!out.is_empty()).then_some(Value::Object(out)))
}

/// `value` normalised against the single-valued, non-complex `def`; `None` when invalid.
/// A string for a string or reference, a boolean for a boolean: the normalisation gives
/// the value itself, so it is only copied.
fn own_type_or_normalized(
    def: &AttributeDef,
    value: &Value,
    options: &PatchOptions,
    text: &str,
) -> Option<Value> {
    match (def.attr_type, value) {
        (AttrType::Boolean, Value::Bool(_))
        | (AttrType::String | AttrType::Reference, Value::String(_)) => Some(value.clone()),
        _ => normalize_value_with(def, value.clone(), &value_context(options), text).ok(),
    }
}

/// The engine's context for normalising values.
fn value_context(options: &PatchOptions) -> ValueContext {
    ValueContext::new(options.dialects)
        .drop_read_only(true)
        .keep_unknown(options.keep_unknown_attributes)
}

/// Neither multi-valued nor readOnly nor immutable: a value that passes the type checks can
/// be written whatever the attribute held.
fn plain(def: &AttributeDef) -> bool {
    !def.multi_valued
        && matches!(
            def.mutability,
            Mutability::ReadWrite | Mutability::WriteOnly
        )
}

/// `name` or `name.sub`, each an ATTRNAME (RFC 7643 §2.1: a letter, then letters, digits,
/// `-` and `_`); anything else (URNs, value paths, `$ref`) is the engine's.
fn simple_path(text: &str) -> Option<(&str, Option<&str>)> {
    // One pass over the bytes, a table lookup each: are they all name bytes or dots, and
    // is there a dot at all.
    let mut all = NAME | DOT_FREE;
    for &c in text.as_bytes() {
        all &= BYTE_CLASS[usize::from(c)];
    }
    if all & NAME == 0 {
        return None;
    }
    let starts_name = |s: &str| s.as_bytes().first().is_some_and(u8::is_ascii_alphabetic);
    if all & DOT_FREE != 0 {
        return starts_name(text).then_some((text, None));
    }
    let (name, sub) = text.split_once('.')?;
    (starts_name(name) && starts_name(sub) && !sub.contains('.')).then_some((name, Some(sub)))
}

/// [`BYTE_CLASS`]: a name byte or a dot.
const NAME: u8 = 1;
/// [`BYTE_CLASS`]: not a dot.
const DOT_FREE: u8 = 2;

/// What each byte may be in a [`simple_path`].
static BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        table[i] = if c == b'.' {
            NAME
        } else if c.is_ascii_alphanumeric() || c == b'-' || c == b'_' {
            NAME | DOT_FREE
        } else {
            DOT_FREE
        };
        i += 1;
    }
    table
};

/// Sets `map[key]` (the canonical name) to `new`; whether that changed it. `None` when the
/// map holds the attribute under another case of its name (the engine renames it).
fn set(map: &mut Map<String, Value>, key: &str, new: Value) -> Option<bool> {
    if let Some(slot) = map.get_mut(key) {
        if *slot == new {
            return Some(false);
        }
        *slot = new;
        return Some(true);
    }
    if map.keys().any(|k| k.eq_ignore_ascii_case(key)) {
        return None;
    }
    map.insert(key.to_owned(), new);
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patch::{PatchOp, apply_engine};
    use crate::registry::Registry;
    use serde_json::json;

    fn user() -> Map<String, Value> {
        let v = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "2819c223",
            "userName": "bjensen",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "b@example.com", "type": "work"}],
            "active": true,
            "Title": "Tour Guide",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
        });
        v.as_object().cloned().unwrap()
    }

    fn op(o: Value) -> PatchOp {
        serde_json::from_value(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [o]
        }))
        .unwrap()
    }

    #[test]
    fn simple_paths() {
        assert_eq!(simple_path("active"), Some(("active", None)));
        assert_eq!(
            simple_path("name.givenName"),
            Some(("name", Some("givenName")))
        );
        assert_eq!(simple_path("x-y_1"), Some(("x-y_1", None)));
        assert_eq!(simple_path("a.b-c_1"), Some(("a", Some("b-c_1"))));
        assert_eq!(simple_path("Z9.y"), Some(("Z9", Some("y"))));
        for other in [
            "",
            "1a",
            "a.b.c",
            "a.",
            ".a",
            "$ref",
            "emails[type eq \"work\"].value",
            "urn:ietf:params:scim:schemas:core:2.0:User:active",
            "a b",
            "a..b",
            "a.1",
            "a.-",
            "_a",
            "\u{e9}t\u{e9}",
            "a\u{e9}",
            "a.b\u{e9}",
            ".",
        ] {
            assert_eq!(simple_path(other), None, "{other}");
        }
    }

    /// Every operation gives the same outcome (resource and changed flag, or error) with
    /// and without the fast path, and the fast path takes the ones it should.
    #[test]
    fn agrees_with_the_engine() {
        let registry = Registry::core();
        let schema = registry.resource_type("User").unwrap();
        let options = PatchOptions::default();
        let cases = [
            (
                json!({"op": "Replace", "path": "active", "value": false}),
                true,
            ),
            (
                json!({"op": "replace", "path": "active", "value": "False"}),
                true,
            ),
            (
                json!({"op": "replace", "path": "active", "value": true}),
                true,
            ),
            (json!({"op": "add", "path": "ACTIVE", "value": false}), true),
            (
                json!({"op": "add", "path": "displayName", "value": "Babs"}),
                true,
            ),
            (
                json!({"op": "replace", "path": "name.givenName", "value": "Babs"}),
                true,
            ),
            (
                json!({"op": "replace", "path": "Name.GivenName", "value": "Barbara"}),
                true,
            ),
            (json!({"op": "add", "path": "nickName", "value": "B"}), true),
            (
                json!({"op": "replace", "path": "externalId", "value": "x"}),
                true,
            ),
            // Stored under another case: the engine renames it.
            (
                json!({"op": "replace", "path": "title", "value": "Boss"}),
                false,
            ),
            // Invalid values, unassigning, readOnly, multi-valued, complex, extensions.
            (
                json!({"op": "replace", "path": "active", "value": "maybe"}),
                false,
            ),
            (
                json!({"op": "replace", "path": "active", "value": 1}),
                false,
            ),
            (
                json!({"op": "replace", "path": "active", "value": null}),
                false,
            ),
            (
                json!({"op": "replace", "path": "userName", "value": null}),
                false,
            ),
            (
                json!({"op": "replace", "path": "name.givenName", "value": null}),
                false,
            ),
            (json!({"op": "replace", "path": "id", "value": "x"}), false),
            (
                json!({"op": "replace", "path": "groups", "value": []}),
                false,
            ),
            (
                json!({"op": "replace", "path": "emails", "value": []}),
                false,
            ),
            (
                json!({"op": "replace", "path": "name", "value": {"givenName": "B"}}),
                false,
            ),
            (
                json!({"op": "replace", "path": "department", "value": "Ops"}),
                false,
            ),
            (json!({"op": "replace", "path": "nope", "value": 1}), false),
            (json!({"op": "remove", "path": "active"}), false),
            (json!({"op": "replace", "path": "active"}), false),
            (json!({"op": "replace", "value": {"active": false}}), false),
            // A sub-attribute of a multi-valued attribute.
            (
                json!({"op": "replace", "path": "x509Certificates.value", "value": "x"}),
                false,
            ),
        ];
        for (o, fast) in cases {
            let patch = op(o.clone());
            let mut via_fast = user();
            let taken = try_apply(&schema, &mut via_fast, &patch.operations[0], &options);
            assert_eq!(taken.is_some(), fast, "{o}");
            if taken.is_none() {
                assert_eq!(via_fast, user(), "{o}: untouched when not taken");
            }
            let mut via_engine = user();
            let engine = apply_engine(&schema, &mut via_engine, &patch, &options);
            if let Some(changed) = taken {
                assert_eq!(engine, Ok(changed), "{o}");
                assert_eq!(via_fast, via_engine, "{o}");
            }
        }
    }

    proptest::proptest! {
        /// Single-valued writes (booleans among them, over slots holding a boolean, another
        /// type, null or nothing, under any case of the name) give the same outcome through
        /// the fast path as through the engine alone; an untaken one leaves the resource
        /// untouched.
        #[test]
        fn simple_writes_agree_with_the_engine(
            slot in 0usize..7,
            key in 0usize..3,
            o in 0usize..4,
            path in 0usize..5,
            value in 0usize..7,
        ) {
            let registry = Registry::core();
            let schema = registry.resource_type("User").unwrap();
            let options = PatchOptions::default();
            let slots = [
                None,
                Some(json!(true)),
                Some(json!(false)),
                Some(json!("True")),
                Some(json!(null)),
                Some(json!(1)),
                Some(json!({"x": true})),
            ];
            let mut resource = user();
            resource.remove("active");
            if let Some(v) = &slots[slot] {
                resource.insert(["active", "Active", "ACTIVE"][key].to_owned(), v.clone());
            }
            let values = [
                json!(true),
                json!(false),
                json!("False"),
                json!("true"),
                json!(0),
                json!("Babs"),
                json!(null),
            ];
            let ops = ["replace", "Replace", "add", "remove"];
            let paths = [
                "active",
                "Active",
                "name.givenName",
                "displayName",
                "urn:ietf:params:scim:schemas:core:2.0:User:active",
            ];
            let (o, path, value) = (ops[o], paths[path], &values[value]);
            let patch = op(json!({"op": o, "path": path, "value": value}));
            let mut via_fast = resource.clone();
            let fast = try_apply(&schema, &mut via_fast, &patch.operations[0], &options);
            let mut via_engine = resource.clone();
            let engine = apply_engine(&schema, &mut via_engine, &patch, &options);
            match fast {
                Some(changed) => {
                    proptest::prop_assert_eq!(engine, Ok(changed));
                    proptest::prop_assert_eq!(via_fast, via_engine);
                }
                None => proptest::prop_assert_eq!(via_fast, resource),
            }
        }
    }

    /// A registry with a `Team` resource type whose `links` are identified by value (an
    /// immutable `value`) and carry `primary`, and whose `owners` are required.
    fn team_registry() -> Registry {
        use crate::schema::{ResourceType, Schema};
        let by_value = |name: &str| {
            AttributeDef::new(name, AttrType::Complex)
                .multi_valued()
                .sub_attributes(vec![
                    AttributeDef::new("value", AttrType::String).mutability(Mutability::Immutable),
                    AttributeDef::new("display", AttrType::String).mutability(Mutability::ReadOnly),
                    AttributeDef::new("primary", AttrType::Boolean),
                    AttributeDef::new("weight", AttrType::Integer),
                    AttributeDef::new("tags", AttrType::String).multi_valued(),
                ])
        };
        let mut registry = Registry::new();
        registry
            .add_schema(Schema {
                id: "urn:example:schemas:Team".into(),
                name: "Team".into(),
                description: String::new(),
                attributes: vec![
                    AttributeDef::new("displayName", AttrType::String).required(),
                    by_value("links"),
                    by_value("owners").required(),
                ],
            })
            .unwrap();
        registry
            .add_resource_type(ResourceType {
                id: "Team".into(),
                name: "Team".into(),
                endpoint: "/Teams".into(),
                description: String::new(),
                schema: "urn:example:schemas:Team".into(),
                schema_extensions: Vec::new(),
            })
            .unwrap();
        registry
    }

    /// Every add of elements gives the same outcome with the member fast path as through the
    /// engine alone (resource, changed flag, error), over groups in several shapes, many
    /// element values, op spellings, paths and options; untaken operations leave the
    /// resource untouched; the common cases are taken.
    #[test]
    fn append_agrees_with_the_engine() {
        let core = Registry::core();
        let team = team_registry();
        let members = |v: Value| {
            json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "id": "g1",
                "displayName": "Admins",
                "members": v,
            })
        };
        let groups = [
            members(json!([{"value": "a", "display": "A"}, {"value": "b"}])),
            members(json!([{"value": "a", "$ref": "https://x/Users/a", "type": "User"}])),
            members(json!([{"display": "no value"}, {"value": 7}, "bare"])),
            members(json!([])),
            members(json!(null)),
            json!({"schemas": [], "displayName": "Admins", "Members": [{"value": "a"}]}),
            json!({"schemas": [], "displayName": "Admins", "members": [{"value": "a"}], "MEMBERS": []}),
            json!({"schemas": [], "displayName": "Admins"}),
        ];
        let teams = [
            json!({"displayName": "T", "links": [{"value": "a", "primary": true}], "owners": [{"value": "o"}]}),
            json!({"displayName": "T", "links": [{"value": "a"}], "owners": [{"value": "o"}], "OWNERS": []}),
            json!({"displayName": "T", "owners": [{"value": "o"}], "Owners": [{"value": "p"}]}),
        ];
        let many: Vec<Value> = (0..12).map(|i| json!({"value": format!("n{i}")})).collect();
        let mut many_dup = many.clone();
        many_dup.push(json!({"value": "a"}));
        many_dup.push(json!({"value": "n3"}));
        let values = [
            json!([{"value": "c", "display": "C"}]),
            json!([{"value": "a"}]),
            json!([{"value": "A"}]),
            json!([{"Value": "c"}]),
            json!([{"value": "a", "display": "again"}]),
            json!([{"value": "c"}, {"value": "c"}]),
            json!([{"value": "c", "$ref": "https://x/Users/c", "type": "User"}]),
            json!([{"value": "c", "type": 5}]),
            json!([{"value": 5}]),
            json!([{"value": null, "display": "D"}]),
            json!([{"display": "only"}]),
            json!([{"value": "c", "value2": 1}]),
            json!([{"value": "c", "VALUE": "d"}]),
            json!([{"value": "c", "Value": null}]),
            json!([]),
            json!([null]),
            json!([null, {"value": "d"}]),
            json!([{"value": ["x"]}]),
            json!([{"value": {"x": 1}}]),
            json!([{"value": []}]),
            json!(["c"]),
            json!([["c"]]),
            json!([{}]),
            json!({"value": "c"}),
            json!("c"),
            json!(null),
            json!([{"value": "c", "primary": true}]),
            json!([{"value": "c", "primary": "True"}, {"value": "d", "primary": true}]),
            json!([{"value": "c", "primary": "maybe"}]),
            json!([{"value": "c", "primary": true}, {"value": "a", "primary": true}]),
            json!([{"value": "a", "primary": true}]),
            json!([{"value": "c", "weight": 2.0}]),
            json!([{"value": "c", "weight": 2.5}]),
            json!([{"value": "c", "tags": ["x"]}]),
            json!([{"value": 7}]),
            json!([{"display": "no value"}]),
            Value::Array(many.clone()),
            Value::Array(many_dup),
        ];
        let ops = ["add", "Add", "ADD", "replace"];
        let paths = [
            "members",
            "Members",
            "links",
            "owners",
            "LINKS",
            "members.value",
            "members[value eq \"a\"]",
            "displayName",
            "emails",
        ];
        let dialects_off = crate::dialects::Dialects {
            op_any_case: false,
            boolean_strings: false,
            single_value_as_array: false,
            ..Default::default()
        };
        let option_sets = [
            PatchOptions::default(),
            PatchOptions::default().keep_unknown_attributes(true),
            PatchOptions::default().dialects(dialects_off),
        ];
        let (mut taken, mut total) = (0, 0);
        let group_schema = core.resource_type("Group").unwrap();
        let team_schema = team.resource_type("Team").unwrap();
        let resources = groups
            .iter()
            .map(|g| (group_schema, g))
            .chain(teams.iter().map(|t| (team_schema, t)));
        for (schema, resource) in resources {
            let resource = resource.as_object().unwrap();
            for value in &values {
                for o in ops {
                    for path in paths {
                        for options in &option_sets {
                            total += 1;
                            let patch = op(json!({"op": o, "path": path, "value": value}));
                            let what = format!("{o} {path} {value} on {resource:?}");
                            let mut via_fast = resource.clone();
                            let fast =
                                try_apply(&schema, &mut via_fast, &patch.operations[0], options);
                            let mut via_engine = resource.clone();
                            let engine = apply_engine(&schema, &mut via_engine, &patch, options);
                            match fast {
                                Some(changed) => {
                                    taken += 1;
                                    assert_eq!(engine, Ok(changed), "{what}");
                                    assert_eq!(via_fast, via_engine, "{what}");
                                }
                                None => assert_eq!(&via_fast, resource, "{what}: untouched"),
                            }
                        }
                    }
                }
            }
        }
        assert!(taken > 200, "{taken} of {total} taken");
        // The identity providers' member add is taken.
        let mut group = groups[0].as_object().cloned().unwrap();
        let add =
            op(json!({"op": "add", "path": "members", "value": [{"value": "c", "display": "C"}]}));
        let options = PatchOptions::default();
        assert_eq!(
            try_apply(&group_schema, &mut group, &add.operations[0], &options),
            Some(true)
        );
        assert_eq!(
            group["members"],
            json!([{"value": "a", "display": "A"}, {"value": "b"}, {"value": "c"}])
        );
        assert_eq!(
            try_apply(&group_schema, &mut group, &add.operations[0], &options),
            Some(false)
        );
    }
}
