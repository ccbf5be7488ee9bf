//! Finding an attribute's values in a JSON resource: case-insensitive names, schema URNs,
//! extension objects, sub-attributes and multi-valued attributes.

use serde_json::{Map, Value};

use super::text::{NameMatch, ascii_caseless_eq, name_match};
use crate::ast::AttrPath;

/// How deep [`has_value`] and [`is_present`] look into nested arrays and objects.
const EMPTINESS_DEPTH: u8 = 2;

/// The member `key` of `obj`, matched ASCII case-insensitively; an exact match wins over
/// one that differs in case, and among members that differ from `key` only in case, the
/// first in key order wins.
///
/// One pass over the members, comparing lengths first (they sit in the map's node beside
/// the key pointers), then words of eight bytes: for the few members of a SCIM resource this
/// beats a map lookup, which reads every key's text it passes (a cache miss each, for a
/// resource just fetched). The members are sorted by their bytes and SCIM names start with a
/// lowercase letter, so a name from the second half of the alphabet (`userName`, `title`)
/// is looked for from the last member backwards: an exact match then ends the scan after
/// one or two members instead of most of them. Either direction finds the same member.
pub(super) fn get_ci<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    let key = key.as_bytes();
    let mut caseless = None;
    if key.first().is_some_and(|&c| c > b'm') {
        for (k, v) in obj.iter().rev() {
            if k.len() != key.len() {
                continue;
            }
            match name_match(k.as_bytes(), key) {
                NameMatch::Exact => return Some(v),
                // Backwards, the last one met is the first in key order.
                NameMatch::Caseless => caseless = Some(v),
                NameMatch::No => {}
            }
        }
    } else {
        for (k, v) in obj {
            if k.len() != key.len() {
                continue;
            }
            match name_match(k.as_bytes(), key) {
                NameMatch::Exact => return Some(v),
                NameMatch::Caseless => {
                    caseless.get_or_insert(v);
                }
                NameMatch::No => {}
            }
        }
    }
    caseless
}

/// Whether `key` is `urn` `:` `name`, ASCII case-insensitively.
fn is_joined(key: &str, urn: &str, name: &str) -> bool {
    let (k, u, n) = (key.as_bytes(), urn.as_bytes(), name.as_bytes());
    k.len() == u.len() + 1 + n.len()
        && ascii_caseless_eq(&k[..u.len()], u)
        && k[u.len()] == b':'
        && ascii_caseless_eq(&k[u.len() + 1..], n)
}

/// Whether a resource member is an extension object (keyed by a schema URN).
fn is_extension(key: &str, value: &Value) -> bool {
    value.is_object()
        && key
            .as_bytes()
            .get(..4)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:"))
}

/// The value of the attribute `path` names in `resource` (its sub-attribute not applied).
///
/// - With a URN that keys an extension object of the resource, the attribute is looked up in
///   that object.
/// - A URN and name that together key an extension object (`urn:...:enterprise:2.0:User`,
///   which parses as URN `urn:...:2.0` and name `User`) name the whole extension object.
/// - Any other URN is taken for the resource's core schema: the attribute is looked up at the
///   top level.
/// - Without a URN, an attribute absent from the top level is looked up in the extension
///   objects, in the order of their keys (identity providers send `manager` unqualified).
pub(super) fn resolve<'v>(resource: &'v Value, path: &AttrPath<'_>) -> Option<&'v Value> {
    let obj = resource.as_object()?;
    let name: &str = path.name();
    match path.urn() {
        Some(urn) => {
            if let Some(Value::Object(ext)) = get_ci(obj, urn) {
                return get_ci(ext, name);
            }
            if let Some((_, whole)) = obj
                .iter()
                .find(|(k, v)| v.is_object() && is_joined(k, urn, name))
            {
                return Some(whole);
            }
            get_ci(obj, name)
        }
        None => get_ci(obj, name).or_else(|| {
            obj.iter()
                .filter(|(k, v)| is_extension(k, v))
                .find_map(|(_, ext)| ext.as_object().and_then(|e| get_ci(e, name)))
        }),
    }
}

/// The value of the sub-attribute `name` in one element of a multi-valued attribute (or in
/// a complex attribute). A simple element's `value` is the element itself, so that
/// `manager.value` also reads a `manager` stored as a bare string.
pub(super) fn sub_value<'v>(element: &'v Value, name: &str) -> Option<&'v Value> {
    match element {
        Value::Object(obj) => get_ci(obj, name),
        Value::Null | Value::Array(_) => None,
        simple => name.eq_ignore_ascii_case("value").then_some(simple),
    }
}

