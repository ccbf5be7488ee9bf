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
use super::message::{PatchOpKind, PatchOperation};
use crate::registry::ResourceSchema;
use crate::schema::{AttrType, AttributeDef, Mutability};
use crate::validate::{ValueContext, normalize_value_with};

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
    if !matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_)) {
        return None;
    }
    let (name, sub_name) = simple_path(op.path.as_deref()?)?;
    let resolved = schema.resolve_parts(None, name, sub_name).ok()?;
    let attr = resolved.attr?;
    if resolved.is_extension || !plain(attr) {
        return None;
    }
    let def = match resolved.sub_attr {
        None if attr.attr_type != AttrType::Complex => attr,
        Some(sub) if attr.attr_type == AttrType::Complex && plain(sub) => sub,
        _ => return None,
    };
    if def.attr_type == AttrType::Complex {
        return None;
    }
    let values = ValueContext::new(options.dialects)
        .drop_read_only(true)
        .keep_unknown(options.keep_unknown_attributes);
    let text = op.path.as_deref()?;
    let new = normalize_value_with(def, value.clone(), &values, text).ok()?;
    if new.is_null() {
        // Unassigning: required attributes and sub-attributes are the engine's to check.
        return None;
    }
    let container = match resolved.sub_attr {
        None => res,
        Some(_) => match res.get_mut(&attr.name) {
            Some(Value::Object(obj)) => obj,
            _ => return None,
        },
    };
    set(container, &def.name, new)
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
    // One pass over the bytes: where the dot is, and whether every byte is a name byte.
    let b = text.as_bytes();
    let mut dot = None;
    for (i, &c) in b.iter().enumerate() {
        if c == b'.' && dot.is_none() {
            dot = Some(i);
        } else if !(c.is_ascii_alphanumeric() || c == b'-' || c == b'_') {
            return None;
        }
    }
    let starts_name = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphabetic);
    match dot {
        None => starts_name(0).then_some((text, None)),
        Some(d) => (starts_name(0) && starts_name(d + 1))
            .then(|| (text.get(..d), text.get(d + 1..)))
            .and_then(|(name, sub)| Some((name?, Some(sub?)))),
    }
}

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
    use crate::patch::{PatchOp, apply_checked};
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
            let engine = apply_checked(&schema, &mut via_engine, &patch, &options);
            if let Some(changed) = taken {
                assert_eq!(engine, Ok(changed), "{o}");
                assert_eq!(via_fast, via_engine, "{o}");
            }
        }
    }
}