/// Calls `f` on each value of an attribute whose value is `value`, then of its sub-attribute
/// `sub` if one is given: the elements of a multi-valued attribute, the sub-attribute of each
/// element, or the single value. Stops at, and returns, the first `Ok(true)` or error.
#[inline]
pub(super) fn any_value<E>(
    value: &Value,
    sub: Option<&str>,
    mut f: impl FnMut(&Value) -> Result<bool, E>,
) -> Result<bool, E> {
    let mut each = |v: &Value| -> Result<bool, E> {
        match v {
            Value::Array(items) => {
                for item in items {
                    if f(item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            single => f(single),
        }
    };
    match (sub, value) {
        (None, v) => each(v),
        (Some(sub), Value::Array(elements)) => {
            for element in elements {
                if let Some(v) = sub_value(element, sub)
                    && each(v)?
                {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        (Some(sub), single) => match sub_value(single, sub) {
            Some(v) => each(v),
            None => Ok(false),
        },
    }
}

/// Whether `v` is assigned (RFC 7643 §2.5): not null, not an empty array or object, and not
/// an array or object of only unassigned members. An empty string is assigned.
pub(super) fn has_value(v: &Value) -> bool {
    nonempty(v, EMPTINESS_DEPTH, false)
}

/// Whether `v` is present in the sense of `pr`: assigned and not an empty string (for an
/// array or object: some member is present).
pub(super) fn is_present(v: &Value) -> bool {
    nonempty(v, EMPTINESS_DEPTH, true)
}

fn nonempty(v: &Value, depth: u8, strings: bool) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !(strings && s.is_empty()),
        Value::Bool(_) | Value::Number(_) => true,
        Value::Array(items) => match depth.checked_sub(1) {
            Some(d) => items.iter().any(|x| nonempty(x, d, strings)),
            None => !items.is_empty(),
        },
        Value::Object(members) => match depth.checked_sub(1) {
            Some(d) => members.values().any(|x| nonempty(x, d, strings)),
            None => !members.is_empty(),
        },
    }
}

/// The value a complex value stands for in a comparison without a sub-attribute: its
/// `value` sub-attribute (`manager eq "26118915"`). Other values stand for themselves, and
/// so does an object without `value`.
pub(super) fn comparable(v: &Value) -> &Value {
    match v {
        Value::Object(obj) => get_ci(obj, "value").unwrap_or(v),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: &Value, sub: Option<&str>) -> Vec<Value> {
        let mut out = Vec::new();
        let _ = any_value::<()>(v, sub, |x| {
            out.push(x.clone());
            Ok(false)
        });
        out
    }

    #[test]
    fn case_insensitive_members() {
        let v = json!({"userName": "a", "Title": "b"});
        let obj = v.as_object().unwrap();
        assert_eq!(get_ci(obj, "USERNAME"), Some(&json!("a")));
        assert_eq!(get_ci(obj, "title"), Some(&json!("b")));
        assert_eq!(get_ci(obj, "nick"), None);
        let both = json!({"username": "lower", "userName": "exact", "USERNAME": "upper"});
        let obj = both.as_object().unwrap();
        assert_eq!(get_ci(obj, "userName"), Some(&json!("exact")));
        assert_eq!(get_ci(obj, "UserName"), Some(&json!("upper")));
    }

    #[test]
    fn urn_resolution() {
        let ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
        let v = json!({
            "userName": "bjensen",
            "URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:User": {"employeeNumber": "7"}
        });
        let path = |urn: &'static str, name: &'static str| AttrPath::new(name).with_urn(urn);
        assert_eq!(resolve(&v, &path(ent, "employeeNumber")), Some(&json!("7")));
        assert_eq!(
            resolve(
                &v,
                &path("urn:ietf:params:scim:schemas:core:2.0:User", "userName")
            ),
            Some(&json!("bjensen"))
        );
        assert_eq!(
            resolve(
                &v,
                &path(
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0",
                    "user"
                )
            ),
            Some(&json!({"employeeNumber": "7"}))
        );
        // Unqualified: found in the extension when the top level lacks it.
        assert_eq!(
            resolve(&v, &AttrPath::new("EMPLOYEENUMBER")),
            Some(&json!("7"))
        );
        // Qualified with the core URN: no look into extensions.
        assert_eq!(
            resolve(
                &v,
                &path(
                    "urn:ietf:params:scim:schemas:core:2.0:User",
                    "employeeNumber"
                )
            ),
            None
        );
        assert_eq!(resolve(&json!([1]), &AttrPath::new("x")), None);
    }

    #[test]
    fn values_of_paths() {
        let emails = json!([{"value": "a", "type": "work"}, {"value": "b"}, {"type": "home"}]);
        assert_eq!(values(&emails, Some("VALUE")), vec![json!("a"), json!("b")]);
        assert_eq!(values(&emails, None).len(), 3);
        assert_eq!(
            values(&json!({"value": "x"}), Some("value")),
            vec![json!("x")]
        );
        assert_eq!(values(&json!("x"), Some("value")), vec![json!("x")]);
        assert_eq!(values(&json!("x"), Some("display")), Vec::<Value>::new());
        assert_eq!(values(&json!(null), Some("value")), Vec::<Value>::new());
        assert_eq!(values(&json!([["a"]]), None), vec![json!(["a"])]);
    }

    #[test]
    fn emptiness() {
        for v in [
            json!(null),
            json!([]),
            json!({}),
            json!([null]),
            json!({"a": null}),
        ] {
            assert!(!has_value(&v), "{v}");
            assert!(!is_present(&v), "{v}");
        }
        for v in [json!(""), json!([""]), json!({"value": ""})] {
            assert!(has_value(&v), "{v}");
            assert!(!is_present(&v), "{v}");
        }
        for v in [json!(0), json!(false), json!("x"), json!([{"value": "x"}])] {
            assert!(has_value(&v), "{v}");
            assert!(is_present(&v), "{v}");
        }
        // Past the depth limit, a non-empty container counts as a value.
        assert!(is_present(&json!([[[null]]])));
    }

    #[test]
    fn comparable_value() {
        assert_eq!(comparable(&json!({"Value": "1"})), &json!("1"));
        assert_eq!(
            comparable(&json!({"display": "1"})),
            &json!({"display": "1"})
        );
        assert_eq!(comparable(&json!(3)), &json!(3));
    }
}
